"""Making tensors: from data, filled with constants, random, ranges.

Floating-point data defaults to float32 (as in torch); NumPy arrays keep their dtype.
"""

from scratchgen import backend
from scratchgen.tensor import Tensor


def _shape(size, op_name):
    """Accept zeros(2, 3) and zeros((2, 3)); sizes must be non-negative ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    if not all(hasattr(s, "__index__") and not isinstance(s, bool) and s >= 0 for s in size):
        raise ValueError(f"{op_name}: expected sizes that are non-negative ints, got {size}")
    return tuple(int(s) for s in size)


def _float_dtype(dtype):
    return backend.float32 if dtype is None else backend.as_dtype(dtype)


def _random_float_dtype(dtype, op_name):
    dtype = _float_dtype(dtype)
    if not backend.is_floating(dtype):
        raise TypeError(f"{op_name}: expected a floating-point dtype, got {dtype}")
    return dtype


def tensor(data, dtype=None, device="cpu", requires_grad=False):
    """A new tensor holding a copy of data (a number, nested lists, or an array)."""
    xp = backend.array_module(device)
    if isinstance(data, Tensor):
        data = data.data
    dtype = None if dtype is None else backend.as_dtype(dtype)
    from_array = hasattr(data, "dtype")
    try:
        array = xp.array(backend.to_device(data, device) if from_array else data, dtype=dtype)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"tensor: expected rectangular data, got {error}") from error
    if dtype is None and not from_array and array.dtype == backend.float64:
        array = array.astype(backend.float32)
    return Tensor(array, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device="cpu"):
    """data as a tensor, sharing memory with an array when dtype and device allow."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if dtype else data.to(device)
    if hasattr(data, "dtype") and (dtype is None or data.dtype == dtype):
        return Tensor(backend.to_device(data, device))
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A CPU tensor sharing memory with a NumPy array."""
    return Tensor(array)


def zeros(*size, dtype=None, device="cpu", requires_grad=False):
    """A tensor of zeros."""
    xp = backend.array_module(device)
    return Tensor(xp.zeros(_shape(size, "zeros"), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device="cpu", requires_grad=False):
    """A tensor of ones."""
    xp = backend.array_module(device)
    return Tensor(xp.ones(_shape(size, "ones"), dtype=_float_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, device="cpu", requires_grad=False):
    """A tensor filled with one value; its dtype follows the value's (bool, int64, float32)."""
    if dtype is None and isinstance(fill_value, bool):
        dtype = backend.bool_
    elif dtype is None and isinstance(fill_value, int):
        dtype = backend.int64
    xp = backend.array_module(device)
    array = xp.full(_shape((size,), "full"), fill_value, dtype=_float_dtype(dtype))
    return Tensor(array, requires_grad)


def empty(*size, dtype=None, device="cpu", requires_grad=False):
    """An uninitialised tensor."""
    xp = backend.array_module(device)
    return Tensor(xp.empty(_shape(size, "empty"), dtype=_float_dtype(dtype)), requires_grad)


def rand(*size, dtype=None, device="cpu", requires_grad=False):
    """Uniform random numbers in [0, 1)."""
    dtype = _random_float_dtype(dtype, "rand")
    array = backend.generator(device).random(_shape(size, "rand"), dtype=dtype)
    return Tensor(array, requires_grad)


def randn(*size, dtype=None, device="cpu", requires_grad=False):
    """Standard normal random numbers."""
    dtype = _random_float_dtype(dtype, "randn")
    array = backend.generator(device).standard_normal(_shape(size, "randn"), dtype=dtype)
    return Tensor(array, requires_grad)


def randint(low, high, size=None, device="cpu", dtype=None):
    """Random integers in [low, high); randint(high, size) draws from [0, high), as torch."""
    if size is None:
        low, high, size = 0, low, high
    if low >= high:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    array = backend.generator(device).integers(low, high, size=_shape((size,), "randint"))
    return Tensor(array.astype(dtype or backend.int64))


def randperm(n, device="cpu"):
    """A random permutation of 0..n-1."""
    return Tensor(backend.generator(device).permutation(n).astype(backend.int64))


def arange(start, end=None, step=1, dtype=None, device="cpu", requires_grad=False):
    """Evenly spaced values in [start, end); integers if all arguments are integers."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: expected a non-zero step, got 0")
    xp = backend.array_module(device)
    array = xp.arange(start, end, step)
    if dtype is not None:
        array = array.astype(dtype)
    elif array.dtype == backend.float64:
        array = array.astype(backend.float32)
    return Tensor(array, requires_grad)


def linspace(start, end, steps, dtype=None, device="cpu", requires_grad=False):
    """steps values from start to end inclusive."""
    xp = backend.array_module(device)
    return Tensor(xp.linspace(start, end, steps, dtype=_float_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, device="cpu", requires_grad=False):
    """The identity matrix."""
    xp = backend.array_module(device)
    return Tensor(xp.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def _like(x, dtype, device):
    return dict(dtype=dtype or x.dtype, device=device or x.device)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    return zeros(x.shape, **_like(x, dtype, device), requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    return ones(x.shape, **_like(x, dtype, device), requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return full(x.shape, fill_value, **_like(x, dtype, device), requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    return empty(x.shape, **_like(x, dtype, device), requires_grad=requires_grad)


def rand_like(x, dtype=None, device=None, requires_grad=False):
    return rand(x.shape, **_like(x, dtype, device), requires_grad=requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad=False):
    return randn(x.shape, **_like(x, dtype, device), requires_grad=requires_grad)


def manual_seed(seed):
    """Seed every device's random generator (for reproducible runs)."""
    backend.manual_seed(seed)
