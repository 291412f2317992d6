"""batch_norm, instance_norm, layer_norm: gradients (first and second order), torch
conformance (outputs, gradients, running statistics), invariances and bad input."""

import numpy as np
import pytest
from helpers import check_against_torch, check_op, to_sg
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays

import scratchgen as sg
from scratchgen.ops.norm import batch_norm, instance_norm, layer_norm

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the torch halves of check_op skip cleanly
    torch = F = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def random(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def positive(*shape, seed=1):
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


def running_stats(channels):
    """A fixed running (mean, var) pair, as float64 arrays."""
    return random(channels, seed=7), positive(channels, seed=8)


# ----------------------------------------------------------------------------------
# gradients and torch conformance
# ----------------------------------------------------------------------------------

SHAPES_PER_CHANNEL = [(5, 3), (3, 2, 3, 2)]


@pytest.mark.parametrize("shape", SHAPES_PER_CHANNEL, ids=["2d", "4d"])
def test_batch_norm_training(shape, device):
    channels = shape[1]
    check_op(
        lambda x, w, b: batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [random(*shape), random(channels, seed=1), random(channels, seed=2)],
        device,
    )


def fixed_stats(channels, device):
    """The running statistics as constant (mean, var): scratchgen and torch tensors."""
    mean, var = running_stats(channels)
    ours = to_sg([mean, var], device, requires_grad=False)
    theirs = (torch.tensor(mean), torch.tensor(var)) if torch is not None else None
    return ours, theirs


@pytest.mark.parametrize("shape", SHAPES_PER_CHANNEL, ids=["2d", "4d"])
def test_batch_norm_eval(shape, device):
    (mean, var), theirs = fixed_stats(shape[1], device)
    check_op(
        lambda x, w, b: batch_norm(x, mean, var, w, b, training=False),
        lambda x, w, b: F.batch_norm(x, *theirs, w, b, training=False),
        [random(*shape), random(shape[1], seed=1), random(shape[1], seed=2)],
        device,
    )


def test_batch_norm_without_affine(device):
    check_op(
        lambda x: batch_norm(x, None, None, training=True),
        lambda x: F.batch_norm(x, None, None, training=True),
        [random(4, 3, 2)],
        device,
    )


def test_instance_norm(device):
    check_op(
        lambda x, w, b: instance_norm(x, weight=w, bias=b),
        lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
        [random(2, 3, 2, 3), random(3, seed=1), random(3, seed=2)],
        device,
    )


def test_instance_norm_with_running_stats(device):
    (mean, var), theirs = fixed_stats(3, device)
    check_op(
        lambda x: instance_norm(x, mean, var, use_input_stats=False),
        lambda x: F.instance_norm(x, *theirs, use_input_stats=False),
        [random(2, 3, 4)],
        device,
    )


@pytest.mark.parametrize("normalized_shape", [(4,), (3, 4)], ids=["1-axis", "2-axes"])
def test_layer_norm(normalized_shape, device):
    check_op(
        lambda x, w, b: layer_norm(x, normalized_shape, w, b),
        lambda x, w, b: F.layer_norm(x, normalized_shape, w, b),
        [random(2, 3, 4), random(*normalized_shape, seed=1), random(*normalized_shape, seed=2)],
        device,
    )


def test_layer_norm_without_affine(device):
    check_op(lambda x: layer_norm(x, 5), lambda x: F.layer_norm(x, (5,)), [random(3, 5)], device)


CASES_FLOAT32 = [
    (
        lambda x, w, b: batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [random(8, 4, 5, 5), random(4, seed=1), random(4, seed=2)],
    ),
    (
        lambda x, w, b: instance_norm(x, weight=w, bias=b),
        lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
        [random(2, 4, 6, 6), random(4, seed=1), random(4, seed=2)],
    ),
    (
        lambda x, w, b: layer_norm(x, (6, 7), w, b),
        lambda x, w, b: F.layer_norm(x, (6, 7), w, b),
        [random(3, 6, 7), random(6, 7, seed=1), random(6, 7, seed=2)],
    ),
]


@pytest.mark.parametrize("ours, theirs, inputs", CASES_FLOAT32, ids=["batch", "instance", "layer"])
def test_float32_matches_torch(ours, theirs, inputs, device):
    check_against_torch(ours, theirs, inputs, device, dtype=np.float32)


@needs_torch
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-7), (np.float32, 1e-4)])
@pytest.mark.parametrize("op", ["batch_norm", "instance_norm"])
def test_running_stats_match_torch(op, dtype, rtol, device):
    mean, var = running_stats(3)
    ours_mean, ours_var = to_sg([mean, var], device, requires_grad=False, dtype=dtype)
    their_mean, their_var = torch.tensor(mean.astype(dtype)), torch.tensor(var.astype(dtype))
    for step in range(3):
        x = (random(4, 3, 3, 2, seed=step) * 2 + 1).astype(dtype)
        if op == "batch_norm":
            batch_norm(sg.tensor(x, device=device), ours_mean, ours_var, training=True)
            F.batch_norm(torch.tensor(x), their_mean, their_var, training=True, momentum=0.1)
        else:
            instance_norm(sg.tensor(x, device=device), ours_mean, ours_var, momentum=0.2)
            F.instance_norm(torch.tensor(x), their_mean, their_var, momentum=0.2)
    np.testing.assert_allclose(ours_mean.numpy(), their_mean.numpy(), rtol=rtol)
    np.testing.assert_allclose(ours_var.numpy(), their_var.numpy(), rtol=rtol)
    assert ours_mean.dtype == dtype and ours_var.dtype == dtype


