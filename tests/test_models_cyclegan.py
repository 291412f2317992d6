"""CycleGAN: the ResNet translator, the image pool and its properties, one training step
against a PyTorch twin, what each half of the step may touch, the identity term, the
learning-rate schedule, a resume equal to an uninterrupted run, and the settings' errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from scratchgen import models, nn
from scratchgen.data import digits2ink, noisy_digits2clean
from scratchgen.models.cyclegan import CycleGAN, ImagePool, ResnetGenerator
from scratchgen.serialization import load
from scratchgen.train import Trainer
from tests.helpers import lrs_over_run, torch

TINY = {"width": 4, "n_blocks": 1, "pool_size": 3}  # fast settings for the step tests


def unpaired_batch(device, n=2, task="ink", start=0):
    """n training rows as the Trainer feeds them: a, b (n, C, 32, 32), unrelated digits."""
    data = {"ink": digits2ink, "denoise": noisy_digits2clean}[task]("train")
    arrays = data[start : start + n]
    return {key: sg.tensor(arrays[key], device=device) for key in ("a", "b")}


def tiny_model(device, seed=0, **settings):
    sg.manual_seed(seed)
    return CycleGAN(**(TINY | settings)).to(device)


def arrays_of(tensors):
    return [t.numpy().copy() for t in tensors]


# ----------------------------------------------------------------------------------
# the ResNet translator
# ----------------------------------------------------------------------------------


@given(
    in_channels=st.integers(1, 3),
    out_channels=st.integers(1, 3),
    n_blocks=st.integers(0, 2),
    side=st.sampled_from([8, 12, 32]),
)
def test_resnet_generator_keeps_the_size_and_ends_in_tanh(
    in_channels, out_channels, n_blocks, side, device
):
    generator = ResnetGenerator(in_channels, out_channels, width=2, n_blocks=n_blocks).to(device)
    x = sg.tensor(np.random.default_rng(side).uniform(-1, 1, (2, in_channels, side, side)))
    y = generator(x.to(device).float())
    assert y.shape == (2, out_channels, side, side)
    assert np.abs(y.numpy()).max() <= 1.0


def test_resnet_generator_follows_the_reference_layers():
    """c7s1-32 d64 d128 4 x R128 u64 u32 c7s1-3; instance norm without affine or running
    statistics (so every conv keeps its bias); reflection padding."""
    generator = ResnetGenerator(3, 3)
    convs = [m for m in generator.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    shapes = [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs]
    blocks = [(128, 128, 3, 1)] * 8
    assert shapes == [(3, 32, 7, 1), (32, 64, 3, 2), (64, 128, 3, 2), *blocks] + [
        (128, 64, 3, 2),
        (64, 32, 3, 2),
        (32, 3, 7, 1),
    ]
    assert all(c.bias is not None for c in convs)
    norms = [m for m in generator.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 5 + 8 and not any(n.affine or n.track_running_stats for n in norms)
    pads = [m.padding for m in generator.modules() if isinstance(m, nn.ReflectionPad2d)]
    assert pads == [(3, 3, 3, 3)] + [(1, 1, 1, 1)] * 8 + [(3, 3, 3, 3)]
    assert isinstance(list(generator)[-1], nn.Tanh)


def test_a_residual_block_with_zero_weights_passes_its_input_on(device):
    generator = ResnetGenerator(1, 1, width=2, n_blocks=1).to(device)
    block = generator[10]
    for param in block.parameters():
        param.data[...] = 0
    x = sg.randn(2, 8, 4, 4, device=device)
    np.testing.assert_array_equal(block(x).numpy(), x.numpy())


def test_resnet_generator_names_the_size_it_cannot_halve_twice():
    with pytest.raises(ValueError, match=r"ResnetGenerator: .* divisible by 4 .* \(1, 1, 30, 30\)"):
        ResnetGenerator(1, 1, width=2, n_blocks=0)(sg.zeros(1, 1, 30, 30))


# ----------------------------------------------------------------------------------
# the image pool
# ----------------------------------------------------------------------------------


def pool_run(size, batches, seed):
    """Query a fresh pool with ``batches`` of distinct images (each image constant, its
    value its number); returns the pool and the numbers of the images each query gave."""
    sg.manual_seed(seed)
    pool = ImagePool(size, (1, 2, 2))
    returned, number = [], 0
    for n in batches:
        images = sg.arange(number, number + n, dtype=sg.float32).reshape(n, 1, 1, 1)
        out = pool.query(images.expand(n, 1, 2, 2))
        assert out.shape == (n, 1, 2, 2)
        assert np.all(out.numpy() == out.numpy()[:, :1, :1, :1])  # whole images only
        returned.append(out.numpy()[:, 0, 0, 0].astype(int).tolist())
        number += n
    return pool, returned


@given(
    size=st.integers(0, 6),
    batches=st.lists(st.integers(1, 5), min_size=1, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_the_pool_keeps_at_most_size_images_and_returns_only_images_it_was_given(
    size, batches, seed
):
    pool, returned = pool_run(size, batches, seed)
    given_so_far = 0
    for n, out in zip(batches, returned):
        given_so_far += n
        assert all(0 <= number < given_so_far for number in out)  # given, none from later
    assert len(pool) == min(size, sum(batches))
    stored = pool.images.numpy()[: len(pool), 0, 0, 0].astype(int)
    assert len(set(stored)) == len(stored)


@given(batches=st.lists(st.integers(1, 5), min_size=1, max_size=6), seed=st.integers(0, 99))
def test_the_pool_is_deterministic_under_a_seed(batches, seed):
    assert pool_run(4, batches, seed)[1] == pool_run(4, batches, seed)[1]


def test_until_full_the_pool_returns_its_input_then_exchanges_about_half():
    pool, returned = pool_run(10, [4, 6] + [10] * 40, seed=0)
    assert returned[:2] == [[0, 1, 2, 3], [4, 5, 6, 7, 8, 9]]
    later = np.concatenate([np.array(out) for out in returned[2:]])
    fresh = np.concatenate([np.arange(10 + 10 * i, 20 + 10 * i) for i in range(40)])
    assert 0.4 < np.mean(later != fresh) < 0.6  # each is an exchanged one with probability 1/2


def test_a_pool_of_size_zero_hands_the_fakes_through():
    x = sg.randn(3, 1, 2, 2)
    np.testing.assert_array_equal(ImagePool(0, (1, 2, 2)).query(x).numpy(), x.numpy())


def test_the_pool_is_in_the_state_dict_and_loads_back():
    pool, _ = pool_run(3, [2, 2, 2], seed=1)
    copy = ImagePool(3, (1, 2, 2))
    copy.load_state_dict(pool.state_dict())
    assert len(copy) == 3
    np.testing.assert_array_equal(copy.images.numpy(), pool.images.numpy())


def test_pool_errors_name_the_pool_and_what_it_expected():
    with pytest.raises(ValueError, match="ImagePool: expected size as an int >= 0, got -1"):
        ImagePool(-1)
    with pytest.raises(ValueError, match=r"ImagePool: expected images \(N, 3, 32, 32\)"):
        ImagePool(2).query(sg.zeros(1, 1, 32, 32))


# ----------------------------------------------------------------------------------
# one step: against PyTorch, and what each half may touch
# ----------------------------------------------------------------------------------


def test_one_train_step_matches_the_pytorch_twin(device):
    """Copied weights, the same unpaired batch, float64, an empty pool (it hands the first
    fakes through): every loss, all four networks' gradients and weights after Adam (to
    1e-8: the conv biases before an instance norm get a gradient of rounding noise, which
    Adam's normalised step turns into moves of about 1e-10)."""
    if torch is None:
        pytest.skip("torch is not installed")
    from benchmarks.reference_models import cyclegan, cyclegan_update

    model = tiny_model(device).double()
    theirs = cyclegan(torch, width=4, n_blocks=1)
    for name, twin in theirs.items():
        state = getattr(model, name).state_dict()
        twin.double().load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in state.items()})
    batch = {key: value.double() for key, value in unpaired_batch(device).items()}
    real_a, real_b = (torch.from_numpy(batch[key].numpy()) * 2 - 1 for key in ("a", "b"))
    params = {
        role: [p for name in names for p in theirs[name].parameters()]
        for role, names in {
            "g": ("generator_ab", "generator_ba"),
            "d": ("critic_a", "critic_b"),
        }.items()
    }
    opt_g, opt_d = (torch.optim.Adam(params[k], lr=2e-4, betas=(0.5, 0.999)) for k in "gd")

    stats = model.train_step(batch)
    loss_g, loss_d = cyclegan_update(torch, theirs, real_a, real_b, opt_g, opt_d)

    assert stats["loss_g"] == pytest.approx(loss_g.item(), rel=1e-10)
    assert stats["loss_d_a"] + stats["loss_d_b"] == pytest.approx(loss_d.item(), rel=1e-10)
    for name, twin in theirs.items():
        their_params = dict(twin.named_parameters())
        for key, param in getattr(model, name).named_parameters():
            np.testing.assert_allclose(
                param.grad.numpy(),
                their_params[key].grad.numpy(),
                rtol=1e-7,
                atol=1e-12,
                err_msg=f"{name}.{key}",
            )
            np.testing.assert_allclose(
                param.numpy(),
                their_params[key].detach().numpy(),
                rtol=1e-7,
                atol=1e-8,
                err_msg=f"{name}.{key}",
            )


