"""2-D convolution layers.

Conv2d:           weight (out_channels, in_channels, kh, kw),  bias (out_channels,)
ConvTranspose2d:  weight (in_channels, out_channels, kh, kw),  bias (out_channels,)

Default initialisation (torch's): weight ~ kaiming_uniform_(a=sqrt(5)), i.e.
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.shape[1] * kh * kw, and the bias
from the same interval. For ConvTranspose2d weight.shape[1] is out_channels: torch
computes its fan_in from the weight's layout, not from the layer's inputs.
"""

import math

from scratchgen.creation import empty
from scratchgen.nn import functional as F
from scratchgen.nn import init
from scratchgen.nn.linear import uniform_bias_
from scratchgen.nn.module import Module
from scratchgen.nn.parameter import Parameter


def pair(value):
    """(value, value) for an int, the tuple itself for a pair: kernel sizes, strides."""
    if isinstance(value, int):
        return (value, value)
    return tuple(value)


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share: settings, parameters, init, repr."""

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        output_padding,
        groups,
        bias,
        padding_mode,
        weight_shape,
    ):
        super().__init__()
        if groups != 1:
            raise ValueError(f"{type(self).__name__}: only groups=1 is supported, got {groups}")
        if padding_mode != "zeros":
            raise ValueError(
                f"{type(self).__name__}: only padding_mode='zeros' is supported, got "
                f"{padding_mode!r}; pad with nn.ReflectionPad2d first for reflection padding"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size)
        self.stride = pair(stride)
        self.padding = pair(padding)
        self.dilation = pair(dilation)
        self.output_padding = pair(output_padding)
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(empty(*weight_shape))
        self.register_parameter("bias", Parameter(empty(out_channels)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        """kaiming_uniform_(a=sqrt(5)) for the weight, U(+-1/sqrt(fan_in)) for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            uniform_bias_(self.bias, fan_in)

    def extra_repr(self):
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation): (N, C_in, H, W) -> (N, C_out, H', W').

    H' = floor((H + 2 padding - dilation (k - 1) - 1) / stride) + 1.
    groups and padding_mode are torch's arguments; only their defaults are supported.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
    ):
        weight_shape = (out_channels, in_channels, *pair(kernel_size))
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            0,
            groups,
            bias,
            padding_mode,
            weight_shape,
        )

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (the adjoint of Conv2d, used to upsample).

    H' = (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.
    groups and padding_mode are torch's arguments; only their defaults are supported.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        padding_mode="zeros",
    ):
        weight_shape = (in_channels, out_channels, *pair(kernel_size))
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            output_padding,
            groups,
            bias,
            padding_mode,
            weight_shape,
        )

    def forward(self, x):
        return F.conv_transpose2d(
            x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.dilation
        )
