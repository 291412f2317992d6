"""The reference classifier as a ruler for generated digits: FID, class shares, accuracy.

The shipped classifier (`scratchgen.models.classifier`, weights in models/weights) plays
the role Inception-v3 plays for the usual FID: its 128 penultimate features are the space
in which two image sets are compared, and its logits say which digit an image shows.

    reference_classifier()        the trained classifier, in eval mode (cached per device)
    classify, features            its logits (N, 10) and features (N, 128), as NumPy
    fid(a, b)                     Frechet distance of the features of two image sets
    class_shares(x)               the share of the images it assigns to each digit
    conditional_accuracy(x, y)    the share of images it reads as the digit asked for
    noisy(x)                      test digits + N(0, 0.1^2): the FID calibration point

Images are (N, 1, 28, 28) or (N, 28, 28) in [0, 1]; (N, 1, 32, 32) images (the synthetic
data sets) are centre-cropped to 28 x 28. Every function takes ``classifier=None`` (the
reference one) or any module with ``classifier(x) -> logits`` and ``.features(x)``.
"""

import functools
import os

import numpy as np

import scratchgen as sg
from scratchgen import backend
from scratchgen.metrics import as_numpy, frechet_distance
from scratchgen.models.classifier import WEIGHTS, Classifier, run_batched


@functools.cache
def _reference_classifier(device):
    if not os.path.isfile(WEIGHTS):
        raise FileNotFoundError(
            f"reference_classifier: no weights at {WEIGHTS!r}; "
            "train them with `scratchgen train classifier` and copy RUN/weights.npz there"
        )
    state = sg.get_rng_state()  # its random initialisation is overwritten by the weights:
    classifier = Classifier().to(device)  # leave the caller's random numbers as they were
    sg.set_rng_state(state)
    classifier.load_state_dict(sg.load(WEIGHTS, device=device))
    return classifier.eval()


def reference_classifier(device="cpu"):
    """The shipped, trained classifier in eval mode (one instance per device, cached)."""
    return _reference_classifier(backend.parse_device(device))


def noisy(images, sigma=0.1, seed=0):
    """images + N(0, sigma^2) noise, clipped to [0, 1]: the FID calibration point."""
    noise = np.random.default_rng(seed).normal(0.0, sigma, images.shape)
    return np.clip(images + noise, 0.0, 1.0).astype(np.float32)


def _digit_images(name, images):
    """(N, 1, 28, 28) float32 from (N, 1, 28, 28), (N, 28, 28) or (N, 1, 32, 32) in [0, 1]."""
    images = as_numpy(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim == 4 and images.shape[1:] == (1, 32, 32):
        images = images[:, :, 2:30, 2:30]
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28) or len(images) == 0:
        raise ValueError(
            f"{name}: expected N >= 1 digit images of shape (N, 1, 28, 28), (N, 28, 28) or "
            f"(N, 1, 32, 32), got {images.shape}"
        )
    low, high = float(images.min()), float(images.max())
    if not (low >= -1e-3 and high <= 1 + 1e-3):  # also catches NaN
        raise ValueError(
            f"{name}: expected pixel values in [0, 1], got values in [{low:.3g}, {high:.3g}] "
            "(map tanh outputs with (x + 1) / 2, logits with a sigmoid)"
        )
    return images


def _classifier_or_reference(classifier):
    """classifier, or the shipped reference classifier when it is None."""
    return reference_classifier() if classifier is None else classifier


def classify(images, classifier=None, batch_size=500):
    """The classifier's logits (N, 10) for digit images, as a NumPy array.

    images: (N, 1, 28, 28), (N, 28, 28) or (N, 1, 32, 32) (centre-cropped) in [0, 1].
    classifier: a module with classifier(x) -> logits, in eval mode; None -> the shipped
    reference classifier.
    """
    images = _digit_images("classify", images)
    classifier = _classifier_or_reference(classifier)
    return run_batched("classify", classifier, images, classifier, batch_size)


def features(images, classifier=None, batch_size=500):
    """The classifier's penultimate features (N, D) (classifier.features), as NumPy."""
    images = _digit_images("features", images)
    classifier = _classifier_or_reference(classifier)
    return run_batched("features", classifier.features, images, classifier, batch_size)


def fid(images_a, images_b, classifier=None):
    """Frechet distance between the classifier features of two image sets.

        FID = ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^(1/2) S_b S_a^(1/2))^(1/2))

    over the (N, 128) penultimate features of the reference MNIST classifier (the role
    Inception-v3 plays for the usual FID, so values are not comparable with published
    ones). Lower is better; compare models at equal sample sizes, as FID is biased upwards
    for small N.
    """
    classifier = _classifier_or_reference(classifier)
    images_a = _digit_images("fid", images_a)
    images_b = _digit_images("fid", images_b)
    return frechet_distance(features(images_a, classifier), features(images_b, classifier))


def class_shares(images, classifier=None):
    """Fraction of the images the classifier assigns to each class: (10,), summing to 1.

        share_c = (1 / N) #{i : argmax_k logits_ik = c}

    A GAN with mode collapse puts most of its mass on a few digits; ideal is 0.1 each.
    """
    logits = classify(_digit_images("class_shares", images), classifier)
    predictions = logits.argmax(axis=1)
    return np.bincount(predictions, minlength=logits.shape[1]) / len(predictions)


def conditional_accuracy(images, labels, classifier=None):
    """Fraction of images the classifier labels as the class they were generated for.

        accuracy = (1 / N) #{i : argmax_k logits_ik = labels_i}

    For a conditional generator: sample(n, labels) should draw the digits asked for.
    """
    images = _digit_images("conditional_accuracy", images)
    labels = as_numpy(labels, dtype=None)
    if labels.shape != (len(images),):
        raise ValueError(
            f"conditional_accuracy: expected labels of shape ({len(images)},), got {labels.shape}"
        )
    predictions = classify(images, classifier).argmax(axis=1)
    return float((predictions == labels).mean())


def sample_scores(samples, test, labels=None, classifier=None):
    """What every generative family reports on its samples: FID against the test digits
    with the noise calibration point beside it, the class shares and, when the samples
    were drawn for ``labels``, the conditional accuracy."""
    scores = {
        "fid": fid(samples, test, classifier),
        "fid_noise_calibration": fid(noisy(test), test, classifier),
        "class_shares": class_shares(samples, classifier).tolist(),
    }
    if labels is not None:
        scores["conditional_accuracy"] = conditional_accuracy(samples, labels, classifier)
    return scores