def test_eval_leaves_running_stats_alone(device):
    mean, var = to_sg(running_stats(3), device, requires_grad=False)
    batch_norm(sg.randn(4, 3, device=device, dtype=sg.float64), mean, var, training=False)
    np.testing.assert_array_equal(mean.numpy(), running_stats(3)[0])
    np.testing.assert_array_equal(var.numpy(), running_stats(3)[1])


# ----------------------------------------------------------------------------------
# second order (gradient penalties differentiate through the norms)
# ----------------------------------------------------------------------------------


def batch_norm_eval(x, w, b):
    (mean, var), _ = fixed_stats(3, x.device)
    return batch_norm(x, mean, var, w, b, training=False)


SECOND_ORDER = {
    "batch-train": (lambda x, w, b: batch_norm(x, None, None, w, b, training=True), (3,)),
    "batch-eval": (batch_norm_eval, (3,)),
    "instance": (lambda x, w, b: instance_norm(x, weight=w, bias=b), (3,)),
    "layer": (lambda x, w, b: layer_norm(x, (2, 3), w, b), (2, 3)),
}


@pytest.mark.parametrize("name", list(SECOND_ORDER))
def test_double_backward(name, device):
    fn, param_shape = SECOND_ORDER[name]
    inputs = [random(2, 3, 2, 3), random(*param_shape, seed=1), random(*param_shape, seed=2)]
    assert sg.gradgradcheck(fn, to_sg(inputs, device))


def test_double_backward_without_affine(device):
    (x,) = to_sg([random(3, 2, 4)], device)
    assert sg.gradgradcheck(lambda x: batch_norm(x, None, None, training=True), [x])
    assert sg.gradgradcheck(lambda x: layer_norm(x, 4), [x])


@needs_torch
def test_double_backward_matches_torch(device):
    x_np, w_np, v_np = random(4, 3, 2), random(3, seed=1), random(4, 3, 2, seed=3)
    x, w = to_sg([x_np, w_np], device)
    (gx,) = sg.autograd.grad(
        batch_norm(x, None, None, w, training=True),
        [x],
        sg.tensor(v_np, device=device),
        create_graph=True,
    )
    (gx * gx).sum().backward()
    xt, wt = torch.tensor(x_np, requires_grad=True), torch.tensor(w_np, requires_grad=True)
    (gxt,) = torch.autograd.grad(
        F.batch_norm(xt, None, None, wt, training=True),
        [xt],
        torch.tensor(v_np),
        create_graph=True,
    )
    (gxt * gxt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-7, atol=1e-10)


# ----------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------


@st.composite
def per_channel_inputs(draw, min_spatial=1):
    """(N, C, H, W) float64 arrays with a per-channel scale and offset (variance >> eps)."""
    shape = (
        draw(st.integers(2, 4)),
        draw(st.integers(1, 3)),
        draw(st.integers(min_spatial, 3)),
        draw(st.integers(min_spatial, 3)),
    )
    x = draw(arrays(shape, -1.0, 1.0))
    scale = draw(st.floats(0.5, 50.0))
    offset = draw(st.floats(-100.0, 100.0))
    return x * scale + offset