def test_the_g_step_leaves_the_critics_alone_and_the_d_step_the_translators(device):
    model = tiny_model(device)
    batch = unpaired_batch(device)
    real_a, real_b = batch["a"] * 2 - 1, batch["b"] * 2 - 1
    model.train_step(batch)  # every parameter now holds a gradient
    critics = model.parameters_of(model.critics())
    generators = model.parameters_of(model.generators())

    before = arrays_of(critics), arrays_of(p.grad for p in critics)
    _, fake_a, fake_b = model.generator_step(real_a, real_b)
    for old, new in zip(before, (arrays_of(critics), arrays_of(p.grad for p in critics))):
        for x, y in zip(old, new):
            np.testing.assert_array_equal(x, y)
    assert all(p.requires_grad for p in critics)  # unfrozen again

    before = arrays_of(generators), arrays_of(p.grad for p in generators)
    model.discriminator_step(real_a, real_b, fake_a, fake_b)
    for old, new in zip(before, (arrays_of(generators), arrays_of(p.grad for p in generators))):
        for x, y in zip(old, new):
            np.testing.assert_array_equal(x, y)


def test_the_identity_loss_is_zero_for_identity_translators(device):
    model = tiny_model(device)
    model.generator_ab, model.generator_ba = nn.Identity(), nn.Identity()
    batch = unpaired_batch(device)
    real_a, real_b = batch["a"] * 2 - 1, batch["b"] * 2 - 1
    images = model.translations(real_a, real_b)
    terms = model.generator_objective(real_a, real_b, images)
    assert terms["loss_id_a"].item() == terms["loss_id_b"].item() == 0.0
    assert terms["loss_cycle_a"].item() == terms["loss_cycle_b"].item() == 0.0


