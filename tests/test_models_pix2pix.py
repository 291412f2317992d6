"""Pix2Pix: the U-Net and its skips, the PatchGAN and its receptive field, the losses'
gradients, one training step against a PyTorch twin, dropout as noise in translate,
L1 against MSE on an outlier, and the settings' errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from scratchgen import models, nn
from scratchgen.data import edges2digits, holed_digits
from scratchgen.models.pix2pix import (
    RECONSTRUCTIONS,
    PatchDiscriminator,
    Pix2Pix,
    patch_window,
    receptive_field,
)
from scratchgen.models.unet import UNet, norm_layer
from tests.helpers import check_gradient, lrs_over_run, torch

TASK_SETS = {"inpaint": holed_digits, "edges": edges2digits}


def pair_batch(device, n=8, task="inpaint", start=0):
    """n training pairs as the Trainer feeds them: input, target (n,1,32,32), label (n,)."""
    arrays = TASK_SETS[task]("train")[start : start + n]
    return {key: sg.tensor(value, device=device) for key, value in arrays.items()}


def random_array(shape, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


# ----------------------------------------------------------------------------------
# the U-Net
# ----------------------------------------------------------------------------------


@given(
    channels=st.lists(st.integers(1, 6), min_size=1, max_size=5),
    in_channels=st.integers(1, 3),
    out_channels=st.integers(1, 3),
    scale=st.integers(1, 2),
    skips=st.booleans(),
    norm=st.sampled_from(["batch", "instance"]),
)
def test_unet_keeps_the_image_size_over_depths_and_channel_lists(
    channels, in_channels, out_channels, scale, skips, norm, device
):
    side = 2 ** len(channels) * scale
    unet = UNet(in_channels, out_channels, channels, norm=norm, skips=skips).to(device)
    x = sg.tensor(random_array((2, in_channels, side, side)), dtype=sg.float32, device=device)
    features = unet.encoder_features(x)
    y = unet(x)
    assert y.shape == (2, out_channels, side, side)
    assert np.abs(y.numpy()).max() <= 1.0  # tanh
    assert [f.shape[1] for f in features] == channels
    assert [f.shape[-1] for f in features] == [
        side >> level for level in range(1, len(channels) + 1)
    ]


def test_unet_names_the_depth_and_the_size_it_cannot_halve(device):
    unet = UNet(1, 1).to(device)
    with pytest.raises(ValueError, match=r"UNet: a depth-5 .* divisible by 32; got 24x32"):
        unet(sg.zeros(1, 1, 24, 32, device=device))
    with pytest.raises(ValueError, match=r"UNet: expected input \(N, C, H, W\), got shape"):
        unet(sg.zeros(1, 32, 32, device=device))


def test_unet_follows_the_reference_blocks_and_bias_rule():
    """First down: Conv only; innermost down: LReLU Conv; the others LReLU Conv BN. The
    two innermost ups end in Dropout; the last up is ReLU ConvT Tanh. A conv has a bias
    exactly where no batch norm follows it."""
    unet = UNet(1, 1)
    kinds = [[type(layer).__name__ for layer in block] for block in [*unet.downs, *unet.ups]]
    assert kinds[0] == ["Conv2d"] and kinds[4] == ["LeakyReLU", "Conv2d"]
    assert kinds[1] == kinds[2] == kinds[3] == ["LeakyReLU", "Conv2d", "BatchNorm2d"]
    assert kinds[5] == kinds[6] == ["ReLU", "ConvTranspose2d", "BatchNorm2d", "Dropout"]
    assert kinds[7] == kinds[8] == ["ReLU", "ConvTranspose2d", "BatchNorm2d"]
    assert kinds[9] == ["ReLU", "ConvTranspose2d", "Tanh"]
    for block in [*unet.downs, *unet.ups]:
        layers = list(block)
        for conv, after in zip(layers, layers[1:] + [None]):
            if isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)):
                assert (conv.bias is None) == isinstance(after, nn.BatchNorm2d)
    # skip concatenation doubles what every up but the innermost reads
    assert [up[1].in_channels for up in unet.ups] == [128, 256, 256, 128, 64]
    assert [up[1].out_channels for up in unet.ups] == [128, 128, 64, 32, 1]


def test_instance_norm_is_plain_and_keeps_every_bias():
    unet = UNet(1, 1, norm="instance")
    norms = [m for m in unet.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 7 and all(m.weight is None for m in norms)  # affine=False
    convs = [m for m in unet.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(conv.bias is not None for conv in convs)
    assert isinstance(norm_layer("batch", 4), nn.BatchNorm2d)
    with pytest.raises(
        ValueError, match=r"norm: expected one of \('batch', 'instance'\), got 'layer'"
    ):
        norm_layer("layer", 4)
    with pytest.raises(ValueError, match="UNet: norm must be one of"):
        UNet(1, 1, norm="group")
    with pytest.raises(ValueError, match=r"UNet: dropout must be in \[0, 1\), got 1.0"):
        UNet(1, 1, dropout=1.0)


@pytest.mark.parametrize("level", [0, 1, 2, 3])  # features[level] = e_(level + 1)
def test_each_skip_carries_its_encoder_feature_to_the_output(level, device):
    """The decoder reads the innermost feature e_5 and, with skips, each shallower e_l
    only in its concatenation [e_l, h] (``UNet.decode`` takes the list of features and
    computes nothing deeper from them). So changing e_l in that list, with e_5 and every
    other e_k left as the encoder made them, changes the decoder's input at exactly one
    place, the skip of level l: the output moves with skips=True. With skips=False the
    same change leaves the output exactly as it was, and the ups read only h (no
    doubled channels): the plain encoder-decoder."""
    x = sg.tensor(random_array((2, 1, 32, 32)), dtype=sg.float32, device=device)
    moved = {}
    for skips in (True, False):
        unet = UNet(1, 1, dropout=0.0, skips=skips).to(device).eval()
        with sg.no_grad():
            features = unet.encoder_features(x)
            changed = list(features)
            changed[level] = features[level] + 1.0
            before, after = unet.decode(features).numpy(), unet.decode(changed).numpy()
        np.testing.assert_array_equal(before, unet(x).numpy())
        moved[skips] = np.abs(after - before).max()
    assert moved[True] > 1e-3
    assert moved[False] == 0.0
    plain = UNet(1, 1, skips=False)
    assert [up[1].in_channels for up in plain.ups] == [128, 128, 128, 64, 32]


# ----------------------------------------------------------------------------------
# the PatchGAN and its receptive field
# ----------------------------------------------------------------------------------


def test_patch_discriminator_gives_6x6_logits_at_32x32(device):
    critic = PatchDiscriminator(2).to(device)
    assert critic(sg.zeros(3, 2, 32, 32, device=device)).shape == (3, 1, 6, 6)
    kinds = [type(layer).__name__ for layer in critic]
    assert kinds == ["Conv2d", "LeakyReLU"] + ["Conv2d", "BatchNorm2d", "LeakyReLU"] * 2 + [
        "Conv2d"
    ]
    assert [critic[i].stride for i in (0, 2, 5, 8)] == [(2, 2), (2, 2), (1, 1), (1, 1)]


def input_gradient_support(critic, size, row, column, device):
    """The input pixels where d logit(row, column) / d x is non-zero (a boolean HxW mask)."""
    x = sg.tensor(random_array((1, 2, size, size)), device=device, requires_grad=True)
    critic(x)[0, 0, row, column].backward()
    return np.abs(x.grad.numpy()).sum(axis=(0, 1)) > 0


def window_mask(critic, size, row, column):
    (r0, r1), (c0, c1) = patch_window(critic, row, column, size)
    mask = np.zeros((size, size), dtype=bool)
    mask[r0:r1, c0:c1] = True
    return mask


def test_every_patch_logit_sees_exactly_its_window(device):
    """The numerical probe: in eval mode (batch norm is then a per-channel affine map, so
    a logit depends on nothing outside its window), the gradient of each of the 36 patch
    logits w.r.t. the input is non-zero exactly on patch_window's rows and columns."""
    critic = PatchDiscriminator(2).to(device).double().eval()
    for row in range(6):
        for column in range(6):
            support = input_gradient_support(critic, 32, row, column, device)
            np.testing.assert_array_equal(support, window_mask(critic, 32, row, column))


