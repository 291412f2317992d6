"""nn.Module and the containers: registration, names and order (equal to torch's), the
state dict and its loading errors, modes, device/dtype moves, zero_grad, apply, repr."""

import copy
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from scratchgen import nn

try:
    import torch
except ImportError:  # the torch comparisons skip cleanly
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def make_block(nn_, ones):
    """A small model using most registration paths, built from nn_ (ours or torch.nn)."""

    class Block(nn_.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn_.Conv2d(1, 4, 3, padding=1)
            self.norm = nn_.BatchNorm2d(4)
            self.head = nn_.Sequential(nn_.Flatten(), nn_.Linear(4 * 4 * 4, 8), nn_.ReLU())
            self.layers = nn_.ModuleList([nn_.Linear(8, 8), nn_.LayerNorm(8)])
            self.out = nn_.Linear(8, 2, bias=False)
            self.scale = nn_.Parameter(ones(2))  # a bare parameter of the model itself

        def forward(self, x):
            x = self.head(self.norm(self.conv(x)))
            for layer in self.layers:
                x = layer(x)
            return self.out(x) * self.scale

    return Block()


def our_block():
    return make_block(nn, sg.ones)


def both_blocks():
    """(ours, torch's) Block with the same weights."""
    theirs = make_block(torch.nn, torch.ones)
    ours = our_block()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


# ----------------------------------------------------------------------------------
# registration
# ----------------------------------------------------------------------------------


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter(sg.zeros(3))
    assert isinstance(p, sg.Tensor)
    assert p.requires_grad
    assert not nn.Parameter(sg.zeros(3), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_attribute_assignment_registers_parameters_buffers_and_modules():
    m = nn.Module()
    m.weight = nn.Parameter(sg.ones(2))
    m.child = nn.Linear(2, 3)
    m.register_buffer("count", sg.zeros(1))
    m.note = "not registered"
    m.plain = sg.zeros(2)  # a plain Tensor attribute is not state
    assert list(m._parameters) == ["weight"]
    assert list(m._modules) == ["child"]
    assert list(m._buffers) == ["count"]
    assert [name for name, _ in m.named_parameters()] == ["weight", "child.weight", "child.bias"]
    assert list(m.state_dict()) == ["weight", "count", "child.weight", "child.bias"]
    assert m.note == "not registered" and "note" not in m.state_dict()


def test_reassigning_keeps_the_state_dict_order():
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    first = m[0]
    m.add_module("0", nn.Linear(2, 2))
    assert first is not m[0]
    assert list(m.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    lin = nn.Linear(2, 3)
    lin.weight = nn.Parameter(sg.zeros(3, 2))
    assert list(lin.state_dict()) == ["weight", "bias"]


def test_none_parameters_and_buffers_are_declared_but_absent():
    lin = nn.Linear(3, 2, bias=False)
    assert lin.bias is None
    assert list(lin.state_dict()) == ["weight"]
    lin.bias = nn.Parameter(sg.zeros(2))  # the slot can be filled later
    assert list(lin.state_dict()) == ["weight", "bias"]


def test_assigning_a_plain_tensor_to_a_parameter_slot_is_an_error():
    lin = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="parameter 'weight' of Linear"):
        lin.weight = sg.zeros(2, 3)


def test_assigning_before_init_is_an_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_missing_attribute_error_names_the_module():
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        _ = nn.Linear(2, 2).wieght


def test_delattr_removes_a_registered_entry():
    m = nn.Linear(2, 2)
    del m.bias
    assert list(m.state_dict()) == ["weight"]
    with pytest.raises(AttributeError):
        _ = m.bias


def test_non_persistent_buffers_stay_out_of_the_state_dict():
    m = nn.Module()
    m.register_buffer("kept", sg.zeros(2))
    m.register_buffer("scratch", sg.zeros(2), persistent=False)
    assert [name for name, _ in m.named_buffers()] == ["kept", "scratch"]
    assert list(m.state_dict()) == ["kept"]
    m.scratch = sg.ones(2)  # reassignment keeps it non-persistent
    assert list(m.state_dict()) == ["kept"]


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module"):
        nn.Module()(sg.zeros(1))


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(m.parameters())) == 2
    assert [name for name, _ in m.named_modules()] == ["", "0", "1"]
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_children_modules_and_recurse_false():
    ours = our_block()
    assert [name for name, _ in ours.named_children()] == ["conv", "norm", "head", "layers", "out"]
    assert [name for name, _ in ours.named_parameters(recurse=False)] == ["scale"]
    assert len(list(ours.modules())) == 1 + 5 + 3 + 2
    assert all(isinstance(m, nn.Module) for m in ours.children())


def test_deepcopy_gives_an_independent_module():
    lin = nn.Linear(2, 2)
    twin = copy.deepcopy(lin)
    assert twin.weight is not lin.weight
    np.testing.assert_array_equal(twin.weight.numpy(), lin.weight.numpy())
    twin.weight.data[...] = 0
    assert np.abs(lin.weight.numpy()).sum() > 0


# ----------------------------------------------------------------------------------
# names, order and state dict equal torch's
# ----------------------------------------------------------------------------------


@needs_torch
def test_named_parameters_and_buffers_equal_torchs():
    ours, theirs = both_blocks()
    our_params = [(n, p.shape) for n, p in ours.named_parameters()]
    their_params = [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert our_params == their_params
    our_buffers = [(n, b.shape) for n, b in ours.named_buffers()]
    their_buffers = [(n, tuple(b.shape)) for n, b in theirs.named_buffers()]
    assert our_buffers == their_buffers
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


@needs_torch
def test_state_dict_equals_torchs_keys_shapes_dtypes_and_values():
    ours, theirs = both_blocks()
    our_state, their_state = ours.state_dict(), theirs.state_dict()
    assert isinstance(our_state, OrderedDict)
    assert list(our_state) == list(their_state)
    for key, value in our_state.items():
        assert not value.requires_grad and not isinstance(value, nn.Parameter)
        assert value.shape == tuple(their_state[key].shape), key
        assert str(value.dtype) == str(their_state[key].dtype).removeprefix("torch."), key
        np.testing.assert_array_equal(value.numpy(), their_state[key].numpy())


@needs_torch
def test_our_state_dict_loads_into_torch(device):
    ours = our_block().to(device)
    theirs = make_block(torch.nn, torch.ones)
    theirs.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()}
    )
    ours.eval(), theirs.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(
        ours(sg.tensor(x, device=device)).numpy(), expected, rtol=1e-4, atol=1e-5
    )


