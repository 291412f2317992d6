"""Losses of the generative models: the VAE's ELBO and its importance-weighted bound, and
the GAN losses with their gradient penalties.

Every loss is composed of differentiable ops, so its gradient (and, for the gradient
penalties, the double backward) comes from the engine and is checked by gradcheck.

VAE (x the data, z the latent, q(z|x) = N(mu, diag e^logvar) the encoder, p(z) = N(0, I)):

    bernoulli_reconstruction   -log p(x|z) = sum_pixels BCE-with-logits(logits, x)
    gaussian_reconstruction    sum_pixels (x_hat - x)^2
    gaussian_kl                KL(q(z|x) || p(z)) = 1/2 sum_j (mu_j^2 + e^logvar_j - 1 - logvar_j)
    reparameterize             z = mu + e^(logvar/2) eps,  eps ~ N(0, I)
    negative_elbo              recon + beta KL   (the training loss; elbo is its negation)
    iwae_bound                 L_k = log (1/k) sum_i p(x, z_i) / q(z_i|x),  z_i ~ q(z|x)

Per-example quantities are summed over every non-batch axis (nats per example) and, with
reduction="mean" (the default), averaged over the batch. Averaging over pixels instead
while summing the KL over latents would weigh the KL 784 times too much on MNIST and
collapse the posterior.

GAN, on discriminator logits r = D(x) (real) and f = D(G(z)) (fake), means over all logits:

    kind             discriminator loss                   generator loss
    minimax          softplus(-r) + softplus(f)           -softplus(f)  = log(1 - D(G(z)))
    non_saturating   softplus(-r) + softplus(f)           softplus(-f)  = -log D(G(z))
    lsgan            ((r - 1)^2 + f^2) / 2                (f - 1)^2 / 2
    hinge            relu(1 - r) + relu(1 + f)            -f

softplus(-r) = -log sigmoid(r) is BCE-with-logits against target 1, softplus(f) against 0:
the fused, overflow-free op computes both. Penalties: r1_penalty, wgan_gp_penalty;
lazy_weight applies a penalty every k-th step only (lazy R1).
"""

import math

from scratchgen import autograd
from scratchgen.creation import full_like, rand, randn, randn_like, zeros_like
from scratchgen.nn import Module
from scratchgen.nn import functional as F
from scratchgen.ops import amax, cat, exp, log, reshape, sqrt, unsqueeze
from scratchgen.tensor import enable_grad, no_grad

REDUCTIONS = ("mean", "sum", "none")
GAN_KINDS = ("minimax", "non_saturating", "lsgan", "hinge")
BCE_KINDS = ("minimax", "non_saturating")


# ----------------------------------------------------------------------------------
# checks and the per-example reduction
# ----------------------------------------------------------------------------------


def _check_reduction(reduction, op_name):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op_name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_batch_pair(a, b, names, op_name):
    """a and b: tensors of one shape with a batch axis first."""
    if a.ndim == 0:
        raise ValueError(f"{op_name}: expected a batch of shape (N, ...), got a 0-d {names[0]}")
    if a.shape != b.shape:
        raise ValueError(
            f"{op_name}: expected {names[1]} of the {names[0]}'s shape {a.shape}, got {b.shape}"
        )


def _per_example(losses, reduction):
    """Sum losses over every axis but the first; then "none": per example (N,),
    "sum": over the batch, "mean": over the batch divided by N."""
    n = losses.shape[0]
    if reduction == "none":
        return reshape(losses, (n, -1)).sum(1)
    total = losses.sum()
    return total if reduction == "sum" else total * (1.0 / n)


# ----------------------------------------------------------------------------------
# VAE: reconstruction, KL, reparameterisation, ELBO
# ----------------------------------------------------------------------------------


def bernoulli_reconstruction(logits, target, reduction="mean"):
    """Negative Bernoulli log-likelihood of targets x in [0, 1] under decoder logits l,
    in nats per example:

        -log p(x|z) = sum_pixels BCE(l, x) = sum_pixels ((1 - x) l + softplus(-l))

    (with x in (0, 1) the "continuous Bernoulli" without its normaliser, as PyTorch's VAE
    example reports). d/dl = sigmoid(l) - x, d/dx = -l per pixel, divided by N for "mean".
    Uses the fused binary_cross_entropy_with_logits: finite for logits of any size.

    reduction: "mean" (default, mean over the batch), "sum" (over the batch), or "none"
    (one value per example, shape (N,)).
    """
    _check_reduction(reduction, "bernoulli_reconstruction")
    _check_batch_pair(logits, target, ("logits", "target"), "bernoulli_reconstruction")
    if reduction == "none":
        pixels = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        return _per_example(pixels, "none")
    total = F.binary_cross_entropy_with_logits(logits, target, reduction="sum")
    return total if reduction == "sum" else total * (1.0 / logits.shape[0])


