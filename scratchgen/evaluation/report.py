"""What every family's evaluation shares, and the table that finds it for a model.

A model file holds the networks, the model and its ``train_step``; what scores and draws
a model lives here, one floor up, in a Report per family:

    Report(model).snapshot(path)   the picture written after every epoch (the Trainer)
    Report(model).figures(out)     the pictures of a finished run; returns their paths
    Report(model).evaluate()       {"metric": number, ...}, what ``scratchgen eval`` prints

A family's Report registers itself with ``@reports("name")`` under the model's name;
``report(model)`` builds the one for a model. An evaluation that draws random numbers
draws them ``with seeded():``, so that evaluating a run twice gives the same numbers.
"""

import contextlib

import scratchgen as sg

_REPORTS = {}


@contextlib.contextmanager
def seeded(seed=0):
    """Run the block with the random stream seeded to ``seed``; the caller's stream is
    restored afterwards (a metric computed mid-training does not change what training
    draws next)."""
    state = sg.get_rng_state()
    sg.manual_seed(seed)
    try:
        yield
    finally:
        sg.set_rng_state(state)


def reports(name):
    """Class decorator: the Report of the model family registered as ``name``."""

    def add(cls):
        _REPORTS[name] = cls
        return cls

    return add


def report(model):
    """The Report of ``model``'s family, for that model; a one-line error for a family
    without one."""
    if model.name not in _REPORTS:
        raise ValueError(
            f"evaluation: no report for model {model.name!r}; "
            f"reports exist for: {', '.join(sorted(_REPORTS))}"
        )
    return _REPORTS[model.name](model)


class Report:
    """The evaluation of one trained (or training) model: its pictures and metrics."""

    def __init__(self, model):
        self.model = model

    def snapshot(self, path):
        """Write the picture of the model's progress (a sample grid, reconstructions)."""
        raise NotImplementedError(f"{type(self).__name__} must define snapshot(path)")

    def figures(self, out):
        """Write the pictures of a finished run into folder ``out``; returns their paths."""
        return []

    def evaluate(self, classifier=None):
        """The family's metrics; classifier: the ruler (None: the reference classifier)."""
        raise NotImplementedError(f"{type(self).__name__} must define evaluate()")
