"""Elementwise ops: float64 gradchecks over hypothesis-drawn shapes (broadcasting and
size-1 axes included), PyTorch conformance, properties of the maths, dtype rules and
bad input.

Every op goes through ``check_op``: a float64 gradcheck with a random upstream gradient,
then forward and input gradients compared with torch (rtol 1e-7).
"""

import warnings

import numpy as np
import pytest
from helpers import check_against_torch, check_op
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import arrays, broadcastable_pair, shapes

import scratchgen as sg
from scratchgen import ops

try:
    import torch
except ImportError:  # the torch halves of check_op skip cleanly
    torch = None


def nonzero_arrays(shape):
    """Values in [-3, -0.25] or [0.25, 3]: safe divisors and negative powers."""
    return arrays(shape, away_from=[0.0], margin=0.25)


def positive_arrays(shape, low=0.2, high=3.0):
    """Values in [low, high]: the domain of log, sqrt and real powers."""
    return arrays(shape, low=low, high=high)


def small_shapes():
    return shapes(max_dims=3, max_side=3)


# ----------------------------------------------------------------------------------
# arithmetic with broadcasting
# ----------------------------------------------------------------------------------

BINARY_OPS = {
    "add": (ops.add, lambda a, b: torch.add(a, b)),
    "sub": (ops.sub, lambda a, b: torch.sub(a, b)),
    "mul": (ops.mul, lambda a, b: torch.mul(a, b)),
    "div": (ops.div, lambda a, b: torch.div(a, b)),
    "maximum": (ops.maximum, lambda a, b: torch.maximum(a, b)),
    "minimum": (ops.minimum, lambda a, b: torch.minimum(a, b)),
}


@pytest.mark.parametrize("name", sorted(BINARY_OPS))
@given(data=st.data())
def test_binary_op_matches_torch(name, data, device):
    sg_fn, torch_fn = BINARY_OPS[name]
    shape_a, shape_b = data.draw(broadcastable_pair(max_dims=3, max_side=3))
    a = data.draw(arrays(shape_a))
    b = data.draw(nonzero_arrays(shape_b) if name == "div" else arrays(shape_b))
    check_op(sg_fn, torch_fn, [a, b], device)


OPERATORS = {
    "+": (lambda a, b: a + b),
    "-": (lambda a, b: a - b),
    "*": (lambda a, b: a * b),
    "/": (lambda a, b: a / b),
}


@pytest.mark.parametrize("symbol", sorted(OPERATORS))
@given(data=st.data())
def test_operator_matches_torch(symbol, data, device):
    fn = OPERATORS[symbol]  # the same Python operator on both sides
    shape_a, shape_b = data.draw(broadcastable_pair(max_dims=3, max_side=3))
    check_op(fn, fn, [data.draw(arrays(shape_a)), data.draw(nonzero_arrays(shape_b))], device)


@given(shape=small_shapes(), data=st.data())
def test_neg(shape, data, device):
    check_op(lambda x: -x, lambda x: -x, [data.draw(arrays(shape))], device)
    check_op(ops.neg, torch.neg if torch else None, [data.draw(arrays(shape))], device)


# ----------------------------------------------------------------------------------
# pow: tensor ** number, number ** tensor, tensor ** tensor
# ----------------------------------------------------------------------------------


@given(shape=small_shapes(), exponent=st.sampled_from([2, 3, -1, -2]), data=st.data())
def test_pow_tensor_to_integer(shape, exponent, data, device):
    x = data.draw(nonzero_arrays(shape))  # negative bases allowed for integer exponents
    check_op(lambda t: t**exponent, lambda t: t**exponent, [x], device)


@given(shape=small_shapes(), exponent=st.sampled_from([0.5, 1.5, -0.5, 2.7]), data=st.data())
def test_pow_tensor_to_real(shape, exponent, data, device):
    x = data.draw(positive_arrays(shape))
    check_op(lambda t: t**exponent, lambda t: t**exponent, [x], device)
    check_op(lambda t: ops.pow(t, exponent), lambda t: torch.pow(t, exponent), [x], device)


