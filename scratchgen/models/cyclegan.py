"""CycleGAN (Zhu et al., 2017): unpaired translation between two domains A and B.

Two ResNet translators G_AB: A -> B and G_BA: B -> A, and two PatchGAN critics, D_B
(is this a real b?) and D_A (is this a real a?). No pair (a, b) is ever shown; what ties
G_AB(a) to a is the cycle: G_BA must bring it back. Each ``train_step`` takes a batch of
a's and an unrelated batch of b's and does, as junyanz/pytorch-CycleGAN-and-pix2pix:

    1. G step (critics frozen), least-squares adversarial terms both ways:
         loss_g = mean (D_B(G_AB(a)) - 1)^2 + mean (D_A(G_BA(b)) - 1)^2
                + lambda_cyc (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|)   (cycle, L1)
                + lambda_id  (|G_AB(b) - b| + |G_BA(a) - a|)                (identity, L1)
    2. D step on fakes drawn from an ImagePool of earlier fakes, each critic's loss halved:
         loss_d = (mean (D(real) - 1)^2 + mean D(pooled fake)^2) / 2   per critic
                = sg.losses.discriminator_loss(real, fake, "lsgan")

The adversarial term of G is the reference's mean (f - 1)^2, that is twice
sg.losses.generator_loss(f, "lsgan") = mean (f - 1)^2 / 2.

    G: ResnetGenerator, c7s1-32 d64 d128 4 x R128 u64 u32 c7s1-C, reflection padding,
       InstanceNorm (no affine), ReLU, Tanh out
    D: PatchDiscriminator (scratchgen.models.pix2pix) with InstanceNorm on one image:
       C32 C64 C128(s1) -> 1, 6x6 patch scores at 32x32

Instance norm normalises each image on its own, so batching a's and b's through one
translator gives exactly what separate passes give; ``train_step`` uses that to make
four generator passes of the six. The learning rate is constant for the first half of
the run, then falls linearly to 0 (``schedule_over``). Images in [0, 1] are mapped to
2x - 1 on the way in and back with (y + 1) / 2 on the way out.
"""

import itertools

import numpy

import scratchgen as sg
from scratchgen import losses, nn, optim
from scratchgen.data import digits2ink, noisy_digits2clean
from scratchgen.models import autoencoder
from scratchgen.models.base import TrainableModel, register
from scratchgen.models.gan import dcgan_init
from scratchgen.models.pix2pix import PatchDiscriminator
from scratchgen.models.unet import norm_layer

TASKS = {"ink": digits2ink, "denoise": noisy_digits2clean}
CHANNELS = {"ink": 3, "denoise": 1}
DIRECTIONS = ("AB", "BA")
IMAGE_SIDE = 32
BATCH = 200  # images translated per forward pass


class ResnetBlock(nn.Module):
    """x + block(x), block = ReflectionPad(1) Conv3x3 IN ReLU ReflectionPad(1) Conv3x3 IN:
    the residual path starts at 0 change, so a deep stack still passes its input on."""

    def __init__(self, channels):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            norm_layer("instance", channels),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            norm_layer("instance", channels),
        )

    def forward(self, x):
        return x + self.block(x)


def conv_norm_relu(in_channels, out_channels, kernel_size, stride=1, padding=0):
    """Conv2d, InstanceNorm2d (no affine, so the conv keeps its bias), ReLU."""
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding),
        norm_layer("instance", out_channels),
        nn.ReLU(),
    ]


