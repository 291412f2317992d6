"""Ops that move elements around without changing them: reshape, permute, broadcast,
sum_to, indexing, cat and stack.

Their gradients move the upstream gradient back to where each element came from:
the inverse reshape or permutation, a sum over broadcast axes, a scatter-add for
indexing, a split for concatenation.
"""

from scratchgen import backend
from scratchgen.tensor import Function, Tensor


def _normalize_dim(dim, ndim, op_name):
    """A dim in [-ndim, ndim) as a non-negative int, or a clear error.

    A 0-d tensor accepts dim 0 and -1, as in torch.
    """
    if isinstance(dim, bool) or not hasattr(dim, "__index__"):
        raise TypeError(f"{op_name}: expected dim to be an int, got {dim!r}")
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(
            f"{op_name}: dim {dim} is out of range for a tensor with {ndim} dimensions"
        )
    return int(dim) % size


def broadcast_shapes(*shapes, op_name="broadcast"):
    """The shape NumPy broadcasting gives to operands of these shapes.

    Axes are aligned from the right; two sizes are compatible if equal or one is 1.
    """
    shapes = [tuple(s) for s in shapes if len(s)] or [()]  # scalars fit anything
    if all(s == shapes[0] for s in shapes):  # the common case, checked cheaply
        return shapes[0]
    ndim = max(len(s) for s in shapes)
    result = []
    for axis in range(-ndim, 0):
        sizes = {s[axis] for s in shapes if len(s) >= -axis} - {1}
        if len(sizes) > 1:
            shown = " and ".join(str(tuple(s)) for s in shapes)
            raise ValueError(f"{op_name}: cannot broadcast shapes {shown}")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


# ----------------------------------------------------------------------------------
# reshape, permute
# ----------------------------------------------------------------------------------


class Reshape(Function):
    """y = x viewed with a new shape.  dL/dx = reshape(dL/dy, x.shape).

    like: None, or an array whose memory layout y takes (its values are those of the
    row-major reshape either way). The gradient comes back laid out like x: a conv
    output is channels-last in memory (ops/conv.py), and an elementwise op between a
    channels-last and a row-major array runs three times slower than within one layout
    (flattening a conv output before a Linear layer, then every op of the backward).
    """

    def __init__(self, shape, like=None):
        self.shape = shape
        self.like = like

    def forward(self, x):
        self.x_shape = x.shape
        y = x.reshape(self.shape)
        if self.like is None or self.like.flags.c_contiguous:
            return y
        laid_out = backend.get_array_module(x).empty_like(self.like)
        laid_out[...] = y
        return laid_out

    def backward(self, gy):
        return Reshape(self.x_shape, like=self.inputs[0].data)(gy)


def reshape(x, shape):
    """x with a new shape holding the same elements (one size may be -1)."""
    shape = tuple(int(s) for s in shape)
    size = x.numel()
    known = 1
    for s in shape:
        known *= s if s != -1 else 1
    free = shape.count(-1)
    fits = known == size if free == 0 else (free == 1 and known > 0 and size % known == 0)
    if not fits:
        raise ValueError(
            f"reshape: cannot view a tensor of shape {x.shape} ({size} elements) as {shape}"
        )
    if free:
        shape = tuple(s if s != -1 else size // known for s in shape)
    if shape == x.shape:
        return x
    return Reshape(shape)(x)


class Permute(Function):
    """y = x with its axes reordered.  dL/dx = permute(dL/dy, inverse order)."""

    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, gy):
        inverse = [0] * len(self.dims)
        for position, axis in enumerate(self.dims):
            inverse[axis] = position
        return permute(gy, tuple(inverse))


def permute(x, dims):
    """x with axis dims[i] moved to position i."""
    dims = tuple(_normalize_dim(d, x.ndim, "permute") for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: expected a permutation of {x.ndim} axes, got {tuple(dims)}")
    if dims == tuple(range(x.ndim)):
        return x
    return Permute(dims)(x)


def transpose(x, dim0, dim1):
    """x with two axes swapped."""
    dims = list(range(x.ndim))
    dim0 = _normalize_dim(dim0, x.ndim, "transpose")
    dim1 = _normalize_dim(dim1, x.ndim, "transpose")
    if x.ndim == 0:  # torch lets a scalar swap dim 0 (or -1) with itself
        return x
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return permute(x, dims)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge the axes start_dim..end_dim into one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    start = _normalize_dim(start_dim, x.ndim, "flatten")
    end = _normalize_dim(end_dim, x.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = 1
    for s in x.shape[start : end + 1]:
        merged *= s
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1 :])


def unsqueeze(x, dim):
    """Insert an axis of size 1 at position dim."""
    dim = _normalize_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    """Remove axes of size 1 (all of them, or only dim if it has size 1)."""
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dim = _normalize_dim(dim, x.ndim, "squeeze")
    if x.ndim == 0 or x.shape[dim] != 1:
        return x
    return reshape(x, x.shape[:dim] + x.shape[dim + 1 :])


# ----------------------------------------------------------------------------------
# broadcasting and its adjoint
# ----------------------------------------------------------------------------------