@given(shape=small_shapes(), base=st.sampled_from([2, 0.5, 3.5]), data=st.data())
def test_pow_number_to_tensor(shape, base, data, device):
    check_op(lambda t: base**t, lambda t: base**t, [data.draw(arrays(shape))], device)


@given(pair=broadcastable_pair(max_dims=3, max_side=3), data=st.data())
def test_pow_tensor_to_tensor(pair, data, device):
    base = data.draw(positive_arrays(pair[0]))
    exponent = data.draw(arrays(pair[1], low=-2.0, high=2.0))
    check_op(lambda a, b: a**b, lambda a, b: a**b, [base, exponent], device)


# ----------------------------------------------------------------------------------
# reflected forms: the number or array is on the left
# ----------------------------------------------------------------------------------

REFLECTED = {
    "2 + x": lambda x: 2 + x,
    "2 - x": lambda x: 2 - x,
    "2 * x": lambda x: 2 * x,
    "2 / x": lambda x: 2 / x,
    "2 ** x": lambda x: 2**x,
    "0.5 - x": lambda x: 0.5 - x,
}


@pytest.mark.parametrize("form", sorted(REFLECTED))
@given(shape=small_shapes(), data=st.data())
def test_reflected_number(form, shape, data, device):
    fn = REFLECTED[form]
    check_op(fn, fn, [data.draw(nonzero_arrays(shape))], device)


@pytest.mark.parametrize("symbol", sorted(OPERATORS))
@given(pair=broadcastable_pair(max_dims=3, max_side=3), data=st.data())
def test_numpy_array_on_the_left(symbol, pair, data, device):
    fn = OPERATORS[symbol]
    constant = data.draw(nonzero_arrays(pair[0]))
    x = data.draw(nonzero_arrays(pair[1]))
    result = fn(constant, sg.tensor(x, device=device))
    assert isinstance(result, sg.Tensor)  # numpy hands the operator to the Tensor
    check_op(
        lambda t: fn(constant, t),
        lambda t: fn(torch.from_numpy(constant), t),
        [x],
        device,
    )


# ----------------------------------------------------------------------------------
# unary maths
# ----------------------------------------------------------------------------------

UNARY_OPS = {
    # name: (scratchgen fn, torch fn, low, high, kinks to stay away from)
    "exp": (sg.exp, lambda t: torch.exp(t), -3.0, 3.0, ()),
    "log": (sg.log, lambda t: torch.log(t), 0.2, 3.0, ()),
    "sqrt": (sg.sqrt, lambda t: torch.sqrt(t), 0.2, 3.0, ()),
    "abs": (sg.abs, lambda t: torch.abs(t), -3.0, 3.0, (0.0,)),
    "tanh": (sg.tanh, lambda t: torch.tanh(t), -3.0, 3.0, ()),
    "sigmoid": (sg.sigmoid, lambda t: torch.sigmoid(t), -6.0, 6.0, ()),
    "exp method": (lambda t: t.exp(), lambda t: t.exp(), -3.0, 3.0, ()),
    "log method": (lambda t: t.log(), lambda t: t.log(), 0.2, 3.0, ()),
    "tanh method": (lambda t: t.tanh(), lambda t: t.tanh(), -3.0, 3.0, ()),
}


@pytest.mark.parametrize("name", sorted(UNARY_OPS))
@given(shape=shapes(max_dims=4, max_side=3), data=st.data())
def test_unary_op_matches_torch(name, shape, data, device):
    sg_fn, torch_fn, low, high, kinks = UNARY_OPS[name]
    x = data.draw(arrays(shape, low=low, high=high, away_from=kinks))
    check_op(sg_fn, torch_fn, [x], device)


CLAMPS = {
    "min only": dict(min=-0.5),
    "max only": dict(max=1.0),
    "both": dict(min=-1.0, max=0.5),
}


@pytest.mark.parametrize("bounds", sorted(CLAMPS))
@given(shape=small_shapes(), data=st.data())
def test_clamp_matches_torch(bounds, shape, data, device):
    kwargs = CLAMPS[bounds]
    x = data.draw(arrays(shape, away_from=kwargs.values()))
    check_op(lambda t: sg.clamp(t, **kwargs), lambda t: torch.clamp(t, **kwargs), [x], device)
    check_op(lambda t: t.clamp(**kwargs), lambda t: t.clamp(**kwargs), [x], device)


