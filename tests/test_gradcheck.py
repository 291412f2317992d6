"""The gradient checker itself: it passes right gradients and catches wrong ones."""

import pytest

import scratchgen as sg
from scratchgen import backend
from scratchgen.tensor import Function


class ExpWithPlantedBug(Function):
    """e^x with a gradient 1% too large."""

    def forward(self, x):
        return backend.get_array_module(x).exp(x)

    def backward(self, gy):
        return gy * self.output() * 1.01


class SoftmaxWithPlantedBug(Function):
    """softmax with the gradient of e^x / sum(e^x) wrongly missing its coupling term.

    Its outputs sum to 1, so a check through sum() sees 0 == 0 and can never fail; the
    random upstream gradient of sg.gradcheck exposes it.
    """

    def forward(self, x):
        xp = backend.get_array_module(x)
        e = xp.exp(x - x.max())
        return e / e.sum()

    def backward(self, gy):
        y = self.output()
        return gy * y  # the right answer is y * (gy - sum(gy * y))


def float64_input(*shape, device="cpu"):
    return sg.randn(*shape, dtype=sg.float64, device=device, requires_grad=True)


def test_right_gradients_pass(device):
    x = float64_input(3, 4, device=device)
    assert sg.gradcheck(lambda t: (t.tanh() * t).exp(), [x]) is True


def test_planted_wrong_gradient_is_caught_with_a_clear_message(device):
    x = float64_input(2, 3, device=device)
    with pytest.raises(sg.GradcheckError) as caught:
        sg.gradcheck(lambda t: ExpWithPlantedBug()(t), [x])
    message = str(caught.value)
    assert "input 0" in message and "(2, 3)" in message
    assert "analytic" in message and "numerical" in message


def test_random_upstream_catches_what_sum_cannot(device):
    x = float64_input(5, device=device)
    # through sum(), both gradients are zero: the bug is invisible
    (SoftmaxWithPlantedBug()(x)).sum().backward()
    assert abs(x.grad.numpy()).max() > 0  # wrong gradient, but...
    y = x.detach().requires_grad_()
    with pytest.raises(sg.GradcheckError):
        sg.gradcheck(lambda t: SoftmaxWithPlantedBug()(t), [y])


def test_raise_exception_false_returns_false(device):
    x = float64_input(3, device=device)
    assert sg.gradcheck(lambda t: ExpWithPlantedBug()(t), [x], raise_exception=False) is False


def test_gradcheck_names_the_wrong_input_among_several(device):
    a = float64_input(2, device=device)
    b = float64_input(2, device=device)
    with pytest.raises(sg.GradcheckError, match="input 1"):
        sg.gradcheck(lambda s, t: s * ExpWithPlantedBug()(t), [a, b])


def test_gradgradcheck_passes_and_catches(device):
    x = float64_input(3, device=device)
    assert sg.gradgradcheck(lambda t: t.sigmoid() * t * t, [x])
    with pytest.raises(sg.GradcheckError):
        sg.gradgradcheck(lambda t: ExpWithPlantedBug()(t) * t, [x])


def test_gradcheck_leaves_inputs_untouched(device):
    x = float64_input(4, device=device)
    before = x.numpy().copy()
    sg.gradcheck(lambda t: t.exp(), [x])
    assert (x.numpy() == before).all() and x.grad is None


def test_non_tensor_inputs_pass_through(device):
    x = float64_input(3, device=device)
    assert sg.gradcheck(lambda t, k: t**k, [x, 3])