def gaussian_reconstruction(x_hat, target, reduction="mean"):
    """Summed squared error per example:  sum_pixels (x_hat - x)^2.

    A Gaussian decoder N(x_hat, s^2 I) over D pixels has
        -log p(x|z) = sum_pixels (x_hat - x)^2 / (2 s^2) + (D/2) log(2 pi s^2),
    so this loss is that negative log-likelihood, up to a constant, for s^2 = 1/2 (twice
    the unit-variance one; halve it, or scale the KL's beta, for s = 1).
    d/dx_hat = 2 (x_hat - x) = -d/dx per pixel, divided by N for "mean".

    reduction: "mean" (default, mean over the batch), "sum", or "none" (shape (N,)).
    """
    _check_reduction(reduction, "gaussian_reconstruction")
    _check_batch_pair(x_hat, target, ("x_hat", "target"), "gaussian_reconstruction")
    return _per_example(F.mse_loss(x_hat, target, reduction="none"), reduction)


def gaussian_kl(mu, logvar, reduction="mean"):
    """KL(N(mu, diag e^logvar) || N(0, I)) in closed form, summed over the latents:

        KL = 1/2 sum_j (mu_j^2 + e^logvar_j - 1 - logvar_j)  >= 0,  = 0 iff mu = 0, logvar = 0

    dKL/dmu = mu,  dKL/dlogvar = (e^logvar - 1) / 2  (per latent, divided by N for "mean").
    The log-variance form never divides by a variance: finite for logvar in [-50, 50] even
    in float32 (e^50 is about 5e21).

    reduction: "mean" (default, mean over the batch), "sum", or "none" (shape (N,)).
    """
    _check_reduction(reduction, "gaussian_kl")
    _check_batch_pair(mu, logvar, ("mu", "logvar"), "gaussian_kl")
    per_latent = (mu * mu + exp(logvar) - 1.0 - logvar) * 0.5
    return _per_example(per_latent, reduction)


def reparameterize(mu, logvar, eps=None):
    """A sample z ~ N(mu, diag e^logvar) as a differentiable function of (mu, logvar):

        z = mu + e^(logvar/2) eps,   eps ~ N(0, I)

    dz/dmu = 1,  dz/dlogvar = e^(logvar/2) eps / 2  (the pathwise gradient, eps held fixed).
    eps=None draws eps from the device's generator (backend.generator, seeded by
    sg.manual_seed); pass eps to fix the noise.
    """
    if mu.shape != logvar.shape:
        raise ValueError(
            f"reparameterize: expected logvar of mu's shape {mu.shape}, got {logvar.shape}"
        )
    if eps is None:
        eps = randn_like(mu)
    elif eps.shape != mu.shape:
        raise ValueError(f"reparameterize: expected eps of mu's shape {mu.shape}, got {eps.shape}")
    return mu + exp(logvar * 0.5) * eps


def negative_elbo(logits, x, mu, logvar, beta=1.0, reduction="mean"):
    """The VAE's training loss, the negative evidence lower bound (Bernoulli decoder), in
    nats per example:

        -ELBO = -E_q[log p(x|z)] + beta KL(q(z|x) || p(z))
              ~ bernoulli_reconstruction(logits, x) + beta gaussian_kl(mu, logvar)

    with logits = decode(z) for one z ~ q(z|x) (a one-sample estimate of the expectation).
    With beta = 1, -ELBO >= -log p(x); beta != 1 gives the beta-VAE objective.
    Gradients: those of the two terms (see them), the KL's scaled by beta.
    """
    _check_reduction(reduction, "negative_elbo")
    reconstruction = bernoulli_reconstruction(logits, x, reduction)
    return reconstruction + gaussian_kl(mu, logvar, reduction) * beta


def elbo(logits, x, mu, logvar, beta=1.0, reduction="mean"):
    """The evidence lower bound E_q[log p(x|z)] - beta KL, i.e. -negative_elbo(...):
    a log-likelihood bound (<= log p(x) for beta = 1), to maximise."""
    return -negative_elbo(logits, x, mu, logvar, beta, reduction)


# ----------------------------------------------------------------------------------
# VAE: the importance-weighted bound (evaluation)
# ----------------------------------------------------------------------------------


def _logsumexp(x, dim):
    """log sum_i e^(x_i) along dim, as m + log sum_i e^(x_i - m) with m the maximum."""
    m = amax(x, dim=dim)
    return m + log(exp(x - unsqueeze(m, dim)).sum(dim))


