"""The reference architectures of DESIGN.md, written once for both libraries.

scratchgen's API has PyTorch's shape, so each builder takes the library module
(``torch`` or ``scratchgen``) and builds the very same network from its ``nn``; the
PyTorch twin and ours cannot drift apart. Each ``*_step`` is one training step:
forward, backward and the optimizer update.
"""

import math


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
    text_encoder = clip_text_encoder(lib, vocab, length, width)
    opt = lib.optim.AdamW(text_parameters(text_encoder), lr=1e-3)
    tokens, padding = random_tokens(lib, batch, vocab, length)
    images = F.normalize(lib.randn(batch, width), dim=1)
    labels = lib.arange(batch)

    def step():
        text = clip_text_features(lib, text_encoder, tokens, padding)
        logits = text @ images.T * 14.3
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def text_parameters(text_encoder):
    modules, positions = text_encoder
    return [positions, *modules.parameters()]


def random_tokens(lib, batch, vocab, length):
    """Word ids (batch, length) with 3..length real tokens a row, and the padding mask."""
    tokens = lib.randint(1, vocab, (batch, length))
    lengths = lib.randint(3, length + 1, (batch,))
    padding = lib.arange(length)[None, :] >= lengths[:, None]  # True = padding
    return tokens, padding


def clip_text_features(lib, text_encoder, tokens, padding):
    """Unit text embeddings: the layers, then the mean over the real tokens, projected."""
    (embed, layer1, layer2, norm, project), positions = text_encoder
    keep = (~padding).float()
    h = embed(tokens) + positions
    h = layer1(h, src_key_padding_mask=padding)
    h = layer2(h, src_key_padding_mask=padding)
    h = norm(h)
    pooled = (h * keep[:, :, None]).sum(1) / keep.sum(1, keepdim=True)
    return lib.nn.functional.normalize(project(pooled), dim=1)


def clip_image_encoder(lib, width=64):
    """Three Conv BN ReLU blocks (32, 64, 128; max-pool after the first two), the mean
    over positions (in the step), Linear(128, width)."""
    nn = lib.nn
    body = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1),
        nn.BatchNorm2d(128),
        nn.ReLU(),
    )
    return body, nn.Linear(128, width)


def clip_model(lib, vocab=19, length=5, width=64):
    """(image body, image projection, text encoder, logit scale) of scratchgen.models.CLIP,
    and AdamW 1e-3 over them (weight decay 0.1, none for the logit scale)."""
    body, image_projection = clip_image_encoder(lib, width)
    text_encoder = clip_text_encoder(lib, vocab, length, width)
    logit_scale = lib.nn.Parameter(lib.tensor(math.log(1 / 0.07)))
    decayed = [*body.parameters(), *image_projection.parameters()]
    decayed += text_parameters(text_encoder)
    groups = [{"params": decayed}, {"params": [logit_scale], "weight_decay": 0.0}]
    opt = lib.optim.AdamW(groups, lr=1e-3, weight_decay=0.1)
    return (body, image_projection, text_encoder, logit_scale), opt


def clip_update(lib, parts, opt, images, tokens, padding):
    """One AdamW step on the symmetric cross-entropy of the logits s u_i . v_j (s = exp(t)
    clamped at 100); returns the loss."""
    F = lib.nn.functional
    body, image_projection, text_encoder, logit_scale = parts
    image = F.normalize(image_projection(body(images).mean(dim=(2, 3))), dim=1)
    text = clip_text_features(lib, text_encoder, tokens, padding)
    logits = image @ text.T * logit_scale.clamp(max=math.log(100)).exp()
    labels = lib.arange(len(images))
    loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def clip_trainer(lib, batch=256, vocab=19, length=5, width=64):
    """The full CLIP step of scratchgen.models.CLIP: both encoders, the learned logit
    scale, symmetric cross-entropy, AdamW 1e-3."""
    parts, opt = clip_model(lib, vocab, length, width)
    images = lib.rand(batch, 1, 28, 28)
    tokens, padding = random_tokens(lib, batch, vocab, length)

    def step():
        clip_update(lib, parts, opt, images, tokens, padding)

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


