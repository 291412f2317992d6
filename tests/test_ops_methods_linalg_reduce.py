"""Torch's other functions and methods (issue 18), linear algebra and reductions: mm, bmm,
outer, einsum, logsumexp, cumsum and norm.

Every differentiable op goes through ``check_op`` (a float64 gradcheck with a random
upstream gradient, then forward and input gradients compared with torch, rtol 1e-7) over
hypothesis-drawn shapes; property tests check the maths (einsum against matmul, the
stability of logsumexp and norm on huge inputs); bad input gets an error naming the op,
what it expected and what it got.
"""

import numpy as np
import pytest
from helpers import check_against_torch, check_op
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, dim_subsets, dims, shapes

import scratchgen as sg

try:
    import torch
except ImportError:  # the torch halves of check_op skip cleanly
    torch = None

sides = st.integers(1, 4)


def torch_fn(name):
    return getattr(torch, name) if torch else None


# ----------------------------------------------------------------------------------
# mm, bmm, outer
# ----------------------------------------------------------------------------------


@given(n=sides, k=sides, m=sides, data=st.data())
def test_mm_matches_torch(n, k, m, data, device):
    a, b = data.draw(arrays((n, k))), data.draw(arrays((k, m)))
    check_op(sg.mm, torch_fn("mm"), [a, b], device)
    check_against_torch(lambda x, y: x.mm(y), lambda x, y: x.mm(y), [a, b], device)


@given(batch=sides, n=sides, k=sides, m=sides, data=st.data())
def test_bmm_matches_torch(batch, n, k, m, data, device):
    a, b = data.draw(arrays((batch, n, k))), data.draw(arrays((batch, k, m)))
    check_op(sg.bmm, torch_fn("bmm"), [a, b], device)
    check_against_torch(lambda x, y: x.bmm(y), lambda x, y: x.bmm(y), [a, b], device)


@given(n=sides, m=sides, data=st.data())
def test_outer_matches_torch_and_is_the_product_table(n, m, data, device):
    a, b = data.draw(arrays((n,))), data.draw(arrays((m,)))
    check_op(sg.outer, torch_fn("outer"), [a, b], device)
    check_against_torch(lambda x, y: x.outer(y), lambda x, y: x.outer(y), [a, b], device)
    table = sg.tensor(a, device=device).outer(sg.tensor(b, device=device))
    np.testing.assert_array_equal(table.numpy(), a[:, None] * b[None, :])


def test_fixed_rank_products_name_the_op(device):
    matrix, vector = sg.zeros(3, 4, device=device), sg.zeros(3, device=device)
    with pytest.raises(RuntimeError, match=r"^mm: expected two matrices .*\(3,\) and \(3, 4\)"):
        sg.mm(vector, matrix)
    with pytest.raises(RuntimeError, match=r"^mm: .*cannot be multiplied.*got 4 and 3"):
        matrix.mm(matrix)
    with pytest.raises(RuntimeError, match=r"^bmm: expected two batches .*\(3, 4\)"):
        matrix.bmm(matrix)
    with pytest.raises(
        RuntimeError, match=r"^bmm: .*expected b.shape\[:2\] == \(2, 4\), got \(3, 4\)"
    ):
        sg.bmm(sg.zeros(2, 3, 4, device=device), sg.zeros(3, 4, 5, device=device))
    with pytest.raises(RuntimeError, match=r"^outer: expected two vectors .*\(3, 4\) and \(3,\)"):
        matrix.outer(vector)
    with pytest.raises(TypeError, match=r"^mm: expected two Tensors, got Tensor and list"):
        sg.mm(matrix, [[1.0]])


# ----------------------------------------------------------------------------------
# einsum
# ----------------------------------------------------------------------------------

