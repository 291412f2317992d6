"""Losses of the generative models, one module per family, all importable from here:
vae (the ELBO and its importance-weighted bound), gan (the GAN losses and their gradient
penalties), cycle (CycleGAN's cycle and identity L1), clip (CLIP's symmetric
cross-entropy); reduction holds what they share.

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

CycleGAN, on translators G: A -> B and F: B -> A (n the number of elements):

    cycle_loss       mean |F(G(a)) - a|    (and mean |G(F(b)) - b| the other way)
    identity_loss    mean |G(b) - b|       (and mean |F(a) - a|)

Diffusion (losses.diffusion; x_0 the data in [-1, 1], 0-based steps t, a NoiseSchedule):

    q_sample                  x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps
    q_posterior               mean and variance of q(x_{t-1} | x_t, x_0)
    simple_loss               mean (eps_theta - eps)^2   (Ho et al.'s L_simple)
    min_snr_loss              mean w_t (eps_theta - eps)^2, w_t = min(SNR_t, gamma) / SNR_t
    prior_kl                  L_T = KL(q(x_T | x_0) || N(0, I))
    gaussian_kl_terms         L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))
    decoder_nll               L_0 = -log p(x_0 | x_1), discretised over 256 bins

CLIP, on the logits l_ij = s u_i . v_j of N images against their N texts:

    clip_loss        ( CE(l, diagonal) + CE(l^T, diagonal) ) / 2
"""

from scratchgen.losses.clip import clip_loss
from scratchgen.losses.cycle import cycle_loss, identity_loss
from scratchgen.losses.diffusion import (
    NoiseSchedule,
    decoder_nll,
    discretized_gaussian_nll,
    gaussian_kl_terms,
    min_snr_loss,
    min_snr_weights,
    normal_kl,
    prior_kl,
    q_posterior,
    q_sample,
    simple_loss,
)
from scratchgen.losses.gan import (
    BCE_KINDS,
    GAN_KINDS,
    discriminator_loss,
    generator_loss,
    lazy_weight,
    r1_penalty,
    wgan_gp_penalty,
)
from scratchgen.losses.reduction import REDUCTIONS
from scratchgen.losses.vae import (
    bernoulli_reconstruction,
    elbo,
    gaussian_kl,
    gaussian_reconstruction,
    iwae_bound,
    negative_elbo,
    reparameterize,
)

__all__ = [
    "BCE_KINDS",
    "GAN_KINDS",
    "REDUCTIONS",
    "NoiseSchedule",
    "bernoulli_reconstruction",
    "clip_loss",
    "cycle_loss",
    "decoder_nll",
    "discretized_gaussian_nll",
    "discriminator_loss",
    "elbo",
    "gaussian_kl",
    "gaussian_kl_terms",
    "gaussian_reconstruction",
    "generator_loss",
    "identity_loss",
    "iwae_bound",
    "lazy_weight",
    "negative_elbo",
    "normal_kl",
    "prior_kl",
    "q_posterior",
    "q_sample",
    "r1_penalty",
    "reparameterize",
    "simple_loss",
    "min_snr_loss",
    "min_snr_weights",
    "wgan_gp_penalty",
]
