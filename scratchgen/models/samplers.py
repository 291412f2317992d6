"""The reverse process: ancestral DDPM sampling (T steps) and DDIM (S steps, eta).

Both take ``eps_fn(x_t, t) -> eps_theta``, a noise predictor on a Tensor batch x_t and
0-based steps t (a NumPy int array, one per image), and a NoiseSchedule; both first
predict x_0 and clip it to [-1, 1] (``clip``), as Ho et al.'s sampler does:

    x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_bar_t)

DDPM (Ho et al., 2020), t = T .. 1, z ~ N(0, I), no noise at the last step:

    x_{t-1} = mu~(x0_hat, x_t) + sqrt(beta~_t) z

DDIM (Song et al., 2020) on a sub-sequence tau_S > ... > tau_1 of the steps, from t to the
next s (alpha_bar of the step "0" is 1), with eps re-derived from the clipped x0_hat:

    sigma^2 = eta^2 (1 - alpha_bar_s) / (1 - alpha_bar_t) (1 - alpha_bar_t / alpha_bar_s)
    x_s = sqrt(alpha_bar_s) x0_hat + sqrt(1 - alpha_bar_s - sigma^2) eps + sigma z

eta = 0 is deterministic: x_T fixes the image. With S = T and eta = 1, sigma^2 is beta~_t
and the step is DDPM's (tests/test_models_ddpm.py checks it in expectation).

Each streams a tqdm progress bar (``progress``); ``trajectory``, when given a list,
receives (t, x_t as NumPy) after every step, for the pictures of the reverse process.
"""

import numpy
from tqdm import tqdm

from scratchgen.creation import randn_like
from scratchgen.losses.diffusion import model_mean, predict_x0
from scratchgen.ops import clamp
from scratchgen.tensor import no_grad

SAMPLERS = ("ddpm", "ddim")


def ddim_steps(timesteps, steps):
    """The S 0-based steps DDIM visits, T-1 first and 0 last, evenly spaced."""
    if not isinstance(steps, int) or not 1 <= steps <= timesteps:
        raise ValueError(f"ddim: steps must be an int in 1..{timesteps}, got {steps!r}")
    return numpy.unique(numpy.linspace(0, timesteps - 1, steps).round().astype(int))[::-1]


def batch_steps(t, x):
    return numpy.full(x.shape[0], t, dtype=numpy.int64)


def clipped_x0(xt, eps, t, schedule, clip):
    x0_hat = predict_x0(xt, eps, t, schedule)
    return clamp(x0_hat, -1.0, 1.0) if clip else x0_hat


def ddpm_step(xt, eps, t, schedule, noise, clip=True):
    """x_{t-1} from x_t at the 0-based step t (an int) and the predicted noise eps:
    mu~(x0_hat, x_t) + sqrt(beta~_t) noise, and no noise at t = 0."""
    steps = batch_steps(t, xt)
    mean = model_mean(xt, eps, steps, schedule, clip=clip)
    if t == 0:
        return mean
    return mean + noise * float(numpy.sqrt(schedule.posterior_variance[t]))


def ddim_step(xt, eps, t, s, schedule, noise, eta=0.0, clip=True):
    """x_s from x_t (0-based steps, s < t; s = -1 is the data, alpha_bar = 1)."""
    x0_hat = clipped_x0(xt, eps, batch_steps(t, xt), schedule, clip)
    alpha_bar_t = float(schedule.alpha_bar[t])
    alpha_bar_s = float(schedule.alpha_bar[s]) if s >= 0 else 1.0
    eps = (xt - x0_hat * alpha_bar_t**0.5) * (1.0 - alpha_bar_t) ** -0.5
    variance = eta**2 * (1 - alpha_bar_s) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_s)
    direction = max(1.0 - alpha_bar_s - variance, 0.0) ** 0.5
    x_s = x0_hat * alpha_bar_s**0.5 + eps * direction
    return x_s + noise * variance**0.5 if variance > 0 else x_s


def ddpm_sample(eps_fn, x_T, schedule, clip=True, progress=True, trajectory=None):
    """x_0 by the T ancestral steps from x_T (a Tensor of N(0, I) noise)."""
    x = x_T
    with no_grad():
        for t in tqdm(range(len(schedule) - 1, -1, -1), desc="ddpm", disable=not progress):
            eps = eps_fn(x, batch_steps(t, x))
            noise = randn_like(x) if t > 0 else None
            x = ddpm_step(x, eps, t, schedule, noise, clip)
            record(trajectory, t, x)
    return x


def ddim_sample(eps_fn, x_T, schedule, steps, eta=0.0, clip=True, progress=True, trajectory=None):
    """x_0 by S DDIM steps from x_T (a Tensor of N(0, I) noise)."""
    visited = ddim_steps(len(schedule), steps)
    following = list(visited[1:]) + [-1]
    x = x_T
    with no_grad():
        for t, s in tqdm(list(zip(visited, following)), desc="ddim", disable=not progress):
            eps = eps_fn(x, batch_steps(t, x))
            noise = randn_like(x) if eta > 0 else None
            x = ddim_step(x, eps, int(t), int(s), schedule, noise, eta, clip)
            record(trajectory, int(t), x)
    return x


def record(trajectory, t, x):
    if trajectory is not None:
        trajectory.append((t, x.numpy()))
