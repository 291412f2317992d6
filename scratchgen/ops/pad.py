"""pad: a constant border, or the input mirrored at its edges ("reflect").

pad builds the padded array and fills or mirrors the border; the constant border's
gradient is the centre crop of g, reflect's folds the mirrored border back onto the rows
(columns) it copied.
"""

from scratchgen import backend
from scratchgen.ops.shape import getitem
from scratchgen.ops.window import check_4d
from scratchgen.tensor import Function


def _cut(axis, start=None, stop=None):
    """The index of x[start:stop] along one axis of a 4-D array."""
    index = [slice(None)] * 4
    index[axis] = slice(start, stop)
    return tuple(index)


def _flip(x, axis):
    """x reversed along one axis of a 4-D array (a view)."""
    index = [slice(None)] * 4
    index[axis] = slice(None, None, -1)
    return x[tuple(index)]


def _padded_with_centre(x, pads, fill):
    """An array of the padded shape holding x in its centre; the border holds `fill`
    (or is left unset for fill=None)."""
    xp = backend.get_array_module(x)
    (top, bottom), (left, right) = pads
    n, c, h, w = x.shape
    shape = (n, c, h + top + bottom, w + left + right)
    y = xp.empty(shape, dtype=x.dtype) if fill is None else xp.full(shape, fill, dtype=x.dtype)
    y[:, :, top : top + h, left : left + w] = x
    return y


class ReflectPad(Function):
    """y = x mirrored at its borders, the edge itself not repeated (torch's "reflect"):
        y[before - 1 - m] = x[1 + m],   y[before + size + m] = x[size - 2 - m]
    along each padded axis (the width first, then the height, corners included).

    dL/dx = _ReflectFold(g): the centre of g plus its mirrored borders added back.
    """

    def __init__(self, pads):
        self.pads = pads  # ((top, bottom), (left, right))

    def forward(self, x):
        y = _padded_with_centre(x, self.pads, fill=None)
        for axis in (3, 2):
            before, after = self.pads[axis - 2]
            size = x.shape[axis]
            if before:
                y[_cut(axis, 0, before)] = _flip(y[_cut(axis, before + 1, 2 * before + 1)], axis)
            if after:
                end = before + size
                y[_cut(axis, end, None)] = _flip(y[_cut(axis, end - 1 - after, end - 1)], axis)
        return y

    def backward(self, gy):
        return _ReflectFold(self.pads)(gy)


class _ReflectFold(Function):
    """The adjoint of ReflectPad: each padded border is flipped and added onto the
    rows (columns) it mirrors, next to the edge:
        x[1 : before + 1] += g[:before] reversed,
        x[size - 1 - after : size - 1] += g[before + size:] reversed.
    Its own adjoint (its backward) is ReflectPad.
    """

    def __init__(self, pads):
        self.pads = pads

    def forward(self, g):
        for axis in (2, 3):
            before, after = self.pads[axis - 2]
            size = g.shape[axis] - before - after
            folded = g[_cut(axis, before, before + size)].copy()
            if before:
                folded[_cut(axis, 1, before + 1)] += _flip(g[_cut(axis, 0, before)], axis)
            if after:
                mirrored = _flip(g[_cut(axis, before + size, None)], axis)
                folded[_cut(axis, size - 1 - after, size - 1)] += mirrored
            g = folded
        return g

    def backward(self, gg):
        return ReflectPad(self.pads)(gg)


class ConstantPad(Function):
    """y = x surrounded by `value`.  dL/dx = the centre crop of g (a getitem)."""

    def __init__(self, pads, value):
        self.pads, self.value = pads, value

    def forward(self, x):
        return _padded_with_centre(x, self.pads, fill=self.value)

    def backward(self, gy):
        (top, bottom), (left, right) = self.pads
        h, w = gy.shape[2] - top - bottom, gy.shape[3] - left - right
        return getitem(gy, (slice(None), slice(None), slice(top, top + h), slice(left, left + w)))


def pad(input, pad, mode="constant", value=0):
    """Pad the last two axes of a 4-D input: pad = (left, right) or (left, right, top, bottom).

    "constant" fills with value (gradient: the centre crop of g); "reflect" mirrors the
    border (gradient: the mirrored parts of g folded back, see _ReflectFold).
    """
    check_4d(input, "pad")
    if not isinstance(pad, (tuple, list)) or len(pad) not in (2, 4):
        raise ValueError(
            f"pad: expected pad = (left, right) or (left, right, top, bottom), got {pad!r}"
        )
    if any(not isinstance(p, int) or p < 0 for p in pad):
        raise ValueError(f"pad: expected non-negative int paddings, got {pad!r}")
    left, right, top, bottom = (*pad, 0, 0) if len(pad) == 2 else pad
    pads = ((top, bottom), (left, right))
    if mode == "reflect":
        for axis, (before, after) in zip((2, 3), pads):
            if max(before, after) >= input.shape[axis]:
                raise ValueError(
                    f"pad: expected reflect padding smaller than the input size "
                    f"{input.shape[axis]} along axis {axis}, got {(before, after)}"
                )
        return ReflectPad(pads)(input)
    if mode == "constant":
        return ConstantPad(pads, value)(input)
    raise ValueError(f"pad: expected mode 'constant' or 'reflect', got {mode!r}")
