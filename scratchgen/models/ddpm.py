"""DDPM (Ho et al., 2020) with DDIM sampling (Song et al., 2020), classes and
classifier-free guidance (Ho & Salimans, 2021), and an EMA of the weights for sampling.

A hierarchical VAE taken to its limit: the encoder is fixed (T = 1000 steps of Gaussian
noise, ``losses.diffusion``), the decoder is one network shared by every step, and the
ELBO, written in the noise, becomes the simplified loss. Each training step:

    x_0 ~ data (scaled to [-1, 1]),  t ~ U{1..T},  eps ~ N(0, I)
    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps
    loss = mean (eps_theta(x_t, t, y) - eps)^2          (L_simple, snr_gamma = 0)
    loss = mean w_t (eps_theta(x_t, t, y) - eps)^2      (the default, snr_gamma = 5)

where w_t = min(SNR_t, 5) / SNR_t (Min-SNR, Hang et al., 2023) takes weight off the nearly
clean steps; it converges faster (``losses.min_snr_loss``).

The network is a small U-Net on 28x28 digits (28 -> 14 -> 7 and back), one residual block
per level, GroupNorm and SiLU, every block told the step through a sinusoidal embedding
sent through an MLP (and, with classes, a learned label embedding added to it):

    stem      Conv3x3(1, c0)                                              28x28
    down      ResBlock(c0)  -> skip s0, UNetDown(c0, c1) (Conv4x4 s2)     28 -> 14
              ResBlock(c1)  -> skip s1, UNetDown(c1, c2)                  14 -> 7
    middle    ResBlock(c2)                                                 7x7
    up        ConvT4x4 s2 (c2 -> c1), [s1, h] ResBlock(2 c1 -> c1)        7 -> 14
              ConvT4x4 s2 (c1 -> c0), [s0, h] ResBlock(2 c0 -> c0)        14 -> 28
    out       GroupNorm SiLU Conv3x3(c0, 1)  (zero-initialised)

    ResBlock(x, e): h = Conv3x3(SiLU(GN(x))) + Linear(SiLU(e));  x' + Conv3x3(SiLU(GN(h)))

The downsampling is pix2pix's UNetDown without its activation and norm (models.unet), and
the upsampling its transposed 4x4 convolution. With classes, the label is replaced by
the null class 10 with probability ``p_uncond`` during training, so one network learns
eps(x, y) and eps(x); sampling mixes them, eps = (1 + w) eps(x, y) - w eps(x).
"""

import math

import numpy

import scratchgen as sg
from scratchgen import losses, nn, optim
from scratchgen.data import mnist
from scratchgen.losses.diffusion import SCHEDULES, NoiseSchedule
from scratchgen.models import samplers
from scratchgen.models.base import TrainableModel, register
from scratchgen.models.gan import digit_labels
from scratchgen.models.unet import UNetDown
from scratchgen.nn import functional as F
from scratchgen.nn import init
from scratchgen.optim.ema import ema_decay, update_ema

CLASSES = 10
NULL_CLASS = CLASSES  # the label of "no label" (classifier-free guidance)
GROUPS = 8  # GroupNorm groups in every block
# Images denoised per forward pass when sampling. Smaller chunks keep each conv's im2col
# buffer small: one no-graph forward of the default U-Net took 2.79 / 1.76 / 1.68 / 1.67 s
# per 1,000 images at chunks of 500 / 250 / 125 / 64 (2-core CPU).
BATCH = 125
PAD = 2  # 28x28 digits are padded to 32x32 inside the U-Net
# The sampler's defaults (steps None, eta None) by variant. Unconditional, the 42-epoch model's
# FID of 1,000 samples was 75.0 at 20 deterministic DDIM steps, 62.5 at 20 steps with eta = 1
# and 50.9 at 50 with eta = 1 (112 s); the default 34-epoch model 90.6 at 20 deterministic
# steps, 60.1 at 50 with eta = 1 (99 s). With guidance each step costs two passes, so the
# conditional model keeps 20 deterministic steps (FID 27.8, 85 s for 1,000).
SAMPLING = {False: {"steps": 50, "eta": 1.0}, True: {"steps": 20, "eta": 0.0}}