def test_maximum_minimum_split_ties_like_torch(device):
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([1.0, 0.0, 3.0, 2.0])
    check_against_torch(sg.maximum, lambda x, y: torch.maximum(x, y), [a, b], device)
    check_against_torch(sg.minimum, lambda x, y: torch.minimum(x, y), [a, b], device)


@given(data=st.data())
def test_where_matches_torch(data, device):
    cond_shape, a_shape, b_shape = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3)
    ).input_shapes
    condition = data.draw(hnp.arrays(bool, cond_shape))
    a, b = data.draw(arrays(a_shape)), data.draw(arrays(b_shape))
    check_op(sg.where, lambda c, x, y: torch.where(c, x, y), [condition, a, b], device)


@given(shape=small_shapes(), data=st.data())
def test_where_with_a_number(shape, data, device):
    x = data.draw(arrays(shape, away_from=[0.0]))
    check_op(
        lambda t: sg.where(t > 0, t, 0.0),
        lambda t: torch.where(t > 0, t, 0.0),
        [x],
        device,
    )


# ----------------------------------------------------------------------------------
# comparisons: boolean, no gradient, as numpy
# ----------------------------------------------------------------------------------

COMPARISONS = {
    "eq": (ops.eq, lambda a, b: a == b, np.equal),
    "ne": (ops.ne, lambda a, b: a != b, np.not_equal),
    "lt": (ops.lt, lambda a, b: a < b, np.less),
    "le": (ops.le, lambda a, b: a <= b, np.less_equal),
    "gt": (ops.gt, lambda a, b: a > b, np.greater),
    "ge": (ops.ge, lambda a, b: a >= b, np.greater_equal),
}


def small_integers(shape):
    """Integer-valued floats in [-2, 2], so that ties (the == cases) are common."""
    return arrays(shape).map(np.round).map(lambda a: np.clip(a, -2, 2))


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@given(pair=broadcastable_pair(), data=st.data())
def test_comparison_matches_numpy(name, pair, data, device):
    function, operator, reference = COMPARISONS[name]
    a, b = data.draw(small_integers(pair[0])), data.draw(small_integers(pair[1]))
    x = sg.tensor(a, device=device, requires_grad=True)
    y = sg.tensor(b, device=device, requires_grad=True)
    for result in (function(x, y), operator(x, y)):
        assert result.dtype == sg.bool_
        assert not result.requires_grad and result.grad_fn is None
        np.testing.assert_array_equal(result.numpy(), reference(a, b))
    with_number = operator(x, 1.0)
    np.testing.assert_array_equal(with_number.numpy(), reference(a, 1.0))
    reflected = operator(1.0, x)  # Python swaps the comparison: 1 < x is x > 1
    np.testing.assert_array_equal(reflected.numpy(), reference(1.0, a))


# ----------------------------------------------------------------------------------
# properties of the maths
# ----------------------------------------------------------------------------------


@given(shape=shapes(), data=st.data())
def test_sigmoid_is_bounded_finite_and_symmetric(shape, data, device):
    x = data.draw(arrays(shape, low=-1e4, high=1e4))
    for dtype in (np.float64, np.float32):
        t = sg.tensor(x.astype(dtype), device=device, requires_grad=True)
        y = sg.sigmoid(t)
        assert y.dtype == dtype
        values = y.numpy()
        assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1))
        y.backward(sg.ones(*shape, dtype=dtype, device=device))
        assert np.all(np.isfinite(t.grad.numpy()))
    t = sg.tensor(x, device=device)
    np.testing.assert_allclose(sg.sigmoid(-t).numpy(), 1 - sg.sigmoid(t).numpy(), atol=1e-15)


