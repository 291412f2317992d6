"""Scaled dot-product attention, composed from differentiable ops.

For queries Q (..., L, E), keys K (..., S, E) and values V (..., S, Ev):

    scores = Q K^T * scale (+ float mask),   scale = 1 / sqrt(E) by default
    P = softmax(scores) over the keys (masked keys get weight 0),   out = P V

Gradients come from the ops it is made of (matmul, exp, sum, div, where), so double
backward works. With dP the upstream gradient of P they amount to
    dV = P^T dO,   dP = dO V^T,   dS = P * (dP - sum_k dP * P),   dQ = dS K * scale,
    dK = dS^T Q * scale.

A query row whose keys are all masked out has no distribution to attend with: we give
it zero weights and a zero output row (as torch 2.13 does; older torch gave NaN), so
padding never poisons a batch with NaN.
"""

from scratchgen import backend
from scratchgen.ops.elementwise import as_operand, exp, where
from scratchgen.ops.linalg import matmul
from scratchgen.ops.reduce import sum
from scratchgen.ops.shape import broadcast_shapes, transpose
from scratchgen.tensor import Tensor


def masked_softmax(scores, keep=None):
    """Softmax over the last axis, only over the entries where keep is True.

    p_j = keep_j e^(s_j - m) / sum_k keep_k e^(s_k - m), m = the largest kept score.
    Subtracting m (a constant: softmax is shift-invariant, so it needs no gradient)
    keeps exp from overflowing. A row with nothing kept (every score -inf, or keep all
    False) gives zeros, not 0/0.  Gradient: dL/ds = p * (g - sum_k g_k p_k).
    """
    xp = backend.get_array_module(scores.data)
    if keep is not None:
        scores = where(Tensor(keep), scores, float("-inf"))
    shift = scores.data.max(axis=-1, keepdims=True)
    shift = xp.where(xp.isfinite(shift), shift, 0)  # an empty row: any finite shift
    weights = exp(scores - Tensor(shift))
    total = sum(weights, -1, keepdim=True)
    empty_row = (total.data == 0).astype(total.dtype)
    return weights / (total + Tensor(empty_row))


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None
):
    """softmax(Q K^T * scale + mask) V, as torch.nn.functional.scaled_dot_product_attention.

    attn_mask: a boolean Tensor (True = the key takes part) or a float Tensor added to
    the scores, broadcastable to (..., L, S). is_causal: query i sees keys j <= i.
    dropout_p: the probability of zeroing each attention weight (the others are scaled
    by 1 / (1 - dropout_p)); use 0 in evaluation. A fully masked row gives zeros.
    """
    _check_shapes(query, key, value)
    if is_causal and attn_mask is not None:
        raise ValueError(
            "scaled_dot_product_attention: expected attn_mask=None when is_causal=True, "
            "got an attn_mask too"
        )
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(
            f"scaled_dot_product_attention: expected 0 <= dropout_p < 1, got {dropout_p}"
        )
    xp = backend.get_array_module(query.data)
    if scale is None:
        scale = 1.0 / query.shape[-1] ** 0.5
    scores = matmul(query, transpose(key, -1, -2)) * scale
    keep = None
    if is_causal:
        length, source_length = query.shape[-2], key.shape[-2]
        keep = xp.tril(xp.ones((length, source_length), dtype=bool))
    elif attn_mask is not None:
        attn_mask = as_operand(attn_mask, query, "scaled_dot_product_attention")
        broadcast_shapes(
            attn_mask.shape, scores.shape, op_name="scaled_dot_product_attention (attn_mask)"
        )
        if attn_mask.dtype == backend.bool_:
            keep = attn_mask.data
        else:
            scores = scores + attn_mask
    weights = masked_softmax(scores, keep)
    if dropout_p > 0.0:
        weights = weights * Tensor(_dropout_mask(weights, dropout_p))
    return matmul(weights, value)


def _dropout_mask(weights, p):
    """1 / (1 - p) with probability 1 - p, else 0 (so the expected weight is unchanged)."""
    rng = backend.generator(weights.device)
    kept = rng.random(weights.shape) >= p
    return kept.astype(weights.dtype) / (1.0 - p)


def _check_shapes(query, key, value):
    name = "scaled_dot_product_attention"
    for label, t in [("query", query), ("key", key), ("value", value)]:
        if t.ndim < 2:
            raise ValueError(f"{name}: expected {label} with at least 2 axes, got {t.shape}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"{name}: expected query and key with the same last axis (embedding) size, got "
            f"{query.shape[-1]} (query {query.shape}) and {key.shape[-1]} (key {key.shape})"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"{name}: expected key and value with the same number of positions (axis -2), "
            f"got {key.shape[-2]} (key {key.shape}) and {value.shape[-2]} (value {value.shape})"
        )
    broadcast_shapes(
        query.shape[:-2], key.shape[:-2], value.shape[:-2], op_name=f"{name} (batch axes)"
    )
