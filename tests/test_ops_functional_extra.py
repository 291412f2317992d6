"""linear, dropout, embedding, normalize: gradchecks, torch conformance, properties."""

import math

import numpy as np
import pytest
from helpers import check_against_torch, check_op, to_sg, torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, shapes

import scratchgen as sg
from scratchgen import ops


def tf():
    """torch.nn.functional (the cases below only call it when torch is installed)."""
    return torch.nn.functional


def check_both_dtypes(sg_fn, torch_fn, arrays_, device):
    """Float64 gradcheck + torch comparison, then the float32 torch comparison."""
    check_op(sg_fn, torch_fn, arrays_, device)
    check_against_torch(sg_fn, torch_fn, arrays_, device, dtype=np.float32)


rng = np.random.default_rng(0)


# ----------------------------------------------------------------------------------
# linear
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("input_shape", [(3,), (2, 3), (2, 2, 3)], ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no_bias"])
def test_linear(input_shape, with_bias, device):
    arrays_ = [rng.standard_normal(input_shape), rng.standard_normal((4, 3))]
    if with_bias:
        arrays_.append(rng.standard_normal(4))
    check_both_dtypes(ops.linear, lambda *t: tf().linear(*t), arrays_, device)


def test_linear_second_derivatives(device):
    inputs = to_sg(
        [rng.standard_normal((2, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)], device
    )
    assert sg.gradgradcheck(lambda x, w, b: ops.linear(x, w, b).tanh(), inputs)


def test_linear_bad_input(device):
    x, w = sg.zeros(2, 3, device=device), sg.zeros(4, 5, device=device)
    with pytest.raises(
        ValueError,
        match=r"linear: expected input with 5 features "
        r"\(weight.shape\[1\]\) in its last axis, got shape",
    ):
        ops.linear(x, w)
    with pytest.raises(ValueError, match=r"linear: expected a 2-D weight"):
        ops.linear(x, sg.zeros(3, device=device))
    with pytest.raises(ValueError, match=r"linear: expected a bias of shape \(4,\)"):
        ops.linear(x, sg.zeros(4, 3, device=device), sg.zeros(3, device=device))
    with pytest.raises(TypeError, match="linear: expected input, weight and bias of one dtype"):
        ops.linear(x, sg.zeros(4, 3, dtype=sg.float64, device=device))


# ----------------------------------------------------------------------------------
# dropout
# ----------------------------------------------------------------------------------


def test_dropout_is_the_identity_in_evaluation_and_for_p0(device):
    x = sg.randn(4, 5, device=device, requires_grad=True)
    assert ops.dropout(x, 0.5, training=False) is x
    assert ops.dropout(x, 0.0) is x


def test_dropout_p1_gives_zeros_and_zero_gradients(device):
    x = sg.randn(4, 5, device=device, requires_grad=True)
    y = ops.dropout(x, p=1.0)
    assert (y.numpy() == 0).all()
    y.backward(sg.randn(4, 5, device=device))
    assert (x.grad.numpy() == 0).all()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p, device):
    """About p of the elements are zeroed; the rest scaled so that E[output] = input."""
    sg.manual_seed(1)
    x = sg.full((200, 500), 2.0, dtype=sg.float64, device=device)
    y = ops.dropout(x, p).numpy()
    zero_fraction = (y == 0).mean()
    n = y.size
    assert abs(zero_fraction - p) < 5 * math.sqrt(p * (1 - p) / n)  # 5 standard errors
    np.testing.assert_allclose(y[y != 0], 2.0 / (1 - p))
    standard_error = 2.0 * math.sqrt(p / (1 - p) / n)
    assert abs(y.mean() - 2.0) < 5 * standard_error


def test_dropout_gradient_uses_the_forward_mask(device):
    x = sg.tensor(rng.uniform(1, 2, size=(6, 7)), device=device, requires_grad=True)
    y = ops.dropout(x, 0.4)
    upstream = rng.standard_normal((6, 7))
    y.backward(sg.tensor(upstream, device=device))
    kept = y.numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, upstream / 0.6, 0.0))


def test_dropout_is_reproducible_after_manual_seed(device):
    x = sg.ones(10, 10, device=device)
    sg.manual_seed(7)
    first = ops.dropout(x).numpy()
    sg.manual_seed(7)
    np.testing.assert_array_equal(ops.dropout(x).numpy(), first)
    assert not np.array_equal(ops.dropout(x).numpy(), first)


def test_dropout_keeps_dtype(device):
    assert ops.dropout(sg.ones(3, 3, device=device), 0.5).dtype == sg.float32


def test_dropout_bad_input(device):
    with pytest.raises(ValueError, match=r"dropout: probability p must be in \[0, 1\], got 1.5"):
        ops.dropout(sg.ones(3, device=device), 1.5)
    with pytest.raises(TypeError, match="dropout: expected a floating-point tensor"):
        ops.dropout(sg.tensor([1, 2], device=device))


# ----------------------------------------------------------------------------------
# embedding
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("index_shape", [(), (5,), (2, 3)], ids=["0d", "1d", "2d"])
def test_embedding(index_shape, device):
    indices = rng.integers(0, 4, size=index_shape)  # repeats: the scatter-add must add
    check_both_dtypes(
        lambda w: ops.embedding(sg.tensor(indices, device=w.device), w),
        lambda w: tf().embedding(torch.from_numpy(np.asarray(indices)), w),
        [rng.standard_normal((4, 3))],
        device,
    )


