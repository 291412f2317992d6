"""The DCGAN and the conditional GAN: architecture, initialisation, the training step, EMA,
sampling in eval mode (the pin of issue 6), checkpoints, the run folder, and a 2-D toy
GAN that learns to cover the eight modes of a ring of Gaussians."""

import math

import numpy as np
import pytest

import scratchgen as sg
from scratchgen import losses, nn, optim
from scratchgen.data import mnist
from scratchgen.models import gan
from scratchgen.models.base import load
from scratchgen.train import Trainer, read_log

CONFIGS = {
    "dcgan": (gan.DCGAN, {}),
    "cgan": (gan.ConditionalGAN, {}),
    "cgan-projection": (gan.ConditionalGAN, {"projection": True}),
}


def digit_batch(device, n=16, start=0):
    """n training digits as the Trainer feeds them: image (n,1,28,28) in [0,1], label (n,)."""
    arrays = mnist("train")[start : start + n]
    return {
        "image": sg.tensor(arrays["image"], device=device),
        "label": sg.tensor(arrays["label"], device=device),
    }


def trained_a_little(model, device="cpu", steps=2):
    model.train()
    for step in range(steps):
        model.train_step(digit_batch(device, start=16 * step))
    return model


def parameter_arrays(module):
    return [p.numpy().copy() for p in module.parameters()]


def all_changed(before, after):
    return all(not np.array_equal(b, a) for b, a in zip(before, after))


# ----------------------------------------------------------------------------------
# architecture and initialisation
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("config", list(CONFIGS))
def test_networks_map_latents_to_digits_and_digits_to_one_logit(config, device):
    cls, settings = CONFIGS[config]
    model = cls(**settings).to(device)
    z = sg.randn(4, gan.LATENT, device=device)
    labels = sg.tensor(np.array([0, 3, 7, 9]), device=device) if model.conditional else None
    with sg.no_grad():
        images = model.generate(z, labels)
        logits = model.discriminate(images, labels)
    assert images.shape == (4, 1, 28, 28) and logits.shape == (4, 1)
    assert np.abs(images.numpy()).max() <= 1.0  # tanh
    conditional_g = model.conditional
    label_channels = model.conditional and not settings.get("projection", False)
    assert model.generator[0].weight.shape == (6272, 64 + 10 * conditional_g)
    assert model.discriminator.features[0].weight.shape == (64, 1 + 10 * label_channels, 4, 4)
    assert model.discriminator.head.weight.shape == (1, 6272)


@pytest.mark.parametrize("config", ["dcgan", "cgan-projection"])
def test_dcgan_initialisation_statistics(config):
    cls, settings = CONFIGS[config]
    model = cls(**settings)
    for network in (model.generator, model.discriminator):
        for module in network.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)):
                weight = module.weight.numpy()
                assert abs(weight.mean()) < 0.003 and abs(weight.std() - 0.02) < 0.002
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                weight = module.weight.numpy()
                assert abs(weight.mean() - 1.0) < 0.01 and 0.01 < weight.std() < 0.03
            if getattr(module, "bias", None) is not None:
                assert not module.bias.numpy().any()
    for average, current in zip(model.generator_ema.parameters(), model.generator.parameters()):
        np.testing.assert_array_equal(average.numpy(), current.numpy())


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="DCGAN: unknown loss 'wasserstein'"):
        gan.DCGAN(loss="wasserstein")
    with pytest.raises(ValueError, match="label_smoothing needs a BCE loss"):
        gan.ConditionalGAN(loss="hinge", label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"ema must be in \[0, 1\)"):
        gan.DCGAN(ema=1.0)
    with pytest.raises(ValueError, match="no setting projection"):
        sg.models.build("gan", projection=True)
    with pytest.raises(ValueError, match="r1_every must be an int >= 1, got 0"):
        gan.DCGAN(r1_gamma=1.0, r1_every=0)


