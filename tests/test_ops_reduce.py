"""Reductions: sum, mean, var, std, amax/amin, max/min, argmax/argmin.

Every differentiable reduction is gradchecked in float64 and compared with PyTorch
(forward and gradient, rtol 1e-7) over hypothesis-drawn shapes, size-1 axes and
negative dims included, with dim None, an int or a tuple and keepdim True/False.
Random floats never tie, so the gradient tests are away from the kinks of max/min;
ties get their own tests against torch's rules.
"""

import numpy as np
import pytest
from helpers import check_against_torch, check_op
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import arrays, dim_subsets, dims, shapes

import scratchgen as sg

try:
    import torch
except ImportError:  # the torch halves of check_op skip cleanly
    torch = None


def small_shapes(min_dims=0):
    return shapes(min_dims=min_dims, max_dims=3, max_side=3)


@st.composite
def reduction_cases(draw, min_dims=0):
    """(array, dim, keepdim): dim is None, an int or a tuple of ints (negatives too)."""
    shape = draw(small_shapes(min_dims))
    dim = draw(dim_subsets(len(shape)))
    return draw(arrays(shape)), dim, draw(st.booleans())


@st.composite
def single_dim_cases(draw):
    """(array, dim, keepdim) with one int dim, as max(dim) and argmax(dim) take."""
    shape = draw(small_shapes(min_dims=1))
    return draw(arrays(shape)), draw(dims(len(shape))), draw(st.booleans())


def reduced_count(shape, dim):
    """How many elements each output element of a reduction over dim combines."""
    if dim is None:
        return int(np.prod(shape))
    axes = {d % len(shape) for d in (dim if isinstance(dim, tuple) else (dim,))}
    return int(np.prod([shape[a] for a in axes]))


def torch_dims(dim):
    """torch's amax/amin spell 'all dims' as () rather than None."""
    return () if dim is None else dim


# ----------------------------------------------------------------------------------
# gradcheck + torch conformance
# ----------------------------------------------------------------------------------


@given(case=reduction_cases())
def test_sum_matches_torch(case, device):
    x, dim, keepdim = case
    check_op(
        lambda t: sg.sum(t, dim, keepdim),
        lambda t: torch.sum(t, dim, keepdim=keepdim),
        [x],
        device,
    )


@given(case=reduction_cases())
def test_mean_matches_torch(case, device):
    x, dim, keepdim = case
    check_op(
        lambda t: t.mean(dim, keepdim),
        lambda t: torch.mean(t, dim, keepdim=keepdim),
        [x],
        device,
    )


@pytest.mark.parametrize("op_name", ["var", "std"])
@given(case=reduction_cases(), correction=st.sampled_from([0, 1]))
def test_var_and_std_match_torch(op_name, case, correction, device):
    x, dim, keepdim = case
    count = reduced_count(x.shape, dim)
    assume(count >= 2)  # one element: var 0 (sqrt has no gradient) or 0/0
    check_op(
        lambda t: getattr(t, op_name)(dim, keepdim, correction=correction),
        lambda t: getattr(torch, op_name)(t, dim, correction=correction, keepdim=keepdim),
        [x],
        device,
    )


@pytest.mark.parametrize("op_name", ["var", "std"])
@given(case=reduction_cases(min_dims=1), unbiased=st.booleans())
def test_unbiased_keyword_means_correction_one_or_zero(op_name, case, unbiased, device):
    x, dim, keepdim = case
    assume(reduced_count(x.shape, dim) >= 2)
    check_against_torch(
        lambda t: getattr(sg, op_name)(t, dim, keepdim, unbiased=unbiased),
        lambda t: getattr(torch, op_name)(t, dim, correction=int(unbiased), keepdim=keepdim),
        [x],
        device,
    )


@pytest.mark.parametrize("op_name", ["amax", "amin"])
@given(case=reduction_cases())
def test_amax_amin_match_torch(op_name, case, device):
    x, dim, keepdim = case
    check_op(
        lambda t: getattr(sg, op_name)(t, dim, keepdim),
        lambda t: getattr(torch, op_name)(t, torch_dims(dim), keepdim=keepdim),
        [x],
        device,
    )


@pytest.mark.parametrize("op_name", ["max", "min"])
@given(shape=small_shapes(), data=st.data())
def test_max_min_of_all_elements_match_torch(op_name, shape, data, device):
    x = data.draw(arrays(shape))
    check_op(lambda t: getattr(t, op_name)(), lambda t: getattr(torch, op_name)(t), [x], device)


