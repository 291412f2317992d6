"""The evaluation of DDPM: the forward and reverse processes, sample grids, guidance, FID
against the number of DDIM steps, and the variational bound in bits per dimension.

snapshot      64 digits from fixed noise (seed 0), 10 DDIM steps, after every epoch (with
              classes: one row per digit, 8 columns sharing x_T)
figures       forward.png (one test digit across t, a row per schedule), reverse.png (the
              reverse process of 4 seeds as strips of x_t), samples.png (64 digits);
              with classes class_grid.png (10 x 10) and guidance.png (w = 0, 1, 3, 5 on the
              same seeds); fid_vs_steps.png from the run's metrics.json once ``scratchgen
              eval`` has measured it; samples_over_epochs.png
evaluate      on EVAL_SAMPLES samples (the model's sampler; fixed noise, seed 1): FID against
              the 1,000 test digits and the noise calibration point, class shares, with
              classes the conditional accuracy (labels 0..9 in turn, the model's guidance);
              FID against DDIM steps at the model's eta (SWEEP_STEPS on SWEEP_SAMPLES, the T-step
              ancestral sampler on FULL_SAMPLES with DDIM-50 on the same few for a like
              comparison); the bound in bits per dimension on BOUND_IMAGES test digits

The bound: -log p(x_0) <= L_T + sum_{t=2}^T L_{t-1} + L_0 (losses.diffusion), on the test
digits as they are stored, 8-bit (k / 255); the decoder term integrates the density over
each pixel's bin, which is what a bound on uniformly dequantised digits computes. The
sum over t is estimated without bias by stratified sampling: the steps 2..T fall into
BOUND_STRATA strata of equal size, each image draws one step in each, and a stratum's
term counts for all its steps.
"""

import json
from pathlib import Path

import numpy
from matplotlib.figure import Figure

import scratchgen as sg
from scratchgen import losses, viz
from scratchgen.data import mnist
from scratchgen.evaluation import reference
from scratchgen.evaluation.gan import samples_over_epochs
from scratchgen.evaluation.report import Report, reports, seeded
from scratchgen.losses.diffusion import NoiseSchedule, bits_per_dim, model_mean
from scratchgen.models.ddpm import CLASSES
from scratchgen.viz import _save as save_figure

SNAPSHOT_STEPS = 10
EVAL_SAMPLES = 1000
SWEEP_STEPS = (10, 20, 50, 100)
SWEEP_SAMPLES = 500
FULL_SAMPLES = 100
BOUND_IMAGES = 100
BOUND_STRATA = 50
GUIDANCE_SWEEP = (0.0, 1.0, 3.0, 5.0)
FORWARD_STEPS = (0, 25, 50, 100, 200, 300, 500, 700, 999)
REVERSE_FRAMES = 10
METRICS_FILE = "metrics.json"  # what ``scratchgen eval`` writes (cli sits above this module)


def fixed_noise(n, seed):
    """n draws of x_T ~ N(0, I) (N, 1, 28, 28) from numpy's generator with ``seed``."""
    return numpy.random.default_rng(seed).standard_normal((n, 1, 28, 28)).astype(numpy.float32)


def as_model_pixels(images):
    """[0, 1] images -> the model's [-1, 1]."""
    return images * 2.0 - 1.0


def bound_terms(network, schedule, x0, strata, rng):
    """Nats per image (N,) of L_T, the sum of L_1 .. L_{T-1} (0-based t = 1 .. T-1,
    stratified) and L_0, for a Tensor x0 in [-1, 1] on the 256-level grid."""
    n, timesteps = x0.shape[0], len(schedule)
    edges = numpy.linspace(1, timesteps, strata + 1).round().astype(int)
    kl_sum = numpy.zeros(n)
    for low, high in zip(edges[:-1], edges[1:]):
        t = rng.integers(low, high, n)
        xt = losses.q_sample(x0, t, sg.randn_like(x0), schedule)
        mean = model_mean(xt, network(xt, t), t, schedule)
        kl = losses.gaussian_kl_terms(x0, xt, t, mean, schedule, reduction="none")
        kl_sum += (high - low) * kl.numpy()
    t = numpy.zeros(n, dtype=numpy.int64)
    x1 = losses.q_sample(x0, t, sg.randn_like(x0), schedule)
    mean = model_mean(x1, network(x1, t), t, schedule)
    decoder = losses.decoder_nll(x0, mean, schedule, reduction="none").numpy()
    prior = losses.prior_kl(x0, schedule, reduction="none").numpy()
    return prior, kl_sum, decoder