# ----------------------------------------------------------------------------------
# the training step and the EMA
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config, settings",
    [
        ("dcgan", {}),
        ("dcgan", {"loss": "non_saturating", "ema": 0.0}),
        ("dcgan", {"loss": "lsgan", "r1_gamma": 10.0, "lr_g": 1e-4}),
        ("cgan", {"label_smoothing": 0.1}),
        ("cgan-projection", {"r1_gamma": 1.0, "loss": "minimax"}),
    ],
)
def test_train_step_returns_finite_floats_and_moves_both_networks(config, settings, device):
    cls, family_settings = CONFIGS[config]
    model = cls(**family_settings, **settings).to(device).train()
    g_before, d_before = parameter_arrays(model.generator), parameter_arrays(model.discriminator)
    ema_before = parameter_arrays(model.generator_ema) if model.ema else None
    results = model.train_step(digit_batch(device))
    assert set(results) == {"loss_d", "loss_g", "d_real", "d_fake"}
    assert all(type(v) is float and math.isfinite(v) for v in results.values())
    assert 0 < results["d_real"] < 1 and 0 < results["d_fake"] < 1
    assert all_changed(g_before, parameter_arrays(model.generator))
    assert all_changed(d_before, parameter_arrays(model.discriminator))
    assert all(p.requires_grad for p in model.discriminator.parameters())  # restored
    if model.ema:
        # first update: decay = min(ema, (1 + 0) / (10 + 0)) = 0.1
        assert model.ema_updates.item() == 1
        for old, average, current in zip(
            ema_before, model.generator_ema.parameters(), model.generator.parameters()
        ):
            np.testing.assert_allclose(
                average.numpy(), 0.1 * old + 0.9 * current.numpy(), rtol=1e-5, atol=1e-7
            )


def test_adam_betas_are_settings_dcgan_defaults_differ_from_the_cgans():
    assert gan.DCGAN().optimizers["d"].param_groups[0]["betas"] == (0.0, 0.99)
    assert gan.ConditionalGAN().optimizers["g"].param_groups[0]["betas"] == (0.5, 0.999)
    model = sg.models.build("gan", beta1=0.3, beta2=0.9)
    assert all(o.param_groups[0]["betas"] == (0.3, 0.9) for o in model.optimizers.values())


def test_lazy_r1_penalises_every_kth_d_step_with_k_times_gamma(monkeypatch):
    weights, r1_penalty = [], losses.r1_penalty

    def recording_penalty(discriminate, real, gamma):
        weights.append(gamma)
        return r1_penalty(discriminate, real, gamma)

    monkeypatch.setattr(gan.losses, "r1_penalty", recording_penalty)
    model = trained_a_little(gan.DCGAN(r1_gamma=2.0, r1_every=3), steps=7)
    assert weights == [6.0, 6.0, 6.0]  # D steps 0, 3 and 6 of 7
    assert model.state_dict()["d_steps"].item() == 7  # saved, so a resumed run keeps the beat


def test_state_dict_round_trip_restores_both_networks_and_the_ema(tmp_path):
    trained = trained_a_little(gan.ConditionalGAN())
    state = trained.state_dict()
    assert "generator_ema.0.weight" in state and "ema_updates" in state
    sg.save(state, str(tmp_path / "gan.npz"))
    sg.manual_seed(1)
    restored = gan.ConditionalGAN()
    restored.load_state_dict(sg.load(str(tmp_path / "gan.npz")))
    z, labels = gan.fixed_noise(10, seed=3), np.arange(10)
    np.testing.assert_array_equal(
        restored.generate_images(z, labels), trained.generate_images(z, labels)
    )
    for key, value in trained.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[key].numpy(), value.numpy(), key)


