"""Matrix multiplication with NumPy's batch broadcasting.

For y = a @ b on the last two axes (batch axes broadcast):
    dL/da = sum_to(g @ b^T, a.shape),   dL/db = sum_to(a^T @ g, b.shape)
where ^T swaps the last two axes. A 1-D operand is treated as a row (left) or a
column (right) vector and that axis is dropped from the result, as in torch.
"""

from scratchgen import backend
from scratchgen.ops.elementwise import as_operand
from scratchgen.ops.shape import broadcast_shapes, squeeze, sum_to, transpose, unsqueeze
from scratchgen.tensor import Function, Tensor


class MatMul(Function):
    """y = a @ b for operands with at least two axes.  dL/da = g @ b^T, dL/db = a^T @ g.

    With an inner size of 1, y[i, j] = a[i, 0] b[0, j] is an outer product: a broadcast
    multiply gives the same numbers ten times faster than NumPy's matmul (the gradient
    of a Linear layer with one output, as a GAN discriminator's last layer).
    """

    def forward(self, a, b):
        if a.shape[-1] == 1:
            return a * b
        return backend.get_array_module(a).matmul(a, b)

    def backward(self, gy):
        a, b = self.inputs
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = sum_to(matmul(gy, transpose(b, -1, -2)), a.shape)
        if self.needs_input_grad[1]:
            grad_b = sum_to(matmul(transpose(a, -1, -2), gy), b.shape)
        return grad_a, grad_b


def _as_tensors(a, b):
    """Both operands as Tensors: a NumPy array (``array @ tensor``) takes the other's device."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(
            f"matmul: expected at least one Tensor operand, got {type(a).__name__} and "
            f"{type(b).__name__}"
        )
    if not isinstance(a, Tensor):
        a = as_operand(a, b, "matmul")
    return a, as_operand(b, a, "matmul")


def matmul(a, b):
    """Matrix product a @ b (1-D vectors, 2-D matrices, batches that broadcast)."""
    a, b = _as_tensors(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: expected operands with at least one axis, got shapes {a.shape} and {b.shape}"
        )
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not fit: expected a.shape[-1] == "
            f"b.shape[-2] (b.shape[0] for a vector), got {a.shape[-1]} and "
            f"{b.shape[-2 if b.ndim > 1 else 0]}"
        )
    if b.ndim == 1:  # first, so that vector @ vector ends as (1, k) @ (k, 1)
        return squeeze(matmul(a, unsqueeze(b, -1)), -1)
    if a.ndim == 1:
        return squeeze(matmul(unsqueeze(a, 0), b), -2)
    broadcast_shapes(a.shape[:-2], b.shape[:-2], op_name="matmul (batch axes)")
    return MatMul()(a, b)