def timestep_embedding(t, dim, max_period=10000.0):
    """The sinusoidal embedding of steps t (a float Tensor (N,)) in ``dim`` numbers
    (Vaswani et al., 2017; Ho et al., 2020):

        e(t) = [sin(t w_0), ..., sin(t w_{k-1}), cos(t w_0), ..., cos(t w_{k-1})],
        w_j = max_period^(-j / k),  k = dim / 2

    de/dt = [w cos(t w), -w sin(t w)]. Nearby steps get nearby codes at every scale.
    """
    if dim % 2:
        raise ValueError(f"timestep_embedding: expected an even dim, got {dim}")
    half = dim // 2
    exponents = numpy.arange(half, dtype=numpy.float64) / half
    frequencies = sg.tensor(
        numpy.exp(-math.log(max_period) * exponents), dtype=t.dtype, device=t.device
    )
    angles = t.reshape(-1, 1) * frequencies.reshape(1, -1)
    return sg.cat([angles.sin(), angles.cos()], dim=1)


class ResBlock(nn.Module):
    """(N, in, H, W), embedding (N, E) -> (N, out, H, W): two GroupNorm SiLU Conv3x3, the
    embedding projected to ``out`` channels and added between them; a 1x1 convolution on
    the skip path when in != out. The second conv starts at zero: each block starts as
    the identity (its skip path), as in Ho et al.'s code."""

    def __init__(self, in_channels, out_channels, embed_dim):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.embed = nn.Linear(embed_dim, out_channels)
        self.norm2 = nn.GroupNorm(GROUPS, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        init.zeros_(self.conv2.weight)
        init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x, embedding):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.embed(F.silu(embedding)).reshape(h.shape[0], -1, 1, 1)
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class DiffusionUNet(nn.Module):
    """eps_theta(x_t, t, y): (N, 1, 28, 28), steps (N,) ints, labels (N,) or None ->
    (N, 1, 28, 28).

    The digit is padded to 32x32 (with the background, -1) and, with ``patch`` = 2, folded
    into 4 channels of 16x16 (PixelUnshuffle: each 2x2 block becomes one pixel), so the
    U-Net works at 16 -> 8 -> 4 and the output is unfolded and cropped back. channels:
    one width per level, outermost first; the last level is the middle block. classes:
    whether it reads labels 0..9 (and the null class 10).
    """

    def __init__(self, channels=(32, 64, 128), classes=False, patch=2):
        super().__init__()
        self.channels, self.patch = tuple(channels), patch
        width = self.channels[0]
        self.embed_dim = e = 4 * width
        self.time_mlp = nn.Sequential(nn.Linear(width, e), nn.SiLU(), nn.Linear(e, e))
        self.label_embed = nn.Embedding(CLASSES + 1, e) if classes else None
        self.fold, self.unfold = nn.PixelUnshuffle(patch), nn.PixelShuffle(patch)
        self.stem = nn.Conv2d(patch * patch, width, 3, padding=1)
        inner = self.channels[:-1]
        self.down_blocks = nn.ModuleList(ResBlock(c, c, e) for c in inner)
        self.downsamples = nn.ModuleList(
            UNetDown(c, c_next, activation=False) for c, c_next in zip(inner, self.channels[1:])
        )
        self.middle = ResBlock(self.channels[-1], self.channels[-1], e)
        self.upsamples = nn.ModuleList(
            nn.ConvTranspose2d(c_next, c, 4, 2, 1) for c, c_next in zip(inner, self.channels[1:])
        )
        self.up_blocks = nn.ModuleList(ResBlock(2 * c, c, e) for c in inner)
        self.head = nn.Sequential(
            nn.GroupNorm(GROUPS, width), nn.SiLU(), nn.Conv2d(width, patch * patch, 3, padding=1)
        )
        init.zeros_(self.head[2].weight)
        init.zeros_(self.head[2].bias)

    def embedding(self, t, labels, like):
        """The step's (and the label's) embedding (N, 4 c0) every block reads."""
        steps = sg.tensor(numpy.asarray(t), dtype=like.dtype, device=like.device)
        e = self.time_mlp(timestep_embedding(steps, self.channels[0]))
        if self.label_embed is not None:
            if labels is None:  # no label: the null class, eps(x_t, t)
                labels = sg.full((len(steps),), NULL_CLASS, dtype=sg.int64, device=like.device)
            e = e + self.label_embed(labels)
        return e

    def forward(self, x, t, labels=None):
        e = self.embedding(t, labels, x)
        h = self.stem(self.fold(F.pad(x, (PAD,) * 4, value=-1.0)))
        skips = []
        for block, downsample in zip(self.down_blocks, self.downsamples):
            h = block(h, e)
            skips.append(h)
            h = downsample(h)
        h = self.middle(h, e)
        for block, upsample in zip(reversed(self.up_blocks), reversed(self.upsamples)):
            h = block(sg.cat([skips.pop(), upsample(h)], dim=1), e)
        out = self.unfold(self.head(h))
        return out[:, :, PAD:-PAD, PAD:-PAD]