@pytest.mark.parametrize("op_name", ["max", "min"])
@given(case=single_dim_cases())
def test_max_min_along_dim_return_values_and_indices_like_torch(op_name, case, device):
    x, dim, keepdim = case
    check_op(
        lambda t: tuple(getattr(sg, op_name)(t, dim, keepdim)),
        lambda t: tuple(getattr(torch, op_name)(t, dim, keepdim=keepdim)),
        [x],
        device,
    )
    result = getattr(sg, op_name)(sg.tensor(x, device=device), dim, keepdim)
    values, indices = result
    assert result.values is values and result.indices is indices
    assert indices.dtype == sg.int64 and not indices.requires_grad


@pytest.mark.parametrize("op_name", ["argmax", "argmin"])
@given(shape=small_shapes(), data=st.data(), keepdim=st.booleans())
def test_argmax_argmin_match_torch(op_name, shape, data, keepdim, device):
    x = data.draw(arrays(shape))
    dim = data.draw(st.none() | dims(len(shape))) if shape else None
    ours = getattr(sg, op_name)(sg.tensor(x, device=device), dim, keepdim)
    theirs = getattr(torch, op_name)(torch.from_numpy(x), dim, keepdim=keepdim)
    assert ours.dtype == sg.int64
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("op_name", ["sum", "mean", "var", "std", "amax", "max"])
def test_reductions_are_twice_differentiable(op_name, device):
    x = np.random.default_rng(0).uniform(-3, 3, size=(3, 4))
    t = sg.tensor(x, device=device, requires_grad=True)
    if op_name == "max":
        fn = lambda u: sg.max(u, -1).values  # noqa: E731
    else:
        fn = lambda u: getattr(sg, op_name)(u, 1)  # noqa: E731
    assert sg.gradgradcheck(fn, [t])


@pytest.mark.parametrize("op_name", ["sum", "mean", "var", "std", "amax", "amin"])
def test_reductions_keep_float32(op_name, device):
    x = np.random.default_rng(1).standard_normal((3, 4))
    reduce = lambda t: getattr(t, op_name)(1)  # noqa: E731  (the same method on both sides)
    check_against_torch(reduce, reduce, [x], device, dtype=np.float32)
    assert getattr(sg.tensor(x, dtype=sg.float32, device=device), op_name)().dtype == sg.float32


@pytest.mark.parametrize("dim", [0, -1])
def test_scalar_tensor_accepts_dim_zero_and_minus_one(dim, device):
    x = np.array(1.5)
    check_op(lambda t: t.sum(dim), lambda t: t.sum(dim), [x], device)
    values, indices = sg.max(sg.tensor(x, device=device), dim)
    assert values.item() == 1.5 and indices.item() == 0


# ----------------------------------------------------------------------------------
# ties: amax shares the gradient, max(dim) gives it to the first index (as torch)
# ----------------------------------------------------------------------------------

TIED = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])


@pytest.mark.parametrize(
    "name, sg_fn, torch_fn",
    [
        ("amax", lambda t: sg.amax(t, 1), lambda t: torch.amax(t, 1)),
        ("amin over all", lambda t: sg.amin(t), lambda t: torch.amin(t)),
        ("max over all", lambda t: t.max(), lambda t: t.max()),
        ("max(dim)", lambda t: tuple(t.max(1)), lambda t: tuple(t.max(1))),
        ("min(dim)", lambda t: tuple(t.min(0)), lambda t: tuple(t.min(0))),
    ],
)
def test_ties_split_the_gradient_as_torch_does(name, sg_fn, torch_fn, device):
    check_against_torch(sg_fn, torch_fn, [TIED], device)


def test_amax_gradient_is_shared_equally_among_ties(device):
    x = sg.tensor(TIED, device=device, requires_grad=True)
    sg.amax(x, 1).backward(sg.ones(2, dtype=sg.float64, device=device))
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0.5, 0.5], [0.5, 0.5, 0]])


# ----------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------


@given(shape=shapes(min_dims=1, max_dims=4), data=st.data())
def test_sum_over_all_dims_equals_summing_one_dim_at_a_time(shape, data, device):
    x = sg.tensor(data.draw(arrays(shape)), device=device)
    one_at_a_time = x
    for _ in shape:
        one_at_a_time = one_at_a_time.sum(-1)
    np.testing.assert_allclose(one_at_a_time.numpy(), x.sum().numpy(), rtol=1e-12, atol=1e-12)


@given(case=reduction_cases(min_dims=1))
def test_sum_over_a_tuple_equals_successive_sums(case, device):
    x, dim, keepdim = case
    assume(isinstance(dim, tuple))
    t = sg.tensor(x, device=device)
    successive = t
    for axis in sorted((d % x.ndim for d in dim), reverse=True):
        successive = successive.sum(axis, keepdim=keepdim)
    np.testing.assert_allclose(
        successive.numpy(), t.sum(dim, keepdim).numpy(), rtol=1e-12, atol=1e-12
    )


