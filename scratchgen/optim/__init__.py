"""Optimizers and learning-rate schedules, with torch's names, defaults and state dicts.

from scratchgen import optim
optimizer = optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))
scheduler = optim.lr_scheduler.LinearDecayLR(optimizer, n_constant=100, n_decay=100)
"""

from scratchgen.optim import ema, lr_scheduler, swa_utils
from scratchgen.optim.adadelta import Adadelta
from scratchgen.optim.adagrad import Adagrad
from scratchgen.optim.adam import Adam, AdamW
from scratchgen.optim.optimizer import Optimizer
from scratchgen.optim.rmsprop import RMSprop
from scratchgen.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Adadelta",
    "Adagrad",
    "RMSprop",
    "Optimizer",
    "ema",
    "lr_scheduler",
    "swa_utils",
]
