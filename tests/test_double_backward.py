"""Double backward: gradients built with create_graph=True are differentiable.

For y = f(x) and a random upstream gradient v, the first gradient is
    g(x, v) = d<v, f(x)>/dx = J(x)^T v,
and its gradients, for a second random w,
    d<w, g>/dx  (second derivatives of f)  and  d<w, g>/dv = J(x) w  (the backward of the
    backward: for a linear op such as getitem or cat it is the only nonzero one),
are compared with torch.autograd.grad(..., create_graph=True) in float64 (rtol 1e-7).
"""

import numpy as np
import pytest
from helpers import TOLERANCES, to_sg, to_torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, broadcastable_pair, shapes

import scratchgen as sg

try:
    import torch
except ImportError:  # the torch comparisons skip; gradgradcheck still runs
    torch = None

TOLERANCE = TOLERANCES[np.dtype("float64")]


def assert_close(mine, ref, what):
    """A scratchgen gradient equals torch's; None (unused) counts as zeros."""
    if ref is None:
        assert mine is None or np.allclose(mine.numpy(), 0), what
        return
    assert mine is not None, f"{what}: no gradient"
    assert mine.shape == tuple(ref.shape), (what, mine.shape, tuple(ref.shape))
    np.testing.assert_allclose(mine.numpy(), ref.detach().numpy(), **TOLERANCE, err_msg=what)


def check_double_backward(sg_fn, torch_fn, arrays_, device, seed=0):
    """First and second gradients of sg_fn equal torch_fn's (see the module docstring)."""
    if torch is None:
        pytest.skip("torch is not installed")
    rng = np.random.default_rng(seed)
    ours = to_sg(arrays_, device, dtype=np.float64)
    theirs = to_torch(arrays_, dtype=np.float64)
    y, ty = sg_fn(*ours), torch_fn(*theirs)
    upstream = rng.standard_normal(tuple(ty.shape))
    v = sg.tensor(upstream, device=device, requires_grad=True)
    tv = torch.from_numpy(upstream).requires_grad_(True)

    first = sg.autograd.grad(y, ours, v, create_graph=True)
    their_first = torch.autograd.grad(ty, theirs, tv, create_graph=True)
    for i, (g, tg) in enumerate(zip(first, their_first)):
        assert_close(g, tg, f"first gradient of input {i}")

    second_upstream = [rng.standard_normal(tuple(tg.shape)) for tg in their_first]
    second = sg.autograd.grad(
        list(first),
        [*ours, v],
        [sg.tensor(w, device=device) for w in second_upstream],
        allow_unused=True,
    )
    their_second = torch.autograd.grad(
        their_first,
        [*theirs, tv],
        [torch.from_numpy(w) for w in second_upstream],
        allow_unused=True,
    )
    for i, (g, tg) in enumerate(zip(second, their_second)):
        name = "upstream v" if i == len(ours) else f"input {i}"
        assert_close(g, tg, f"second gradient with respect to {name}")


# ----------------------------------------------------------------------------------
# elementwise ops over hypothesis-drawn (broadcast) shapes
# ----------------------------------------------------------------------------------

BINARY = {
    "add (broadcast)": (lambda a, b: a + b, -3.0),
    "mul": (lambda a, b: a * b, -3.0),
    "div": (lambda a, b: a / b, 0.3),
    "pow": (lambda a, b: a**b, 0.3),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=broadcastable_pair(max_dims=3, max_side=3), data=st.data())
def test_binary(name, pair, data, device):
    fn, low = BINARY[name]
    a = data.draw(arrays(pair[0], low=low))  # div and pow: a positive base / divisor...
    b = data.draw(arrays(pair[1], low=low))  # ... keeps every derivative finite
    check_double_backward(fn, fn, [a, b], device)


UNARY = {
    "exp": (sg.exp, lambda t: torch.exp(t), -2.0, 2.0),
    "log": (sg.log, lambda t: torch.log(t), 0.3, 3.0),
    "sqrt": (sg.sqrt, lambda t: torch.sqrt(t), 0.3, 3.0),
    "tanh": (sg.tanh, lambda t: torch.tanh(t), -3.0, 3.0),
    "sigmoid": (sg.sigmoid, lambda t: torch.sigmoid(t), -4.0, 4.0),
    "x ** 3": (lambda x: x**3, lambda x: x**3, -2.0, 2.0),
    "2 ** x": (lambda x: 2**x, lambda x: 2**x, -2.0, 2.0),
    "1 / x": (lambda x: 1 / x, lambda x: 1 / x, 0.3, 3.0),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes(max_dims=3, max_side=3), data=st.data())
def test_unary(name, shape, data, device):
    sg_fn, torch_fn, low, high = UNARY[name]
    check_double_backward(sg_fn, torch_fn, [data.draw(arrays(shape, low=low, high=high))], device)


# ----------------------------------------------------------------------------------
# matmul, reductions, indexing, cat
# ----------------------------------------------------------------------------------

MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 1, 2, 3), (4, 3, 2))]


@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES)
def test_matmul(a_shape, b_shape, device):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    check_double_backward(sg.matmul, lambda x, w: torch.matmul(x, w), [a, b], device)


