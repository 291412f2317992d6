"""Every nn layer against its torch twin.

For each layer: build torch's, copy its state dict into ours (as numpy arrays), run both
on the same input in float64 and float32 and compare the outputs, the input gradient
and every parameter gradient under a random upstream gradient; then the reverse
direction (our state dict loaded into torch gives our output). Plus: running statistics
of the norms after training steps, evaluation mode, default-initialisation statistics,
MultiheadAttention and TransformerEncoderLayer, and bad input.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import shapes

import scratchgen as sg
from scratchgen import nn

torch = pytest.importorskip("torch")

TOLERANCES = {
    np.float64: dict(rtol=1e-6, atol=1e-9),
    np.float32: dict(rtol=1e-4, atol=1e-5),
}
TORCH_DTYPES = {np.float64: torch.float64, np.float32: torch.float32}


def random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def layer_pair(make, dtype, device):
    """(ours, torch's) from make(nn_), with torch's weights copied into ours."""
    torch.manual_seed(0)
    theirs = make(torch.nn).to(TORCH_DTYPES[dtype])
    ours = make(nn).to(device, dtype)
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})
    return ours, theirs


def assert_close(mine, theirs, dtype, what):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert mine.shape == tuple(theirs.shape), (what, mine.shape, tuple(theirs.shape))
    np.testing.assert_allclose(mine.numpy(), theirs, **TOLERANCES[dtype], err_msg=what)


def run_both(ours, theirs, inputs, dtype, device, our_kwargs=None, their_kwargs=None):
    """Forward both on the inputs, backward random upstream gradients, compare everything.

    inputs: numpy arrays (floating ones require grad); the kwargs go to forward as they
    are. A forward returning a tuple (MultiheadAttention) has each output compared.
    """
    our_inputs, their_inputs = [], []
    for array in inputs:
        floating = array.dtype.kind == "f"
        array = array.astype(dtype) if floating else array
        our_inputs.append(sg.tensor(array, device=device, requires_grad=floating))
        their_inputs.append(torch.tensor(array, requires_grad=floating))
    our_outs = as_tuple(ours(*our_inputs, **(our_kwargs or {})))
    their_outs = as_tuple(theirs(*their_inputs, **(their_kwargs or {})))
    assert len(our_outs) == len(their_outs)
    for index, (mine, reference) in enumerate(zip(our_outs, their_outs)):
        assert (mine is None) == (reference is None), f"output {index}"
        if mine is not None:
            assert mine.dtype == np.dtype(dtype)
            assert_close(mine, reference, dtype, f"output {index}")
    pairs = [(m, r) for m, r in zip(our_outs, their_outs) if m is not None]
    upstream = [random(tuple(r.shape), seed=i + 1).astype(dtype) for i, (_, r) in enumerate(pairs)]
    sg.autograd.backward([m for m, _ in pairs], [sg.tensor(u, device=device) for u in upstream])
    torch.autograd.backward([r for _, r in pairs], [torch.from_numpy(u) for u in upstream])
    for index, (mine, reference) in enumerate(zip(our_inputs, their_inputs)):
        if reference.requires_grad:
            assert_close(mine.grad, reference.grad, dtype, f"gradient of input {index}")
    their_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        assert_close(param.grad, their_params[name].grad, dtype, f"gradient of {name}")


def as_tuple(output):
    return output if isinstance(output, tuple) else (output,)


def check_reverse(ours, theirs, inputs, device):
    """Our state dict loaded into torch gives our output (float32)."""
    theirs.float().load_state_dict(
        {key: torch.from_numpy(value.numpy().copy()) for key, value in ours.state_dict().items()}
    )
    ours.float()
    our_out = ours(*[sg.tensor(a, device=device) for a in inputs])
    their_out = theirs(*[torch.from_numpy(a.copy()) for a in inputs])
    assert_close(our_out, their_out, np.float32, "output with our weights in torch")


# ----------------------------------------------------------------------------------
# every layer, same arguments, same input (training mode unless the case says eval)
# ----------------------------------------------------------------------------------

IMAGE = (2, 3, 6, 7)
LAYERS = {
    "Linear": (lambda nn_: nn_.Linear(5, 3), (4, 5)),
    "Linear-3d-nobias": (lambda nn_: nn_.Linear(5, 3, bias=False), (2, 4, 5)),
    "Conv2d": (lambda nn_: nn_.Conv2d(3, 4, 3), IMAGE),
    "Conv2d-stride-pad": (lambda nn_: nn_.Conv2d(3, 4, 4, 2, 1), IMAGE),
    "Conv2d-rect-dilated-nobias": (
        lambda nn_: nn_.Conv2d(3, 2, (3, 2), stride=(2, 1), padding=(1, 0), dilation=2, bias=False),
        IMAGE,
    ),
    "ConvTranspose2d": (lambda nn_: nn_.ConvTranspose2d(3, 4, 4, 2, 1), IMAGE),
    "ConvTranspose2d-output-padding": (
        lambda nn_: nn_.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
        IMAGE,
    ),
    "ConvTranspose2d-dilated-nobias": (
        lambda nn_: nn_.ConvTranspose2d(3, 2, (2, 3), dilation=2, bias=False),
        IMAGE,
    ),
    "BatchNorm1d": (lambda nn_: nn_.BatchNorm1d(4), (6, 4)),
    "BatchNorm1d-3d": (lambda nn_: nn_.BatchNorm1d(4), (3, 4, 5)),
    "BatchNorm2d": (lambda nn_: nn_.BatchNorm2d(3), IMAGE),
    "BatchNorm2d-no-affine": (lambda nn_: nn_.BatchNorm2d(3, affine=False), IMAGE),
    "BatchNorm2d-untracked": (lambda nn_: nn_.BatchNorm2d(3, track_running_stats=False), IMAGE),
    "InstanceNorm2d": (lambda nn_: nn_.InstanceNorm2d(3), IMAGE),
    "InstanceNorm2d-affine": (lambda nn_: nn_.InstanceNorm2d(3, affine=True), IMAGE),
    "InstanceNorm2d-unbatched": (lambda nn_: nn_.InstanceNorm2d(3, affine=True), IMAGE[1:]),
    "LayerNorm": (lambda nn_: nn_.LayerNorm(6), (4, 6)),
    "LayerNorm-2axes": (lambda nn_: nn_.LayerNorm((3, 4)), (2, 5, 3, 4)),
    "LayerNorm-no-affine": (lambda nn_: nn_.LayerNorm(6, elementwise_affine=False), (4, 6)),
    "LayerNorm-no-bias": (lambda nn_: nn_.LayerNorm(6, bias=False), (4, 6)),
    "Dropout-eval": (lambda nn_: nn_.Dropout(0.3).eval(), (4, 6)),
    "ReLU": (lambda nn_: nn_.ReLU(), (4, 6)),
    "LeakyReLU": (lambda nn_: nn_.LeakyReLU(), (4, 6)),
    "LeakyReLU-0.2": (lambda nn_: nn_.LeakyReLU(0.2), (4, 6)),
    "Tanh": (lambda nn_: nn_.Tanh(), (4, 6)),
    "Sigmoid": (lambda nn_: nn_.Sigmoid(), (4, 6)),
    "GELU": (lambda nn_: nn_.GELU(), (4, 6)),
    "GELU-tanh": (lambda nn_: nn_.GELU(approximate="tanh"), (4, 6)),
    "Softplus": (lambda nn_: nn_.Softplus(), (4, 6)),
    "Softplus-beta": (lambda nn_: nn_.Softplus(beta=2.0, threshold=1.0), (4, 6)),
    "Identity": (lambda nn_: nn_.Identity(7, key="ignored"), (4, 6)),
    "Flatten": (lambda nn_: nn_.Flatten(), IMAGE),
    "Flatten-0-2": (lambda nn_: nn_.Flatten(0, 2), IMAGE),
    "Unflatten": (lambda nn_: nn_.Unflatten(1, (2, 3)), (4, 6, 2)),
    "Unflatten-negative": (lambda nn_: nn_.Unflatten(-1, (3, -1)), (4, 6)),
    "ReflectionPad2d": (lambda nn_: nn_.ReflectionPad2d(2), IMAGE),
    "ReflectionPad2d-sides": (lambda nn_: nn_.ReflectionPad2d((1, 2, 0, 3)), IMAGE),
    "ZeroPad2d": (lambda nn_: nn_.ZeroPad2d(1), IMAGE),
    "ZeroPad2d-sides": (lambda nn_: nn_.ZeroPad2d((1, 0, 2, 1)), IMAGE),
    "MaxPool2d": (lambda nn_: nn_.MaxPool2d(2), IMAGE),
    "MaxPool2d-stride-pad": (lambda nn_: nn_.MaxPool2d(3, 2, 1), IMAGE),
    "AvgPool2d": (lambda nn_: nn_.AvgPool2d(2), IMAGE),
    "AvgPool2d-stride-pad": (lambda nn_: nn_.AvgPool2d((3, 2), stride=(2, 1), padding=1), IMAGE),
    "AdaptiveAvgPool2d": (lambda nn_: nn_.AdaptiveAvgPool2d(1), IMAGE),
    "AdaptiveAvgPool2d-uneven": (lambda nn_: nn_.AdaptiveAvgPool2d((4, 3)), IMAGE),
    "Sequential": (
        lambda nn_: nn_.Sequential(
            nn_.Conv2d(3, 4, 3, padding=1),
            nn_.BatchNorm2d(4),
            nn_.LeakyReLU(0.2),
            nn_.Flatten(),
            nn_.Linear(168, 2),
        ),
        IMAGE,
    ),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_matches_torch(name, dtype, device):
    make, shape = LAYERS[name]
    ours, theirs = layer_pair(make, dtype, device)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = random(shape)
    run_both(ours, theirs, [x], dtype, device)
    for key, value in theirs.state_dict().items():  # running statistics after the step
        assert_close(ours.state_dict()[key], value, dtype, key)
    check_reverse(ours, theirs, [x.astype(np.float32)], device)


@pytest.mark.parametrize(
    "name",
    ["BatchNorm1d", "BatchNorm2d", "BatchNorm2d-untracked", "InstanceNorm2d-affine", "Sequential"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_evaluation_mode_matches_torch(name, dtype, device):
    make, shape = LAYERS[name]
    ours, theirs = layer_pair(make, dtype, device)
    for seed in range(2):  # two training steps move the running statistics
        run_both(ours, theirs, [random(shape, seed)], dtype, device)
    ours.eval(), theirs.eval()
    run_both(ours, theirs, [random(shape, seed=5)], dtype, device)


@pytest.mark.parametrize(
    "make",
    [
        lambda nn_: nn_.BatchNorm2d(3, momentum=None),
        lambda nn_: nn_.BatchNorm2d(3, momentum=0.5, affine=False),
        lambda nn_: nn_.InstanceNorm2d(3, affine=True, track_running_stats=True),
    ],
    ids=["cumulative", "momentum", "instance-tracked"],
)
def test_running_statistics_follow_torch(make, device):
    dtype = np.float64
    ours, theirs = layer_pair(make, dtype, device)
    for seed in range(3):
        run_both(ours, theirs, [random(IMAGE, seed) * (seed + 1) + seed], dtype, device)
        for key, value in theirs.state_dict().items():
            assert_close(ours.state_dict()[key], value, dtype, key)
    assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item()
    ours.eval(), theirs.eval()
    run_both(ours, theirs, [random(IMAGE, 9)], dtype, device)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_matches_torch(padding_idx, dtype, device):
    ours, theirs = layer_pair(
        lambda nn_: nn_.Embedding(7, 4, padding_idx=padding_idx), dtype, device
    )
    ids = np.array([[0, 3, 6, 3], [1, 0, 2, 6]], dtype=np.int64)
    run_both(ours, theirs, [ids], dtype, device)
    assert ours.padding_idx == theirs.padding_idx
    check_reverse(ours, theirs, [ids], device)


def test_dropout_in_training_zeroes_with_probability_p_and_rescales(device):
    layer = nn.Dropout(0.3)
    x = sg.ones(200, 100, device=device, requires_grad=True)
    y = layer(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert np.all(layer.eval()(x).numpy() == 1.0)
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.5)


def test_dropout_is_reproducible_after_manual_seed(device):
    x = sg.ones(10, 10, device=device)
    sg.manual_seed(3)
    first = nn.Dropout()(x).numpy()
    sg.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout()(x).numpy(), first)


@given(shape=shapes(min_dims=2, max_dims=5), data=st.data())
def test_unflatten_inverts_flatten(shape, data):
    """Property: Unflatten(start, sizes) undoes Flatten(start, end) for any axes."""
    start = data.draw(st.integers(0, len(shape) - 1))
    end = data.draw(st.integers(start, len(shape) - 1))
    x = sg.randn(*shape)
    flat = nn.Flatten(start, end)(x)
    assert flat.shape == shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :]
    sizes = shape[start : end + 1]
    unknown = data.draw(st.integers(0, len(sizes) - 1))  # one size given as -1
    sizes = sizes[:unknown] + (-1,) + sizes[unknown + 1 :]
    np.testing.assert_array_equal(nn.Unflatten(start, sizes)(flat).numpy(), x.numpy())


# ----------------------------------------------------------------------------------
# default initialisation (torch's distributions)
# ----------------------------------------------------------------------------------


def check_uniform(tensor, bound):
    values = tensor.numpy().ravel()
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.9 * bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound / math.sqrt(3)
    assert abs(values.mean()) < 0.1 * bound


@pytest.mark.parametrize(
    "make, fan_in",
    [
        (lambda: nn.Linear(200, 150), 200),
        (lambda: nn.Conv2d(16, 32, 3), 16 * 9),
        (lambda: nn.ConvTranspose2d(32, 16, 4), 16 * 16),  # weight.shape[1] * k * k, as torch
    ],
    ids=["Linear", "Conv2d", "ConvTranspose2d"],
)
def test_default_init_is_kaiming_uniform_with_bias_bound(make, fan_in):
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    check_uniform(layer.weight, bound)
    bias = layer.bias.numpy()
    assert np.abs(bias).max() <= bound and bias.std() > 0.4 * bound
    assert layer.weight.dtype == sg.float32 and layer.weight.requires_grad


def test_default_init_of_embedding_norms_and_attention():
    weight = nn.Embedding(1000, 20).weight.numpy()
    assert abs(weight.mean()) < 0.02 and abs(weight.std() - 1) < 0.02
    assert np.all(nn.Embedding(10, 3, padding_idx=2).weight.numpy()[2] == 0)
    for norm in (nn.BatchNorm2d(5), nn.InstanceNorm2d(5, affine=True), nn.LayerNorm(5)):
        assert np.all(norm.weight.numpy() == 1) and np.all(norm.bias.numpy() == 0)
    bn = nn.BatchNorm1d(5)
    assert np.all(bn.running_mean.numpy() == 0) and np.all(bn.running_var.numpy() == 1)
    assert bn.num_batches_tracked.dtype == sg.int64 and bn.num_batches_tracked.shape == ()
    attention = nn.MultiheadAttention(64, 4)
    check_uniform(attention.in_proj_weight, math.sqrt(6 / (64 + 3 * 64)))  # xavier
    assert np.all(attention.in_proj_bias.numpy() == 0)
    assert np.all(attention.out_proj.bias.numpy() == 0)
    check_uniform(attention.out_proj.weight, 1 / math.sqrt(64))


def test_initialisation_is_reproducible_after_manual_seed():
    sg.manual_seed(7)
    first = nn.Conv2d(2, 3, 3).state_dict()
    sg.manual_seed(7)
    second = nn.Conv2d(2, 3, 3).state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key].numpy(), second[key].numpy())
    assert not np.array_equal(nn.Conv2d(2, 3, 3).weight.numpy(), first["weight"].numpy())


# ----------------------------------------------------------------------------------
# nn.init
# ----------------------------------------------------------------------------------


def test_calculate_gain_equals_torchs():
    for nonlinearity, param in [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("selu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", math.sqrt(5)),
    ]:
        assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity, param)
        )
    with pytest.raises(ValueError, match="calculate_gain"):
        nn.init.calculate_gain("swish")


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_and_xavier_spreads(mode):
    weight = sg.empty(300, 100, 2, 2)
    fan = 100 * 4 if mode == "fan_in" else 300 * 4
    nn.init.kaiming_uniform_(weight, mode=mode, nonlinearity="relu")
    check_uniform(weight, math.sqrt(2) * math.sqrt(3 / fan))
    assert nn.init.kaiming_normal_(weight, a=0.2, mode=mode) is weight
    std = math.sqrt(2 / (1 + 0.2**2)) / math.sqrt(fan)
    assert abs(weight.numpy().std() - std) < 0.03 * std
    nn.init.xavier_uniform_(weight, gain=2.0)
    check_uniform(weight, 2.0 * math.sqrt(6 / (400 + 1200)))
    nn.init.xavier_normal_(weight)
    assert abs(weight.numpy().std() - math.sqrt(2 / 1600)) < 0.03 * math.sqrt(2 / 1600)


def test_fill_functions_work_in_place_and_keep_dtype(device):
    param = nn.Parameter(sg.zeros(3, 4, dtype=sg.float64, device=device))
    array = param.data
    assert nn.init.ones_(param) is param and np.all(param.numpy() == 1)
    nn.init.constant_(param, 2.5)
    assert np.all(param.numpy() == 2.5)
    nn.init.uniform_(param, -1, 3)
    values = param.numpy()
    assert values.min() >= -1 and values.max() < 3 and param.data is array
    nn.init.normal_(param, mean=10, std=0.01)
    assert abs(param.numpy().mean() - 10) < 0.05
    nn.init.zeros_(param)
    assert np.all(param.numpy() == 0)
    assert param.dtype == sg.float64 and param.data is array and param.grad is None


def test_init_bad_input():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(sg.zeros(5))
    with pytest.raises(ValueError, match="fan_in"):
        nn.init.kaiming_uniform_(sg.zeros(2, 2), mode="fan_middle")
    with pytest.raises(TypeError, match="floating-point"):
        nn.init.normal_(sg.zeros(2, dtype=sg.int64))


# ----------------------------------------------------------------------------------
# attention
# ----------------------------------------------------------------------------------


def sequences(batch_first, length, batch=3, features=8, seed=0):
    shape = (batch, length, features) if batch_first else (length, batch, features)
    return random(shape, seed)


def mask_pair(masks, device, dtype):
    """The masks as our Tensors and as torch tensors (float masks in dtype)."""
    masks = {k: v.astype(dtype) if v.dtype.kind == "f" else v for k, v in masks.items()}
    ours = {k: sg.tensor(v, device=device) for k, v in masks.items()}
    theirs = {k: torch.from_numpy(v.copy()) for k, v in masks.items()}
    return ours, theirs


def attention_masks(kind, batch=3, heads=2, length=4, source_length=5):
    rng = np.random.default_rng(4)
    padding = np.zeros((batch, source_length), dtype=bool)
    padding[0, -2:] = True  # pad the last two keys of the first sequence
    padding[2, 0] = True
    causal = np.triu(np.ones((length, source_length), dtype=bool), k=2)
    float_mask = rng.standard_normal((batch * heads, length, source_length))
    return {
        "none": {},
        "key-padding": {"key_padding_mask": padding},
        "bool-attn-mask": {"attn_mask": causal},
        "both": {"key_padding_mask": padding, "attn_mask": causal},
        "float-3d-attn-mask": {"attn_mask": float_mask},
        "float-padding-and-bool-mask": {
            "key_padding_mask": np.where(padding, -2.0, 0.5),
            "attn_mask": causal,
        },
    }[kind]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq-first", "batch-first"])
@pytest.mark.parametrize(
    "masks",
    [
        "none",
        "key-padding",
        "bool-attn-mask",
        "both",
        "float-3d-attn-mask",
        "float-padding-and-bool-mask",
    ],
)
def test_multihead_attention_matches_torch(masks, batch_first, dtype, device):
    ours, theirs = layer_pair(
        lambda nn_: nn_.MultiheadAttention(8, 2, dropout=0.2, batch_first=batch_first).eval(),
        dtype,
        device,
    )
    our_masks, their_masks = mask_pair(attention_masks(masks), device, dtype)
    inputs = [sequences(batch_first, n, seed=n) for n in (4, 5, 5)]  # query, key, value
    run_both(ours, theirs, inputs, dtype, device, our_masks, their_masks)


def test_multihead_attention_options_match_torch(device):
    dtype = np.float64
    ours, theirs = layer_pair(lambda nn_: nn_.MultiheadAttention(6, 3, bias=False), dtype, device)
    assert (
        list(ours.state_dict())
        == list(theirs.state_dict())
        == ["in_proj_weight", "out_proj.weight"]
    )
    x = random((4, 2, 6))
    our_x, their_x = sg.tensor(x, device=device), torch.from_numpy(x)
    out, weights = ours(our_x, our_x, our_x, need_weights=False)
    assert weights is None
    assert_close(out, theirs(their_x, their_x, their_x, need_weights=False)[0], dtype, "output")
    _, per_head = ours(our_x, our_x, our_x, average_attn_weights=False)
    _, their_per_head = theirs(their_x, their_x, their_x, average_attn_weights=False)
    assert per_head.shape == (2, 3, 4, 4)
    assert_close(per_head, their_per_head, dtype, "per-head weights")


def test_multihead_attention_state_dict_equals_torchs():
    ours, theirs = nn.MultiheadAttention(8, 2), torch.nn.MultiheadAttention(8, 2)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]


def test_multihead_attention_dropout_in_training(device):
    attention = nn.MultiheadAttention(8, 2, dropout=0.5).to(device)
    x = sg.tensor(sequences(False, 6), dtype=sg.float32, device=device)
    _, weights = attention(x, x, x, average_attn_weights=False)
    assert (weights.numpy() == 0).mean() > 0.3  # dropped weights are zero
    attention.eval()
    _, weights = attention(x, x, x)
    np.testing.assert_allclose(weights.numpy().sum(-1), 1, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(norm_first=True),
        dict(activation="gelu"),
        dict(activation="gelu", norm_first=True, batch_first=True),
        dict(batch_first=True, bias=False),
    ],
    ids=[
        "post-ln-relu",
        "pre-ln-relu",
        "post-ln-gelu",
        "pre-ln-gelu-batch-first",
        "batch-first-nobias",
    ],
)
@pytest.mark.parametrize("padding", [False, True], ids=["no-mask", "key-padding-mask"])
def test_transformer_encoder_layer_matches_torch(options, padding, dtype, device):
    ours, theirs = layer_pair(
        lambda nn_: nn_.TransformerEncoderLayer(8, 2, dim_feedforward=16, **options).eval(),
        dtype,
        device,
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())
    batch_first = options.get("batch_first", False)
    masks = (
        {
            "src_key_padding_mask": attention_masks("key-padding", source_length=4)[
                "key_padding_mask"
            ]
        }
        if padding
        else {}
    )
    run_both(
        ours, theirs, [sequences(batch_first, 4)], dtype, device, *mask_pair(masks, device, dtype)
    )


# ----------------------------------------------------------------------------------
# the functional surface and bad input
# ----------------------------------------------------------------------------------

F_NAMES = """relu leaky_relu sigmoid tanh softplus gelu softmax log_softmax normalize linear conv2d
conv_transpose2d max_pool2d avg_pool2d adaptive_avg_pool2d pad batch_norm instance_norm
layer_norm dropout embedding scaled_dot_product_attention mse_loss l1_loss binary_cross_entropy
binary_cross_entropy_with_logits cross_entropy nll_loss elu silu
interpolate group_norm dropout2d pixel_shuffle pixel_unshuffle""".split()


def test_functional_reexports_the_ops_under_torchs_names():
    import scratchgen.nn.functional as F
    from scratchgen.ops import (
        activation,
        attention,
        conv,
        functional_extra,
        loss,
        norm,
        pad,
        pool,
        resample,
    )

    homes = [activation, attention, conv, functional_extra, loss, norm, pad, pool, resample]
    for name in F_NAMES:
        assert hasattr(torch.nn.functional, name), name
        function = getattr(F, name)
        assert any(getattr(home, name, None) is function for home in homes), name
    assert sorted(F.__all__) == sorted(F_NAMES)


@pytest.mark.parametrize(
    "make, x, error, message",
    [
        (
            lambda: nn.BatchNorm2d(3),
            (2, 3, 4),
            ValueError,
            r"BatchNorm2d: expected input of shape \(N, C, H, W\), got shape \(2, 3, 4\)",
        ),
        (lambda: nn.BatchNorm1d(3), (2, 3, 4, 4), ValueError, "BatchNorm1d: expected input"),
        (lambda: nn.InstanceNorm2d(3), (2, 3), ValueError, "InstanceNorm2d: expected input"),
        (lambda: nn.BatchNorm2d(3), (2, 4, 3, 3), ValueError, "batch_norm"),
        (
            lambda: nn.Unflatten(1, (2, 4)),
            (3, 6),
            ValueError,
            r"Unflatten: cannot split axis 1 of size 6 into \(2, 4\)",
        ),
        (lambda: nn.Unflatten(2, (2, 3)), (3, 6), ValueError, "Unflatten: dim 2 is out of range"),
        (
            lambda: nn.MultiheadAttention(8, 2),
            (3, 2, 6),
            ValueError,
            r"MultiheadAttention: expected query of shape \(L, N, E\) with E = embed_dim = 8",
        ),
    ],
    ids=[
        "bn2d-3d",
        "bn1d-4d",
        "in2d-2d",
        "bn-channels",
        "unflatten-size",
        "unflatten-dim",
        "mha-embed",
    ],
)
def test_bad_input_names_the_layer(make, x, error, message):
    layer = make()
    x = sg.randn(*x)
    with pytest.raises(error, match=message):
        layer(x, x, x) if isinstance(layer, nn.MultiheadAttention) else layer(x)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.Conv2d(4, 4, 3, groups=2), "Conv2d: only groups=1 is supported, got 2"),
        (lambda: nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"), "padding_mode='zeros'"),
        (lambda: nn.MultiheadAttention(7, 2), r"embed_dim \(7\) must be divisible by num_heads"),
        (lambda: nn.Embedding(5, 2, padding_idx=5), r"padding_idx must be in \[-5, 5\), got 5"),
        (lambda: nn.TransformerEncoderLayer(8, 2, activation="swish"), "activation must be"),
        (lambda: nn.Dropout(-0.1), r"Dropout: expected a probability p in \[0, 1\]"),
    ],
    ids=["groups", "padding-mode", "heads", "padding-idx", "activation", "dropout"],
)
def test_bad_arguments_name_the_layer(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_attention_masks_of_the_wrong_shape():
    attention = nn.MultiheadAttention(4, 2)
    x = sg.randn(3, 2, 4)
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(N, S\) = \(2, 3\)"):
        attention(x, x, x, key_padding_mask=sg.zeros(3, 2, dtype=sg.bool_))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(L, S\) = \(3, 3\)"):
        attention(x, x, x, attn_mask=sg.zeros(5, 3, 3))
    with pytest.raises(ValueError, match="key and value of the same shape"):
        attention(x, x, sg.randn(4, 2, 4))