class ResnetGenerator(nn.Sequential):
    """(N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W) in [-1, 1] (Tanh).

    c7s1-w: ReflectionPad(3) Conv7x7 IN ReLU; d2w, d4w: Conv3x3 stride 2 IN ReLU (H/4);
    n_blocks ResnetBlocks of 4w; u2w, uw: ConvTranspose3x3 stride 2 (padding 1, output
    padding 1: exactly 2H) IN ReLU; c7s1-out: ReflectionPad(3) Conv7x7 Tanh. H and W must
    be divisible by 4.
    """

    def __init__(self, in_channels, out_channels, width=32, n_blocks=4):
        if width < 1 or n_blocks < 0:
            raise ValueError(
                f"ResnetGenerator: expected width >= 1 and n_blocks >= 0, "
                f"got width={width}, n_blocks={n_blocks}"
            )
        layers = [nn.ReflectionPad2d(3), *conv_norm_relu(in_channels, width, 7)]
        layers += conv_norm_relu(width, 2 * width, 3, 2, 1)
        layers += conv_norm_relu(2 * width, 4 * width, 3, 2, 1)
        layers += [ResnetBlock(4 * width) for _ in range(n_blocks)]
        for channels in (4 * width, 2 * width):
            up = nn.ConvTranspose2d(channels, channels // 2, 3, 2, 1, output_padding=1)
            layers += [up, norm_layer("instance", channels // 2), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]
        super().__init__(*layers)

    def forward(self, x):
        if x.ndim != 4 or any(side % 4 for side in x.shape[-2:]):
            raise ValueError(
                "ResnetGenerator: expected images (N, C, H, W) with H and W divisible by 4 "
                f"(two stride-2 downs), got shape {tuple(x.shape)}"
            )
        return super().forward(x)


class ImagePool(nn.Module):
    """A buffer of up to ``size`` earlier fakes that the critics train on (Shrivastava et
    al., 2017), so that they remember what the translators used to make.

    ``query(images)`` goes through the batch one image at a time: while the pool is not
    full, the image is stored and returned; once full, with probability 1/2 it replaces a
    stored image chosen uniformly, and the stored one is returned instead; otherwise the
    image itself is returned. The draws come from scratchgen's random stream, and the
    stored images and their count are buffers, so a checkpoint holds the whole pool and
    a resumed run draws what an uninterrupted one draws. size = 0: no pool, the fakes
    themselves are returned.
    """

    def __init__(self, size=50, image_shape=(3, IMAGE_SIDE, IMAGE_SIDE)):
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"ImagePool: expected size as an int >= 0, got {size!r}")
        self.size = size
        self.register_buffer("images", sg.zeros(size, *image_shape))
        self.register_buffer("stored", sg.zeros((), dtype=sg.int64))

    def __len__(self):
        return int(self.stored.item())

    def query(self, images):
        """A batch of the shape of ``images`` (detached), mixed with stored ones."""
        images = images.detach()
        if self.size == 0:
            return images
        if images.shape[1:] != self.images.shape[1:]:
            raise ValueError(
                f"ImagePool: expected images (N, {', '.join(map(str, self.images.shape[1:]))}), "
                f"got shape {tuple(images.shape)}"
            )
        with sg.no_grad():
            returned = [self._exchange(image) for image in images]
        return sg.stack(returned)

    def _exchange(self, image):
        count = len(self)
        if count < self.size:
            self.images[count] = image
            self.stored.fill_(count + 1)
            return image
        if sg.rand(1, device=image.device).item() < 0.5:
            return image
        slot = int(sg.randint(0, self.size, (1,), device=image.device).item())
        kept = self.images[slot].clone()
        self.images[slot] = image
        return kept


def check_settings(task, lambda_cyc, lambda_id, pool_size, width, n_blocks):
    """A ValueError naming the first setting out of its range."""
    if task not in TASKS:
        raise ValueError(f"CycleGAN: task must be one of {tuple(TASKS)}, got {task!r}")
    for setting, value in {"lambda_cyc": lambda_cyc, "lambda_id": lambda_id}.items():
        if value < 0:
            raise ValueError(f"CycleGAN: {setting} must be >= 0, got {value}")
    for setting, value, minimum in (("pool_size", pool_size, 0), ("width", width, 1)):
        if value < minimum:
            raise ValueError(f"CycleGAN: {setting} must be >= {minimum}, got {value}")
    if n_blocks < 0:
        raise ValueError(f"CycleGAN: n_blocks must be >= 0, got {n_blocks}")


def as_images(x, channels, device):
    """A float32 Tensor (N, channels, H, W) on ``device`` from a Tensor or an array."""
    x = autoencoder.as_images(x, device)
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(
            f"translate: expected images (N, {channels}, H, W), got shape {tuple(x.shape)}"
        )
    return x


def least_squares_fooling(scores):
    """G's adversarial term as the reference writes it: mean (D(G(x)) - 1)^2, twice
    sg.losses.generator_loss(scores, "lsgan"); d/df = 2 (f - 1) / n."""
    return losses.generator_loss(scores, "lsgan") * 2.0


@register("cyclegan")
class CycleGAN(TrainableModel):
    """The two ResNet translators and two PatchGAN critics of DESIGN.md, each pair
    trained by Adam(lr, (beta1, 0.999)).

    task: "ink" (digits2ink: grey digits <-> orange ink on navy) or "denoise"
    (noisy_digits2clean: noisy scans <-> clean digits). lambda_cyc, lambda_id: the
    weights of the cycle and identity terms. pool_size: the ImagePool's (0: none).
    width, n_blocks: the ResnetGenerator's.

    ``defaults``: 3 epochs at batch 4 (1,500 steps), the lr at its full value through
    the first epoch, then 2/3 and 1/3 of it (``schedule_over``). Alone on the 2-core CPU
    (about 350 ms a step) training took 9 min 12 s with the per-epoch snapshots and the
    final figures (2026-12-07); 2 epochs scored 0.7 / 0.9 dB lower on digits2ink.
    """

    defaults = {"epochs": 3, "batch_size": 4}

    def __init__(
        self,
        task="ink",
        lambda_cyc=10.0,
        lambda_id=5.0,
        pool_size=50,
        width=32,
        n_blocks=4,
        lr=2e-4,
        beta1=0.5,
    ):
        super().__init__(
            task=task,
            lambda_cyc=lambda_cyc,
            lambda_id=lambda_id,
            pool_size=pool_size,
            width=width,
            n_blocks=n_blocks,
            lr=lr,
            beta1=beta1,
        )
        check_settings(task, lambda_cyc, lambda_id, pool_size, width, n_blocks)
        self.task, self.channels = task, CHANNELS[task]
        self.lambda_cyc, self.lambda_id = lambda_cyc, lambda_id
        image_shape = (self.channels, IMAGE_SIDE, IMAGE_SIDE)
        self.generator_ab = ResnetGenerator(self.channels, self.channels, width, n_blocks)
        self.generator_ba = ResnetGenerator(self.channels, self.channels, width, n_blocks)
        self.critic_a = PatchDiscriminator(self.channels, norm="instance")
        self.critic_b = PatchDiscriminator(self.channels, norm="instance")
        self.pool_a = ImagePool(pool_size, image_shape)  # earlier G_BA(b), for D_A
        self.pool_b = ImagePool(pool_size, image_shape)  # earlier G_AB(a), for D_B
        for network in self.generators() + self.critics():
            network.apply(dcgan_init)  # N(0, 0.02) weights, zero biases, as the reference
        betas = (beta1, 0.999)
        self.optimizers = {
            "g": optim.Adam(self.parameters_of(self.generators()), lr=lr, betas=betas),
            "d": optim.Adam(self.parameters_of(self.critics()), lr=lr, betas=betas),
        }

    def generators(self):
        return [self.generator_ab, self.generator_ba]

    def critics(self):
        return [self.critic_a, self.critic_b]

    @staticmethod
    def parameters_of(networks):
        return list(itertools.chain.from_iterable(net.parameters() for net in networks))

    def schedule_over(self, epochs):
        """Both optimizers follow the reference's LinearDecayLR.over_run rule: the full lr
        through the first half of the run, then linearly down to 0."""
        self.schedulers = {
            name: optim.lr_scheduler.LinearDecayLR.over_run(optimizer, epochs)
            for name, optimizer in self.optimizers.items()
        }

    def training_data(self, split="train"):
        return TASKS[self.task](split)

    # -- training ---------------------------------------------------------------------
    def train_step(self, batch):
        """One G step (both translators), then one D step (both critics) on pooled fakes.

        Returns loss_g and its terms (loss_gan_ab: D_B fooled by G_AB(a), loss_gan_ba,
        loss_cycle_a = |G_BA(G_AB(a)) - a|, loss_cycle_b, loss_id_a = |G_BA(a) - a|,
        loss_id_b), and loss_d_a, loss_d_b, the critics' halved losses.
        """
        real_a = batch["a"] * 2.0 - 1.0
        real_b = batch["b"] * 2.0 - 1.0
        stats, fake_a, fake_b = self.generator_step(real_a, real_b)
        return stats | self.discriminator_step(real_a, real_b, fake_a, fake_b)

    def translations(self, real_a, real_b):
        """fake_b = G_AB(a), fake_a = G_BA(b), the round trips rec_a = G_BA(fake_b) and
        rec_b = G_AB(fake_a), and (if lambda_id > 0) the identities id_b = G_AB(b),
        id_a = G_BA(a): G_AB(a) and G_AB(b) in one pass, as instance norm allows."""
        n = len(real_a)
        if self.lambda_id:
            ab = self.generator_ab(sg.cat([real_a, real_b]))
            ba = self.generator_ba(sg.cat([real_b, real_a]))
            fake_b, id_b, fake_a, id_a = ab[:n], ab[n:], ba[:n], ba[n:]
        else:
            fake_b, fake_a = self.generator_ab(real_a), self.generator_ba(real_b)
            id_a = id_b = None
        rec_a, rec_b = self.generator_ba(fake_b), self.generator_ab(fake_a)
        return {"fake_a": fake_a, "fake_b": fake_b, "rec_a": rec_a, "rec_b": rec_b} | {
            "id_a": id_a,
            "id_b": id_b,
        }

    def generator_objective(self, real_a, real_b, images):
        """{name: Tensor} of loss_g and its terms for the translations ``images``:

        loss_g = gan_ab + gan_ba + lambda_cyc (cycle_a + cycle_b)
                 + lambda_id (id_a + id_b)
        """
        terms = {
            "loss_gan_ab": least_squares_fooling(self.critic_b(images["fake_b"])),
            "loss_gan_ba": least_squares_fooling(self.critic_a(images["fake_a"])),
            "loss_cycle_a": losses.cycle_loss(images["rec_a"], real_a),
            "loss_cycle_b": losses.cycle_loss(images["rec_b"], real_b),
        }
        loss_g = terms["loss_gan_ab"] + terms["loss_gan_ba"]
        loss_g = loss_g + (terms["loss_cycle_a"] + terms["loss_cycle_b"]) * self.lambda_cyc
        if self.lambda_id:
            terms["loss_id_a"] = losses.identity_loss(images["id_a"], real_a)
            terms["loss_id_b"] = losses.identity_loss(images["id_b"], real_b)
            loss_g = loss_g + (terms["loss_id_a"] + terms["loss_id_b"]) * self.lambda_id
        return {"loss_g": loss_g} | terms

    def generator_step(self, real_a, real_b):
        for critic in self.critics():  # G's step needs no gradient for the critics
            critic.requires_grad_(False)
        try:
            images = self.translations(real_a, real_b)
            terms = self.generator_objective(real_a, real_b, images)
            self._optimize("g", terms["loss_g"])
        finally:
            for critic in self.critics():
                critic.requires_grad_(True)
        stats = {name: value.item() for name, value in terms.items()}
        stats.setdefault("loss_id_a", 0.0)
        stats.setdefault("loss_id_b", 0.0)
        return stats, images["fake_a"], images["fake_b"]

    def critic_objective(self, critic, real, fake):
        """A critic's halved least-squares loss on real images and (pooled) fakes:
        (mean (D(real) - 1)^2 + mean D(fake)^2) / 2, both scored in one pass."""
        scores = critic(sg.cat([real, fake]))
        n = len(real)
        return losses.discriminator_loss(scores[:n], scores[n:], "lsgan")

    def discriminator_step(self, real_a, real_b, fake_a, fake_b):
        loss_d_a = self.critic_objective(self.critic_a, real_a, self.pool_a.query(fake_a))
        loss_d_b = self.critic_objective(self.critic_b, real_b, self.pool_b.query(fake_b))
        self._optimize("d", loss_d_a + loss_d_b)
        return {"loss_d_a": loss_d_a.item(), "loss_d_b": loss_d_b.item()}

    def _optimize(self, name, loss):
        optimizer = self.optimizers[name]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    # -- translating --------------------------------------------------------------------
    def translate(self, x, direction="AB"):
        """numpy float32 (N, C, H, W) in [0, 1]: G_AB(x) ("AB") or G_BA(x) ("BA") of
        images x (numpy or Tensor, in [0, 1]), without a graph, BATCH at a time.
        Deterministic: instance norm uses each image's own statistics, no dropout."""
        if direction not in DIRECTIONS:
            raise ValueError(f"translate: direction must be 'AB' or 'BA', got {direction!r}")
        generator = self.generator_ab if direction == "AB" else self.generator_ba
        images = as_images(x, self.channels, self.device)
        with sg.no_grad():
            chunks = [
                generator(images[start : start + BATCH] * 2.0 - 1.0).numpy()
                for start in range(0, len(images), BATCH)
            ]
        outputs = (numpy.concatenate(chunks) + 1.0) / 2.0
        return numpy.clip(outputs, 0.0, 1.0).astype(numpy.float32)

    def sample(self, n, labels=None):
        """Translations of n test inputs spread over the test split: G_AB of the first
        ceil(n / 2) a's, then G_BA of the next floor(n / 2) b's."""
        if labels is not None:
            raise ValueError("sample: CycleGAN translates test inputs; it takes no labels")
        test = self.training_data("test").arrays
        chosen = numpy.linspace(0, len(test["a"]) - 1, n).round().astype(int)
        half = (n + 1) // 2
        forward = self.translate(test["a"][chosen[:half]], "AB")
        if half == n:
            return forward
        return numpy.concatenate([forward, self.translate(test["b"][chosen[half:]], "BA")])
