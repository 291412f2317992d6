"""scratchgen: generative models built from scratch on NumPy (CPU) and CuPy (GPU).

    import scratchgen as sg
    x = sg.randn(3, 4, requires_grad=True)
    (x.tanh() * 2).sum().backward()
    x.grad
"""

from scratchgen import autograd, cuda, nn, ops, optim
from scratchgen.backend import (
    bool_,
    float16,
    float32,
    float64,
    int32,
    int64,
    uint8,
)
from scratchgen.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from scratchgen.gradcheck import GradcheckError, gradcheck, gradgradcheck
from scratchgen.ops import (
    abs,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    clamp,
    exp,
    flatten,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    permute,
    reshape,
    sigmoid,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from scratchgen.serialization import load, save
from scratchgen.tensor import (
    Function,
    Tensor,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

bool = bool_
long = int64
float = float32
double = float64

__version__ = "0.1.0"

__all__ = [
    "Function", "GradcheckError", "Tensor", "abs", "amax", "amin", "arange", "argmax",
    "argmin", "as_tensor", "autograd", "bool", "bool_", "cat", "clamp", "cuda", "double",
    "empty", "empty_like", "enable_grad", "exp", "eye", "flatten", "float", "float16",
    "float32", "float64", "from_numpy", "full", "full_like", "gradcheck", "gradgradcheck",
    "int32", "int64", "is_grad_enabled", "linspace", "log", "long", "manual_seed", "matmul",
    "max", "maximum", "mean", "min", "minimum", "nn", "no_grad", "ones", "ones_like", "ops",
    "permute", "rand", "rand_like", "randint", "randn", "randn_like", "randperm", "reshape",
    "set_grad_enabled", "sigmoid", "sqrt", "squeeze", "stack", "std", "sum", "tanh",
    "tensor", "transpose", "uint8", "unsqueeze", "var", "where", "zeros", "zeros_like",
    "load", "optim", "save",
]
