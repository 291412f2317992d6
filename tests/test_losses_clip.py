"""sg.losses.clip_loss: gradchecks through the logit scale and both embeddings, torch twins,
and its maths as properties (permutations, symmetry, log N, monotone in the matched
similarity, finite at the largest scale)."""

import math

import numpy as np
import pytest
from helpers import check_against_torch, check_op, torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, floats

import scratchgen as sg
from scratchgen import losses
from scratchgen.nn import functional as F

rng = np.random.default_rng(0)
IMAGES = rng.normal(size=(5, 4))  # raw embeddings of 5 images and their 5 texts
TEXTS = rng.normal(size=(5, 4))
LOG_SCALE = np.array([math.log(1 / 0.07)])


def loss_of(logits):
    return losses.clip_loss(sg.tensor(logits)).item()


def torch_clip_loss(logits):
    labels = torch.arange(logits.shape[0])
    ce = torch.nn.functional.cross_entropy
    return (ce(logits, labels) + ce(logits.T, labels)) / 2


def embedded_loss(library_normalize, library_loss):
    """L(u, v, t) = clip_loss(exp(t) normalize(u) normalize(v)^T), in either library."""

    def loss(images, texts, log_scale):
        u, v = library_normalize(images, dim=1), library_normalize(texts, dim=1)
        return library_loss(u @ v.T * log_scale.exp())

    return loss


def test_gradcheck_through_the_logit_scale_and_both_embeddings(device):
    ours = embedded_loss(F.normalize, losses.clip_loss)
    theirs = embedded_loss(torch and torch.nn.functional.normalize, torch_clip_loss)
    check_op(ours, theirs, [IMAGES, TEXTS, LOG_SCALE], device)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_loss_matches_torch(device, dtype):
    logits = rng.normal(0, 5, size=(7, 7))
    check_against_torch(losses.clip_loss, torch_clip_loss, [logits], device, dtype=dtype)


def test_the_gradient_is_the_two_softmaxes_minus_twice_the_identity():
    logits = rng.normal(0, 2, size=(6, 6))
    x = sg.tensor(logits, requires_grad=True)
    losses.clip_loss(x).backward()
    rows = np.exp(logits - logits.max(1, keepdims=True))
    rows /= rows.sum(1, keepdims=True)
    columns = np.exp(logits - logits.max(0, keepdims=True))
    columns /= columns.sum(0, keepdims=True)
    expected = (rows + columns - 2 * np.eye(6)) / (2 * 6)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


square = st.integers(1, 7).flatmap(lambda n: arrays((n, n), -10.0, 10.0))


@given(logits=square, seed=st.integers(0, 2**16))
def test_unchanged_when_the_pairs_are_permuted_together(logits, seed):
    order = np.random.default_rng(seed).permutation(len(logits))
    assert loss_of(logits[order][:, order]) == pytest.approx(loss_of(logits), rel=1e-12)


@given(logits=square)
def test_symmetric_in_images_and_texts(logits):
    assert loss_of(logits.T) == pytest.approx(loss_of(logits), rel=1e-12)


@given(n=st.integers(1, 40), value=floats(-100, 100))
def test_log_n_for_constant_logits(n, value):
    assert loss_of(np.full((n, n), value)) == pytest.approx(math.log(n), abs=1e-12)


@given(logits=square, data=st.data())
def test_decreasing_as_a_matched_similarity_grows(logits, data):
    pair = data.draw(st.integers(0, len(logits) - 1))
    raised = logits.copy()
    raised[pair, pair] += data.draw(st.floats(0.01, 5.0))
    if len(logits) == 1:  # one pair: nothing to tell apart, the loss is log 1 = 0
        assert loss_of(raised) == loss_of(logits) == 0
    else:
        assert loss_of(raised) < loss_of(logits)


@given(signs=st.integers(1, 8).flatmap(lambda n: arrays((n, n), -1.0, 1.0)))
def test_finite_at_scale_100_and_similarities_of_plus_minus_one(signs):
    logits = sg.tensor(100.0 * np.sign(signs + 1e-9), dtype=sg.float32, requires_grad=True)
    loss = losses.clip_loss(logits)
    loss.backward()
    assert math.isfinite(loss.item()) and loss.item() >= 0
    assert np.isfinite(logits.grad.numpy()).all()


def test_perfect_agreement_at_scale_100_costs_nothing():
    logits = 100.0 * (2 * np.eye(4) - 1)  # matched pairs +1, the rest -1
    assert loss_of(logits) == pytest.approx(0.0, abs=1e-80)


@pytest.mark.parametrize("shape", [(3, 4), (4,), (2, 2, 2)])
def test_non_square_logits_are_a_clear_error(shape):
    with pytest.raises(ValueError, match=r"clip_loss: expected square logits \(N, N\)"):
        losses.clip_loss(sg.zeros(*shape))


def test_no_pairs_is_a_clear_error():
    with pytest.raises(ValueError, match="clip_loss: expected at least one pair"):
        losses.clip_loss(sg.zeros(0, 0))