def test_trainer_runs_a_dcgan_and_load_restores_it(tmp_path):
    model = gan.DCGAN()
    Trainer(model, str(tmp_path), epochs=1, batch_size=16, steps=3, progress=False).fit()
    records = read_log(str(tmp_path))
    assert [r["step"] for r in records] == [1, 2, 3]
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(records[0])
    for name in ("losses.png", "samples.png", "checkpoint.npz", "weights.npz"):
        assert (tmp_path / name).stat().st_size > 0, name
    loaded = load(str(tmp_path))
    assert isinstance(loaded, gan.DCGAN) and loaded.ema_updates.item() == 3
    z = gan.fixed_noise(8, seed=0)
    np.testing.assert_array_equal(loaded.generate_images(z), model.generate_images(z))


# ----------------------------------------------------------------------------------
# sampling
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ema", [0.999, 0.0])
def test_sample_gives_float32_digits_in_unit_range(ema, device):
    model = gan.DCGAN(ema=ema).to(device)
    samples = model.sample(5)
    assert samples.shape == (5, 1, 28, 28) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    assert (model.sampling_generator() is model.generator) == (ema == 0.0)
    with pytest.raises(ValueError, match="DCGAN is not conditional"):
        model.sample(3, labels=[1, 2, 3])


def test_conditional_sample_labels_default_round_robin_and_are_checked():
    model = gan.ConditionalGAN()
    sg.manual_seed(4)
    default = model.sample(12)
    sg.manual_seed(4)
    explicit = model.sample(12, labels=np.arange(12) % 10)
    np.testing.assert_array_equal(default, explicit)
    with pytest.raises(ValueError, match=r"labels in 0\.\.9, got 0\.\.10"):
        model.sample(2, labels=[0, 10])
    with pytest.raises(ValueError, match=r"expected 3 integer labels \(shape \(3,\)\)"):
        model.sample(3, labels=[1, 2])
    with pytest.raises(ValueError, match="integer labels"):
        model.sample(2, labels=[0.5, 1.0])


def test_samples_are_drawn_in_eval_mode_where_batch_norm_keeps_the_label():
    """The pin of issue 6. In training mode BN1d subtracts the batch mean of the first
    layer's output W_z z + W_y onehot(y) + b; for a batch of one class W_y onehot(y) is that
    mean's own constant part, so it cancels and the label is lost. sample() uses eval mode
    (running statistics): each image depends on its own z and label only."""
    model = trained_a_little(gan.ConditionalGAN(ema=0.0), steps=3)  # running stats moved
    sg.manual_seed(9)
    threes = model.sample(6, labels=[3] * 6)
    assert model.generator.training  # the mode is restored
    sg.manual_seed(9)
    z = sg.randn(6, gan.LATENT).numpy()  # the latents sample() drew
    one_by_one = np.concatenate([model.generate_images(z[i : i + 1], [3]) for i in range(6)])
    np.testing.assert_allclose(threes, one_by_one, atol=1e-6)
    sevens = model.generate_images(z, np.full(6, 7))
    label_effect = np.abs(threes - sevens).max()

    with sg.no_grad():  # what training mode would draw: the label has no effect
        z_tensor = sg.tensor(z)
        train_threes = model.generate(z_tensor, sg.tensor(np.full(6, 3))).numpy()
        train_sevens = model.generate(z_tensor, sg.tensor(np.full(6, 7))).numpy()
    train_label_effect = np.abs(train_threes - train_sevens).max() / 2  # tanh range is 2
    assert train_label_effect < 2e-6 and label_effect > 1e-3  # measured: 1e-7 and 6e-3