def patch_discriminator(lib, critic=(32, 64, 128), in_channels=2, instance_norm=False):
    """The PatchGAN on (input, output) pairs: Conv(4, s2; the last s1) BN LReLU(.2) per
    width (no BN at the first), then Conv(critic[-1], 1, 4, 1, 1). CycleGAN's reads one
    image and normalises with InstanceNorm (no affine), so every conv keeps its bias."""
    nn = lib.nn
    layers, widths = [], (in_channels, *critic)
    norm = nn.InstanceNorm2d if instance_norm else nn.BatchNorm2d
    for level in range(len(critic)):
        stride = 2 if level < len(critic) - 1 else 1
        bias = instance_norm or not level
        layers.append(nn.Conv2d(widths[level], widths[level + 1], 4, stride, 1, bias=bias))
        if level:
            layers.append(norm(widths[level + 1]))
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


def resnet_block(lib, channels):
    """x + (ReflectionPad(1) Conv3x3 IN ReLU ReflectionPad(1) Conv3x3 IN)(x)."""
    nn = lib.nn

    class ResnetBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = nn.Sequential(
                nn.ReflectionPad2d(1),
                nn.Conv2d(channels, channels, 3),
                nn.InstanceNorm2d(channels),
                nn.ReLU(),
                nn.ReflectionPad2d(1),
                nn.Conv2d(channels, channels, 3),
                nn.InstanceNorm2d(channels),
            )

        def forward(self, x):
            return x + self.block(x)

    return ResnetBlock()


