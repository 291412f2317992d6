"""Bad input gets a clear error naming the op, what it expected and what it got."""

import numpy as np
import pytest

import scratchgen as sg


def test_backward_on_non_scalar_without_grad(device):
    y = sg.ones(2, 3, device=device, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"backward: .*one element.*\(2, 3\)"):
        y.backward()


def test_backward_grad_of_wrong_shape(device):
    y = sg.ones(2, 3, device=device, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"backward: grad must have .*\(2, 3\).*\(3,\)"):
        y.backward(sg.ones(3, device=device))


def test_backward_on_tensor_without_graph(device):
    with pytest.raises(RuntimeError, match="backward: the tensor does not require grad"):
        sg.ones(1, device=device).backward()


def test_integer_tensors_cannot_require_grad(device):
    with pytest.raises(TypeError, match="requires_grad: only floating-point.*int64"):
        sg.tensor([1, 2, 3], device=device, requires_grad=True)
    with pytest.raises(TypeError, match="int64"):
        sg.arange(3, device=device).requires_grad_()


def test_matmul_shape_mismatch(device):
    a = sg.ones(3, 4, device=device)
    b = sg.ones(5, 6, device=device)
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 6\)"):
        a @ b


def test_broadcast_mismatch(device):
    with pytest.raises(ValueError, match=r"add: cannot broadcast shapes \(3, 4\) and \(5,\)"):
        sg.ones(3, 4, device=device) + sg.ones(5, device=device)


def test_two_devices_in_one_op():
    if not sg.cuda.is_available():
        pytest.skip("needs a GPU to put two tensors on two devices")
    with pytest.raises(RuntimeError, match="one device.*cpu and cuda"):
        sg.ones(2) + sg.ones(2, device="cuda")


def test_cuda_without_cupy_or_gpu_is_a_clear_error():
    if sg.cuda.is_available():
        pytest.skip("a GPU is available here")
    with pytest.raises(RuntimeError, match="device: 'cuda' was asked for but"):
        sg.ones(2, device="cuda")


def test_unknown_device_name():
    with pytest.raises(ValueError, match="device: expected one of 'cpu', 'cuda'.*'tpu'"):
        sg.ones(2, device="tpu")


def test_gradcheck_wants_float64():
    x = sg.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match="gradcheck: input 0 has dtype float32"):
        sg.gradcheck(lambda t: t * 2, [x])


def test_numpy_operand_on_left_dispatches_to_tensor(device):
    x = sg.ones(3, device=device, requires_grad=True)
    if device == "cpu":
        y = np.full(3, 2.0, dtype=np.float32) * x
        assert isinstance(y, sg.Tensor) and y.requires_grad