@given(x=per_channel_inputs())
def test_batch_norm_output_is_standardised(x, device):
    """Per channel: mean 0 and biased variance var / (var + eps), which is 1 when var >> eps."""
    y = batch_norm(sg.tensor(x, device=device), None, None, training=True, eps=1e-5).numpy()
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), var / (var + 1e-5), rtol=1e-9)
    big = var > 1e3 * 1e-5
    np.testing.assert_allclose(y.var(axis=(0, 2, 3))[big], 1, rtol=1e-3)


@given(
    x=st.integers(0, 2**32 - 1).map(lambda seed: random(3, 2, 5, seed=seed)),
    a=st.floats(0.1, 100.0),
    b=st.floats(-100.0, 100.0),
    axes=st.sampled_from([(5,), (2, 5)]),
)
def test_layer_norm_ignores_affine_maps_of_its_input(x, a, b, axes, device):
    before = layer_norm(sg.tensor(x, device=device), axes, eps=1e-12).numpy()
    after = layer_norm(sg.tensor(a * x + b, device=device), axes, eps=1e-12).numpy()
    np.testing.assert_allclose(after, before, atol=1e-7)


@given(x=per_channel_inputs(min_spatial=2), seed=st.integers(0, 2**32 - 1))
def test_instance_norm_ignores_a_shift_per_instance(x, seed, device):
    shift = np.random.default_rng(seed).uniform(-100, 100, x.shape[:2] + (1, 1))
    before = instance_norm(sg.tensor(x, device=device)).numpy()
    after = instance_norm(sg.tensor(x + shift, device=device)).numpy()
    np.testing.assert_allclose(after, before, atol=1e-7)


NORMS = {
    "batch": lambda x: batch_norm(x, None, None, training=True),
    "instance": lambda x: instance_norm(x),
    "layer": lambda x: layer_norm(x, x.shape[-2:]),
}


@pytest.mark.parametrize("name", list(NORMS))
@given(value=st.floats(-1e6, 1e6), dtype=st.sampled_from([sg.float32, sg.float64]))
def test_constant_input_gives_finite_output_and_gradients(name, value, dtype, device):
    x = sg.full((3, 2, 2, 2), value, dtype=dtype, device=device, requires_grad=True)
    y = NORMS[name](x)
    y.backward(sg.tensor(random(*y.shape), dtype=dtype, device=device))
    assert np.all(np.isfinite(y.numpy()))
    assert np.all(np.isfinite(x.grad.numpy()))


@pytest.mark.parametrize("name", list(NORMS))
@given(value=st.floats(-1e3, 1e3))
def test_constant_input_gives_zero(name, value, device):
    """Zero up to the rounding of the mean (which eps amplifies by 1/sqrt(eps))."""
    y = NORMS[name](sg.full((3, 2, 2, 2), value, dtype=sg.float64, device=device))
    np.testing.assert_allclose(y.numpy(), 0, atol=1e-6)


# ----------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------


def test_batch_norm_rejects_wrong_channel_counts(device):
    x = sg.randn(4, 3, 2, 2, device=device)
    with pytest.raises(ValueError, match=r"batch_norm.*running_mean.*3.*got 5"):
        batch_norm(x, sg.zeros(5, device=device), sg.ones(5, device=device), training=True)
    with pytest.raises(ValueError, match=r"batch_norm.*weight.*3.*got 4"):
        batch_norm(x, None, None, weight=sg.ones(4, device=device), training=True)


def test_batch_norm_rejects_a_single_value_per_channel(device):
    with pytest.raises(ValueError, match="batch_norm.*more than 1 value"):
        batch_norm(sg.randn(1, 3, device=device), None, None, training=True)


def test_instance_norm_rejects_bad_input(device):
    with pytest.raises(ValueError, match=r"instance_norm.*shape \(4, 3\)"):
        instance_norm(sg.randn(4, 3, device=device))
    with pytest.raises(ValueError, match="instance_norm.*expected running_mean"):
        instance_norm(sg.randn(2, 3, 4, device=device), use_input_stats=False)


def test_layer_norm_rejects_a_shape_that_does_not_match(device):
    x = sg.randn(2, 3, 4, device=device)
    with pytest.raises(ValueError, match=r"layer_norm.*\(3,\).*\(2, 3, 4\)"):
        layer_norm(x, (3,))
    with pytest.raises(ValueError, match=r"layer_norm.*weight.*\(4,\).*\(3,\)"):
        layer_norm(x, (4,), weight=sg.ones(3, device=device))


def test_norms_reject_integer_input(device):
    with pytest.raises(TypeError, match="layer_norm.*floating"):
        layer_norm(sg.tensor([[1, 2]], device=device), 2)
