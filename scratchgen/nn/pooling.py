"""Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d.

kernel_size, stride and padding are an int or an (h, w) pair; stride defaults to
kernel_size (non-overlapping windows), as in torch.
"""

from scratchgen.nn import functional as F
from scratchgen.nn.module import Module


class _Pool2d(Module):
    """What the window poolings share: kernel_size, stride (default: the kernel), padding."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding


class MaxPool2d(_Pool2d):
    """The maximum of each window: (N, C, H, W) -> (N, C, H', W').

    Its repr shows torch's fixed settings dilation=1, ceil_mode=False too.
    """

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            "dilation=1, ceil_mode=False"
        )


class AvgPool2d(_Pool2d):
    """The mean of each window (zero padding counts in the mean, as torch's default)."""

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """The mean over output_size (an int or (h, w)) evenly spread windows: (N, C, h, w)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
