"""DDPM: the timestep embedding (gradcheck, torch), the U-Net's shapes and conditioning, the
samplers (DDIM with S = T and eta = 1 is DDPM's step in expectation; a perfect noise
predictor on one- and two-point data returns the data), training lowers the loss, the EMA,
guidance, and a resumed run ends bit for bit where a straight one does."""

import math

import numpy as np
import pytest
from helpers import check_against_torch, check_gradient

import scratchgen as sg
from scratchgen import losses, models
from scratchgen.evaluation.ddpm import DDPMReport
from scratchgen.losses.diffusion import NoiseSchedule
from scratchgen.models import samplers
from scratchgen.models.ddpm import DDPM, NULL_CLASS, DiffusionUNet, timestep_embedding
from scratchgen.train import Trainer

TINY = dict(channels=(8, 16), timesteps=50)  # a U-Net at 16 -> 8, for fast tests
SCHEDULE = NoiseSchedule("linear", 1000)


def digit_batch(n=8, start=0):
    data = models.build("ddpm", **TINY).training_data("train")[start : start + n]
    return {key: sg.tensor(value) for key, value in data.items()}


# ----------------------------------------------------------------------------------
# the timestep embedding and the U-Net
# ----------------------------------------------------------------------------------


def torch_timestep_embedding(t, dim, max_period=10000.0):
    import torch

    half = dim // 2
    frequencies = torch.exp(-math.log(max_period) * torch.arange(half, dtype=t.dtype) / half)
    angles = t[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def test_timestep_embedding_gradcheck_and_torch(device):
    t = np.array([0.0, 1.5, 37.0, 999.0])
    check_gradient(lambda x: timestep_embedding(x, 8), [t], device)
    check_against_torch(
        lambda x: timestep_embedding(x, 8), lambda x: torch_timestep_embedding(x, 8), [t], device
    )
    e = timestep_embedding(sg.tensor(np.arange(1000.0)), 32).numpy()
    assert e.shape == (1000, 32) and np.abs(e).max() <= 1.0
    # distinct steps get distinct codes, nearby ones nearby codes
    distances = np.linalg.norm(e[1:] - e[:-1], axis=1)
    assert distances.min() > 0 and distances.max() < np.linalg.norm(e[0] - e[500])
    with pytest.raises(ValueError, match="timestep_embedding: expected an even dim, got 5"):
        timestep_embedding(sg.tensor(t), 5)


@pytest.mark.parametrize("channels, patch", [((8, 16), 2), ((8, 16, 16), 1), ((16,), 2)])
def test_unet_keeps_the_digit_shape_and_reads_step_and_label(channels, patch, device):
    net = DiffusionUNet(channels, classes=True, patch=patch).to(device)
    for block in net.modules():  # the zero-initialised output layers would hide t and y
        if isinstance(block, sg.nn.Conv2d):
            sg.nn.init.normal_(block.weight, 0.0, 0.2)
    x = sg.randn(2, 1, 28, 28, device=device)
    labels = sg.tensor(np.array([3, NULL_CLASS]), device=device)
    with sg.no_grad():
        out = net(x, np.array([5, 5]), labels).numpy()
        other_step = net(x, np.array([600, 600]), labels).numpy()
        other_label = net(x, np.array([5, 5]), sg.tensor(np.array([4, NULL_CLASS]), device=device))
    assert out.shape == (2, 1, 28, 28) and np.isfinite(out).all()
    assert np.abs(out - other_step).max() > 1e-3
    other_label = other_label.numpy()
    assert np.abs(out[0] - other_label[0]).max() > 1e-3  # the label moved its image only
    np.testing.assert_allclose(out[1], other_label[1], atol=1e-6)


def test_a_new_unet_predicts_zero_noise_and_settings_errors():
    net = DiffusionUNet((8, 16))
    with sg.no_grad():
        assert np.abs(net(sg.randn(2, 1, 28, 28), np.array([0, 9])).numpy()).max() == 0.0
    with pytest.raises(ValueError, match=r"DDPM: schedule must be one of .*got 'square'"):
        DDPM(schedule="square")
    with pytest.raises(ValueError, match=r"DDPM: channels must be widths divisible by 8"):
        DDPM(channels=(8, 12))
    with pytest.raises(ValueError, match=r"DDPM: patch must be 1 or 2 .* patch 2 with 6 levels"):
        DDPM(channels=(8,) * 6)
    with pytest.raises(ValueError, match=r"sample: sampler must be one of .*got 'euler'"):
        DDPM(sampler="euler")
    with pytest.raises(ValueError, match=r"DDPM: p_uncond must be in \[0, 1\), got 1.0"):
        DDPM(p_uncond=1.0)
    with pytest.raises(ValueError, match=r"DDPM: snr_gamma must be >= 0 \(0: L_simple\), got -1"):
        DDPM(snr_gamma=-1)


def test_the_unet_matches_the_benchmarks_pytorch_twin(device):
    """benchmarks/reference_models.ddpm_unet (what bench_models times) with the weights of
    an unconditional DiffusionUNet copied in: the same eps(x_t, t) in float64, so the
    benchmark times the model the chapter trains."""
    torch = pytest.importorskip("torch")
    from benchmarks.reference_models import ddpm_unet, ddpm_unet_forward

    sg.manual_seed(0)
    ours = DiffusionUNet((8, 16, 32), classes=False, patch=2).to(device).double()
    twin = ddpm_unet(torch, channels=(8, 16, 32)).double()
    ours_state, twin_state = ours.state_dict(), twin.state_dict()
    assert [v.shape for v in ours_state.values()] == [tuple(v.shape) for v in twin_state.values()]
    twin.load_state_dict(
        {
            name: torch.from_numpy(value.numpy())
            for name, value in zip(twin_state, ours_state.values())
        }
    )
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28))
    t = np.array([0, 417, 999])
    eps = ours(sg.tensor(x, device=device), t).numpy()
    with torch.no_grad():
        their_eps = ddpm_unet_forward(torch, twin, torch.from_numpy(x), torch.from_numpy(t))
    np.testing.assert_allclose(eps, their_eps.numpy(), rtol=1e-9, atol=1e-10)


