"""The CycleGAN report: round-trip pictures, loss-term curves, the metrics of both tasks
against the kept truth, the DAE baseline of the denoise task, and the command line."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from report_helpers import assert_figures, write_log
from strategies import arrays

import scratchgen as sg
from scratchgen import cli, evaluation
from scratchgen.evaluation import cyclegan
from scratchgen.evaluation.cyclegan import CRITIC_TERMS, GENERATOR_TERMS, cycle_error, grey
from scratchgen.models import Classifier

SMALL_EVAL = 40  # test pairs per evaluate here (the CLI scores 1,000)
INK_METRICS = {"psnr_ab", "psnr_ba", "classifier_accuracy_ba", "fid_ba", "fid_noise_calibration"}
CYCLE_METRICS = {"cycle_error_a", "cycle_error_b"}
DENOISE_METRICS = {
    f"{score}_{name}"
    for score in ("psnr", "ssim", "classifier_accuracy")
    for name in ("cleaned", "noisy")
} | {"dae_baseline"}


class StandIn:
    """Translators with CycleGAN's interface that hand every image through unchanged."""

    name = "cyclegan"
    device = "cpu"

    def __init__(self, task="ink"):
        self.task = task

    def translate(self, x, direction="AB"):
        assert direction in ("AB", "BA")
        return np.asarray(x, dtype=np.float32).copy()


class StandInDAE:
    """A 'DAE' that returns its (N, 1, 28, 28) input: it must score as the noisy digits."""

    name = "dae"
    noise = 0.3

    def reconstruct(self, x):
        assert x.shape[1:] == (1, 28, 28)
        return x


@pytest.fixture
def ruler():
    """An untrained classifier: only the plumbing of the scores is tested here."""
    return Classifier().eval()


@pytest.fixture
def few_pairs(monkeypatch):
    monkeypatch.setattr(cyclegan, "EVAL_PAIRS", SMALL_EVAL)


def write_terms_log(folder):
    write_log(folder, **dict.fromkeys(GENERATOR_TERMS + CRITIC_TERMS, 0.5))


# ----------------------------------------------------------------------------------
# the helpers' maths
# ----------------------------------------------------------------------------------


@given(x=arrays((3, 1, 2, 2), low=0.0, high=1.0))
def test_grey_of_a_repeated_grey_image_is_the_image(x):
    np.testing.assert_allclose(grey(np.repeat(x, 3, axis=1)), x, rtol=1e-12)


@given(x=arrays((2, 3, 2, 2), low=0.0, high=1.0), y=arrays((2, 3, 2, 2), low=0.0, high=1.0))
def test_cycle_error_is_the_mean_absolute_error_zero_only_at_the_original(x, y):
    assert cycle_error(x, x) == 0.0
    assert cycle_error(y, x) == pytest.approx(np.abs(y - x).mean(), rel=1e-12)
    assert cycle_error(y, x) == pytest.approx(cycle_error(x, y), rel=1e-12)


# ----------------------------------------------------------------------------------
# the metrics of both tasks
# ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("few_pairs")
def test_ink_metrics_are_all_there_and_an_identity_cycle_is_exact(ruler):
    results = evaluation.evaluate(StandIn("ink"), classifier=ruler)
    assert set(results) == INK_METRICS | CYCLE_METRICS
    assert results["cycle_error_a"] == results["cycle_error_b"] == 0.0
    assert 0 < results["psnr_ab"] < 20 and 0 < results["psnr_ba"] < 20  # grey is not ink
    assert 0 <= results["classifier_accuracy_ba"] <= 1 and results["fid_ba"] >= 0
    assert all(math.isfinite(value) for value in results.values())


@pytest.mark.usefixtures("few_pairs")
def test_an_identity_cleaner_scores_exactly_as_the_noisy_input(ruler):
    results = evaluation.evaluate(StandIn("denoise"), classifier=ruler)
    assert set(results) == DENOISE_METRICS | CYCLE_METRICS
    for score in ("psnr", "ssim", "classifier_accuracy"):
        assert results[f"{score}_cleaned"] == results[f"{score}_noisy"]
    assert 10 < results["psnr_noisy"] < 20  # sigma 0.3 clipped, on the 28x28 crop
    assert results["dae_baseline"].startswith("none named")


