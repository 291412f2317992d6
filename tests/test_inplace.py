"""In-place ops with torch's autograd rules: +=, add_ ... uniform_, x[idx] = v, the version
counter, and the manual SGD loop that used to leave every weight unchanged."""

import numpy as np
import pytest
from helpers import check_op, torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, broadcastable_pair

import scratchgen as sg
from scratchgen import nn


def random_arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


# ----------------------------------------------------------------------------------
# the manual SGD loop
# ----------------------------------------------------------------------------------


def manual_sgd(lib, model, x, y, lr=0.1, steps=3):
    for _ in range(steps):
        model.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        with lib.no_grad():
            for p in model.parameters():
                p -= lr * p.grad


def test_the_manual_sgd_loop_updates_the_module_as_torch_does():
    x, y = random_arrays(0, (8, 3), (8, 1))
    model = nn.Linear(3, 1)
    before = [p.numpy().copy() for p in model.parameters()]
    manual_sgd(sg, model, sg.tensor(x, dtype=sg.float32), sg.tensor(y, dtype=sg.float32))
    after = [p.numpy() for p in model.parameters()]
    assert all(not np.allclose(a, b) for a, b in zip(before, after))
    if torch is None:
        return
    twin = torch.nn.Linear(3, 1)
    with torch.no_grad():
        for mine, theirs in zip(before, twin.parameters()):
            theirs.copy_(torch.from_numpy(mine))
    manual_sgd(torch, twin, torch.tensor(x, dtype=torch.float32), torch.tensor(y).float())
    for mine, theirs in zip(after, twin.parameters()):
        np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_an_update_keeps_the_tensor_and_its_array():
    p = nn.Parameter(sg.ones(3))
    array = p.data
    with sg.no_grad():
        result = p.add_(sg.ones(3), alpha=2)
    assert result is p and p.data is array and p.is_leaf and p.requires_grad
    np.testing.assert_array_equal(p.numpy(), [3, 3, 3])


# ----------------------------------------------------------------------------------
# each op in a graph: float64 gradcheck and torch (the same code runs on both libraries)
# ----------------------------------------------------------------------------------


def on_a_copy(op):
    """x, y -> op(x * 1.5, y): an in-place op on a non-leaf, as in a forward pass."""

    def fn(x, y):
        t = x * 1.5
        result = op(t, y)
        assert result is t
        return t

    return fn


IN_GRAPH = {
    "add_": lambda t, y: t.add_(y, alpha=0.5),
    "sub_": lambda t, y: t.sub_(y),
    "mul_": lambda t, y: t.mul_(y),
    "div_": lambda t, y: t.div_(y * y + 1),
    "iadd": lambda t, y: t.__iadd__(y),
    "isub": lambda t, y: t.__isub__(y),
    "imul": lambda t, y: t.__imul__(y),
    "itruediv": lambda t, y: t.__itruediv__(y * y + 1),
    "clamp_": lambda t, y: t.mul_(y).clamp_(-0.7, 0.8),
    "relu_": lambda t, y: t.mul_(y).relu_(),
    "copy_": lambda t, y: t.copy_(y * 2),
    "fill_": lambda t, y: t.fill_(0.25).mul_(y),
    "zero_": lambda t, y: t.zero_().add_(y),
    "self_alias": lambda t, y: t.mul_(y).add_(t),
}


@pytest.mark.parametrize("name", IN_GRAPH)
def test_in_place_op_in_a_graph_matches_torch(name, device):
    x, y = random_arrays(1, (3, 4), (3, 4))
    fn = on_a_copy(IN_GRAPH[name])
    check_op(fn, fn, [x, y], device)


@pytest.mark.parametrize(
    "index, value_shape",
    [
        ((slice(1, 3),), (2, 4)),
        ((0,), (4,)),
        ((slice(None), 2), (3,)),
        ((slice(None), slice(0, 2)), (1, 2)),  # broadcast along the rows
        (([0, 2], slice(None)), (2, 4)),  # an integer-array index
    ],
)
def test_setitem_in_a_graph_matches_torch(index, value_shape, device):
    x, v = random_arrays(2, (3, 4), value_shape)

    def fn(x, v):
        t = x * 1.5
        t[index] = v * 2
        return t * t

    check_op(fn, fn, [x, v], device)


def test_setitem_with_a_number_and_a_mask(device):
    x = sg.tensor(np.arange(6.0).reshape(2, 3), device=device)
    x[x > 2] = -1.0
    x[0, 0] = 7
    np.testing.assert_array_equal(x.numpy(), [[7, 1, 2], [-1, -1, -1]])
    assert x._version == 2


