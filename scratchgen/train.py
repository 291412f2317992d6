"""One training loop for every model family.

    trainer = Trainer(model, "runs/vae", epochs=10, batch_size=64, seed=0)
    trainer.fit()                  # or Trainer(..., resume=True).fit() after a stop

The model does the work of a step (``model.train_step(batch) -> dict of floats``, see
scratchgen.models.base); the Trainer does the rest:

- a tqdm progress bar with the running losses and steps/s;
- ``log.jsonl``: one JSON line per step with every loss; ``losses.png`` from it, redrawn
  after an epoch when LOSS_PLOT_SECONDS have passed since the last drawing, and at the end
  (a 60-epoch GAN log takes 0.4 s to draw: after every epoch, 3.5% of the run);
- ``samples/epoch_NNN.png`` (``evaluation.snapshot``) after every epoch;
- the learning-rate schedulers (``model.schedulers``) stepped after every epoch;
- ``checkpoint.npz`` after every epoch, written atomically: model, optimizers, schedulers,
  the random generator's state and the position (epoch, batch). Resuming restores all of
  it, so a run stopped and resumed ends bit for bit where an uninterrupted run ends (on
  the CPU);
- Ctrl-C: the step in progress finishes, a checkpoint is written, and the run stops;
- a NaN/inf guard: a non-finite loss stops the run with ``TrainingDiverged`` naming the
  loss and the step; the checkpoint on disk is still the last good one.
"""

import json
import math
import os
import signal
import time

from tqdm import tqdm

import scratchgen as sg
from scratchgen import backend, evaluation, viz
from scratchgen.data import DataLoader
from scratchgen.models.base import CHECKPOINT_FILE, CONFIG_FILE
from scratchgen.serialization import load, save