def test_state_dict_shares_memory_with_the_model():
    lin = nn.Linear(2, 2)
    state = lin.state_dict()
    lin.weight.data[...] = 7.0
    assert np.all(state["weight"].numpy() == 7.0)


# ----------------------------------------------------------------------------------
# load_state_dict
# ----------------------------------------------------------------------------------


def test_load_state_dict_copies_values_in_place(device):
    lin = nn.Linear(3, 2).to(device)
    weight = lin.weight
    new = {"weight": np.arange(6.0).reshape(2, 3), "bias": sg.tensor([1.0, 2.0])}
    result = lin.load_state_dict(new)
    assert lin.weight is weight  # optimizers holding it stay valid
    assert lin.weight.dtype == sg.float32  # float64 arrays are cast to the model's dtype
    assert lin.weight.device == device
    np.testing.assert_array_equal(lin.weight.numpy(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(lin.bias.numpy(), [1.0, 2.0])
    assert result == ([], [])
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_load_state_dict_round_trip_between_models():
    source, target = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)), None
    source[1].running_mean.data[...] = 5.0
    source[1].num_batches_tracked.data[...] = 3
    target = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    target.load_state_dict(source.state_dict())
    for (key, mine), theirs in zip(target.state_dict().items(), source.state_dict().values()):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=key)
    assert target[1].num_batches_tracked.dtype == sg.int64
    assert target[1].num_batches_tracked.item() == 3