@pytest.mark.parametrize(
    "channels, size, patch, side",
    [
        ((32, 64, 128), 64, 7, 34),  # ours: 1 + 3 (1 + 2 + 4 + 4)
        ((4, 4, 4, 4), 96, 4, 70),  # the reference 3-layer PatchGAN: 1 + 3 (1+2+4+8+8)
    ],
)
def test_receptive_field_is_the_side_of_an_interior_window(channels, size, patch, side, device):
    critic = PatchDiscriminator(2, channels).to(device).double().eval()
    assert receptive_field(critic) == side
    support = input_gradient_support(critic, size, patch, patch, device)
    rows, columns = np.nonzero(support)
    assert rows.min() > 0 and rows.max() < size - 1  # interior: nothing clipped
    assert rows.max() - rows.min() + 1 == columns.max() - columns.min() + 1 == side
    np.testing.assert_array_equal(support, window_mask(critic, size, patch, patch))


# ----------------------------------------------------------------------------------
# the losses' gradients
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("gan_loss", ["vanilla", "lsgan"])
def test_discriminator_loss_gradcheck_on_patch_logits(gan_loss, device):
    model = Pix2Pix(gan_loss=gan_loss)
    logits = [random_array((2, 1, 6, 6), seed, -4.0, 4.0) for seed in (1, 2)]
    check_gradient(model.discriminator_objective, logits, device)