@pytest.mark.parametrize("padding_idx", [1, -1])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_embedding_padding_row_gets_no_gradient(padding_idx, dtype, device):
    """Not a true gradient on purpose (the padding row is frozen): torch comparison only."""
    indices = np.array([[0, 1, 1], [3, 2, 1]])
    check_against_torch(
        lambda w: ops.embedding(sg.tensor(indices, device=w.device), w, padding_idx),
        lambda w: tf().embedding(torch.from_numpy(indices), w, padding_idx),
        [rng.standard_normal((4, 3))],
        device,
        dtype=dtype,
    )
    weight = sg.randn(4, 3, device=device, requires_grad=True)
    ops.embedding(sg.tensor(indices, device=device), weight, padding_idx).backward(
        sg.ones(2, 3, 3, device=device)
    )
    assert (weight.grad.numpy()[padding_idx] == 0).all()
    assert (weight.grad.numpy()[0] == 1).all()


def test_embedding_second_derivatives(device):
    indices = sg.tensor([[0, 2, 2], [1, 0, 3]], device=device)
    weight = to_sg([rng.standard_normal((4, 3))], device)
    assert sg.gradgradcheck(lambda w: ops.embedding(indices, w).tanh(), weight)


def test_embedding_bad_input(device):
    weight = sg.zeros(10, 3, device=device)
    with pytest.raises(
        IndexError,
        match=r"embedding: indices must be in \[0, 9\] for a table "
        r"of 10 rows, got 12",
    ):
        ops.embedding(sg.tensor([1, 12, 3], device=device), weight)
    with pytest.raises(IndexError, match="got -1"):
        ops.embedding(sg.tensor([1, -1], device=device), weight)
    with pytest.raises(
        TypeError,
        match=r"embedding: expected integer indices \(int64\), "
        r"got dtype float32",
    ):
        ops.embedding(sg.tensor([1.0, 2.0], device=device), weight)
    with pytest.raises(TypeError, match=r"embedding: expected the indices as a Tensor .* ndarray"):
        ops.embedding(np.array([1, 2]), weight)
    with pytest.raises(ValueError, match="embedding: expected a 2-D weight"):
        ops.embedding(sg.tensor([1], device=device), sg.zeros(10, device=device))
    with pytest.raises(ValueError, match=r"embedding: padding_idx must be in \[-10, 9\]"):
        ops.embedding(sg.tensor([1], device=device), weight, padding_idx=10)


# ----------------------------------------------------------------------------------
# normalize
# ----------------------------------------------------------------------------------

NORMALIZE_CASES = {
    "default": dict(),
    "p1_dim0": dict(p=1.0, dim=0),
    "p3_dim-1": dict(p=3, dim=-1),
    "inf": dict(p=math.inf, dim=1),
    "large_eps": dict(eps=2.0),  # some rows have norm < eps: the clamp's branch
}


@pytest.mark.parametrize("case", sorted(NORMALIZE_CASES))
def test_normalize(case, device):
    options = NORMALIZE_CASES[case]
    check_both_dtypes(
        lambda x: ops.normalize(x, **options),
        lambda x: tf().normalize(x, **options),
        [rng.uniform(-2, 2, size=(3, 4))],
        device,
    )


def test_normalize_second_derivatives(device):
    (x,) = to_sg([rng.uniform(-2, 2, size=(3, 4))], device)
    assert sg.gradgradcheck(lambda x: ops.normalize(x, dim=-1), [x])
    assert sg.gradgradcheck(lambda x: ops.normalize(x, p=3, dim=0), [x])


def test_normalize_of_a_zero_row_is_zero_with_finite_gradient(device):
    values = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0]])
    check_against_torch(lambda x: ops.normalize(x), lambda x: tf().normalize(x), [values], device)
    x = sg.tensor(values, device=device, requires_grad=True)
    y = ops.normalize(x)
    np.testing.assert_allclose(y.numpy(), [[0, 0, 0], [0.6, 0, 0.8]])
    y.backward(sg.ones(2, 3, dtype=sg.float64, device=device))
    assert np.isfinite(x.grad.numpy()).all()


@st.composite
def array_and_dim(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return draw(arrays(shape, -10.0, 10.0)), dim


@given(case=array_and_dim(), p=st.sampled_from([1.0, 2.0, 3.5, math.inf]))
def test_normalize_gives_unit_norm(case, p, device):
    values, dim = case
    y = ops.normalize(sg.tensor(values, device=device), p=p, dim=dim).numpy()
    norms = np.linalg.norm(np.moveaxis(y, dim, -1), ord=p, axis=-1)
    nonzero = np.linalg.norm(np.moveaxis(values, dim, -1), ord=p, axis=-1) > 1e-9
    np.testing.assert_allclose(norms[nonzero], 1.0, rtol=1e-12)


def test_normalize_bad_input(device):
    with pytest.raises(ValueError, match="normalize: p must be a number >= 1"):
        ops.normalize(sg.ones(2, 3, device=device), p=0.5)
    with pytest.raises(IndexError, match="normalize: dim 2 is out of range"):
        ops.normalize(sg.ones(2, 3, device=device), dim=2)
    with pytest.raises(ValueError, match="normalize: expected a tensor with at least one axis"):
        ops.normalize(sg.tensor(1.0, device=device))
    with pytest.raises(TypeError, match="normalize: expected a floating-point tensor"):
        ops.normalize(sg.tensor([1, 2], device=device), dim=0)
