"""Convolution family: conv2d, conv_transpose2d, max/avg/adaptive pooling and pad.

Shapes follow torch (NCHW). For conv2d with input x (N, C, H, W), weight w (O, C, kh, kw),
stride s, padding p and dilation d, each output pixel is a dot product of w with one
window of the zero-padded input:

    y[n, o, a, b] = bias[o] + sum_{c, i, j} w[o, c, i, j] * xpad[n, c, a s + i d, b s + j d]
    OH = (H + 2p - d (kh - 1) - 1) // s + 1          (the same along the width)

im2col lays every window out as one row of a matrix ``cols`` (N*OH*OW, kh*kw*C), so the
whole convolution is ONE matrix product (GEMM), y = cols @ w^T, in the input's dtype. The
windows are read through an ``as_strided`` view of the padded input (no Python loop over
pixels); the copy that makes ``cols`` contiguous is the only im2col cost.

The padded input is laid out channels-last (N, H, W, C): each window row of ``cols`` is
then kh*kw runs of C contiguous numbers, so the im2col copy streams through memory. The
output comes back as an NCHW *view* of the channels-last product (no transposing copy);
NumPy and CuPy follow any strides, and elementwise ops keep that layout, so the next
conv reads it without a copy too.

Gradients, with g = dL/dy laid out as a matrix (N*OH*OW, O):
    dL/dw = g^T @ cols                       (reshaped to (O, C, kh, kw))
    dL/dx = col2im(g @ w)                    (each row of g @ w added back onto its window)
    dL/dbias = sum of g over N, H, W
g @ w is computed as one batched GEMM, a (N*OH*OW, O) @ (O, C) product per kernel offset,
and col2im adds each of these kh*kw slabs onto its strided slice of a zero buffer. When
the stride s divides kw, the s offsets j = q s .. q s + s - 1 of one kernel row write
interleaved output columns that together form one contiguous block, so they share one
(O, s*C) product and one slice-add.
The three GEMMs are the bulk of the time; im2col, col2im and layout copies the rest.

conv_transpose2d is the input-gradient of conv2d: conv_transpose2d(x, w) = col2im(x @ w).
That makes the two ops each other's gradient, so double backward needs no new maths.
(output_padding must be < stride; torch also allows it < dilation.)

Pooling walks the kh*kw kernel offsets, each a strided slice of the padded input: a running
max or sum forward, the matching slice-adds backward. pad builds the padded array and
fills or mirrors the border; reflect's gradient folds the mirrored border back.
"""

from scratchgen import backend
from scratchgen.ops.linalg import matmul
from scratchgen.ops.reduce import mean
from scratchgen.ops.reduce import sum as reduce_sum
from scratchgen.ops.shape import getitem, reshape
from scratchgen.tensor import Function, Tensor

# ----------------------------------------------------------------------------------
# argument checking
# ----------------------------------------------------------------------------------


def _pair(value, name, op_name, minimum):
    """An int or a pair of ints as a pair, each checked to be >= minimum."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ValueError(
            f"{op_name}: expected {name} to be an int or a pair of ints, got {value!r}"
        )
    if min(pair) < minimum:
        raise ValueError(f"{op_name}: expected {name} >= {minimum}, got {value!r}")
    return pair


def _check_4d(x, op_name, name="input"):
    """Raise a ValueError naming op_name unless x is 4-D (N, C, H, W)."""
    if x.ndim != 4:
        raise ValueError(f"{op_name}: expected a 4-D {name} (N, C, H, W), got shape {x.shape}")


def _check_weight(x, weight, bias, op_name, channels_axis):
    """Check a conv weight against the input's channels and the bias against its outputs."""
    _check_4d(x, op_name)
    if weight.ndim != 4:
        raise ValueError(f"{op_name}: expected a 4-D weight, got shape {weight.shape}")
    if x.shape[1] != weight.shape[channels_axis]:
        raise ValueError(
            f"{op_name}: expected input with {weight.shape[channels_axis]} channels "
            f"(weight.shape[{channels_axis}]), got {x.shape[1]}"
        )
    dtypes = [t.dtype for t in (x, weight, bias) if t is not None]
    if len(set(dtypes)) > 1:
        raise TypeError(
            f"{op_name}: expected input, weight (and bias) of one dtype, got "
            f"{', '.join(str(d) for d in dtypes)}"
        )
    outputs = weight.shape[1 - channels_axis]
    if bias is not None and bias.shape != (outputs,):
        raise ValueError(f"{op_name}: expected a bias of shape ({outputs},), got {bias.shape}")


