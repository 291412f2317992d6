"""Moving a tensor to another dtype or device, differentiably.

cast:       y = x in dtype d.     dL/dx = dL/dy cast back to x's dtype.
to_device:  y = x on device d.    dL/dx = dL/dy moved back to x's device.
"""

from scratchgen import backend
from scratchgen.tensor import Function, Tensor


class Cast(Function):
    """y = x converted to another dtype."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.x_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return cast(gy, self.x_dtype)


class ToDevice(Function):
    """y = x copied to another device."""

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.x_device = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, gy):
        return to_device(gy, self.x_device)


def cast(x, dtype):
    """x as dtype (no copy, no graph node if it already is)."""
    dtype = backend.as_dtype(dtype)
    if x.dtype == dtype:
        return x
    if x.requires_grad and not backend.is_floating(dtype):
        return Tensor(x.data.astype(dtype))  # integers carry no gradient
    return Cast(dtype)(x)


def to_device(x, device):
    """x on device ("cpu" or "cuda")."""
    device = backend.parse_device(device)
    if x.device == device:
        return x
    return ToDevice(device)(x)
