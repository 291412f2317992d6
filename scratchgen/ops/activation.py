"""Activation functions.

relu:  y = max(x, 0).   dL/dx = g * [x > 0].
"""

from scratchgen import backend
from scratchgen.tensor import Function, Tensor


class ReLU(Function):
    """y = max(x, 0).  dL/dx = g where x > 0, else 0."""

    def forward(self, x):
        self.positive = (x > 0).astype(x.dtype)
        return x * self.positive

    def backward(self, gy):
        return gy * Tensor(self.positive)


def relu(x):
    """Rectified linear unit."""
    if not backend.is_floating(x.dtype):
        raise TypeError(f"relu: expected a floating-point tensor, got dtype {x.dtype}")
    return ReLU()(x)
