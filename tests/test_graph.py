"""The graph's life cycle: order of backward, accumulation, release, deep chains."""

import gc
import tracemalloc

import numpy as np
import pytest

import scratchgen as sg
from scratchgen.tensor import Function


def live_functions():
    """Graph nodes alive right now (found through the garbage collector's view)."""
    return sum(issubclass(type(obj), Function) for obj in gc.get_objects())


def test_node_used_many_times_gets_every_contribution(device):
    x = sg.tensor([1.5, -2.0], dtype=sg.float64, device=device, requires_grad=True)
    y = x * x  # used three times below
    z = y * y + y * 3.0 + y
    z.backward(sg.tensor([1.0, 2.0], dtype=sg.float64, device=device))
    # dz/dx = (2y + 4) * 2x, times the upstream gradient
    x_np = np.array([1.5, -2.0])
    expected = (2 * x_np**2 + 4) * 2 * x_np * np.array([1.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_diamond_graph_visits_each_node_once(device):
    x = sg.tensor(2.0, dtype=sg.float64, device=device, requires_grad=True)
    a = x.exp()
    b = a * 2.0
    c = a * 3.0
    (b + c).backward()
    np.testing.assert_allclose(x.grad.item(), 5 * np.exp(2.0))


def test_gradients_accumulate_across_backward_calls(device):
    x = sg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    (x * 2.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 + 2 * np.array([1.0, 2.0, 3.0]))


def test_backward_twice_through_freed_graph_says_retain_graph(device):
    x = sg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x.exp() * 2.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward(device):
    x = sg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x.exp() * 2.0).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_retain_grad_keeps_intermediate_gradient(device):
    x = sg.tensor([1.0, -1.0], device=device, requires_grad=True)
    h = (x * 3.0).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * np.array([3.0, -3.0]))
    assert h.is_leaf is False


def test_no_grad_records_nothing_and_enable_grad_restores(device):
    x = sg.ones(3, device=device, requires_grad=True)
    with sg.no_grad():
        y = x * 2
        assert not sg.is_grad_enabled()
        with sg.enable_grad():
            z = x * 2
    assert y.creator is None and not y.requires_grad
    assert z.creator is not None and z.requires_grad
    assert sg.is_grad_enabled()


def test_no_grad_as_decorator():
    @sg.no_grad()
    def double(t):
        return t * 2

    x = sg.ones(2, requires_grad=True)
    assert double(x).requires_grad is False


def test_detach_cuts_the_graph(device):
    x = sg.ones(2, device=device, requires_grad=True)
    doubled = x * 2
    y = doubled.detach()
    assert y.creator is None and not y.requires_grad
    assert y.data is doubled.data  # same values, no copy


def test_detached_branch_gets_no_gradient(device):
    x = sg.tensor([2.0], device=device, requires_grad=True)
    y = x * x.detach()  # only the first factor carries gradient
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0])


def test_backward_without_create_graph_gives_plain_gradients(device):
    x = sg.ones(3, device=device, requires_grad=True)
    (x.exp() * x).sum().backward()
    assert x.grad.requires_grad is False and x.grad.creator is None


def test_backward_runs_on_raw_arrays_without_recording(device):
    """Without create_graph no node of the gradient computation survives."""
    x = sg.ones(4, device=device, requires_grad=True)
    y = (x.tanh() * x.exp()).sum()
    before = live_functions()
    y.backward()
    assert x.grad.creator is None
    assert live_functions() <= before


def test_no_node_remains_after_del_without_the_cycle_collector(device):
    gc.collect()
    baseline = live_functions()
    gc.disable()
    try:
        x = sg.randn(8, 8, device=device, requires_grad=True)
        w = sg.randn(8, 8, device=device, requires_grad=True)
        loss = ((x @ w).tanh() * 2.0 + x).sum()
        assert live_functions() > baseline
        loss.backward()
        del loss
        assert live_functions() == baseline  # freed by reference counting alone
        y = (x.exp() * w).mean()  # a graph never differentiated dies too
        del y
        assert live_functions() == baseline
    finally:
        gc.enable()


def test_graph_through_retained_intermediate_is_released_after_backward(device):
    x = sg.randn(5, device=device, requires_grad=True)
    hidden = x.exp()
    loss = (hidden * 2.0).sum()
    loss.backward()
    # `hidden` is still referenced, but backward released the nodes' saved inputs
    assert not hasattr(hidden.creator, "inputs")


def test_training_loop_does_not_grow_memory():
    w = sg.randn(16, 16, requires_grad=True)
    x = sg.randn(4, 16)

    def step():
        loss = ((x @ w).tanh() ** 2).mean()
        loss.backward()
        with sg.no_grad():
            w.data -= 0.01 * w.grad.data
        w.grad = None

    for _ in range(200):  # warm up caches
        step()
    gc.collect()
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    for _ in range(10_000):
        step()
    gc.collect()
    end, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert end - start < 200_000, f"memory grew by {end - start} bytes over 10,000 steps"


def test_chain_100k_ops_deep_backward_and_release():
    x = sg.tensor([1.0], dtype=sg.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])
    del y  # freeing a deep chain must not overflow the C stack


def test_chain_100k_deep_freed_without_backward():
    x = sg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0.0
    del y


def test_grad_returns_without_accumulating(device):
    x = sg.tensor([1.0, 2.0], dtype=sg.float64, device=device, requires_grad=True)
    y = (x**3).sum()
    (g,) = sg.autograd.grad(y, x)
    np.testing.assert_allclose(g.numpy(), 3 * np.array([1.0, 4.0]))
    assert x.grad is None


def test_grad_of_intermediate_tensor(device):
    x = sg.tensor([1.0, 2.0], dtype=sg.float64, device=device, requires_grad=True)
    h = x * 2.0
    y = (h * h).sum()
    gh, gx = sg.autograd.grad(y, [h, x])
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())
    np.testing.assert_allclose(gx.numpy(), 8 * x.numpy())


def test_grad_unused_input_is_an_error_unless_allowed(device):
    x = sg.ones(2, device=device, requires_grad=True)
    unused = sg.ones(2, device=device, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        sg.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = sg.autograd.grad(y, [x, unused], allow_unused=True)
    assert gu is None


def test_double_backward_through_backward_create_graph(device):
    x = sg.tensor([0.5, -1.0], dtype=sg.float64, device=device, requires_grad=True)
    y = (x**3).sum()
    (g,) = sg.autograd.grad(y, x, create_graph=True)  # 3x^2
    assert g.requires_grad
    (g * g).sum().backward()  # d/dx sum(9x^4) = 36 x^3
    np.testing.assert_allclose(x.grad.numpy(), 36 * np.array([0.5, -1.0]) ** 3)


def test_custom_function_with_wrong_gradient_shape_is_named():
    class Broken(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return gy.sum()

    x = sg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Broken.backward"):
        Broken()(x).sum().backward()


def test_multi_output_function_with_a_dropped_output(device):
    class SplitHalves(Function):
        """(a, b) = (x[:2], x[2:]).  dL/dx = cat(g_a, g_b)."""

        def forward(self, x):
            return x[:2], x[2:]

        def backward(self, grad_a, grad_b):
            return sg.cat([grad_a, grad_b])

    x = sg.tensor([1.0, 2.0, 3.0, 4.0], device=device, requires_grad=True)
    first = SplitHalves()(x)[0]  # the second output is garbage at once
    (first * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0, 0.0, 0.0])