# ----------------------------------------------------------------------------------
# the samplers
# ----------------------------------------------------------------------------------


def fixed_eps(x, t):
    """Some noise predictor (not a good one): depends on x and t."""
    return x * 0.3 + float(t[0]) / 1000.0


@pytest.mark.parametrize("t", [1, 200, 999])
def test_ddim_with_all_steps_and_eta_one_is_ddpm_in_expectation(t):
    """Both steps from one x_t: the same mean and variance over 20,000 noise draws each
    (within 4.5 standard errors), and with one shared noise draw the same numbers."""
    draws = 20_000
    xt = sg.tensor(np.tile(np.array([[0.5, -1.2]]), (draws, 1)), dtype=sg.float64)
    eps = fixed_eps(xt, np.array([t]))
    ddpm = samplers.ddpm_step(xt, eps, t, SCHEDULE, sg.randn_like(xt)).numpy()
    ddim = samplers.ddim_step(xt, eps, t, t - 1, SCHEDULE, sg.randn_like(xt), eta=1.0).numpy()
    variance = SCHEDULE.posterior_variance[t]
    error = np.sqrt(variance / draws)
    assert np.all(np.abs(ddpm.mean(0) - ddim.mean(0)) < 4.5 * np.sqrt(2) * error)
    np.testing.assert_allclose(ddim.var(0), variance, rtol=4.5 * np.sqrt(2 / draws))
    np.testing.assert_allclose(ddpm.var(0), variance, rtol=4.5 * np.sqrt(2 / draws))
    noise = sg.randn_like(xt[:5])
    np.testing.assert_allclose(
        samplers.ddim_step(xt[:5], eps[:5], t, t - 1, SCHEDULE, noise, eta=1.0).numpy(),
        samplers.ddpm_step(xt[:5], eps[:5], t, SCHEDULE, noise).numpy(),
        rtol=1e-10,
        atol=1e-12,
    )
    assert list(samplers.ddim_steps(1000, 1000)) == list(range(999, -1, -1))


def one_point_eps(point, schedule):
    """The exact noise of x_t when the data is the single point x_0 = point."""

    def eps_fn(x, t):
        ab = schedule.at("alpha_bar", t, x)
        return (x - ab.sqrt() * float(point)) / (1.0 - ab).sqrt()

    return eps_fn


def two_point_eps(points, schedule):
    """The exact (Bayes-optimal) noise for data +-a: E[x_0 | x_t] weighs the two points
    by N(x_t; sqrt(alpha_bar) x_0, 1 - alpha_bar)."""
    a, b = points

    def eps_fn(x, t):
        ab = float(schedule.alpha_bar[t[0]])
        xs = x.numpy()
        logits = -((xs - math.sqrt(ab) * a) ** 2 - (xs - math.sqrt(ab) * b) ** 2) / (2 * (1 - ab))
        weight_a = 1.0 / (1.0 + np.exp(-np.clip(logits, -500, 500)))
        x0 = weight_a * a + (1 - weight_a) * b
        return sg.tensor((xs - math.sqrt(ab) * x0) / math.sqrt(1 - ab), dtype=x.dtype)

    return eps_fn


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_a_perfect_noise_predictor_returns_one_point_data(kind):
    schedule = NoiseSchedule(kind, 1000)
    x_T = sg.randn(64, 1, 2, 2, dtype=sg.float64)
    eps_fn = one_point_eps(0.6, schedule)
    ddpm = samplers.ddpm_sample(eps_fn, x_T, schedule, clip=False, progress=False)
    ddim = samplers.ddim_sample(eps_fn, x_T, schedule, 10, clip=False, progress=False)
    np.testing.assert_allclose(ddpm.numpy(), 0.6, atol=1e-6)
    np.testing.assert_allclose(ddim.numpy(), 0.6, atol=1e-6)


