"""Reductions: sum, mean, var, std, amax/amin, max/min (with indices), argmax/argmin,
logsumexp, norm; and the running sum cumsum.

A reduction's gradient spreads the upstream gradient back over the reduced axes:
equally for a sum, divided by n for a mean, onto the extreme element(s) for a max,
by the softmax weights for a logsumexp.
"""

from collections import namedtuple

from scratchgen import backend
from scratchgen.ops.convert import cast
from scratchgen.ops.elementwise import abs, exp, ne, pow, sqrt, where
from scratchgen.ops.shape import _normalize_dim, broadcast_to, clone, flip, reshape, sum_axes
from scratchgen.tensor import Function, Tensor


def _axes(dim, ndim, op_name):
    """The reduced axes as a sorted tuple (None: all of them)."""
    if dim is None:
        return tuple(range(ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(sorted({_normalize_dim(d, ndim, op_name) for d in dims}))
    return axes if ndim > 0 else ()  # a 0-d tensor accepts dim 0 or -1 and stays as it is


def _kept_shape(shape, axes):
    """The shape with the reduced axes kept as size 1."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _count(shape, axes):
    n = 1
    for axis in axes:
        n *= shape[axis]
    return n


class Sum(Function):
    """y = sum of x over axes.  dL/dx = dL/dy broadcast back over those axes."""

    def __init__(self, axes, keepdim):
        self.axes = axes
        self.keepdim = keepdim

    def forward(self, x):
        self.x_shape = x.shape
        return sum_axes(x, self.axes, self.keepdim)

    def backward(self, gy):
        gy = reshape(gy, _kept_shape(self.x_shape, self.axes))
        return broadcast_to(gy, self.x_shape)


def sum(x, dim=None, keepdim=False):
    """Sum over dim (an int, a tuple of ints, or None for all)."""
    return Sum(_axes(dim, x.ndim, "sum"), keepdim)(x)


def _check_floating(x, op_name):
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{op_name}: expected a floating-point tensor, got dtype {x.dtype}")


def mean(x, dim=None, keepdim=False):
    """Mean over dim:  y = sum(x) / n,  dL/dx = g / n."""
    _check_floating(x, "mean")
    axes = _axes(dim, x.ndim, "mean")
    return sum(x, axes, keepdim) * (1.0 / _count(x.shape, axes))


def _variance(x, axes, keepdim, correction, unbiased):
    """sum((x - mean)^2) / (n - correction) over axes; unbiased=True/False means 1/0."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    centred = x - mean(x, axes, keepdim=True)
    dof = _count(x.shape, axes) - correction
    return sum(centred * centred, axes, keepdim) * (1.0 / dof if dof > 0 else float("nan"))


def var(x, dim=None, keepdim=False, correction=1, unbiased=None):
    """Variance  sum((x - mean)^2) / (n - correction);  correction=1 is torch's default.

    dL/dx = g * 2 (x - mean) / (n - correction)  (the mean's own term sums to zero).
    """
    _check_floating(x, "var")
    return _variance(x, _axes(dim, x.ndim, "var"), keepdim, correction, unbiased)


def std(x, dim=None, keepdim=False, correction=1, unbiased=None):
    """Standard deviation: sqrt(var).  dL/dx = dL/dvar / (2 std)."""
    _check_floating(x, "std")
    return _variance(x, _axes(dim, x.ndim, "std"), keepdim, correction, unbiased).sqrt()


class Amax(Function):
    """y = max of x over axes.  dL/dx = g shared equally by the elements equal to y."""

    def __init__(self, axes, keepdim, largest):
        self.axes = axes
        self.keepdim = keepdim
        self.largest = largest

    def forward(self, x):
        extreme = x.max if self.largest else x.min
        y = extreme(axis=self.axes, keepdims=True)
        is_extreme = (x == y).astype(x.dtype)
        self.share = is_extreme / is_extreme.sum(axis=self.axes, keepdims=True)
        return y if self.keepdim else y.squeeze(axis=self.axes)

    def backward(self, gy):
        gy = reshape(gy, _kept_shape(self.share.shape, self.axes))
        return broadcast_to(gy, self.share.shape) * Tensor(self.share)


def _check_nonempty(x, axes, op_name):
    if any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{op_name}: cannot reduce an empty axis of a tensor of shape {x.shape}")


def amax(x, dim=None, keepdim=False):
    """The largest value over dim (ties share the gradient)."""
    axes = _axes(dim, x.ndim, "amax")
    _check_nonempty(x, axes, "amax")
    return Amax(axes, keepdim, largest=True)(x)


def amin(x, dim=None, keepdim=False):
    """The smallest value over dim (ties share the gradient)."""
    axes = _axes(dim, x.ndim, "amin")
    _check_nonempty(x, axes, "amin")
    return Amax(axes, keepdim, largest=False)(x)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


class PickAlongDim(Function):
    """y = x at one index per position along an axis (where the max or min is).

    dL/dx = g at the picked element, 0 elsewhere (ties: all to the first, as torch).
    """

    def __init__(self, indices, axis, keepdim):
        self.indices = indices  # integer array of x's shape with the axis kept as size 1
        self.axis = axis
        self.keepdim = keepdim

    def forward(self, x):
        xp = backend.get_array_module(x)
        along_axis = tuple(-1 if i == self.axis else 1 for i in range(x.ndim))
        positions = xp.arange(x.shape[self.axis]).reshape(along_axis)
        self.picked = (positions == self.indices).astype(x.dtype)
        y = xp.take_along_axis(x, self.indices, axis=self.axis)
        return y if self.keepdim else y.squeeze(self.axis)

    def backward(self, gy):
        gy = reshape(gy, _kept_shape(self.picked.shape, (self.axis,)))
        return broadcast_to(gy, self.picked.shape) * Tensor(self.picked)


def _extreme_along_dim(x, dim, keepdim, op_name, largest):
    """(values, indices) of the max (largest=True) or min along one dim."""
    axis = _normalize_dim(dim, x.ndim, op_name)
    xp = backend.get_array_module(x.data)
    if x.ndim == 0:  # a scalar is its own extreme, at index 0
        return MaxResult(x, Tensor(xp.zeros((), dtype=backend.int64)))
    _check_nonempty(x, (axis,), op_name)
    find = xp.argmax if largest else xp.argmin
    indices = xp.expand_dims(find(x.data, axis=axis), axis).astype(backend.int64)
    values = PickAlongDim(indices, axis, keepdim)(x)
    return MaxResult(values, Tensor(indices if keepdim else indices.squeeze(axis)))


def max(x, dim=None, keepdim=False):
    """Without dim: the largest element (ties share the gradient).

    With dim: (values, indices) along dim, as torch; the gradient goes to the index.
    """
    if dim is None:
        _check_nonempty(x, range(x.ndim), "max")
        return amax(x)
    return _extreme_along_dim(x, dim, keepdim, "max", largest=True)


def min(x, dim=None, keepdim=False):
    """Without dim: the smallest element. With dim: (values, indices) along dim."""
    if dim is None:
        _check_nonempty(x, range(x.ndim), "min")
        return amin(x)
    return _extreme_along_dim(x, dim, keepdim, "min", largest=False)


def _arg_extreme(x, dim, keepdim, op_name, find):
    xp = backend.get_array_module(x.data)
    if dim is None:
        _check_nonempty(x, range(x.ndim), op_name)
        index = xp.asarray(find(x.data.reshape(-1))).astype(backend.int64)
        return Tensor(index.reshape((1,) * x.ndim) if keepdim else index)
    axis = _normalize_dim(dim, x.ndim, op_name)
    if x.ndim == 0:
        return Tensor(xp.zeros((), dtype=backend.int64))
    _check_nonempty(x, (axis,), op_name)
    indices = find(x.data, axis=axis).astype(backend.int64)
    return Tensor(xp.expand_dims(indices, axis) if keepdim else indices)


def argmax(x, dim=None, keepdim=False):
    """Index of the largest element along dim (of the flattened tensor if dim is None)."""
    xp = backend.get_array_module(x.data)
    return _arg_extreme(x, dim, keepdim, "argmax", xp.argmax)


def argmin(x, dim=None, keepdim=False):
    """Index of the smallest element along dim."""
    xp = backend.get_array_module(x.data)
    return _arg_extreme(x, dim, keepdim, "argmin", xp.argmin)


# ----------------------------------------------------------------------------------
# logsumexp, cumsum, norm
# ----------------------------------------------------------------------------------


class LogSumExp(Function):
    """y = log sum_i e^(x_i) over axes, computed as m + log sum_i e^(x_i - m) with m the
    largest x (0 where it is infinite): finite for any finite x.

    dL/dx_i = g * e^(x_i - y)  (the softmax of x over the axes).
    """

    def __init__(self, axes, keepdim):
        self.axes = axes
        self.keepdim = keepdim

    def forward(self, x):
        xp = backend.get_array_module(x)
        shift = x.max(axis=self.axes, keepdims=True)
        shift = xp.where(xp.isfinite(shift), shift, 0)
        y = xp.log(xp.exp(x - shift).sum(axis=self.axes, keepdims=True)) + shift
        return y if self.keepdim else y.squeeze(axis=self.axes)

    def backward(self, gy):
        x = self.inputs[0]
        kept = _kept_shape(x.shape, self.axes)
        weights = exp(x - reshape(self.output(), kept))
        return broadcast_to(reshape(gy, kept), x.shape) * weights


def logsumexp(x, dim, keepdim=False):
    """log(sum(exp(x))) over dim (an int or a tuple), without overflow; see LogSumExp.

    An integer tensor is read as float32, as torch does.
    """
    if not backend.is_floating(x.dtype):
        x = cast(x, backend.float32)
    axes = _axes(dim, x.ndim, "logsumexp")
    _check_nonempty(x, axes, "logsumexp")
    return LogSumExp(axes, keepdim)(x)


class CumSum(Function):
    """y_i = x_1 + ... + x_i along an axis.

    dL/dx_i = g_i + ... + g_n: the running sum of g from the end, flip(cumsum(flip(g))).
    """

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return backend.get_array_module(x).cumsum(x, axis=self.axis)

    def backward(self, gy):
        return flip(CumSum(self.axis)(flip(gy, self.axis)), self.axis)


def cumsum(x, dim, dtype=None):
    """The running sum along dim (integers and booleans sum as int64, as in torch)."""
    axis = _normalize_dim(dim, x.ndim, "cumsum")
    if dtype is not None:
        x = cast(x, dtype)
    elif not backend.is_floating(x.dtype):
        x = cast(x, backend.int64)
    if x.ndim == 0:
        return clone(x)  # a new tensor, as torch's (in-place ops must not reach the input)
    return CumSum(axis)(x)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over dim (all axes by default), as torch.norm / linalg.vector_norm:

        ||x||_p = (sum |x_i|^p)^(1/p)     ("fro" is p = 2; inf: max |x_i|; -inf: min |x_i|;
                                            0: the number of nonzero x_i, no gradient)
        dL/dx_i = g * sign(x_i) |x_i|^(p-1) / ||x||_p^(p-1)

    For a finite p, x is divided by a constant scale s (its largest |x_i|) first and the
    norm multiplied by it after, s ||x / s||_p: the same value and gradient, with no
    overflow of |x|^p for huge x nor underflow for tiny x.
    """
    p = _norm_order(p)
    x = input if dtype is None else cast(input, dtype)
    _check_floating(x, "norm")
    axes = _axes(dim, x.ndim, "norm")
    if p == 0:
        return sum(cast(ne(x, 0), x.dtype), axes, keepdim).detach()
    if p in (float("inf"), float("-inf")):
        return (amax if p > 0 else amin)(abs(x), axes, keepdim)
    scale = _norm_scale(x, axes)
    scaled = abs(x / scale)
    total = sum(scaled * scaled if p == 2 else pow(scaled, p), axes, keepdim)
    return _root_of_positive(total, p) * _squeezed(scale, axes, keepdim)


def _root_of_positive(total, p):
    """total^(1/p), and 0 with gradient 0 where total is 0 (torch's subgradient of the
    norm at 0): the root is taken of max-masked values, so sqrt'(0) = inf never meets 0."""
    positive = Tensor(total.data > 0)
    root = sqrt if p == 2 else (lambda t: pow(t, 1.0 / p))
    return where(positive, root(where(positive, total, 1.0)), 0.0)


def _norm_order(p):
    if p == "fro" or p is None:
        return 2.0
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise RuntimeError(f"norm: expected p to be 'fro' or a number, got {p!r}")
    return float(p)


def _norm_scale(x, axes):
    """The largest |x| over axes (kept as size 1), 1 where that is 0 or not finite; no grad."""
    xp = backend.get_array_module(x.data)
    largest = xp.abs(x.data).max(axis=axes, keepdims=True) if x.numel() else xp.ones(())
    usable = xp.isfinite(largest) & (largest > 0)
    return Tensor(xp.where(usable, largest, 1).astype(x.dtype))


def _squeezed(scale, axes, keepdim):
    return (
        scale
        if keepdim
        else reshape(scale, tuple(s for i, s in enumerate(scale.shape) if i not in axes))
    )