@pytest.mark.usefixtures("few_pairs")
def test_a_named_dae_is_scored_on_the_same_noisy_digits(ruler):
    results = evaluation.evaluate(StandIn("denoise"), classifier=ruler, baseline=StandInDAE())
    for score in ("psnr", "ssim", "classifier_accuracy"):
        assert results[f"{score}_dae"] == results[f"{score}_noisy"]
    assert results["dae_baseline"] == "a DAE (noise 0.3)"


def test_a_baseline_of_the_wrong_family_or_task_is_a_clear_error(ruler):
    with pytest.raises(ValueError, match="a 'cyclegan' run takes a baseline of dae, got a 'x'"):
        evaluation.evaluate(StandIn("denoise"), baseline=type("X", (), {"name": "x"})())
    with pytest.raises(ValueError, match="a baseline applies to task 'denoise', not 'ink'"):
        evaluation.evaluate(StandIn("ink"), classifier=ruler, baseline=StandInDAE())
    with pytest.raises(ValueError, match="a 'pix2pix' run takes a baseline of none"):
        evaluation.evaluate(sg.models.Pix2Pix(), baseline=StandInDAE())


# ----------------------------------------------------------------------------------
# pictures
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["ink", "denoise"])
def test_snapshot_and_figures_are_written(tmp_path, task):
    model = StandIn(task)
    for epoch in (1, 2):
        evaluation.snapshot(model, tmp_path / "samples" / f"epoch_{epoch:03d}.png")
    write_terms_log(tmp_path)
    paths = evaluation.figures(model, tmp_path)
    assert_figures(
        paths, ["critics.png", "cycles.png", "generator_terms.png", "samples_over_epochs.png"]
    )


def test_the_round_trips_show_both_cycles_of_the_same_test_digits():
    report = evaluation.report(StandIn("ink"))
    a, b, labels = report.test_pairs(10)
    assert sorted(labels.tolist()) == list(range(10))  # spread over the classes
    trips = report.round_trips(a, b)
    assert list(trips) == ["A", "G_AB(A)", "G_BA(G_AB(A))", "B", "G_BA(B)", "G_AB(G_BA(B))"]
    np.testing.assert_array_equal(trips["G_BA(G_AB(A))"], a)


# ----------------------------------------------------------------------------------
# a real (untrained) CycleGAN, and the command line
# ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("few_pairs")
def test_an_untrained_cyclegan_goes_through_the_report(tmp_path, device, ruler):
    model = sg.models.CycleGAN(width=4, n_blocks=1).to(device).eval()
    evaluation.snapshot(model, tmp_path / "samples" / "epoch_001.png")
    write_terms_log(tmp_path)
    assert all(p.stat().st_size > 0 for p in evaluation.figures(model, tmp_path))
    results = evaluation.evaluate(model, classifier=ruler)
    assert set(results) == INK_METRICS | CYCLE_METRICS
    assert results["cycle_error_a"] > 0


def train_tiny(run, task):
    command = [sys.executable, "-m", "scratchgen", "train", "cyclegan", "--steps", "2"]
    command += ["--out", run, "--no-progress", "--set", "width=4", "--set", "n_blocks=1"]
    subprocess.run(command + ["--set", f"task={task}"], capture_output=True, text=True, check=True)


@pytest.mark.usefixtures("few_pairs")
def test_train_eval_with_a_dae_baseline_and_sample_a_denoise_run(tmp_path, capsys):
    run, dae = str(tmp_path / "run"), str(tmp_path / "dae")
    train_tiny(run, "denoise")
    dae_command = [sys.executable, "-m", "scratchgen", "train", "dae", "--steps", "2"]
    subprocess.run(dae_command + ["--out", dae, "--no-progress"], check=True, capture_output=True)
    assert cli.main(["eval", run, "--baseline", dae]) == 0  # in-process: EVAL_PAIRS lowered
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics) == DENOISE_METRICS | CYCLE_METRICS | {"psnr_dae", "ssim_dae"} | {
        "classifier_accuracy_dae"
    }
    out = str(tmp_path / "grid.png")
    assert cli.main(["sample", run, "--n", "6", "--out", out]) == 0
    saved = np.load(tmp_path / "grid.npz")["images"]
    assert saved.shape == (6, 1, 32, 32) and 0 <= saved.min() and saved.max() <= 1
    assert "wrote" in capsys.readouterr().out

    assert cli.main(["eval", run, "--baseline", run]) == 2  # not a DAE
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "--baseline" in error and "takes a baseline of dae, got a 'cyclegan'" in error