@pytest.mark.parametrize(
    "settings", [{}, {"gan_loss": "lsgan"}, {"recon": "mse"}, {"lambda_gan": 0.0}]
)
def test_generator_loss_gradcheck_through_d_and_the_reconstruction(settings, device):
    """loss_g as a function of G's output: through D's patch logits and the L1 / MSE
    (16x16 pairs, 2x2 logits, to keep the central differences few)."""
    model = Pix2Pix(**settings).to(device).double()
    source, target = (
        sg.tensor(random_array((2, 1, 16, 16), seed), device=device) for seed in (3, 4)
    )
    output = random_array((2, 1, 16, 16), seed=5)

    def loss_g(output):
        return model.generator_objective(source, target, output)[0]

    check_gradient(loss_g, [output], device)


@given(outlier=st.floats(1.0, 1e3))
def test_l1_gradient_stays_bounded_on_an_outlier_where_mse_grows(outlier):
    """One pixel off by ``outlier``, the other 63 by 0.01: the L1 gradient there is
    sign(e) / n = 1 / n however far it is off; the MSE gradient 2 e / n grows with it."""
    target = np.zeros((1, 1, 8, 8))
    output = target + 0.01
    output[0, 0, 3, 4] = outlier
    grads = {}
    for name, loss in RECONSTRUCTIONS.items():
        x = sg.tensor(output, requires_grad=True)
        loss(x, sg.tensor(target)).backward()
        grads[name] = x.grad.numpy()
    n = output.size
    assert grads["l1"][0, 0, 3, 4] == pytest.approx(1 / n)
    assert np.abs(grads["l1"]).max() <= 1 / n
    assert grads["mse"][0, 0, 3, 4] == pytest.approx(2 * outlier / n)
    assert grads["mse"][0, 0, 3, 4] / grads["mse"][0, 0, 0, 0] == pytest.approx(outlier / 0.01)


# ----------------------------------------------------------------------------------
# one training step against PyTorch
# ----------------------------------------------------------------------------------


def test_one_train_step_matches_the_pytorch_twin(device):
    """Copied weights, the same batch, dropout 0, float64: the losses, every gradient
    (D's from its step, G's from its step) and every weight and statistic after Adam."""
    if torch is None:
        pytest.skip("torch is not installed")
    from benchmarks.reference_models import pix2pix, pix2pix_update, unet_forward

    model = Pix2Pix(dropout=0.0, lr=2e-4).to(device).double()
    theirs = pix2pix(torch, dropout=0.0)
    for network, twin in zip((model.generator, model.discriminator), theirs):
        state = {
            key: torch.from_numpy(value.numpy()) for key, value in network.state_dict().items()
        }
        twin.double().load_state_dict(state)
    batch = pair_batch(device, n=4)
    batch["input"], batch["target"] = batch["input"].double(), batch["target"].double()
    source, target = (torch.from_numpy(batch[key].numpy()) * 2 - 1 for key in ("input", "target"))
    opt_g, opt_d = (
        torch.optim.Adam(twin.parameters(), lr=2e-4, betas=(0.5, 0.999)) for twin in theirs
    )

    stats = model.train_step(batch)
    loss_d, loss_g = pix2pix_update(torch, *theirs, source, target, opt_d, opt_g)

    assert stats["loss_d"] == pytest.approx(loss_d.item(), rel=1e-10)
    assert stats["loss_g"] == pytest.approx(loss_g.item(), rel=1e-10)
    for network, twin in zip((model.generator, model.discriminator), theirs):
        their_params = dict(twin.named_parameters())
        for name, param in network.named_parameters():
            np.testing.assert_allclose(
                param.grad.numpy(),
                their_params[name].grad.numpy(),
                rtol=1e-7,
                atol=1e-12,
                err_msg=name,
            )
        their_state = twin.state_dict()
        for name, value in network.state_dict().items():
            np.testing.assert_allclose(
                value.numpy(), their_state[name].numpy(), rtol=1e-7, atol=1e-10, err_msg=name
            )
    with torch.no_grad():
        their_output = unet_forward(torch, theirs[0], source).numpy()
    with sg.no_grad():
        our_output = model.generator(sg.tensor(source.numpy(), device=device)).numpy()
    np.testing.assert_allclose(our_output, their_output, rtol=1e-7, atol=1e-10)


# ----------------------------------------------------------------------------------
# training, translating, sampling
# ----------------------------------------------------------------------------------


def parameter_arrays(module):
    return [p.numpy().copy() for p in module.parameters()]


