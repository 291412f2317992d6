"""sg.losses.diffusion: the schedules, q(x_t | x_0) against T sequential noising steps, the
posterior against Bayes' rule, the bound's terms (>= 0, gradchecks, torch twins) and the
simplified loss."""

import math

import numpy as np
import pytest
from helpers import check_gradient, check_op, sg_constant, torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays

import scratchgen as sg
from scratchgen import losses
from scratchgen.losses import diffusion
from scratchgen.losses.diffusion import NoiseSchedule

KINDS = ["linear", "cosine"]
SCHEDULES = {kind: NoiseSchedule(kind) for kind in KINDS}
rng = np.random.default_rng(0)
X0 = rng.uniform(-1, 1, size=(3, 1, 2, 2))
XT = rng.normal(0, 1, size=(3, 1, 2, 2))
STEPS = np.array([1, 40, 999])


def grid_pixels(shape, seed=0):
    """Pixels on the 256-level grid of [-1, 1], both edges included."""
    levels = np.random.default_rng(seed).integers(0, 256, size=shape)
    levels.flat[:2] = [0, 255]
    return levels / 127.5 - 1.0


# ----------------------------------------------------------------------------------
# the schedules
# ----------------------------------------------------------------------------------


@given(kind=st.sampled_from(KINDS), timesteps=st.integers(2, 2000))
def test_alpha_bar_falls_strictly_inside_zero_one(kind, timesteps):
    schedule = NoiseSchedule(kind, timesteps)
    assert np.all((schedule.alpha_bar > 0) & (schedule.alpha_bar < 1))
    assert np.all(np.diff(schedule.alpha_bar) < 0)
    assert np.all((schedule.betas > 0) & (schedule.betas < 1))
    np.testing.assert_allclose(np.cumprod(1 - schedule.betas), schedule.alpha_bar)