@pytest.mark.parametrize("config", ["dcgan", "cgan"])
def test_the_ema_generator_samples_with_batch_norm_statistics_of_its_own(config):
    cls, settings = CONFIGS[config]
    model = trained_a_little(cls(**settings), steps=3)
    g_statistics = [b.numpy().copy() for b in model.generator.buffers()]
    model.sample(4)
    average = model.generator_ema
    z = gan.fixed_noise(gan.RECALIBRATION_BATCHES * 64, seed=2)
    labels = model.check_labels(len(z), None)
    labels = None if labels is None else sg.tensor(labels)
    with sg.no_grad():  # the first layer's outputs over the recalibration latents
        first = average[0](model.generator_input(sg.tensor(z), labels))
    # equal batches: the average of the batch means is the mean over all of them
    np.testing.assert_allclose(
        average[1].running_mean.numpy(), first.numpy().mean(axis=0), rtol=1e-4, atol=1e-6
    )
    assert average[1].num_batches_tracked.item() == gan.RECALIBRATION_BATCHES
    assert not np.allclose(average[1].running_mean.numpy(), model.generator[1].running_mean.numpy())
    for before, after in zip(g_statistics, model.generator.buffers()):
        np.testing.assert_array_equal(before, after.numpy())  # G's own are left alone


def test_sampling_between_steps_does_not_change_training():
    runs = []
    for sample_between in (False, True):
        sg.manual_seed(3)
        model = gan.DCGAN().train()
        for step in range(3):
            model.train_step(digit_batch("cpu", start=16 * step))
            if sample_between:
                model.generate_images(gan.fixed_noise(4, seed=0))
        runs.append([p.numpy() for p in model.parameters()])
    for without, with_sampling in zip(*runs):
        np.testing.assert_array_equal(without, with_sampling)


def test_loading_weights_measures_the_ema_statistics_again():
    model = trained_a_little(gan.DCGAN(), steps=2)
    model.sample(2)
    other = trained_a_little(gan.DCGAN(lr=1e-3), steps=2)  # same ema_updates, other weights
    model.load_state_dict(other.state_dict())
    assert model.calibrated_at is None
    z = gan.fixed_noise(4, seed=5)
    np.testing.assert_array_equal(model.generate_images(z), other.generate_images(z))


# ----------------------------------------------------------------------------------
# a 2-D toy GAN covers the modes of a ring of Gaussians
# ----------------------------------------------------------------------------------

MODES, RADIUS, SPREAD = 8, 2.0, 0.2


def ring_centres():
    angles = 2 * np.pi * np.arange(MODES) / MODES
    return RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def ring_batch(rng, n):
    centres = ring_centres()[rng.integers(0, MODES, n)]
    return (centres + SPREAD * rng.standard_normal((n, 2))).astype(np.float32)


def mode_shares(points):
    """Share of the points within 3 standard deviations of each mode (the rest: off-ring)."""
    distances = np.linalg.norm(points[:, None, :] - ring_centres()[None], axis=2)
    near = distances.min(axis=1) < 3 * SPREAD
    return np.bincount(distances.argmin(axis=1)[near], minlength=MODES) / len(points)


def mlp(inputs, outputs, activation, hidden=64):
    return nn.Sequential(
        nn.Linear(inputs, hidden),
        activation(),
        nn.Linear(hidden, hidden),
        activation(),
        nn.Linear(hidden, outputs),
    )


def test_toy_gan_learns_to_cover_the_eight_modes_of_a_ring():
    sg.manual_seed(0)
    rng = np.random.default_rng(0)
    latent, batch = 4, 128
    generator = mlp(latent, 2, nn.ReLU)
    discriminator = mlp(2, 1, lambda: nn.LeakyReLU(0.2))
    opt_g = optim.Adam(generator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = optim.Adam(discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999))

    def draw(n=1000):
        with sg.no_grad():
            return generator(sg.randn(n, latent)).numpy()

    untrained = mode_shares(draw())
    assert untrained.sum() < 0.05  # the check below is not passed by chance
    for _ in range(1000):
        fake = generator(sg.randn(batch, latent))
        real_logits = discriminator(sg.tensor(ring_batch(rng, batch)))
        loss_d = losses.discriminator_loss(real_logits, discriminator(fake.detach()))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = losses.generator_loss(discriminator(fake))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    shares = mode_shares(draw())
    assert shares.min() >= 0.05, shares  # every mode covered (uniform: 0.125 each)
    assert shares.sum() >= 0.7, shares  # and most samples on the ring's modes