def test_load_state_dict_missing_key_is_an_error():
    state = nn.Linear(3, 2).state_dict()
    del state["bias"]
    with pytest.raises(RuntimeError, match=r"Linear(.|\n)*missing key\(s\) in state_dict: 'bias'"):
        nn.Linear(3, 2).load_state_dict(state)


def test_load_state_dict_unexpected_key_is_an_error():
    state = nn.Linear(3, 2).state_dict()
    state["extra.weight"] = sg.zeros(1)
    with pytest.raises(RuntimeError, match=r"unexpected key\(s\) in state_dict: 'extra.weight'"):
        nn.Linear(3, 2).load_state_dict(state)


def test_load_state_dict_shape_mismatch_names_key_and_shapes():
    state = nn.Linear(2, 3).state_dict()
    message = r"size mismatch for 'weight': expected shape \(2, 3\) \(the model's\), got \(3, 2\)"
    with pytest.raises(RuntimeError, match=message):
        nn.Linear(3, 2).load_state_dict(state)
    with pytest.raises(RuntimeError, match="size mismatch"):  # even when not strict
        nn.Linear(3, 2).load_state_dict(state, strict=False)


def test_load_state_dict_reports_every_problem_at_once():
    state = {"weight": sg.zeros(5, 5), "other": sg.zeros(1)}
    with pytest.raises(RuntimeError) as error:
        nn.Linear(3, 2).load_state_dict(state)
    assert "'bias'" in str(error.value) and "'other'" in str(error.value)
    assert "size mismatch for 'weight'" in str(error.value)


def test_load_state_dict_not_strict_returns_the_incompatible_keys():
    lin = nn.Linear(3, 2)
    before = lin.bias.numpy().copy()
    result = lin.load_state_dict({"weight": np.ones((2, 3)), "junk": np.zeros(1)}, strict=False)
    missing, unexpected = result
    assert missing == ["bias"] and unexpected == ["junk"]
    np.testing.assert_array_equal(lin.weight.numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(lin.bias.numpy(), before)


# ----------------------------------------------------------------------------------
# modes, device and dtype, gradients
# ----------------------------------------------------------------------------------


def test_train_and_eval_propagate_to_every_descendant():
    model = our_block()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not any(m.training for m in model.modules())


@pytest.mark.parametrize(
    "convert", [lambda m: m.to(sg.float64), lambda m: m.double(), lambda m: m.to(dtype="float64")]
)
def test_to_float64_keeps_parameter_identity(convert, device):
    model = our_block().to(device)
    params = list(model.parameters())
    model.head[1].weight.grad = sg.ones(8, 64, device=device)
    assert convert(model) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(p.dtype == sg.float64 and p.device == device for p in model.parameters())
    assert model.norm.running_mean.dtype == sg.float64
    assert model.norm.num_batches_tracked.dtype == sg.int64  # integer buffers are not cast
    assert model.head[1].weight.grad.dtype == sg.float64
    x = sg.randn(2, 1, 4, 4, dtype=sg.float64, device=device)
    assert model(x).dtype == sg.float64
    assert model.float().out.weight.dtype == sg.float32


def test_to_rejects_integer_dtypes_and_unknown_devices():
    with pytest.raises(TypeError, match="floating-point"):
        nn.Linear(2, 2).to(sg.int64)
    with pytest.raises(ValueError, match="device"):
        nn.Linear(2, 2).to(device="tpu")


def test_to_cuda_moves_everything(device):
    if device != "cuda":
        pytest.skip("needs a GPU")
    model = our_block()
    params = list(model.parameters())
    model.to("cuda")
    assert all(p.device == "cuda" for p in model.parameters())
    assert all(b.device == "cuda" for b in model.buffers())
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]


def test_zero_grad(device):
    model = nn.Linear(3, 2).to(device)
    out = model(sg.randn(4, 3, device=device))
    out.backward(sg.ones(4, 2, device=device))
    assert model.weight.grad is not None
    model.zero_grad(set_to_none=False)
    assert np.all(model.weight.grad.numpy() == 0) and model.weight.grad.shape == (2, 3)
    model.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


def test_requires_grad_freezes_every_parameter():
    model = our_block().requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