def test_the_schedules_of_the_papers():
    linear, cosine = SCHEDULES["linear"], SCHEDULES["cosine"]
    assert linear.betas[0] == pytest.approx(1e-4) and linear.betas[-1] == pytest.approx(0.02)
    assert linear.alpha_bar[-1] == pytest.approx(4.04e-5, rel=0.01)
    # cosine: alpha_bar(t) = cos^2(((t / T) + s) / (1 + s) pi / 2) / cos^2(s / (1 + s) pi / 2)
    t = np.array([1, 250, 500, 750])
    f = np.cos((t / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2 / np.cos(0.008 / 1.008 * np.pi / 2) ** 2
    np.testing.assert_allclose(cosine.alpha_bar[t - 1], f, rtol=1e-9)
    assert cosine.alpha_bar[499] == pytest.approx(0.5, abs=0.02)  # half signal at T / 2
    assert linear.alpha_bar[499] < 0.1  # the linear one destroys the digit sooner


def test_schedule_errors():
    with pytest.raises(ValueError, match=r"NoiseSchedule: kind must be one of .*got 'quad'"):
        NoiseSchedule("quad")
    with pytest.raises(ValueError, match=r"NoiseSchedule: timesteps must be an int >= 2, got 1"):
        NoiseSchedule("linear", 1)
    x = sg.zeros(2, 1)
    with pytest.raises(ValueError, match=r"q_sample: expected steps in 0..999, got 0..1000"):
        losses.q_sample(x, np.array([0, 1000]), x, SCHEDULES["linear"])
    with pytest.raises(ValueError, match=r"q_sample: expected 2 integer steps"):
        losses.q_sample(x, np.array([0.5, 1.0]), x, SCHEDULES["linear"])


# ----------------------------------------------------------------------------------
# the forward process
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_closed_form_matches_t_sequential_noising_steps(kind):
    """x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps_t, T times, for 20,000 chains from
    two pixels: the sample mean and variance at several t lie within 4.5 standard errors
    of q(x_t | x_0)'s, read from q_sample (noise 0 gives the mean, noise 1 adds the std)."""
    schedule, draws = SCHEDULES[kind], 20_000
    x0 = np.array([0.8, -0.4])
    chains = np.tile(x0, (draws, 1))
    noise_rng = np.random.default_rng(1)
    checked = {10: None, 300: None, 999: None}
    for t in range(len(schedule)):
        chains = chains * math.sqrt(1 - schedule.betas[t]) + math.sqrt(
            schedule.betas[t]
        ) * noise_rng.standard_normal(chains.shape)
        if t in checked:
            checked[t] = chains.copy()
    x0_tensor = sg.tensor(x0[None], dtype=sg.float64)
    for t, samples in checked.items():
        steps = np.array([t])
        mean = losses.q_sample(x0_tensor, steps, sg.zeros_like(x0_tensor), schedule).numpy()[0]
        std = losses.q_sample(x0_tensor, steps, sg.ones_like(x0_tensor), schedule).numpy()[0] - mean
        variance = std**2
        mean_error = np.sqrt(variance / draws)
        variance_error = variance * np.sqrt(2.0 / (draws - 1))
        assert np.all(np.abs(samples.mean(0) - mean) < 4.5 * mean_error), t
        assert np.all(np.abs(samples.var(0, ddof=1) - variance) < 4.5 * variance_error), t


def test_q_sample_gradient_and_coefficients(device):
    schedule = SCHEDULES["cosine"]
    noise = rng.standard_normal(X0.shape)
    check_gradient(lambda x, e: losses.q_sample(x, STEPS, e, schedule), [X0, noise], device)
    out = losses.q_sample(sg.tensor(X0), STEPS, sg.tensor(noise), schedule).numpy()
    ab = schedule.alpha_bar[STEPS][:, None, None, None]
    np.testing.assert_allclose(out, np.sqrt(ab) * X0 + np.sqrt(1 - ab) * noise)


# ----------------------------------------------------------------------------------
# the posterior
# ----------------------------------------------------------------------------------


@given(
    kind=st.sampled_from(KINDS),
    t=st.integers(1, 999),
    x0=arrays((1, 3), -1, 1),
    xt=arrays((1, 3), -3, 3),
)
def test_posterior_is_bayes_rule_of_the_two_gaussians(kind, t, x0, xt):
    """q(x_{t-1} | x_t, x_0) ~ q(x_t | x_{t-1}) q(x_{t-1} | x_0): the product of
    N(x_t; sqrt(alpha_t) x_{t-1}, beta_t) and N(x_{t-1}; sqrt(alpha_bar_{t-1}) x_0,
    1 - alpha_bar_{t-1}) has precision alpha_t / beta_t + 1 / (1 - alpha_bar_{t-1})."""
    schedule = SCHEDULES[kind]
    alpha, beta, ab_prev = schedule.alphas[t], schedule.betas[t], schedule.alpha_bar_prev[t]
    precision = alpha / beta + 1.0 / (1.0 - ab_prev)
    expected_mean = (np.sqrt(alpha) * xt / beta + np.sqrt(ab_prev) * x0 / (1 - ab_prev)) / precision
    mean, variance, log_variance = losses.q_posterior(
        sg.tensor(x0), sg.tensor(xt), np.array([t]), schedule
    )
    np.testing.assert_allclose(mean.numpy(), expected_mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(variance.numpy().ravel(), 1.0 / precision, rtol=1e-9)
    np.testing.assert_allclose(np.exp(log_variance.numpy()).ravel(), 1.0 / precision, rtol=1e-9)


def test_posterior_formulas_and_the_decoder_width():
    schedule = SCHEDULES["linear"]
    t = STEPS
    mean, variance, log_variance = losses.q_posterior(sg.tensor(X0), sg.tensor(XT), t, schedule)
    ab, ab_prev = schedule.alpha_bar[t], schedule.alpha_bar_prev[t]
    beta, alpha = schedule.betas[t], schedule.alphas[t]
    shape = (-1, 1, 1, 1)
    expected = (np.sqrt(ab_prev) * beta / (1 - ab)).reshape(shape) * X0 + (
        np.sqrt(alpha) * (1 - ab_prev) / (1 - ab)
    ).reshape(shape) * XT
    np.testing.assert_allclose(mean.numpy(), expected)
    np.testing.assert_allclose(variance.numpy().ravel(), (1 - ab_prev) / (1 - ab) * beta)
    # beta~_1 = 0 (x_0 is known given x_1 and x_0); the decoder takes beta~_2's width
    assert schedule.posterior_variance[0] == 0.0
    assert schedule.posterior_log_variance[0] == pytest.approx(
        np.log(schedule.posterior_variance[1])
    )


# ----------------------------------------------------------------------------------
# the losses and the bound's terms
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_simple_loss_is_mse_against_torch(device, reduction):
    eps = rng.standard_normal(X0.shape)
    check_op(
        lambda p, e: losses.simple_loss(p, e, reduction),
        lambda p, e: torch.nn.functional.mse_loss(p, e, reduction=reduction),
        [XT, eps],
        device,
    )
    per_example = losses.simple_loss(sg.tensor(XT), sg.tensor(eps), reduction="none").numpy()
    np.testing.assert_allclose(per_example, ((XT - eps) ** 2).reshape(3, -1).mean(1))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("kind", KINDS)
def test_min_snr_loss_against_torch(device, reduction, kind):
    """Weighted per-example MSE; gradcheck with a random upstream gradient (check_op)."""
    schedule, eps = SCHEDULES[kind], rng.standard_normal(X0.shape)
    weights = losses.min_snr_weights(STEPS, schedule, 5.0)

    def theirs(p, e):
        per = ((p - e) ** 2).mean(dim=(1, 2, 3)) * torch.tensor(weights, dtype=p.dtype)
        return per.mean() if reduction == "mean" else per.sum()

    check_op(
        lambda p, e: losses.min_snr_loss(p, e, STEPS, schedule, 5.0, reduction),
        theirs,
        [XT, eps],
        device,
    )


@given(kind=st.sampled_from(KINDS), gamma=st.floats(0.1, 20.0))
def test_min_snr_weights_rise_with_t_to_one_where_the_snr_is_below_gamma(kind, gamma):
    schedule = SCHEDULES[kind]
    t = np.arange(len(schedule))
    weights = losses.min_snr_weights(t, schedule, gamma)
    snr = schedule.alpha_bar / (1 - schedule.alpha_bar)
    assert np.all((weights > 0) & (weights <= 1.0))
    assert np.all(np.diff(weights) >= -1e-12)  # SNR falls with t, so the weight rises
    np.testing.assert_array_equal(weights[snr <= gamma], 1.0)
    np.testing.assert_allclose(weights[snr > gamma], gamma / snr[snr > gamma])


@given(pred=arrays((3, 1, 2, 2), -3, 3), gamma=st.floats(0.1, 20.0))
def test_min_snr_loss_is_the_simple_loss_once_gamma_passes_every_snr(pred, gamma):
    """Below the weights it is L_simple per example; with gamma above every SNR, L_simple."""
    schedule, eps = SCHEDULES["linear"], sg.tensor(XT)
    per = losses.min_snr_loss(sg.tensor(pred), eps, STEPS, schedule, gamma, "none").numpy()
    plain = losses.simple_loss(sg.tensor(pred), eps, reduction="none").numpy()
    np.testing.assert_allclose(per, plain * losses.min_snr_weights(STEPS, schedule, gamma))
    huge = 2 * (schedule.alpha_bar / (1 - schedule.alpha_bar)).max()
    unweighted = losses.min_snr_loss(sg.tensor(pred), eps, STEPS, schedule, huge).item()
    assert unweighted == pytest.approx(losses.simple_loss(sg.tensor(pred), eps).item())


def test_min_snr_loss_refuses_a_bad_gamma_or_steps():
    schedule, x = SCHEDULES["linear"], sg.tensor(XT)
    with pytest.raises(ValueError, match="min_snr_weights: expected gamma > 0, got 0"):
        losses.min_snr_loss(x, x, STEPS, schedule, 0.0)
    with pytest.raises(ValueError, match="min_snr_loss: expected steps in 0..999, got 1..1000"):
        losses.min_snr_loss(x, x, np.array([1, 40, 1000]), schedule)


def test_normal_kl_against_torch_distributions(device):
    m1, v1, m2, v2 = (rng.normal(0, 1, size=(2, 3)) for _ in range(4))

    def theirs(a, la, b, lb):
        normal = torch.distributions.Normal
        return torch.distributions.kl_divergence(
            normal(a, (la / 2).exp()), normal(b, (lb / 2).exp())
        )

    check_op(losses.normal_kl, theirs, [m1, v1, m2, v2], device)


@given(arrays((2, 3), -4, 4), arrays((2, 3), -4, 4), arrays((2, 3), -4, 4), arrays((2, 3), -4, 4))
def test_normal_kl_is_nonnegative_and_zero_at_equality(m1, v1, m2, v2):
    kl = losses.normal_kl(*(sg.tensor(a) for a in (m1, v1, m2, v2))).numpy()
    assert np.all(kl >= -1e-12)
    same = losses.normal_kl(*(sg.tensor(a) for a in (m1, v1, m1, v1))).numpy()
    np.testing.assert_allclose(same, 0.0, atol=1e-12)


@given(mean=st.floats(-1.2, 1.2), log_scale=st.floats(-6, 1))
def test_discretized_bins_sum_to_one_and_cost_at_least_zero(mean, log_scale):
    x = sg.tensor(np.linspace(-1, 1, 256).reshape(1, 256))
    nll = diffusion.discretized_gaussian_nll(
        x, sg.full((1, 256), mean, dtype=sg.float64), sg.full((1, 256), log_scale, dtype=sg.float64)
    ).numpy()
    assert np.all(nll >= 0) and np.all(np.isfinite(nll))
    assert np.exp(-nll).sum() == pytest.approx(1.0, abs=1e-6)


def test_discretized_nll_gradient_and_normal_cdf(device):
    x = grid_pixels((2, 4))
    mean = rng.uniform(-1, 1, size=(2, 4))
    log_scale = rng.uniform(-3, -1, size=(2, 4))

    def nll(m, s):
        return diffusion.discretized_gaussian_nll(sg_constant(x, m), m, s)

    check_gradient(nll, [mean, log_scale], device)
    grid = np.linspace(-4, 4, 81)
    exact = 0.5 * (1 + np.vectorize(math.erf)(grid / np.sqrt(2)))
    approx = diffusion.approx_standard_normal_cdf(sg.tensor(grid)).numpy()
    assert np.abs(approx - exact).max() < 2e-4


@pytest.mark.parametrize("kind", KINDS)
def test_each_bound_term_is_nonnegative_with_gradients(kind, device):
    schedule = SCHEDULES[kind]
    x0 = grid_pixels((3, 1, 2, 2))
    guess = rng.normal(0, 0.5, size=x0.shape)
    steps = np.array([1, 500, 999])
    prior = losses.prior_kl(sg.tensor(x0), schedule, reduction="none").numpy()
    assert np.all(prior >= 0) and prior.max() < 1e-3  # alpha_bar_T is tiny
    kl = losses.gaussian_kl_terms(
        sg.tensor(x0), sg.tensor(XT), steps, sg.tensor(guess), schedule, "none"
    )
    decoder = losses.decoder_nll(sg.tensor(x0), sg.tensor(guess), schedule, "none")
    assert np.all(kl.numpy() >= 0) and np.all(decoder.numpy() >= 0)
    # the KL vanishes for the true posterior mean; the decoder is cheapest at x_0
    true_mean = losses.q_posterior(sg.tensor(x0), sg.tensor(XT), steps, schedule)[0]
    zero = losses.gaussian_kl_terms(
        sg.tensor(x0), sg.tensor(XT), steps, true_mean, schedule, "none"
    )
    np.testing.assert_allclose(zero.numpy(), 0.0, atol=1e-9)
    best = losses.decoder_nll(sg.tensor(x0), sg.tensor(x0), schedule, "none").numpy()
    assert np.all(best < decoder.numpy())
    check_gradient(
        lambda m: losses.gaussian_kl_terms(
            sg_constant(x0, m), sg_constant(XT, m), steps, m, schedule
        ),
        [guess],
        device,
    )
    check_gradient(lambda m: losses.decoder_nll(sg_constant(x0, m), m, schedule), [guess], device)


def test_kl_term_is_the_weighted_noise_error():
    """With mu_theta written through eps_theta, L_{t-1} = beta_t^2 / (2 beta~_t alpha_t
    (1 - alpha_bar_t)) ||eps - eps_theta||^2 (Ho et al., eq. 12): the ELBO is a weighted
    L_simple."""
    schedule = SCHEDULES["linear"]
    x0, eps, eps_theta = (rng.normal(0, 1, size=(3, 1, 2, 2)) for _ in range(3))
    steps = np.array([1, 100, 900])
    xt = losses.q_sample(sg.tensor(x0), steps, sg.tensor(eps), schedule)
    mean = diffusion.model_mean(xt, sg.tensor(eps_theta), steps, schedule)
    kl = losses.gaussian_kl_terms(sg.tensor(x0), xt, steps, mean, schedule, "none").numpy()
    beta, alpha, ab = schedule.betas[steps], schedule.alphas[steps], schedule.alpha_bar[steps]
    weight = beta**2 / (2 * schedule.posterior_variance[steps] * alpha * (1 - ab))
    np.testing.assert_allclose(kl, weight * ((eps - eps_theta) ** 2).reshape(3, -1).sum(1))


def test_bits_per_dim_and_term_errors():
    assert diffusion.bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)
    x = sg.zeros(2, 1)
    with pytest.raises(ValueError, match="gaussian_kl_terms: expected steps t >= 1"):
        losses.gaussian_kl_terms(x, x, np.array([0, 3]), x, SCHEDULES["linear"])