LOG_FILE = "log.jsonl"
WEIGHTS_FILE = "weights.npz"
LOSS_PLOT_SECONDS = 30.0


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite."""


class Trainer:
    """Runs ``model.train_step`` over ``model.training_data("train")`` and keeps the run folder.

    Stops after ``epochs`` epochs, or after ``steps`` steps in all when given (the fast mode
    of tests and notebooks). ``resume=True`` continues from ``out/checkpoint.npz``.
    """

    def __init__(
        self,
        model,
        out,
        epochs=None,
        batch_size=None,
        seed=0,
        steps=None,
        resume=False,
        progress=True,
    ):
        self.model = model
        self.out = out
        self.epochs = epochs if epochs is not None else model.defaults["epochs"]
        self.batch_size = batch_size if batch_size is not None else model.defaults["batch_size"]
        self.seed = seed
        self.max_steps = steps
        self.progress = progress
        self.loader = DataLoader(
            model.training_data("train"),
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=True,
            seed=seed,
            device=model.device,
        )
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.stop_requested = False
        self.plotted_at = time.monotonic()  # the last drawing of losses.png (or the start)
        model.schedule_over(self.epochs)
        os.makedirs(os.path.join(out, "samples"), exist_ok=True)
        if resume:
            self._resume()
        else:
            self._start()

    # -- the run folder ----------------------------------------------------------------
    def path(self, name):
        return os.path.join(self.out, name)

    def _start(self):
        if os.path.exists(self.path(CHECKPOINT_FILE)):
            raise FileExistsError(
                f"train: {self.out!r} already holds a run; resume it or choose another folder"
            )
        run_config = {
            "model": self.model.name,
            "config": self.model.config,
            "train": {"epochs": self.epochs, "batch_size": self.batch_size, "seed": self.seed},
            "scratchgen": sg.__version__,
        }
        with open(self.path(CONFIG_FILE), "w") as file:
            json.dump(run_config, file, indent=2)
        open(self.path(LOG_FILE), "w").close()

    def _resume(self):
        if not os.path.isfile(self.path(CHECKPOINT_FILE)):
            raise FileNotFoundError(f"train: nothing to resume in {self.out!r} (no checkpoint)")
        checkpoint = load(self.path(CHECKPOINT_FILE), device=self.model.device)
        self.model.load_state_dict(checkpoint["model"])
        for name, optimizer in self.model.optimizers.items():
            optimizer.load_state_dict(checkpoint["optimizers"][name])
        for name, scheduler in self.model.schedulers.items():
            scheduler.load_state_dict(checkpoint["schedulers"][name])
        backend.set_rng_state(checkpoint["rng"])
        self.epoch = checkpoint["epoch"]
        self.batch_in_epoch = checkpoint["batch_in_epoch"]
        self.step = checkpoint["step"]
        self._truncate_log(self.step)

    def _truncate_log(self, steps):
        """Drop log lines written after the checkpoint (a crash between two checkpoints)."""
        with open(self.path(LOG_FILE)) as file:
            records = [line for line in file if json.loads(line)["step"] <= steps]
        with open(self.path(LOG_FILE), "w") as file:
            file.writelines(records)

    def save_checkpoint(self):
        """Write everything a resume needs, atomically (serialization.save)."""
        save(
            {
                "model": self.model.state_dict(),
                "optimizers": {
                    name: optimizer.state_dict()
                    for name, optimizer in self.model.optimizers.items()
                },
                "schedulers": {
                    name: scheduler.state_dict()
                    for name, scheduler in self.model.schedulers.items()
                },
                "rng": backend.get_rng_state(),
                "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch,
                "step": self.step,
            },
            self.path(CHECKPOINT_FILE),
        )

    # -- the loop ------------------------------------------------------------------------
    def total_steps(self):
        planned = self.epochs * len(self.loader)
        return planned if self.max_steps is None else min(planned, self.max_steps)

    def finished(self):
        return self.step >= self.total_steps()

    def fit(self):
        """Train to the end (or to Ctrl-C); returns the model."""
        self.model.train()
        bar = tqdm(
            total=self.total_steps(),
            initial=self.step,
            desc=f"train {self.model.name}",
            disable=not self.progress,
            dynamic_ncols=True,
        )
        previous_handler = self._catch_ctrl_c()
        try:
            with open(self.path(LOG_FILE), "a") as log:
                while not self.finished() and not self.stop_requested:
                    self._run_epoch(bar, log)
        finally:
            signal_restore(previous_handler)
            bar.close()
        if self.stop_requested:
            self.save_checkpoint()
            self._plot_losses()
            print(f"stopped: checkpoint saved in {self.out!r}; resume to continue")
        else:
            self._finish()
        return self.model

    def _run_epoch(self, bar, log):
        self.loader.set_epoch(self.epoch)
        running = {}
        for batch in self.loader.batches(start=self.batch_in_epoch):
            losses = self.model.train_step(batch)
            self._check_finite(losses)
            self.step += 1
            self.batch_in_epoch += 1
            log.write(json.dumps({"epoch": self.epoch, "step": self.step, **losses}) + "\n")
            running = {k: 0.9 * running.get(k, v) + 0.1 * v for k, v in losses.items()}
            bar.set_postfix({k: f"{v:.4g}" for k, v in running.items()}, refresh=False)
            bar.update(1)
            if self.finished() or self.stop_requested:
                break
        if self.batch_in_epoch == len(self.loader):
            log.flush()
            self._end_epoch()

    def _end_epoch(self):
        self.model.eval()
        with sg.no_grad():
            evaluation.snapshot(
                self.model, self.path(os.path.join("samples", f"epoch_{self.epoch + 1:03d}.png"))
            )
        self.model.train()
        for scheduler in self.model.schedulers.values():
            scheduler.step()
        self.epoch += 1
        self.batch_in_epoch = 0
        self.save_checkpoint()
        if time.monotonic() - self.plotted_at >= LOSS_PLOT_SECONDS:
            self._plot_losses()

    def _finish(self):
        if self.batch_in_epoch:  # stopped by ``steps`` inside an epoch
            self.save_checkpoint()
        self._plot_losses()
        save(self.model.state_dict(), self.path(WEIGHTS_FILE))
        self.model.eval()
        evaluation.figures(self.model, self.out)

    def _check_finite(self, losses):
        for name, value in losses.items():
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"train: loss {name!r} became {value} at step {self.step + 1} "
                    f"(epoch {self.epoch + 1}); the last good checkpoint is "
                    f"{self.path(CHECKPOINT_FILE)!r} (step {self._checkpointed_step()})"
                )

    def _checkpointed_step(self):
        if not os.path.isfile(self.path(CHECKPOINT_FILE)):
            return "none yet"
        return load(self.path(CHECKPOINT_FILE))["step"]

    def _plot_losses(self):
        records = read_log(self.out)
        if records:  # a run stopped before its first step has nothing to draw
            viz.loss_curves(records, self.path("losses.png"))
        self.plotted_at = time.monotonic()

    def _catch_ctrl_c(self):
        """First Ctrl-C: finish the step, save, stop. A second one stops at once."""

        def request_stop(signum, frame):
            self.stop_requested = True
            signal.signal(signal.SIGINT, signal.default_int_handler)

        try:
            return signal.signal(signal.SIGINT, request_stop)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            return None


def signal_restore(previous_handler):
    if previous_handler is not None:
        signal.signal(signal.SIGINT, previous_handler)


def read_log(run_dir):
    """The records of a run's log.jsonl, a list of dicts."""
    return viz.read_log(os.path.join(run_dir, LOG_FILE))
