"""The reference classifier as a ruler: its shipped weights, and the scores built on it."""

import numpy as np
import pytest

import scratchgen as sg
from scratchgen import backend, metrics, nn
from scratchgen.data import mnist
from scratchgen.evaluation import reference

# ----------------------------------------------------------------------------------
# the shipped classifier
# ----------------------------------------------------------------------------------


def test_the_shipped_classifier_reads_98_percent_of_the_test_digits():
    test = mnist("test")
    assert reference.conditional_accuracy(test.arrays["image"], test.arrays["label"]) >= 0.98


def test_the_shipped_classifier_is_cached_and_in_eval_mode():
    classifier = reference.reference_classifier()
    assert classifier is reference.reference_classifier("cpu")
    assert not classifier.training


def test_loading_the_shipped_classifier_leaves_the_random_stream_alone():
    # a metric computed in the middle of training must not change what training draws next
    sg.manual_seed(5)
    expected = sg.randn(4).numpy()
    sg.manual_seed(5)
    reference._reference_classifier.__wrapped__("cpu")  # built here, past the cache
    np.testing.assert_array_equal(sg.randn(4).numpy(), expected)


def test_fid_calibration_noise_makes_fid_grow():
    test = mnist("test").arrays["image"][:300]
    small = reference.fid(reference.noisy(test, sigma=0.05), test)
    large = reference.fid(reference.noisy(test, sigma=0.2), test)
    assert 0 < small < large


# ----------------------------------------------------------------------------------
# classifier-based scores, with a tiny stand-in classifier
# ----------------------------------------------------------------------------------


class PixelClassifier(nn.Module):
    """Logits and 'features' as linear maps of the flattened 28 x 28 pixels."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(784, 10)
        self.project = nn.Linear(784, 6)
        self.calls = []

    def forward(self, x):
        self.calls.append((x.shape, x.device, x.dtype, sg.is_grad_enabled()))
        return self.head(x.reshape(len(x), 784))

    def features(self, x):
        return self.project(x.reshape(len(x), 784))


@pytest.fixture
def classifier(device):
    return PixelClassifier().to(device)


def digits(n=12, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, size=(n, 1, 28, 28)).astype(np.float32)


def expected_logits(classifier, x):
    weight, bias = (backend.to_numpy(p.data) for p in classifier.head.parameters())
    return x.reshape(len(x), 784) @ weight.T + bias


def test_classify_in_batches_on_the_classifier_device(classifier, device):
    x = digits(12)
    logits = reference.classify(x, classifier, batch_size=5)
    assert isinstance(logits, np.ndarray) and logits.shape == (12, 10)
    np.testing.assert_allclose(logits, expected_logits(classifier, x), rtol=1e-4, atol=1e-5)
    assert [call[0] for call in classifier.calls] == [(5, 1, 28, 28)] * 2 + [(2, 1, 28, 28)]
    assert all(call[1:] == (device, sg.float32, False) for call in classifier.calls)


def test_classify_accepts_grey_32px_and_tensor_images(classifier):
    x = digits(4)
    logits = reference.classify(x, classifier)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    np.testing.assert_allclose(reference.classify(padded, classifier), logits, rtol=1e-6)
    np.testing.assert_allclose(reference.classify(x[:, 0], classifier), logits, rtol=1e-6)
    np.testing.assert_allclose(reference.classify(sg.tensor(x), classifier), logits, rtol=1e-6)


def test_classify_uses_the_classifier_dtype(classifier):
    x = digits(3)
    logits = reference.classify(x, classifier.to(sg.float64))
    assert classifier.calls[0][2] == sg.float64 and logits.dtype == np.float64
    np.testing.assert_allclose(logits, expected_logits(classifier, x.astype(np.float64)))


def test_features_and_fid(classifier):
    x, y = digits(20, seed=0), digits(20, seed=1)
    feats = reference.features(x, classifier, batch_size=7)
    weight, bias = (backend.to_numpy(p.data) for p in classifier.project.parameters())
    np.testing.assert_allclose(feats, x.reshape(20, 784) @ weight.T + bias, rtol=1e-4, atol=1e-5)
    assert reference.fid(x, x, classifier) < 1e-6
    expected = metrics.frechet_distance(feats, reference.features(y, classifier))
    assert reference.fid(x, y, classifier) == pytest.approx(expected)


def test_class_shares_and_conditional_accuracy(classifier):
    x = digits(30)
    predictions = expected_logits(classifier, x).argmax(axis=1)
    shares = reference.class_shares(x, classifier)
    assert shares.shape == (10,) and shares.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(shares, np.bincount(predictions, minlength=10) / 30)
    assert reference.conditional_accuracy(x, predictions, classifier) == 1.0
    assert reference.conditional_accuracy(x, (predictions + 1) % 10, classifier) == 0.0
    half_wrong = np.where(np.arange(30) < 15, predictions, (predictions + 1) % 10)
    assert reference.conditional_accuracy(x, half_wrong, classifier) == 0.5


def test_default_classifier_is_the_reference(monkeypatch):
    stand_in = PixelClassifier()
    monkeypatch.setattr(reference, "reference_classifier", lambda: stand_in)
    reference.classify(digits(2))
    assert len(stand_in.calls) == 1


@pytest.mark.parametrize(
    "name, call",
    [
        ("classify", lambda x, c: reference.classify(x, c)),
        ("features", lambda x, c: reference.features(x, c)),
        ("fid", lambda x, c: reference.fid(x, digits(3), c)),
        ("class_shares", lambda x, c: reference.class_shares(x, c)),
        ("conditional_accuracy", lambda x, c: reference.conditional_accuracy(x, [0, 1, 2], c)),
    ],
)
def test_classifier_scores_bad_images(name, call, classifier):
    for shape in [(3, 3, 28, 28), (3, 1, 30, 30), (3, 784), (0, 1, 28, 28)]:
        with pytest.raises(ValueError, match=rf"{name}: expected N >= 1 digit images .*{shape}"):
            call(np.zeros(shape, dtype=np.float32), classifier)
    with pytest.raises(ValueError, match=rf"{name}: expected pixel values in \[0, 1\]"):
        call(2 * digits(3) - 1, classifier)  # tanh range


def test_classifier_scores_bad_arguments(classifier):
    with pytest.raises(ValueError, match=r"conditional_accuracy: expected labels of shape \(3,\)"):
        reference.conditional_accuracy(digits(3), [0, 1], classifier)
    with pytest.raises(ValueError, match="classify: expected batch_size >= 1"):
        reference.classify(digits(3), classifier, batch_size=0)
