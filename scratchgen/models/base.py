"""What every trainable model shares, the registry of model names, and loading a run.

The Trainer (scratchgen.train) drives any model through one small interface:

    model.train_step(batch) -> {"loss_name": float, ...}   one optimisation step
    model.optimizers        -> {"name": optimizer}          saved in checkpoints
    model.schedulers        -> {"name": lr scheduler}       stepped after every epoch
    model.config            -> the keyword arguments that rebuild the model
    model.training_data(split) -> the ArrayDataset the family trains on

What scores and draws a model (the picture after every epoch, the figures of a finished
run, the metrics of ``scratchgen eval``) is not here: it is the family's Report in
``scratchgen.evaluation``, one floor up.

A family registers itself with ``@register("name")``; ``build(name, **config)`` makes
one, and ``load(run_dir)`` rebuilds the model of a run folder with its trained weights.
"""

import inspect
import json
import os

from scratchgen import nn
from scratchgen.serialization import load as load_file

CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.npz"

_REGISTRY = {}


def register(name):
    """Class decorator: make a model family available to ``build`` and the CLI."""

    def add(cls):
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return add


def names():
    """The registered model names, sorted."""
    return sorted(_REGISTRY)


def family(name):
    """The class registered under ``name``; a one-line error for an unknown name."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; expected one of: {', '.join(names())}")
    return _REGISTRY[name]


def build(name, **config):
    """A new model of family ``name`` built with ``config`` (the family's defaults otherwise)."""
    cls = family(name)
    settings = [key for key in inspect.signature(cls.__init__).parameters if key != "self"]
    unknown = [key for key in config if key not in settings]
    if unknown:
        raise ValueError(
            f"model {name!r} has no setting {', '.join(unknown)}; "
            f"its settings: {', '.join(settings)}"
        )
    return cls(**config)


class TrainableModel(nn.Module):
    """Base class of the model families. Subclasses set ``self.optimizers`` (and, if they
    decay their learning rates, ``self.schedulers``) in ``__init__``.

    ``defaults`` holds the training settings (epochs, batch_size) the CLI uses when the
    user gives none; they are chosen to give a good result in minutes on a laptop CPU.
    """

    name = None
    defaults = {"epochs": 10, "batch_size": 64}
    generative = True

    def __init__(self, **config):
        super().__init__()
        self.config = config
        self.optimizers = {}
        self.schedulers = {}

    def schedule_over(self, epochs):
        """Called by the Trainer with the run's length before training starts; a model
        whose learning-rate schedule spans the whole run (the VAE's cosine) builds it here."""

    def train_step(self, batch):
        raise NotImplementedError(f"{type(self).__name__} must define train_step(batch)")

    def training_data(self, split="train"):
        raise NotImplementedError(f"{type(self).__name__} must define training_data(split)")

    def sample(self, n, labels=None):
        raise ValueError(f"sample: model {self.name!r} is not generative; it has no samples")

    @property
    def device(self):
        """The device of the model's parameters ("cpu" or "cuda")."""
        return next(iter(self.parameters())).device


def load(run_dir, device="cpu"):
    """The model of a run folder, with the weights of its last checkpoint, in eval mode."""
    config_path = os.path.join(run_dir, CONFIG_FILE)
    checkpoint_path = os.path.join(run_dir, CHECKPOINT_FILE)
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"load: no run folder {run_dir!r}")
    for path in (config_path, checkpoint_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"load: {run_dir!r} is not a finished run (no {path!r})")
    with open(config_path) as file:
        run_config = json.load(file)
    model = build(run_config["model"], **run_config["config"]).to(device)
    checkpoint = load_file(checkpoint_path, device=device)
    model.load_state_dict(checkpoint["model"])
    return model.eval()
