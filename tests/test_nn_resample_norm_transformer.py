"""interpolate / Upsample, group_norm / GroupNorm, dropout2d / Dropout2d, pixel_shuffle /
PixelShuffle (and the unshuffles) and TransformerEncoder: gradient checks, torch
conformance (ops and layers with copied weights), properties and bad input."""

import math

import numpy as np
import pytest
from helpers import check_against_torch, check_op, torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays

import scratchgen as sg
import scratchgen.nn.functional as F
from scratchgen import nn

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

TOLERANCES = {np.float64: dict(rtol=1e-6, atol=1e-9), np.float32: dict(rtol=1e-4, atol=1e-5)}


def random(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def tf():
    """torch.nn.functional (the cases below only call it when torch is installed)."""
    return torch.nn.functional


def check_both_dtypes(sg_fn, torch_fn, arrays_, device):
    """Float64 gradcheck + torch comparison, then the float32 torch comparison."""
    check_op(sg_fn, torch_fn, arrays_, device)
    check_against_torch(sg_fn, torch_fn, arrays_, device, dtype=np.float32)


# ----------------------------------------------------------------------------------
# layers against their torch twins
# ----------------------------------------------------------------------------------


def layer_pair(make, device, dtype=np.float64):
    """(ours, torch's) from make(nn_), with torch's weights copied into ours."""
    torch.manual_seed(0)
    theirs = make(torch.nn).to({np.float64: torch.float64, np.float32: torch.float32}[dtype])
    ours = make(nn).to(device, dtype)
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})
    return ours, theirs


def assert_close(mine, theirs, dtype, what):
    theirs = theirs.detach().numpy()
    assert mine.shape == tuple(theirs.shape), (what, mine.shape, tuple(theirs.shape))
    np.testing.assert_allclose(mine.numpy(), theirs, **TOLERANCES[dtype], err_msg=what)


def run_both(ours, theirs, x, device, dtype=np.float64, our_kwargs=None, their_kwargs=None):
    """Forward both on x, backward one random upstream gradient, compare the output, the
    input gradient and every parameter gradient."""
    x = x.astype(dtype)
    our_x = sg.tensor(x, device=device, requires_grad=True)
    their_x = torch.tensor(x, requires_grad=True)
    our_y = ours(our_x, **(our_kwargs or {}))
    their_y = theirs(their_x, **(their_kwargs or {}))
    assert_close(our_y, their_y, dtype, "output")
    upstream = random(*their_y.shape, seed=1).astype(dtype)
    our_y.backward(sg.tensor(upstream, device=device))
    their_y.backward(torch.from_numpy(upstream))
    assert_close(our_x.grad, their_x.grad, dtype, "input gradient")
    their_params = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(their_params)
    for name, param in ours.named_parameters():
        assert_close(param.grad, their_params[name].grad, dtype, f"gradient of {name}")


# ----------------------------------------------------------------------------------
# interpolate and Upsample
# ----------------------------------------------------------------------------------

RESIZES = [
    dict(size=(5, 7)),
    dict(size=2),
    dict(scale_factor=2),
    dict(scale_factor=(1.5, 0.5)),
    dict(scale_factor=1.7, recompute_scale_factor=True),
]
RESIZE_IDS = ["size-up", "size-down", "scale-2", "scale-fractional", "recompute"]
MODES = [("nearest", None), ("bilinear", False), ("bilinear", True)]
MODE_IDS = ["nearest", "bilinear", "bilinear-align-corners"]


