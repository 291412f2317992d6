"""The functional surface, as ``torch.nn.functional``: ``import scratchgen.nn.functional as F``.

These are the ops themselves, re-exported under torch's names (no wrappers): each is
documented, with its maths and gradient, where it is defined in ``scratchgen.ops``.
"""

from scratchgen.ops.activation import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from scratchgen.ops.attention import scaled_dot_product_attention
from scratchgen.ops.conv import conv2d, conv_transpose2d
from scratchgen.ops.functional_extra import dropout, dropout2d, embedding, linear, normalize
from scratchgen.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from scratchgen.ops.norm import batch_norm, group_norm, instance_norm, layer_norm
from scratchgen.ops.pad import pad
from scratchgen.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from scratchgen.ops.resample import interpolate, pixel_shuffle, pixel_unshuffle

__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "conv_transpose2d",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "elu",
    "embedding",
    "gelu",
    "group_norm",
    "instance_norm",
    "interpolate",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "normalize",
    "pad",
    "pixel_shuffle",
    "pixel_unshuffle",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]