def test_apply_visits_children_before_the_parent():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    visited = []
    assert model.apply(lambda m: visited.append(type(m).__name__)) is model
    assert visited == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]

    def zero_linears(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    model.apply(zero_linears)
    assert all(np.all(m.weight.numpy() == 0) for m in model.modules() if isinstance(m, nn.Linear))


# ----------------------------------------------------------------------------------
# repr
# ----------------------------------------------------------------------------------


@needs_torch
def test_repr_equals_torchs():
    def model(nn_):
        return nn_.Sequential(
            nn_.Conv2d(1, 8, 4, 2, 1, bias=False),
            nn_.BatchNorm2d(8),
            nn_.LeakyReLU(0.2, inplace=True),
            nn_.ConvTranspose2d(8, 4, 4, 2, 1, output_padding=1, dilation=2),
            nn_.InstanceNorm2d(4),
            nn_.ReflectionPad2d(1),
            nn_.ZeroPad2d((1, 0, 2, 1)),
            nn_.MaxPool2d(2),
            nn_.AvgPool2d(3, 1, 1),
            nn_.AdaptiveAvgPool2d((2, 2)),
            nn_.Flatten(),
            nn_.Unflatten(1, (4, 4)),
            nn_.Flatten(),
            nn_.Linear(16, 8),
            nn_.LayerNorm(8),
            nn_.Dropout(0.1),
            nn_.GELU(),
            nn_.Softplus(),
            nn_.Embedding(10, 3, padding_idx=0),
            nn_.Sequential(nn_.ReLU(), nn_.Tanh(), nn_.Sigmoid(), nn_.Identity()),
        )

    assert repr(model(nn)) == repr(model(torch.nn))


# ----------------------------------------------------------------------------------
# containers
# ----------------------------------------------------------------------------------


def test_sequential_indexing_len_iteration_and_append(device):
    a, b, c = nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)
    model = nn.Sequential(a, b).append(c).to(device)
    assert len(model) == 3
    assert list(model) == [a, b, c]
    assert model[0] is a and model[-1] is c
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [b, c]
    assert list(tail.state_dict()) == ["2.weight", "2.bias"]  # torch keeps the names
    x = sg.randn(5, 3, device=device)
    np.testing.assert_allclose(model(x).numpy(), c(b(a(x))).numpy())
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range for length 3"):
        model[3]


def test_sequential_from_an_ordered_dict():
    model = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(model.state_dict()) == ["fc.weight", "fc.bias"]
    assert isinstance(model[1], nn.Tanh)


def test_module_list_append_extend_indexing():
    layers = nn.ModuleList([nn.Linear(2, 2)])
    layers.append(nn.ReLU()).extend([nn.Linear(2, 3), nn.Tanh()])
    assert len(layers) == 4
    assert isinstance(layers[-2], nn.Linear) and layers[-2].out_features == 3
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Linear", "Tanh"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    layers[1] = nn.Sigmoid()
    assert isinstance(layers[1], nn.Sigmoid)
    assert list(layers.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert nn.ModuleList() is not None and len(nn.ModuleList()) == 0
    with pytest.raises(IndexError, match="ModuleList"):
        layers[-5]


def test_module_list_parameters_are_registered():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))

    assert len(list(Stack().parameters())) == 6


@needs_torch
@given(widths=st.lists(st.integers(1, 5), min_size=2, max_size=5), bias=st.booleans())
def test_any_mlp_round_trips_through_torch(widths, bias):
    """Property: for any MLP, names and shapes equal torch's, and our state dict loaded
    into torch and back is unchanged."""

    def mlp(nn_):
        layers = []
        for fan_in, fan_out in zip(widths, widths[1:]):
            layers += [nn_.Linear(fan_in, fan_out, bias=bias), nn_.ReLU()]
        return nn_.Sequential(*layers)

    ours, theirs = mlp(nn), mlp(torch.nn)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    theirs.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()}
    )
    twin = mlp(nn)
    twin.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(twin.state_dict()[key].numpy(), value.numpy())
