"""Dropout: zero each element with probability p in training, scale the rest by 1/(1-p).

In evaluation (``model.eval()``) it is the identity. ``inplace`` is accepted for torch
compatibility; the result is always a new tensor.
"""

from scratchgen.nn import functional as F
from scratchgen.nn.module import Module


class Dropout(Module):
    """y = x * m / (1 - p), m ~ Bernoulli(1 - p) per element, in training; y = x in eval."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: expected a probability p in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
