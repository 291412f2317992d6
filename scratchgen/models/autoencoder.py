"""Autoencoders: the MLP autoencoder and the conv (denoising) autoencoder of DESIGN.md.

An autoencoder squeezes a digit x through a small code z = encode(x) and rebuilds it,
logits = decode(z); the loss is the Bernoulli reconstruction -log p(x|z), the pixel-wise
BCE of sigmoid(logits) against x summed over the 784 pixels (nats per digit).

A denoising autoencoder sees a corrupted digit, x~ = clip(x + sigma eps, 0, 1), and is
scored against the clean x: to undo the noise it has to learn what digits look like.

    MLP AE  ("ae"):  784-512-256-32 / 32-256-512-784, ReLU
    conv AE ("dae"): Conv(1,32,3,s2,p1) ReLU Conv(32,64,3,s2,p1) ReLU Linear(3136,32)
                     Linear(32,3136) ReLU ConvT(64,32,4,2,1) ReLU ConvT(32,1,4,2,1)
"""

import numpy

import scratchgen as sg
from scratchgen import losses, nn, optim
from scratchgen.data import mnist
from scratchgen.models.base import TrainableModel, register


def conv_encoder(code_size):
    """(N,1,28,28) -> (N, code_size): two stride-2 convs, 28 -> 14 -> 7, then a Linear."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3136, code_size),
    )


def conv_decoder(code_size):
    """(N, code_size) -> (N,1,28,28) logits: a Linear to 64x7x7, two stride-2 ConvTs."""
    return nn.Sequential(
        nn.Linear(code_size, 3136),
        nn.ReLU(),
        nn.Unflatten(1, (64, 7, 7)),
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),
    )


def as_images(x, device):
    """A Tensor of (N,1,28,28) digits on ``device`` from a Tensor or a numpy array."""
    if isinstance(x, sg.Tensor):
        return x
    return sg.tensor(numpy.asarray(x, dtype=numpy.float32), device=device)


def add_noise(x, sigma):
    """clip(x + sigma eps, 0, 1), eps ~ N(0, 1): the corruption the DAE learns to undo.

    The noise comes from the device's generator, so a checkpoint's random state covers it.
    The fixed noisy test set of the evaluation is ``evaluation.autoencoder.noisy_test_digits``.
    """
    return (x + sg.randn_like(x) * sigma).clamp(0.0, 1.0)


class AutoEncoderBase(TrainableModel):
    """encode / decode / reconstruct / loss / train_step shared by the autoencoders."""

    defaults = {"epochs": 30, "batch_size": 128}
    noise = 0.0  # the DAE's sigma

    def encode(self, x):
        return self.encoder(as_images(x, self.device))

    def decode(self, z):
        return self.decoder(z).reshape(-1, 1, 28, 28)

    def code(self, x):
        """The point of the latent space that stands for x (the VAE: the posterior mean)."""
        return self.encode(x)

    def reconstruct(self, x):
        """sigmoid(decode(code(x))) as a numpy array in [0, 1], without a graph."""
        with sg.no_grad():
            return self.decode(self.code(x)).sigmoid().numpy()

    def loss(self, x, target=None):
        """Bernoulli reconstruction of ``target`` (default x) from x, nats per digit."""
        logits = self.decode(self.encode(x))
        target = as_images(x if target is None else target, self.device)
        return losses.bernoulli_reconstruction(logits, target)

    def train_step(self, batch):
        clean = batch["image"]
        corrupted = add_noise(clean, self.noise) if self.noise else clean
        loss = self.loss(corrupted, clean)
        optimizer = self.optimizers["adam"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss.item()}

    def training_data(self, split="train"):
        return mnist(split)


@register("ae")
class MLPAutoEncoder(AutoEncoderBase):
    """784-512-256-32 / 32-256-512-784 with ReLU; the decoder returns logits."""

    def __init__(self, lr=1e-3, code_size=32):
        super().__init__(lr=lr, code_size=code_size)
        self.encoder = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 512),
            nn.ReLU(),
            nn.Linear(512, 256),
            nn.ReLU(),
            nn.Linear(256, code_size),
        )
        self.decoder = nn.Sequential(
            nn.Linear(code_size, 256),
            nn.ReLU(),
            nn.Linear(256, 512),
            nn.ReLU(),
            nn.Linear(512, 784),
        )
        self.optimizers = {"adam": optim.Adam(self.parameters(), lr=lr)}


@register("dae")
class ConvDenoisingAutoEncoder(AutoEncoderBase):
    """The conv autoencoder trained to undo Gaussian noise of std ``noise`` (0 = plain AE).

    ``defaults``: 100 epochs at batch 128 (about 2.5 minutes on a 2-core CPU); 30 epochs
    stop at 20.6 dB, 100 reach 21.4 dB on the test digits.
    """

    defaults = {"epochs": 100, "batch_size": 128}

    def __init__(self, lr=1e-3, code_size=32, noise=0.3):
        super().__init__(lr=lr, code_size=code_size, noise=noise)
        self.noise = noise
        self.encoder = conv_encoder(code_size)
        self.decoder = conv_decoder(code_size)
        self.optimizers = {"adam": optim.Adam(self.parameters(), lr=lr)}
