"""The DDPM report: the pictures, the metrics of `scratchgen eval` (FID, class shares,
conditional accuracy, FID against steps, the bound in bits per dimension), on a tiny model
with the sample counts lowered."""

import json
import math

import numpy as np
import pytest

import scratchgen as sg
from scratchgen.evaluation import ddpm as report_module
from scratchgen.evaluation.ddpm import DDPMReport, bound_terms, fid_vs_steps_plot
from scratchgen.losses.diffusion import NoiseSchedule
from scratchgen.models import Classifier
from scratchgen.models.ddpm import DDPM

TINY = dict(channels=(8, 16), timesteps=20, steps=3)


@pytest.fixture
def ruler():
    """An untrained classifier: only the plumbing of the scores is tested here."""
    return Classifier().eval()


@pytest.fixture
def few_samples(monkeypatch):
    for name, value in {
        "EVAL_SAMPLES": 30,
        "SWEEP_SAMPLES": 20,
        "FULL_SAMPLES": 10,
        "SWEEP_STEPS": (2, 50),  # 50 > T = 20: left out
        "BOUND_IMAGES": 6,
        "BOUND_STRATA": 4,
    }.items():
        monkeypatch.setattr(report_module, name, value)


def test_evaluate_gives_every_metric_in_range_and_repeats(few_samples, ruler):
    model = DDPM(**TINY, classes=True)
    results = DDPMReport(model).evaluate(classifier=ruler)
    assert results["fid"] >= 0 and results["fid_noise_calibration"] >= 0
    assert len(results["class_shares"]) == 10 and sum(results["class_shares"]) == pytest.approx(1)
    assert 0 <= results["conditional_accuracy"] <= 1
    assert set(results["fid_vs_steps"]) == {"ddim_2", "ddim_3", "ddim_3_few", "ddpm_20_few"}
    parts = [results[f"bound_{part}_bits_per_dim"] for part in ("prior", "diffusion", "decoder")]
    assert all(part >= 0 for part in parts)
    assert results["bound_bits_per_dim"] == pytest.approx(sum(parts))
    assert all(math.isfinite(v) for v in results.values() if isinstance(v, float))
    assert DDPMReport(model).evaluate(classifier=ruler) == results  # seeded: the same numbers


def test_an_untrained_model_bounds_worse_than_a_trained_one_would_and_above_zero():
    """The bound of a network that predicts zero noise: every term is finite and >= 0, and
    the stratified sum equals the exact sum when every stratum holds one step."""
    schedule = NoiseSchedule("linear", 12)
    model = DDPM(channels=(8, 16), timesteps=12)
    digits = sg.tensor(
        np.round(np.random.default_rng(0).uniform(0, 1, (3, 1, 28, 28)) * 255) / 127.5 - 1
    )
    digits = digits.float()
    rng = np.random.default_rng(1)
    with sg.no_grad():
        sg.manual_seed(0)
        prior, kl_sum, decoder = bound_terms(model.network_ema, schedule, digits, 11, rng)
    assert np.all(prior >= 0) and np.all(kl_sum > 0) and np.all(decoder > 0)
    assert np.all(np.isfinite(prior + kl_sum + decoder))


def test_figures_write_the_pictures_and_the_steps_plot(few_samples, tmp_path, ruler):
    model = DDPM(**TINY, classes=True)
    metrics = {"fid_noise_calibration": 40.0}
    metrics["fid_vs_steps"] = {
        "ddim_10": 90.0,
        "ddim_50": 60.0,
        "ddim_50_few": 80.0,
        "ddpm_1000_few": 75.0,
    }
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    paths = DDPMReport(model).figures(tmp_path)
    names = {path.name for path in paths}
    assert {
        "forward.png",
        "reverse.png",
        "class_grid.png",
        "guidance.png",
        "fid_vs_steps.png",
    } <= names
    for path in paths:
        assert path.stat().st_size > 0
    plain = DDPMReport(DDPM(**TINY)).figures(tmp_path / "plain")
    assert {path.name for path in plain} == {"forward.png", "reverse.png", "samples.png"}
    assert fid_vs_steps_plot({"fid_vs_steps": metrics["fid_vs_steps"]}, tmp_path / "p.png").exists()


def test_snapshot_is_a_class_grid_with_classes(tmp_path):
    path = DDPMReport(DDPM(**TINY, classes=True)).snapshot(tmp_path / "s.png")
    assert path.stat().st_size > 0
