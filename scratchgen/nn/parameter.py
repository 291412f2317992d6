"""Parameter: a Tensor that a Module learns.

Assigning a Parameter to a Module attribute registers it, so ``module.parameters()``
finds it and an optimizer can update it. It requires gradients by default.
"""

from scratchgen.tensor import Tensor


class Parameter(Tensor):
    """A learnable tensor: ``nn.Parameter(sg.zeros(3))``. requires_grad is True by default."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
