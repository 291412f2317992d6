"""The reference architectures of DESIGN.md, written once for both libraries.

scratchgen's API has PyTorch's shape, so each builder takes the library module
(``torch`` or ``scratchgen``) and builds the very same network from its ``nn``; the
PyTorch twin and ours cannot drift apart. Each ``*_step`` is one training step:
forward, backward and the optimizer update.
"""


def dcgan(lib, generator_in=64, discriminator_in=1):
    """DCGAN generator and discriminator (28x28, latent 64; wider inputs for the CGAN)."""
    nn = lib.nn
    generator = nn.Sequential(
        nn.Linear(generator_in, 128 * 7 * 7),
        nn.BatchNorm1d(128 * 7 * 7),
        nn.ReLU(),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1),
        nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Conv2d(discriminator_in, 64, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1),
        nn.BatchNorm2d(128),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(128 * 7 * 7, 1),
    )
    return generator, discriminator


def dcgan_trainer(lib, batch=64):
    """A closure running one D step and one G step (non-saturating loss, Adam 2e-4)."""
    generator, discriminator = dcgan(lib)
    opt_g = lib.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = lib.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = lib.rand(batch, 1, 28, 28) * 2 - 1

    def step():
        fake = generator(lib.randn(batch, 64))
        adversarial_update(lib, discriminator, real, fake, opt_d, opt_g)

    return step


def adversarial_update(lib, discriminate, real, fake, opt_d, opt_g):
    """One D step on real and detached fake logits, then one G step (non-saturating)."""
    F = lib.nn.functional
    real_logits = discriminate(real)
    ones, zeros = lib.ones_like(real_logits), lib.zeros_like(real_logits)
    fake_logits = discriminate(fake.detach())
    d_loss = F.binary_cross_entropy_with_logits(
        real_logits, ones
    ) + F.binary_cross_entropy_with_logits(fake_logits, zeros)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = F.binary_cross_entropy_with_logits(discriminate(fake), ones)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()


def conv_vae(lib, latent=16, encoder_out=None):
    """The conv VAE: encoder to (mu, logvar), decoder to logits (encoder_out=latent: the AE)."""
    nn = lib.nn
    encoder = nn.Sequential(
        nn.Conv2d(1, 32, 3, 2, 1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, 2, 1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3136, encoder_out or 2 * latent),
    )
    decoder = nn.Sequential(
        nn.Linear(latent, 3136),
        nn.ReLU(),
        nn.Unflatten(1, (64, 7, 7)),
        nn.ConvTranspose2d(64, 32, 4, 2, 1),
        nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 4, 2, 1),
    )
    return encoder, decoder


def vae_negative_elbo(lib, encoder, decoder, x, latent=16):
    """BCE-with-logits summed over pixels + KL, mean over the batch (one latent draw)."""
    stats = encoder(x)
    mu, logvar = stats[:, :latent], stats[:, latent:]
    z = mu + (0.5 * logvar).exp() * lib.randn(x.shape[0], latent)
    recon = lib.nn.functional.binary_cross_entropy_with_logits(decoder(z), x, reduction="sum")
    kl = -0.5 * (1 + logvar - mu * mu - logvar.exp()).sum()
    return (recon + kl) / x.shape[0]


def vae_trainer(lib, batch=128, latent=16):
    """One step of the VAE on the negative ELBO (vae_negative_elbo)."""
    encoder, decoder = conv_vae(lib, latent)
    params = list(encoder.parameters()) + list(decoder.parameters())
    opt = lib.optim.Adam(params, lr=1e-3)
    x = lib.rand(batch, 1, 28, 28)

    def step():
        loss = vae_negative_elbo(lib, encoder, decoder, x, latent)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def clip_text_encoder(lib, vocab=32, length=8, width=64):
    """Embedding + learned positions, 2 pre-LN transformer layers, LayerNorm, projection."""
    nn = lib.nn
    modules = nn.ModuleList(
        [
            nn.Embedding(vocab, width),
            nn.TransformerEncoderLayer(
                width, 4, dim_feedforward=128, dropout=0.0, batch_first=True, norm_first=True
            ),
            nn.TransformerEncoderLayer(
                width, 4, dim_feedforward=128, dropout=0.0, batch_first=True, norm_first=True
            ),
            nn.LayerNorm(width),
            nn.Linear(width, width, bias=False),
        ]
    )
    positions = nn.Parameter(lib.randn(1, length, width) * 0.02)
    return modules, positions