@pytest.mark.parametrize("settings", [{}, {"lambda_gan": 0.0, "task": "edges"}])
def test_a_few_steps_lower_the_reconstruction_loss(settings, device):
    model = Pix2Pix(**settings).to(device)
    batch = pair_batch(device, n=8, task=model.task)
    critic_before = parameter_arrays(model.discriminator)
    history = [model.train_step(batch) for _ in range(6)]
    assert set(history[0]) == {"loss_d", "loss_g", "loss_gan", "loss_recon", "d_real", "d_fake"}
    assert all(isinstance(value, float) for value in history[0].values())
    assert history[-1]["loss_recon"] < 0.95 * history[0]["loss_recon"]
    critic_after = parameter_arrays(model.discriminator)
    unchanged = [np.array_equal(b, a) for b, a in zip(critic_before, critic_after)]
    if model.lambda_gan:
        assert not any(unchanged) and 0.0 < history[0]["d_real"] < 1.0
    else:  # the L1-only U-Net: no D step at all
        assert all(unchanged)
        assert {history[-1][key] for key in ("loss_d", "loss_gan", "d_real", "d_fake")} == {0.0}


def test_translate_draws_dropout_noise_on_batch_norms_running_statistics(device):
    """translate: eval-mode batch norm (each output depends on its own input only; the
    running statistics stay as they were), but the U-Net's dropout layers on, so two
    calls differ; the modes of every module come back as they were."""
    model = Pix2Pix().to(device)
    model.train_step(pair_batch(device))
    inputs = holed_digits("test").arrays["input"][:6]
    statistics = [b.numpy().copy() for b in model.generator.buffers()]
    first, second = model.translate(inputs), model.translate(sg.tensor(inputs, device=device))
    assert first.shape == (6, 1, 32, 32) and first.dtype == np.float32
    assert 0.0 <= first.min() and first.max() <= 1.0
    assert np.abs(first - second).max() > 1e-5  # float32 rounding is about 1e-7 here
    assert all(module.training for module in model.modules())
    for before, after in zip(statistics, model.generator.buffers()):
        np.testing.assert_array_equal(before, after.numpy())

    deterministic = Pix2Pix(dropout=0.0).to(device)
    deterministic.train_step(pair_batch(device))
    deterministic.eval()
    together = deterministic.translate(inputs)
    np.testing.assert_array_equal(together, deterministic.translate(inputs))
    alone = np.concatenate([deterministic.translate(inputs[i : i + 1]) for i in range(6)])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    assert not any(module.training for module in deterministic.modules())


def test_sample_translates_the_first_test_inputs(device):
    model = models.build("pix2pix", task="edges", dropout=0.0).to(device)
    assert model.training_data("test") is edges2digits("test")
    samples = model.sample(3)
    np.testing.assert_array_equal(
        samples, model.translate(edges2digits("test").arrays["input"][:3])
    )
    with pytest.raises(
        ValueError, match="sample: Pix2Pix translates test inputs; it takes no labels"
    ):
        model.sample(3, labels=[1, 2, 3])
    with pytest.raises(
        ValueError, match=r"translate: expected images \(N, 1, H, W\), got shape \(3, 32, 32\)"
    ):
        model.translate(np.zeros((3, 32, 32)))


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("task", "faces", r"task must be one of \('inpaint', 'edges'\), got 'faces'"),
        ("recon", "l2", r"recon must be one of \('l1', 'mse'\), got 'l2'"),
        ("gan_loss", "hinge", r"gan_loss must be one of \('vanilla', 'lsgan'\), got 'hinge'"),
        ("norm", "layer", r"norm must be one of \('batch', 'instance'\), got 'layer'"),
        ("lambda_l1", -1.0, r"lambda_l1 must be >= 0, got -1.0"),
        ("lambda_gan", -0.5, r"lambda_gan must be >= 0, got -0.5"),
        ("dropout", 1.0, r"dropout must be in \[0, 1\), got 1.0"),
        ("lr_schedule", "cosine", r"lr_schedule must be one of \('constant', 'linear'\), got"),
    ],
)
def test_settings_errors_name_the_setting(setting, value, message):
    with pytest.raises(ValueError, match="Pix2Pix: " + message):
        Pix2Pix(**{setting: value})


@pytest.mark.parametrize(
    "schedule, factors",
    [("constant", [1, 1, 1, 1, 1, 1]), ("linear", [1, 1, 3 / 4, 1 / 2, 1 / 4, 0])],
)
def test_lr_schedule_linear_decays_over_the_second_half_and_constant_keeps_lr(schedule, factors):
    model = Pix2Pix(lr=1e-3, lr_schedule=schedule)
    for lrs in lrs_over_run(model, 5).values():
        np.testing.assert_allclose(lrs, np.array(factors) * 1e-3, atol=1e-15)