# equation: operand shapes (letters: i=2, j=3, k=4, b=2)
EINSUM_CASES = {
    "ij,jk->ik": [(2, 3), (3, 4)],
    "bij,bjk->bik": [(2, 2, 3), (2, 3, 4)],
    "i,j->ij": [(2,), (3,)],
    "ii->i": [(3, 3)],
    "ii": [(3, 3)],
    "ij->ji": [(2, 3)],
    "ij->": [(2, 3)],
    "ij->j": [(2, 3)],
    "ij,jk": [(2, 3), (3, 4)],
    "ba,ab": [(2, 3), (3, 2)],
    "i,i->": [(3,), (3,)],
    "iij,j->ij": [(2, 2, 3), (3,)],
    "ij,jk,kl->il": [(2, 3), (3, 4), (4, 2)],
    "...ij,...jk->...ik": [(2, 2, 3), (3, 4)],
    "b...,b...->b": [(2, 3, 2), (2, 3, 2)],
    "i...->...": [(2, 3, 4)],
    "ij,j->i": [(2, 3), (1,)],  # a size-1 letter broadcasts
    "Ab,bC->AC": [(2, 3), (3, 4)],
    " i j , j k -> i k ": [(2, 3), (3, 4)],
}


@pytest.mark.parametrize("equation", list(EINSUM_CASES))
def test_einsum_matches_torch(equation, device):
    rng = np.random.default_rng(len(equation))
    operands = [rng.uniform(-2, 2, size=shape) for shape in EINSUM_CASES[equation]]
    theirs = (lambda *xs: torch.einsum(equation, *xs)) if torch else None
    check_op(lambda *xs: sg.einsum(equation, *xs), theirs, operands, device)


@pytest.mark.parametrize("equation", ["ij,jk->ik", "ii->i", "ij->j", "iij,j->ij"])
def test_einsum_is_twice_differentiable(equation, device):
    rng = np.random.default_rng(0)
    shapes_ = EINSUM_CASES[equation]
    operands = [
        sg.tensor(rng.standard_normal(s), device=device, requires_grad=True) for s in shapes_
    ]
    assert sg.gradgradcheck(lambda *xs: sg.einsum(equation, *xs).tanh(), operands)


def test_einsum_takes_its_operands_as_a_list(device):
    a, b = sg.randn(2, 3, device=device), sg.randn(3, 4, device=device)
    np.testing.assert_allclose(sg.einsum("ij,jk", [a, b]).numpy(), (a @ b).numpy(), rtol=1e-6)


@given(batch=sides, n=sides, k=sides, m=sides, data=st.data())
def test_einsum_products_are_matmul_and_transpose(batch, n, k, m, data, device):
    a = sg.tensor(data.draw(arrays((batch, n, k))), device=device)
    b = sg.tensor(data.draw(arrays((batch, k, m))), device=device)
    np.testing.assert_allclose(sg.einsum("bij,bjk->bik", a, b).numpy(), (a @ b).numpy(), rtol=1e-12)
    np.testing.assert_array_equal(sg.einsum("bij->bji", a).numpy(), a.transpose(1, 2).numpy())
    np.testing.assert_allclose(sg.einsum("bij->", a).item(), a.sum().item(), rtol=1e-12)


@given(n=sides, data=st.data())
def test_einsum_trace_and_diagonal(n, data, device):
    x = data.draw(arrays((n, n)))
    t = sg.tensor(x, device=device, requires_grad=True)
    np.testing.assert_array_equal(sg.einsum("ii->i", t).numpy(), np.diag(x))
    trace = sg.einsum("ii", t)
    np.testing.assert_allclose(trace.item(), np.trace(x), rtol=1e-12)
    trace.backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.eye(n))  # d trace / dx = the identity


def test_einsum_errors_name_the_op(device):
    x = sg.zeros(3, 4, device=device)
    errors = [
        ("ij,jk->ik", [x], r"has 2 operand subscripts, got 1 operands"),
        ("ijk->i", [x], r"operand 0 has 2 dimensions \(shape \(3, 4\)\) .*'ijk'.* name 3"),
        ("i1->i", [x], r"invalid subscript '1'"),
        ("ij->ii", [x], r"each output letter once .*'i' repeated"),
        ("ij->k", [x], r"'k' in no operand"),
        ("ii->i", [x], r"'i' is repeated in operand 0 .*sizes 3 and 4"),
        ("ij,jk", [x, x], r"'j' has size 3 in operand 1 .*size 4 before"),
        ("ij,jk", [x, x.double()], r"expected operands of one dtype, got float32 and float64"),
    ]
    for equation, operands, message in errors:
        with pytest.raises(RuntimeError, match=r"^einsum: .*" + message):
            sg.einsum(equation, *operands)
    with pytest.raises(TypeError, match=r"^einsum: expected Tensor operands, got Tensor, ndarray"):
        sg.einsum("ij,jk", x, np.zeros((4, 2)))


