"""The Pix2Pix report: triptychs, dropout draws, the metrics of `scratchgen eval`, the CLI."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from report_helpers import assert_figures, write_log
from strategies import arrays, floats

import scratchgen as sg
from scratchgen import cli, evaluation
from scratchgen.evaluation import pix2pix
from scratchgen.models import Classifier

SMALL_EVAL = 40  # test pairs per evaluate here (the CLI scores 1,000)
METRICS = {
    "psnr",
    "ssim",
    "classifier_accuracy",
    "fid",
    "fid_noise_calibration",
    "diversity",
    "psnr_input",
    "classifier_accuracy_input",
}


class StandIn:
    """A translator with Pix2Pix's interface: the input plus N(0, dropout^2) noise drawn from
    scratchgen's random stream (so only the report's seeding makes two evaluations agree)."""

    name = "pix2pix"
    device = "cpu"

    def __init__(self, task="inpaint", dropout=0.5):
        self.task, self.dropout = task, dropout

    def translate(self, x):
        noise = sg.randn(*x.shape).numpy() * self.dropout
        return np.clip(x + noise, 0.0, 1.0).astype(np.float32)


@pytest.fixture
def ruler():
    """An untrained classifier: only the plumbing of the scores is tested here."""
    return Classifier().eval()


@pytest.fixture
def few_pairs(monkeypatch):
    monkeypatch.setattr(pix2pix, "EVAL_PAIRS", SMALL_EVAL)


def assert_in_range(results):
    assert results["psnr"] > 0 and results["psnr_input"] > 0
    assert -1 <= results["ssim"] <= 1
    assert 0 <= results["classifier_accuracy"] <= 1
    assert 0 <= results["classifier_accuracy_input"] <= 1
    assert results["fid"] >= 0 and results["fid_noise_calibration"] >= 0
    assert results["diversity"] >= 0
    assert all(math.isfinite(value) for value in results.values())


# ----------------------------------------------------------------------------------
# the maths of the helpers
# ----------------------------------------------------------------------------------

draw_shapes = st.tuples(st.integers(2, 5), st.integers(1, 3), st.just(1), st.integers(1, 4))


@given(shape=draw_shapes, shift=floats(-1, 1), scale=floats(0, 3), data=st.data())
def test_diversity_is_a_spread_unmoved_by_a_shift_and_scaled_by_a_scale(shape, shift, scale, data):
    draws = data.draw(arrays((*shape, 3), low=0.0, high=1.0))  # (K draws, N, C, H, W)
    assert pix2pix.diversity(draws) >= 0
    assert pix2pix.diversity(draws + shift) == pytest.approx(pix2pix.diversity(draws), abs=1e-9)
    scaled = pix2pix.diversity(scale * draws)
    assert scaled == pytest.approx(scale * pix2pix.diversity(draws), abs=1e-9)
    repeated = np.repeat(draws[:1], len(draws), axis=0)
    assert pix2pix.diversity(repeated) == pytest.approx(0, abs=1e-12)  # mean round-off


def test_diversity_is_the_mean_per_pixel_standard_deviation():
    draws = np.array([[[0.0, 1.0]], [[1.0, 1.0]]])  # pixel 0 spreads 0.5, pixel 1 not at all
    assert pix2pix.diversity(draws) == pytest.approx(0.25)


@given(total=st.integers(1, 1000), count=st.integers(1, 1200))
def test_spread_indices_are_distinct_sorted_and_reach_both_ends(total, count):
    chosen = pix2pix.spread(count, total)
    assert len(chosen) == min(count, total)
    assert np.all(np.diff(chosen) > 0)
    assert chosen[0] == 0 and (count == 1 or chosen[-1] == total - 1)


def test_the_shown_test_pairs_cover_the_digits():
    _, _, labels = pix2pix.Pix2PixReport(StandIn()).test_pairs(16)
    assert set(labels.tolist()) == set(range(10))


def test_an_unknown_task_is_a_clear_error():
    report = evaluation.report(StandIn(task="colour"))
    with pytest.raises(
        ValueError, match=r"Pix2PixReport: expected task 'inpaint' or 'edges', got 'colour'"
    ):
        report.snapshot("unused.png")


# ----------------------------------------------------------------------------------
# evaluate
# ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("few_pairs")
def test_inpainting_metrics_are_all_there_and_in_range(ruler):
    results = evaluation.evaluate(StandIn(task="inpaint"), classifier=ruler)
    assert set(results) == METRICS | {"psnr_hole"}
    assert_in_range(results)
    assert results["psnr_hole"] > 0 and results["diversity"] > 0


@pytest.mark.usefixtures("few_pairs")
def test_edges_have_no_hole_psnr(ruler):
    results = evaluation.evaluate(StandIn(task="edges"), classifier=ruler)
    assert set(results) == METRICS
    assert_in_range(results)


@pytest.mark.usefixtures("few_pairs")
def test_without_dropout_the_outputs_are_the_inputs_and_do_not_vary(ruler):
    results = evaluation.evaluate(StandIn(dropout=0.0), classifier=ruler)
    assert results["diversity"] == 0
    assert results["psnr"] == results["psnr_input"]
    assert results["classifier_accuracy"] == results["classifier_accuracy_input"]


@pytest.mark.usefixtures("few_pairs")
def test_the_dropout_draws_are_seeded_and_leave_the_callers_stream_alone(ruler):
    sg.manual_seed(1)
    expected_next = sg.randn(3).numpy()
    sg.manual_seed(1)
    first = evaluation.evaluate(StandIn(dropout=0.3), classifier=ruler)
    np.testing.assert_array_equal(sg.randn(3).numpy(), expected_next)
    assert evaluation.evaluate(StandIn(dropout=0.3), classifier=ruler) == first


@pytest.mark.usefixtures("few_pairs")
def test_more_noise_is_more_diverse_and_further_from_the_target(ruler):
    calm = evaluation.evaluate(StandIn(dropout=0.05), classifier=ruler)
    wild = evaluation.evaluate(StandIn(dropout=0.3), classifier=ruler)
    assert wild["diversity"] > calm["diversity"] > 0
    assert wild["psnr"] < calm["psnr"]


# ----------------------------------------------------------------------------------
# pictures
# ----------------------------------------------------------------------------------


def test_snapshot_and_figures_are_written(tmp_path):
    model = StandIn()
    for epoch in (1, 2):
        evaluation.snapshot(model, tmp_path / "samples" / f"epoch_{epoch:03d}.png")
    write_log(tmp_path, d_real=0.6, d_fake=0.4)
    paths = evaluation.figures(model, tmp_path)
    assert_figures(
        paths, ["d_outputs.png", "draws.png", "samples_over_epochs.png", "translations.png"]
    )


def test_snapshots_of_one_model_are_the_same_picture(tmp_path):
    model = StandIn()
    first = evaluation.snapshot(model, tmp_path / "a.png").read_bytes()
    assert evaluation.snapshot(model, tmp_path / "b.png").read_bytes() == first


# ----------------------------------------------------------------------------------
# a real (untrained) Pix2Pix, and the command line
# ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("few_pairs")
def test_an_untrained_pix2pix_goes_through_the_report(tmp_path, device, ruler):
    model = sg.models.Pix2Pix().to(device).eval()
    evaluation.snapshot(model, tmp_path / "samples" / "epoch_001.png")
    write_log(tmp_path, d_real=0.6, d_fake=0.4)
    assert all(p.stat().st_size > 0 for p in evaluation.figures(model, tmp_path))
    results = evaluation.evaluate(model, classifier=ruler)
    assert set(results) == METRICS | {"psnr_hole"}
    assert_in_range(results)
    assert results["diversity"] > 0  # dropout 0.5 stays on when translating


@pytest.mark.usefixtures("few_pairs")
def test_pix2pix_without_dropout_is_deterministic(ruler):
    results = evaluation.evaluate(sg.models.Pix2Pix(dropout=0.0).eval(), classifier=ruler)
    assert results["diversity"] == 0


@pytest.mark.usefixtures("few_pairs")
def test_train_eval_and_sample_a_pix2pix_run(tmp_path, capsys):
    run = str(tmp_path / "run")
    train = [sys.executable, "-m", "scratchgen", "train", "pix2pix", "--steps", "2"]
    train += ["--batch-size", "4", "--out", run, "--no-progress"]
    subprocess.run(train, capture_output=True, text=True, check=True)
    assert cli.main(["eval", run]) == 0  # in-process: EVAL_PAIRS lowered
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics) == METRICS | {"psnr_hole"}
    assert_in_range(metrics)
    out = str(tmp_path / "grid.png")
    assert cli.main(["sample", run, "--n", "6", "--out", out]) == 0
    saved = np.load(tmp_path / "grid.npz")["images"]
    assert saved.shape == (6, 1, 32, 32) and 0 <= saved.min() and saved.max() <= 1
    assert "wrote" in capsys.readouterr().out
