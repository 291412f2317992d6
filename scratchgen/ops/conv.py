"""Convolution: conv2d and conv_transpose2d, as im2col and one matrix product (GEMM).

Shapes follow torch (NCHW). conv2d of x (N, C, H, W) with weight w (O, C, kh, kw), stride
s, padding p and dilation d is a dot product of w with one window of the zero-padded input
per output pixel:

    y[n, o, a, b] = bias[o] + sum_{c, i, j} w[o, c, i, j] xpad[n, c, a s + i d, b s + j d]
    OH = (H + 2p - d (kh - 1) - 1) // s + 1          (the same along the width)

im2col writes the window of every output pixel as one row of a matrix, and the whole
convolution becomes one matrix product. One channel, a 3 x 3 input, a 2 x 2 kernel, s = 1:

      x           cols: one row per output pixel      W: the kernel as a row
    a b c         (0, 0)   a b d e                    w00 w01 w10 w11
    d e f   ->    (0, 1)   b c e f
    g h i         (1, 0)   d e g h                    y = cols @ W^T: (4, 1), the 2 x 2
                  (1, 1)   e f h i                    output pixels y00 y01 y10 y11

    y = cols @ W^T + bias      cols (N*OH*OW, C*kh*kw), W = w.reshape(O, C*kh*kw)

With the upstream gradient g = dL/dy as the matrix G (N*OH*OW, O), the gradients are two
more products:

    dL/dW = G^T @ cols
    dL/dx = col2im(G @ W)          col2im adds each row back onto the window it came from
    dL/dbias = sum of g over n, a, b

col2im is the adjoint of im2col (im2col is a 0/1 matrix applied to x; col2im applies its
transpose), and conv_transpose2d(x, w) = col2im(X @ W) is exactly dL/dx as a function of g.
So conv2d and conv_transpose2d are each other's gradient, and double backward needs no new
maths. (output_padding must be < stride; torch also allows it < dilation.)

The file reads in three parts:

1. The plain path. ``im2col`` and ``col2im`` on NCHW arrays, one strided slice of the
   padded input per kernel offset (ops/window.py), and ``conv2d_plain`` /
   ``conv2d_plain_grads`` built from them: the maths above, line for line. The tests
   check the fast path against it.
2. The fast path: the same products, with each speed-up a named step below. Gains on the
   2-core reference CPU, float32, plain -> fast; ``python -m benchmarks.conv_steps``
   times the plain path against the fast one (steps 1, 2, 6, and 3-4 together); steps 3,
   4 and 5 alone were timed when they went in (benchmarks/README.md):
   Step 1, channels-last windows (``_im2col``): im2col 8.4 -> 1.75 ms at DCGAN D
      Conv(64,128), 2.7 -> 0.71 ms at VAE Conv(32,64); with one input channel slower,
      0.22 -> 0.31 ms (D Conv(1,64)).
   Step 2, channels-last outputs (``_conv_forward``, ``_pixel_rows``): no transposing copy
      of a conv output (0.14 ms at D Conv(64,128)'s, 0.50 ms at D Conv(1,64)'s) nor of the
      gradient that comes back to it.
   Step 3, slabs from one batched GEMM (``_conv_input_grad``): the input gradient as
      kh*kw contiguous slabs, one slice-add each, instead of one GEMM and a col2im over
      strided columns: D Conv(64,128) input gradient 8.9 -> 7.6 ms.
   Step 4, grouped col2im (``_column_group``, ``_block_slices``): when the stride divides
      the kernel width, s neighbouring kernel columns fill one contiguous block and share
      one slab: D Conv(64,128) input gradient 7.4 -> 6.8 ms, the CGAN's 11-channel first
      layer 7.4 -> 4.4 ms (a one-channel output 0.66 -> 0.80 ms, slower).
   Steps 3-4 against the plain col2im(G @ W): 20.3 -> 6.0 ms (D Conv(64,128) input
      gradient), 5.8 -> 2.5 ms (VAE Conv(32,64)).
   Step 5, col2im starts from the bias (``_col2im``): conv_transpose2d adds its bias to
      the buffer, not to the cropped strided result: 0.40 -> 0.17 ms (DCGAN G ConvT).
   Step 6, one im2col per layer (``Conv2d.backward``, ``ConvTranspose2d.backward``): the
      weight gradient reuses the im2col its forward built, 1.75 ms saved per backward at
      D Conv(64,128).
   Step 7, one output channel (``_conv_input_grad``): the slabs as a broadcast multiply,
      not a matmul with an inner size of 1: 2.71 -> 1.11 ms (the input gradient of the
      Pix2Pix critic's last layer, Conv(128, 1), batch 16).
   A whole layer, forward and backward: 42.2 -> 19.0 ms at D Conv(64,128), 16.9 -> 8.0
   ms at VAE Conv(32,64), 2.6 -> 2.8 ms (no gain) at D Conv(1,64). The three GEMMs are
   the bulk of the fast path's time; benchmarks/README.md has the profile and what was
   tried and did not pay.
3. The Functions (Conv2d, Conv2dWeightGrad, ConvTranspose2d) and conv2d /
   conv_transpose2d, which check their arguments.

Pooling is ops/pool.py, pad is ops/pad.py; the window geometry they share with convolution
is ops/window.py.
"""