# ----------------------------------------------------------------------------------
# logsumexp
# ----------------------------------------------------------------------------------


@given(shape=shapes(min_dims=1, max_dims=3, max_side=3), keepdim=st.booleans(), data=st.data())
def test_logsumexp_matches_torch(shape, keepdim, data, device):
    x = data.draw(arrays(shape))
    dim = data.draw(dim_subsets(len(shape)).filter(lambda d: d is not None))
    check_op(
        lambda a: sg.logsumexp(a, dim, keepdim),
        lambda a: torch.logsumexp(a, dim, keepdim),
        [x],
        device,
    )
    check_against_torch(lambda a: a.logsumexp(dim), lambda a: a.logsumexp(dim), [x], device)


@given(shape=shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_logsumexp_is_finite_for_huge_inputs_and_its_gradient_is_the_softmax(shape, data, device):
    x = data.draw(arrays(shape, low=-1.0, high=1.0)) * 1e300 + 1e300  # in [0, 2e300]
    dim = data.draw(dims(len(shape)))
    t = sg.tensor(x, device=device, requires_grad=True)
    y = sg.logsumexp(t, dim)
    largest = x.max(axis=dim)
    assert np.isfinite(y.numpy()).all()  # exp(x) overflows at 710
    np.testing.assert_allclose(y.numpy(), largest, rtol=1e-12)
    y.sum().backward()
    weights = t.grad.numpy()
    np.testing.assert_allclose(weights.sum(axis=dim), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(weights[x < np.expand_dims(largest, dim) - 1e3], 0.0)


def test_logsumexp_of_minus_infinity_and_of_equal_values(device):
    lse = sg.logsumexp(sg.full((2, 3), float("-inf"), device=device), 1)
    assert lse.tolist() == [float("-inf")] * 2
    four = sg.full((4,), -1e4, dtype=sg.float64, device=device)
    np.testing.assert_allclose(four.logsumexp(0).item(), -1e4 + np.log(4), rtol=1e-15)
    assert sg.logsumexp(sg.tensor([1, 2, 3], device=device), 0).dtype == sg.float32


# ----------------------------------------------------------------------------------
# cumsum
# ----------------------------------------------------------------------------------


@given(shape=shapes(min_dims=0, max_dims=3, max_side=4), data=st.data())
def test_cumsum_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    dim = data.draw(dims(max(len(shape), 1)))
    check_op(lambda a: sg.cumsum(a, dim), lambda a: torch.cumsum(a, dim), [x], device)
    check_against_torch(lambda a: a.cumsum(dim), lambda a: a.cumsum(dim), [x], device)


@given(shape=shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_cumsum_ends_at_the_sum_and_its_differences_give_back_x(shape, data, device):
    x = data.draw(arrays(shape))
    dim = data.draw(dims(len(shape)))
    running = sg.tensor(x, device=device).cumsum(dim).numpy()
    np.testing.assert_allclose(np.take(running, -1, axis=dim), x.sum(axis=dim), atol=1e-12)
    np.testing.assert_allclose(np.diff(running, axis=dim, prepend=0), x, atol=1e-12)


def test_cumsum_dtypes_follow_torch(device):
    assert sg.tensor([True, True], device=device).cumsum(0).tolist() == [1, 2]
    assert sg.tensor([1, 2], dtype=sg.int32, device=device).cumsum(0).dtype == sg.int64
    assert sg.tensor([1, 2], device=device).cumsum(0, dtype=sg.float64).dtype == sg.float64
    with pytest.raises(IndexError, match=r"^cumsum: dim 1 is out of range"):
        sg.zeros(3, device=device).cumsum(1)


# ----------------------------------------------------------------------------------
# norm
# ----------------------------------------------------------------------------------

ORDERS = ["fro", 2, 1, 3, 0.5, float("inf"), float("-inf")]


@pytest.mark.parametrize("p", ORDERS, ids=str)
@given(shape=shapes(min_dims=0, max_dims=3, max_side=3), keepdim=st.booleans(), data=st.data())
def test_norm_matches_torch(p, shape, keepdim, data, device):
    x = data.draw(arrays(shape, away_from=[0.0], margin=0.1))  # |x| is not smooth at 0
    dim = data.draw(dim_subsets(len(shape)))
    theirs = 2 if p == "fro" else p  # torch's "fro" takes at most 2 dims; it is p = 2
    check_op(
        lambda a: sg.norm(a, p, dim, keepdim),
        lambda a: torch.norm(a, theirs, dim, keepdim),
        [x],
        device,
    )


def test_norm_method_and_default_order(device):
    x = np.random.default_rng(0).standard_normal((3, 4))
    check_against_torch(lambda a: a.norm(), lambda a: a.norm(), [x], device)
    check_against_torch(
        lambda a: a.norm(dim=1, keepdim=True), lambda a: a.norm(dim=1, keepdim=True), [x], device
    )
    check_against_torch(lambda a: a.norm(0), lambda a: a.norm(0), [x], device, grad=False)


@pytest.mark.parametrize("p", ["fro", 1, 3, float("inf")], ids=str)
@pytest.mark.parametrize("magnitude", [1e300, 1e-300])
def test_norm_is_right_for_huge_and_tiny_inputs(p, magnitude, device):
    x = sg.tensor(
        [3.0 * magnitude, -4.0 * magnitude], dtype=sg.float64, device=device, requires_grad=True
    )
    exact = {"fro": 5.0, 1: 7.0, 3: (27 + 64) ** (1 / 3), float("inf"): 4.0}[p]
    y = x.norm(p)
    np.testing.assert_allclose(y.item(), exact * magnitude, rtol=1e-14)
    y.backward()
    assert np.isfinite(x.grad.numpy()).all()  # the gradient does not depend on the size


@given(shape=shapes(min_dims=1, max_dims=3, max_side=3), data=st.data())
def test_norm_properties(shape, data, device):
    x = sg.tensor(data.draw(arrays(shape)), device=device)
    y = sg.tensor(data.draw(arrays(shape)), device=device)
    for p in ["fro", 1, 3]:
        assert (x + y).norm(p).item() <= x.norm(p).item() + y.norm(p).item() + 1e-12  # triangle
        np.testing.assert_allclose((-2.5 * x).norm(p).item(), 2.5 * x.norm(p).item(), rtol=1e-12)
    assert sg.zeros(*shape, device=device).norm().item() == 0.0


def test_norm_errors_name_the_op(device):
    x = sg.zeros(3, 4, device=device)
    with pytest.raises(RuntimeError, match=r"^norm: expected p to be 'fro' or a number, got 'nuc'"):
        x.norm("nuc")
    with pytest.raises(
        TypeError, match=r"^norm: expected a floating-point tensor, got dtype int64"
    ):
        sg.tensor([1, 2], device=device).norm()
    with pytest.raises(IndexError, match=r"^norm: dim 2 is out of range"):
        x.norm(dim=2)


@pytest.mark.parametrize(
    "name, op",
    [
        ("logsumexp", lambda x: x.logsumexp(1)),
        ("cumsum", lambda x: x.cumsum(0) * x),
        ("norm", lambda x: x.norm(dim=0)),
        ("norm_p3", lambda x: x.norm(3)),
        ("outer", lambda x: x[0].outer(x[1]) * x[0, 0]),
    ],
)
def test_reductions_and_products_are_twice_differentiable(name, op, device):
    x = np.random.default_rng(2).uniform(0.5, 2.0, size=(2, 3))
    assert sg.gradgradcheck(op, [sg.tensor(x, device=device, requires_grad=True)]), name


@pytest.mark.parametrize("p", [2, 3, "fro"])
def test_norm_of_zeros_has_a_zero_gradient_as_torch(p, device):
    values = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])
    check_against_torch(
        lambda x: x.norm(p=p, dim=1), lambda x: x.norm(p=p, dim=1), [values], device
    )
    x = sg.zeros(2, 3, device=device, requires_grad=True)
    x.norm(p=p).backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)
