"""The out-of-place forms that the in-place methods of Tensor are built from.

``x[index] = v``, ``x.fill_(v)``, ``x.copy_(src)``, ``x.normal_()`` ... compute their new
value with one of these functions and write it into x's array (``scratchgen.tensor.in_place``);
in graph mode the Function here becomes x's creator, so gradients flow as if the new
value had been computed out of place:

    setitem(x, index, v):  y = x with y[index] = v
        dL/dx = g with g[index] = 0          dL/dv = sum_to(g[index], v.shape)
    filled(x, value):      y = value everywhere (a number, or a Tensor of x's shape
                           that carries no gradient: the random fills)
        dL/dx = 0
    copied(x, src):        y = src broadcast to x's shape, in x's dtype
        dL/dx = 0                            dL/dsrc = sum_to(g, src.shape)
"""

from scratchgen import backend
from scratchgen.ops.shape import GetItem, _raw_index, sum_to
from scratchgen.tensor import Function, Tensor


class ZeroAt(Function):
    """y = g with y[index] = 0: linear, and its own adjoint."""

    def __init__(self, index):
        self.index = index

    def forward(self, g):
        y = g.copy()
        y[self.index] = 0
        return y

    def backward(self, gy):
        return ZeroAt(self.index)(gy)


class SetItem(Function):
    """y = x with y[index] = v (v broadcast to the indexed shape).

    dL/dx = g with g[index] = 0; dL/dv = g[index] summed down to v's shape.
    """

    def __init__(self, index, shown_index, constant=None):
        self.index, self.shown_index, self.constant = index, shown_index, constant

    def forward(self, x, value=None):
        y = x.copy()
        _assign(y, self.index, value if value is not None else self.constant, self.shown_index)
        return y

    def backward(self, gy):
        grad_x = ZeroAt(self.index)(gy) if self.needs_input_grad[0] else None
        if len(self.inputs) == 1:
            return grad_x
        grad_value = None
        if self.needs_input_grad[1]:
            grad_value = sum_to(GetItem(self.index)(gy), self.inputs[1].shape)
        return grad_x, grad_value


def setitem(x, index, value):
    """x with x[index] = value, as a new Tensor (value: a Tensor or a number)."""
    raw_index = _raw_index(index, backend.get_array_module(x.data))
    if isinstance(value, Tensor):
        return SetItem(raw_index, index)(x, value)
    return SetItem(raw_index, index, constant=value)(x)


def write_item(x, index, value):
    """x[index] = value written straight into x's array (no graph, no copy of x): what
    ``x[index] = value`` does outside a graph."""
    xp = backend.get_array_module(x.data)
    raw_value = value.data if isinstance(value, Tensor) else value
    value_dtype = xp.asarray(raw_value).dtype
    if not xp.can_cast(value_dtype, x.dtype, casting="same_kind"):
        raise RuntimeError(
            f"__setitem__: a value of dtype {value_dtype} cannot be written into "
            f"a tensor of dtype {x.dtype}"
        )
    _assign(x.data, _raw_index(index, xp), raw_value, index)


def _assign(array, raw_index, value, shown_index):
    """array[raw_index] = value, with one error naming setitem for a bad index or value."""
    try:
        array[raw_index] = value
    except (IndexError, ValueError) as error:
        raise IndexError(
            f"setitem: cannot assign a value of shape {getattr(value, 'shape', ())} at index "
            f"{shown_index!r} of a tensor of shape {array.shape}: {error}"
        ) from error


class Filled(Function):
    """y = value in every element (a number, or an array of x's shape).  dL/dx = 0."""

    def __init__(self, value):
        self.value = value

    def forward(self, x):
        xp = backend.get_array_module(x)
        y = xp.empty_like(x)
        y[...] = self.value
        return y

    def backward(self, gy):
        return gy * 0


def filled(x, value):
    """A Tensor of x's shape and dtype holding value (a number or a Tensor without graph)."""
    return Filled(value.data if isinstance(value, Tensor) else value)(x)


class Copied(Function):
    """y = src broadcast to x's shape, cast to x's dtype.  dL/dx = 0, dL/dsrc = sum_to(g)."""

    def forward(self, x, src):
        xp = backend.get_array_module(x)
        return xp.broadcast_to(src, x.shape).astype(x.dtype, copy=True)

    def backward(self, gy):
        grad_src = sum_to(gy, self.inputs[1].shape) if self.needs_input_grad[1] else None
        return gy * 0, grad_src


def copied(x, src):
    """src broadcast to x's shape in x's dtype, as a new Tensor (the value of x.copy_(src))."""
    xp = backend.get_array_module(x.data)
    try:
        fits = xp.broadcast_shapes(src.shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(
            f"copy_: expected a source that broadcasts to {x.shape}, got shape {src.shape}"
        )
    return Copied()(x, src)


def normal_values(x, mean, std):
    """Numbers drawn from N(mean, std^2), of x's shape and dtype, from x's device generator."""
    if std < 0:
        raise ValueError(f"normal_: expected std >= 0, got {std}")
    draws = backend.generator(x.device).standard_normal(x.shape)
    return Tensor((draws * std + mean).astype(x.dtype))


def uniform_values(x, low, high):
    """Numbers drawn uniformly from [low, high), of x's shape and dtype."""
    if not low <= high:
        raise ValueError(f"uniform_: expected from <= to, got from={low}, to={high}")
    draws = backend.generator(x.device).random(x.shape)
    return Tensor((draws * (high - low) + low).astype(x.dtype))
