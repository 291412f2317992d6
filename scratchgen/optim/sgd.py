"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from scratchgen import backend
from scratchgen.optim.optimizer import Optimizer, ascent_or_l2_gradient, check_non_negative
from scratchgen.tensor import Tensor


class SGD(Optimizer):
    """Stochastic gradient descent, step for step as ``torch.optim.SGD``.

    With ``g = dL/dp + weight_decay * p`` (``-dL/dp + ...`` when ``maximize``):

        plain:     p <- p - lr * g
        momentum:  b <- g                               (first step)
                   b <- momentum * b + (1 - dampening) * g   (later steps)
                   p <- p - lr * b
        nesterov:  p <- p - lr * (g + momentum * b)    (look ahead along the momentum)

    State per parameter: ``"momentum_buffer"`` (b), when momentum is not 0.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0,
        dampening=0,
        weight_decay=0,
        nesterov=False,
        maximize=False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group):
        for option in ("lr", "momentum", "weight_decay"):
            check_non_negative("SGD", group, option)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update(self, param, grad, state, group):
        grad = ascent_or_l2_gradient(param, grad, group["maximize"], group["weight_decay"])
        momentum = group["momentum"]
        direction = grad
        if momentum != 0:
            buffer = _updated_momentum_buffer(state, grad, momentum, group["dampening"])
            direction = grad + momentum * buffer if group["nesterov"] else buffer
        param -= group["lr"] * direction


def _updated_momentum_buffer(state, grad, momentum, dampening):
    """b <- g the first time, then b <- momentum * b + (1 - dampening) * g (in place)."""
    if "momentum_buffer" not in state:
        xp = backend.get_array_module(grad)
        state["momentum_buffer"] = Tensor(xp.array(grad, copy=True))
        return state["momentum_buffer"].data
    buffer = state["momentum_buffer"].data
    buffer *= momentum
    buffer += (1 - dampening) * grad
    return buffer
