"""The Trainer: resume bit for bit, Ctrl-C, the NaN guard, atomic checkpoints, the run folder."""

import json
import os
import signal

import numpy as np
import pytest

import scratchgen as sg
import scratchgen.nn.functional as F
from scratchgen import nn, optim, serialization, train, viz
from scratchgen.data import ArrayDataset
from scratchgen.evaluation import Report, reports
from scratchgen.models.base import TrainableModel
from scratchgen.train import Trainer, TrainingDiverged, read_log


class TinyRegressor(TrainableModel):
    """A two-layer net with dropout (so the random generator matters) on 96 fixed points."""

    name = "tiny"
    defaults = {"epochs": 2, "batch_size": 16}

    def __init__(self, lr=1e-2, events=None):
        super().__init__(lr=lr)
        self.hidden = nn.Linear(4, 16)
        self.dropout = nn.Dropout(0.2)
        self.out = nn.Linear(16, 1)
        self.optimizers = {"adam": optim.Adam(self.parameters(), lr=lr)}
        self.events = events or {}  # step -> "nan" or "ctrl-c", to plant trouble
        self.steps_taken = 0

    def forward(self, x):
        return self.out(self.dropout(F.relu(self.hidden(x))))

    def training_data(self, split="train"):
        rng = np.random.default_rng(1)
        x = rng.normal(size=(96, 4)).astype(np.float32)
        y = (x @ np.array([1.0, -2.0, 0.5, 0.0], np.float32))[:, None]
        return ArrayDataset(x=x, y=y)

    def train_step(self, batch):
        self.steps_taken += 1
        loss = F.mse_loss(self(batch["x"]), batch["y"])
        self.optimizers["adam"].zero_grad()
        loss.backward()
        self.optimizers["adam"].step()
        event = self.events.get(self.steps_taken)
        if event == "ctrl-c":
            os.kill(os.getpid(), signal.SIGINT)
        value = float("nan") if event == "nan" else loss.item()
        return {"loss": value}


@reports("tiny")
class TinyReport(Report):
    """The per-epoch picture of the tiny model: its first layer's weights."""

    def snapshot(self, path):
        return viz.image_grid(np.abs(self.model.hidden.weight.numpy()).reshape(1, 1, 16, 4), path)


def new_model(seed, **kwargs):
    sg.manual_seed(seed)
    return TinyRegressor(**kwargs)


def trained(out, epochs, seed=0, resume=False, **kwargs):
    model = new_model(seed, **kwargs)
    trainer = Trainer(model, str(out), epochs=epochs, resume=resume, progress=False)
    trainer.fit()
    return model, trainer


def assert_same_state(model_a, model_b):
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    assert list(state_a) == list(state_b)
    for key in state_a:
        np.testing.assert_array_equal(state_a[key].numpy(), state_b[key].numpy(), err_msg=key)


def losses_of(out):
    return [(r["step"], r["loss"]) for r in read_log(str(out))]


def test_two_epochs_equal_one_epoch_resume_one_epoch(tmp_path):
    straight, _ = trained(tmp_path / "straight", epochs=2)
    trained(tmp_path / "split", epochs=1)
    # a differently seeded model: everything must come from the checkpoint
    resumed, _ = trained(tmp_path / "split", epochs=2, seed=123, resume=True)
    assert_same_state(straight, resumed)
    assert losses_of(tmp_path / "straight") == losses_of(tmp_path / "split")
    # and the optimizer states too: one more identical step gives identical weights
    assert straight.optimizers["adam"].state_dict()["state"][0]["step"] == 12


