"""Activation layers: thin Modules around the functions of ``scratchgen.ops.activation``.

``inplace=True`` (where torch has it) writes the result into the input and returns it,
with torch's rules (``scratchgen.tensor.in_place``).
"""

import warnings

from scratchgen.nn import functional as F
from scratchgen.nn.module import Module


class ReLU(Module):
    """y = max(x, 0)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu(x, self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """y = x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Tanh(Module):
    """y = tanh(x)."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """y = 1 / (1 + e^-x)."""

    def forward(self, x):
        return F.sigmoid(x)


class GELU(Module):
    """y = x * Phi(x) (approximate="none"), or its tanh approximation (approximate="tanh")."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """y = log(1 + e^(beta x)) / beta, and y = x where beta x > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class ELU(Module):
    """y = x for x > 0, alpha (e^x - 1) otherwise."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x):
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SiLU(Module):
    """y = x sigmoid(x) (swish)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.silu(x, self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


def _implicit_dim(layer, ndim):
    """torch's legacy choice of axis when dim is None (0 for 0-, 1- and 3-d inputs, else 1),
    with its deprecation warning."""
    dim = 0 if ndim in (0, 1, 3) else 1
    warnings.warn(
        f"{layer}: implicit dimension choice (dim=None) is deprecated, chose dim={dim} for a "
        f"{ndim}-d input; pass dim explicitly",
        UserWarning,
        stacklevel=4,  # the caller of the layer
    )
    return dim


class Softmax(Module):
    """y_i = e^(x_i) / sum_j e^(x_j) along dim (dim=None: torch's legacy choice, warned)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        dim = _implicit_dim("Softmax", x.ndim) if self.dim is None else self.dim
        return F.softmax(x, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """y_i = x_i - log sum_j e^(x_j) along dim (dim=None: torch's legacy choice, warned)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        dim = _implicit_dim("LogSoftmax", x.ndim) if self.dim is None else self.dim
        return F.log_softmax(x, dim)

    def extra_repr(self):
        return f"dim={self.dim}"
