"""Padding layers: ReflectionPad2d (mirror the border) and ZeroPad2d.

padding is an int (all four sides) or (left, right, top, bottom), as in torch.
"""

from scratchgen.nn import functional as F
from scratchgen.nn.module import Module


def _four_sides(padding):
    if isinstance(padding, int):
        return (padding,) * 4
    return tuple(padding)


class ReflectionPad2d(Module):
    """Pad H and W by reflecting the input at its border (the edge pixel is not repeated)."""

    def __init__(self, padding):
        super().__init__()
        self.padding = _four_sides(padding)

    def forward(self, x):
        return F.pad(x, self.padding, mode="reflect")

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(Module):
    """Pad H and W with zeros."""

    def __init__(self, padding):
        super().__init__()
        self.padding = _four_sides(padding)

    def forward(self, x):
        return F.pad(x, self.padding, mode="constant", value=0.0)

    def extra_repr(self):
        return f"{self.padding}"