from scratchgen import backend
from scratchgen.ops.reduce import sum as reduce_sum
from scratchgen.ops.window import (
    check_4d,
    offset_slices,
    output_hw,
    pad_nchw,
    pair,
    window_slices,
)
from scratchgen.tensor import Function

# ----------------------------------------------------------------------------------
# 1. the plain path: im2col and col2im on NCHW arrays
# ----------------------------------------------------------------------------------


def im2col(x, kernel, stride, padding, dilation, out_hw):
    """cols (N*OH*OW, C*kh*kw): row (n, a, b) holds the window of output pixel (a, b).

        cols[(n, a, b), (c, i, j)] = xpad[n, c, a s + i d, b s + j d]

    Kernel offset (i, j) reads one strided slice of xpad, that offset of every window at
    once; the kh*kw slices, stacked, are the columns.
    """
    xp = backend.get_array_module(x)
    padded = pad_nchw(x, padding, 0)
    offsets = [
        padded[:, :, rows, cols] for rows, cols in window_slices(kernel, stride, dilation, out_hw)
    ]
    stacked = xp.stack(offsets, axis=2)  # (N, C, kh*kw, OH, OW)
    return stacked.transpose(0, 3, 4, 1, 2).reshape(x.shape[0] * out_hw[0] * out_hw[1], -1)


