"""RMSprop: steps divided by a running root-mean-square of the gradient."""

from scratchgen import backend
from scratchgen.optim.optimizer import (
    Optimizer,
    ascent_or_l2_gradient,
    check_decay_rate,
    check_non_negative,
)
from scratchgen.tensor import Tensor


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), step for step as torch's single-tensor ``RMSprop``.

    With ``g = dL/dp`` (``-dL/dp`` when ``maximize``):

        weight decay:  g <- g + weight_decay * p     (L2 penalty)
        v <- alpha v + (1 - alpha) g^2               (running mean of g^2)
        centered:      m <- m + (1 - alpha) (g - m)   (running mean of g)
                       s <- sqrt(v - m^2) + eps       (running standard deviation)
        otherwise:     s <- sqrt(v) + eps
        momentum > 0:  b <- momentum * b + g / s,  p <- p - lr * b
        otherwise:     p <- p - lr * g / s

    State per parameter: ``"step"`` (an int), ``"square_avg"`` (v), ``"grad_avg"`` (m)
    when centered, and ``"momentum_buffer"`` (b) when momentum > 0.
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0,
        momentum=0,
        centered=False,
        maximize=False,
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group):
        for option in ("lr", "eps", "weight_decay", "momentum"):
            check_non_negative("RMSprop", group, option)
        check_decay_rate("RMSprop", group, "alpha")

    def _update(self, param, grad, state, group):
        alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
        if not state:
            _init_state(state, param, momentum, group["centered"])
        state["step"] += 1
        grad = ascent_or_l2_gradient(param, grad, group["maximize"], group["weight_decay"])

        xp = backend.get_array_module(param)
        square_avg = state["square_avg"].data
        # v <- alpha v + (1 - alpha) g^2
        square_avg *= alpha
        scratch = xp.multiply(grad, 1 - alpha)
        scratch *= grad
        square_avg += scratch
        if group["centered"]:
            # m <- m + (1 - alpha) (g - m);  s <- sqrt(v - m^2) + eps
            grad_avg = state["grad_avg"].data
            xp.subtract(grad, grad_avg, out=scratch)
            scratch *= 1 - alpha
            grad_avg += scratch
            avg = xp.multiply(grad_avg, grad_avg)
            xp.subtract(square_avg, avg, out=avg)
            xp.sqrt(avg, out=avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += eps

        xp.divide(grad, avg, out=scratch)
        if momentum > 0:
            # b <- momentum * b + g / s
            buffer = state["momentum_buffer"].data
            buffer *= momentum
            buffer += scratch
            xp.multiply(buffer, group["lr"], out=scratch)
        else:
            scratch *= group["lr"]
        param -= scratch


def _init_state(state, param, momentum, centered):
    """Step 0 and zero running averages (and momentum buffer) shaped like the parameter."""
    xp = backend.get_array_module(param)
    state["step"] = 0
    state["square_avg"] = Tensor(xp.zeros_like(param))
    if momentum > 0:
        state["momentum_buffer"] = Tensor(xp.zeros_like(param))
    if centered:
        state["grad_avg"] = Tensor(xp.zeros_like(param))
