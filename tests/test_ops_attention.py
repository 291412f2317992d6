"""scaled_dot_product_attention: gradients and torch conformance (no mask, boolean and
float masks, causal, custom scale), the softmax weights as properties, padding, bad input."""

import numpy as np
import pytest
from helpers import check_against_torch, check_op, to_sg
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from scratchgen.ops.attention import scaled_dot_product_attention as sdpa

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the torch halves of check_op skip cleanly
    torch = F = None


def random(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def qkv(batch=(2,), length=3, source_length=4, embed=5, value_embed=3):
    """Query (..., L, E), key (..., S, E), value (..., S, Ev) as float64 arrays."""
    return [
        random(*batch, length, embed, seed=1),
        random(*batch, source_length, embed, seed=2),
        random(*batch, source_length, value_embed, seed=3),
    ]


def boolean_mask(length=3, source_length=4, seed=4):
    """A random keep-mask with at least one key kept in every row."""
    keep = np.random.default_rng(seed).random((length, source_length)) < 0.6
    keep[:, 0] = True
    return keep


def torch_sdpa(**kwargs):
    return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs)


# ----------------------------------------------------------------------------------
# gradients and torch conformance
# ----------------------------------------------------------------------------------


def test_attention(device):
    check_op(sdpa, torch_sdpa(), qkv(), device)


def test_attention_with_heads_and_scale(device):
    check_op(
        lambda q, k, v: sdpa(q, k, v, scale=0.3),
        torch_sdpa(scale=0.3),
        qkv(batch=(2, 2), length=2, source_length=3, embed=4, value_embed=2),
        device,
    )


def test_attention_with_boolean_mask(device):
    keep = boolean_mask()
    check_op(
        lambda q, k, v: sdpa(q, k, v, attn_mask=sg.tensor(keep, device=device)),
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(keep)),
        qkv(),
        device,
    )


def test_attention_with_float_mask_and_its_gradient(device):
    check_op(
        lambda q, k, v, mask: sdpa(q, k, v, attn_mask=mask),
        lambda q, k, v, mask: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        qkv() + [random(3, 4, seed=5)],
        device,
    )


@pytest.mark.parametrize("length, source_length", [(4, 4), (3, 5)])
def test_causal_attention(length, source_length, device):
    check_op(
        lambda q, k, v: sdpa(q, k, v, is_causal=True),
        torch_sdpa(is_causal=True),
        qkv(length=length, source_length=source_length),
        device,
    )


def test_float32_matches_torch(device):
    keep = boolean_mask(length=6, source_length=7)
    check_against_torch(
        lambda q, k, v: sdpa(q, k, v, attn_mask=sg.tensor(keep, device=device)),
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(keep)),
        qkv(batch=(2, 4), length=6, source_length=7, embed=8, value_embed=8),
        device,
        dtype=np.float32,
    )


def test_fully_masked_row_gives_zeros_as_torch(device):
    keep = boolean_mask()
    keep[1] = False
    minus_inf = np.where(keep, 0.0, -np.inf)
    for mask in [keep, minus_inf]:
        check_against_torch(
            lambda q, k, v, m=mask: sdpa(q, k, v, attn_mask=sg.tensor(m, device=device)),
            lambda q, k, v, m=mask: F.scaled_dot_product_attention(
                q, k, v, attn_mask=torch.tensor(m)
            ),
            qkv(),
            device,
        )
    q, k, v = to_sg(qkv(), device)
    out = sdpa(q, k, v, attn_mask=sg.tensor(keep, device=device))
    out.backward(sg.tensor(random(*out.shape), device=device))
    assert np.all(out.numpy()[:, 1] == 0)
    assert all(np.all(np.isfinite(t.grad.numpy())) for t in (q, k, v))


def test_double_backward(device):
    keep = boolean_mask()
    assert sg.gradgradcheck(
        lambda q, k, v: sdpa(q, k, v, attn_mask=sg.tensor(keep, device=device)),
        to_sg(qkv(embed=2, value_embed=2), device),
    )


# ----------------------------------------------------------------------------------
# properties: the weights are a softmax over the kept keys
# ----------------------------------------------------------------------------------