def test_run_folder_holds_log_curves_samples_and_checkpoint(tmp_path):
    _, trainer = trained(tmp_path, epochs=2)
    records = read_log(str(tmp_path))
    assert [r["step"] for r in records] == list(range(1, 13))  # 96 / 16 = 6 steps an epoch
    assert {r["epoch"] for r in records} == {0, 1}
    for name in ("losses.png", "samples/epoch_001.png", "samples/epoch_002.png", "weights.npz"):
        assert os.path.getsize(tmp_path / name) > 0, name
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"] == "tiny" and config["config"] == {"lr": 1e-2}
    checkpoint = sg.load(str(tmp_path / "checkpoint.npz"))
    assert (checkpoint["epoch"], checkpoint["batch_in_epoch"], checkpoint["step"]) == (2, 0, 12)


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes_the_same_run(tmp_path, capsys):
    straight, _ = trained(tmp_path / "straight", epochs=2)
    interrupted, trainer = trained(tmp_path / "stopped", epochs=2, events={8: "ctrl-c"})
    assert "checkpoint saved" in capsys.readouterr().out
    checkpoint = sg.load(str(tmp_path / "stopped" / "checkpoint.npz"))
    assert (checkpoint["epoch"], checkpoint["batch_in_epoch"], checkpoint["step"]) == (1, 2, 8)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    resumed, _ = trained(tmp_path / "stopped", epochs=2, seed=5, resume=True)
    assert_same_state(straight, resumed)
    assert losses_of(tmp_path / "straight") == losses_of(tmp_path / "stopped")


def record_loss_plots(monkeypatch, seconds):
    """Set the loss plot's interval and return the list of step counts each drawing saw."""
    drawn = []
    monkeypatch.setattr(train, "LOSS_PLOT_SECONDS", seconds)
    monkeypatch.setattr(train.viz, "loss_curves", lambda records, path: drawn.append(len(records)))
    return drawn


def test_losses_png_is_redrawn_between_epochs_only_after_the_interval(tmp_path, monkeypatch):
    drawn = record_loss_plots(monkeypatch, seconds=0.0)
    trained(tmp_path / "every", epochs=2)
    assert drawn == [6, 12, 12]  # after each epoch, and at the end
    drawn = record_loss_plots(monkeypatch, seconds=1e9)
    trained(tmp_path / "end", epochs=2)
    assert drawn == [12]  # the interval never passed: the end draws the whole log
    drawn = record_loss_plots(monkeypatch, seconds=1e9)
    trained(tmp_path / "stopped", epochs=2, events={8: "ctrl-c"})
    assert drawn == [8]  # a stop draws what was logged up to it


def test_nan_guard_names_the_loss_and_step_and_keeps_the_good_checkpoint(tmp_path):
    with pytest.raises(TrainingDiverged, match=r"loss 'loss' became nan at step 9 \(epoch 2\)"):
        trained(tmp_path, epochs=2, events={9: "nan"})
    checkpoint = sg.load(str(tmp_path / "checkpoint.npz"))
    assert checkpoint["step"] == 6  # the end of epoch 1, the last good state
    assert all(np.isfinite(t.numpy()).all() for t in checkpoint["model"].values())


def test_a_crash_while_saving_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    _, trainer = trained(tmp_path, epochs=1)
    before = sg.load(str(tmp_path / "checkpoint.npz"))

    def crash_halfway(file, arrays, structure):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(serialization, "_write_npz", crash_halfway)
    trainer.step = 999
    with pytest.raises(OSError, match="disk full"):
        trainer.save_checkpoint()
    monkeypatch.undo()
    after = sg.load(str(tmp_path / "checkpoint.npz"))
    assert after["step"] == before["step"] == 6
    assert [f for f in os.listdir(tmp_path) if "tmp" in f] == []  # no temporary file left


def test_steps_stops_inside_an_epoch_and_resume_continues(tmp_path):
    model = new_model(0)
    Trainer(model, str(tmp_path), epochs=3, steps=4, progress=False).fit()
    assert len(read_log(str(tmp_path))) == 4
    checkpoint = sg.load(str(tmp_path / "checkpoint.npz"))
    assert (checkpoint["epoch"], checkpoint["batch_in_epoch"]) == (0, 4)


def test_starting_over_an_existing_run_is_refused(tmp_path):
    trained(tmp_path, epochs=1)
    with pytest.raises(FileExistsError, match="already holds a run"):
        Trainer(new_model(0), str(tmp_path), epochs=1, progress=False)


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        Trainer(new_model(0), str(tmp_path), epochs=1, resume=True, progress=False)
