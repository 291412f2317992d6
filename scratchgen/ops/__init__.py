"""Differentiable functions on Tensors, one module per family."""

from scratchgen.ops.activation import gelu, leaky_relu, log_softmax, relu, softmax, softplus
from scratchgen.ops.attention import scaled_dot_product_attention
from scratchgen.ops.convert import cast, to_device
from scratchgen.ops.elementwise import (
    abs,
    add,
    clamp,
    div,
    eq,
    exp,
    ge,
    gt,
    le,
    log,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    sigmoid,
    sqrt,
    sub,
    tanh,
    where,
)
from scratchgen.ops.functional_extra import dropout, embedding, linear, normalize
from scratchgen.ops.linalg import matmul
from scratchgen.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
)
from scratchgen.ops.norm import batch_norm, instance_norm, layer_norm
from scratchgen.ops.reduce import amax, amin, argmax, argmin, max, mean, min, std, sum, var
from scratchgen.ops.shape import (
    broadcast_to,
    cat,
    expand,
    flatten,
    getitem,
    permute,
    reshape,
    squeeze,
    stack,
    sum_to,
    transpose,
    unsqueeze,
)

__all__ = [
    "abs", "add", "amax", "amin", "argmax", "argmin", "broadcast_to", "cast", "cat",
    "clamp", "div", "eq", "exp", "expand", "flatten", "ge", "getitem", "gt", "le", "log",
    "lt", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "ne", "neg",
    "permute", "pow", "relu", "reshape", "sigmoid", "sqrt", "squeeze", "stack", "std", "sub",
    "sum", "sum_to", "tanh", "to_device", "transpose", "unsqueeze", "var", "where",
    # activations, losses and layer functions
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout",
    "embedding", "gelu", "l1_loss", "leaky_relu", "linear", "log_softmax", "mse_loss",
    "normalize", "softmax", "softplus",
    # normalisation and attention
    "batch_norm", "instance_norm", "layer_norm", "scaled_dot_product_attention",
]
