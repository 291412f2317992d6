"""Activations and softmax: gradchecks, torch conformance, properties, bad input."""

import math

import numpy as np
import pytest
from helpers import check_against_torch, check_op, to_sg, torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, shapes

import scratchgen as sg
from scratchgen import backend, ops


def tf():
    """torch.nn.functional (the cases below only call it when torch is installed)."""
    return torch.nn.functional


# name: (scratchgen function, torch function, kinks to keep inputs away from)
CASES = {
    "relu": (ops.relu, lambda x: tf().relu(x), [0.0]),
    "leaky_relu": (ops.leaky_relu, lambda x: tf().leaky_relu(x), [0.0]),
    "leaky_relu_0.2": (
        lambda x: ops.leaky_relu(x, 0.2),
        lambda x: tf().leaky_relu(x, 0.2),
        [0.0],
    ),
    "sigmoid": (ops.sigmoid, lambda x: torch.sigmoid(x), []),
    "tanh": (ops.tanh, lambda x: torch.tanh(x), []),
    "softplus": (ops.softplus, lambda x: tf().softplus(x), []),
    "softplus_beta2_threshold3": (  # 2x > 3 hits the linear region
        lambda x: ops.softplus(x, beta=2, threshold=3),
        lambda x: tf().softplus(x, beta=2, threshold=3),
        [1.5],
    ),
    "softplus_beta_half": (
        lambda x: ops.softplus(x, 0.5),
        lambda x: tf().softplus(x, 0.5),
        [],
    ),
    "gelu": (ops.gelu, lambda x: tf().gelu(x), []),
    "gelu_tanh": (
        lambda x: ops.gelu(x, approximate="tanh"),
        lambda x: tf().gelu(x, approximate="tanh"),
        [],
    ),
    "softmax_dim1": (
        lambda x: ops.softmax(x, 1),
        lambda x: tf().softmax(x, 1),
        [],
    ),
    "softmax_dim-1": (
        lambda x: ops.softmax(x, dim=-1),
        lambda x: tf().softmax(x, dim=-1),
        [],
    ),
    "log_softmax_dim0": (
        lambda x: ops.log_softmax(x, 0),
        lambda x: tf().log_softmax(x, 0),
        [],
    ),
    "log_softmax_dim-1": (
        lambda x: ops.log_softmax(x, -1),
        lambda x: tf().log_softmax(x, -1),
        [],
    ),
}


def sample(shape, kinks, seed=0, scale=3.0):
    """Uniform values in [-scale, scale], pushed at least 0.02 away from the kinks."""
    values = np.random.default_rng(seed).uniform(-scale, scale, size=shape)
    for kink in kinks:
        near = np.abs(values - kink) < 0.02
        values[near] = kink + np.where(values[near] >= kink, 0.05, -0.05)
    return values


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_and_torch_float64(name, device):
    sg_fn, torch_fn, kinks = CASES[name]
    check_op(sg_fn, torch_fn, [sample((2, 3, 4), kinks)], device)


