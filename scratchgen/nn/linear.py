"""Linear (affine) layer and Identity.

Linear:  y = x W^T + b,  W of shape (out_features, in_features), b of shape (out_features,).
Default initialisation (torch's): W ~ kaiming_uniform_(a=sqrt(5)), which is
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
"""

import math

from scratchgen.creation import empty
from scratchgen.nn import functional as F
from scratchgen.nn import init
from scratchgen.nn.module import Module
from scratchgen.nn.parameter import Parameter


class Identity(Module):
    """y = x. Accepts (and ignores) any arguments, as torch's does."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x W^T + b on the last axis: (*, in_features) -> (*, out_features)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in_features))
        self.register_parameter("bias", Parameter(empty(out_features)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        """torch's default: kaiming_uniform_(a=sqrt(5)) for W, U(+-1/sqrt(fan_in)) for b."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            uniform_bias_(self.bias, fan_in=self.in_features)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


def uniform_bias_(bias, fan_in):
    """b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (zero-size fan_in: left as is), as torch."""
    if fan_in > 0:
        bound = 1 / math.sqrt(fan_in)
        init.uniform_(bias, -bound, bound)
    return bias
