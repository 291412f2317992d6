"""sg.losses' cycle and identity terms: gradchecks and torch twins, and their maths as
properties (zero exactly at a perfect round trip or an identity, symmetric, the mean
absolute error, the bounded gradient sign(e) / n), and the shape errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays

import scratchgen as sg
from scratchgen import losses
from tests.helpers import check_op, to_sg

LOSSES = {"cycle_loss": losses.cycle_loss, "identity_loss": losses.identity_loss}
rng = np.random.default_rng(0)
IMAGES = rng.uniform(-1, 1, size=(2, 3, 4, 4))


def away_from_each_other(x, offsets, margin=0.05):
    """x + offsets with every |offset| >= margin: no central difference straddles the kink
    of |e| at e = 0."""
    signs = np.where(offsets >= 0, 1.0, -1.0)
    return x + signs * np.maximum(np.abs(offsets), margin)


def torch_l1(prediction, target):
    return (prediction - target).abs().mean()


@pytest.mark.parametrize("name", LOSSES)
def test_gradcheck_and_torch_on_both_inputs(name, device):
    other = away_from_each_other(IMAGES, rng.normal(0, 0.5, size=IMAGES.shape))
    check_op(LOSSES[name], torch_l1, [other, IMAGES], device)


@pytest.mark.parametrize("name", LOSSES)
@given(x=arrays((2, 1, 3, 3)), offsets=arrays((2, 1, 3, 3), low=-1.0, high=1.0))
def test_the_loss_is_the_mean_absolute_error_and_symmetric(name, x, offsets, device):
    y = away_from_each_other(x, offsets)
    ours, swapped = (LOSSES[name](*to_sg(pair, device)) for pair in ([y, x], [x, y]))
    assert ours.item() == pytest.approx(np.abs(y - x).mean(), rel=1e-12)
    assert ours.item() == pytest.approx(swapped.item(), rel=1e-12)


@pytest.mark.parametrize("name", LOSSES)
@given(x=arrays((3, 2, 2, 2)))
def test_zero_at_a_perfect_round_trip_with_a_zero_gradient(name, x, device):
    prediction, target = to_sg([x, x.copy()], device)
    loss = LOSSES[name](prediction, target)
    loss.backward()
    assert loss.item() == 0.0
    assert np.all(prediction.grad.numpy() == 0.0)


@pytest.mark.parametrize("name", LOSSES)
@given(x=arrays((2, 1, 2, 3)), offsets=arrays((2, 1, 2, 3), low=-50.0, high=50.0))
def test_the_gradient_is_the_sign_over_n_however_large_the_error(name, x, offsets, device):
    y = away_from_each_other(x, offsets)
    prediction, target = to_sg([y, x], device)
    LOSSES[name](prediction, target).backward()
    np.testing.assert_allclose(prediction.grad.numpy(), np.sign(y - x) / x.size, rtol=1e-12)


@pytest.mark.parametrize("name", LOSSES)
@given(shift=st.floats(0.01, 2.0))
def test_a_larger_constant_shift_costs_more(name, shift, device):
    """What the identity loss is for: an intensity shift c costs exactly |c|."""
    image = sg.tensor(IMAGES, device=device)
    small = LOSSES[name](image + shift, image).item()
    large = LOSSES[name](image + 2 * shift, image).item()
    assert small == pytest.approx(shift, rel=1e-9)
    assert large == pytest.approx(2 * small, rel=1e-9)


@pytest.mark.parametrize("name", LOSSES)
def test_a_shape_mismatch_names_the_loss_and_both_shapes(name, device):
    a, b = to_sg([IMAGES, IMAGES[:, :1]], device)
    with pytest.raises(
        ValueError, match=rf"{name}: expected .* \(2, 3, 4, 4\), got \(2, 1, 4, 4\)"
    ):
        LOSSES[name](b, a)
