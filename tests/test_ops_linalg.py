"""matmul: every operand rank (1-D and 2-D, batches whose axes broadcast) gradchecked in
float64 and compared with torch.matmul; the maths as properties; bad input."""

import numpy as np
import pytest
from helpers import check_against_torch, check_op
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import arrays

import scratchgen as sg

try:
    import torch
except ImportError:  # the torch halves of check_op skip cleanly
    torch = None


def torch_matmul(a, b):
    return torch.matmul(a, b)


sides = st.integers(1, 4)


def batch_pair(max_dims=2):
    """Two batch shapes that broadcast against each other (size-1 axes included)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=max_dims, max_side=3).map(
        lambda shapes: shapes.input_shapes
    )


@st.composite
def matmul_shapes(draw, a_ndim, b_ndim):
    """Operand shapes for a @ b with the given ranks (3 means "batched": 2-D + batch axes)."""
    n, k, m = draw(sides), draw(sides), draw(sides)
    batch_a, batch_b = draw(batch_pair())
    a_shape = {1: (k,), 2: (n, k), 3: (*batch_a, n, k)}[a_ndim]
    b_shape = {1: (k,), 2: (k, m), 3: (*batch_b, k, m)}[b_ndim]
    return a_shape, b_shape


RANKS = [(1, 1), (1, 2), (2, 1), (2, 2), (3, 3), (1, 3), (3, 1), (2, 3), (3, 2)]


@pytest.mark.parametrize("ranks", RANKS, ids=[f"{a}d@{b}d" for a, b in RANKS])
@given(data=st.data())
def test_matmul_matches_torch(ranks, data, device):
    a_shape, b_shape = data.draw(matmul_shapes(*ranks))
    a, b = data.draw(arrays(a_shape)), data.draw(arrays(b_shape))
    check_op(sg.matmul, torch_matmul, [a, b], device)


@given(data=st.data())
def test_matmul_operator_matches_torch(data, device):
    a_shape, b_shape = data.draw(matmul_shapes(3, 3))
    a, b = data.draw(arrays(a_shape)), data.draw(arrays(b_shape))
    check_op(lambda x, w: x @ w, lambda x, w: x @ w, [a, b], device)


def test_batch_axes_broadcast(device):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    assert sg.matmul(sg.tensor(a), sg.tensor(b)).shape == (2, 5, 3, 2)
    check_op(sg.matmul, torch_matmul, [a, b], device)


def test_inner_size_one_is_an_outer_product(device):
    """The broadcast-multiply path (inner size 1), batch axes broadcasting."""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 1, 3, 1)), rng.standard_normal((5, 1, 4))
    product = sg.matmul(sg.tensor(a, device=device), sg.tensor(b, device=device))
    np.testing.assert_allclose(product.numpy(), np.matmul(a, b), rtol=1e-15)
    check_op(sg.matmul, torch_matmul, [a, b], device)


def test_matmul_with_a_constant_operand(device):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 2))
    x = rng.standard_normal((3, 4))
    check_op(
        lambda t: t @ sg.tensor(w, device=device), lambda t: t @ torch.from_numpy(w), [x], device
    )
    check_op(lambda t: x @ t, lambda t: torch.from_numpy(x) @ t, [w], device)  # numpy on the left


def test_float32_matches_torch(device):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3, 5)), rng.standard_normal((5, 4))
    check_against_torch(sg.matmul, torch_matmul, [a, b], device, dtype=np.float32)


def test_float32_with_float64_promotes(device):
    a = sg.tensor(np.ones((2, 3), dtype=np.float32), device=device, requires_grad=True)
    b = sg.tensor(np.ones((3, 4)), device=device, requires_grad=True)
    y = a @ b
    assert y.dtype == sg.float64
    y.backward(sg.ones(2, 4, dtype=sg.float64, device=device))
    assert a.grad.dtype == sg.float32 and b.grad.dtype == sg.float64


# ----------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------


@given(data=st.data())
def test_transpose_of_a_product(data, device):
    a_shape, b_shape = data.draw(matmul_shapes(3, 3))
    a = sg.tensor(data.draw(arrays(a_shape)), device=device)
    b = sg.tensor(data.draw(arrays(b_shape)), device=device)
    left = (a @ b).transpose(-1, -2)
    right = b.transpose(-1, -2) @ a.transpose(-1, -2)
    np.testing.assert_allclose(left.numpy(), right.numpy(), rtol=1e-12, atol=1e-12)


@given(n=sides, k=sides, data=st.data())
def test_adjoint_and_identity(n, k, data, device):
    a = sg.tensor(data.draw(arrays((n, k))), device=device)
    x = sg.tensor(data.draw(arrays((k,))), device=device)
    y = sg.tensor(data.draw(arrays((n,))), device=device)
    # <A x, y> = <x, A^T y>
    np.testing.assert_allclose(
        (a @ x).numpy() @ y.numpy(), x.numpy() @ (a.T @ y).numpy(), rtol=1e-12
    )
    eye = sg.tensor(np.eye(k), device=device)
    np.testing.assert_array_equal((a @ eye).numpy(), a.numpy())


@given(data=st.data())
def test_vector_forms_drop_their_axis(data, device):
    a_shape, b_shape = data.draw(matmul_shapes(3, 3))
    a = sg.tensor(data.draw(arrays(a_shape)), device=device)
    b = sg.tensor(data.draw(arrays(b_shape)), device=device)
    v = sg.tensor(data.draw(arrays(a_shape[-1:])), device=device)
    batch_shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    assert (a @ b).shape == (*batch_shape, a.shape[-2], b.shape[-1])
    as_column = (a @ v.unsqueeze(-1)).squeeze(-1)
    assert (a @ v).shape == a.shape[:-1]
    np.testing.assert_allclose((a @ v).numpy(), as_column.numpy(), rtol=1e-12)
    as_row = (v.unsqueeze(0) @ b).squeeze(-2)
    assert (v @ b).shape == (*b.shape[:-2], b.shape[-1])
    np.testing.assert_allclose((v @ b).numpy(), as_row.numpy(), rtol=1e-12)


# ----------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a_shape, b_shape",
    [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (4,)), ((3,), (4, 2)), ((5, 2, 3), (2, 3))],
)
def test_inner_dimension_mismatch(a_shape, b_shape, device):
    a, b = sg.ones(*a_shape, device=device), sg.ones(*b_shape, device=device)
    shown = rf"shapes {a_shape} and {b_shape}".replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ValueError, match=rf"^matmul: {shown} do not fit"):
        sg.matmul(a, b)
    with pytest.raises(ValueError, match="matmul"):
        a @ b


def test_zero_dim_operand(device):
    with pytest.raises(ValueError, match=r"matmul: expected operands with at least one axis"):
        sg.matmul(sg.ones(2, 3, device=device), sg.tensor(2.0, device=device))
    with pytest.raises(ValueError, match=r"matmul: .* got shapes \(\) and \(3,\)"):
        sg.tensor(2.0, device=device) @ sg.ones(3, device=device)


def test_operands_that_are_not_tensors(device):
    with pytest.raises(TypeError, match="matmul: expected at least one Tensor operand"):
        sg.matmul(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="matmul: expected a Tensor or a number, got str"):
        sg.ones(2, 2, device=device) @ "w"


def test_batch_axes_that_do_not_broadcast(device):
    with pytest.raises(ValueError, match=r"matmul.*cannot broadcast shapes \(2,\) and \(3,\)"):
        sg.ones(2, 4, 5, device=device) @ sg.ones(3, 5, 6, device=device)
