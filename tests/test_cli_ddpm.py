"""`scratchgen sample` with --steps, --guidance and --sampler: passed to the diffusion model,
one-line errors (exit code 2) for a model that takes none of them or a bad value."""

import numpy as np
import pytest
from test_cli import error_of, run

from scratchgen import cli

TINY = ["--set", "channels=[8, 16]", "--set", "timesteps=20", "--set", "steps=3"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run folders of a tiny DDPM with and without classes, and a VAE, two steps each."""
    folder = tmp_path_factory.mktemp("runs")
    argv = ["--steps", "2", "--batch-size", "8", "--no-progress"]
    for name, extra in {
        "ddpm": ["ddpm", *TINY],
        "ddpm_classes": ["ddpm", *TINY, "--set", "classes=true"],
        "vae": ["vae"],
    }.items():
        assert cli.main(["train", *extra, *argv, "--out", str(folder / name)]) == 0
    return {name: str(folder / name) for name in ("ddpm", "ddpm_classes", "vae")}


def test_sample_takes_steps_guidance_and_labels(capsys, tmp_path, runs):
    out = tmp_path / "s.png"
    argv = ["sample", runs["ddpm_classes"], "--n", "6", "--steps", "2", "--guidance", "3"]
    code, stdout, _ = run(capsys, *argv, "--labels", "0", "1", "2", "--out", str(out))
    assert code == 0 and out.stat().st_size > 0
    saved = np.load(tmp_path / "s.npz")
    assert saved["images"].shape == (6, 1, 28, 28)
    assert list(saved["labels"]) == [0, 1, 2, 0, 1, 2]
    code, _, _ = run(
        capsys,
        "sample",
        runs["ddpm"],
        "--n",
        "3",
        "--sampler",
        "ddpm",
        "--out",
        str(tmp_path / "a.png"),
    )
    assert code == 0


@pytest.mark.parametrize(
    "run_name, options, expected",
    [
        ("vae", ["--steps", "5"], "sample: --steps: model 'vae' takes no steps"),
        ("vae", ["--guidance", "1"], "sample: --guidance: model 'vae' takes no guidance"),
        ("ddpm", ["--guidance", "3"], "sample: guidance needs a DDPM trained with classes"),
        ("ddpm_classes", ["--guidance", "-1"], "sample: guidance must be >= 0, got -1.0"),
        ("ddpm", ["--steps", "50"], "ddim: steps must be an int in 1..20, got 50"),
        ("ddpm", ["--eta", "2"], "sample: eta must be in [0, 1], got 2.0"),
        ("vae", ["--eta", "1"], "sample: --eta: model 'vae' takes no eta"),
    ],
)
def test_sampling_options_a_model_cannot_take_are_one_line_errors(
    capsys, tmp_path, runs, run_name, options, expected
):
    line = error_of(capsys, "sample", runs[run_name], *options, "--out", str(tmp_path / "x.png"))
    assert expected in line


def test_a_bad_sampler_is_a_usage_error(capsys, runs):
    assert "invalid choice: 'euler'" in error_of(
        capsys, "sample", runs["ddpm"], "--sampler", "euler"
    )
