"""Activation functions, and softmax / log_softmax along one axis.

relu:        y = max(x, 0)                               dy/dx = [x > 0]
leaky_relu:  y = x if x > 0 else a x                      dy/dx = 1 if x > 0 else a
elu:         y = x if x > 0 else a (e^x - 1)              dy/dx = 1 if x > 0 else y + a
sigmoid, tanh: defined in scratchgen.ops.elementwise, imported here so that this module
             holds every activation under torch's F names
softplus:    y = log(1 + e^(b x)) / b                     dy/dx = sigmoid(b x)
gelu:        y = x Phi(x)                                 dy/dx = Phi(x) + x phi(x)
silu:        y = x sigmoid(x)                             dy/dx = s (1 + x (1 - s)), s = sigmoid(x)
softmax:     y_i = e^(x_i) / sum_j e^(x_j)                dL/dx = y (g - sum(g y))
log_softmax: y_i = x_i - log sum_j e^(x_j)                dL/dx = g - softmax(x) sum(g)

Phi and phi are the standard normal distribution and density functions.
"""

import math

from scratchgen import backend
from scratchgen.ops.elementwise import exp, sigmoid, tanh, where
from scratchgen.ops.shape import _normalize_dim, reshape
from scratchgen.tensor import Function, Tensor, maybe_in_place


def _check_floating(x, op_name):
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{op_name}: expected a floating-point tensor, got dtype {x.dtype}")


# ----------------------------------------------------------------------------------
# relu, leaky_relu
# ----------------------------------------------------------------------------------


class ReLU(Function):
    """y = max(x, 0).  dL/dx = g where x > 0, else 0."""

    def forward(self, x):
        self.positive = (x > 0).astype(x.dtype)
        return x * self.positive

    def backward(self, gy):
        return gy * Tensor(self.positive)


class LeakyReLU(Function):
    """y = x where x > 0, else a x.  dL/dx = g where x > 0, else a g (a at x = 0, as torch)."""

    def __init__(self, negative_slope):
        self.negative_slope = negative_slope

    def forward(self, x):
        positive = (x > 0).astype(x.dtype)  # 0/1 arithmetic: faster than where, and exact
        self.slope = positive + (1 - positive) * self.negative_slope
        return x * self.slope

    def backward(self, gy):
        return gy * Tensor(self.slope)


