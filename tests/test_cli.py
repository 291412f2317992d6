"""The `scratchgen` command end to end, on tiny settings (--steps)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from scratchgen import backend, cli

COMMANDS = ["train", "sample", "eval", "info", "gradcheck", "bench", "demo"]


def run(capsys, *argv):
    """(exit code, stdout, stderr) of `scratchgen argv...` run in this process."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:  # argparse: --help, or a usage error
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_of(capsys, *argv):
    """The one error line of `scratchgen argv...`, which must be a user error (error_line)."""
    code, _, err = run(capsys, *argv)
    return error_line(code, err)


def error_line(code, err):
    """The one error line of a user error: exit code 2, no traceback, and stderr that is that
    line alone (argparse's usage lines above it are fine)."""
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert [line for line in lines if "error:" in line] == [lines[-1]]
    assert len(lines) == 1 or lines[0].startswith("usage: scratchgen")
    return lines[-1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run folders of a VAE and a conditional GAN trained for two steps of 8 digits."""
    folder = tmp_path_factory.mktemp("runs")
    for name in ("vae", "cgan"):
        argv = ["train", name, "--steps", "2", "--batch-size", "8", "--no-progress"]
        assert cli.main([*argv, "--out", str(folder / name)]) == 0
    return {name: str(folder / name) for name in ("vae", "cgan")}


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


@pytest.mark.parametrize(
    "argv, option, expected",
    [
        (["train", "vae", "--epochs", "0"], "--epochs", "an integer >= 1, got '0'"),
        (["train", "vae", "--batch-size", "0"], "--batch-size", "an integer >= 1, got '0'"),
        (["train", "vae", "--steps", "0"], "--steps", "an integer >= 1, got '0'"),
        (["train", "vae", "--steps", "two"], "--steps", "an integer >= 1, got 'two'"),
        (["train", "vae", "--seed", "-1"], "--seed", "an integer >= 0, got '-1'"),
        (["train", "vae", "--device", "tpu"], "--device", "got 'tpu'"),
        (["sample", "runs/vae", "--n", "0"], "--n", "an integer >= 1, got '0'"),
        (["bench", "--repeats", "0"], "--repeats", "an integer >= 1, got '0'"),
        (["demo", "--steps", "0"], "--steps", "an integer >= 1, got '0'"),
    ],
)
def test_a_bad_option_value_is_a_usage_error_naming_the_option(capsys, argv, option, expected):
    line = error_of(capsys, *argv)
    assert f"argument {option}: " in line and expected in line


def test_cuda_without_cupy_is_a_one_line_error(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(backend, "cupy", None)
    for argv in (["train", "vae", "--out", str(tmp_path)], ["eval", str(tmp_path)]):
        line = error_of(capsys, *argv, "--device", "cuda")
        assert "argument --device: " in line and "CuPy is not installed" in line


@pytest.mark.parametrize(
    "model, setting, expected",
    [
        ("vae", "beta=abc", "expected a number"),
        ("gan", "beta1=abc", "expected a number"),
        ("vae", "latent=2.5", "expected an integer"),
        ("gan", "r1_every=true", "expected an integer"),
        ("vae", "cosine=1", "expected true or false"),
        ("vae", "exclude=abc", "expected a JSON value"),
    ],
)
def test_a_setting_of_the_wrong_type_names_it_and_the_type(
    capsys, tmp_path, model, setting, expected
):
    code, _, err = run(capsys, "train", model, "--set", setting, "--out", str(tmp_path))
    assert f"train: --set {setting}: {expected}" in error_line(code, err)
    assert not (tmp_path / "config.json").exists()


def test_a_settings_value_takes_the_type_of_its_default():
    config = cli.parse_settings(
        ["lr=1", "r1_every=4", "loss=lsgan", "ema=0"], cli.setting_defaults("gan")
    )
    assert config == {"lr": 1, "r1_every": 4, "loss": "lsgan", "ema": 0.0}
    assert type(config["ema"]) is float and type(config["r1_every"]) is int
    vae = cli.parse_settings(["exclude=3", "cosine=false"], cli.setting_defaults("vae"))
    assert vae == {"exclude": 3, "cosine": False}


@given(value=st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6))
def test_a_number_setting_reads_back_what_was_written(value):
    config = cli.parse_settings([f"beta={value!r}"], cli.setting_defaults("vae"))
    assert config["beta"] == value and type(config["beta"]) is float


@given(value=st.integers(-(10**12), 10**12))
def test_an_integer_setting_reads_back_what_was_written(value):
    config = cli.parse_settings([f"latent={value}"], cli.setting_defaults("vae"))
    assert config["latent"] == value and type(config["latent"]) is int


def test_a_setting_without_equals_is_a_one_line_error(capsys):
    line = error_of(capsys, "train", "vae", "--set", "beta")
    assert "--set expects KEY=VALUE, got 'beta'" in line


def test_python_dash_m_prints_no_traceback_for_a_bad_setting():
    result = subprocess.run(
        [sys.executable, "-m", "scratchgen", "train", "vae", "--set", "beta=abc"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr == "scratchgen train: error: train: --set beta=abc: expected a number\n"


def test_resume_needs_an_existing_run(capsys, tmp_path):
    nowhere = str(tmp_path / "nowhere")
    line = error_of(capsys, "train", "vae", "--resume", "--out", nowhere)
    assert "no run in" in line and "nowhere" in line
    line = error_of(capsys, "train", "vae", "--resume")
    assert "--resume needs --out RUN" in line


def test_a_run_without_a_checkpoint_is_a_one_line_error(capsys, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model": "vae", "config": {}}))
    line = error_of(capsys, "train", "vae", "--resume", "--out", str(tmp_path))
    assert "nothing to resume" in line and "no checkpoint" in line
    for command in ("sample", "eval"):
        line = error_of(capsys, command, str(tmp_path))
        assert "is not a finished run" in line and "checkpoint.npz" in line


def test_train_says_where_its_pictures_are(capsys, tmp_path):
    out = tmp_path / "vae"
    argv = ["train", "vae", "--steps", "1", "--batch-size", "8", "--no-progress"]
    code, stdout, _ = run(capsys, *argv, "--out", str(out))
    assert code == 0
    assert f"wrote {out / 'prior_samples.png'}\n" in stdout
    assert (out / "prior_samples.png").stat().st_size > 0


@pytest.mark.parametrize("name", ["x.npz", "x.png", "x"])
def test_sample_out_names_the_grid_and_the_npz_by_the_stem(capsys, tmp_path, runs, name):
    code, stdout, _ = run(capsys, "sample", runs["vae"], "--n", "4", "--out", str(tmp_path / name))
    assert code == 0 and stdout.endswith("x.png and " + str(tmp_path / "x.npz") + "\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["x.npz", "x.png"]
    assert np.load(tmp_path / "x.npz")["images"].shape == (4, 1, 28, 28)


def test_sample_records_the_labels_a_conditional_model_chose(capsys, tmp_path, runs):
    out = str(tmp_path / "c.png")
    assert run(capsys, "sample", runs["cgan"], "--n", "12", "--out", out)[0] == 0
    assert np.load(tmp_path / "c.npz")["labels"].tolist() == [*range(10), 0, 1]


@pytest.mark.parametrize("labels", [["3", "12"], ["-1"]])
def test_sample_labels_out_of_range_are_a_one_line_error(capsys, tmp_path, runs, labels):
    argv = ["sample", runs["cgan"], "--labels", *labels, "--out", str(tmp_path / "c.png")]
    line = error_of(capsys, *argv)
    assert f"sample: --labels {' '.join(labels)}: expected labels in 0..9" in line
    assert list(tmp_path.iterdir()) == []


def test_sample_labels_for_an_unconditional_model_are_a_one_line_error(capsys, tmp_path, runs):
    argv = ["sample", runs["vae"], "--labels", "3", "--out", str(tmp_path / "v.png")]
    line = error_of(capsys, *argv)
    assert "--labels: model 'vae' is not conditional" in line


@pytest.mark.parametrize("command", ["sample", "demo"])
def test_out_in_a_missing_folder_is_a_one_line_error(capsys, tmp_path, runs, command):
    out = str(tmp_path / "nowhere" / "x.png")
    argv = ["sample", runs["vae"]] if command == "sample" else ["demo"]
    line = error_of(capsys, *argv, "--out", out)
    assert f"{command}: --out {out}: no folder" in line