def test_without_the_identity_term_there_are_four_translations_and_no_identity(device):
    model = tiny_model(device, lambda_id=0.0)
    stats = model.train_step(unpaired_batch(device))
    assert stats["loss_id_a"] == stats["loss_id_b"] == 0.0
    gan_and_cycle = stats["loss_gan_ab"] + stats["loss_gan_ba"]
    cycle = 10 * (stats["loss_cycle_a"] + stats["loss_cycle_b"])
    assert stats["loss_g"] == pytest.approx(gan_and_cycle + cycle, rel=1e-6)


def test_a_few_steps_lower_the_cycle_error(device):
    model = tiny_model(device)
    batch = unpaired_batch(device, n=2)
    history = [model.train_step(batch) for _ in range(8)]
    for key in ("loss_cycle_a", "loss_cycle_b"):
        assert history[-1][key] < history[0][key]
    assert all(np.isfinite(v) for record in history for v in record.values())


# ----------------------------------------------------------------------------------
# the schedule, resuming
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "epochs, factors",
    [
        (4, [1, 1, 2 / 3, 1 / 3, 0]),
        (3, [1, 2 / 3, 1 / 3, 0]),
        (6, [1, 1, 1, 3 / 4, 1 / 2, 1 / 4, 0]),
    ],
)
def test_the_lr_is_constant_for_the_first_half_then_falls_linearly_to_zero(epochs, factors):
    model = tiny_model("cpu", lr=1e-3)
    for lrs in lrs_over_run(model, epochs).values():
        np.testing.assert_allclose(lrs, np.array(factors) * 1e-3, atol=1e-15)