@pytest.mark.parametrize("mode, align_corners", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("resize", RESIZES, ids=RESIZE_IDS)
def test_interpolate(resize, mode, align_corners, device):
    check_both_dtypes(
        lambda x: F.interpolate(x, mode=mode, align_corners=align_corners, **resize),
        lambda x: tf().interpolate(x, mode=mode, align_corners=align_corners, **resize),
        [random(2, 3, 4, 3)],
        device,
    )


@pytest.mark.parametrize("mode, align_corners", MODES, ids=MODE_IDS)
def test_interpolate_second_derivatives(mode, align_corners, device):
    x = sg.tensor(random(1, 2, 3, 2), device=device, requires_grad=True)
    resize = dict(size=(4, 5), mode=mode, align_corners=align_corners)
    assert sg.gradgradcheck(lambda t: F.interpolate(t, **resize) ** 2, [x])


@needs_torch
@pytest.mark.parametrize("size, out_size", [(5, 7), (7, 5), (3, 9), (6, 4), (10, 30), (5, 10)])
def test_nearest_picks_torchs_rows(size, out_size, device):
    """torch computes the source row floor(i * size / out_size) in float32."""
    x = np.arange(size, dtype=np.float64).reshape(1, 1, size, 1)
    ours = F.interpolate(sg.tensor(x, device=device), size=(out_size, 1)).numpy()
    theirs = tf().interpolate(torch.from_numpy(x), size=(out_size, 1)).numpy()
    np.testing.assert_array_equal(ours, theirs)


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_nearest_with_an_integer_scale_repeats_each_pixel(h, w, factor, seed):
    x = random(1, 2, h, w, seed=seed)
    y = F.interpolate(sg.tensor(x), scale_factor=factor).numpy()
    np.testing.assert_array_equal(y, x.repeat(factor, axis=2).repeat(factor, axis=3))


@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 7),
    st.integers(1, 7),
    st.sampled_from(MODES),
    st.floats(-3, 3),
)
def test_interpolating_a_constant_image_gives_the_constant(h, w, out_h, out_w, mode, value):
    """Each output is a weighted mean: the weights of every output pixel sum to 1."""
    x = sg.full((1, 2, h, w), value, dtype=sg.float64)
    y = F.interpolate(x, size=(out_h, out_w), mode=mode[0], align_corners=mode[1])
    np.testing.assert_allclose(y.numpy(), value, atol=1e-12)


@given(st.integers(1, 5), st.integers(1, 5), st.sampled_from(MODES), st.data())
def test_interpolating_to_the_same_size_is_the_identity(h, w, mode, data):
    x = data.draw(arrays((2, 1, h, w)))
    y = F.interpolate(sg.tensor(x), size=(h, w), mode=mode[0], align_corners=mode[1])
    np.testing.assert_allclose(y.numpy(), x, atol=1e-12)


@given(st.integers(2, 5), st.integers(2, 5), st.integers(2, 7), st.integers(2, 7), st.data())
def test_bilinear_with_align_corners_keeps_the_corner_pixels(h, w, out_h, out_w, data):
    x = data.draw(arrays((1, 1, h, w)))
    y = F.interpolate(sg.tensor(x), size=(out_h, out_w), mode="bilinear", align_corners=True)
    corners = (slice(None), slice(None), [0, -1], [0, -1])
    np.testing.assert_allclose(y.numpy()[corners], x[corners], atol=1e-12)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda x: F.interpolate(x),
            ValueError,
            "exactly one of size and scale_factor, got neither",
        ),
        (
            lambda x: F.interpolate(x, size=4, scale_factor=2),
            ValueError,
            "exactly one of size and scale_factor, got both",
        ),
        (
            lambda x: F.interpolate(x, size=4, mode="bicubic"),
            NotImplementedError,
            "interpolate: expected mode 'nearest' or 'bilinear', got 'bicubic'",
        ),
        (
            lambda x: F.interpolate(x, size=4, align_corners=True),
            ValueError,
            "align_corners can only be set with mode='bilinear', got align_corners=True",
        ),
        (
            lambda x: F.interpolate(x[0], size=4),
            ValueError,
            r"interpolate: expected a 4-D input \(N, C, H, W\), got shape \(2, 3, 3\)",
        ),
        (
            lambda x: F.interpolate(x, scale_factor=-1),
            ValueError,
            "interpolate: expected scale_factor to be a positive number",
        ),
        (
            lambda x: F.interpolate(x, scale_factor=0.1),
            ValueError,
            r"scale_factor 0.1 gives an empty output \(0, 0\) for input size \(3, 3\)",
        ),
        (
            lambda x: F.interpolate(x, size=(4, 0)),
            ValueError,
            r"interpolate: expected size >= 1, got \(4, 0\)",
        ),
        (
            lambda x: F.interpolate(x.to(dtype=sg.int64), size=4),
            TypeError,
            "interpolate: expected a floating-point input, got dtype int64",
        ),
    ],
    ids=[
        "neither",
        "both",
        "mode",
        "align-corners-nearest",
        "3d",
        "negative-scale",
        "empty",
        "zero-size",
        "integer",
    ],
)
def test_interpolate_bad_input(call, error, message, device):
    with pytest.raises(error, match=message):
        call(sg.randn(1, 2, 3, 3, device=device))