def test_a_perfect_noise_predictor_returns_two_point_data_in_equal_shares():
    x_T = sg.randn(400, 1, dtype=sg.float64)
    eps_fn = two_point_eps((-0.8, 0.8), SCHEDULE)
    for sample in (
        samplers.ddpm_sample(eps_fn, x_T, SCHEDULE, progress=False),
        samplers.ddim_sample(eps_fn, x_T, SCHEDULE, 50, progress=False),
    ):
        values = sample.numpy().ravel()
        assert np.abs(np.abs(values) - 0.8).max() < 1e-3
        assert abs((values > 0).mean() - 0.5) < 0.1  # 400 draws: 2 standard errors is 0.05


def test_samplers_record_their_trajectory_and_check_steps():
    trajectory = []
    x_T = sg.randn(3, 1, 2, 2)
    samplers.ddim_sample(fixed_eps, x_T, SCHEDULE, 5, progress=False, trajectory=trajectory)
    assert [t for t, _ in trajectory] == [999, 749, 500, 250, 0]
    assert trajectory[-1][1].shape == (3, 1, 2, 2)
    with pytest.raises(ValueError, match=r"ddim: steps must be an int in 1..1000, got 0"):
        samplers.ddim_steps(1000, 0)


# ----------------------------------------------------------------------------------
# the model
# ----------------------------------------------------------------------------------


def fixed_loss(model, batch):
    """L_simple of the network on fixed steps and noise (not the training stream)."""
    x0 = batch["image"] * 2.0 - 1.0
    rng = np.random.default_rng(5)
    t = rng.integers(0, len(model.schedule), len(x0))
    noise = sg.tensor(rng.standard_normal(x0.shape).astype(np.float32))
    with sg.no_grad():
        xt = losses.q_sample(x0, t, noise, model.schedule)
        return losses.simple_loss(model.network(xt, t), noise).item()


def test_a_few_steps_lower_the_loss_and_move_the_ema():
    model = DDPM(**TINY, lr=3e-3)
    batch = digit_batch(16)
    before = fixed_loss(model, batch)
    records = [model.train_step(batch) for _ in range(25)]
    assert set(records[0]) == {"loss"}
    assert fixed_loss(model, batch) < 0.8 * before
    assert model.ema_updates.item() == 25
    ema, live = model.network_ema.head[2].weight.numpy(), model.network.head[2].weight.numpy()
    assert 0 < np.abs(ema).max() < np.abs(live).max()  # the average trails the network


def test_snr_gamma_trains_on_the_min_snr_weighted_loss():
    """The same first step (weights, t, noise) with snr_gamma = 0 (L_simple) and with
    gamma: each example's error weighted by min_snr_weights <= 1, so the loss is lower."""
    batch, first_losses = digit_batch(16), {}
    for gamma in (0.0, 5.0, 0.01):
        sg.manual_seed(0)
        model = DDPM(**TINY, snr_gamma=gamma)
        first_losses[gamma] = model.train_step(batch)["loss"]
    assert first_losses[0.01] < first_losses[5.0] <= first_losses[0.0] + 1e-7


def test_labels_are_dropped_to_the_null_class_at_p_uncond():
    model = DDPM(**TINY, classes=True, p_uncond=0.25)
    labels = model.training_labels(sg.tensor(np.arange(4000) % 10))
    dropped = labels.numpy() == NULL_CLASS
    assert abs(dropped.mean() - 0.25) < 0.03
    np.testing.assert_array_equal(labels.numpy()[~dropped], (np.arange(4000) % 10)[~dropped])


