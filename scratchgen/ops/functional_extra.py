"""Layer functions: linear, dropout, dropout2d, embedding, normalize.

linear:     y = x W^T + b              dL/dx = g W,  dL/dW = g^T x,  dL/db = sum g
dropout:    y = x m / (1 - p)          dL/dx = g m / (1 - p),  m ~ Bernoulli(1 - p)
dropout2d:  the same with one m per channel (n, c), shared by all its positions
embedding:  y[...] = W[i[...]]         dL/dW[v] = sum of g over the positions where i = v
normalize:  y = x / max(||x||_p, eps)  (autodiff through PNorm, clamp and div)
"""

import math

from scratchgen import backend
from scratchgen.ops.elementwise import abs, clamp, where
from scratchgen.ops.linalg import matmul
from scratchgen.ops.shape import IndexAdd, _normalize_dim, reshape, transpose
from scratchgen.tensor import Function, Tensor, maybe_in_place

# ----------------------------------------------------------------------------------
# linear
# ----------------------------------------------------------------------------------


class Linear(Function):
    """y = x W^T + b for x (..., in), W (out, in), b (out,) (b optional).

    With the leading axes of x and g flattened into one (rows r):
    dL/dx = g W,   dL/dW = sum_r g_r^T x_r = g^T x,   dL/db = sum_r g_r.
    """

    def forward(self, x, weight, bias=None):
        rows = x.reshape(-1, x.shape[-1])  # one GEMM whatever the leading axes
        y = rows @ weight.T
        if bias is not None:
            y += bias
        return y.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, gy):
        x, weight = self.inputs[:2]
        g_rows = reshape(gy, (-1, weight.shape[0]))
        grad_x = grad_weight = grad_bias = None
        if self.needs_input_grad[0]:
            grad_x = reshape(matmul(g_rows, weight), x.shape)
        if self.needs_input_grad[1]:
            grad_weight = matmul(transpose(g_rows, 0, 1), reshape(x, (-1, x.shape[-1])))
        if len(self.inputs) == 3 and self.needs_input_grad[2]:
            grad_bias = g_rows.sum(0)
        return grad_x, grad_weight, grad_bias


def linear(input, weight, bias=None):
    """Affine map y = x W^T + b over the last axis; any number of leading axes."""
    if weight.ndim != 2:
        raise ValueError(f"linear: expected a 2-D weight (out, in), got shape {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: expected input with {weight.shape[1]} features (weight.shape[1]) in its "
            f"last axis, got shape {input.shape}"
        )
    tensors = (input, weight) if bias is None else (input, weight, bias)
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(
            "linear: expected input, weight and bias of one dtype, got "
            + ", ".join(str(t.dtype) for t in tensors)
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(
            f"linear: expected a bias of shape ({weight.shape[0]},) (weight.shape[0]), "
            f"got {bias.shape}"
        )
    return Linear()(*tensors)


# ----------------------------------------------------------------------------------
# dropout
# ----------------------------------------------------------------------------------


class Dropout(Function):
    """y = x s with s = m / (1 - p), m a 0/1 mask kept with probability 1 - p (inverted
    dropout: E[y] = x, so evaluation needs no rescaling).  dL/dx = g s, the same mask.

    s has x's shape (dropout) or broadcasts against it ((N, C, 1, 1): dropout2d)."""

    def __init__(self, scale):
        self.scale = scale

    def forward(self, x):
        return x * self.scale

    def backward(self, gy):
        return gy * Tensor(self.scale)


def _check_dropout(input, p, op_name):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op_name}: probability p must be in [0, 1], got {p}")
    if not backend.is_floating(input.dtype):
        raise TypeError(f"{op_name}: expected a floating-point tensor, got dtype {input.dtype}")


