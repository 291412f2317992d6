"""The reference classifier: its shipped weights, its features, its augmentation."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from scratchgen.data import mnist
from scratchgen.metrics import conditional_accuracy, fid
from scratchgen.models import Classifier, reference_classifier
from scratchgen.models import classifier as classifier_module
from scratchgen.models.classifier import noisy, random_shift


def test_the_shipped_classifier_reads_98_percent_of_the_test_digits():
    test = mnist("test")
    assert conditional_accuracy(test.arrays["image"], test.arrays["label"]) >= 0.98


def test_the_shipped_classifier_is_cached_and_in_eval_mode():
    classifier = reference_classifier()
    assert classifier is reference_classifier("cpu")
    assert not classifier.training


def test_loading_the_shipped_classifier_leaves_the_random_stream_alone():
    # a metric computed in the middle of training must not change what training draws next
    sg.manual_seed(5)
    expected = sg.randn(4).numpy()
    sg.manual_seed(5)
    classifier_module._reference_classifier.__wrapped__("cpu")  # built here, past the cache
    np.testing.assert_array_equal(sg.randn(4).numpy(), expected)


def test_features_are_the_128_penultimate_activations(device):
    model = Classifier().to(device).eval()
    x = sg.tensor(mnist("test").arrays["image"][:5], device=device)
    assert model.features(x).shape == (5, 128)
    assert model(x).shape == (5, 10)
    np.testing.assert_allclose(
        model(x).numpy(), model.head(model.features(x)).numpy(), rtol=1e-6, atol=1e-6
    )


def test_fid_calibration_noise_makes_fid_grow():
    test = mnist("test").arrays["image"][:300]
    small = fid(noisy(test, sigma=0.05), test)
    large = fid(noisy(test, sigma=0.2), test)
    assert 0 < small < large


@given(st.integers(0, 3), st.integers(0, 1000))
def test_random_shift_moves_each_image_without_changing_its_ink(shift, seed):
    sg.manual_seed(seed)
    image = np.zeros((6, 2, 12, 12), np.float32)
    image[:, :, 4:8, 4:8] = np.arange(32, dtype=np.float32).reshape(2, 4, 4) + 1
    shifted = random_shift(sg.tensor(image), shift).numpy()
    assert shifted.shape == image.shape
    np.testing.assert_allclose(shifted.sum(axis=(1, 2, 3)), image.sum(axis=(1, 2, 3)))
    for original, moved in zip(image, shifted):  # a pure translation by at most `shift`
        rows, cols = np.nonzero(moved[0])
        dy, dx = rows.min() - 4, cols.min() - 4
        assert abs(dy) <= shift and abs(dx) <= shift
        np.testing.assert_array_equal(
            moved[:, 4 + dy : 8 + dy, 4 + dx : 8 + dx], original[:, 4:8, 4:8]
        )