@given(case=reduction_cases())
def test_keepdim_keeps_reduced_axes_as_size_one(case, device):
    x, dim, _ = case
    t = sg.tensor(x, device=device)
    kept = t.sum(dim, keepdim=True)
    dropped = t.sum(dim)
    assert kept.ndim == t.ndim
    assert kept.numel() == dropped.numel()
    np.testing.assert_array_equal(kept.reshape(dropped.shape).numpy(), dropped.numpy())


@given(case=reduction_cases(), scale=st.sampled_from([1.0, 1e6]))
def test_mean_lies_between_min_and_max(case, scale, device):
    x, dim, keepdim = case
    t = sg.tensor(x * scale, device=device)
    mean = t.mean(dim, keepdim).numpy()
    slack = 1e-12 * scale
    assert np.all(t.amin(dim, keepdim).numpy() - slack <= mean)
    assert np.all(mean <= t.amax(dim, keepdim).numpy() + slack)


@given(
    case=reduction_cases(), correction=st.sampled_from([0, 1]), offset=st.sampled_from([0.0, 1e8])
)
def test_var_is_never_negative(case, correction, offset, device):
    x, dim, keepdim = case
    assume(reduced_count(x.shape, dim) > correction)
    t = sg.tensor(x + offset, device=device)  # a large offset invites cancellation
    assert np.all(t.var(dim, keepdim, correction=correction).numpy() >= 0)


@pytest.mark.parametrize("dtype", [sg.float32, sg.float64])
@given(shape=shapes(min_dims=1, max_dims=3), value=st.sampled_from([0.0, -2.5, 0.1, 1e8]))
def test_var_and_std_of_a_constant_are_zero(dtype, shape, value, device):
    t = sg.full(shape, value, dtype=dtype, device=device)
    tolerance = (abs(value) * 4 * np.finfo(dtype).eps) ** 2
    for correction in (0, 1):
        if int(np.prod(shape)) <= correction:
            continue
        var = t.var(correction=correction).numpy()
        assert np.isfinite(var) and 0 <= var <= tolerance
        assert np.isfinite(t.std(correction=correction).numpy())


@pytest.mark.parametrize("op_name", ["max", "min"])
@given(case=single_dim_cases())
def test_max_values_are_the_elements_at_the_indices(op_name, case, device):
    x, dim, keepdim = case
    values, indices = getattr(sg, op_name)(sg.tensor(x, device=device), dim, keepdim=True)
    picked = np.take_along_axis(x, indices.numpy(), axis=dim)
    np.testing.assert_array_equal(values.numpy(), picked)
    amax = getattr(sg, "a" + op_name)(sg.tensor(x, device=device), dim, keepdim=True)
    np.testing.assert_array_equal(values.numpy(), amax.numpy())


# ----------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------

ALL_REDUCTIONS = ["sum", "mean", "var", "std", "amax", "amin", "max", "min", "argmax", "argmin"]


@pytest.mark.parametrize("op_name", ALL_REDUCTIONS)
@pytest.mark.parametrize("dim", [2, -3, (0, 2)])
def test_dim_out_of_range_names_the_op(op_name, dim, device):
    x = sg.ones(2, 3, device=device)
    if isinstance(dim, tuple) and op_name in ("max", "min", "argmax", "argmin"):
        with pytest.raises(TypeError, match=rf"^{op_name}: expected dim to be an int"):
            getattr(sg, op_name)(x, dim)
        return
    with pytest.raises(IndexError, match=rf"^{op_name}: dim -?\d is out of range .* 2 dim"):
        getattr(sg, op_name)(x, dim)


@pytest.mark.parametrize("op_name", ["amax", "amin", "max", "min", "argmax", "argmin"])
def test_extreme_of_an_empty_axis_is_an_error(op_name, device):
    x = sg.zeros(0, 3, device=device)
    match = rf"^{op_name}: cannot reduce an empty axis .*\(0, 3\)"
    with pytest.raises(ValueError, match=match):
        getattr(sg, op_name)(x)
    with pytest.raises(ValueError, match=match):
        getattr(sg, op_name)(x, 0)


def test_extreme_along_a_non_empty_axis_of_an_empty_tensor_is_empty(device):
    values, indices = sg.zeros(0, 3, device=device).max(1)
    assert values.shape == (0,) and indices.shape == (0,)
    assert sg.zeros(0, 3, device=device).sum(0).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("op_name", ["mean", "var", "std"])
def test_mean_var_std_need_floating_point(op_name, device):
    with pytest.raises(TypeError, match=rf"^{op_name}: expected a floating-point .*int64"):
        getattr(sg, op_name)(sg.tensor([1, 2, 3], device=device))
