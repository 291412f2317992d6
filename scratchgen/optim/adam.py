"""Adam and AdamW: steps scaled by running estimates of the gradient's first two moments."""

import numbers

from scratchgen import backend
from scratchgen.optim.optimizer import Optimizer, ascent_or_l2_gradient, check_non_negative
from scratchgen.tensor import Tensor


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), step for step as torch's single-tensor ``Adam``.

    At step t, with ``g = dL/dp`` (``-dL/dp`` when ``maximize``):

        weight decay:  g <- g + weight_decay * p     (L2 penalty; AdamW decays p instead)
        m <- m + (1 - beta1) (g - m)                 (= beta1 m + (1 - beta1) g)
        v <- beta2 v + (1 - beta2) g^2
        amsgrad:       v_max <- max(v_max, v), used below in place of v
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The two factors ``1 - beta^t`` undo the bias of m and v towards their zero start.
    State per parameter: ``"step"`` (t, an int), ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v),
    and ``"max_exp_avg_sq"`` with amsgrad.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        maximize=False,
        decoupled_weight_decay=False,
    ):
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _check_group(self, group):
        name = type(self).__name__
        for option in ("lr", "eps", "weight_decay"):
            check_non_negative(name, group, option)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: expected betas as a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 <= beta < 1:
                raise ValueError(f"{name}: expected betas[{i}] in [0, 1), got {beta!r}")

    def _update(self, param, grad, state, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay = group["weight_decay"]
        if not state:
            _init_state(state, param, group["amsgrad"])
        state["step"] += 1
        step = state["step"]

        l2_weight_decay = weight_decay
        if group["decoupled_weight_decay"]:  # AdamW: shrink the weights themselves
            if weight_decay != 0:
                param *= 1 - lr * weight_decay
            l2_weight_decay = 0
        grad = ascent_or_l2_gradient(param, grad, group["maximize"], l2_weight_decay)

        xp = backend.get_array_module(param)
        exp_avg, exp_avg_sq = state["exp_avg"].data, state["exp_avg_sq"].data
        # m <- m + (1 - beta1) (g - m); scratch is an array even for a 0-d parameter
        scratch = xp.subtract(grad, exp_avg, out=xp.empty_like(exp_avg))
        scratch *= 1 - beta1
        exp_avg += scratch
        # v <- beta2 v + (1 - beta2) g^2
        exp_avg_sq *= beta2
        xp.multiply(grad, 1 - beta2, out=scratch)
        scratch *= grad
        exp_avg_sq += scratch
        if group["amsgrad"]:
            max_exp_avg_sq = state["max_exp_avg_sq"].data
            xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            exp_avg_sq = max_exp_avg_sq

        # p <- p - step_size * m / denom, with the bias corrections as torch applies them
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        denom = xp.sqrt(exp_avg_sq)
        denom /= bias_correction2**0.5
        denom += eps
        xp.multiply(exp_avg, -step_size, out=scratch)
        scratch /= denom
        param += scratch


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with *decoupled* weight decay.

    Before the Adam step, ``p <- p * (1 - lr * weight_decay)``: the decay shrinks the
    weights directly instead of entering the gradient, so Adam's per-coordinate scaling
    does not weaken it where gradients are large. Everything else is :class:`Adam`.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        maximize=False,
    ):
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )


def _init_state(state, param, amsgrad):
    """Step 0 and zero moment estimates shaped like the parameter."""
    xp = backend.get_array_module(param)
    state["step"] = 0
    state["exp_avg"] = Tensor(xp.zeros_like(param))
    state["exp_avg_sq"] = Tensor(xp.zeros_like(param))
    if amsgrad:
        state["max_exp_avg_sq"] = Tensor(xp.zeros_like(param))
