"""Losses: gradchecks and torch conformance for every reduction, properties, bad input."""

import numpy as np
import pytest
from helpers import (
    check_against_torch,
    check_both_dtypes,
    class_loss_pair,
    sg_constant,
    to_sg,
    torch,
    torch_constant,
)
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays

import scratchgen as sg
from scratchgen import ops

REDUCTIONS = ["mean", "sum", "none"]


def tf():
    """torch.nn.functional (the cases below only call it when torch is installed)."""
    return torch.nn.functional


rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, size=(3, 4))
Y = X + rng.choice([-1, 1], size=X.shape) * rng.uniform(0.1, 1, size=X.shape)  # |x - y| > 0.1
PROBS = rng.uniform(0.05, 0.95, size=(3, 4))
TARGETS01 = rng.uniform(0, 1, size=(3, 4))
WEIGHT = rng.uniform(0.5, 2, size=(3, 4))
ROW_WEIGHT = rng.uniform(0.5, 2, size=(3, 1))
POS_WEIGHT = rng.uniform(0.5, 3, size=(4,))
CLASS_WEIGHT = rng.uniform(0.5, 2, size=(4,))
LABELS = np.array([0, 3, 1], dtype=np.int64)


# ----------------------------------------------------------------------------------
# mse_loss, l1_loss
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(name, reduction, device):
    check_both_dtypes(
        lambda x, y: getattr(ops, name)(x, y, reduction=reduction),
        lambda x, y: getattr(tf(), name)(x, y, reduction=reduction),
        [X, Y],
        device,
    )


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_with_weight(name, reduction, device):
    """torch differentiates the weight of these two, so it is an input here."""
    check_both_dtypes(
        lambda x, y, w: getattr(ops, name)(x, y, reduction=reduction, weight=w),
        lambda x, y, w: getattr(tf(), name)(x, y, reduction=reduction, weight=w),
        [X, Y, WEIGHT],
        device,
    )


@given(values=arrays((3, 4)), other=arrays((3, 4)), reduction=st.sampled_from(REDUCTIONS))
def test_mse_is_nonnegative_and_zero_only_when_equal(values, other, reduction, device):
    x = sg.tensor(values, device=device)
    assert (
        ops.mse_loss(x, sg.tensor(other, device=device), reduction=reduction).numpy() >= 0
    ).all()
    assert (ops.mse_loss(x, x, reduction=reduction).numpy() == 0).all()
    if not np.array_equal(values, other):
        assert ops.mse_loss(x, sg.tensor(other, device=device), reduction="sum").item() > 0


# ----------------------------------------------------------------------------------
# binary cross-entropy
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, WEIGHT, ROW_WEIGHT], ids=["none", "full", "rows"])
def test_binary_cross_entropy(reduction, weight, device):
    def ours(x, y):
        w = None if weight is None else sg_constant(weight, x)
        return ops.binary_cross_entropy(x, y, w, reduction=reduction)

    def theirs(x, y):
        w = None if weight is None else torch_constant(weight, x)
        return tf().binary_cross_entropy(x, y, w, reduction=reduction)

    check_both_dtypes(ours, theirs, [PROBS, TARGETS01], device)


def test_binary_cross_entropy_clamps_the_log_at_saturated_inputs(device):
    x = sg.tensor([0.0, 1.0, 0.0, 1.0], dtype=sg.float64, device=device, requires_grad=True)
    y = sg.tensor([1.0, 0.0, 0.0, 1.0], dtype=sg.float64, device=device)
    loss = ops.binary_cross_entropy(x, y, reduction="none")
    np.testing.assert_array_equal(loss.numpy(), [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_at_saturated_inputs_matches_torch(reduction, device):
    """The target is a constant here: torch's target gradient ignores the clamp (inf at
    x = 0 or 1); scratchgen's is the derivative of the clamped loss it computes."""
    target = np.array([1.0, 0.0, 0.0, 1.0, 0.3])
    check_against_torch(
        lambda x: ops.binary_cross_entropy(x, sg_constant(target, x), reduction=reduction),
        lambda x: tf().binary_cross_entropy(x, torch_constant(target, x), reduction=reduction),
        [np.array([0.0, 1.0, 0.0, 1.0, 1e-50])],
        device,
    )


def test_binary_cross_entropy_second_derivatives(device):
    assert sg.gradgradcheck(
        lambda x, y: ops.binary_cross_entropy(x, y, reduction="none"),
        to_sg([PROBS, TARGETS01], device),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "weight, pos_weight",
    [(None, None), (WEIGHT, None), (None, POS_WEIGHT), (ROW_WEIGHT, POS_WEIGHT)],
    ids=["plain", "weight", "pos_weight", "both"],
)
def test_binary_cross_entropy_with_logits(reduction, weight, pos_weight, device):
    def ours(x, y):
        w = None if weight is None else sg_constant(weight, x)
        p = None if pos_weight is None else sg_constant(pos_weight, x)
        return ops.binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=p)

    def theirs(x, y):
        w = None if weight is None else torch_constant(weight, x)
        p = None if pos_weight is None else torch_constant(pos_weight, x)
        return tf().binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=p)

    check_both_dtypes(ours, theirs, [X, TARGETS01], device)