def col2im(cols, hw, kernel, stride, padding, dilation, out_hw):
    """The adjoint of im2col: every row's window added back where it came from.

        xpad[n, c, a s + i d, b s + j d] += cols[(n, a, b), (c, i, j)]

    cols (N*OH*OW, C*kh*kw) -> the (N, C, H, W) centre of xpad (the padding cropped off).
    """
    xp = backend.get_array_module(cols)
    (h, w), (ph, pw) = hw, padding
    n = cols.shape[0] // (out_hw[0] * out_hw[1])
    taps = kernel[0] * kernel[1]
    channels = cols.shape[1] // taps
    per_offset = cols.reshape(n, *out_hw, channels, taps).transpose(4, 0, 3, 1, 2)
    padded = xp.zeros((n, channels, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for offset, (rows, columns) in zip(per_offset, window_slices(kernel, stride, dilation, out_hw)):
        padded[:, :, rows, columns] += offset
    return padded[:, :, ph : ph + h, pw : pw + w]


def conv2d_plain(x, weight, bias, stride, padding, dilation):
    """y = cols @ W^T + bias on arrays, as (N, O, OH, OW): the reference for Conv2d."""
    out_hw = output_hw(x.shape[2:], weight.shape[2:], stride, padding, dilation, "conv2d")
    cols = im2col(x, weight.shape[2:], stride, padding, dilation, out_hw)
    y = cols @ weight.reshape(weight.shape[0], -1).T
    if bias is not None:
        y = y + bias
    return y.reshape(x.shape[0], *out_hw, weight.shape[0]).transpose(0, 3, 1, 2)


def conv2d_plain_grads(x, weight, g, stride, padding, dilation):
    """(dL/dx, dL/dw, dL/dbias) of conv2d on arrays, for the upstream gradient g:
    col2im(G @ W), G^T @ cols and the sum of g; conv_transpose2d(g, w) is the first."""
    kernel, out_hw = weight.shape[2:], g.shape[2:]
    rows = g.transpose(0, 2, 3, 1).reshape(-1, weight.shape[0])  # G (N*OH*OW, O)
    matrix = weight.reshape(weight.shape[0], -1)  # W (O, C*kh*kw)
    grad_x = col2im(rows @ matrix, x.shape[2:], kernel, stride, padding, dilation, out_hw)
    cols = im2col(x, kernel, stride, padding, dilation, out_hw)
    grad_w = (rows.T @ cols).reshape(weight.shape)
    return grad_x, grad_w, g.sum(axis=(0, 2, 3))


# ----------------------------------------------------------------------------------
# 2. the fast path: the same products, one named speed-up at a time
# ----------------------------------------------------------------------------------


# Step 1, channels-last windows. The padded input is laid out (N, H, W, C): each window
# row of cols is then kh*kw runs of C contiguous numbers (columns ordered (i, j, c)),
# and all windows are read through one as_strided view and copied once, instead of
# kh*kw strided slices, a stack and a transposing copy.


def _channels_last(x):
    """An NCHW array viewed as (N, H, W, C) (a copy-free transpose)."""
    return x.transpose(0, 2, 3, 1)


def _channels_first(x):
    """An (N, H, W, C) array viewed as NCHW (a copy-free transpose)."""
    return x.transpose(0, 3, 1, 2)


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


# Step 2, channels-last outputs. cols @ W^T is (N*OH*OW, O), i.e. (N, OH, OW, O): it is
# returned as an NCHW *view* of that product (no transposing copy). NumPy and CuPy
# follow any strides, elementwise ops keep the layout, and _pixel_rows reads such a
# tensor back as the matrix (N*OH*OW, C) for free, so the next conv needs no copy.


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


def _conv_weight_grad(cols, grad, weight_shape):
    """dL/dw of conv2d: g^T @ cols, reshaped to (O, C, kh, kw)."""
    xp = backend.get_array_module(cols)
    out, channels, kh, kw = weight_shape
    grad_w = (_pixel_rows(grad).T @ cols).reshape(out, kh, kw, channels)
    return xp.ascontiguousarray(grad_w.transpose(0, 3, 1, 2))


# Steps 3 to 5, the input gradient (and conv_transpose2d's forward). Step 3: G @ W as one
# batched GEMM, a (N*OH*OW, O) @ (O, C) product per kernel offset, so each offset's
# part is a contiguous slab that col2im adds with one slice-add. Step 4: when the
# stride s divides kw, the s offsets j = q s .. q s + s - 1 of a kernel row write
# interleaved columns that together form one contiguous block, so they share one
# (O, s*C) product and one slice-add. Step 5: col2im starts from the bias.


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
    group of s (_column_group); for single offsets, window_slices."""
    if group == 1:
        return window_slices(kernel, stride, dilation, out_hw)
    rows = offset_slices(kernel[0], stride[0], dilation[0], out_hw[0])
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
    rows, matrices = _pixel_rows(grad), blocks.reshape(-1, out, group * channels)
    # Step 7: with one output channel (a critic's last layer) the product has an inner
    # size of 1, which NumPy's matmul does without BLAS: a broadcast multiply is exact.
    slabs = rows * matrices if out == 1 else xp.matmul(rows, matrices)
    out_hw = grad.shape[2:]
    return _col2im(slabs, hw, (kh, kw), stride, padding, dilation, out_hw, group, bias)


def _transpose_output_padding(hw, out_hw, kernel, stride, padding, dilation):
    """The output_padding that makes conv_transpose2d give back size hw from out_hw."""
    return tuple(
        hw[k] - ((out_hw[k] - 1) * stride[k] - 2 * padding[k] + dilation[k] * (kernel[k] - 1) + 1)
        for k in range(2)
    )


# ----------------------------------------------------------------------------------
# 3. conv2d, conv_transpose2d and the weight gradient they share
# ----------------------------------------------------------------------------------


def _check_weight(x, weight, bias, op_name, channels_axis):
    """Check a conv weight against the input's channels and the bias against its outputs."""
    check_4d(x, op_name)
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


class Conv2d(Function):
    """y = conv2d(x, w) + bias (see the module docstring for the sums).

    dL/dx = conv_transpose2d(g, w)   dL/dw = Conv2dWeightGrad(x, g)   dL/dbias = sum_{n,h,w} g
    """

    def __init__(self, stride, padding, dilation):
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x, weight, bias=None):
        kernel = weight.shape[2:]
        out_hw = output_hw(x.shape[2:], kernel, self.stride, self.padding, self.dilation, "conv2d")
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
    stride = pair(stride, "stride", "conv2d", 1)
    padding = pair(padding, "padding", "conv2d", 0)
    dilation = pair(dilation, "dilation", "conv2d", 1)
    _check_weight(input, weight, bias, "conv2d", channels_axis=1)
    output_hw(input.shape[2:], weight.shape[2:], stride, padding, dilation, "conv2d")
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return Conv2d(stride, padding, dilation)(*inputs)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    """Transposed convolution of NCHW input with weight (C_in, C_out, kh, kw) (torch's).

    Output size: (H - 1) s - 2p + d (kh - 1) + output_padding + 1.
    """
    stride = pair(stride, "stride", "conv_transpose2d", 1)
    padding = pair(padding, "padding", "conv_transpose2d", 0)
    output_padding = pair(output_padding, "output_padding", "conv_transpose2d", 0)
    dilation = pair(dilation, "dilation", "conv_transpose2d", 1)
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