@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_float32(name, device):
    sg_fn, torch_fn, kinks = CASES[name]
    check_against_torch(
        sg_fn, torch_fn, [sample((2, 3, 4), kinks, seed=1)], device, dtype=np.float32
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_keeps_float32(name, device):
    sg_fn, _, kinks = CASES[name]
    (x,) = to_sg([sample((2, 3), kinks).astype(np.float32)], device)
    assert sg_fn(x).dtype == sg.float32


@pytest.mark.parametrize(
    "name",
    [
        "leaky_relu_0.2",
        "softplus",
        "softplus_beta2_threshold3",
        "gelu",
        "gelu_tanh",
        "softmax_dim1",
        "log_softmax_dim-1",
    ],
)
def test_second_derivatives(name, device):
    sg_fn, _, kinks = CASES[name]
    (x,) = to_sg([sample((2, 3), kinks, seed=2)], device)
    assert sg.gradgradcheck(sg_fn, [x])


def test_softmax_of_a_scalar_is_one(device):
    x = sg.tensor(3.0, device=device, requires_grad=True)
    y = ops.softmax(x, -1)
    assert y.shape == () and y.item() == 1.0
    y.backward()
    assert x.grad.item() == 0.0


def test_gelu_tails_are_exact(device):
    x = sg.tensor([-40.0, -10.0, 10.0, 40.0], dtype=sg.float64, device=device)
    np.testing.assert_array_equal(ops.gelu(x).numpy(), [-0.0, 0.0, 10.0, 40.0])


# ----------------------------------------------------------------------------------
# erf (backend): the exact gelu rests on it
# ----------------------------------------------------------------------------------


def test_erf_matches_math_erf():
    values = np.concatenate(
        [
            np.linspace(-8, 8, 4001),
            np.geomspace(1e-300, 1e-3, 50),
            -np.geomspace(1e-300, 1e-3, 50),
            [0.46875, 4.0, 6.0, 27.0, 1e300],
        ]
    )
    expected = np.array([math.erf(v) for v in values])
    np.testing.assert_allclose(backend.erf(values), expected, rtol=2e-15, atol=0)


def test_erf_special_values_and_dtype():
    result = backend.erf(np.array([0.0, -0.0, np.inf, -np.inf, np.nan]))
    np.testing.assert_array_equal(result[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.signbit(result[1]) and np.isnan(result[4])
    assert backend.erf(np.ones((2, 3), dtype=np.float32)).dtype == np.float32
    assert backend.erf(np.zeros((0, 3))).shape == (0, 3)


@given(x=st.floats(-50, 50, allow_nan=False))
def test_erf_is_odd(x):
    assert backend.erf(np.array(x)) == -backend.erf(np.array(-x))


# ----------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------


@st.composite
def array_and_dim(draw, low=-3.0, high=3.0):
    shape = draw(shapes(min_dims=1, max_dims=3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return draw(arrays(shape, low, high)), dim


@given(case=array_and_dim(), shift=st.floats(-50, 50))
def test_softmax_sums_to_one_and_ignores_a_shift_per_row(case, shift, device):
    values, dim = case
    row_shift = shift * np.random.default_rng(0).uniform(size=values.shape)
    row_shift = row_shift.take([0], axis=dim)  # one constant per row along dim
    y = ops.softmax(sg.tensor(values, device=device), dim).numpy()
    shifted = ops.softmax(sg.tensor(values + row_shift, device=device), dim).numpy()
    np.testing.assert_allclose(y.sum(axis=dim), 1.0, rtol=1e-12)
    assert (y >= 0).all()
    np.testing.assert_allclose(shifted, y, rtol=1e-9, atol=1e-15)


@given(case=array_and_dim(-1e4, 1e4))
def test_log_softmax_is_log_of_softmax_and_finite_for_huge_logits(case, device):
    values, dim = case
    values = np.where(np.abs(values) > 5e3, np.sign(values) * 1e4, values)  # extremes too
    x = sg.tensor(values, device=device, requires_grad=True)
    log_y = ops.log_softmax(x, dim)
    assert np.isfinite(log_y.numpy()).all()
    probabilities = ops.softmax(sg.tensor(values, device=device), dim).numpy()
    normal = probabilities > np.finfo(np.float64).tiny  # log of subnormals is imprecise
    np.testing.assert_allclose(
        log_y.numpy()[normal], np.log(probabilities[normal]), rtol=1e-9, atol=1e-9
    )
    upstream = np.random.default_rng(0).standard_normal(values.shape)
    log_y.backward(sg.tensor(upstream, device=device))
    assert np.isfinite(x.grad.numpy()).all()


@given(values=arrays((3, 4), -40.0, 40.0), beta=st.sampled_from([0.5, 1.0, 3.0]))
def test_softplus_bounds(values, beta, device):
    y = ops.softplus(sg.tensor(values, device=device), beta=beta).numpy()
    relu = np.maximum(values, 0)
    assert (y >= 0).all() and (y >= relu).all()
    assert (y - relu <= math.log(2) / beta + 1e-12).all()


@given(
    values=arrays((3, 4), away_from=[0.0]),
    slope=st.sampled_from([0.0, 0.01, 0.2, 1.0]),
    factor=st.floats(0.1, 10.0),
)
def test_leaky_relu_is_piecewise_linear(values, slope, factor, device):
    y = ops.leaky_relu(sg.tensor(values, device=device), slope).numpy()
    np.testing.assert_allclose(y, np.where(values > 0, values, slope * values), rtol=1e-15)
    scaled = ops.leaky_relu(sg.tensor(factor * values, device=device), slope).numpy()
    np.testing.assert_allclose(scaled, factor * y, rtol=1e-12)  # positively homogeneous


@given(values=arrays((3, 4), -10.0, 10.0), approximate=st.sampled_from(["none", "tanh"]))
def test_gelu_lies_between_the_input_and_zero(values, approximate, device):
    y = ops.gelu(sg.tensor(values, device=device), approximate=approximate).numpy()
    assert (y <= np.maximum(values, 0) + 1e-12).all()
    assert (y >= np.minimum(values, 0) / 2 - 1e-12).all()  # Phi(x) < 1/2 for x < 0


# ----------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "softplus", "gelu"])
def test_integer_input_is_refused(name, device):
    x = sg.tensor([1, 2], device=device)
    with pytest.raises(TypeError, match=f"{name}: expected a floating-point tensor"):
        getattr(ops, name)(x)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dim_checks(name, device):
    x = sg.zeros(2, 3, device=device)
    with pytest.raises(IndexError, match=f"{name}: dim 2 is out of range"):
        getattr(ops, name)(x, 2)
    with pytest.raises(TypeError, match=f"{name}: expected dim"):
        getattr(ops, name)(x, None)
    with pytest.raises(TypeError, match=f"{name}: expected a floating-point tensor"):
        getattr(ops, name)(sg.tensor([1, 2], device=device), 0)


def test_gelu_unknown_approximation(device):
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        ops.gelu(sg.zeros(2, device=device), approximate="erf")


def test_softplus_zero_beta(device):
    with pytest.raises(ValueError, match="softplus: beta must be non-zero"):
        ops.softplus(sg.zeros(2, device=device), beta=0)