def _kept_scale(input, p, mask_shape):
    """s = m / (1 - p) of mask_shape, m ~ Bernoulli(1 - p), from the device's generator."""
    xp = backend.get_array_module(input.data)
    if p == 1.0:
        return xp.zeros(mask_shape, dtype=input.dtype)
    uniform = backend.generator(input.device).random(mask_shape, dtype=backend.float32)
    return (uniform >= p).astype(input.dtype) * (1.0 / (1.0 - p))


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p) while
    training; the identity when training is False. The mask is drawn from
    backend.generator(input.device), so sg.manual_seed makes it reproducible.

    inplace=True writes the result into input (``tensor.in_place``, torch's rules).
    """
    _check_dropout(input, p, "dropout")
    if not training or p == 0.0:
        return input
    function = Dropout(_kept_scale(input, p, input.shape))
    return maybe_in_place(input, inplace, "dropout", function)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero each whole channel input[n, c] with probability p and scale the kept ones by
    1 / (1 - p) while training; the identity when training is False. Input (N, C, H, W),
    or (N, C, L), whose channels torch's dropout2d also drops whole (as dropout1d).

    y = x m[n, c] / (1 - p), dL/dx = g m[n, c] / (1 - p): the same mask (``Dropout``).
    inplace=True writes the result into input (``tensor.in_place``, torch's rules).
    """
    _check_dropout(input, p, "dropout2d")
    if input.ndim not in (3, 4):
        raise ValueError(
            f"dropout2d: expected input of shape (N, C, H, W) or (N, C, L), got shape {input.shape}"
        )
    if not training or p == 0.0:
        return input
    mask_shape = input.shape[:2] + (1,) * (input.ndim - 2)
    function = Dropout(_kept_scale(input, p, mask_shape))
    return maybe_in_place(input, inplace, "dropout2d", function)


# ----------------------------------------------------------------------------------
# embedding
# ----------------------------------------------------------------------------------


class Embedding(Function):
    """y[..., :] = W[i[...], :] for integer indices i (a constant).

    dL/dW = zeros with each g[..., :] added into row i[...] (a scatter-add: a row used
    twice gets both gradients); the row padding_idx, if given, gets no gradient.
    """

    def __init__(self, indices, padding_idx):
        self.indices = indices
        self.padding_idx = padding_idx

    def forward(self, weight):
        self.weight_shape = weight.shape
        return weight[self.indices]

    def backward(self, gy):
        grad = IndexAdd((self.indices,), self.weight_shape)(gy)
        if self.padding_idx is None:
            return grad
        xp = backend.get_array_module(gy.data)
        keep_row = xp.ones((self.weight_shape[0], 1), dtype=gy.dtype)
        keep_row[self.padding_idx] = 0
        return grad * Tensor(keep_row)


def embedding(input, weight, padding_idx=None):
    """Look up rows of weight (num_embeddings, dim) at integer indices: output shape
    input.shape + (dim,). padding_idx names a row that receives no gradient (negative
    counts from the end, as in torch).
    """
    if not isinstance(input, Tensor):
        raise TypeError(
            f"embedding: expected the indices as a Tensor (sg.tensor(...)), got "
            f"{type(input).__name__}"
        )
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: expected integer indices (int64), got dtype {input.dtype}")
    if weight.ndim != 2:
        raise ValueError(
            f"embedding: expected a 2-D weight (num_embeddings, dim), got shape {weight.shape}"
        )
    rows = weight.shape[0]
    indices = input.data
    outside = (indices < 0) | (indices >= rows)
    if outside.any():
        raise IndexError(
            f"embedding: indices must be in [0, {rows - 1}] for a table of {rows} rows, "
            f"got {int(indices[outside].reshape(-1)[0])}"
        )
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(
                f"embedding: padding_idx must be in [{-rows}, {rows - 1}], got {padding_idx}"
            )
        padding_idx %= rows
    return Embedding(indices, padding_idx)(weight)


# ----------------------------------------------------------------------------------
# normalize
# ----------------------------------------------------------------------------------


class PNorm(Function):
    """n = (sum_i |x_i|^p)^(1/p) along dim (kept as size 1), for p >= 1.

    dn/dx_i = sign(x_i) |x_i|^(p-1) / n^(p-1), taken as 0 where n = 0 (the subgradient
    torch uses), so a zero vector gets a finite gradient.
    """

    def __init__(self, p, dim):
        self.p = p
        self.dim = dim

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.sign = xp.sign(x)
        powered = xp.abs(x) ** self.p
        return powered.sum(axis=self.dim, keepdims=True) ** (1.0 / self.p)

    def backward(self, gy):
        x = self.inputs[0]
        n = self.output()
        safe_n = where(Tensor(n.data > 0), n, 1.0)
        exponent = self.p - 1
        return gy * Tensor(self.sign) * abs(x) ** exponent / safe_n**exponent


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p, eps) along dim: unit p-norm vectors (zero vectors stay zero).

    p is a number >= 1 or math.inf (the largest |x_i|).
    """
    if not backend.is_floating(input.dtype):
        raise TypeError(f"normalize: expected a floating-point tensor, got dtype {input.dtype}")
    if not p >= 1:
        raise ValueError(f"normalize: p must be a number >= 1 or math.inf, got {p}")
    if input.ndim == 0:
        raise ValueError("normalize: expected a tensor with at least one axis, got a 0-d tensor")
    axis = _normalize_dim(dim, input.ndim, "normalize")
    if p == math.inf:
        norm = abs(input).amax(axis, keepdim=True)
    else:
        norm = PNorm(float(p), axis)(input)
    return input / clamp(norm, min=eps)
