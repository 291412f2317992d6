"""The VAE's losses: reconstruction, KL, reparameterisation, the ELBO, the IWAE bound.

See scratchgen.losses for the formulas."""

import math

from scratchgen.creation import randn, randn_like
from scratchgen.losses.reduction import check_batch_pair, check_reduction, per_example
from scratchgen.nn import Module
from scratchgen.nn import functional as F
from scratchgen.ops import amax, cat, exp, log, unsqueeze
from scratchgen.tensor import no_grad

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
    check_reduction(reduction, "bernoulli_reconstruction")
    check_batch_pair(logits, target, ("logits", "target"), "bernoulli_reconstruction")
    if reduction == "none":
        pixels = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        return per_example(pixels, "none")
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
    check_reduction(reduction, "gaussian_reconstruction")
    check_batch_pair(x_hat, target, ("x_hat", "target"), "gaussian_reconstruction")
    return per_example(F.mse_loss(x_hat, target, reduction="none"), reduction)


def gaussian_kl(mu, logvar, reduction="mean"):
    """KL(N(mu, diag e^logvar) || N(0, I)) in closed form, summed over the latents:

        KL = 1/2 sum_j (mu_j^2 + e^logvar_j - 1 - logvar_j)  >= 0,  = 0 iff mu = 0, logvar = 0

    dKL/dmu = mu,  dKL/dlogvar = (e^logvar - 1) / 2  (per latent, divided by N for "mean").
    The log-variance form never divides by a variance: finite for logvar in [-50, 50] even
    in float32 (e^50 is about 5e21).

    reduction: "mean" (default, mean over the batch), "sum", or "none" (shape (N,)).
    """
    check_reduction(reduction, "gaussian_kl")
    check_batch_pair(mu, logvar, ("mu", "logvar"), "gaussian_kl")
    per_latent = (mu * mu + exp(logvar) - 1.0 - logvar) * 0.5
    return per_example(per_latent, reduction)


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
    check_reduction(reduction, "negative_elbo")
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
    check_reduction(reduction, "iwae_bound")
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
