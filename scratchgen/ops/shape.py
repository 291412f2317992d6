"""Ops that move elements around without changing them: reshape, permute, t, broadcast,
repeat, sum_to, indexing, narrow, gather, cat and stack, split and chunk, flip, tril and
triu, clone.

Their gradients move the upstream gradient back to where each element came from:
the inverse reshape or permutation, a sum over broadcast axes, a scatter-add for
indexing (and gather), a split for concatenation (and a concatenation for a split).
"""

import itertools

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


def t(x):
    """The transpose of a matrix (a 0-d or 1-d tensor is returned as it is)."""
    if x.ndim > 2:
        raise RuntimeError(f"t: expected a tensor with at most 2 dimensions, got shape {x.shape}")
    return transpose(x, 0, -1)


# ----------------------------------------------------------------------------------
# repeat
# ----------------------------------------------------------------------------------


def repeat(x, sizes):
    """torch's repeat (NumPy's tile): x laid out sizes[i] times along axis i.

    y[..., k_i * s_i + j_i, ...] = x[..., j_i, ...] for s = x.shape (leading 1s added),
    built as reshape -> broadcast_to -> reshape: (s_i) -> (1, s_i) -> (r_i, s_i) ->
    (r_i s_i). So dL/dx = the sum of dL/dy over its r_i copies along each axis.
    """
    sizes = tuple(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(
            f"repeat: expected at least {x.ndim} repeat sizes (one per dimension of shape "
            f"{x.shape}), got {sizes}"
        )
    if any(not hasattr(r, "__index__") or r < 0 for r in sizes):
        raise RuntimeError(f"repeat: expected non-negative int repeat sizes, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    paired = tuple(size for pair in zip((1,) * len(shape), shape) for size in pair)
    stretched = tuple(size for pair in zip(sizes, shape) for size in pair)
    repeated = tuple(r * s for r, s in zip(sizes, shape))
    return reshape(broadcast_to(reshape(x, paired), stretched), repeated)


# ----------------------------------------------------------------------------------
# narrow, gather
# ----------------------------------------------------------------------------------


def narrow(x, dim, start, length):
    """x[..., start : start + length, ...] along dim (start may be negative).

    dL/dx = zeros with dL/dy placed in that slice (getitem's scatter).
    """
    axis = _normalize_dim(dim, x.ndim, "narrow")
    size = x.shape[axis]
    if not -size <= start <= size:
        raise IndexError(f"narrow: expected start in [{-size}, {size}], got {start}")
    start = start % size if start < 0 else start
    if length < 0 or start + length > size:
        raise RuntimeError(
            f"narrow: expected 0 <= length and start + length <= {size} (the size of dim "
            f"{dim}), got start {start} and length {length}"
        )
    return getitem(x, (slice(None),) * axis + (slice(start, start + length),))


def gather(x, dim, index):
    """y[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (likewise for the other dims).

    index is an int64 Tensor with x's number of dimensions and no larger than x except
    along dim. It is getitem with an integer array per axis (index along dim, the
    positions elsewhere), so dL/dx = zeros with dL/dy scatter-added at
    x[index[i][j][k]][j][k] (an element picked twice gets both gradients).
    """
    axis = _normalize_dim(dim, x.ndim, "gather")
    _check_gather_index(x, axis, index)
    if x.ndim == 0:  # the index is 0 (checked): the one element, as a new tensor
        return clone(x)
    xp = backend.get_array_module(index.data)
    positions = list(xp.ogrid[tuple(slice(size) for size in index.shape)])
    positions[axis : axis + 1] = [index.data]
    return GetItem(tuple(positions))(x)


def _check_gather_index(x, axis, index):
    if not isinstance(index, Tensor) or index.dtype != backend.int64:
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"gather: expected an int64 index Tensor, got {got}")
    larger = [d for d in range(index.ndim) if d != axis and index.shape[d] > x.shape[d]]
    if index.ndim != x.ndim or larger:
        raise RuntimeError(
            f"gather: expected an index with {x.ndim} dimensions and no larger than the "
            f"input's {x.shape} except along dim {axis}, got index of shape {index.shape}"
        )
    size = x.shape[axis] if x.ndim else 1
    if index.numel() == 0:
        return
    lowest, highest = int(index.data.min()), int(index.data.max())
    if lowest < 0 or highest >= size:
        raise RuntimeError(
            f"gather: expected index values in [0, {size}) along dim {axis}, got values in "
            f"[{lowest}, {highest}]"
        )


# ----------------------------------------------------------------------------------
# split, chunk
# ----------------------------------------------------------------------------------


class Split(Function):
    """(y_1, ..., y_n) = x cut along dim into pieces of the given sizes.

    dL/dx = cat(dL/dy_1, ..., dL/dy_n) along dim (a piece nobody used counts as zeros).
    """

    def __init__(self, sizes, dim):
        self.sizes = sizes
        self.dim = dim

    def forward(self, x):
        xp = backend.get_array_module(x)
        cuts = list(itertools.accumulate(self.sizes[:-1]))
        return tuple(xp.split(x, cuts, axis=self.dim))

    def backward(self, *grads):
        return cat(grads, self.dim)


def split(x, split_size_or_sections, dim=0):
    """Pieces of x along dim: of size split_size_or_sections each (an int; the last piece
    may be smaller), or of the sizes in a list that adds up to x.shape[dim]."""
    axis = _normalize_dim(dim, x.ndim, "split")
    size = x.shape[axis]
    if isinstance(split_size_or_sections, (tuple, list)):
        sizes = tuple(int(s) for s in split_size_or_sections)
        if any(s < 0 for s in sizes) or sum(sizes) != size:
            raise RuntimeError(
                f"split: expected non-negative sizes that add up to {size} (the size of dim "
                f"{dim}), got {list(sizes)}"
            )
    else:
        sizes = _even_pieces(size, split_size_or_sections, dim)
    return Split(sizes, axis)(x)


def _even_pieces(size, piece, dim):
    """Pieces of size piece covering size, the last one smaller if it must be."""
    if not hasattr(piece, "__index__") or piece < 0 or (piece == 0 and size > 0):
        raise RuntimeError(
            f"split: expected a positive split size (0 only for an empty dim), got {piece} "
            f"for dim {dim} of size {size}"
        )
    if size == 0:
        return (0,)
    return tuple(min(piece, size - start) for start in range(0, size, piece))


def chunk(x, chunks, dim=0):
    """x split along dim into at most chunks pieces of size ceil(n / chunks) (the last
    may be smaller, and there may be fewer pieces than asked, as in torch)."""
    if not hasattr(chunks, "__index__") or chunks <= 0:
        raise RuntimeError(f"chunk: expected chunks to be a positive int, got {chunks!r}")
    size = x.shape[_normalize_dim(dim, x.ndim, "chunk")]
    if size == 0:
        return split(x, [0] * chunks, dim)
    return split(x, -(-size // chunks), dim)


# ----------------------------------------------------------------------------------
# flip, tril, triu, clone
# ----------------------------------------------------------------------------------


class Flip(Function):
    """y = x with the order of the elements reversed along axes.  dL/dx = flip(dL/dy)."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return backend.get_array_module(x).flip(x, axis=self.axes)

    def backward(self, gy):
        return Flip(self.axes)(gy)


def flip(x, dims):
    """x reversed along each of dims (a tuple of distinct dims, or one int)."""
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    axes = tuple(_normalize_dim(d, x.ndim, "flip") for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"flip: expected distinct dims, got {dims}")
    if x.ndim == 0 or not axes:
        return clone(x)  # a new tensor, as torch's (in-place ops must not reach x)
    return Flip(axes)(x)


class KeepWhere(Function):
    """y = x where keep else 0 (keep a constant boolean array).  dL/dx = dL/dy where keep
    else 0: the same projection."""

    def __init__(self, keep):
        self.keep = keep

    def forward(self, x):
        xp = backend.get_array_module(x)
        return xp.where(self.keep, x, xp.zeros((), dtype=x.dtype))

    def backward(self, gy):
        return KeepWhere(self.keep)(gy)


def _triangle(x, diagonal, op_name, lower):
    """x on the lower (j - i <= diagonal) or upper (j - i >= diagonal) triangle of its
    last two axes, 0 elsewhere."""
    if x.ndim < 2:
        raise RuntimeError(
            f"{op_name}: expected a tensor with at least 2 dimensions, got {x.shape}"
        )
    xp = backend.get_array_module(x.data)
    rows, cols = x.shape[-2:]
    below = xp.tri(rows, cols, k=diagonal if lower else diagonal - 1, dtype=bool)
    return KeepWhere(below if lower else ~below)(x)


def tril(x, diagonal=0):
    """The lower triangle of the last two axes: y[..., i, j] = x[..., i, j] if j - i <=
    diagonal, else 0.  dL/dx = the lower triangle of dL/dy."""
    return _triangle(x, diagonal, "tril", lower=True)


def triu(x, diagonal=0):
    """The upper triangle of the last two axes: y[..., i, j] = x[..., i, j] if j - i >=
    diagonal, else 0.  dL/dx = the upper triangle of dL/dy."""
    return _triangle(x, diagonal, "triu", lower=False)


class Clone(Function):
    """y = a copy of x (its own memory).  dL/dx = dL/dy."""

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


def clone(x):
    """A copy of x that stays in the graph."""
    return Clone()(x)