def test_a_buffer_filled_from_a_parameter_joins_the_graph(device):
    w = sg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    buffer = sg.zeros(2, 3, device=device)
    buffer[1] = w * 2
    assert buffer.requires_grad and not buffer.is_leaf
    (buffer * buffer).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 8 * np.array([1.0, 2.0, 3.0]))


# ----------------------------------------------------------------------------------
# torch's rules: leaves, the version counter
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("op", [lambda p: p.add_(1), lambda p: p.__isub__(1), lambda p: p.zero_()])
def test_a_leaf_that_requires_grad_changes_only_under_no_grad(op, device):
    p = sg.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad cannot be changed"):
        op(p)
    with sg.no_grad():
        op(p)
    if torch is not None:
        leaf = torch.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            op(leaf)


def test_backward_refuses_an_input_changed_after_the_op_read_it(device):
    x = sg.randn(3, device=device, requires_grad=True)
    w = sg.randn(3, device=device, requires_grad=True)
    y = x * 2
    z = y * w  # Mul reads y for dL/dw
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"input 0 of Mul .* modified by an in-place op"):
        z.sum().backward()


def test_backward_refuses_an_output_changed_without_a_graph(device):
    x = sg.randn(3, device=device, requires_grad=True)
    y = x.exp()  # Exp's backward reads its output
    with sg.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="output of Exp that its backward reads was modified"):
        y.sum().backward()


def test_an_in_place_op_in_the_graph_keeps_the_earlier_value_for_its_creator(device):
    x = sg.tensor([0.5, -1.0, 2.0], device=device, requires_grad=True)
    y = x.exp()
    y.add_(1)  # recorded: Exp's output is kept as it was, so its gradient stays right
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, -1.0, 2.0]), rtol=1e-6)


def test_wrong_dtype_and_shape_are_named(device):
    counts = sg.tensor([1, 2, 3], device=device)
    with pytest.raises(RuntimeError, match="add_: the result has dtype float.*int64"):
        counts += 0.5
    x = sg.zeros(3, device=device)
    with pytest.raises(RuntimeError, match=r"add_: the result has shape \(2, 3\).*\(3,\)"):
        x += sg.ones(2, 3, device=device)
    with pytest.raises(TypeError, match="copy_: expected a Tensor source, got list"):
        x.copy_([1, 2, 3])
    with pytest.raises(ValueError, match="normal_: expected std >= 0, got -1"):
        x.normal_(0, -1)
    with pytest.raises(IndexError, match=r"setitem: cannot assign .* shape \(3,\)"):
        x[5] = 1.0


# ----------------------------------------------------------------------------------
# the maths as properties
# ----------------------------------------------------------------------------------


@given(pair=broadcastable_pair(), data=st.data())
def test_add_in_place_equals_add_where_the_shape_allows(pair, data):
    shape_a, shape_b = pair
    a = data.draw(arrays(shape_a))
    b = data.draw(arrays(shape_b))
    expected = a + b
    x = sg.tensor(a.copy())
    if expected.shape != a.shape:
        with pytest.raises(RuntimeError, match="add_: the result has shape"):
            x.add_(sg.tensor(b))
        return
    x.add_(sg.tensor(b))
    np.testing.assert_allclose(x.numpy(), expected)


@given(st.integers(0, 2**16), st.floats(-3, 3), st.floats(0.1, 3))
def test_normal_and_uniform_fill_from_the_seeded_generator(seed, mean, std):
    sg.manual_seed(seed)
    first = sg.empty(4000).normal_(mean, std).numpy()
    sg.manual_seed(seed)
    np.testing.assert_array_equal(sg.empty(4000).normal_(mean, std).numpy(), first)
    assert abs(first.mean() - mean) < 5 * std / np.sqrt(4000)
    assert abs(first.std() - std) < 0.1 * std
    low, high = mean, mean + std
    drawn = sg.empty(4000).uniform_(low, high).numpy()
    assert drawn.min() >= low and drawn.max() <= high  # < high before rounding to float32
    assert abs(drawn.mean() - (low + high) / 2) < 5 * std / np.sqrt(12 * 4000)


# ----------------------------------------------------------------------------------
# no_grad as a bare decorator
# ----------------------------------------------------------------------------------