def test_bce_with_logits_differentiates_weight_and_pos_weight(device):
    """torch refuses these gradients; scratchgen gives them, checked numerically."""
    inputs = to_sg([X, TARGETS01, ROW_WEIGHT, POS_WEIGHT], device)
    assert sg.gradcheck(
        lambda x, y, w, p: ops.binary_cross_entropy_with_logits(
            x, y, w, reduction="none", pos_weight=p
        ),
        inputs,
    )


@pytest.mark.parametrize("pos_weight", [None, POS_WEIGHT], ids=["plain", "pos_weight"])
def test_bce_with_logits_second_derivatives(pos_weight, device):
    def loss(x, y):
        p = None if pos_weight is None else sg_constant(pos_weight, x)
        return ops.binary_cross_entropy_with_logits(x, y, reduction="none", pos_weight=p)

    assert sg.gradgradcheck(loss, to_sg([X, TARGETS01], device))


def test_bce_with_logits_equals_bce_of_sigmoid(device):
    x, y = to_sg([X, TARGETS01], device)
    np.testing.assert_allclose(
        ops.binary_cross_entropy_with_logits(x, y, reduction="none").numpy(),
        ops.binary_cross_entropy(ops.sigmoid(x), y, reduction="none").numpy(),
        rtol=1e-12,
    )


# ----------------------------------------------------------------------------------
# cross_entropy
# ----------------------------------------------------------------------------------

CROSS_ENTROPY_CASES = {
    "plain": dict(),
    "weight": dict(weight=CLASS_WEIGHT),
    "smoothing": dict(label_smoothing=0.1),
    "weight_smoothing": dict(weight=CLASS_WEIGHT, label_smoothing=0.25),
    "ignore_index": dict(ignore_index=3),
    "ignore_weight_smoothing": dict(ignore_index=1, weight=CLASS_WEIGHT, label_smoothing=0.2),
}


def cross_entropy_pair(reduction, weight=None, **options):
    """cross_entropy of scratchgen and of torch with the same options (weight constant)."""
    return class_loss_pair("cross_entropy", reduction, weight, **options)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", sorted(CROSS_ENTROPY_CASES))
