"""The reference digit classifier: the ruler for generated digits.

A small CNN trained with scratchgen on the embedded training split
(``scratchgen train classifier``). Its weights ship with the package; the metrics use
its logits (class shares, conditional accuracy) and its 128 penultimate features (FID).

    Conv(1,32,3,p1) BN ReLU MaxPool2   28 -> 14
    Conv(32,64,3,p1) BN ReLU MaxPool2  14 -> 7
    Flatten Linear(3136,128) ReLU      the feature space
    Dropout(0.3) Linear(128,10)        logits

Training shifts each digit by up to ``shift`` pixels in x and y (random crop of the
zero-padded image), which is worth most of a percent of test accuracy on 4,000 digits.
"""

import functools
import os

import numpy

import scratchgen as sg
import scratchgen.nn.functional as F
from scratchgen import backend, nn, optim
from scratchgen.data import mnist
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
        """Logits (N, 10) of numpy images, in eval mode, without a graph."""
        from scratchgen.metrics import classify

        return classify(images, classifier=self, batch_size=batch_size)

    def snapshot(self, path):
        """A grid of the test digits the classifier gets wrong, titled with their count."""
        from scratchgen.viz import image_grid

        test = mnist("test")
        predicted = self.predict(test.arrays["image"]).argmax(axis=1)
        wrong = numpy.flatnonzero(predicted != test.arrays["label"])
        images = test.arrays["image"][wrong[:64]] if len(wrong) else test.arrays["image"][:1]
        title = f"{len(wrong)} of {len(test)} test digits misclassified"
        return image_grid(images, path, title=title)

    def evaluate(self):
        """Test accuracy and the FID calibration points measured with this classifier.

        fid_train_vs_test: two samples of real digits (the floor a generator can reach);
        fid_test_vs_noise: test digits against themselves plus N(0, 0.1^2) noise, clipped
        to [0, 1] (the reference point the quality targets are stated against).
        """
        from scratchgen.metrics import fid

        test, train = mnist("test"), mnist("train")
        test_images = test.arrays["image"]
        logits = self.predict(test_images)
        accuracy = float((logits.argmax(axis=1) == test.arrays["label"]).mean())
        return {
            "test_accuracy": accuracy,
            "test_errors": int(round((1 - accuracy) * len(test))),
            "fid_train_vs_test": fid(train.arrays["image"], test_images, classifier=self),
            "fid_test_vs_noise": fid(test_images, noisy(test_images), classifier=self),
        }


def noisy(images, sigma=0.1, seed=0):
    """images + N(0, sigma^2) noise, clipped to [0, 1]: the FID calibration point."""
    noise = numpy.random.default_rng(seed).normal(0.0, sigma, images.shape)
    return numpy.clip(images + noise, 0.0, 1.0).astype(numpy.float32)


def random_shift(images, shift):
    """Each image moved by up to ``shift`` pixels in x and y, zeros coming in at the edges.

    The image is zero-padded by ``shift`` and a window of the original size is cropped at
    a random offset per image (one gather, no loop over the batch).
    """
    if shift == 0:
        return images
    array = images.data
    xp = backend.get_array_module(array)
    n, channels, height, width = array.shape
    padded = xp.pad(array, ((0, 0), (0, 0), (shift, shift), (shift, shift)))
    offsets = backend.generator(images.device).integers(0, 2 * shift + 1, size=(n, 2))
    offsets = xp.asarray(offsets)
    rows = offsets[:, 0, None] + xp.arange(height)  # (n, height)
    cols = offsets[:, 1, None] + xp.arange(width)  # (n, width)
    batch = xp.arange(n)[:, None, None, None]
    channel = xp.arange(channels)[None, :, None, None]
    shifted = padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
    return sg.Tensor(shifted)


@functools.cache
def _reference_classifier(device):
    if not os.path.isfile(WEIGHTS):
        raise FileNotFoundError(
            f"reference_classifier: no weights at {WEIGHTS!r}; "
            "train them with `scratchgen train classifier` and copy RUN/weights.npz there"
        )
    state = sg.get_rng_state()  # its random initialisation is overwritten by the weights:
    classifier = Classifier().to(device)  # leave the caller's random numbers as they were
    sg.set_rng_state(state)
    classifier.load_state_dict(sg.load(WEIGHTS, device=device))
    return classifier.eval()


def reference_classifier(device="cpu"):
    """The shipped, trained classifier in eval mode (one instance per device, cached)."""
    return _reference_classifier(backend.parse_device(device))