def clip_text_trainer(lib, batch=256, vocab=32, length=8, width=64):
    """One step of the text tower against fixed image embeddings (symmetric InfoNCE)."""
    F = lib.nn.functional
    (embed, layer1, layer2, norm, project), positions = clip_text_encoder(lib, vocab, length, width)
    params = [positions]
    for module in (embed, layer1, layer2, norm, project):
        params += list(module.parameters())
    opt = lib.optim.AdamW(params, lr=1e-3)
    tokens = lib.randint(1, vocab, (batch, length))
    lengths = lib.randint(3, length + 1, (batch,))
    padding = lib.arange(length)[None, :] >= lengths[:, None]  # True = padding
    keep = (~padding).float()
    images = F.normalize(lib.randn(batch, width), dim=1)
    labels = lib.arange(batch)

    def step():
        h = embed(tokens) + positions
        h = layer1(h, src_key_padding_mask=padding)
        h = layer2(h, src_key_padding_mask=padding)
        h = norm(h)
        pooled = (h * keep[:, :, None]).sum(1) / keep.sum(1, keepdim=True)
        text = F.normalize(project(pooled), dim=1)
        logits = text @ images.T * 14.3
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def mlp_autoencoder(lib, code=32):
    """784-512-256-32 / 32-256-512-784 with ReLU; the decoder returns logits."""
    nn = lib.nn
    return nn.Sequential(
        nn.Linear(784, 512),
        nn.ReLU(),
        nn.Linear(512, 256),
        nn.ReLU(),
        nn.Linear(256, code),
        nn.Linear(code, 256),
        nn.ReLU(),
        nn.Linear(256, 512),
        nn.ReLU(),
        nn.Linear(512, 784),
    )


def mlp_ae_trainer(lib, batch=128):
    """One step of the MLP autoencoder: BCE-with-logits summed over pixels, mean over batch."""
    F = lib.nn.functional
    model = mlp_autoencoder(lib)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    x = lib.rand(batch, 784)

    def step():
        loss = F.binary_cross_entropy_with_logits(model(x), x, reduction="sum") / batch
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def conv_dae_trainer(lib, batch=128, code=32, noise=0.3):
    """One step of the conv denoising AE: noisy input (clipped), BCE against the clean digit."""
    F = lib.nn.functional
    encoder, decoder = conv_vae(lib, latent=code, encoder_out=code)
    params = list(encoder.parameters()) + list(decoder.parameters())
    opt = lib.optim.Adam(params, lr=1e-3)
    x = lib.rand(batch, 1, 28, 28)

    def step():
        noisy = (x + lib.randn(batch, 1, 28, 28) * noise).clamp(0.0, 1.0)
        logits = decoder(encoder(noisy))
        loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / batch
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def cgan_trainer(lib, batch=64, classes=10):
    """The DCGAN step with the label one-hot joined to z and to D's input as 10 channels."""
    generator, discriminator = dcgan(lib, 64 + classes, 1 + classes)
    opt_g = lib.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = lib.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = lib.rand(batch, 1, 28, 28) * 2 - 1
    one_hot = lib.eye(classes)[lib.randint(0, classes, (batch,))]
    label_planes = one_hot[:, :, None, None].expand(batch, classes, 28, 28)

    def d(images):
        return discriminator(lib.cat([images, label_planes], 1))

    def step():
        fake = generator(lib.cat([lib.randn(batch, 64), one_hot], 1))
        adversarial_update(lib, d, real, fake, opt_d, opt_g)

    return step