def attention_weights(q, k, device, **kwargs):
    """The weights P themselves: attention with the identity as values gives P I = P."""
    source_length = k.shape[-2]
    identity = sg.tensor(np.eye(source_length), device=device)
    return sdpa(sg.tensor(q, device=device), sg.tensor(k, device=device), identity, **kwargs)


@st.composite
def queries_and_keys(draw):
    length, source_length, embed = (draw(st.integers(1, 5)) for _ in range(3))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.floats(0.1, 30.0))  # large scales: near-one-hot rows, exp must not overflow
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((2, length, embed)) * scale
    k = rng.standard_normal((2, source_length, embed)) * scale
    keep = rng.random((2, 1, source_length)) < 0.7
    return q, k, keep


@given(data=queries_and_keys(), causal=st.booleans())
def test_weights_are_a_distribution(data, causal, device):
    q, k, _ = data
    weights = attention_weights(q, k, device, is_causal=causal).numpy()
    assert np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1, rtol=1e-12)
    if causal:
        assert np.all(np.triu(weights, k=1) == 0)


@given(data=queries_and_keys())
def test_padded_keys_get_no_weight(data, device):
    q, k, keep = data
    mask = sg.tensor(keep, device=device)
    weights = attention_weights(q, k, device, attn_mask=mask).numpy()
    keep_full = np.broadcast_to(keep, weights.shape)
    assert np.all(weights[~keep_full] == 0)
    has_keys = keep.any(axis=-1).squeeze(-1)
    np.testing.assert_allclose(weights[has_keys].sum(axis=-1), 1, rtol=1e-12)
    assert np.all(weights[~has_keys] == 0)


@given(data=queries_and_keys(), seed=st.integers(0, 2**32 - 1))
def test_padded_values_do_not_change_the_output(data, seed, device):
    q, k, keep = data
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(k.shape[:-1] + (3,))
    padded = ~keep[:, 0, :]  # (batch, source_length)
    k_changed, v_changed = k.copy(), v.copy()
    k_changed[padded] = rng.standard_normal(k_changed[padded].shape) * 1e3
    v_changed[padded] = rng.standard_normal(v_changed[padded].shape) * 1e3
    mask = sg.tensor(keep, device=device)
    q, k, v, k_changed, v_changed = (
        sg.tensor(a, device=device) for a in (q, k, v, k_changed, v_changed)
    )
    before = sdpa(q, k, v, attn_mask=mask).numpy()
    after = sdpa(q, k_changed, v_changed, attn_mask=mask).numpy()
    np.testing.assert_allclose(after, before, rtol=1e-12, atol=1e-12)


def test_dropout_zeroes_weights_or_scales_them_up(device):
    q, k = random(2, 6, 4, seed=1), random(2, 7, 4, seed=2)
    sg.manual_seed(0)
    dropped = attention_weights(q, k, device, dropout_p=0.4).numpy()
    full = attention_weights(q, k, device).numpy()
    zeroed = dropped == 0
    assert 0 < zeroed.mean() < 1
    np.testing.assert_allclose(dropped[~zeroed], full[~zeroed] / 0.6, rtol=1e-12)


# ----------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------


def test_rejects_mismatched_query_and_key(device):
    q, k, v = (sg.randn(2, 3, d, device=device) for d in (5, 4, 4))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*5.*4"):
        sdpa(q, k, v)


def test_rejects_mismatched_key_and_value(device):
    q, k, v = (sg.randn(*shape, device=device) for shape in [(3, 4), (5, 4), (6, 2)])
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*positions.*5.*6"):
        sdpa(q, k, v)


def test_rejects_a_mask_that_does_not_broadcast(device):
    q, k, v = to_sg(qkv(), device)
    with pytest.raises(ValueError, match="scaled_dot_product_attention.*attn_mask"):
        sdpa(q, k, v, attn_mask=sg.ones(3, 5, dtype=sg.bool_, device=device))


def test_rejects_causal_with_a_mask(device):
    q, k, v = to_sg(qkv(), device)
    with pytest.raises(ValueError, match="scaled_dot_product_attention.*is_causal"):
        sdpa(q, k, v, attn_mask=sg.ones(3, 4, dtype=sg.bool_, device=device), is_causal=True)
