"""Differentiable functions on Tensors, one module per family."""

from scratchgen.ops.activation import relu
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
from scratchgen.ops.linalg import matmul
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
]