def pix2pix(lib, channels=(32, 64, 128, 128, 128), critic=(32, 64, 128), dropout=0.5):
    """Pix2Pix's U-Net G (1 -> 1 channel, batch norm, skips) and PatchGAN D (2 channels),
    layer for layer scratchgen.models.UNet and PatchDiscriminator, so that their state
    dicts have the same keys. G is ModuleDict(downs, ups): run it with ``unet_forward``."""
    nn = lib.nn
    depth, widths, inner_widths = len(channels), (1, *channels), channels[::-1]
    downs = []
    for level in range(depth):
        normed = 0 < level < depth - 1  # no norm at the first and the innermost level
        layers = [nn.LeakyReLU(0.2)] if level else []
        layers.append(nn.Conv2d(widths[level], widths[level + 1], 4, 2, 1, bias=not normed))
        if normed:
            layers.append(nn.BatchNorm2d(widths[level + 1]))
        downs.append(nn.Sequential(*layers))
    ups = []
    for j in range(depth - 1):  # innermost first; the first one reads no skip
        in_width, out_width = inner_widths[j] * (2 if j else 1), inner_widths[j + 1]
        layers = [nn.ReLU(), nn.ConvTranspose2d(in_width, out_width, 4, 2, 1, bias=False)]
        layers.append(nn.BatchNorm2d(out_width))
        if j < 2 and dropout > 0:
            layers.append(nn.Dropout(dropout))
        ups.append(nn.Sequential(*layers))
    ups.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(2 * channels[0], 1, 4, 2, 1), nn.Tanh()))
    generator = nn.ModuleDict({"downs": nn.ModuleList(downs), "ups": nn.ModuleList(ups)})
    return generator, patch_discriminator(lib, critic)


def patch_discriminator(lib, critic=(32, 64, 128)):
    """The PatchGAN on (input, output) pairs: Conv(4, s2; the last s1) BN LReLU(.2) per
    width (no BN at the first), then Conv(critic[-1], 1, 4, 1, 1)."""
    nn = lib.nn
    layers, widths = [], (2, *critic)
    for level in range(len(critic)):
        stride = 2 if level < len(critic) - 1 else 1
        layers.append(nn.Conv2d(widths[level], widths[level + 1], 4, stride, 1, bias=not level))
        if level:
            layers.append(nn.BatchNorm2d(widths[level + 1]))
        layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers, nn.Conv2d(critic[-1], 1, 4, 1, 1))


def unet_forward(lib, generator, x):
    """The U-Net of ``pix2pix`` on x: each up after the first reads [encoder feature, h]."""
    features = []
    for down in generator["downs"]:
        x = down(x)
        features.append(x)
    ups = list(generator["ups"])
    h = ups[0](features[-1])
    for up, skip in zip(ups[1:], reversed(features[:-1])):
        h = up(lib.cat([skip, h], 1))
    return h


def pix2pix_update(lib, generator, discriminator, source, target, opt_d, opt_g, lambda_l1=100.0):
    """One Pix2Pix step on a pair in [-1, 1]: D (BCE on logits, halved) on (source, target)
    against (source, G(source)).detach(), then G (non-saturating + lambda_l1 L1) on the
    same G(source) with D frozen. Returns the two losses; the gradients stay in .grad."""
    F = lib.nn.functional
    fake = unet_forward(lib, generator, source)
    real_logits = discriminator(lib.cat([source, target], 1))
    fake_logits = discriminator(lib.cat([source, fake.detach()], 1))
    ones, zeros = lib.ones_like(real_logits), lib.zeros_like(real_logits)
    loss_d = 0.5 * (
        F.binary_cross_entropy_with_logits(real_logits, ones)
        + F.binary_cross_entropy_with_logits(fake_logits, zeros)
    )
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    discriminator.requires_grad_(False)
    adversarial = F.binary_cross_entropy_with_logits(
        discriminator(lib.cat([source, fake], 1)), ones
    )
    loss_g = adversarial + lambda_l1 * F.l1_loss(fake, target)
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    discriminator.requires_grad_(True)
    return loss_d, loss_g


def pix2pix_trainer(lib, batch=16):
    """A closure running one Pix2Pix step (D on pairs, halved; then G: non-saturating +
    100 x L1; Adam 2e-4, betas (0.5, 0.999)) on a fixed batch of 32x32 pairs."""
    generator, discriminator = pix2pix(lib)
    opt_g = lib.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = lib.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    source = lib.rand(batch, 1, 32, 32) * 2 - 1
    target = lib.rand(batch, 1, 32, 32) * 2 - 1

    def step():
        pix2pix_update(lib, generator, discriminator, source, target, opt_d, opt_g)

    return step


TRAINERS = {
    "DCGAN pair (batch 64)": dcgan_trainer,
    "CGAN pair (batch 64)": cgan_trainer,
    "conv VAE (batch 128)": vae_trainer,
    "conv DAE (batch 128)": conv_dae_trainer,
    "MLP AE (batch 128)": mlp_ae_trainer,
    "CLIP text encoder (batch 256)": clip_text_trainer,
    "Pix2Pix pair (batch 16)": pix2pix_trainer,
}