@needs_torch
@pytest.mark.parametrize(
    "options",
    [
        dict(scale_factor=2),
        dict(size=(5, 3), mode="bilinear"),
        dict(scale_factor=(2, 3), mode="bilinear", align_corners=True),
    ],
    ids=["nearest-2x", "bilinear-size", "bilinear-corners"],
)
def test_upsample_matches_torch(options, device):
    ours, theirs = nn.Upsample(**options), torch.nn.Upsample(**options)
    run_both(ours, theirs, random(2, 3, 3, 4), device)
    assert repr(ours) == repr(theirs)


# ----------------------------------------------------------------------------------
# group_norm and GroupNorm
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, groups",
    [((2, 4, 3, 2), 2), ((3, 6, 5), 3), ((3, 4), 2), ((2, 4, 3), 4), ((2, 3, 2, 2), 1)],
    ids=["4d", "3d", "2d", "one-channel-per-group", "one-group"],
)
def test_group_norm(shape, groups, device):
    channels = shape[1]
    check_both_dtypes(
        lambda x, w, b: F.group_norm(x, groups, w, b),
        lambda x, w, b: tf().group_norm(x, groups, w, b),
        [random(*shape), random(channels, seed=1), random(channels, seed=2)],
        device,
    )


def test_group_norm_without_affine(device):
    check_op(
        lambda x: F.group_norm(x, 3, eps=1e-3),
        lambda x: tf().group_norm(x, 3, eps=1e-3),
        [random(2, 6, 2, 3)],
        device,
    )


def test_group_norm_second_derivatives(device):
    x, w, b = (
        sg.tensor(a, device=device, requires_grad=True)
        for a in (random(2, 4, 3), random(4, seed=1), random(4, seed=2))
    )
    assert sg.gradgradcheck(lambda x, w, b: F.group_norm(x, 2, w, b) ** 2, [x, w, b])


@given(st.integers(1, 3), st.sampled_from([(1, 6), (2, 3), (3, 2), (6, 1)]), st.data())
def test_each_group_has_mean_zero_and_variance_one(batch, groups_and_size, data):
    groups, group_channels = groups_and_size
    x = data.draw(arrays((batch, groups * group_channels, 2, 3)))
    y = F.group_norm(sg.tensor(x), groups, eps=0.0).numpy().reshape(batch, groups, -1)
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-9)
    np.testing.assert_allclose(y.var(-1), 1, rtol=1e-6)


@given(st.data())
def test_group_norm_with_one_channel_per_group_is_instance_norm(data):
    x = sg.tensor(data.draw(arrays((2, 3, 2, 4))))
    np.testing.assert_allclose(F.group_norm(x, 3).numpy(), F.instance_norm(x).numpy(), atol=1e-12)


@given(st.data())
def test_group_norm_with_one_group_is_layer_norm_over_each_sample(data):
    x = sg.tensor(data.draw(arrays((2, 3, 2, 4))))
    expected = F.layer_norm(x, (3, 2, 4)).numpy()
    np.testing.assert_allclose(F.group_norm(x, 1).numpy(), expected, atol=1e-12)


