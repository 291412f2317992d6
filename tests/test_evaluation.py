"""Each family's Report: the pictures and metrics one floor above the models."""

import math

import numpy as np
import pytest
from report_helpers import assert_figures

import scratchgen as sg
from scratchgen import evaluation
from scratchgen.evaluation.autoencoder import noisy_test_digits
from scratchgen.models import (
    DCGAN,
    VAE,
    Classifier,
    ConditionalGAN,
    ConvDenoisingAutoEncoder,
    MLPAutoEncoder,
)


def test_every_family_has_a_report():
    for model in [DCGAN(), ConditionalGAN(), MLPAutoEncoder(), ConvDenoisingAutoEncoder()]:
        assert evaluation.report(model).model is model
    assert type(evaluation.report(VAE())).__name__ == "VAEReport"
    assert type(evaluation.report(Classifier())).__name__ == "ClassifierReport"


def test_a_model_without_a_report_is_a_clear_error():
    class Unknown:
        name = "unknown"

    with pytest.raises(ValueError, match=r"evaluation: no report for model 'unknown'.*gan"):
        evaluation.evaluate(Unknown())


def test_cgan_snapshots_and_figures(tmp_path):
    model = ConditionalGAN()
    for epoch in (1, 2):
        evaluation.snapshot(model, tmp_path / "samples" / f"epoch_{epoch:03d}.png")
    paths = evaluation.figures(model, tmp_path)
    assert_figures(paths, ["class_grid.png", "samples_over_epochs.png"])


def test_evaluate_reports_fid_calibration_shares_and_conditional_accuracy():
    stand_in = Classifier().eval()  # an untrained ruler: only the plumbing is tested here
    results = evaluation.evaluate(ConditionalGAN(), classifier=stand_in)
    assert set(results) == {
        "fid",
        "fid_noise_calibration",
        "class_shares",
        "conditional_accuracy",
    }
    assert results["fid"] >= 0 and results["fid_noise_calibration"] >= 0
    assert len(results["class_shares"]) == 10 and math.isclose(sum(results["class_shares"]), 1)
    assert 0 <= results["conditional_accuracy"] <= 1


def test_the_noise_of_the_dae_is_clipped_gaussian_and_fixed():
    model = ConvDenoisingAutoEncoder(noise=0.3)
    grey = np.full((2000, 1, 28, 28), 0.5, np.float32)
    noisy = noisy_test_digits(model, grey)
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert noisy.std() == pytest.approx(0.3 * 0.92, rel=0.05)  # clipping at +-1.67 sigma
    np.testing.assert_array_equal(noisy_test_digits(model, grey), noisy)


def test_seeded_draws_the_same_numbers_and_leaves_the_callers_stream_alone():
    sg.manual_seed(3)
    expected_next = sg.randn(5).numpy()
    sg.manual_seed(3)
    with evaluation.seeded(0):
        first = sg.randn(4).numpy()
    with evaluation.seeded(0):
        second = sg.randn(4).numpy()
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(sg.randn(5).numpy(), expected_next)
