"""Adagrad: each coordinate's steps divided by the root of its summed squared gradients."""

from scratchgen import backend
from scratchgen.optim.optimizer import Optimizer, ascent_or_l2_gradient, check_non_negative
from scratchgen.tensor import Tensor


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011), step for step as torch's single-tensor
    ``Adagrad``.

    At step t, with ``g = dL/dp`` (``-dL/dp`` when ``maximize``):

        weight decay:  g <- g + weight_decay * p     (L2 penalty)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        G <- G + g^2                                  (G starts at initial_accumulator_value)
        p <- p - lr_t * g / (sqrt(G) + eps)

    Coordinates with large past gradients take small steps; since ``sqrt(G) >= |g|``,
    no coordinate ever moves by more than ``lr_t`` in one step.
    State per parameter: ``"step"`` (t, an int) and ``"sum"`` (G). As in torch, the
    state is created with the optimizer, so even parameters that never get a gradient
    have one; each group fills ``"sum"`` from its own ``initial_accumulator_value``
    (torch uses the constructor's value for every group).
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0,
        weight_decay=0,
        initial_accumulator_value=0,
        eps=1e-10,
        maximize=False,
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        """Add a group of parameters, with their state (step 0, G filled) created now."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for param in group["params"]:
            _init_state(self.state.setdefault(param, {}), param.data, group)

    def _check_group(self, group):
        for option in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_non_negative("Adagrad", group, option)

    def _update(self, param, grad, state, group):
        if not state:  # a state dict loaded without this parameter's entry
            _init_state(state, param, group)
        state["step"] += 1
        grad = ascent_or_l2_gradient(param, grad, group["maximize"], group["weight_decay"])
        decayed_lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])

        xp = backend.get_array_module(param)
        square_sum = state["sum"].data
        # G <- G + g^2
        scratch = xp.multiply(grad, grad)
        square_sum += scratch
        # p <- p - lr_t * g / (sqrt(G) + eps)
        std = xp.sqrt(square_sum)
        std += group["eps"]
        xp.multiply(grad, -decayed_lr, out=scratch)
        scratch /= std
        param += scratch


def _init_state(state, param, group):
    """Step 0 and G filled with the group's initial_accumulator_value."""
    xp = backend.get_array_module(param)
    state["step"] = 0
    state["sum"] = Tensor(xp.full_like(param, group["initial_accumulator_value"]))
