"""optim.ema: the warm-up decay and the in-place moving average of a network's weights."""

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from scratchgen import nn
from scratchgen.optim.ema import ema_decay, update_ema


def two_copies(seed=0):
    sg.manual_seed(seed)
    network = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    return network, copy.deepcopy(network)


@given(st.integers(0, 100_000), st.floats(0.0, 1.0))
def test_the_decay_warms_up_to_its_cap(updates, decay):
    d = ema_decay(updates, decay)
    assert d == min(decay, (1 + updates) / (10 + updates))
    assert 0.0 <= d <= decay and d <= ema_decay(updates + 1, decay)


def test_the_warm_up_reaches_0_999_after_8990_updates():
    assert ema_decay(0, 0.999) == pytest.approx(0.1)
    assert ema_decay(8989, 0.999) < 0.999 and ema_decay(8990, 0.999) == pytest.approx(0.999)


@given(st.floats(0.0, 1.0), st.integers(0, 1000))
def test_update_is_the_convex_combination_in_place(decay, seed):
    network, average = two_copies(seed)
    for p in network.parameters():
        p.data += 1.0
    before = [p.data.copy() for p in average.parameters()]
    arrays = [p.data for p in average.parameters()]
    update_ema(average, network, decay)
    for old, kept, mean, current in zip(before, arrays, average.parameters(), network.parameters()):
        assert mean.data is kept  # in place: optimisers and views keep seeing the same array
        np.testing.assert_allclose(mean.data, decay * old + (1 - decay) * current.data, rtol=1e-6)


def test_the_average_of_a_constant_network_converges_to_it():
    network, average = two_copies()
    for p in average.parameters():
        p.data *= 0.0
    for t in range(200):
        update_ema(average, network, ema_decay(t, 0.9))
    for mean, current in zip(average.parameters(), network.parameters()):
        np.testing.assert_allclose(mean.data, current.data, rtol=1e-6, atol=1e-6)


def test_bad_decay_and_mismatched_networks_are_named():
    network, average = two_copies()
    with pytest.raises(ValueError, match=r"update_ema: expected a decay in \[0, 1\], got 1.5"):
        update_ema(average, network, 1.5)
    with pytest.raises(ValueError, match="update_ema: expected the average and the network"):
        update_ema(nn.Linear(3, 4), network, 0.5)
