"""sg.losses: gradchecks and torch twins of every loss, and the maths as properties.

VAE: KL >= 0 (= 0 only at the prior), closed-form KL = Monte-Carlo KL, the pathwise
gradient of the reparameterisation, and the order ELBO = E[L_1] <= E[L_k] <= log p(x) of
the importance-weighted bound, against log p(x) integrated numerically for a 1-D latent.
GAN: the minimax discriminator's optimum p_data / (p_data + p_g), the non-saturating
generator's gradient where the minimax one vanishes, finiteness for huge logits, and the
gradient penalties' double backward (gradcheck, gradgradcheck, torch).
"""

import math

import numpy as np
import pytest
from helpers import check_against_torch, check_gradient, check_op, to_sg, torch
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import arrays

import scratchgen as sg
from scratchgen import losses, nn

REDUCTIONS = ["mean", "sum", "none"]

rng = np.random.default_rng(0)
LOGITS = rng.normal(0, 2, size=(3, 1, 2, 2))
PIXELS = rng.uniform(0, 1, size=(3, 1, 2, 2))
MU = rng.normal(0, 1, size=(3, 4))
LOGVAR = rng.normal(0, 1, size=(3, 4))
EPS = rng.standard_normal((3, 4))


def tf():
    """torch.nn.functional (called only where torch is installed)."""
    return torch.nn.functional


def torch_per_example(losses_, reduction):
    """The torch twin of the module's reduction: sum over non-batch axes, then reduce."""
    per_example = losses_.reshape(losses_.shape[0], -1).sum(1)
    if reduction == "none":
        return per_example
    return per_example.sum() if reduction == "sum" else per_example.mean()


def torch_kl(mu, logvar, reduction):
    return torch_per_example(0.5 * (mu**2 + logvar.exp() - 1 - logvar), reduction)


def torch_bernoulli(logits, target, reduction):
    pixels = tf().binary_cross_entropy_with_logits(logits, target, reduction="none")
    return torch_per_example(pixels, reduction)


def away_from_kinks(values, kinks=(-1.0, 1.0), margin=0.05):
    """values pushed at least margin away from the kinks (hinge: relu(1 -+ logit))."""
    values = values.copy()
    for kink in kinks:
        near = np.abs(values - kink) < margin
        values[near] = kink + 2 * margin * np.where(values[near] >= kink, 1, -1)
    return values