def test_a_resumed_run_equals_an_uninterrupted_one_pool_included(tmp_path, monkeypatch):
    """Stopped after 5 steps (the pool of 3 already exchanging), resumed to 9."""
    monkeypatch.setattr("scratchgen.evaluation.cyclegan.CycleGANReport.figures", lambda s, o: [])
    monkeypatch.setattr(Trainer, "_plot_losses", lambda self: None)  # pictures: not tested here

    def run(out, steps, resume=False, seed=0):
        model = tiny_model("cpu", seed=seed)
        trainer = Trainer(model, str(out), epochs=2, batch_size=2, steps=steps, resume=resume)
        trainer.progress = False
        trainer.fit()
        return model

    straight = run(tmp_path / "straight", 9)
    run(tmp_path / "split", 5)
    resumed = run(tmp_path / "split", 9, resume=True, seed=123)
    state, other = straight.state_dict(), resumed.state_dict()
    assert int(other["pool_a.stored"].item()) == 3
    for key in state:
        np.testing.assert_array_equal(state[key].numpy(), other[key].numpy(), err_msg=key)
    saved = load(str(tmp_path / "split" / "checkpoint.npz"))
    assert "pool_b.images" in saved["model"]


# ----------------------------------------------------------------------------------
# translating, sampling, settings
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("task, channels", [("ink", 3), ("denoise", 1)])
def test_translate_maps_both_ways_into_0_1_deterministically(task, channels, device):
    model = tiny_model(device, task=task)
    test = model.training_data("test").arrays
    for direction, images in (("AB", test["a"][:3]), ("BA", test["b"][:3])):
        first, second = model.translate(images, direction), model.translate(images, direction)
        assert first.shape == (3, channels, 32, 32) and first.dtype == np.float32
        assert 0.0 <= first.min() and first.max() <= 1.0
        np.testing.assert_array_equal(first, second)


def test_translate_and_sample_errors_are_clear(device):
    model = tiny_model(device)
    with pytest.raises(ValueError, match="translate: direction must be 'AB' or 'BA', got 'AA'"):
        model.translate(np.zeros((1, 3, 32, 32), np.float32), "AA")
    with pytest.raises(ValueError, match=r"translate: expected images \(N, 3, H, W\)"):
        model.translate(np.zeros((1, 1, 32, 32), np.float32))
    with pytest.raises(ValueError, match="takes no labels"):
        model.sample(4, labels=np.zeros(4, int))


def test_sample_translates_test_inputs_both_ways(device):
    model = tiny_model(device)
    test = model.training_data("test").arrays
    images = model.sample(5)
    chosen = np.linspace(0, 999, 5).round().astype(int)
    np.testing.assert_array_equal(images[:3], model.translate(test["a"][chosen[:3]], "AB"))
    np.testing.assert_array_equal(images[3:], model.translate(test["b"][chosen[3:]], "BA"))


def test_the_registry_builds_it_with_the_reference_settings():
    model = models.build("cyclegan")
    assert isinstance(model, CycleGAN) and model.defaults["batch_size"] == 4
    assert model.lambda_cyc == 10.0 and model.lambda_id == 5.0 and model.pool_a.size == 50


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("task", "paint", "task must be one of ('ink', 'denoise'), got 'paint'"),
        ("lambda_cyc", -1.0, "lambda_cyc must be >= 0, got -1.0"),
        ("lambda_id", -0.5, "lambda_id must be >= 0, got -0.5"),
        ("pool_size", -2, "pool_size must be >= 0, got -2"),
        ("width", 0, "width must be >= 1, got 0"),
        ("n_blocks", -1, "n_blocks must be >= 0, got -1"),
    ],
)
def test_settings_errors_name_the_setting(setting, value, message):
    with pytest.raises(
        ValueError, match=rf"CycleGAN: {message}".replace("(", r"\(").replace(")", r"\)")
    ):
        CycleGAN(**{setting: value})