def _output_size(size, kernel, stride, padding, dilation, op_name):
    """Windows along one axis: (size + 2p - d (k - 1) - 1) // s + 1, at least one."""
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * padding:
        raise ValueError(
            f"{op_name}: expected the kernel (extent {span} with dilation) to fit in the "
            f"padded input (size {size} + 2 * {padding}), got a kernel larger than the input"
        )
    return (size + 2 * padding - span) // stride + 1


def _output_hw(hw, kernel, stride, padding, dilation, op_name):
    """(OH, OW): _output_size along the height and the width."""
    return tuple(
        _output_size(hw[k], kernel[k], stride[k], padding[k], dilation[k], op_name)
        for k in range(2)
    )


# ----------------------------------------------------------------------------------
# im2col / col2im on raw arrays (channels-last)
# ----------------------------------------------------------------------------------


def _channels_last(x):
    """An NCHW array viewed as (N, H, W, C) (a copy-free transpose)."""
    return x.transpose(0, 2, 3, 1)


def _channels_first(x):
    """An (N, H, W, C) array viewed as NCHW (a copy-free transpose)."""
    return x.transpose(0, 3, 1, 2)


def _pixel_rows(x):
    """An NCHW array as the matrix (N*H*W, C), one row per pixel, for a GEMM.

    A free view when x is channels-last in memory (a conv output is). Otherwise the
    transpose of a channel-major copy (C, N*H*W): that copy moves whole H*W planes,
    several times faster than gathering every pixel's channels; BLAS takes either order.
    """
    n, c, h, w = x.shape
    xp = backend.get_array_module(x)
    if _channels_last(x).flags.c_contiguous:
        return _channels_last(x).reshape(n * h * w, c)
    return xp.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(c, n * h * w).T


def _padded_channels_last(x, padding):
    """xpad in (N, H + 2ph, W + 2pw, C) layout, zeros around x (NCHW)."""
    ph, pw = padding
    n, c, h, w = x.shape
    if ph == 0 and pw == 0:
        return _channels_last(x)
    xp = backend.get_array_module(x)
    padded = xp.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
    padded[:, ph : ph + h, pw : pw + w, :] = _channels_last(x)
    return padded


def _im2col(x, kernel, stride, padding, dilation, out_hw):
    """cols (N*OH*OW, kh*kw*C): row (n, a, b) holds the window of output pixel (a, b).

    cols[(n, a, b), (i, j, c)] = xpad[n, c, a s + i d, b s + j d]
    """
    xp = backend.get_array_module(x)
    padded = _padded_channels_last(x, padding)
    sn, sh, sw, sc = padded.strides
    windows = xp.lib.stride_tricks.as_strided(
        padded,
        shape=(x.shape[0], *out_hw, *kernel, x.shape[1]),
        strides=(sn, stride[0] * sh, stride[1] * sw, dilation[0] * sh, dilation[1] * sw, sc),
    )
    rows = x.shape[0] * out_hw[0] * out_hw[1]
    return xp.ascontiguousarray(windows).reshape(rows, -1)


def _offset_slices(kernel, stride, dilation, out_size):
    """Along one axis, for each kernel offset i: the slice i d, i d + s, ..., (out - 1) s + i d
    of the padded input that this offset reads across all windows."""
    return [
        slice(i * dilation, i * dilation + stride * (out_size - 1) + 1, stride)
        for i in range(kernel)
    ]


