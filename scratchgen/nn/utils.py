"""Gradient clipping, as ``torch.nn.utils``: ``from scratchgen.nn.utils import clip_grad_norm_``.

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()

Both work in place on the gradients already computed (``p.grad``), writing into their raw
arrays, and skip parameters without a gradient. ``foreach`` is accepted for torch
compatibility: scratchgen has one code path, a loop over the gradients.
"""

from scratchgen import backend
from scratchgen.creation import zeros
from scratchgen.tensor import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients so that their total norm is at most max_norm; return that total
    norm (before clipping) as a 0-d Tensor.

    The total norm is the norm of the vector of all gradients, computed as torch does: the
    norm of the per-gradient norms, ||(||g_1||_q, ..., ||g_k||_q)||_q, with q = norm_type
    (inf: the largest |g|). Every gradient is multiplied by
    min(max_norm / (total_norm + 1e-6), 1). A NaN or infinite total norm is an error when
    error_if_nonfinite, and otherwise scales the gradients by it as in torch.
    """
    max_norm = _number(max_norm, "max_norm", "clip_grad_norm_")
    norm_type = _number(norm_type, "norm_type", "clip_grad_norm_")
    grads = _gradients(parameters, "clip_grad_norm_")
    if not grads:
        return zeros(())
    xp = backend.get_array_module(grads[0])
    norms = [xp.linalg.norm(grad.reshape(-1), norm_type) for grad in grads]
    total_norm = xp.asarray(xp.linalg.norm(xp.stack(norms), norm_type))
    if error_if_nonfinite and not bool(xp.isfinite(total_norm)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"non-finite ({float(total_norm)}), so it cannot be clipped; set "
            "error_if_nonfinite=False to scale the gradients by it anyway"
        )
    clip_coef = xp.minimum(max_norm / (total_norm + 1e-6), 1.0)
    for grad in grads:
        grad *= clip_coef.astype(grad.dtype)
    return Tensor(total_norm)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient, element by element, to [-clip_value, clip_value]."""
    clip_value = _number(clip_value, "clip_value", "clip_grad_value_")
    for grad in _gradients(parameters, "clip_grad_value_"):
        backend.get_array_module(grad).clip(grad, -clip_value, clip_value, out=grad)


def _gradients(parameters, op_name):
    """The raw gradient arrays of parameters (one Tensor or an iterable) that have one."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for param in parameters:
        if not isinstance(param, Tensor):
            raise TypeError(
                f"{op_name}: expected parameters as Tensors, got {type(param).__name__}"
            )
        if param.grad is not None:
            grads.append(param.grad.data)
    return grads


def _number(value, setting, op_name):
    """value as a float, or torch's error type with a message naming the setting."""
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{op_name}: expected a number for {setting}, got {value!r}") from None