def check_settings(
    schedule, channels, patch, p_uncond, ema, snr_gamma, sampler, steps, eta, guidance
):
    if schedule not in SCHEDULES:
        raise ValueError(f"DDPM: schedule must be one of {SCHEDULES}, got {schedule!r}")
    if not channels or any(c < 1 or c % GROUPS for c in channels):
        raise ValueError(
            f"DDPM: channels must be widths divisible by {GROUPS}, got {list(channels)}"
        )
    if patch not in (1, 2) or (32 // patch) % 2 ** (len(channels) - 1):
        raise ValueError(
            f"DDPM: patch must be 1 or 2 and 32 / patch divisible by 2^(levels - 1), got "
            f"patch {patch} with {len(channels)} levels"
        )
    if not 0.0 <= p_uncond < 1.0:
        raise ValueError(f"DDPM: p_uncond must be in [0, 1), got {p_uncond}")
    if not 0.0 <= ema < 1.0:
        raise ValueError(f"DDPM: ema must be in [0, 1), got {ema}")
    if snr_gamma < 0:
        raise ValueError(f"DDPM: snr_gamma must be >= 0 (0: L_simple), got {snr_gamma}")
    check_sampling(sampler, steps, eta, guidance)


def check_sampling(sampler, steps, eta, guidance):
    if sampler not in samplers.SAMPLERS:
        raise ValueError(f"sample: sampler must be one of {samplers.SAMPLERS}, got {sampler!r}")
    if steps is not None and (not isinstance(steps, int) or steps < 1):
        raise ValueError(f"sample: steps must be an int >= 1, got {steps!r}")
    if eta is not None and not 0.0 <= eta <= 1.0:
        raise ValueError(f"sample: eta must be in [0, 1], got {eta}")
    if guidance < 0:
        raise ValueError(f"sample: guidance must be >= 0, got {guidance}")


@register("ddpm")
class DDPM(TrainableModel):
    """The diffusion model: DiffusionUNet trained by Adam(lr) on the noise-prediction loss
    (Min-SNR-weighted by default), with an EMA copy (decay ``ema``) that samples.

    schedule: "linear" or "cosine"; timesteps: T. channels: the U-Net's (c0, c1, c2).
    classes: condition on the digit (classifier-free guidance; labels dropped with
    probability p_uncond). sampler ("ddpm" | "ddim"), steps (DDIM's S), eta (DDIM's noise:
    0 deterministic, 1 ancestral on the S steps) and guidance (w) are the defaults of
    ``sample``; steps and eta None take SAMPLING's for the variant (unconditional 50 steps
    at eta 1, conditional 20 at eta 0). w = 1.5 because, on the default conditional run,
    w = 0 / 0.5 / 1 / 1.5 / 2 / 3 gave FID 76 / 32 / 23 / 27 / 35 / 54 and conditional accuracy
    81 / 94 / 98.5 / 99.3 / 99.8 / 99.9% (1,000 samples, 20 DDIM steps): past w = 1, guidance
    buys accuracy with diversity (measured before the Min-SNR weighting and batch 32).
    clip: clip x0_hat to [-1, 1] while sampling. snr_gamma: 0 trains on L_simple, gamma > 0
    on ``losses.min_snr_loss``; 5 and batch 32 because in 21-epoch unconditional runs (FID
    of 500 samples, 20 DDIM steps) L_simple at batch 64 gave 205, Min-SNR-5 141, at batch 32
    127 (batch 16: 133, slower; lr 2e-3: 167; batch 32 at lr 5e-4: 135).
    """

    defaults = {"epochs": 34, "batch_size": 32}

    def __init__(
        self,
        schedule="linear",
        timesteps=1000,
        channels=(32, 64, 128),
        patch=2,
        classes=False,
        p_uncond=0.1,
        lr=1e-3,
        ema=0.999,
        grad_clip=1.0,
        sampler="ddim",
        steps=None,
        eta=None,
        guidance=1.5,
        clip=True,
        snr_gamma=5.0,
    ):
        channels = tuple(channels)
        super().__init__(
            schedule=schedule,
            timesteps=timesteps,
            channels=list(channels),
            patch=patch,
            classes=classes,
            p_uncond=p_uncond,
            lr=lr,
            ema=ema,
            grad_clip=grad_clip,
            sampler=sampler,
            steps=steps,
            eta=eta,
            guidance=guidance,
            clip=clip,
            snr_gamma=snr_gamma,
        )
        check_settings(
            schedule, channels, patch, p_uncond, ema, snr_gamma, sampler, steps, eta, guidance
        )
        self.schedule = NoiseSchedule(schedule, timesteps)
        self.conditional = classes
        self.p_uncond, self.grad_clip, self.clip = p_uncond, grad_clip, clip
        sampling = SAMPLING[bool(classes)]
        self.sampler, self.guidance = sampler, guidance
        self.steps = sampling["steps"] if steps is None else steps
        self.eta = sampling["eta"] if eta is None else eta
        self.ema = ema
        self.snr_gamma = snr_gamma
        self.network = DiffusionUNet(channels, classes, patch)
        self.network_ema = DiffusionUNet(channels, classes, patch)
        self.network_ema.load_state_dict(self.network.state_dict())
        self.network_ema.requires_grad_(False)
        self.register_buffer("ema_updates", sg.zeros(()))
        self.optimizers = {"net": optim.Adam(self.network.parameters(), lr=lr)}

    def training_data(self, split="train"):
        return mnist(split)

    # -- training ---------------------------------------------------------------------
    def train_step(self, batch):
        """One Adam step on the (weighted) noise loss at random steps t, then the EMA update;
        the labels (with classes) are dropped to the null class with probability p_uncond."""
        x0 = batch["image"] * 2.0 - 1.0
        n = x0.shape[0]
        t = sg.randint(0, len(self.schedule), (n,)).numpy()
        noise = sg.randn_like(x0)
        xt = losses.q_sample(x0, t, noise, self.schedule)
        labels = self.training_labels(batch["label"]) if self.conditional else None
        eps_pred = self.network(xt, t, labels)
        if self.snr_gamma:
            loss = losses.min_snr_loss(eps_pred, noise, t, self.schedule, self.snr_gamma)
        else:
            loss = losses.simple_loss(eps_pred, noise)
        optimizer = self.optimizers["net"]
        optimizer.zero_grad()
        loss.backward()
        if self.grad_clip:
            nn.utils.clip_grad_norm_(self.network.parameters(), self.grad_clip)
        optimizer.step()
        self.update_ema()
        return {"loss": loss.item()}

    def training_labels(self, labels):
        """labels, each replaced by NULL_CLASS with probability p_uncond."""
        dropped = sg.rand(labels.shape[0], device=labels.device).numpy() < self.p_uncond
        values = numpy.where(dropped, NULL_CLASS, labels.numpy())
        return sg.tensor(values.astype(numpy.int64), device=labels.device)

    def update_ema(self):
        """theta_ema <- d theta_ema + (1 - d) theta, d = min(ema, (1 + t) / (10 + t))."""
        decay = ema_decay(self.ema_updates.item(), self.ema) if self.ema else 0.0
        update_ema(self.network_ema, self.network, decay)
        self.ema_updates.data += 1

    # -- sampling ----------------------------------------------------------------------
    def noise_predictor(self, labels, guidance, network=None):
        """eps_fn(x_t, t) for the samplers: the EMA network's eps(x_t, t), or with labels
        the guided (1 + w) eps(x_t, t, y) - w eps(x_t, t) (one forward pass of 2N when
        w > 0)."""
        network = self.network_ema if network is None else network

        def eps_fn(x, t):
            if labels is None:
                return network(x, t)
            y = sg.tensor(labels, device=x.device)
            if not guidance:
                return network(x, t, y)
            null = sg.full((len(labels),), NULL_CLASS, dtype=sg.int64, device=x.device)
            both = network(sg.cat([x, x]), numpy.concatenate([t, t]), sg.cat([y, null]))
            conditional, unconditional = both[: len(labels)], both[len(labels) :]
            return conditional * (1.0 + guidance) - unconditional * guidance

        return eps_fn

    def check_labels(self, n, labels):
        """labels None -> 0, 1, ..., 9, 0, ... (conditional) or None; else n digits 0..9."""
        if not self.conditional:
            if labels is not None:
                raise ValueError("sample: this DDPM has no classes; it takes no labels")
            return None
        return digit_labels(n, labels)

    def denoise(
        self,
        x_T,
        labels=None,
        steps=None,
        sampler=None,
        guidance=None,
        eta=None,
        progress=True,
        trajectory=None,
    ):
        """The reverse process from x_T (a numpy (N, 1, 28, 28) array of N(0, I) noise) to
        numpy images in [0, 1], BATCH at a time; None settings take the model's."""
        sampler = self.sampler if sampler is None else sampler
        steps = self.steps if steps is None else steps
        guidance = self.guidance if guidance is None else guidance
        eta = self.eta if eta is None else eta
        check_sampling(sampler, steps, eta, guidance)
        labels = self.check_labels(len(x_T), labels)
        was_training = self.network_ema.training
        self.network_ema.eval()
        chunks = []
        try:
            for start in range(0, len(x_T), BATCH):
                chunk_labels = None if labels is None else labels[start : start + BATCH]
                x = sg.tensor(x_T[start : start + BATCH], device=self.device)
                eps_fn = self.noise_predictor(chunk_labels, guidance)
                x = self.run_sampler(eps_fn, x, sampler, steps, eta, progress, trajectory)
                chunks.append(x.numpy())
        finally:
            self.network_ema.train(was_training)
        images = (numpy.concatenate(chunks) + 1.0) / 2.0
        return numpy.clip(images, 0.0, 1.0).astype(numpy.float32)

    def run_sampler(self, eps_fn, x, sampler, steps, eta, progress, trajectory):
        if sampler == "ddpm":
            return samplers.ddpm_sample(eps_fn, x, self.schedule, self.clip, progress, trajectory)
        return samplers.ddim_sample(
            eps_fn, x, self.schedule, steps, eta, self.clip, progress, trajectory
        )

    def sample(self, n, labels=None, steps=None, sampler=None, guidance=None, eta=None):
        """n digits, numpy (n, 1, 28, 28) in [0, 1], from x_T ~ N(0, I) (the global stream).
        steps: DDIM's S and eta its noise (default the model's); sampler: "ddim" or "ddpm"
        (T steps); guidance: w, with classes only (labels None: 0, 1, ..., 9, ... in turn)."""
        if guidance and not self.conditional:
            raise ValueError("sample: guidance needs a DDPM trained with classes=true")
        x_T = sg.randn(n, 1, 28, 28).numpy()
        return self.denoise(x_T, labels, steps, sampler, guidance, eta)
