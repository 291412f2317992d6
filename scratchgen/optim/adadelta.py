"""Adadelta: steps whose size is a running RMS of past steps over a running RMS of gradients."""

from scratchgen import backend
from scratchgen.optim.optimizer import (
    Optimizer,
    ascent_or_l2_gradient,
    check_decay_rate,
    check_non_negative,
)
from scratchgen.tensor import Tensor


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), step for step as torch's single-tensor ``Adadelta``.

    With ``g = dL/dp`` (``-dL/dp`` when ``maximize``):

        weight decay:  g <- g + weight_decay * p     (L2 penalty)
        v <- rho v + (1 - rho) g^2                    (running mean of g^2)
        d = sqrt(u + eps) / sqrt(v + eps) * g         (the step, in the units of p)
        u <- rho u + (1 - rho) d^2                    (running mean of d^2)
        p <- p - lr * d

    The ratio of the two RMS values gives each coordinate its own step size, so ``lr``
    (default 1) only scales the step.
    State per parameter: ``"step"`` (an int), ``"square_avg"`` (v), ``"acc_delta"`` (u).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        for option in ("lr", "eps", "weight_decay"):
            check_non_negative("Adadelta", group, option)
        check_decay_rate("Adadelta", group, "rho")

    def _update(self, param, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        if not state:
            _init_state(state, param)
        state["step"] += 1
        grad = ascent_or_l2_gradient(param, grad, group["maximize"], group["weight_decay"])

        xp = backend.get_array_module(param)
        square_avg, acc_delta = state["square_avg"].data, state["acc_delta"].data
        # v <- rho v + (1 - rho) g^2
        square_avg *= rho
        scratch = xp.multiply(grad, 1 - rho)
        scratch *= grad
        square_avg += scratch
        # d = sqrt(u + eps) / sqrt(v + eps) * g
        std = xp.add(square_avg, eps)
        xp.sqrt(std, out=std)
        delta = xp.add(acc_delta, eps)
        xp.sqrt(delta, out=delta)
        delta /= std
        delta *= grad
        # u <- rho u + (1 - rho) d^2
        acc_delta *= rho
        xp.multiply(delta, 1 - rho, out=scratch)
        scratch *= delta
        acc_delta += scratch
        # p <- p - lr * d
        delta *= group["lr"]
        param -= delta


def _init_state(state, param):
    """Step 0 and zero running averages shaped like the parameter."""
    xp = backend.get_array_module(param)
    state["step"] = 0
    state["square_avg"] = Tensor(xp.zeros_like(param))
    state["acc_delta"] = Tensor(xp.zeros_like(param))
