"""Pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d.

Each op walks the kh*kw kernel offsets, each a strided slice of the padded input
(ops/window.py): a running max or sum forward, the matching slice-adds backward. Max
pooling finds its arg-max masks only in backward, so inference never pays for them.
"""

from scratchgen import backend
from scratchgen.ops.linalg import matmul
from scratchgen.ops.reduce import mean
from scratchgen.ops.shape import reshape
from scratchgen.ops.window import check_4d, output_hw, pad_nchw, pair, window_slices
from scratchgen.tensor import Function, Tensor


def _pool_geometry(x, kernel_size, stride, padding, op_name):
    """Checked (kernel, stride, padding, out_hw) of a pooling op (torch's rules)."""
    check_4d(x, op_name)
    kernel = pair(kernel_size, "kernel_size", op_name, 1)
    stride = kernel if stride is None else pair(stride, "stride", op_name, 1)
    padding = pair(padding, "padding", op_name, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(
            f"{op_name}: expected padding at most half the kernel size {kernel}, got {padding}"
        )
    out_hw = output_hw(x.shape[2:], kernel, stride, padding, (1, 1), op_name)
    return kernel, stride, padding, out_hw


class _Pooling(Function):
    """Shared geometry of the pooling Functions: windows over a padded NCHW input."""

    def __init__(self, kernel, stride, padding, hw, out_hw):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.hw, self.out_hw = hw, out_hw

    def geometry(self):
        return self.kernel, self.stride, self.padding, self.hw, self.out_hw

    def windows(self):
        return window_slices(self.kernel, self.stride, (1, 1), self.out_hw)

    def padded_zeros(self, like):
        """Zeros of the padded input's shape in the memory layout of ``like`` (the incoming
        gradient: channels-last below a convolution), so the gradients computed from the
        result do not mix layouts."""
        xp = backend.get_array_module(like)
        (h, w), (ph, pw) = self.hw, self.padding
        return xp.zeros_like(like, shape=(*like.shape[:2], h + 2 * ph, w + 2 * pw))

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
        self.padded = pad_nchw(x, self.padding, -xp.inf)
        best = None
        for rows, cols in self.windows():
            window = self.padded[:, :, rows, cols]
            best = window.copy() if best is None else xp.maximum(best, window, out=best)
        return best

    def backward(self, gy):
        return _MaxPoolScatter(self.argmax_masks(), *self.geometry())(gy)

    def argmax_masks(self):
        """A list: masks[k] is True where kernel offset k holds the window's first maximum."""
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
        return masks


class _MaxPoolScatter(_Pooling):
    """dx = g sent to the arg-max position of each window: padded_slice_k += g * masks[k]
    (a linear map of g). Its adjoint, _MaxPoolGather, picks the value at each arg-max.
    """

    def __init__(self, masks, *geometry):
        super().__init__(*geometry)
        self.masks = masks

    def forward(self, g):
        if self.tiles():
            return self.scatter_tiles(g)
        padded = self.padded_zeros(g)
        for k, (rows, cols) in enumerate(self.windows()):
            padded[:, :, rows, cols] += g * self.masks[k]
        return self.crop(padded)

    def tiles(self):
        """True when the windows tile the input: stride = kernel, no padding, and the
        kernel divides the height and the width (max_pool2d(x, 2) on even sizes)."""
        (kh, kw), (h, w) = self.kernel, self.hw
        return self.stride == self.kernel and self.padding == (0, 0) and h % kh == w % kw == 0

    def scatter_tiles(self, g):
        """Speed-up of forward when the windows tile the input: every input pixel lies in
        exactly one window, so offset k's slice is written once, g * masks[k], with no
        zero-filled buffer to add into (dx in g's layout, as ``padded_zeros``). Equal
        values. Measured 2026-12-07, with the zero buffer then in NCHW: max-pool forward +
        backward on CLIP's 256x32x28x28, 45.6 -> 33.0 ms; the CLIP full step
        (bench_models, 3 rounds) 359 -> 284 ms, ratio to PyTorch 1.93 -> 1.58, most of it
        from the ReLU and batch-norm gradients under it no longer mixing layouts."""
        xp = backend.get_array_module(g)
        dx = xp.empty_like(g, shape=(*g.shape[:2], *self.hw))
        for k, (rows, cols) in enumerate(self.windows()):
            xp.multiply(g, self.masks[k], out=dx[:, :, rows, cols])
        return dx

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
        padded = pad_nchw(x, self.padding, 0)
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
        padded = pad_nchw(x, self.padding, 0)
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
    check_4d(input, "adaptive_avg_pool2d")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(
            f"adaptive_avg_pool2d: expected output_size to be an int or a pair, got {output_size!r}"
        )
    sizes = tuple(input.shape[2 + k] if s is None else s for k, s in enumerate(sizes))
    pair(sizes, "output_size", "adaptive_avg_pool2d", 1)
    (n, c, h, w), (oh, ow) = input.shape, sizes
    if h % oh == 0 and w % ow == 0:
        blocks = reshape(input, (n, c, oh, h // oh, ow, w // ow))
        return mean(blocks, (3, 5))
    xp = backend.get_array_module(input.data)
    rows = Tensor(_adaptive_bins(h, oh, input.dtype, xp))
    cols = Tensor(_adaptive_bins(w, ow, input.dtype, xp).T)
    return matmul(matmul(rows, input), cols)
