"""Window geometry shared by convolution and pooling: argument checks, output sizes, and
the strided slice of the (padded) input that each kernel offset reads.

Along one axis of size H, a kernel of size k with stride s, padding p and dilation d has

    OH = (H + 2p - d (k - 1) - 1) // s + 1

windows; the window of output pixel a covers the padded input at a s + i d, i = 0 .. k-1.
Kernel offset i therefore reads the slice i d, i d + s, ..., i d + (OH - 1) s: one strided
slice per offset covers that offset of every window at once.
"""

from scratchgen import backend


def pair(value, name, op_name, minimum):
    """An int or a pair of ints as a pair, each checked to be >= minimum."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ValueError(
            f"{op_name}: expected {name} to be an int or a pair of ints, got {value!r}"
        )
    if min(pair) < minimum:
        raise ValueError(f"{op_name}: expected {name} >= {minimum}, got {value!r}")
    return pair


def check_4d(x, op_name, name="input"):
    """Raise a ValueError naming op_name unless x is 4-D (N, C, H, W)."""
    if x.ndim != 4:
        raise ValueError(f"{op_name}: expected a 4-D {name} (N, C, H, W), got shape {x.shape}")


def output_size(size, kernel, stride, padding, dilation, op_name):
    """Windows along one axis: (size + 2p - d (k - 1) - 1) // s + 1, at least one."""
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * padding:
        raise ValueError(
            f"{op_name}: expected the kernel (extent {span} with dilation) to fit in the "
            f"padded input (size {size} + 2 * {padding}), got a kernel larger than the input"
        )
    return (size + 2 * padding - span) // stride + 1


def output_hw(hw, kernel, stride, padding, dilation, op_name):
    """(OH, OW): _output_size along the height and the width."""
    return tuple(
        output_size(hw[k], kernel[k], stride[k], padding[k], dilation[k], op_name) for k in range(2)
    )


def offset_slices(kernel, stride, dilation, out_size):
    """Along one axis, for each kernel offset i: the slice i d, i d + s, ..., (out - 1) s + i d
    of the padded input that this offset reads across all windows."""
    return [
        slice(i * dilation, i * dilation + stride * (out_size - 1) + 1, stride)
        for i in range(kernel)
    ]


def window_slices(kernel, stride, dilation, out_hw):
    """For each kernel offset (i, j), row-major: the (rows, cols) slices of the padded
    input that this offset reads across all windows (_offset_slices along each axis).
    """
    rows = offset_slices(kernel[0], stride[0], dilation[0], out_hw[0])
    cols = offset_slices(kernel[1], stride[1], dilation[1], out_hw[1])
    return [(r, c) for r in rows for c in cols]


def pad_nchw(x, padding, value):
    """x (NCHW) with `value` around its spatial axes."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    xp = backend.get_array_module(x)
    n, c, h, w = x.shape
    padded = xp.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    padded[:, :, ph : ph + h, pw : pw + w] = x
    return padded