class BroadcastTo(Function):
    """y = x repeated along broadcast axes.  dL/dx = sum_to(dL/dy, x.shape)."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        xp = backend.get_array_module(x)
        return xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.x_shape)


def broadcast_to(x, shape):
    """x broadcast to shape (NumPy rules)."""
    shape = tuple(shape)
    if broadcast_shapes(x.shape, shape, op_name="broadcast_to") != shape:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    if x.shape == shape:
        return x
    return BroadcastTo(shape)(x)


def expand(x, shape):
    """torch's expand: broadcast_to where -1 keeps that axis's size."""
    shape = tuple(shape)
    offset = len(shape) - x.ndim
    if offset < 0:
        raise ValueError(f"expand: cannot expand shape {x.shape} to fewer axes {shape}")
    if -1 in shape[:offset]:
        raise ValueError(f"expand: -1 is not allowed for a new leading axis, got {shape}")
    shape = tuple(x.shape[i - offset] if s == -1 else s for i, s in enumerate(shape))
    if any(size != 1 and size != new for size, new in zip(x.shape, shape[offset:])):
        raise ValueError(f"expand: cannot expand shape {x.shape} to {shape}")
    return broadcast_to(x, shape)


def sum_axes(array, axes, keepdims=False):
    """A raw array summed over the sorted axes. With axis 0 among several, axis 0 is
    summed first, alone: NumPy then adds whole contiguous slabs, 2-4 times faster than
    one reduction over (0, 2, 3) (the axes of batch_norm and of a conv bias gradient)."""
    if len(axes) > 1 and axes[0] == 0:
        array = array.sum(axis=0, keepdims=keepdims)
        axes = axes[1:] if keepdims else tuple(axis - 1 for axis in axes[1:])
    return array.sum(axis=axes, keepdims=keepdims)


class SumTo(Function):
    """y = x summed over the axes that broadcasting added or stretched to reach x.shape.

    The adjoint of broadcast_to:  dL/dx = broadcast_to(dL/dy, x.shape).
    """

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(self.shape) if s == 1 and x.shape[lead + i] != 1
        )
        y = sum_axes(x, axes, keepdims=True) if axes else x
        return y.reshape(self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.x_shape)


def sum_to(x, shape):
    """Sum x down to shape (the reverse of broadcasting shape up to x.shape)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


# ----------------------------------------------------------------------------------
# indexing
# ----------------------------------------------------------------------------------


def _raw_index(index, xp):
    """An index with Tensors and lists replaced by arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    raw = []
    for part in index:
        if isinstance(part, Tensor):
            part = part.data
        if isinstance(part, list):
            part = xp.asarray(part)
        raw.append(part)
    return tuple(raw)


def _is_mask(part):
    return hasattr(part, "dtype") and part.dtype == backend.bool_ and part.ndim > 0


def _masks_as_positions(index):
    """The index with each boolean mask replaced by the integer arrays of its True places.

    The forward indexes with the mask itself, so its shape is checked there.
    """
    positions = []
    for part in index:
        if _is_mask(part):
            positions.extend(backend.get_array_module(part).nonzero(part))
        else:
            positions.append(part)
    return tuple(positions)


def _has_array(index):
    return any(hasattr(part, "ndim") and part.ndim > 0 for part in index)


class GetItem(Function):
    """y = x[index].  dL/dx = zeros with dL/dy scatter-added at the indexed places."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.x_shape = x.shape
        return x[self.index]

    def backward(self, gy):
        return IndexAdd(_masks_as_positions(self.index), self.x_shape)(gy)


class IndexAdd(Function):
    """y = zeros(shape); y[index] += g (repeated indices add up).  dL/dg = dL/dy[index]."""

    def __init__(self, index, shape):
        self.index = index
        self.shape = shape

    def forward(self, g):
        xp = backend.get_array_module(g)
        y = xp.zeros(self.shape, dtype=g.dtype)
        if _has_array(self.index):
            backend.scatter_add(y, self.index, g)
        else:  # basic indexing never repeats an element
            y[self.index] = g
        return y

    def backward(self, gy):
        return GetItem(self.index)(gy)


def getitem(x, index):
    """x[index] with ints, slices (steps, negatives), None, ..., integer arrays, masks."""
    xp = backend.get_array_module(x.data)
    raw = _raw_index(index, xp)
    try:
        return GetItem(raw)(x)
    except IndexError as error:
        raise IndexError(
            f"getitem: index {index!r} is invalid for shape {x.shape}: {error}"
        ) from error


# ----------------------------------------------------------------------------------
# cat, stack
# ----------------------------------------------------------------------------------


class Cat(Function):
    """y = the inputs joined along dim.  dL/dx_i = the slice of dL/dy that x_i filled."""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, *xs):
        self.sizes = [x.shape[self.dim] for x in xs]
        xp = backend.get_array_module(xs[0])
        return xp.concatenate(xs, axis=self.dim)

    def backward(self, gy):
        grads = []
        start = 0
        lead = (slice(None),) * self.dim
        for size in self.sizes:
            grads.append(getitem(gy, lead + (slice(start, start + size),)))
            start += size
        return tuple(grads)


def cat(tensors, dim=0):
    """Join tensors of equal shape (except along dim) along an existing axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    first = tensors[0]
    dim = _normalize_dim(dim, first.ndim, "cat")
    for i, t in enumerate(tensors):
        same = t.ndim == first.ndim and all(
            a == b for axis, (a, b) in enumerate(zip(t.shape, first.shape)) if axis != dim
        )
        if not same:
            raise ValueError(
                f"cat: tensors must match except along dim {dim}; "
                f"tensor 0 has shape {first.shape}, tensor {i} has shape {t.shape}"
            )
    return Cat(dim)(*tensors)


def stack(tensors, dim=0):
    """Join tensors of equal shape along a new axis dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: expected tensors of one shape, got shapes {sorted(shapes)}")
    dim = _normalize_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, dim) for t in tensors], dim)