def test_group_norm_of_a_constant_group_is_finite(device):
    """Zero variance: xhat = 0 / sqrt(0 + eps) = 0, so y = bias and the gradients are finite."""
    x = sg.full((2, 4, 3, 3), 5.0, dtype=sg.float64, device=device, requires_grad=True)
    bias = sg.tensor([1.0, 2.0, 3.0, 4.0], dtype=sg.float64, device=device, requires_grad=True)
    weight = sg.ones(4, dtype=sg.float64, device=device, requires_grad=True)
    y = F.group_norm(x, 2, weight, bias)
    np.testing.assert_allclose(
        y.numpy(), np.broadcast_to(bias.numpy()[:, None, None], (2, 4, 3, 3))
    )
    y.backward(sg.randn(*y.shape, dtype=sg.float64, device=device))
    for t in (x, weight, bias):
        assert np.isfinite(t.grad.numpy()).all()


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda x: F.group_norm(x, 3),
            r"group_norm: expected the number of channels input.shape\[1\] = 4 to be divisible "
            r"by num_groups, got num_groups=3",
        ),
        (
            lambda x: F.group_norm(x, 2, sg.ones(3)),
            r"group_norm: expected weight of shape \(4,\) \(input.shape\[1\]\), got \(3,\)",
        ),
        (
            lambda x: F.group_norm(x[0, 0], 1),
            r"group_norm: expected input of shape \(N, C, \*\), got shape \(3,\)",
        ),
        (
            lambda x: nn.GroupNorm(3, 4),
            r"GroupNorm: num_channels \(4\) must be divisible by num_groups \(3\)",
        ),
    ],
    ids=["groups", "weight", "1d", "layer"],
)
def test_group_norm_bad_input(call, message, device):
    with pytest.raises(ValueError, match=message):
        call(sg.randn(2, 4, 3, device=device))


@needs_torch
@pytest.mark.parametrize(
    "options",
    [dict(), dict(affine=False), dict(bias=False)],
    ids=["affine", "no-affine", "no-bias"],
)
def test_group_norm_layer_matches_torch(options, device):
    ours, theirs = layer_pair(lambda nn_: nn_.GroupNorm(2, 6, eps=1e-4, **options), device)
    with torch.no_grad():  # away from torch's initial weight 1, bias 0
        for param in theirs.parameters():
            param.normal_()
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    run_both(ours, theirs, random(3, 6, 2, 2), device)
    assert repr(ours) == repr(theirs)


def test_group_norm_layer_starts_at_weight_one_and_bias_zero():
    layer = nn.GroupNorm(2, 4)
    np.testing.assert_array_equal(layer.weight.numpy(), np.ones(4))
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(4))
    assert nn.GroupNorm(2, 4, affine=False).weight is None
    assert nn.GroupNorm(2, 4, bias=False).bias is None


# ----------------------------------------------------------------------------------
# dropout2d and Dropout2d
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout2d_zeroes_whole_channels_at_rate_p(p, device):
    """Each channel is all 0 or all x / (1 - p); about p of the channels are dropped."""
    x = sg.tensor(np.random.default_rng(3).uniform(1, 2, (40, 50, 3, 2)), device=device)
    y = F.dropout2d(x, p).numpy()
    dropped = (y == 0).all(axis=(2, 3))
    kept = np.isclose(y, x.numpy() / (1 - p), rtol=1e-12).all(axis=(2, 3))
    assert (dropped ^ kept).all()
    channels = dropped.size
    assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / channels)  # 5 standard errors


def test_dropout2d_gradient_is_the_same_mask(device):
    x = sg.tensor(np.random.default_rng(1).uniform(1, 2, (4, 6, 2, 3)), device=device)
    x.requires_grad_()
    y = F.dropout2d(x, 0.4)
    upstream = random(4, 6, 2, 3)
    y.backward(sg.tensor(upstream, device=device))
    scale = y.numpy() / x.numpy()  # 0 or 1 / 0.6 per channel
    np.testing.assert_allclose(x.grad.numpy(), upstream * scale, rtol=1e-12)


def test_dropout2d_of_n_c_l_input_drops_whole_channels(device):
    """As torch's dropout2d, a 3-D input is (N, C, L): each row (n, c) is dropped whole."""
    x = sg.ones(30, 20, 5, dtype=sg.float64, device=device)
    y = F.dropout2d(x, 0.5).numpy()
    assert (np.ptp(y, axis=2) == 0).all()
    assert set(np.unique(y)) == {0.0, 2.0}