@reports("ddpm")
class DDPMReport(Report):
    """Pictures and metrics of a DDPM (``model.denoise`` from fixed noise)."""

    def draw(self, x_T, labels=None, **settings):
        """model.denoise from x_T, the sampler's own noise (eta > 0, ancestral) seeded: the
        same pictures and numbers each time, and training's stream left alone."""
        with seeded(0):
            return self.model.denoise(x_T, labels, progress=False, **settings)

    def class_inputs(self, columns, seed=0):
        """(x_T, labels): one row per digit, column j's x_T shared by the rows."""
        x_T = numpy.tile(fixed_noise(columns, seed), (CLASSES, 1, 1, 1))
        return x_T, numpy.repeat(numpy.arange(CLASSES), columns)

    def snapshot(self, path):
        if self.model.conditional:
            x_T, labels = self.class_inputs(8)
            images = self.draw(x_T, labels, steps=SNAPSHOT_STEPS, sampler="ddim")
            return viz.image_grid(images, path, nrow=8, row_labels=list(range(CLASSES)))
        images = self.draw(fixed_noise(64, 0), steps=SNAPSHOT_STEPS, sampler="ddim")
        return viz.image_grid(images, path, nrow=8)

    # -- figures -------------------------------------------------------------------------
    def figures(self, out):
        out = Path(out)
        paths = [
            self.forward_process(out / "forward.png"),
            self.reverse_process(out / "reverse.png"),
        ]
        if self.model.conditional:
            paths += [
                self.class_grid(out / "class_grid.png"),
                self.guidance_sweep(out / "guidance.png"),
            ]
        else:
            samples = self.draw(fixed_noise(64, 3))
            paths.append(viz.image_grid(samples, out / "samples.png", nrow=8))
        if (out / METRICS_FILE).is_file():
            metrics = json.loads((out / METRICS_FILE).read_text())
            if "fid_vs_steps" in metrics:
                paths.append(fid_vs_steps_plot(metrics, out / "fid_vs_steps.png"))
        return paths + samples_over_epochs(out)

    def forward_process(self, path, index=0):
        """One test digit x_0 and its draws of q(x_t | x_0) at FORWARD_STEPS, one row per
        schedule (the same noise in both rows)."""
        digit = mnist("test").arrays["image"][index : index + 1]
        x0 = sg.tensor(as_model_pixels(digit))
        noise = sg.tensor(
            numpy.random.default_rng(0).standard_normal(digit.shape).astype(numpy.float32)
        )
        rows = []
        for kind in ("linear", "cosine"):
            schedule = NoiseSchedule(kind, len(self.model.schedule))
            for t in FORWARD_STEPS:
                steps = numpy.array([min(t, len(schedule) - 1)])
                rows.append(losses.q_sample(x0, steps, noise, schedule).numpy())
        images = numpy.clip((numpy.concatenate(rows) + 1.0) / 2.0, 0.0, 1.0)
        title = "q(x_t | x_0) at t = " + ", ".join(str(t + 1) for t in FORWARD_STEPS)
        return viz.image_grid(
            images, path, nrow=len(FORWARD_STEPS), title=title, row_labels=["linear", "cosine"]
        )

    def reverse_process(self, path, seeds=4):
        """The reverse process of ``seeds`` starting points (DDIM with the model's steps,
        or its T ancestral steps): REVERSE_FRAMES frames of x_t from x_T to x_0 per row."""
        trajectory = []
        labels = numpy.arange(seeds) % CLASSES if self.model.conditional else None
        self.draw(fixed_noise(seeds, 4), labels, trajectory=trajectory)
        chosen = numpy.linspace(0, len(trajectory) - 1, REVERSE_FRAMES).round().astype(int)
        frames = numpy.stack([trajectory[i][1] for i in chosen], axis=1)  # (seeds, frames, ...)
        images = numpy.clip((frames.reshape(-1, 1, 28, 28) + 1.0) / 2.0, 0.0, 1.0)
        steps = ", ".join(str(trajectory[i][0] + 1) for i in chosen)
        title = f"x_T -> x_0 ({self.model.sampler}), frames after t = {steps}"
        return viz.image_grid(images, path, nrow=REVERSE_FRAMES, title=title)

    def class_grid(self, path, columns=10):
        x_T, labels = self.class_inputs(columns)
        images = self.draw(x_T, labels)
        title = f"one row per digit, guidance w = {self.model.guidance:g}"
        return viz.image_grid(
            images, path, nrow=columns, title=title, row_labels=list(range(CLASSES))
        )

    def guidance_sweep(self, path):
        """The digits 0..9 from the same x_T (seed 5) at each w of GUIDANCE_SWEEP, one row per w."""
        x_T = fixed_noise(CLASSES, 5)
        labels = numpy.arange(CLASSES)
        rows = [self.draw(x_T, labels, guidance=w) for w in GUIDANCE_SWEEP]
        return viz.image_grid(
            numpy.concatenate(rows),
            path,
            nrow=CLASSES,
            title="classifier-free guidance, the same x_T in every row",
            row_labels=[f"w={w:g}" for w in GUIDANCE_SWEEP],
        )

    # -- metrics -------------------------------------------------------------------------
    def eval_labels(self, n):
        return numpy.arange(n) % CLASSES if self.model.conditional else None

    def evaluate(self, classifier=None):
        test = mnist("test").arrays["image"]
        labels = self.eval_labels(EVAL_SAMPLES)
        samples = self.draw(fixed_noise(EVAL_SAMPLES, 1), labels)
        results = reference.sample_scores(samples, test, labels, classifier)
        results["fid_vs_steps"] = self.fid_sweep(test, classifier)
        return results | self.bound(test[:BOUND_IMAGES])

    def fid_sweep(self, test, classifier):
        """{"ddim_S": FID on SWEEP_SAMPLES for S in SWEEP_STEPS (up to T) and the model's
        own S, "ddim_S_few": the model's S and "ddpm_T_few": the T ancestral steps on
        FULL_SAMPLES}, the same x_T for all."""
        x_T = fixed_noise(SWEEP_SAMPLES, 2)
        labels = self.eval_labels(SWEEP_SAMPLES)
        timesteps, own_steps = len(self.model.schedule), self.model.steps
        sweep = {}
        for steps in sorted({s for s in SWEEP_STEPS if s <= timesteps} | {own_steps}):
            images = self.draw(x_T, labels, steps=steps, sampler="ddim")
            sweep[f"ddim_{steps}"] = reference.fid(images, test, classifier)
            if steps == own_steps:
                few = images[:FULL_SAMPLES]
                sweep[f"ddim_{steps}_few"] = reference.fid(few, test, classifier)
        few_labels = None if labels is None else labels[:FULL_SAMPLES]
        full = self.draw(x_T[:FULL_SAMPLES], few_labels, sampler="ddpm")
        sweep[f"ddpm_{len(self.model.schedule)}_few"] = reference.fid(full, test, classifier)
        return sweep

    def bound(self, digits):
        """The bound in bits per dimension on test digits (8-bit, in [0, 1]) and its parts."""
        network = self.model.network_ema
        x0 = sg.tensor(as_model_pixels(digits), device=self.model.device)
        with seeded(0), sg.no_grad():
            prior, kl_sum, decoder = bound_terms(
                network, self.model.schedule, x0, BOUND_STRATA, numpy.random.default_rng(0)
            )
        dims = numpy.prod(digits.shape[1:])
        return {
            "bound_bits_per_dim": float(bits_per_dim((prior + kl_sum + decoder).mean(), dims)),
            "bound_prior_bits_per_dim": float(bits_per_dim(prior.mean(), dims)),
            "bound_diffusion_bits_per_dim": float(bits_per_dim(kl_sum.mean(), dims)),
            "bound_decoder_bits_per_dim": float(bits_per_dim(decoder.mean(), dims)),
        }


def fid_vs_steps_plot(metrics, path):
    """FID against the number of sampling steps from an evaluation's ``fid_vs_steps``
    (log axis), with the noise calibration point and 1.5 x it as lines."""
    sweep = metrics["fid_vs_steps"]
    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    many = [
        (int(key.split("_")[1]), value) for key, value in sweep.items() if not key.endswith("few")
    ]
    few = [(int(key.split("_")[1]), value) for key, value in sweep.items() if key.endswith("few")]
    axes.plot(*zip(*sorted(many)), "o-", label=f"DDIM, {SWEEP_SAMPLES} samples")
    axes.plot(*zip(*sorted(few)), "s--", label=f"DDIM and ancestral DDPM, {FULL_SAMPLES} samples")
    calibration = metrics.get("fid_noise_calibration")
    if calibration is not None:
        axes.axhline(calibration, color="grey", linestyle=":", label="noise calibration")
        axes.axhline(1.5 * calibration, color="grey", linestyle="-.", label="1.5 x calibration")
    axes.set_xscale("log")
    axes.set_xlabel("sampling steps")
    axes.set_ylabel("FID (reference classifier)")
    axes.legend(fontsize=8)
    return save_figure(figure, path)
