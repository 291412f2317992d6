"""The GAN losses on logits and their gradient penalties. See scratchgen.losses for the table."""

from scratchgen import autograd
from scratchgen.creation import full_like, rand, zeros_like
from scratchgen.losses.reduction import per_example
from scratchgen.nn import functional as F
from scratchgen.ops import sqrt
from scratchgen.tensor import enable_grad

GAN_KINDS = ("minimax", "non_saturating", "lsgan", "hinge")
BCE_KINDS = ("minimax", "non_saturating")

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
    return per_example(gradient * gradient, "mean") * (gamma / 2)


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
    norm = sqrt(per_example(gradient * gradient, "none") + eps)
    return ((norm - 1.0) * (norm - 1.0)).mean() * weight
