"""The `scratchgen` command end to end, on tiny settings (--steps)."""

import json
import subprocess
import sys

import numpy as np
import pytest

import scratchgen as sg
from scratchgen import cli

COMMANDS = ["train", "sample", "eval", "info", "gradcheck", "bench", "demo"]


def run(capsys, *argv):
    """(exit code, stdout, stderr) of `scratchgen argv...` run in this process."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:  # argparse: --help, or a usage error
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert out.startswith("usage: scratchgen " + command)


def test_a_wrong_model_name_is_a_one_line_error(capsys):
    code, _, err = run(capsys, "train", "unicorn")
    assert code == 2
    assert "invalid choice: 'unicorn'" in err and "classifier" in err


@pytest.mark.parametrize("command", ["eval", "sample"])
def test_a_missing_run_folder_is_a_one_line_error(capsys, tmp_path, command):
    code, _, err = run(capsys, command, str(tmp_path / "nowhere"))
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "no run in" in err and "nowhere" in err


def test_an_unknown_setting_is_a_one_line_error(capsys, tmp_path):
    code, _, err = run(capsys, "train", "vae", "--set", "colour=3", "--out", str(tmp_path))
    assert code == 2
    assert "no setting colour" in err and "beta" in err


def test_train_resume_and_eval_a_classifier(capsys, tmp_path):
    out = str(tmp_path / "run")
    code, stdout, _ = run(
        capsys, "train", "classifier", "--steps", "3", "--out", out, "--no-progress"
    )
    assert code == 0 and "scratchgen eval" in stdout
    code, _, _ = run(
        capsys, "train", "classifier", "--steps", "5", "--out", out, "--resume", "--no-progress"
    )
    assert code == 0
    steps = [json.loads(line)["step"] for line in open(f"{out}/log.jsonl")]
    assert steps == [1, 2, 3, 4, 5]
    code, stdout, _ = run(capsys, "eval", out)
    assert code == 0 and "test_accuracy" in stdout
    metrics = json.load(open(f"{out}/metrics.json"))
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["fid_test_vs_noise"] > 0


def test_sample_writes_a_grid_and_an_npz(capsys, tmp_path):
    out = str(tmp_path / "vae")
    assert run(capsys, "train", "vae", "--steps", "2", "--out", out, "--no-progress")[0] == 0
    code, _, _ = run(capsys, "sample", out, "--n", "12", "--out", str(tmp_path / "s.png"))
    assert code == 0
    assert (tmp_path / "s.png").stat().st_size > 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (12, 1, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_sample_refuses_a_classifier(capsys, tmp_path):
    out = str(tmp_path / "c")
    run(capsys, "train", "classifier", "--steps", "1", "--out", out, "--no-progress")
    code, _, err = run(capsys, "sample", out)
    assert code == 2 and "not generative" in err


def test_gradcheck_prints_a_table(capsys):
    code, out, _ = run(capsys, "gradcheck", "--op", "relu", "conv2d")
    assert code == 0
    assert "relu" in out and "conv2d" in out and "2/2 passed" in out
    code, _, err = run(capsys, "gradcheck", "--op", "no_such_op")
    assert code == 2 and "unknown op" in err


def test_info_and_python_dash_m(capsys):
    code, out, _ = run(capsys, "info")
    assert code == 0 and "scratchgen 0.1.0" in out and "cuda available" in out
    result = subprocess.run(
        [sys.executable, "-m", "scratchgen", "info"], capture_output=True, text=True, check=True
    )
    assert result.stdout == out


def test_sample_with_labels_writes_them_for_a_conditional_model(capsys, tmp_path):
    out = str(tmp_path / "cgan")
    assert run(capsys, "train", "cgan", "--steps", "1", "--out", out, "--no-progress")[0] == 0
    code, _, _ = run(
        capsys, "sample", out, "--n", "6", "--labels", "3", "7", "--out", str(tmp_path / "c.png")
    )
    assert code == 0
    saved = np.load(tmp_path / "c.npz")
    assert saved["images"].shape == (6, 1, 28, 28)
    assert saved["labels"].tolist() == [3, 7, 3, 7, 3, 7]


def test_lr_reaches_both_optimizers_of_a_gan(capsys, tmp_path):
    out = str(tmp_path / "gan")
    assert (
        run(capsys, "train", "gan", "--lr", "1e-3", "--steps", "1", "--out", out, "--no-progress")[
            0
        ]
        == 0
    )
    model = sg.models.load(out)
    assert [o.param_groups[0]["lr"] for o in model.optimizers.values()] == [1e-3, 1e-3]