STRUCTURAL = {
    "sum(dim=1)": (lambda x: x.sum(1), lambda x: x.sum(1)),
    "sum(keepdim)": (lambda x: x.sum((0, 2), keepdim=True), lambda x: x.sum((0, 2), True)),
    "mean(dim=-1)": (lambda x: x.mean(-1), lambda x: x.mean(-1)),
    "mean of squares": (lambda x: (x * x).mean(0), lambda x: (x * x).mean(0)),
    "getitem slices": (lambda x: x[1:, ::2], lambda x: x[1:, ::2]),
    "getitem ints": (lambda x: x[0, :, 1] * x[1, :, 0], lambda x: x[0, :, 1] * x[1, :, 0]),
    "getitem array": (lambda x: x[np.array([0, 0, 1])], lambda x: x[torch.tensor([0, 0, 1])]),
    "cat": (lambda x: sg.cat([x, x * x], 1), lambda x: torch.cat([x, x * x], 1)),
}


@pytest.mark.parametrize("name", sorted(STRUCTURAL))
def test_reductions_indexing_cat(name, device):
    sg_fn, torch_fn = STRUCTURAL[name]
    x = np.random.default_rng(4).standard_normal((2, 3, 4))
    check_double_backward(sg_fn, torch_fn, [x], device)


def test_tanh_mlp(device):
    """A small network: the ops chained as a discriminator would chain them."""
    rng = np.random.default_rng(5)
    x, w1, w2 = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)

    def net(x, w1, w2, sigmoid, tanh):
        return sigmoid(tanh(x @ w1) @ w2)

    check_double_backward(
        lambda *xs: net(*xs, sg.sigmoid, sg.tanh),
        lambda *xs: net(*xs, torch.sigmoid, torch.tanh),
        [x, w1, w2],
        device,
    )


# ----------------------------------------------------------------------------------
# gradgradcheck: second derivatives against central differences
# ----------------------------------------------------------------------------------

COMPOSITES = {
    "softplus * tanh": (lambda x: sg.log(1 + sg.exp(x)) * sg.tanh(x), [(2, 3)]),
    "sigmoid(x @ w) / sqrt": (
        lambda x, w: sg.sigmoid(x @ w) / sg.sqrt(1 + x.mean(-1, keepdim=True) ** 2),
        [(3, 4), (4, 2)],
    ),
    "pow and where": (lambda a, b: sg.where(a > 0, a * b, b**2) ** 3, [(2, 3), (3,)]),
    "cat of slices": (lambda x: sg.cat([x[:, :1] * x[:, 1:], x.exp()], 1), [(2, 3)]),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_gradgradcheck(name, device):
    fn, input_shapes = COMPOSITES[name]
    rng = np.random.default_rng(6)
    values = [rng.uniform(0.2, 1.5, s) * rng.choice([-1, 1], s) for s in input_shapes]
    inputs = to_sg(values, device, dtype=np.float64)
    assert sg.gradgradcheck(fn, inputs)


# ----------------------------------------------------------------------------------
# backward(create_graph=True) leaves a differentiable .grad
# ----------------------------------------------------------------------------------


def critic(module, x, w):
    """D(x) = sum_j tanh(x @ w)_j per sample; module is scratchgen or torch."""
    return module.tanh(x @ w).sum(-1)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_grad_after_backward_with_create_graph(device):
    if torch is None:
        pytest.skip("torch is not installed")
    rng = np.random.default_rng(7)
    x_value, w_value = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    upstream = rng.standard_normal(3)

    x, w = to_sg([x_value, w_value], device)
    critic(sg, x, w).backward(sg.tensor(upstream, device=device), create_graph=True)
    assert x.grad.requires_grad and w.grad.requires_grad
    penalty = ((x.grad * x.grad).sum(-1) - 1) ** 2  # d/dx and d/dw of sum((dy/dx)^2 ...)
    penalty_grads = sg.autograd.grad(penalty.mean(), [x, w])

    tx, tw = to_torch([x_value, w_value])
    critic(torch, tx, tw).backward(torch.from_numpy(upstream), create_graph=True)
    their_penalty = ((tx.grad * tx.grad).sum(-1) - 1) ** 2
    their_grads = torch.autograd.grad(their_penalty.mean(), [tx, tw])

    assert_close(x.grad, tx.grad, "x.grad")
    assert_close(w.grad, tw.grad, "w.grad")
    for name, mine, ref in zip("xw", penalty_grads, their_grads):
        assert_close(mine, ref, f"penalty gradient of {name}")


def test_without_create_graph_gradients_are_constants(device):
    x = sg.tensor(np.array([0.5, 1.0, 2.0]), device=device, requires_grad=True)
    y = sg.tanh(x) * x
    y.backward(sg.ones(3, dtype=sg.float64, device=device))
    assert not x.grad.requires_grad and x.grad.grad_fn is None
    (g,) = sg.autograd.grad(sg.exp(x) * x, x, sg.ones(3, dtype=sg.float64, device=device))
    assert not g.requires_grad and g.grad_fn is None
    (g,) = sg.autograd.grad(
        sg.exp(x) * x, x, sg.ones(3, dtype=sg.float64, device=device), create_graph=True
    )
    assert g.requires_grad and g.grad_fn is not None
