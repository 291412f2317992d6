"""`scratchgen train clip`, `eval` and `retrieve` on a two-step run; retrieve's errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

import scratchgen as sg
from scratchgen import cli
from scratchgen.data import captioned_digits, seen_captioned_digits
from scratchgen.evaluation import clip
from scratchgen.models import CLIP, Classifier


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A clip run folder after two steps of batch 8."""
    folder = str(tmp_path_factory.mktemp("clip") / "run")
    train = [sys.executable, "-m", "scratchgen", "train", "clip", "--steps", "2"]
    train += ["--batch-size", "8", "--out", folder, "--no-progress"]
    subprocess.run(train, capture_output=True, text=True, check=True)
    return folder


def test_retrieve_writes_the_top_k_picture(run, tmp_path, capsys):
    out = tmp_path / "q.png"
    query = "a thick seven leaning right"
    assert cli.main(["retrieve", run, query, "--k", "5", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    assert f"the 5 test digits closest to {query!r}" in capsys.readouterr().out


def test_an_unknown_word_is_one_line_naming_it_and_the_vocabulary_size(run, capsys):
    assert cli.main(["retrieve", run, "a photo of a seven", "--out", "unused.png"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("scratchgen retrieve: error:")
    assert "unknown word 'photo'" in error and "19 entries" in error


def test_retrieve_needs_a_clip_run_and_an_existing_out_folder(run, tmp_path, capsys):
    other = tmp_path / "classifier"
    other.mkdir()
    config = {"model": "classifier", "config": {}}
    (other / "config.json").write_text(json.dumps(config))
    sg.save({"model": Classifier().state_dict()}, str(other / "checkpoint.npz"))
    assert cli.main(["retrieve", str(other), "a seven"]) == 2
    assert "holds a 'classifier' run, not a clip run" in capsys.readouterr().err
    assert cli.main(["retrieve", run, "a seven", "--out", str(tmp_path / "no" / "q.png")]) == 2
    assert "retrieve: --out" in capsys.readouterr().err
    assert cli.main(["retrieve", str(tmp_path / "nothing"), "a seven"]) == 2


def test_eval_writes_every_metric(run, monkeypatch):
    test = captioned_digits("test")[::2]
    train = seen_captioned_digits("train").subset(np.arange(0, 3554, 17))
    monkeypatch.setattr(clip.CLIPReport, "test_digits", lambda self: test)
    monkeypatch.setattr(CLIP, "training_data", lambda self, split="train": train)
    assert cli.main(["eval", run]) == 0
    with open(f"{run}/metrics.json") as file:
        metrics = json.load(file)
    assert "zero_shot_digit_accuracy" in metrics and "linear_probe_accuracy" in metrics
    assert all(np.isfinite(value) for value in metrics.values())