def _iwae_chunk(model, x, k):
    """L_k per example of one batch x: (B,)."""
    b = x.shape[0]
    mu, logvar = model.encode(x)
    latent_shape = mu.shape[1:]
    eps = randn(k, *mu.shape, dtype=mu.dtype, device=mu.device)  # (k, B, latent...)
    z = mu + exp(logvar * 0.5) * eps
    logits = model.decode(z.reshape(k * b, *latent_shape))
    targets = x.reshape(1, *x.shape).expand(k, *x.shape).reshape(k * b, *x.shape[1:])
    log_likelihood = -bernoulli_reconstruction(logits, targets, reduction="none")
    # log p(z) - log q(z|x) per sample; the (d/2) log(2 pi) terms cancel.
    log_prior_ratio = ((eps * eps + logvar - z * z) * 0.5).reshape(k * b, -1).sum(1)
    log_weights = (log_likelihood + log_prior_ratio).reshape(k, b)
    return _logsumexp(log_weights, 0) - math.log(k)


def iwae_bound(model, x, k=64, batch_size=64, reduction="mean"):
    """The importance-weighted lower bound on log p(x) (Burda et al., 2016), in nats:

        L_k(x) = log (1/k) sum_{i=1..k} w_i,   w_i = p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x)

    computed with log-sum-exp on the log-weights. E[L_1] = ELBO <= E[L_k] <= E[L_(k+1)]
    <= log p(x), and E[L_k] -> log p(x) as k grows. This returns the bound itself (a
    log-likelihood, usually negative); report -iwae_bound(...) beside negative_elbo: it is
    the smaller of the two on average.

    model: model.encode(x) -> (mu, logvar), model.decode(z) -> Bernoulli logits of x's
    shape. An nn.Module is put in eval mode for the evaluation and restored afterwards.
    x is processed batch_size examples at a time (batch_size * k decodes per pass).
    Runs under no_grad; returns a 0-d Tensor ("mean" over examples, or "sum") or the
    per-example bounds (N,) ("none").
    """
    _check_reduction(reduction, "iwae_bound")
    if k < 1 or batch_size < 1:
        raise ValueError(f"iwae_bound: expected k >= 1 and batch_size >= 1, got {k}, {batch_size}")
    was_training = isinstance(model, Module) and model.training
    if was_training:
        model.eval()
    try:
        with no_grad():
            chunks = [
                _iwae_chunk(model, x[start : start + batch_size], k)
                for start in range(0, x.shape[0], batch_size)
            ]
    finally:
        if was_training:
            model.train()
    bounds = cat(chunks, 0)
    if reduction == "none":
        return bounds
    return bounds.sum() if reduction == "sum" else bounds.mean()


# ----------------------------------------------------------------------------------
# GAN losses on logits
# ----------------------------------------------------------------------------------


def _check_gan_kind(kind, label_smoothing, op_name):
    if kind not in GAN_KINDS:
        raise ValueError(
            f"{op_name}: unknown kind {kind!r}; expected one of "
            + ", ".join(repr(k) for k in GAN_KINDS)
        )
    if label_smoothing and kind not in BCE_KINDS:
        raise ValueError(
            f"{op_name}: label_smoothing applies to the BCE kinds {BCE_KINDS}, not {kind!r}"
        )
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"{op_name}: label_smoothing must be in [0, 1), got {label_smoothing}")


def _bce_against(logits, target_value):
    """mean BCE-with-logits(l, t) = mean(t softplus(-l) + (1 - t) softplus(l)), t constant."""
    return F.binary_cross_entropy_with_logits(logits, full_like(logits, target_value))