def test_dropout2d_is_the_identity_in_evaluation_and_for_p0(device):
    x = sg.randn(2, 3, 4, 4, device=device)
    assert F.dropout2d(x, 0.5, training=False) is x
    assert F.dropout2d(x, 0.0) is x
    assert (F.dropout2d(x, 1.0).numpy() == 0).all()


def test_dropout2d_layer_in_training_and_evaluation(device):
    layer = nn.Dropout2d(0.5)
    x = sg.randn(8, 16, 3, 3, device=device)
    y = layer(x).numpy()
    assert ((y == 0).all(axis=(2, 3)) | (y != 0).all(axis=(2, 3))).all()
    assert (y == 0).any() and (y != 0).any()
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    assert repr(layer) == "Dropout2d(p=0.5, inplace=False)"


def test_dropout2d_is_reproducible_after_manual_seed(device):
    x = sg.ones(6, 8, 2, 2, device=device)
    sg.manual_seed(5)
    first = F.dropout2d(x).numpy()
    sg.manual_seed(5)
    np.testing.assert_array_equal(F.dropout2d(x).numpy(), first)


def test_dropout2d_bad_input(device):
    with pytest.raises(ValueError, match=r"dropout2d: probability p must be in \[0, 1\], got 1.5"):
        F.dropout2d(sg.ones(2, 3, 4, 4, device=device), 1.5)
    with pytest.raises(ValueError, match=r"dropout2d: expected input of shape \(N, C, H, W\)"):
        F.dropout2d(sg.ones(2, 3, device=device))
    with pytest.raises(TypeError, match="dropout2d: expected a floating-point tensor"):
        F.dropout2d(sg.ones(2, 3, 4, 4, dtype=sg.int64, device=device))
    with pytest.raises(ValueError, match=r"Dropout2d: expected a probability p in \[0, 1\]"):
        nn.Dropout2d(-0.1)


# ----------------------------------------------------------------------------------
# pixel_shuffle, pixel_unshuffle and their layers
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, factor",
    [((2, 8, 2, 3), 2), ((9, 2, 1), 3), ((2, 1, 4, 1, 2), 2)],
    ids=["4d", "3d", "5d"],
)
def test_pixel_shuffle(shape, factor, device):
    check_op(
        lambda x: F.pixel_shuffle(x, factor),
        lambda x: tf().pixel_shuffle(x, factor),
        [random(*shape)],
        device,
    )


@pytest.mark.parametrize(
    "shape, factor",
    [((2, 2, 4, 6), 2), ((1, 3, 6), 3), ((2, 1, 3, 2, 4), 2)],
    ids=["4d", "3d", "5d"],
)
def test_pixel_unshuffle(shape, factor, device):
    check_op(
        lambda x: F.pixel_unshuffle(x, factor),
        lambda x: tf().pixel_unshuffle(x, factor),
        [random(*shape)],
        device,
    )


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.data())
def test_pixel_unshuffle_undoes_pixel_shuffle(factor, channels, h, w, data):
    x = data.draw(arrays((2, channels * factor * factor, h, w)))
    shuffled = F.pixel_shuffle(sg.tensor(x), factor)
    assert shuffled.shape == (2, channels, h * factor, w * factor)
    np.testing.assert_array_equal(F.pixel_unshuffle(shuffled, factor).numpy(), x)
    image = data.draw(arrays((1, channels, h * factor, w * factor)))
    round_trip = F.pixel_shuffle(F.pixel_unshuffle(sg.tensor(image), factor), factor)
    np.testing.assert_array_equal(round_trip.numpy(), image)