def test_sigmoid_of_extreme_values(device):
    t = sg.tensor(np.array([-1e4, -800.0, 0.0, 800.0, 1e4]), device=device)
    np.testing.assert_array_equal(sg.sigmoid(t).numpy(), [0.0, 0.0, 0.5, 1.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_where_its_exponent_overflows_is_quiet_and_within_1e_38(dtype, device):
    # e^-x overflows below -88.7 (float32) and -709.8 (float64): the result is 0, no warning
    x = np.array([-1e4, -750.0, -710.0, -100.0, -89.0, -80.0, 0.0, 100.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = sg.sigmoid(sg.tensor(x, device=device)).numpy()
    e = np.exp(-np.abs(x.astype(np.float64)))  # the exact value, in float64 without overflow
    exact = np.where(x >= 0, 1.0, e) / (1.0 + e)
    np.testing.assert_allclose(values, exact, rtol=1e-6, atol=1e-38)


@given(shape=shapes(), data=st.data())
def test_exp_inverts_log(shape, data, device):
    x = data.draw(positive_arrays(shape, low=1e-3, high=1e3))
    t = sg.tensor(x, device=device)
    np.testing.assert_allclose(sg.exp(sg.log(t)).numpy(), x, rtol=1e-12)
    np.testing.assert_allclose((sg.sqrt(t) ** 2).numpy(), x, rtol=1e-12)


@given(shape=shapes(), data=st.data())
def test_tanh_is_odd_and_abs_is_even(shape, data, device):
    t = sg.tensor(data.draw(arrays(shape, low=-20.0, high=20.0)), device=device)
    np.testing.assert_array_equal(sg.tanh(-t).numpy(), -sg.tanh(t).numpy())
    np.testing.assert_array_equal(sg.abs(-t).numpy(), sg.abs(t).numpy())
    assert np.all(np.abs(sg.tanh(t).numpy()) <= 1)


@given(
    shape=shapes(),
    low=st.floats(-2, 0),
    width=st.floats(0, 2),
    data=st.data(),
)
def test_clamp_stays_within_bounds(shape, low, width, data, device):
    x = data.draw(arrays(shape))
    t = sg.tensor(x, device=device)
    both = sg.clamp(t, low, low + width).numpy()
    assert np.all((both >= low) & (both <= low + width))
    assert np.all(sg.clamp(t, min=low).numpy() >= low)
    assert np.all(sg.clamp(t, max=low).numpy() <= low)
    inside = (x >= low) & (x <= low + width)
    np.testing.assert_array_equal(both[inside], x[inside])  # identity inside the bounds


@given(pair=broadcastable_pair(), data=st.data())
def test_arithmetic_identities(pair, data, device):
    a = sg.tensor(data.draw(arrays(pair[0])), device=device)
    b = sg.tensor(data.draw(nonzero_arrays(pair[1])), device=device)
    assert (a + b).shape == np.broadcast_shapes(pair[0], pair[1])
    np.testing.assert_array_equal((a + b).numpy(), (b + a).numpy())
    np.testing.assert_array_equal((a * b).numpy(), (b * a).numpy())
    np.testing.assert_allclose((a - b).numpy(), (a + -b).numpy(), atol=1e-15)
    np.testing.assert_allclose((a / b * b).numpy(), (a + 0 * b).numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(sg.maximum(a, b).numpy(), (-sg.minimum(-a, -b)).numpy())


# ----------------------------------------------------------------------------------
# dtypes: python numbers keep the tensor's dtype, tensors promote as in torch
# ----------------------------------------------------------------------------------

SCALAR_FORMS = {
    "x + 2": lambda x: x + 2,
    "x - 1.5": lambda x: x - 1.5,
    "x * 3": lambda x: x * 3,
    "x / 2.5": lambda x: x / 2.5,
    "x ** 2": lambda x: x**2,
    "x ** 0.5": lambda x: x**0.5,
    "2 - x": lambda x: 2 - x,
    "2 / x": lambda x: 2 / x,
    "2 ** x": lambda x: 2**x,
    "maximum(x, 0.5)": lambda x: sg.maximum(x, 0.5),
    "where(x > 1, x, 0.0)": lambda x: sg.where(x > 1, x, 0.0),
    "clamp(x, 0.5, 1.5)": lambda x: sg.clamp(x, 0.5, 1.5),
}


@pytest.mark.parametrize("form", sorted(SCALAR_FORMS))
def test_python_numbers_keep_float32(form, device):
    x = sg.tensor(np.array([0.5, 1.0, 2.0], dtype=np.float32), device=device, requires_grad=True)
    y = SCALAR_FORMS[form](x)
    assert y.dtype == sg.float32
    y.backward(sg.ones(3, device=device))
    assert x.grad.dtype == sg.float32


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "minimum"])
def test_float32_with_float64_promotes_like_torch(name, device):
    sg_fn, torch_fn = BINARY_OPS[name]
    a = sg.tensor(np.array([[0.5], [1.5]], dtype=np.float32), device=device, requires_grad=True)
    b = sg.tensor(np.array([1.0, 2.0, 3.0]), device=device, requires_grad=True)
    y = sg_fn(a, b)
    if torch is not None:
        expected = torch_fn(torch.from_numpy(a.numpy()), torch.from_numpy(b.numpy())).dtype
        assert str(expected) == f"torch.{y.dtype}"
    assert y.dtype == sg.float64
    y.backward(sg.ones(2, 3, dtype=sg.float64, device=device))
    assert a.grad.dtype == sg.float32 and a.grad.shape == (2, 1)
    assert b.grad.dtype == sg.float64 and b.grad.shape == (3,)


FLOAT32_CASES = {
    "mul": (lambda a, b: a * b, [(2, 1, 3), (4, 3)]),
    "div": (lambda a, b: a / b, [(3, 1), (1, 4)]),
    "pow": (lambda a, b: a**b, [(2, 3), (3,)]),
    "maximum": (sg.maximum, [(2, 3), (2, 1)]),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_CASES))
def test_binary_float32_matches_torch(name, device):
    fn, (shape_a, shape_b) = FLOAT32_CASES[name]
    torch_fn = (lambda a, b: torch.maximum(a, b)) if name == "maximum" else fn
    rng = np.random.default_rng(1)
    a = rng.uniform(0.5, 2.0, shape_a)
    b = rng.uniform(0.5, 2.0, shape_b) * rng.choice([-1, 1], shape_b)
    check_against_torch(fn, torch_fn, [a, b], device, dtype=np.float32)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid"])
def test_unary_float32_matches_torch(name, device):
    sg_fn, torch_fn, low, high, _ = UNARY_OPS[name]
    x = np.random.default_rng(2).uniform(low, high, (3, 4))
    check_against_torch(sg_fn, torch_fn, [x], device, dtype=np.float32)


# ----------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BINARY_OPS))
def test_broadcast_mismatch_names_the_op(name, device):
    sg_fn, _ = BINARY_OPS[name]
    a, b = sg.ones(2, 3, device=device), sg.ones(4, device=device)
    with pytest.raises(ValueError, match=rf"^{name}: cannot broadcast shapes \(2, 3\) and \(4,\)"):
        sg_fn(a, b)


def test_operator_mismatch_names_the_op(device):
    with pytest.raises(ValueError, match=r"add: cannot broadcast shapes \(2, 3\) and \(2,\)"):
        sg.ones(2, 3, device=device) + sg.ones(2, device=device)
    with pytest.raises(ValueError, match="pow: cannot broadcast"):
        sg.ones(3, device=device) ** sg.ones(2, device=device)


def test_where_needs_a_boolean_condition(device):
    x = sg.ones(3, device=device)
    with pytest.raises(TypeError, match="where: expected a boolean condition, got dtype float32"):
        sg.where(x, x, x)
    with pytest.raises(ValueError, match="where: cannot broadcast"):
        sg.where(sg.ones(2, device=device) > 0, x, x)


def test_clamp_needs_a_bound(device):
    with pytest.raises(ValueError, match="clamp: expected at least one of min and max"):
        sg.clamp(sg.ones(3, device=device))


def test_unsupported_operand_names_the_op(device):
    with pytest.raises(TypeError, match="mul: expected a Tensor or a number, got str"):
        sg.ones(3, device=device) * "2"
    with pytest.raises(TypeError, match="add: expected at least one Tensor"):
        ops.add(1.0, 2.0)