# ----------------------------------------------------------------------------------
# VAE losses against torch (float64 gradcheck with a random upstream + torch twins)
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bernoulli_reconstruction_matches_torch(device, reduction):
    check_op(
        lambda logits, x: losses.bernoulli_reconstruction(logits, x, reduction),
        lambda logits, x: torch_bernoulli(logits, x, reduction),
        [LOGITS, PIXELS],
        device,
    )
    check_against_torch(
        lambda logits, x: losses.bernoulli_reconstruction(logits, x, reduction),
        lambda logits, x: torch_bernoulli(logits, x, reduction),
        [LOGITS, PIXELS],
        device,
        dtype=np.float32,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_reconstruction_matches_torch(device, reduction):
    check_op(
        lambda xh, x: losses.gaussian_reconstruction(xh, x, reduction),
        lambda xh, x: torch_per_example((xh - x) ** 2, reduction),
        [LOGITS, PIXELS],
        device,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_kl_matches_torch(device, reduction):
    check_op(
        lambda m, lv: losses.gaussian_kl(m, lv, reduction),
        lambda m, lv: torch_kl(m, lv, reduction),
        [MU, LOGVAR],
        device,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.25])
def test_negative_elbo_is_reconstruction_plus_beta_kl(device, reduction, beta):
    mu, logvar = MU[:, :2], LOGVAR[:, :2]  # 3 examples, latent 2, 4 pixels each

    def torch_loss(logits, x, m, lv):
        return torch_bernoulli(logits, x, reduction) + beta * torch_kl(m, lv, reduction)

    check_op(
        lambda logits, x, m, lv: losses.negative_elbo(logits, x, m, lv, beta, reduction),
        torch_loss,
        [LOGITS, PIXELS, mu, logvar],
        device,
    )
    ours = to_sg([LOGITS, PIXELS, mu, logvar], device, requires_grad=False)
    np.testing.assert_allclose(
        losses.elbo(*ours, beta=beta, reduction=reduction).numpy(),
        -losses.negative_elbo(*ours, beta=beta, reduction=reduction).numpy(),
    )


def test_reparameterize_matches_torch(device):
    check_op(
        losses.reparameterize,
        lambda m, lv, e: m + torch.exp(0.5 * lv) * e,
        [MU, LOGVAR, EPS],
        device,
    )


# ----------------------------------------------------------------------------------
# VAE properties
# ----------------------------------------------------------------------------------


@given(arrays((2, 3), -5, 5), arrays((2, 3), -5, 5), st.sampled_from([1e-3, 1.0]))
def test_kl_is_nonnegative_and_zero_only_at_the_prior(device, mu, logvar, scale):
    kl = losses.gaussian_kl(
        sg.tensor(mu * scale, device=device), sg.tensor(logvar * scale, device=device), "none"
    ).numpy()
    # away from the prior (every draw is) it is strictly positive, and at least |mu|^2 / 2
    assert (kl > 0).all()
    assert (kl >= 0.5 * ((mu * scale) ** 2).sum(1) * (1 - 1e-12)).all()


def test_kl_is_zero_at_the_prior(device):
    zeros = sg.zeros(4, 3, dtype=sg.float64, device=device)
    assert losses.gaussian_kl(zeros, zeros, "sum").item() == 0.0


@settings(derandomize=True)  # a 4-standard-error test: the same draws on every run
@given(arrays((1, 3), -2, 2), arrays((1, 3), -2, 2))
def test_closed_form_kl_matches_monte_carlo(device, mu, logvar):
    """KL = E_q[log q(z) - log p(z)], estimated from 20,000 draws, within 4 standard errors."""
    n = 20_000
    eps = np.random.default_rng(1).standard_normal((n, 3))
    z = losses.reparameterize(
        sg.tensor(np.repeat(mu, n, 0), device=device),
        sg.tensor(np.repeat(logvar, n, 0), device=device),
        sg.tensor(eps, device=device),
    ).numpy()
    # log N(z; mu, e^logvar) - log N(z; 0, 1), with (z - mu) / sigma = eps
    log_ratio = (0.5 * (z**2 - eps**2 - logvar)).sum(1)
    estimate = log_ratio.mean()
    standard_error = log_ratio.std(ddof=1) / math.sqrt(n)
    closed_form = losses.gaussian_kl(
        sg.tensor(mu, device=device), sg.tensor(logvar, device=device)
    ).item()
    assert abs(estimate - closed_form) <= 4 * standard_error + 1e-12


@given(arrays((2, 3)), arrays((2, 3)), arrays((2, 3)))
def test_reparameterization_pathwise_gradient_is_the_finite_difference(device, mu, logvar, eps):
    """With eps held fixed, z(mu, logvar) is deterministic: its gradient (through a
    nonlinearity, random upstream) equals central differences, and the closed form."""
    noise = sg.tensor(eps, device=device)
    check_gradient(lambda m, lv: sg.tanh(losses.reparameterize(m, lv, noise)), [mu, logvar], device)
    m, lv = to_sg([mu, logvar], device)
    upstream = sg.tensor(np.random.default_rng(2).standard_normal(mu.shape), device=device)
    losses.reparameterize(m, lv, noise).backward(upstream)
    np.testing.assert_allclose(m.grad.numpy(), upstream.numpy())
    np.testing.assert_allclose(
        lv.grad.numpy(), upstream.numpy() * 0.5 * np.exp(0.5 * logvar) * eps, rtol=1e-12
    )


def test_reparameterize_draws_from_the_posterior(device):
    n = 20_000
    mu = sg.tensor(np.tile([[1.0, -2.0]], (n, 1)), device=device)
    logvar = sg.tensor(np.tile([[0.0, math.log(4.0)]], (n, 1)), device=device)
    sg.manual_seed(3)
    z = losses.reparameterize(mu, logvar).numpy()
    sigma = np.array([1.0, 2.0])
    assert (np.abs(z.mean(0) - [1.0, -2.0]) <= 4 * sigma / math.sqrt(n)).all()
    np.testing.assert_allclose(z.std(0), sigma, rtol=0.03)
    sg.manual_seed(3)
    np.testing.assert_array_equal(losses.reparameterize(mu, logvar).numpy(), z)


@pytest.mark.parametrize("dtype", [sg.float32, sg.float64])
def test_vae_losses_finite_for_extreme_inputs(device, dtype):
    big = np.array([[1e4, -1e4, 3.0, -1e4]]).repeat(2, 0)
    target = np.array([[0.0, 1.0, 0.5, 0.0]]).repeat(2, 0)
    logits = sg.tensor(big, dtype=dtype, device=device, requires_grad=True)
    recon = losses.bernoulli_reconstruction(logits, sg.tensor(target, dtype=dtype, device=device))
    # 1e4 against 0 and -1e4 against 1 cost 1e4 nats each; -1e4 against 0 costs ~nothing
    assert np.isfinite(recon.item()) and recon.item() == pytest.approx(2e4 + 1.5486, rel=1e-6)
    recon.backward()
    assert np.isfinite(logits.grad.numpy()).all()

    mu = sg.tensor(np.array([[0.0, 1e3, -1e3]]), dtype=dtype, device=device, requires_grad=True)
    logvar = sg.tensor(np.array([[-50.0, 50.0, 0.0]]), dtype=dtype, device=device)
    logvar.requires_grad_()
    kl = losses.gaussian_kl(mu, logvar)
    kl.backward()
    assert np.isfinite(kl.item())
    assert np.isfinite(mu.grad.numpy()).all() and np.isfinite(logvar.grad.numpy()).all()


def test_vae_losses_reject_bad_input(device):
    a, b = sg.zeros(2, 3, device=device), sg.zeros(2, 4, device=device)
    with pytest.raises(ValueError, match=r"gaussian_kl: expected logvar of the mu's shape"):
        losses.gaussian_kl(a, b)
    with pytest.raises(ValueError, match="bernoulli_reconstruction: expected target"):
        losses.bernoulli_reconstruction(a, b)
    with pytest.raises(ValueError, match="gaussian_reconstruction: expected a batch"):
        losses.gaussian_reconstruction(sg.tensor(1.0), sg.tensor(1.0))
    with pytest.raises(ValueError, match="negative_elbo: reduction must be"):
        losses.negative_elbo(a, a, a, a, reduction="batchmean")
    with pytest.raises(ValueError, match="reparameterize: expected eps"):
        losses.reparameterize(a, a, b)


# ----------------------------------------------------------------------------------
# the importance-weighted bound on a tiny VAE with a 1-D latent
# ----------------------------------------------------------------------------------

PIXEL_COUNT = 5


class TinyVAE(nn.Module):
    """Encoder x (N, 5) -> (mu, logvar) (N, 1) and decoder z (N, 1) -> logits (N, 5), both
    linear, with fixed weights large enough that q(z|x) is far from p(z|x)."""

    def __init__(self, device):
        super().__init__()
        weights = np.random.default_rng(4)
        self.encoder_weight = nn.Parameter(
            sg.tensor(weights.normal(0, 0.7, (PIXEL_COUNT, 2)), device=device)
        )
        self.encoder_bias = nn.Parameter(sg.tensor([0.3, -0.5], dtype=sg.float64, device=device))
        self.decoder_weight = nn.Parameter(
            sg.tensor(weights.normal(0, 2.0, (1, PIXEL_COUNT)), device=device)
        )
        self.decoder_bias = nn.Parameter(
            sg.tensor(weights.normal(0, 1.0, PIXEL_COUNT), device=device)
        )
        self.modes_seen = []

    def encode(self, x):
        self.modes_seen.append(self.training)
        h = x @ self.encoder_weight + self.encoder_bias
        return h[:, :1], h[:, 1:]

    def decode(self, z):
        return z @ self.decoder_weight + self.decoder_bias

    def exact_bounds(self, x):
        """(log p(x), ELBO) per example by quadrature over z on a fine grid."""
        z = np.linspace(-15, 15, 30_001)[:, None, None]  # (grid, 1, 1)
        step = 30 / 30_000
        logits = z * self.decoder_weight.numpy()[0] + self.decoder_bias.numpy()  # (grid, 1, 5)
        log_likelihood = -((1 - x) * logits + np.logaddexp(0, -logits)).sum(-1)  # (grid, N)
        log_prior = -0.5 * z[:, :, 0] ** 2 - 0.5 * math.log(2 * math.pi)
        log_joint = log_likelihood + log_prior
        log_evidence = np.logaddexp.reduce(log_joint, axis=0) + math.log(step)
        h = x @ self.encoder_weight.numpy() + self.encoder_bias.numpy()
        mu, logvar = h[:, 0], h[:, 1]
        log_q = -0.5 * (z[:, :, 0] - mu) ** 2 / np.exp(logvar) - 0.5 * (
            logvar + math.log(2 * math.pi)
        )
        q = np.exp(log_q) * step
        elbo = (q * (log_joint - log_q)).sum(0)
        return log_evidence, elbo


def test_iwae_bound_lies_between_the_elbo_and_the_log_likelihood(device):
    model = TinyVAE(device)
    examples = np.random.default_rng(5).integers(0, 2, (8, PIXEL_COUNT)).astype(np.float64)
    log_evidence, elbo = model.exact_bounds(examples)
    repeats = 200
    x = sg.tensor(np.tile(examples, (repeats, 1)), device=device)
    sg.manual_seed(6)
    means, errors = {}, {}
    for k in (1, 4, 16, 64):
        bounds = losses.iwae_bound(model, x, k=k, batch_size=400, reduction="none")
        per_example = bounds.numpy().reshape(repeats, len(examples)) - elbo  # above the ELBO
        means[k] = per_example.mean()
        errors[k] = per_example.mean(1).std(ddof=1) / math.sqrt(repeats)
    gap = (log_evidence - elbo).mean()  # log p(x) - ELBO > 0: q is not the posterior
    assert gap > 0.1
    assert abs(means[1]) <= 4 * errors[1]  # E[L_1] = ELBO
    assert means[1] < means[4] < means[16] < means[64]  # rises with k
    assert means[64] - 4 * errors[64] > 0.5 * gap  # well above the ELBO...
    assert means[64] <= gap + 4 * errors[64]  # ...and below log p(x)
    # the number reported beside the negative ELBO: -L_64 <= -ELBO on average
    sg.manual_seed(7)
    mu, logvar = model.encode(x)
    z = losses.reparameterize(mu, logvar)
    negative_elbo = losses.negative_elbo(model.decode(z), x, mu, logvar).item()
    assert -means[64] - elbo.mean() < negative_elbo


def test_iwae_bound_evaluates_in_eval_mode_without_a_graph(device):
    model = TinyVAE(device)
    x = sg.tensor(np.ones((5, PIXEL_COUNT)), device=device)
    sg.manual_seed(8)
    per_example = losses.iwae_bound(model, x, k=3, batch_size=2, reduction="none")
    assert per_example.shape == (5,) and not per_example.requires_grad
    assert model.modes_seen == [False, False, False] and model.training  # restored
    sg.manual_seed(8)
    mean = losses.iwae_bound(model, x, k=3, batch_size=2)
    assert mean.shape == () and mean.item() == pytest.approx(per_example.numpy().mean())
    with pytest.raises(ValueError, match="iwae_bound: expected k >= 1"):
        losses.iwae_bound(model, x, k=0)


# ----------------------------------------------------------------------------------
# GAN losses against torch
# ----------------------------------------------------------------------------------

REAL = away_from_kinks(rng.normal(0, 2, size=(4, 1)))
FAKE = away_from_kinks(rng.normal(0, 2, size=(5, 1)))
PATCH_REAL = away_from_kinks(rng.normal(0, 2, size=(2, 1, 3, 3)))
PATCH_FAKE = away_from_kinks(rng.normal(0, 2, size=(2, 1, 3, 3)))


def torch_bce(logits, target_value):
    return tf().binary_cross_entropy_with_logits(logits, torch.full_like(logits, target_value))


def torch_discriminator_loss(r, f, kind, smoothing):
    if kind in ("minimax", "non_saturating"):
        return torch_bce(r, 1 - smoothing) + torch_bce(f, 0.0)
    if kind == "lsgan":
        return 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean()
    return torch.relu(1 - r).mean() + torch.relu(1 + f).mean()


def torch_generator_loss(f, kind):
    return {
        "minimax": lambda: -torch_bce(f, 0.0),
        "non_saturating": lambda: torch_bce(f, 1.0),
        "lsgan": lambda: 0.5 * ((f - 1) ** 2).mean(),
        "hinge": lambda: -f.mean(),
    }[kind]()


DISCRIMINATOR_CASES = [(kind, 0.0) for kind in losses.GAN_KINDS] + [
    ("minimax", 0.1),
    ("non_saturating", 0.2),
]


@pytest.mark.parametrize("kind, smoothing", DISCRIMINATOR_CASES)
@pytest.mark.parametrize("shapes", ["vector", "patches"])
def test_discriminator_loss_matches_torch(device, kind, smoothing, shapes):
    real, fake = (REAL, FAKE) if shapes == "vector" else (PATCH_REAL, PATCH_FAKE)
    check_op(
        lambda r, f: losses.discriminator_loss(r, f, kind, label_smoothing=smoothing),
        lambda r, f: torch_discriminator_loss(r, f, kind, smoothing),
        [real, fake],
        device,
    )


@pytest.mark.parametrize("kind", losses.GAN_KINDS)
def test_generator_loss_matches_torch(device, kind):
    for fake in (FAKE, PATCH_FAKE):
        check_op(
            lambda f: losses.generator_loss(f, kind),
            lambda f: torch_generator_loss(f, kind),
            [fake],
            device,
        )


# ----------------------------------------------------------------------------------
# GAN properties
# ----------------------------------------------------------------------------------

point_counts = st.lists(st.integers(1, 5), min_size=4, max_size=4)


def toy_batches(data_counts, generator_counts):
    """Index batches in which point j appears count_j times: the means of the losses over
    them are expectations under p_data and p_g on four points."""
    real = np.repeat(np.arange(4), data_counts)
    fake = np.repeat(np.arange(4), generator_counts)
    p_data = np.array(data_counts) / sum(data_counts)
    p_g = np.array(generator_counts) / sum(generator_counts)
    return real, fake, p_data, p_g


@given(point_counts, point_counts)
def test_minimax_discriminator_optimum_is_the_density_ratio(device, data_counts, g_counts):
    """The gradient of the expected minimax loss over free per-point logits is zero at
    D* = p_data / (p_data + p_g), i.e. logit log(p_data / p_g), and the loss is higher
    around it."""
    real, fake, p_data, p_g = toy_batches(data_counts, g_counts)
    optimum = np.log(p_data / p_g)

    def loss_at(logits):
        return losses.discriminator_loss(logits[real], logits[fake], "minimax")

    logits = sg.tensor(optimum, device=device, requires_grad=True)
    loss = loss_at(logits)
    loss.backward()
    np.testing.assert_allclose(logits.grad.numpy(), 0, atol=1e-12)
    for shift in (-0.1, 0.1):
        assert loss_at(sg.tensor(optimum + shift, device=device)).item() > loss.item()


def test_minimax_discriminator_trained_by_gradient_descent_reaches_d_star(device):
    real, fake, p_data, p_g = toy_batches([1, 2, 3, 4], [4, 3, 2, 1])
    logits = sg.zeros(4, dtype=sg.float64, device=device, requires_grad=True)
    for _ in range(300):
        loss = losses.discriminator_loss(logits[real], logits[fake], "minimax")
        (gradient,) = sg.autograd.grad(loss, logits)
        logits = (logits - 10.0 * gradient).detach().requires_grad_()
    np.testing.assert_allclose(sg.sigmoid(logits).numpy(), p_data / (p_data + p_g), atol=1e-6)


@given(st.floats(-30, 30))
def test_non_saturating_gradient_survives_where_minimax_vanishes(device, logit):
    """d/df of the minimax G loss is -sigmoid(f), of the non-saturating -sigmoid(-f) (per
    logit, times n for the mean): at f -> -inf (D rejects the fakes) the first vanishes."""
    n = 3
    grads = {}
    for kind in ("minimax", "non_saturating"):
        fake = sg.full((n, 1), logit, dtype=sg.float64, device=device, requires_grad=True)
        losses.generator_loss(fake, kind).backward()
        grads[kind] = fake.grad.numpy() * n
    sigmoid = 1 / (1 + math.exp(-logit))
    np.testing.assert_allclose(grads["minimax"], -sigmoid, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(grads["non_saturating"], -(1 - sigmoid), rtol=1e-6, atol=1e-12)


def test_minimax_generator_gradient_vanishes_at_minus_twenty(device):
    slopes = {}
    for kind in ("minimax", "non_saturating"):
        fake = sg.full((4, 1), -20.0, device=device, requires_grad=True)
        losses.generator_loss(fake, kind).backward()
        slopes[kind] = np.abs(fake.grad.numpy() * 4)  # |d loss / d f| per logit
    assert (slopes["minimax"] < 1e-8).all()
    assert (slopes["non_saturating"] > 0.999).all()


@pytest.mark.parametrize("kind, smoothing", DISCRIMINATOR_CASES)
@pytest.mark.parametrize("dtype", [sg.float32, sg.float64])
def test_gan_losses_finite_for_huge_logits(device, kind, smoothing, dtype):
    huge = np.array([[1e4], [-1e4], [0.5]])
    real = sg.tensor(huge, dtype=dtype, device=device, requires_grad=True)
    fake = sg.tensor(-huge, dtype=dtype, device=device, requires_grad=True)
    d_loss = losses.discriminator_loss(real, fake, kind, label_smoothing=smoothing)
    g_loss = losses.generator_loss(fake, kind)
    (d_loss + g_loss).backward()
    assert np.isfinite(d_loss.item()) and np.isfinite(g_loss.item())
    assert np.isfinite(real.grad.numpy()).all() and np.isfinite(fake.grad.numpy()).all()


def test_gan_losses_reject_bad_arguments(device):
    logits = sg.zeros(2, 1, device=device)
    kinds = "'minimax', 'non_saturating', 'lsgan', 'hinge'"
    with pytest.raises(ValueError, match=f"discriminator_loss: unknown kind 'wgan'.*{kinds}"):
        losses.discriminator_loss(logits, logits, "wgan")
    with pytest.raises(ValueError, match="generator_loss: unknown kind 'vanilla'"):
        losses.generator_loss(logits, "vanilla")
    with pytest.raises(ValueError, match="label_smoothing applies to the BCE kinds"):
        losses.discriminator_loss(logits, logits, "hinge", label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\)"):
        losses.discriminator_loss(logits, logits, "minimax", label_smoothing=1.0)


# ----------------------------------------------------------------------------------
# gradient penalties: double backward
# ----------------------------------------------------------------------------------

X_REAL = rng.normal(0, 1, size=(3, 2))
X_FAKE = rng.normal(0, 1, size=(3, 2))
W1 = rng.normal(0, 1, size=(2, 4))
B1 = rng.normal(0, 0.5, size=(4,))
W2 = rng.normal(0, 1, size=(4, 1))
ALPHA = rng.uniform(0, 1, size=(3,))


def tiny_discriminator(w1, b1, w2):
    """D(x) = tanh(x W1 + b1) W2: smooth, so every derivative order exists. Works on
    scratchgen and torch tensors alike."""
    return lambda x: (x @ w1 + b1).tanh() @ w2


def torch_r1(x, w1, b1, w2, gamma):
    (gradient,) = torch.autograd.grad(tiny_discriminator(w1, b1, w2)(x).sum(), x, create_graph=True)
    return gamma / 2 * (gradient**2).reshape(len(x), -1).sum(1).mean()


def torch_wgan_gp(real, fake, w1, b1, w2, alpha, weight):
    a = torch.from_numpy(alpha).reshape(-1, 1)
    mixed = a * real + (1 - a) * fake
    (gradient,) = torch.autograd.grad(
        tiny_discriminator(w1, b1, w2)(mixed).sum(), mixed, create_graph=True
    )
    norm = torch.sqrt((gradient**2).reshape(len(mixed), -1).sum(1) + 1e-12)
    return weight * ((norm - 1) ** 2).mean()


def sg_r1(x, w1, b1, w2):
    return losses.r1_penalty(tiny_discriminator(w1, b1, w2), x, gamma=3.0)


def sg_wgan_gp(real, fake, w1, b1, w2):
    alpha = sg.tensor(ALPHA, dtype=real.dtype, device=real.device)
    return losses.wgan_gp_penalty(tiny_discriminator(w1, b1, w2), real, fake, 7.0, alpha)


def test_r1_penalty_gradient_matches_torch(device):
    """gradcheck of the penalty = check of the double backward inside it; torch's penalty
    and its gradient with respect to the input and D's parameters agree."""
    check_op(sg_r1, lambda *a: torch_r1(*a, gamma=3.0), [X_REAL, W1, B1, W2], device, atol=1e-6)


def test_wgan_gp_penalty_gradient_matches_torch(device):
    check_op(
        sg_wgan_gp,
        lambda *a: torch_wgan_gp(*a, alpha=ALPHA, weight=7.0),
        [X_REAL, X_FAKE, W1, B1, W2],
        device,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "penalty, arrays_", [(sg_r1, [X_REAL, W1, B1, W2]), (sg_wgan_gp, [X_REAL, X_FAKE, W1, B1, W2])]
)
def test_gradient_penalties_gradgradcheck(device, penalty, arrays_):
    assert sg.gradgradcheck(penalty, to_sg(arrays_, device, dtype=np.float64))


def test_penalties_of_a_linear_discriminator_in_closed_form(device):
    """D(x) = x . w has grad_x D = w everywhere: R1 = gamma/2 ||w||^2, and WGAN-GP =
    weight (||w|| - 1)^2 whatever the interpolates."""
    w = sg.tensor([[3.0], [4.0]], dtype=sg.float64, device=device)  # ||w|| = 5
    real = sg.randn(6, 2, dtype=sg.float64, device=device)
    fake = sg.randn(6, 2, dtype=sg.float64, device=device)
    assert losses.r1_penalty(lambda x: x @ w, real, gamma=2.0).item() == pytest.approx(25.0)
    gp = losses.wgan_gp_penalty(lambda x: x @ w, real, fake, weight=10.0)
    assert gp.item() == pytest.approx(160.0)


def test_penalties_train_a_module_discriminator(device):
    """On detached data (the D step), the penalties reach the parameters of an nn.Module
    and not the data; their gradients equal torch's with the same weights."""
    torch_ = pytest.importorskip("torch")
    layers = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)).to(device).double()
    real = sg.tensor(X_REAL, device=device)
    fake = sg.tensor(X_FAKE, device=device)
    penalty = losses.r1_penalty(layers, real, gamma=3.0) + losses.wgan_gp_penalty(
        layers, real, fake, weight=7.0, alpha=sg.tensor(ALPHA, device=device)
    )
    penalty.backward()
    assert real.grad is None and fake.grad is None

    params = [torch_.from_numpy(p.numpy()).requires_grad_() for p in layers.parameters()]
    w1, b1, w2, b2 = params

    def torch_layers(x):
        return torch_.tanh(x @ w1.T + b1) @ w2.T + b2

    real_t = torch_.from_numpy(X_REAL).requires_grad_()
    (gradient,) = torch_.autograd.grad(torch_layers(real_t).sum(), real_t, create_graph=True)
    expected = 1.5 * (gradient**2).sum(1).mean()
    a = torch_.from_numpy(ALPHA).reshape(-1, 1)
    mixed = (a * torch_.from_numpy(X_REAL) + (1 - a) * torch_.from_numpy(X_FAKE)).requires_grad_()
    (gradient,) = torch_.autograd.grad(torch_layers(mixed).sum(), mixed, create_graph=True)
    expected = expected + 7.0 * ((torch_.sqrt((gradient**2).sum(1) + 1e-12) - 1) ** 2).mean()
    expected.backward()
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-10)
    assert b2.grad is None and list(layers.parameters())[3].grad is None  # grad_x D ignores b2
    for mine, theirs in list(zip(layers.parameters(), params))[:3]:
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-8, atol=1e-12)


# ----------------------------------------------------------------------------------
# lazy regularisation
# ----------------------------------------------------------------------------------


@given(st.integers(0, 10_000), st.floats(0.0, 100.0), st.integers(1, 16))
def test_lazy_weight_pulls_as_hard_on_average(start, weight, every):
    steps = range(start, start + every)  # any k consecutive steps hold one due step
    window = [losses.lazy_weight(t, weight, every) for t in steps]
    assert sum(window) == pytest.approx(every * weight)
    if every > 1:
        assert all(w == 0 for t, w in zip(steps, window) if t % every)


def test_lazy_weight_is_due_from_the_first_step_and_checks_every():
    assert [losses.lazy_weight(t, 2.0, 3) for t in range(4)] == [6.0, 0.0, 0.0, 6.0]
    assert losses.lazy_weight(5, 2.0, 1) == 2.0
    with pytest.raises(ValueError, match="lazy_weight: every must be an int >= 1, got 0"):
        losses.lazy_weight(0, 1.0, 0)
