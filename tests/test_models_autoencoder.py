"""The autoencoder family: MLP AE, conv DAE, VAE (shapes, training smoke, applications)."""

import numpy as np
import pytest

import scratchgen as sg
from scratchgen.data import DataLoader, mnist
from scratchgen.evaluation.autoencoder import noisy_test_digits
from scratchgen.models import VAE, ConvDenoisingAutoEncoder, MLPAutoEncoder
from scratchgen.train import Trainer


def digits(n=16, split="test"):
    return mnist(split).arrays["image"][:: 1000 // n][:n]


@pytest.mark.parametrize("family", [MLPAutoEncoder, ConvDenoisingAutoEncoder])
def test_autoencoder_shapes(family, device):
    model = family().to(device)
    x = sg.tensor(digits(4), device=device)
    assert model.encode(x).shape == (4, 32)
    assert model.decode(model.encode(x)).shape == (4, 1, 28, 28)
    reconstruction = model.reconstruct(digits(4))
    assert reconstruction.shape == (4, 1, 28, 28)
    assert reconstruction.min() >= 0 and reconstruction.max() <= 1


def test_vae_shapes_and_prior_samples(device):
    model = VAE().to(device)
    mu, logvar = model.encode(digits(4))
    assert mu.shape == logvar.shape == (4, 16)
    samples = model.sample(5)
    assert samples.shape == (5, 1, 28, 28) and samples.dtype == np.float32
    assert model.training  # sample() does not leave the model in another mode
    with pytest.raises(ValueError, match="not conditional"):
        model.sample(3, labels=[1, 2, 3])


def test_vae_loss_is_the_negative_elbo_of_its_parts():
    sg.manual_seed(0)
    model = VAE()
    x = sg.tensor(digits(8))
    sg.manual_seed(1)
    loss = model.loss(x).item()
    sg.manual_seed(1)
    mu, logvar = model.encode(x)
    z = sg.losses.reparameterize(mu, logvar)
    expected = sg.losses.bernoulli_reconstruction(model.decode(z), x) + sg.losses.gaussian_kl(
        mu, logvar
    )
    assert loss == pytest.approx(expected.item(), rel=1e-6)


def test_denoising_autoencoder_lowers_its_loss_in_a_few_steps():
    """A smoke test, not a quality gate: 30 steps of the DAE on noisy digits."""
    sg.manual_seed(0)
    model = ConvDenoisingAutoEncoder(noise=0.3)
    loader = DataLoader(mnist("train"), batch_size=64, shuffle=True)
    clean = sg.tensor(digits(64))
    noisy = sg.tensor(noisy_test_digits(model, digits(64)))
    with sg.no_grad():
        before = model.loss(noisy, clean).item()
    for _, batch in zip(range(30), loader):
        model.train_step(batch)
    with sg.no_grad():
        after = model.loss(noisy, clean).item()
    assert after < 0.6 * before


def test_vae_cosine_schedule_spans_the_trainers_run(tmp_path):
    model = VAE()
    Trainer(model, str(tmp_path / "run"), epochs=2, batch_size=1000, progress=False).fit()
    scheduler = model.schedulers["adam"]
    assert scheduler.T_max == 2 and scheduler.last_epoch == 2
    assert model.optimizers["adam"].param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert VAE(cosine=False).schedulers == {}


@pytest.mark.parametrize("shift", [0, 1])
def test_vae_trains_on_digits_shifted_by_at_most_shift_pixels(shift, monkeypatch):
    seen, weight = [], sg.zeros(1, requires_grad=True)

    def recording_loss(self, x, target=None):
        seen.append(x.numpy())
        return (weight * x.sum()).sum()

    monkeypatch.setattr(VAE, "loss", recording_loss)
    model = VAE(shift=shift)
    model.optimizers = {"adam": sg.optim.SGD([weight], lr=0.1)}
    batch = {"image": sg.tensor(digits(16))}
    sg.manual_seed(0)
    model.train_step(batch)
    image, shown = batch["image"].numpy(), seen[0]
    moved = [not np.array_equal(a, b) for a, b in zip(image, shown)]
    assert any(moved) == bool(shift)
    for a, b in zip(image, shown):  # b is a within 1 pixel: same ink, a shifted window
        rows = [
            np.roll(np.pad(a[0], 1), (dy, dx), (0, 1))[1:-1, 1:-1]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        ]
        assert any(np.array_equal(r, b[0]) for r in rows)


def test_vae_with_an_excluded_digit_never_trains_on_it():
    data = VAE(exclude=7).training_data("train")
    assert len(data) == 3600 and 7 not in set(data.arrays["label"].tolist())


def test_inpainting_keeps_shapes_and_beats_a_blank_fill():
    """Inpainting an (untrained) VAE's own decoding: the latent search recovers the hole."""
    sg.manual_seed(0)
    model = VAE().eval()
    target = model.sample(4)
    visible = np.ones_like(target)
    visible[:, :, 10:18, 6:22] = 0
    filled = model.inpaint(target, visible, steps=60, restarts=2)
    assert filled.shape == target.shape
    hole = visible == 0
    error = np.abs(filled - target)[hole].mean()
    blank_error = np.abs(0.0 - target)[hole].mean()
    assert error < 0.5 * blank_error
