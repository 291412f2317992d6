"""Dropout: zero each element (Dropout) or each whole channel (Dropout2d) with probability
p in training, and scale the rest by 1/(1-p).

In evaluation (``model.eval()``) both are the identity. ``inplace=True`` writes the result
into the input (torch's rules, ``scratchgen.tensor.in_place``).
"""

from scratchgen.nn import functional as F
from scratchgen.nn.module import Module


class _DropoutNd(Module):
    """The probability p (checked to lie in [0, 1]) and inplace, as torch's _DropoutNd."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: expected a probability p in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """y = x * m / (1 - p), m ~ Bernoulli(1 - p) per element, in training; y = x in eval."""

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """y = x * m[n, c] / (1 - p), m ~ Bernoulli(1 - p) per channel of (N, C, H, W) input
    (a whole feature map kept or zeroed), in training; y = x in eval."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training, self.inplace)
