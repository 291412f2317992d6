"""The reference digit classifier: the ruler for generated digits.

A small CNN trained with scratchgen on the embedded training split
(``scratchgen train classifier``). Its weights ship with the package (WEIGHTS);
`scratchgen.evaluation.reference` loads them and uses its logits (class shares,
conditional accuracy) and its 128 penultimate features (FID).

    Conv(1,32,3,p1) BN ReLU MaxPool2   28 -> 14
    Conv(32,64,3,p1) BN ReLU MaxPool2  14 -> 7
    Flatten Linear(3136,128) ReLU      the feature space
    Dropout(0.3) Linear(128,10)        logits

Training shifts each digit by up to ``shift`` pixels in x and y (random crop of the
zero-padded image), which is worth most of a percent of test accuracy on 4,000 digits.
"""

import os

import numpy

import scratchgen as sg
import scratchgen.nn.functional as F
from scratchgen import backend, nn, optim
from scratchgen.data import mnist
from scratchgen.data.augment import random_shift
from scratchgen.models.base import TrainableModel, register

WEIGHTS = os.path.join(os.path.dirname(__file__), "weights", "classifier.npz")


@register("classifier")
class Classifier(TrainableModel):
    """CNN on (N, 1, 28, 28) digits in [0, 1]: ``classifier(x)`` gives (N, 10) logits."""

    defaults = {"epochs": 20, "batch_size": 64}
    generative = False

    def __init__(self, lr=1e-3, shift=2, decay_every=7):
        super().__init__(lr=lr, shift=shift, decay_every=decay_every)
        self.shift = shift
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(3136, 128),
            nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(128, 10)
        self.optimizers = {"adam": optim.Adam(self.parameters(), lr=lr)}
        self.schedulers = {
            "adam": optim.lr_scheduler.StepLR(self.optimizers["adam"], decay_every, gamma=0.2)
        }

    def features(self, x):
        """The 128 penultimate activations, the space FID is measured in."""
        return self.body(x)

    def forward(self, x):
        return self.head(self.dropout(self.features(x)))

    def train_step(self, batch):
        images = random_shift(batch["image"], self.shift)
        logits = self(images)
        loss = F.cross_entropy(logits, batch["label"])
        optimizer = self.optimizers["adam"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        accuracy = (logits.data.argmax(axis=1) == batch["label"].data).mean()
        return {"loss": loss.item(), "accuracy": float(accuracy)}

    def training_data(self, split="train"):
        return mnist(split)

    def predict(self, images, batch_size=500):
        """Logits (N, 10) of numpy images (N, 1, 28, 28), without a graph, as NumPy."""
        return run_batched("predict", self, images, self, batch_size)


def run_batched(name, method, images, module, batch_size):
    """method(batch Tensor) for each batch of numpy images, under no_grad, concatenated
    as NumPy. Batches are built on the device and with the dtype of ``module``'s first
    parameter; ``name`` is the caller, named in the error for a bad batch size."""
    if batch_size < 1:
        raise ValueError(f"{name}: expected batch_size >= 1, got {batch_size}")
    first = next(iter(module.parameters()), None)
    device = "cpu" if first is None else first.device
    dtype = backend.float32 if first is None else first.dtype
    outputs = []
    with sg.no_grad():
        for start in range(0, len(images), batch_size):
            batch = sg.tensor(images[start : start + batch_size], dtype=dtype, device=device)
            outputs.append(backend.to_numpy(method(batch).data))
    return numpy.concatenate(outputs)