def discriminator_loss(real_logits, fake_logits, kind="non_saturating", label_smoothing=0.0):
    """The discriminator's loss on logits r = D(x) of real and f = D(G(z)) of fake data,
    each term a mean over its logits (batch, and patches for a PatchGAN):

        minimax, non_saturating:  mean softplus(-r) + mean softplus(f)
              = BCE(r, 1) + BCE(f, 0);  d/dr = -sigmoid(-r) / n_r,  d/df = sigmoid(f) / n_f
              with label_smoothing s the real target is 1 - s (one-sided smoothing):
              BCE(r, 1 - s) = mean((1 - s) softplus(-r) + s softplus(r)),
              d/dr = (sigmoid(r) - (1 - s)) / n_r
        lsgan:   mean (r - 1)^2 / 2 + mean f^2 / 2;   d/dr = (r - 1) / n_r,  d/df = f / n_f
        hinge:   mean relu(1 - r) + mean relu(1 + f); d/dr = -[r < 1] / n_r, d/df = [f > -1] / n_f

    For the minimax game the optimum is D*(x) = sigmoid(r*) = p_data / (p_data + p_g).
    Finite with finite gradients for logits of any size.
    """
    _check_gan_kind(kind, label_smoothing, "discriminator_loss")
    if kind in BCE_KINDS:
        return _bce_against(real_logits, 1.0 - label_smoothing) + _bce_against(fake_logits, 0.0)
    if kind == "lsgan":
        real_term = F.mse_loss(real_logits, full_like(real_logits, 1.0))
        return (real_term + F.mse_loss(fake_logits, zeros_like(fake_logits))) * 0.5
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def generator_loss(fake_logits, kind="non_saturating"):
    """The generator's loss on the discriminator's logits f = D(G(z)), a mean over them:

    minimax:         -mean softplus(f) = mean log(1 - D(G(z))),  d/df = -sigmoid(f) / n:
                     vanishes where D rejects the fakes (f -> -inf), early in training
    non_saturating:  mean softplus(-f) = -mean log D(G(z)),      d/df = -sigmoid(-f) / n:
                     about -1/n there, so G keeps learning (Goodfellow et al., 2014)
    lsgan:           mean (f - 1)^2 / 2,                          d/df = (f - 1) / n
    hinge:           -mean f,                                     d/df = -1 / n
    """
    _check_gan_kind(kind, 0.0, "generator_loss")
    if kind == "minimax":
        return -_bce_against(fake_logits, 0.0)
    if kind == "non_saturating":
        return _bce_against(fake_logits, 1.0)
    if kind == "lsgan":
        return F.mse_loss(fake_logits, full_like(fake_logits, 1.0)) * 0.5
    return -fake_logits.mean()


# ----------------------------------------------------------------------------------
# gradient penalties (double backprop)
# ----------------------------------------------------------------------------------


def _input_gradient(discriminator, x):
    """d(sum D(x))/dx with create_graph=True, so the result can be differentiated again.
    x is used as it is when it requires grad (the penalty then depends on it), otherwise
    as a detached leaf that does. The graph is recorded even under no_grad: the penalty
    is a gradient, so it needs one to exist at all (evaluation, numerical gradchecks)."""
    with enable_grad():
        if not x.requires_grad:
            x = x.detach().requires_grad_()
        (gradient,) = autograd.grad(discriminator(x).sum(), x, create_graph=True)
    return gradient


def r1_penalty(discriminator, real, gamma=10.0):
    """The R1 penalty (Mescheder et al., 2018) on real data, for the discriminator's loss:

        R1 = gamma/2 E_x ||grad_x D(x)||^2   (squared norm over all of an example's axes)

    D's outputs are summed per example (PatchGAN logits), as is usual. Its gradient with
    respect to D's parameters theta is gamma E_x (d grad_x D / d theta)^T grad_x D: a
    double backward, which autograd.grad(..., create_graph=True) makes possible.
    """
    gradient = _input_gradient(discriminator, real)
    return _per_example(gradient * gradient, "mean") * (gamma / 2)


def lazy_weight(step, weight, every):
    """The weight of a lazily applied penalty at step t (Karras et al., 2020):

        w_t = k w   if t mod k == 0,   else 0        (k = every; t counts from 0)

    so the penalty (an R1's double backward, say) costs 1/k of its price and still pulls
    as hard on average. k = 1 gives w at every step.
    """
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"lazy_weight: every must be an int >= 1, got {every!r}")
    if every == 1:
        return weight
    return weight * every if step % every == 0 else 0.0


def wgan_gp_penalty(discriminator, real, fake, weight=10.0, alpha=None, eps=1e-12):
    """The WGAN-GP gradient penalty (Gulrajani et al., 2017):

        GP = weight E (||grad D(x_a)||_2 - 1)^2,   x_a = a x_real + (1 - a) x_fake,
        a ~ U(0, 1) per example

    The norm is sqrt(sum g^2 + eps) (eps keeps its derivative g / ||g|| finite at g = 0).
    d GP/d theta = 2 weight E (||g|| - 1) (g / ||g||)^T dg/d theta: a double backward.
    alpha: optional fixed mixing weights of shape (N,) (drawn from the device's generator
    when None).
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"wgan_gp_penalty: expected fake of the real batch's shape {real.shape}, "
            f"got {fake.shape}"
        )
    n = real.shape[0]
    if alpha is None:
        alpha = rand(n, dtype=real.dtype, device=real.device)
    alpha = alpha.reshape(n, *([1] * (real.ndim - 1)))
    mixed = alpha * real + (1.0 - alpha) * fake
    gradient = _input_gradient(discriminator, mixed)
    norm = sqrt(_per_example(gradient * gradient, "none") + eps)
    return ((norm - 1.0) * (norm - 1.0)).mean() * weight
