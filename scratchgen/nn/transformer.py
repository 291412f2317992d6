"""Multi-head attention, the Transformer encoder layer and the encoder (a stack of
layers), with torch's layouts.

MultiheadAttention(E, H): the queries, keys and values are projected by one packed
weight in_proj_weight (3E, E) = [W_q; W_k; W_v] and bias in_proj_bias (3E,), split
into H heads of size d = E / H, attended per head and merged by out_proj (a Linear):

    head_h = softmax(Q_h K_h^T / sqrt(d) + mask) V_h,   y = [head_1 ... head_H] W_o^T + b_o

Gradients come from the ops it is made of (linear, matmul, softmax).
Initialisation as torch: in_proj_weight xavier_uniform_, in_proj_bias and out_proj.bias
zero, out_proj.weight Linear's default.
"""

import copy
import math

from scratchgen import backend
from scratchgen.creation import empty
from scratchgen.nn import functional as F
from scratchgen.nn import init
from scratchgen.nn.containers import ModuleList
from scratchgen.nn.dropout import Dropout
from scratchgen.nn.linear import Linear
from scratchgen.nn.module import Module
from scratchgen.nn.norm import LayerNorm
from scratchgen.nn.parameter import Parameter
from scratchgen.ops.attention import masked_softmax


class MultiheadAttention(Module):
    """Attention with num_heads heads over sequences of embed_dim features.

    Inputs are (L, N, E), or (N, L, E) with batch_first=True. forward returns
    (output, weights): weights (N, L, S) averaged over the heads (per head (N, H, L, S)
    with average_attn_weights=False), or None when need_weights=False.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, *, batch_first=False):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                f"num_heads ({num_heads})"
            )
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim))
        self.register_parameter("in_proj_bias", Parameter(empty(3 * embed_dim)) if bias else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        """xavier_uniform_ for in_proj_weight, zeros for the biases."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights=True,
        attn_mask=None,
        average_attn_weights=True,
    ):
        """Attend from query (L queries) to key/value (S positions).

        key_padding_mask (N, S): True (bool) marks a padded key to ignore, or a float
        mask added to the scores. attn_mask (L, S) or (N * num_heads, L, S): True (bool)
        forbids attending there, or floats added to the scores. A query whose keys are
        all masked gets zero weights and a zero attention output (torch gives NaN).
        """
        self._check_inputs(query, key, value)
        if not self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        batch, length, source_length = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = (
            self._split_heads(self._project(x, i)) for i, x in enumerate((query, key, value))
        )
        scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        attn_mask = _heads_view(attn_mask, batch, self.num_heads, length, source_length)
        scores, keep = _apply_mask(scores, None, attn_mask)
        if key_padding_mask is not None:
            _check_padding_mask(key_padding_mask, batch, source_length)
            padding = key_padding_mask.reshape(batch, 1, 1, source_length)
            scores, keep = _apply_mask(scores, keep, padding)
        weights = masked_softmax(scores, keep)
        weights = F.dropout(weights, self.dropout, self.training)
        output = (weights @ v).transpose(1, 2).reshape(batch, length, self.embed_dim)
        output = self.out_proj(output)
        if not self.batch_first:
            output = output.transpose(0, 1)
        if not need_weights:
            return output, None
        return output, weights.mean(dim=1) if average_attn_weights else weights

    def _split_heads(self, x):
        """(N, L, E) -> (N, H, L, d)."""
        return x.reshape(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def _project(self, x, index):
        """x W^T + b with the index-th (0: query, 1: key, 2: value) block of in_proj."""
        rows = slice(index * self.embed_dim, (index + 1) * self.embed_dim)
        bias = None if self.in_proj_bias is None else self.in_proj_bias[rows]
        return F.linear(x, self.in_proj_weight[rows], bias)

    def _check_inputs(self, query, key, value):
        name = type(self).__name__
        for label, x in (("query", query), ("key", key), ("value", value)):
            if x.ndim != 3 or x.shape[-1] != self.embed_dim:
                layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
                raise ValueError(
                    f"{name}: expected {label} of shape {layout} with E = embed_dim = "
                    f"{self.embed_dim}, got shape {x.shape}"
                )
        if key.shape != value.shape:
            raise ValueError(
                f"{name}: expected key and value of the same shape, got {key.shape} "
                f"and {value.shape}"
            )


def _heads_view(attn_mask, batch, num_heads, length, source_length):
    """attn_mask (L, S) or (N * H, L, S) as something that broadcasts to (N, H, L, S)."""
    if attn_mask is None or attn_mask.ndim == 2:
        return attn_mask
    if attn_mask.shape != (batch * num_heads, length, source_length):
        raise ValueError(
            f"MultiheadAttention: expected attn_mask of shape (L, S) = "
            f"{(length, source_length)} or (N * num_heads, L, S) = "
            f"{(batch * num_heads, length, source_length)}, got {attn_mask.shape}"
        )
    return attn_mask.reshape(batch, num_heads, length, source_length)


def _check_padding_mask(key_padding_mask, batch, source_length):
    if key_padding_mask.shape != (batch, source_length):
        raise ValueError(
            f"MultiheadAttention: expected key_padding_mask of shape (N, S) = "
            f"{(batch, source_length)}, got {key_padding_mask.shape}"
        )


def _apply_mask(scores, keep, mask):
    """Add a float mask to the scores, or fold a boolean one (True = masked) into keep."""
    if mask is None:
        return scores, keep
    if mask.dtype != backend.bool_:
        return scores + mask.to(dtype=scores.dtype), keep
    allowed = ~mask.data
    return scores, allowed if keep is None else keep & allowed


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward network, each with a residual connection.

    norm_first=False (post-LN, the original):  x = norm1(x + SA(x));  x = norm2(x + FF(x))
    norm_first=True  (pre-LN):                 x = x + SA(norm1(x));  x = x + FF(norm2(x))
    with FF(x) = linear2(dropout(activation(linear1(x)))), activation "relu", "gelu" or
    a callable. Submodule names are torch's, so state dicts are interchangeable.
    """

    def __init__(
        self,
        d_model,
        nhead,
        dim_feedforward=2048,
        dropout=0.1,
        activation="relu",
        layer_norm_eps=1e-5,
        batch_first=False,
        norm_first=False,
        bias=True,
    ):
        super().__init__()
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, src, src_mask=None, src_key_padding_mask=None):
        """src (S, N, E), or (N, S, E) with batch_first; masks as in MultiheadAttention."""
        x = src
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask))
        return self.norm2(x + self._feed_forward(x))

    def _self_attention(self, x, attn_mask, key_padding_mask):
        x = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False
        )[0]
        return self.dropout1(x)

    def _feed_forward(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerEncoder(Module):
    """num_layers deep copies of encoder_layer applied in turn, then norm (if given):

        x = layers[num_layers - 1](... layers[0](src)),   y = norm(x)

    The copies start from the same weights and train apart; state-dict keys are torch's
    ("layers.0.self_attn.in_proj_weight", ..., "norm.weight"). enable_nested_tensor and
    mask_check choose torch's nested-tensor fast path; they are kept for compatibility
    (scratchgen has no such path: padded positions are computed like the others).
    """

    def __init__(
        self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True
    ):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """src (S, N, E), or (N, S, E) with batch_first; mask (the layers' src_mask) and
        src_key_padding_mask as in MultiheadAttention. is_causal=True is torch's hint that
        mask is the causal mask: the mask itself does the masking, so it must be given.
        """
        if is_causal and mask is None:
            raise RuntimeError(
                "TransformerEncoder: is_causal=True is a hint that mask is the causal mask; "
                "expected a mask, got None"
            )
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask)
        return x if self.norm is None else self.norm(x)


def _activation(activation):
    """F.relu / F.gelu for their names; a callable (a Module too) as it is."""
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if callable(activation):
        return activation
    raise ValueError(
        f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, "
        f"got {activation!r}"
    )
