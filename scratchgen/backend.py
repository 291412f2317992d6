"""Array backends: NumPy on the CPU, CuPy on an NVIDIA GPU.

Every tensor holds a raw array of one of the two libraries. Code that computes on
tensor data never imports numpy or cupy itself: it asks this module for the array
module (``xp``) of the arrays it holds, so the same line runs on both devices.

Devices are named ``"cpu"`` and ``"cuda"`` (``"gpu"`` and ``"cuda:0"`` are accepted).
"""

import numpy

try:  # CuPy is optional: the "gpu" extra installs it.
    import cupy
except ImportError:  # pragma: no cover - depends on the machine
    cupy = None

float16 = numpy.dtype("float16")
float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")

DEVICES = ("cpu", "cuda")
_DEVICE_ALIASES = {"cpu": "cpu", "cuda": "cuda", "gpu": "cuda", "cuda:0": "cuda"}


def cuda_available():
    """True when CuPy is installed and can see at least one GPU."""
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy present, driver or GPU missing
        return False


def parse_device(device):
    """Normalise a device name to "cpu" or "cuda"; raise a clear error otherwise."""
    if device is None:
        return "cpu"
    name = str(device).lower()
    if name not in _DEVICE_ALIASES:
        raise ValueError(
            f"device: expected one of 'cpu', 'cuda' (alias 'gpu'), got {device!r}"
        )
    name = _DEVICE_ALIASES[name]
    if name == "cuda" and not cuda_available():
        reason = "CuPy is not installed" if cupy is None else "CuPy finds no GPU"
        raise RuntimeError(
            f"device: 'cuda' was asked for but {reason}; "
            "install the 'gpu' extra on a machine with an NVIDIA GPU, or use device='cpu'"
        )
    return name


def array_module(device):
    """The array library for a device: numpy for "cpu", cupy for "cuda"."""
    return cupy if parse_device(device) == "cuda" else numpy


def get_array_module(array):
    """The array library an array belongs to (numpy or cupy)."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        return cupy
    return numpy


def device_of(array):
    """"cuda" for a CuPy array, "cpu" for anything else."""
    return "cuda" if get_array_module(array) is not numpy else "cpu"


def to_device(array, device):
    """Copy an array to a device (no copy when it is already there)."""
    device = parse_device(device)
    if device_of(array) == device:
        return array
    if device == "cuda":
        return cupy.asarray(array)
    return cupy.asnumpy(array)


def to_numpy(array):
    """A NumPy view (CPU) or host copy (GPU) of an array."""
    if get_array_module(array) is numpy:
        return numpy.asarray(array)
    return cupy.asnumpy(array)


def scatter_add(target, indices, values):
    """target[indices] += values, adding repeated indices once per occurrence (in place)."""
    if get_array_module(target) is numpy:
        numpy.add.at(target, indices, values)
    else:
        import cupyx

        cupyx.scatter_add(target, indices, values)


def is_floating(dtype):
    """True for the floating-point dtypes (the ones that can carry gradients)."""
    return numpy.dtype(dtype).kind == "f"


def as_dtype(dtype):
    """A numpy dtype from a dtype-like (sg.float32, "float64", numpy.float32, ...)."""
    try:
        return numpy.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype: expected a dtype such as sg.float32, got {dtype!r}") from error


def result_dtype(*dtypes):
    """The dtype NumPy's promotion rules give to an operation on these dtypes."""
    return numpy.result_type(*dtypes)


# One random generator per device, so runs are reproducible after manual_seed.
_generators = {}


def generator(device):
    """The random generator of a device (NumPy Generator or CuPy Generator)."""
    device = parse_device(device)
    if device not in _generators:
        _generators[device] = _new_generator(device, seed=None)
    return _generators[device]


def manual_seed(seed):
    """Reseed the generators of every device."""
    _generators["cpu"] = _new_generator("cpu", seed)
    if cuda_available():
        _generators["cuda"] = _new_generator("cuda", seed)


def _new_generator(device, seed):
    if device == "cuda":
        return cupy.random.default_rng(seed)
    return numpy.random.default_rng(seed)