@needs_torch
def test_pixel_shuffle_layers_match_torch(device):
    run_both(nn.PixelShuffle(2), torch.nn.PixelShuffle(2), random(2, 8, 2, 3), device)
    run_both(nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2), random(2, 2, 4, 6), device)
    assert repr(nn.PixelShuffle(3)) == repr(torch.nn.PixelShuffle(3))
    assert repr(nn.PixelUnshuffle(3)) == repr(torch.nn.PixelUnshuffle(3))


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda x: F.pixel_shuffle(x, 2),
            r"pixel_shuffle: expected input.shape\[-3\] divisible by upscale_factor\^2 = 4, "
            r"got shape \(2, 6, 4, 4\)",
        ),
        (
            lambda x: F.pixel_unshuffle(x, 3),
            r"pixel_unshuffle: expected height and width divisible by downscale_factor = 3",
        ),
        (
            lambda x: F.pixel_shuffle(x, 0),
            "pixel_shuffle: expected a positive int upscale_factor, got 0",
        ),
        (
            lambda x: F.pixel_unshuffle(x[0, 0], 2),
            r"pixel_unshuffle: expected input of shape \(\*, C, H, W\) with at least 3 axes",
        ),
    ],
    ids=["channels", "height", "factor", "2d"],
)
def test_pixel_shuffle_bad_input(call, message, device):
    with pytest.raises(ValueError, match=message):
        call(sg.randn(2, 6, 4, 4, device=device))


# ----------------------------------------------------------------------------------
# TransformerEncoder
# ----------------------------------------------------------------------------------


def encoder(nn_, norm=False, **layer_options):
    layer = nn_.TransformerEncoderLayer(8, 2, dim_feedforward=16, **layer_options)
    final_norm = nn_.LayerNorm(8) if norm else None
    return nn_.TransformerEncoder(layer, 2, norm=final_norm, enable_nested_tensor=False).eval()


def encoder_masks(kind, device, length=4, batch=3):
    """(our kwargs, torch's kwargs) for forward: no mask, key padding, or a causal mask."""
    if kind == "none":
        return {}, {}
    if kind == "key-padding":
        padding = np.zeros((batch, length), dtype=bool)
        padding[0, -2:] = True
        name, mask, extra = "src_key_padding_mask", padding, {}
    else:
        name, extra = "mask", {"is_causal": True}
        mask = np.triu(np.ones((length, length), dtype=bool), k=1)
    ours = {name: sg.tensor(mask, device=device), **extra}
    return ours, {name: torch.from_numpy(mask), **extra}


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(
    "options, masks",
    [
        (dict(), "none"),
        (dict(norm=True), "key-padding"),
        (dict(norm_first=True, batch_first=True, activation="gelu"), "causal"),
        (dict(norm=True, batch_first=True), "key-padding"),
    ],
    ids=["post-ln", "post-ln-final-norm-padding", "pre-ln-gelu-causal", "batch-first-padding"],
)
def test_transformer_encoder_matches_torch(options, masks, dtype, device):
    ours, theirs = layer_pair(lambda nn_: encoder(nn_, **options), device, dtype)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    shape = (3, 4, 8) if options.get("batch_first") else (4, 3, 8)
    our_masks, their_masks = encoder_masks(masks, device)
    run_both(ours, theirs, random(*shape), device, dtype, our_masks, their_masks)


@needs_torch
def test_transformer_encoder_state_dict_keys_are_torchs():
    ours, theirs = encoder(nn, norm=True), encoder(torch.nn, norm=True)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    assert "layers.1.self_attn.in_proj_weight" in ours.state_dict()
    assert "norm.bias" in ours.state_dict()


def test_transformer_encoder_layers_are_independent_copies():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    stack = nn.TransformerEncoder(layer, 3)
    assert len(stack.layers) == stack.num_layers == 3
    weights = [block.linear1.weight for block in stack.layers]
    assert len({id(w) for w in weights + [layer.linear1.weight]}) == 4
    for w in weights:
        np.testing.assert_array_equal(w.numpy(), layer.linear1.weight.numpy())
    weights[0].data[...] = 0
    assert (weights[1].numpy() != 0).any()
    assert len(list(stack.parameters())) == 3 * len(list(layer.parameters()))


def test_transformer_encoder_is_causal_needs_a_mask():
    stack = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16), 1)
    with pytest.raises(RuntimeError, match="TransformerEncoder: is_causal=True .* got None"):
        stack(sg.randn(4, 2, 8), is_causal=True)