def resnet_generator(lib, channels=3, width=32, n_blocks=4):
    """CycleGAN's G, layer for layer scratchgen.models.ResnetGenerator: c7s1-w d2w d4w,
    n_blocks x R4w, u2w uw c7s1-channels, reflection padding, InstanceNorm, Tanh."""
    nn = lib.nn
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels, width, 7)]
    layers += [nn.InstanceNorm2d(width), nn.ReLU()]
    for out_width in (2 * width, 4 * width):
        layers += [nn.Conv2d(out_width // 2, out_width, 3, 2, 1)]
        layers += [nn.InstanceNorm2d(out_width), nn.ReLU()]
    layers += [resnet_block(lib, 4 * width) for _ in range(n_blocks)]
    for in_width in (4 * width, 2 * width):
        layers += [nn.ConvTranspose2d(in_width, in_width // 2, 3, 2, 1, output_padding=1)]
        layers += [nn.InstanceNorm2d(in_width // 2), nn.ReLU()]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def cyclegan(lib, channels=3, width=32, n_blocks=4):
    """{"generator_ab", "generator_ba", "critic_a", "critic_b"}: the networks of
    scratchgen.models.CycleGAN under its attribute names (same state-dict keys)."""
    return {
        "generator_ab": resnet_generator(lib, channels, width, n_blocks),
        "generator_ba": resnet_generator(lib, channels, width, n_blocks),
        "critic_a": patch_discriminator(lib, in_channels=channels, instance_norm=True),
        "critic_b": patch_discriminator(lib, in_channels=channels, instance_norm=True),
    }


def cyclegan_update(lib, nets, real_a, real_b, opt_g, opt_d, lambda_cyc=10.0, lambda_id=5.0):
    """One CycleGAN step on a's and b's in [-1, 1], as scratchgen's train_step with an
    empty image pool (the fakes themselves go to the critics): G step (critics frozen),
    LSGAN mean (D(fake) - 1)^2 both ways + lambda_cyc cycle L1 + lambda_id identity L1,
    then the D step, (mean (D(real) - 1)^2 + mean D(fake)^2) / 2 per critic. G_AB(a) and
    G_AB(b) go through in one pass (instance norm is per image). Returns the losses; the
    gradients stay in .grad."""
    F, n = lib.nn.functional, len(real_a)
    g_ab, g_ba, d_a, d_b = (
        nets[k] for k in ("generator_ab", "generator_ba", "critic_a", "critic_b")
    )
    ab, ba = g_ab(lib.cat([real_a, real_b])), g_ba(lib.cat([real_b, real_a]))
    fake_b, id_b, fake_a, id_a = ab[:n], ab[n:], ba[:n], ba[n:]
    rec_a, rec_b = g_ba(fake_b), g_ab(fake_a)
    for critic in (d_a, d_b):
        critic.requires_grad_(False)
    scores_b, scores_a = d_b(fake_b), d_a(fake_a)
    gan = F.mse_loss(scores_b, lib.ones_like(scores_b)) + F.mse_loss(
        scores_a, lib.ones_like(scores_a)
    )
    cycle = F.l1_loss(rec_a, real_a) + F.l1_loss(rec_b, real_b)
    identity = F.l1_loss(id_a, real_a) + F.l1_loss(id_b, real_b)
    loss_g = gan + lambda_cyc * cycle + lambda_id * identity
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    for critic in (d_a, d_b):
        critic.requires_grad_(True)
    loss_d = 0.0
    for critic, real, fake in ((d_a, real_a, fake_a), (d_b, real_b, fake_b)):
        scores = critic(lib.cat([real, fake.detach()]))
        real_term = F.mse_loss(scores[:n], lib.ones_like(scores[:n]))
        loss_d = loss_d + 0.5 * (real_term + F.mse_loss(scores[n:], lib.zeros_like(scores[n:])))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    return loss_g, loss_d


def cyclegan_trainer(lib, batch=4):
    """A closure running one CycleGAN step (Adam 2e-4, betas (0.5, 0.999)) on a fixed
    batch of unpaired 3 x 32 x 32 images."""
    nets = cyclegan(lib)
    generators = [*nets["generator_ab"].parameters(), *nets["generator_ba"].parameters()]
    critics = [*nets["critic_a"].parameters(), *nets["critic_b"].parameters()]
    opt_g = lib.optim.Adam(generators, lr=2e-4, betas=(0.5, 0.999))
    opt_d = lib.optim.Adam(critics, lr=2e-4, betas=(0.5, 0.999))
    real_a = lib.rand(batch, 3, 32, 32) * 2 - 1
    real_b = lib.rand(batch, 3, 32, 32) * 2 - 1

    def step():
        cyclegan_update(lib, nets, real_a, real_b, opt_g, opt_d)

    return step


def ddpm_resblock(lib, in_channels, out_channels, embed_dim, groups=8):
    """GroupNorm SiLU Conv3x3, + Linear(SiLU(e)), GroupNorm SiLU Conv3x3, 1x1 skip if needed:
    scratchgen.models.ddpm.ResBlock as a ModuleDict."""
    nn = lib.nn
    parts = {
        "norm1": nn.GroupNorm(groups, in_channels),
        "conv1": nn.Conv2d(in_channels, out_channels, 3, padding=1),
        "embed": nn.Linear(embed_dim, out_channels),
        "norm2": nn.GroupNorm(groups, out_channels),
        "conv2": nn.Conv2d(out_channels, out_channels, 3, padding=1),
    }
    if in_channels != out_channels:
        parts["skip"] = nn.Conv2d(in_channels, out_channels, 1)
    return nn.ModuleDict(parts)


def ddpm_resblock_forward(lib, block, x, e):
    F = lib.nn.functional
    h = block["conv1"](F.silu(block["norm1"](x)))
    h = h + block["embed"](F.silu(e)).reshape(h.shape[0], -1, 1, 1)
    h = block["conv2"](F.silu(block["norm2"](h)))
    return (block["skip"](x) if "skip" in block else x) + h


def ddpm_unet(lib, channels=(32, 64, 128)):
    """scratchgen.models.ddpm.DiffusionUNet (patch 2, no classes) from lib.nn layers."""
    nn = lib.nn
    width, e = channels[0], 4 * channels[0]
    inner = channels[:-1]
    return nn.ModuleDict(
        {
            "time_mlp": nn.Sequential(nn.Linear(width, e), nn.SiLU(), nn.Linear(e, e)),
            "stem": nn.Conv2d(4, width, 3, padding=1),
            "downs": nn.ModuleList(ddpm_resblock(lib, c, c, e) for c in inner),
            "pools": nn.ModuleList(nn.Conv2d(c, d, 4, 2, 1) for c, d in zip(inner, channels[1:])),
            "middle": ddpm_resblock(lib, channels[-1], channels[-1], e),
            "unpools": nn.ModuleList(
                nn.ConvTranspose2d(d, c, 4, 2, 1) for c, d in zip(inner, channels[1:])
            ),
            "ups": nn.ModuleList(ddpm_resblock(lib, 2 * c, c, e) for c in inner),
            "head": nn.Sequential(
                nn.GroupNorm(8, width), nn.SiLU(), nn.Conv2d(width, 4, 3, padding=1)
            ),
        }
    )


def ddpm_unet_forward(lib, net, x, t):
    """eps(x_t, t) of ``ddpm_unet``: pad 28 -> 32, fold 2x2 into channels, the U-Net, back."""
    F = lib.nn.functional
    half = net["stem"].out_channels // 2
    frequencies = lib.exp(-math.log(10000.0) * lib.arange(half, dtype=x.dtype) / half)
    angles = t.to(x.dtype)[:, None] * frequencies[None]
    e = net["time_mlp"](lib.cat([lib.sin(angles), lib.cos(angles)], 1))
    h = net["stem"](F.pixel_unshuffle(F.pad(x, (2, 2, 2, 2), value=-1.0), 2))
    skips = []
    for block, pool in zip(net["downs"], net["pools"]):
        h = ddpm_resblock_forward(lib, block, h, e)
        skips.append(h)
        h = pool(h)
    h = ddpm_resblock_forward(lib, net["middle"], h, e)
    for block, unpool in zip(reversed(list(net["ups"])), reversed(list(net["unpools"]))):
        h = ddpm_resblock_forward(lib, block, lib.cat([skips.pop(), unpool(h)], 1), e)
    return F.pixel_shuffle(net["head"](h), 2)[:, :, 2:-2, 2:-2]


def ddpm_trainer(lib, batch=64, timesteps=1000):
    """One DDPM step: t ~ U, x_t in closed form (linear schedule), L_simple, clipped
    gradients (norm 1), Adam 1e-3 (the model's EMA update, a few ms, is left out)."""
    F = lib.nn.functional
    net = ddpm_unet(lib)
    opt = lib.optim.Adam(net.parameters(), lr=1e-3)
    betas = lib.linspace(1e-4, 0.02, timesteps)
    alpha_bar = lib.log(1 - betas).cumsum(0).exp()  # prod_s (1 - beta_s)
    x0 = lib.rand(batch, 1, 28, 28) * 2 - 1

    def step():
        t = lib.randint(0, timesteps, (batch,))
        ab = alpha_bar[t].reshape(batch, 1, 1, 1)
        noise = lib.randn(batch, 1, 28, 28)
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        loss = F.mse_loss(ddpm_unet_forward(lib, net, xt, t), noise)
        opt.zero_grad()
        loss.backward()
        lib.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    return step


def ddim_sampler_trainer(lib, batch=125, timesteps=1000, steps=20):
    """One step of 20-step DDIM (eta 0, x0_hat clipped) on ``batch`` images, the batch
    scratchgen's sampler denoises at a time, with an untrained ``ddpm_unet``: the network's
    forward without a graph and the update (no classes, so one forward a step)."""
    net = ddpm_unet(lib)
    betas = lib.linspace(1e-4, 0.02, timesteps)
    alpha_bar = lib.log(1 - betas).cumsum(0).exp()
    x = lib.randn(batch, 1, 28, 28)
    t, s = timesteps - 1, timesteps - 1 - timesteps // steps

    def step():
        with lib.no_grad():
            eps = ddpm_unet_forward(lib, net, x, lib.full((batch,), t, dtype=lib.int64))
            ab_t, ab_s = alpha_bar[t], alpha_bar[s]
            x0_hat = ((x - (1 - ab_t).sqrt() * eps) / ab_t.sqrt()).clamp(-1.0, 1.0)
            return ab_s.sqrt() * x0_hat + (1 - ab_s).sqrt() * eps

    return step


TRAINERS = {
    "DCGAN pair (batch 64)": dcgan_trainer,
    "CGAN pair (batch 64)": cgan_trainer,
    "conv VAE (batch 128)": vae_trainer,
    "conv DAE (batch 128)": conv_dae_trainer,
    "MLP AE (batch 128)": mlp_ae_trainer,
    "CLIP text encoder (batch 256)": clip_text_trainer,
    "CLIP full step (batch 256)": clip_trainer,
    "Pix2Pix pair (batch 16)": pix2pix_trainer,
    "CycleGAN (batch 4)": cyclegan_trainer,
    "DDPM step (batch 64)": ddpm_trainer,
    "DDIM sampler step (batch 125)": ddim_sampler_trainer,
}
