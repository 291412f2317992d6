"""The classifier model (its shipped weights: tests/test_evaluation_reference.py)."""

import numpy as np

import scratchgen as sg
from scratchgen.data import mnist
from scratchgen.models import Classifier


def test_features_are_the_128_penultimate_activations(device):
    model = Classifier().to(device).eval()
    x = sg.tensor(mnist("test").arrays["image"][:5], device=device)
    assert model.features(x).shape == (5, 128)
    assert model(x).shape == (5, 10)
    np.testing.assert_allclose(
        model(x).numpy(), model.head(model.features(x)).numpy(), rtol=1e-6, atol=1e-6
    )