def relu(input, inplace=False):
    """Rectified linear unit max(x, 0).

    inplace=True writes the result into input and returns it (``tensor.in_place``: torch's
    rules, so a leaf that requires grad is refused while the graph is recorded).
    """
    _check_floating(input, "relu")
    return maybe_in_place(input, inplace, "relu", lambda x: ReLU()(x))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x for x > 0, negative_slope * x otherwise (inplace: as in relu)."""
    _check_floating(input, "leaky_relu")
    function = LeakyReLU(float(negative_slope))
    return maybe_in_place(input, inplace, "leaky_relu", lambda x: function(x))


# ----------------------------------------------------------------------------------
# elu
# ----------------------------------------------------------------------------------


class ELU(Function):
    """y = x where x > 0, else a (e^x - 1), computed as a expm1(min(x, 0)) (no overflow).

    dL/dx = g where x > 0, else g a e^x = g (y + a) (a at x = 0, as torch). Written with
    the output y, the backward never evaluates e^x for large x, and differentiating it
    again gives the second derivative a e^x through y.
    """

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.positive = x > 0
        negative_part = self.alpha * xp.expm1(xp.minimum(x, 0))
        return xp.where(self.positive, x, negative_part).astype(x.dtype, copy=False)

    def backward(self, gy):
        return gy * where(Tensor(self.positive), 1.0, self.output() + self.alpha)


def elu(input, alpha=1.0, inplace=False):
    """Exponential linear unit: x for x > 0, alpha (e^x - 1) otherwise (inplace: as in relu)."""
    _check_floating(input, "elu")
    return maybe_in_place(input, inplace, "elu", lambda x: ELU(float(alpha))(x))


# ----------------------------------------------------------------------------------
# softplus
# ----------------------------------------------------------------------------------


class Softplus(Function):
    """y = log(1 + e^(b x)) / b, computed as (max(b x, 0) + log1p(e^-|b x|)) / b, which never
    overflows; y = x where b x > threshold (torch's linear region).

    dL/dx = g sigmoid(b x), and g in the linear region.
    """

    def __init__(self, beta, threshold):
        self.beta = beta
        self.threshold = threshold

    def forward(self, x):
        xp = backend.get_array_module(x)
        bx = self.beta * x
        self.linear = bx > self.threshold
        smooth = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / self.beta
        return xp.where(self.linear, x, smooth).astype(x.dtype, copy=False)

    def backward(self, gy):
        x = self.inputs[0]
        return gy * where(Tensor(self.linear), 1.0, sigmoid(x * self.beta))


def softplus(input, beta=1, threshold=20):
    """Smooth relu log(1 + e^(beta x)) / beta; linear where beta x > threshold."""
    _check_floating(input, "softplus")
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero, got 0")
    return Softplus(float(beta), float(threshold))(input)


# ----------------------------------------------------------------------------------
# gelu
# ----------------------------------------------------------------------------------

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_SCALE = math.sqrt(2.0 / math.pi)  # k in u = k (x + c x^3)
_TANH_CUBIC = 0.044715  # c


def _gelu_s_curve(x, approximate):
    """s(x) on a raw array, where GELU(x) = 0.5 x (1 + s(x)):
    s = erf(x / sqrt 2) exactly (so 0.5 (1 + s) = Phi(x)), or tanh(k (x + c x^3))."""
    if approximate == "tanh":
        return backend.get_array_module(x).tanh(_TANH_SCALE * (x + _TANH_CUBIC * x * x * x))
    return backend.erf(x * _SQRT_HALF)


class GELU(Function):
    """y = 0.5 x (1 + s(x)) = x Phi(x) (or its tanh approximation).

    dL/dx = g * GELUDerivative(x), which reuses s(x) from this forward pass.
    """

    def __init__(self, approximate):
        self.approximate = approximate

    def forward(self, x):
        self.s_curve = _gelu_s_curve(x, self.approximate)
        return 0.5 * x * (1 + self.s_curve)

    def backward(self, gy):
        return gy * GELUDerivative(self.approximate, self.s_curve)(self.inputs[0])


class GELUDerivative(Function):
    """y' = dGELU/dx in one pass, given s(x) from the forward:

    exact: y' = 0.5 (1 + s) + x phi(x),  phi(x) = e^(-x^2/2) / sqrt(2 pi).
    tanh:  y' = 0.5 (1 + t) + 0.5 x (1 - t^2) u',  t = s = tanh(u),  u' = k (1 + 3 c x^2).

    Its own derivative, y'', is built from ops (double backprop):
    exact: y'' = phi(x) (2 - x^2).
    tanh:  y'' = (1 - t^2) (u' - x t u'^2 + 3 k c x^2),  from differentiating y'.
    """

    def __init__(self, approximate, s_curve):
        self.approximate = approximate
        self.s_curve = s_curve

    def forward(self, x):
        xp = backend.get_array_module(x)
        s = self.s_curve
        if self.approximate == "tanh":
            du = _TANH_SCALE * (1 + 3 * _TANH_CUBIC * x * x)
            return 0.5 * (1 + s) + 0.5 * x * (1 - s * s) * du
        return 0.5 * (1 + s) + x * _INV_SQRT_2PI * xp.exp(-0.5 * x * x)

    def backward(self, gy):
        x = self.inputs[0]
        if self.approximate == "tanh":
            t = tanh((x + x * x * x * _TANH_CUBIC) * _TANH_SCALE)
            du = (x * x * (3 * _TANH_CUBIC) + 1) * _TANH_SCALE
            second = (1 - t * t) * (du - x * t * du * du + x * x * (3 * _TANH_SCALE * _TANH_CUBIC))
        else:
            second = exp(x * x * -0.5) * _INV_SQRT_2PI * (2 - x * x)
        return gy * second


def gelu(input, approximate="none"):
    """Gaussian error linear unit x Phi(x); approximate="tanh" uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) as torch does."""
    _check_floating(input, "gelu")
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU(approximate)(input)


# ----------------------------------------------------------------------------------
# silu
# ----------------------------------------------------------------------------------


class SiLU(Function):
    """y = x s,  s = sigmoid(x) = 1 / (1 + e^-x)  (``backend.sigmoid``: one buffer).

    dL/dx = g s (1 + x (1 - s)), by ``SiLUDerivative``, which reuses this pass's s.
    """

    def forward(self, x):
        self.s = backend.sigmoid(x)
        return x * self.s

    def backward(self, gy):
        return gy * SiLUDerivative(self.s)(self.inputs[0])


class SiLUDerivative(Function):
    """y' = s (1 + x (1 - s)) in one buffer on arrays, given s = sigmoid(x) from the
    forward (the op-built version took 12.9 against 1.0 ms on 64x64x16x16).

    Its own derivative, built from ops (double backprop), with s' = s (1 - s):
    y'' = s' (1 + x (1 - s)) + s (1 - s) - x s s' = s (1 - s) (2 + x (1 - 2 s)).
    """

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        derivative = 1 - self.s
        derivative *= x
        derivative += 1
        derivative *= self.s
        return derivative

    def backward(self, gy):
        x = self.inputs[0]
        s = sigmoid(x)
        return gy * s * (1 - s) * (2 + x * (1 - s * 2))


def silu(input, inplace=False):
    """Sigmoid linear unit (swish) x sigmoid(x) (inplace: as in relu)."""
    _check_floating(input, "silu")
    return maybe_in_place(input, inplace, "silu", lambda x: SiLU()(x))


# ----------------------------------------------------------------------------------
# softmax, log_softmax
# ----------------------------------------------------------------------------------


def _log_softmax_raw(x, axis):
    """x - max - log sum exp(x - max): the max shift keeps every exponent <= 0."""
    xp = backend.get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """y = e^(x - max) / sum e^(x - max) along dim.  dL/dx = y (g - sum(g y))."""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        xp = backend.get_array_module(x)
        e = xp.exp(x - x.max(axis=self.dim, keepdims=True))
        return e / e.sum(axis=self.dim, keepdims=True)

    def backward(self, gy):
        y = self.output()
        return y * (gy - (gy * y).sum(self.dim, keepdim=True))


class LogSoftmax(Function):
    """y = x - log sum e^x along dim (log-sum-exp).  dL/dx = g - e^y sum(g)."""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        return _log_softmax_raw(x, self.dim)

    def backward(self, gy):
        return gy - exp(self.output()) * gy.sum(self.dim, keepdim=True)


def _along_dim(function_class, input, dim, op_name):
    """Apply a softmax-like Function along dim (a 0-d tensor is treated as one element)."""
    _check_floating(input, op_name)
    if dim is None:
        raise TypeError(f"{op_name}: expected dim (the axis to normalise over), got None")
    axis = _normalize_dim(dim, max(input.ndim, 1), op_name)
    if input.ndim == 0:
        return reshape(function_class(0)(reshape(input, (1,))), ())
    return function_class(axis)(input)


def softmax(input, dim):
    """e^x / sum e^x along dim: probabilities that sum to 1, stable for huge logits."""
    return _along_dim(Softmax, input, dim, "softmax")


def log_softmax(input, dim):
    """log(softmax(x)) along dim by log-sum-exp: finite for logits of any size."""
    return _along_dim(LogSoftmax, input, dim, "log_softmax")