def test_no_grad_and_enable_grad_decorate_with_or_without_parentheses():
    @sg.no_grad
    def bare():
        return sg.is_grad_enabled()

    @sg.no_grad()
    def called():
        return sg.is_grad_enabled()

    @sg.enable_grad
    def enabled():
        return sg.is_grad_enabled()

    assert bare() is False and called() is False and bare.__name__ == "bare"
    with sg.no_grad():
        assert enabled() is True
    assert sg.is_grad_enabled()


# ----------------------------------------------------------------------------------
# inplace=True on the layers that take it: it acts in place, never silently not
# ----------------------------------------------------------------------------------

INPLACE_LAYERS = {
    "ReLU": lambda lib: lib.nn.ReLU(inplace=True),
    "LeakyReLU": lambda lib: lib.nn.LeakyReLU(0.2, inplace=True),
    "ELU": lambda lib: lib.nn.ELU(inplace=True),
    "SiLU": lambda lib: lib.nn.SiLU(inplace=True),
}


@pytest.mark.parametrize("name", INPLACE_LAYERS)
def test_inplace_true_writes_into_the_input_and_matches_torch(name, device):
    layer = INPLACE_LAYERS[name](sg)
    x = sg.tensor(random_arrays(3, (2, 5))[0], device=device)
    array = x.data
    y = layer(x)
    assert y is x and x.data is array and x._version == 1

    def fn(lib):
        def through(w):
            h = w * 1.0
            return INPLACE_LAYERS[name](lib)(h) * 2

        return through

    check_op(fn(sg), fn(torch) if torch is not None else None, random_arrays(4, (3, 4)), device)


def test_inplace_dropout_zeroes_the_input_itself(device):
    sg.manual_seed(0)
    x = sg.ones(1000, device=device)
    y = nn.Dropout(0.5, inplace=True)(x)
    assert y is x and 0.4 < (x.numpy() == 0).mean() < 0.6
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}


def test_inplace_on_a_leaf_that_requires_grad_is_refused(device):
    w = sg.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"relu\(inplace=True\): a leaf tensor that requires"):
        nn.ReLU(inplace=True)(w)


# ----------------------------------------------------------------------------------
# views, read-only broadcasts, released graphs, failed ops (the holes a review found)
# ----------------------------------------------------------------------------------


def test_a_view_in_the_graph_is_refused(device):
    a = sg.randn(4, device=device, requires_grad=True)
    h = a * 2
    with pytest.raises(RuntimeError, match=r"add_: the tensor is a view of another one"):
        h[1:].add_(1)
    w = sg.randn(2, 3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of another one .*Transpose|Permute"):
        w.t().add_(1)


def test_writing_through_a_recorded_view_bumps_its_base(device):
    a = sg.randn(4, device=device, requires_grad=True)
    w = sg.randn(4, device=device, requires_grad=True)
    h = a * 2
    z = (h * w).sum()
    view = h[1:]
    with sg.no_grad():
        view.add_(1)
    assert h._version == 1
    with pytest.raises(RuntimeError, match="input 0 of Mul .* modified by an in-place op"):
        z.backward()


def test_a_read_only_broadcast_is_named():
    x = sg.ones(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="read-only broadcast"):
        x.add_(1)


def test_a_failed_in_place_op_leaves_the_graph_as_it_was(device):
    a = sg.randn(3, device=device, requires_grad=True)
    h = a.exp()
    with pytest.raises(RuntimeError, match="add_: the result has shape"):
        h.add_(sg.zeros(5, 3, device=device))
    h.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.exp(a.numpy()), rtol=1e-6)


def test_in_place_after_the_graph_was_freed(device):
    a = sg.randn(3, device=device, requires_grad=True)
    h = a * 2
    h.sum().backward()
    with sg.no_grad():
        h.mul_(0.5)
    np.testing.assert_allclose(h.numpy(), a.numpy(), rtol=1e-6)


def test_setitem_outside_a_graph_writes_only_the_indexed_elements(device):
    x = sg.zeros(3, 4, device=device)
    array = x.data
    for row in range(3):
        x[row, 1:3] = row + 1
    assert x.data is array and x._version == 3
    np.testing.assert_array_equal(x.numpy()[:, 1], [1, 2, 3])
    with pytest.raises(RuntimeError, match="__setitem__: a value of dtype float.* int64"):
        sg.zeros(3, dtype=sg.int64)[0] = 0.5


def test_a_recursive_no_grad_function_restores_grad_mode():
    @sg.no_grad
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3 and sg.is_grad_enabled()