def test_cross_entropy(reduction, case, device):
    ours, theirs = cross_entropy_pair(reduction, **CROSS_ENTROPY_CASES[case])
    check_both_dtypes(ours, theirs, [X, LABELS], device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", ["plain", "ignore_weight_smoothing"])
def test_cross_entropy_with_spatial_axes(reduction, case, device):
    logits = rng.uniform(-2, 2, size=(2, 4, 2, 3))
    labels = rng.integers(0, 4, size=(2, 2, 3))
    labels[0, 1, 2] = CROSS_ENTROPY_CASES[case].get("ignore_index", 0)
    ours, theirs = cross_entropy_pair(reduction, **CROSS_ENTROPY_CASES[case])
    check_both_dtypes(ours, theirs, [logits, labels], device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_of_one_sample(reduction, device):
    ours, theirs = cross_entropy_pair(reduction, label_smoothing=0.1)
    check_both_dtypes(ours, theirs, [X[0], np.array(2)], device)


def test_cross_entropy_second_derivatives(device):
    ours, _ = cross_entropy_pair("none", weight=CLASS_WEIGHT, label_smoothing=0.1)
    assert sg.gradgradcheck(ours, to_sg([X, LABELS], device))


def test_cross_entropy_with_every_target_ignored_is_nan_like_torch(device):
    x = sg.tensor(X, device=device)
    target = sg.tensor([-100, -100, -100], device=device)
    with np.errstate(invalid="ignore"):
        assert np.isnan(ops.cross_entropy(x, target).item())
    assert ops.cross_entropy(x, target, reduction="sum").item() == 0.0


# ----------------------------------------------------------------------------------
# huge logits: finite losses and gradients
# ----------------------------------------------------------------------------------


@given(
    values=arrays((3, 4), -1e4, 1e4),
    targets=arrays((3, 4), 0.0, 1.0),
    extreme=st.sampled_from([-1e4, 1e4]),
)
def test_logit_losses_are_finite_for_huge_logits(values, targets, extreme, device):
    values = values.copy()
    values[0] = extreme
    x = sg.tensor(values, device=device, requires_grad=True)
    labels = sg.tensor(np.arange(3) % 4, device=device)
    losses = [
        ops.cross_entropy(x, labels, label_smoothing=0.1),
        ops.binary_cross_entropy_with_logits(
            x, sg.tensor(targets, device=device), pos_weight=sg.tensor(POS_WEIGHT, device=device)
        ),
    ]
    for loss in losses:
        x.grad = None
        assert np.isfinite(loss.item())
        loss.backward()
        assert np.isfinite(x.grad.numpy()).all()


def test_cross_entropy_of_a_confident_right_answer_is_zero(device):
    x = sg.tensor([[1e4, -1e4, 0.0]], dtype=sg.float64, device=device)
    assert ops.cross_entropy(x, sg.tensor([0], device=device)).item() == 0.0
    assert ops.cross_entropy(x, sg.tensor([1], device=device)).item() == 2e4


# ----------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------

ALL_LOSSES = ["mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]


@pytest.mark.parametrize("name", ALL_LOSSES + ["cross_entropy"])
def test_unknown_reduction(name, device):
    x = sg.full((2, 3), 0.5, device=device)
    target = sg.tensor([0, 1], device=device) if name == "cross_entropy" else x
    with pytest.raises(
        ValueError, match=f"{name}: reduction must be 'mean', 'sum' or 'none', got 'avg'"
    ):
        getattr(ops, name)(x, target, reduction="avg")


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_target_shape_mismatch(name, device):
    x = sg.full((2, 3), 0.5, device=device)
    with pytest.raises(
        ValueError,
        match=rf"{name}: expected a target of the input's shape "
        r"\(2, 3\), got \(3, 2\)",
    ):
        getattr(ops, name)(x, sg.full((3, 2), 0.5, device=device))


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_integer_target_is_refused(name, device):
    x = sg.full((2,), 0.5, device=device)
    with pytest.raises(TypeError, match=f"{name}: expected a floating-point target"):
        getattr(ops, name)(x, sg.tensor([0, 1], device=device))


def test_weight_shape_checks(device):
    x = sg.full((2, 3), 0.5, device=device)
    with pytest.raises(ValueError, match=r"mse_loss: expected a weight of the input's shape"):
        ops.mse_loss(x, x, weight=sg.ones(3, device=device))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: expected weight broadcastable"):
        ops.binary_cross_entropy(x, x, sg.ones(2, device=device))
    with pytest.raises(ValueError, match=r"with_logits: expected pos_weight broadcastable"):
        ops.binary_cross_entropy_with_logits(x, x, pos_weight=sg.ones(4, 1, 1, device=device))


def test_binary_cross_entropy_needs_probabilities(device):
    x = sg.tensor([0.5, 1.5, -0.25], device=device)
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy: expected input probabilities "
        r"in \[0, 1\].*got values in \[-0.25, 1.5\]",
    ):
        ops.binary_cross_entropy(x, sg.zeros(3, device=device))


def test_cross_entropy_class_index_out_of_range(device):
    x = sg.zeros(3, 4, device=device)
    with pytest.raises(
        IndexError,
        match=r"cross_entropy: target class indices must be in "
        r"\[0, 3\] \(or ignore_index -100\), got 7",
    ):
        ops.cross_entropy(x, sg.tensor([0, 7, 1], device=device))
    with pytest.raises(IndexError, match="got -1"):
        ops.cross_entropy(x, sg.tensor([0, -1, 1], device=device))


def test_cross_entropy_float_target(device):
    x = sg.zeros(3, 4, device=device)
    with pytest.raises(
        TypeError,
        match=r"cross_entropy: expected a target of integer class "
        r"indices \(int64\), got dtype float32",
    ):
        ops.cross_entropy(x, sg.zeros(3, 4, device=device))


def test_cross_entropy_shape_checks(device):
    x = sg.zeros(3, 4, device=device)
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: expected a target of shape \(3,\) "
        r"for logits of shape \(3, 4\), got \(2,\)",
    ):
        ops.cross_entropy(x, sg.tensor([0, 1], device=device))
    with pytest.raises(ValueError, match=r"cross_entropy: expected a weight of shape \(4,\)"):
        ops.cross_entropy(x, sg.tensor([0, 1, 2], device=device), sg.ones(3, device=device))
    with pytest.raises(ValueError, match=r"cross_entropy: expected a 0-d target"):
        ops.cross_entropy(sg.zeros(4, device=device), sg.tensor([0, 1], device=device))
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\]"):
        ops.cross_entropy(x, sg.tensor([0, 1, 2], device=device), label_smoothing=1.5)