def _window_slices(kernel, stride, dilation, out_hw):
    """For each kernel offset (i, j), row-major: the (rows, cols) slices of the padded
    input that this offset reads across all windows (_offset_slices along each axis).
    """
    rows = _offset_slices(kernel[0], stride[0], dilation[0], out_hw[0])
    cols = _offset_slices(kernel[1], stride[1], dilation[1], out_hw[1])
    return [(r, c) for r in rows for c in cols]


def _column_group(kernel_w, stride_w, dilation_w):
    """How many neighbouring kernel columns col2im adds back as one block: the stride s.

    Without dilation, offsets j = q s + t (t = 0 .. s-1) write output column b s + j =
    (b + q) s + t: for one shift q, the s offsets fill the columns q s .. q s + s OW - 1
    between them, each exactly once. So their s slabs, side by side, are one contiguous
    block of that row range. Only when s divides kw; otherwise each offset stands alone.
    """
    if dilation_w == 1 and kernel_w % stride_w == 0:
        return stride_w
    return 1


def _block_slices(kernel, stride, dilation, out_hw, group):
    """The (rows, cols) slices of the padded buffer that col2im adds each slab onto:
    per kernel row i and column shift q, row-major. cols q s .. q s + s OW - 1 for a
    group of s (_column_group); for single offsets, _window_slices."""
    if group == 1:
        return _window_slices(kernel, stride, dilation, out_hw)
    rows = _offset_slices(kernel[0], stride[0], dilation[0], out_hw[0])
    cols = [slice(q * group, (q + out_hw[1]) * group) for q in range(kernel[1] // group)]
    return [(r, c) for r in rows for c in cols]


def _col2im(slabs, hw, kernel, stride, padding, dilation, out_hw, group, bias=None):
    """The adjoint of _im2col: add every window back where it came from.

    slabs (kh*kw/group, N*OH*OW, group*C): one slab per kernel row i and column shift q
    (_column_group), its columns (t, c) for the offset j = q group + t. Returns an NCHW
    view (N, C, H, W) of the cropped sum
        xpad[n, c, a s + i d, b s + j d] += slabs[(i, q), (n, a, b), (t, c)]
    one slice-add per slab, each reading one contiguous slab. Grouped, a slab writes
    runs of s*OW*C contiguous numbers instead of C at a time. The sum starts from zeros,
    or from ``bias`` (C,) in every pixel: cheaper than adding it to the cropped result.
    """
    xp = backend.get_array_module(slabs)
    n = slabs.shape[1] // (out_hw[0] * out_hw[1])
    channels = slabs.shape[2] // group
    (h, w), (ph, pw) = hw, padding
    shape = (n, h + 2 * ph, w + 2 * pw, channels)
    if bias is None:
        padded = xp.zeros(shape, dtype=slabs.dtype)
    else:
        padded = xp.empty(shape, dtype=slabs.dtype)
        padded[...] = bias
    for k, (rows, columns) in enumerate(_block_slices(kernel, stride, dilation, out_hw, group)):
        padded[:, rows, columns, :] += slabs[k].reshape(n, out_hw[0], -1, channels)
    return _channels_first(padded[:, ph : ph + h, pw : pw + w, :])


def _weight_matrix(weight):
    """A conv weight (O, C, kh, kw) as the matrix (O, kh*kw*C) that matches cols."""
    xp = backend.get_array_module(weight)
    return xp.ascontiguousarray(weight.transpose(0, 2, 3, 1)).reshape(weight.shape[0], -1)


def _conv_forward(cols, weight, bias, n, out_hw):
    """y = cols @ w^T + bias, as an NCHW view of the (N, OH, OW, O) product."""
    y = cols @ _weight_matrix(weight).T
    if bias is not None:
        y += bias
    return _channels_first(y.reshape(n, *out_hw, weight.shape[0]))


def _conv_input_grad(grad, weight, hw, stride, padding, dilation, bias=None):
    """dL/dx of conv2d (and conv_transpose2d's forward, + bias): col2im(g @ w).

    grad (N, O, OH, OW), weight (O, C, kh, kw) -> (N, C, H, W). The product is one
    batched GEMM, (N*OH*OW, O) @ (O, group*C) for each kernel row and column shift
    (_column_group), so that the part each adds back is a contiguous slab (twice as fast
    a col2im as strided rows).
    """
    xp = backend.get_array_module(grad)
    out, channels, kh, kw = weight.shape
    group = _column_group(kw, stride[1], dilation[1])
    # (O, C, kh, kw) -> (kh, kw/group, O, group, C): offset j = q group + t
    blocks = weight.transpose(2, 3, 0, 1).reshape(kh, kw // group, group, out, channels)
    blocks = xp.ascontiguousarray(blocks.transpose(0, 1, 3, 2, 4))
    slabs = xp.matmul(_pixel_rows(grad), blocks.reshape(-1, out, group * channels))
    out_hw = grad.shape[2:]
    return _col2im(slabs, hw, (kh, kw), stride, padding, dilation, out_hw, group, bias)


def _conv_weight_grad(cols, grad, weight_shape):
    """dL/dw of conv2d: g^T @ cols, reshaped to (O, C, kh, kw)."""
    xp = backend.get_array_module(cols)
    out, channels, kh, kw = weight_shape
    grad_w = (_pixel_rows(grad).T @ cols).reshape(out, kh, kw, channels)
    return xp.ascontiguousarray(grad_w.transpose(0, 3, 1, 2))


def _transpose_output_padding(hw, out_hw, kernel, stride, padding, dilation):
    """The output_padding that makes conv_transpose2d give back size hw from out_hw."""
    return tuple(
        hw[k] - ((out_hw[k] - 1) * stride[k] - 2 * padding[k] + dilation[k] * (kernel[k] - 1) + 1)
        for k in range(2)
    )


# ----------------------------------------------------------------------------------
# conv2d, conv_transpose2d and the weight gradient they share
# ----------------------------------------------------------------------------------


class Conv2d(Function):
    """y = conv2d(x, w) + bias (see the module docstring for the sums).

    dL/dx = conv_transpose2d(g, w)   dL/dw = Conv2dWeightGrad(x, g)   dL/dbias = sum_{n,h,w} g
    """

    def __init__(self, stride, padding, dilation):
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x, weight, bias=None):
        kernel = weight.shape[2:]
        out_hw = _output_hw(x.shape[2:], kernel, self.stride, self.padding, self.dilation, "conv2d")
        self.cols = _im2col(x, kernel, self.stride, self.padding, self.dilation, out_hw)
        return _conv_forward(self.cols, weight, bias, x.shape[0], out_hw)

    def backward(self, gy):
        x, weight = self.inputs[:2]
        geometry = (self.stride, self.padding, self.dilation)
        grad_x = grad_w = grad_b = None
        if self.needs_input_grad[0]:
            output_padding = _transpose_output_padding(
                x.shape[2:], gy.shape[2:], weight.shape[2:], *geometry
            )
            grad_x = ConvTranspose2d(self.stride, self.padding, output_padding, self.dilation)(
                gy, weight
            )
        if self.needs_input_grad[1]:
            grad_w = Conv2dWeightGrad(weight.shape[2:], *geometry, cols=self.cols)(x, gy)
        if len(self.inputs) == 3 and self.needs_input_grad[2]:
            grad_b = reduce_sum(gy, (0, 2, 3))
        return grad_x, grad_w, grad_b


class Conv2dWeightGrad(Function):
    """dL/dw of y = conv2d(x, w) given g = dL/dy; bilinear in (x, g):

        gw[o, c, i, j] = sum_{n,a,b} g[n, o, a, b] xpad[n, c, a s + i d, b s + j d]
    Since <v, gw> = <g, conv2d(x, v)> for any v of w's shape:
        d<v, gw>/dg = conv2d(x, v)      d<v, gw>/dx = conv_transpose2d(g, v)
    ``cols`` may hand over the im2col of x that the forward conv already built.
    """

    def __init__(self, kernel, stride, padding, dilation, cols=None):
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.cols = cols

    def forward(self, x, grad):
        cols = self.cols
        if cols is None:
            cols = _im2col(x, self.kernel, self.stride, self.padding, self.dilation, grad.shape[2:])
        self.cols = None  # only the forward needs it; do not keep it alive
        return _conv_weight_grad(cols, grad, (grad.shape[1], x.shape[1], *self.kernel))

    def backward(self, ggw):
        x, grad = self.inputs
        geometry = (self.stride, self.padding, self.dilation)
        grad_x = grad_g = None
        if self.needs_input_grad[0]:
            output_padding = _transpose_output_padding(
                x.shape[2:], grad.shape[2:], ggw.shape[2:], *geometry
            )
            grad_x = conv_transpose2d(
                grad, ggw, None, self.stride, self.padding, output_padding, self.dilation
            )
        if self.needs_input_grad[1]:
            grad_g = conv2d(x, ggw, None, self.stride, self.padding, self.dilation)
        return grad_x, grad_g


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, w) + bias: the adjoint of conv2d with weight w in x.

    w has shape (C_in, C_out, kh, kw); every input pixel scatters x[n, :, a, b] @ w[:, :, i, j]
    onto output pixel (a s + i d - p, b s + j d - p), i.e. y = col2im(x @ w).
    dL/dx = conv2d(g, w)    dL/dw = Conv2dWeightGrad(g, x)    dL/dbias = sum_{n,h,w} g
    """

    def __init__(self, stride, padding, output_padding, dilation):
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.output_padding = output_padding

    def forward(self, x, weight, bias=None):
        out_hw = tuple(
            (x.shape[2 + k] - 1) * self.stride[k]
            - 2 * self.padding[k]
            + self.dilation[k] * (weight.shape[2 + k] - 1)
            + self.output_padding[k]
            + 1
            for k in range(2)
        )
        geometry = (self.stride, self.padding, self.dilation)
        return _conv_input_grad(x, weight, out_hw, *geometry, bias)

    def backward(self, gy):
        x, weight = self.inputs[:2]
        geometry = (self.stride, self.padding, self.dilation)
        grad_x = grad_w = grad_b = None
        # conv2d(g, w) builds the im2col of g that the weight gradient needs too.
        conv = Conv2d(*geometry)
        if self.needs_input_grad[0]:
            grad_x = conv(gy, weight)
        if self.needs_input_grad[1]:
            cols = getattr(conv, "cols", None)
            grad_w = Conv2dWeightGrad(weight.shape[2:], *geometry, cols=cols)(gy, x)
        if len(self.inputs) == 3 and self.needs_input_grad[2]:
            grad_b = reduce_sum(gy, (0, 2, 3))
        return grad_x, grad_w, grad_b


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D convolution (cross-correlation, as torch) of NCHW input with weight (O, C, kh, kw)."""
    stride = _pair(stride, "stride", "conv2d", 1)
    padding = _pair(padding, "padding", "conv2d", 0)
    dilation = _pair(dilation, "dilation", "conv2d", 1)
    _check_weight(input, weight, bias, "conv2d", channels_axis=1)
    _output_hw(input.shape[2:], weight.shape[2:], stride, padding, dilation, "conv2d")
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return Conv2d(stride, padding, dilation)(*inputs)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    """Transposed convolution of NCHW input with weight (C_in, C_out, kh, kw) (torch's).

    Output size: (H - 1) s - 2p + d (kh - 1) + output_padding + 1.
    """
    stride = _pair(stride, "stride", "conv_transpose2d", 1)
    padding = _pair(padding, "padding", "conv_transpose2d", 0)
    output_padding = _pair(output_padding, "output_padding", "conv_transpose2d", 0)
    dilation = _pair(dilation, "dilation", "conv_transpose2d", 1)
    _check_weight(input, weight, bias, "conv_transpose2d", channels_axis=0)
    for k in range(2):
        if output_padding[k] >= stride[k]:
            raise ValueError(
                f"conv_transpose2d: expected output_padding < stride, got "
                f"output_padding {output_padding} and stride {stride}"
            )
        size = (
            (input.shape[2 + k] - 1) * stride[k]
            - 2 * padding[k]
            + dilation[k] * (weight.shape[2 + k] - 1)
            + output_padding[k]
            + 1
        )
        if size < 1:
            raise ValueError(
                f"conv_transpose2d: expected a positive output size, got {size} along "
                f"axis {2 + k} (padding {padding} is too large for input {input.shape})"
            )
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return ConvTranspose2d(stride, padding, output_padding, dilation)(*inputs)


# ----------------------------------------------------------------------------------
# pooling
# ----------------------------------------------------------------------------------


def _pool_geometry(x, kernel_size, stride, padding, op_name):
    """Checked (kernel, stride, padding, out_hw) of a pooling op (torch's rules)."""
    _check_4d(x, op_name)
    kernel = _pair(kernel_size, "kernel_size", op_name, 1)
    stride = kernel if stride is None else _pair(stride, "stride", op_name, 1)
    padding = _pair(padding, "padding", op_name, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(
            f"{op_name}: expected padding at most half the kernel size {kernel}, got {padding}"
        )
    out_hw = _output_hw(x.shape[2:], kernel, stride, padding, (1, 1), op_name)
    return kernel, stride, padding, out_hw


def _pad_nchw(x, padding, value):
    """x (NCHW) with `value` around its spatial axes."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    xp = backend.get_array_module(x)
    n, c, h, w = x.shape
    padded = xp.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    padded[:, :, ph : ph + h, pw : pw + w] = x
    return padded


class _Pooling(Function):
    """Shared geometry of the pooling Functions: windows over a padded NCHW input."""

    def __init__(self, kernel, stride, padding, hw, out_hw):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.hw, self.out_hw = hw, out_hw

    def geometry(self):
        return self.kernel, self.stride, self.padding, self.hw, self.out_hw

    def windows(self):
        return _window_slices(self.kernel, self.stride, (1, 1), self.out_hw)

    def padded_zeros(self, like):
        xp = backend.get_array_module(like)
        (h, w), (ph, pw) = self.hw, self.padding
        return xp.zeros((*like.shape[:2], h + 2 * ph, w + 2 * pw), dtype=like.dtype)

    def crop(self, padded):
        (h, w), (ph, pw) = self.hw, self.padding
        return padded[:, :, ph : ph + h, pw : pw + w]


class MaxPool2d(_Pooling):
    """y[n, c, a, b] = max over the window of (a, b) in x padded with -inf.

    dL/dx = g routed to the arg-max of each window (the first one on ties, as torch).
    The forward is a running maximum over the kh*kw window slices; the arg-max masks
    are found in backward only (inference never pays for them).
    """

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.padded = _pad_nchw(x, self.padding, -xp.inf)
        best = None
        for rows, cols in self.windows():
            window = self.padded[:, :, rows, cols]
            best = window.copy() if best is None else xp.maximum(best, window, out=best)
        return best

    def backward(self, gy):
        return _MaxPoolScatter(self.argmax_masks(), *self.geometry())(gy)

    def argmax_masks(self):
        """masks[k] is True where kernel offset k holds the window's first maximum."""
        xp = backend.get_array_module(self.padded)
        best = self.output().data
        masks, taken = [], None
        for rows, cols in self.windows():
            hit = self.padded[:, :, rows, cols] == best
            if taken is None:
                taken = hit
            else:
                hit = hit > taken  # a maximum here, and no earlier offset took the window
                taken = taken | hit
            masks.append(hit)
        return xp.stack(masks)


class _MaxPoolScatter(_Pooling):
    """dx = g sent to the arg-max position of each window: padded_slice_k += g * masks[k]
    (a linear map of g). Its adjoint, _MaxPoolGather, picks the value at each arg-max.
    """

    def __init__(self, masks, *geometry):
        super().__init__(*geometry)
        self.masks = masks

    def forward(self, g):
        padded = self.padded_zeros(g)
        for k, (rows, cols) in enumerate(self.windows()):
            padded[:, :, rows, cols] += g * self.masks[k]
        return self.crop(padded)

    def backward(self, gg):
        return _MaxPoolGather(self.masks, *self.geometry())(gg)


class _MaxPoolGather(_Pooling):
    """y[n, c, a, b] = x at the arg-max position of window (a, b): sum_k slice_k * masks[k].

    Its adjoint is _MaxPoolScatter.
    """

    def __init__(self, masks, *geometry):
        super().__init__(*geometry)
        self.masks = masks

    def forward(self, x):
        padded = _pad_nchw(x, self.padding, 0)
        picked = None
        for k, (rows, cols) in enumerate(self.windows()):
            part = padded[:, :, rows, cols] * self.masks[k]
            picked = part if picked is None else picked + part
        return picked

    def backward(self, gy):
        return _MaxPoolScatter(self.masks, *self.geometry())(gy)


class AvgPool2d(_Pooling):
    """y[n, c, a, b] = (1 / (kh kw)) sum of the window of (a, b) in x padded with zeros
    (padding counts in the mean, as torch's default count_include_pad=True).

    dL/dx = g / (kh kw) added onto every window: _AvgPoolScatter, whose adjoint is this.
    """

    def forward(self, x):
        padded = _pad_nchw(x, self.padding, 0)
        total = None
        for rows, cols in self.windows():
            window = padded[:, :, rows, cols]
            if total is None:
                total = window.copy()
            else:
                total += window
        total /= self.kernel[0] * self.kernel[1]
        return total

    def backward(self, gy):
        return _AvgPoolScatter(*self.geometry())(gy)


class _AvgPoolScatter(_Pooling):
    """dx = g / (kh kw) added onto each window (linear; adjoint: AvgPool2d)."""

    def forward(self, g):
        padded = self.padded_zeros(g)
        share = g / (self.kernel[0] * self.kernel[1])
        for rows, cols in self.windows():
            padded[:, :, rows, cols] += share
        return self.crop(padded)

    def backward(self, gg):
        return AvgPool2d(*self.geometry())(gg)


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """Max over kernel_size windows every stride pixels (stride defaults to kernel_size)."""
    geometry = _pool_geometry(input, kernel_size, stride, padding, "max_pool2d")
    kernel, stride, padding, out_hw = geometry
    return MaxPool2d(kernel, stride, padding, input.shape[2:], out_hw)(input)


def avg_pool2d(input, kernel_size, stride=None, padding=0):
    """Mean over kernel_size windows every stride pixels (zero padding counts)."""
    kernel, stride, padding, out_hw = _pool_geometry(
        input, kernel_size, stride, padding, "avg_pool2d"
    )
    return AvgPool2d(kernel, stride, padding, input.shape[2:], out_hw)(input)


def _adaptive_bins(size, out_size, dtype, xp):
    """The (out_size, size) averaging matrix of torch's adaptive bins:
    bin i covers [floor(i size / out), ceil((i + 1) size / out))."""
    matrix = xp.zeros((out_size, size), dtype=dtype)
    for i in range(out_size):
        start = (i * size) // out_size
        end = -((-(i + 1) * size) // out_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def adaptive_avg_pool2d(input, output_size):
    """Mean over torch's adaptive bins so that the output is output_size (int or pair;
    None keeps that axis). y = A_h x A_w^T with averaging matrices A; when the sizes
    divide evenly this is a reshape and a mean over each block.
    """
    _check_4d(input, "adaptive_avg_pool2d")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(
            f"adaptive_avg_pool2d: expected output_size to be an int or a pair, got {output_size!r}"
        )
    sizes = tuple(input.shape[2 + k] if s is None else s for k, s in enumerate(sizes))
    _pair(sizes, "output_size", "adaptive_avg_pool2d", 1)
    (n, c, h, w), (oh, ow) = input.shape, sizes
    if h % oh == 0 and w % ow == 0:
        blocks = reshape(input, (n, c, oh, h // oh, ow, w // ow))
        return mean(blocks, (3, 5))
    xp = backend.get_array_module(input.data)
    rows = Tensor(_adaptive_bins(h, oh, input.dtype, xp))
    cols = Tensor(_adaptive_bins(w, ow, input.dtype, xp).T)
    return matmul(matmul(rows, input), cols)


# ----------------------------------------------------------------------------------
# pad
# ----------------------------------------------------------------------------------


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
    _check_4d(input, "pad")
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