def test_sample_shapes_labels_and_guidance_errors():
    model = DDPM(**TINY, classes=True)
    images = model.sample(12, steps=3)
    assert images.shape == (12, 1, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    assert list(model.check_labels(12, None)) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    with pytest.raises(ValueError, match=r"sample: expected labels in 0..9, got 0..10"):
        model.sample(2, labels=np.array([0, 10]), steps=2)
    with pytest.raises(ValueError, match="sample: guidance must be >= 0, got -1"):
        model.sample(2, steps=2, guidance=-1)
    plain = DDPM(**TINY)
    with pytest.raises(ValueError, match="sample: guidance needs a DDPM trained with classes"):
        plain.sample(2, steps=2, guidance=3.0)
    with pytest.raises(ValueError, match="sample: this DDPM has no classes"):
        plain.sample(2, labels=np.array([1, 2]), steps=2)


def test_guidance_mixes_the_conditional_and_unconditional_noise():
    model = DDPM(**TINY, classes=True)
    net = model.network_ema
    for conv in net.modules():
        if isinstance(conv, sg.nn.Conv2d):
            sg.nn.init.normal_(conv.weight, 0.0, 0.2)
    x, t, labels = sg.randn(4, 1, 28, 28), np.full(4, 7), np.array([1, 2, 3, 4])
    null = sg.tensor(np.full(4, NULL_CLASS))
    with sg.no_grad():
        guided = model.noise_predictor(labels, 3.0)(x, t).numpy()
        conditional = net(x, t, sg.tensor(labels)).numpy()
        unconditional = net(x, t, null).numpy()
        unguided = model.noise_predictor(labels, 0.0)(x, t).numpy()
    np.testing.assert_allclose(guided, 4.0 * conditional - 3.0 * unconditional, atol=1e-5)
    np.testing.assert_allclose(unguided, conditional, atol=1e-6)


def test_sampling_defaults_by_variant_and_the_eta_check():
    plain, guided = DDPM(channels=(8, 16)), DDPM(channels=(8, 16), classes=True)
    assert (plain.steps, plain.eta) == (50, 1.0)
    assert (guided.steps, guided.eta) == (20, 0.0)
    chosen = DDPM(channels=(8, 16), steps=7, eta=0.5)
    assert (chosen.steps, chosen.eta) == (7, 0.5)
    with pytest.raises(ValueError, match=r"sample: eta must be in \[0, 1\], got 1.5"):
        DDPM(channels=(8, 16), eta=1.5)
    with pytest.raises(ValueError, match=r"sample: eta must be in \[0, 1\], got -0.1"):
        plain.sample(2, steps=2, eta=-0.1)


def test_stochastic_ddim_differs_per_draw_and_the_report_seeds_it():
    model = DDPM(**TINY)
    model.train_step(digit_batch(8))
    x_T = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    first = model.denoise(x_T, steps=4, eta=1.0, progress=False)
    assert not np.array_equal(first, model.denoise(x_T, steps=4, eta=1.0, progress=False))
    sg.manual_seed(5)
    next_draw = sg.randn(4).numpy()
    sg.manual_seed(5)
    report = DDPMReport(model)
    drawn = report.draw(x_T, steps=4, eta=1.0)
    np.testing.assert_array_equal(drawn, report.draw(x_T, steps=4, eta=1.0))
    np.testing.assert_array_equal(sg.randn(4).numpy(), next_draw)  # the stream left alone


def test_ddim_is_deterministic_given_the_noise():
    model = DDPM(**TINY)
    model.train_step(digit_batch(8))
    x_T = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    first = model.denoise(x_T, steps=4, eta=0.0, progress=False)
    sg.manual_seed(9)
    np.testing.assert_array_equal(first, model.denoise(x_T, steps=4, eta=0.0, progress=False))
    ddpm = model.denoise(x_T, sampler="ddpm", progress=False)
    assert ddpm.shape == (3, 1, 28, 28)


def test_resume_ends_bit_for_bit_where_a_straight_run_ends(tmp_path, monkeypatch):
    """Six steps straight, and three + resume + three: the same networks, EMA copy,
    EMA counter and optimizer state (the EMA lives in the state dict)."""
    monkeypatch.setattr(DDPMReport, "figures", lambda self, out: [])

    def run(out, steps, resume=False):
        sg.manual_seed(3)
        model = DDPM(**TINY, classes=True)
        Trainer(
            model,
            str(out),
            epochs=1,
            batch_size=8,
            seed=3,
            steps=steps,
            resume=resume,
            progress=False,
        ).fit()
        return model

    straight = run(tmp_path / "straight", 6)
    run(tmp_path / "split", 3)
    resumed = run(tmp_path / "split", 6, resume=True)
    state = straight.state_dict()
    assert "network_ema.stem.weight" in state and state["ema_updates"].item() == 6
    for key, value in resumed.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key].numpy(), key)
    batch = digit_batch(8, start=100)  # one more step each: the Adam moments agree too
    sg.manual_seed(4)
    after_straight = straight.train_step(batch)
    sg.manual_seed(4)
    assert resumed.train_step(batch) == after_straight
