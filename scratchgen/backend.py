"""Array backends: NumPy on the CPU, CuPy on an NVIDIA GPU.

Every tensor holds a raw array of one of the two libraries. Code that computes on
tensor data never imports numpy or cupy itself: it asks this module for the array
module (``xp``) of the arrays it holds, so the same line runs on both devices.

Devices are named ``"cpu"`` and ``"cuda"`` (``"gpu"`` and ``"cuda:0"`` are accepted), or
given as ``Device`` objects (``sg.device("cuda")``, torch's spelling); ``parse_device`` turns
either into the name ``"cpu"`` or ``"cuda"``, the one form the rest of the code compares.
"""

import numpy

try:  # CuPy is optional: the "gpu" extra installs it.
    import cupy
except ImportError:  # pragma: no cover - depends on the machine
    cupy = None


def _keep_freed_memory_for_reuse():
    """Ask glibc's malloc to keep freed blocks instead of returning them to the system.

    NumPy allocates every array with malloc. By default glibc serves blocks above a
    threshold with fresh mmap pages and gives freed memory back at once, so each training
    step page-faults again over all its activations (measured: a quarter of a DCGAN step
    on the CPU). PyTorch avoids this with its own caching allocator; here three mallopt
    settings do the same: blocks up to 32 MiB come from the heap (M_MMAP_THRESHOLD), the
    heap is not trimmed (M_TRIM_THRESHOLD) and grows in 64 MiB steps (M_TOP_PAD). The
    process keeps its peak memory, as PyTorch's does. Set SCRATCHGEN_SYSTEM_MALLOC=1 to
    leave malloc alone. No effect off Linux/glibc.
    """
    import ctypes
    import ctypes.util
    import os
    import sys

    if os.environ.get("SCRATCHGEN_SYSTEM_MALLOC") or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    mallopt(m_mmap_threshold, 32 * 2**20)
    mallopt(m_trim_threshold, 2**30)
    mallopt(m_top_pad, 64 * 2**20)


_keep_freed_memory_for_reuse()

float16 = numpy.dtype("float16")
float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")

DEVICES = ("cpu", "cuda")
_DEVICE_ALIASES = {"cpu": "cpu", "cuda": "cuda", "gpu": "cuda"}


class Device:
    """A device as torch spells it: ``sg.device("cpu")``, ``sg.device("cuda")``, ``"cuda:0"``.

        sg.device("cuda:0").type     # "cuda" ("gpu" is read as "cuda" too)
        sg.device("cuda:0").index    # 0 (None when the name has no index)
        str(sg.device("cuda:0"))     # "cuda:0";  repr: device(type='cuda', index=0)
        sg.device("cuda", 0)         # the same device

    Making one checks the name only, as in torch; computing on "cuda" without a GPU raises
    the clear error of ``parse_device``. scratchgen drives one GPU, so the index is None or 0
    and both name the same GPU.

    ``Tensor.device`` stays the string "cpu" / "cuda" (the name every layer compares).
    A Device equals the strings that name it ("cuda", "gpu", "cuda:0") and any Device of
    its type, and hashes as its type string, so ``x.device == sg.device("cuda")`` and a
    dict keyed by ``x.device`` finds the entry of ``sg.device("cuda")``. (torch differs
    here: its device never equals a string, and "cuda" differs from "cuda:0".)
    """

    __slots__ = ("_type", "_index")

    def __init__(self, type, index=None):  # `type`, shadowing the builtin: torch's name
        if isinstance(type, Device):
            type = str(type)
        try:
            self._type, self._index = _read_device_name(type, index)
        except ValueError as error:
            raise RuntimeError(str(error)) from None  # torch.device raises RuntimeError

    @property
    def type(self):
        """ "cpu" or "cuda"."""
        return self._type

    @property
    def index(self):
        """None or 0 (the one GPU)."""
        return self._index

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self):
        index = "" if self._index is None else f", index={self._index}"
        return f"device(type='{self._type}'{index})"

    def __eq__(self, other):
        if isinstance(other, str) and is_device(other):
            other = Device(other)
        if not isinstance(other, Device):
            return NotImplemented
        return self._type == other.type

    def __hash__(self):
        return hash(self._type)


def _read_device_name(name, index):
    """(type, index) of a device name such as "cuda:0"; ValueError naming the problem."""
    text = str(name).lower()
    kind, colon, number = text.partition(":")
    if kind not in _DEVICE_ALIASES or (colon and not number.isdigit()):
        raise ValueError(f"device: expected one of 'cpu', 'cuda' (alias 'gpu'), got {name!r}")
    if colon and index is not None:
        raise ValueError(f"device: got an index in {name!r} and index={index!r}; give one")
    index = int(number) if colon else index
    if index is not None and (isinstance(index, bool) or index != 0):
        raise ValueError(
            f"device: expected index None or 0 (scratchgen drives one GPU), got {index!r}"
        )
    return _DEVICE_ALIASES[kind], index


def is_device(value):
    """Whether value names a device (a Device, or a string such as "cuda:0"), not a dtype."""
    if isinstance(value, Device):
        return True
    if not isinstance(value, str):
        return False
    try:
        _read_device_name(value, None)
    except ValueError:
        return False
    return True


def cuda_available():
    """True when CuPy is installed and can see at least one GPU."""
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy present, driver or GPU missing
        return False


def parse_device(device):
    """Normalise a device (None, a name, a Device) to "cpu" or "cuda"; raise a clear error."""
    if device is None:
        return "cpu"
    name = device.type if isinstance(device, Device) else _read_device_name(device, None)[0]
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
    """ "cuda" for a CuPy array, "cpu" for anything else."""
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


def format_array(array, prefix):
    """The values of an array as text, continuation lines aligned after prefix."""
    return numpy.array2string(to_numpy(array), separator=", ", prefix=prefix)


def scatter_add(target, indices, values):
    """target[indices] += values, adding repeated indices once per occurrence (in place).

    NumPy's add.at handles any index but one element at a time. The common case, one
    integer array picking rows (the gradient of an embedding or of x[rows]), goes through
    _scatter_add_rows instead: 7 times faster on the CLIP text encoder's embedding.
    """
    if get_array_module(target) is not numpy:
        import cupyx

        cupyx.scatter_add(target, indices, values)
    elif _picks_rows(target, indices, values):
        _scatter_add_rows(target, indices[0].reshape(-1), values)
    else:
        numpy.add.at(target, indices, values)


def _picks_rows(target, indices, values):
    """Whether indices is one integer array of in-range rows and values one row per index."""
    if len(indices) != 1 or not isinstance(indices[0], numpy.ndarray):
        return False
    rows = indices[0]
    if rows.dtype.kind not in "iu" or rows.size == 0:
        return False
    in_range = -target.shape[0] <= rows.min() and rows.max() < target.shape[0]
    return in_range and values.shape == rows.shape + target.shape[1:]


def _scatter_add_rows(target, rows, values):
    """target[rows] += values row by row, repeated rows summed first:

    sort the rows, sum each run of equal rows with add.reduceat, add each sum once.
    """
    rows = rows % target.shape[0]  # -1 and n-1 are the same row
    values = values.reshape(rows.size, -1)
    order = numpy.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    run_starts = numpy.flatnonzero(numpy.diff(sorted_rows, prepend=-1))
    run_sums = numpy.add.reduceat(values[order], run_starts, axis=0)
    target[sorted_rows[run_starts]] += run_sums.reshape(-1, *target.shape[1:])


def sigmoid(array):
    """s = 1 / (1 + e^-x) on a raw array, in place in one buffer (four passes over it).

    Below x = -88.7 (float32; -709.8 in float64) e^-x overflows to inf and 1 / (1 + inf) is
    0, the exact limit, so NumPy's overflow warning is silenced rather than the exponent
    capped (CuPy does not warn). On 64x64x16x16 float32 (best of 7, 2-core CPU, beside a
    training run): 1.9 ms, against 2.4 with the exponent capped at 80 (one more pass) and 5.6
    with e^-|x| blended by sign (nine passes, Sigmoid's forward before).
    """
    xp = get_array_module(array)
    s = xp.negative(array, out=xp.empty_like(array))  # an array even for 0-d input
    with numpy.errstate(over="ignore"):
        xp.exp(s, out=s)
    s += 1
    xp.reciprocal(s, out=s)
    return s


def erf(array):
    """The error function erf(x) = 2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt.

    CuPy has it (cupyx.scipy.special.erf). NumPy does not and SciPy is no dependency, so
    on the CPU this evaluates W. J. Cody's rational approximations (Math. Comp. 23 (1969)
    631-637, the CALERF routine of SPECFUN; relative error below 1e-16 in float64):
        |x| <= 0.46875:       erf(x)    = x A(x^2) / B(x^2)
        0.46875 < |x| <= 4:   erfc(|x|) = exp(-x^2) C(|x|) / D(|x|)
        |x| > 4:              erfc(|x|) = exp(-x^2) / |x| (1/sqrt(pi) - z P(z) / Q(z)),
                              z = 1 / x^2,
    and erf(x) = sign(x) (1 - erfc(|x|)); A..Q are polynomials (coefficients below, highest
    power first). All three are evaluated on every element (cheaper in NumPy than boolean
    indexing) and the right one picked per element, block by block; float64 inside, the
    input's dtype out. About 10x slower than torch.erf on one core, fine for teaching.
    """
    if get_array_module(array) is not numpy:
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(array)
    a = (
        1.85777706184603153e-1,
        3.16112374387056560e00,
        1.13864154151050156e02,
        3.77485237685302021e02,
        3.20937758913846947e03,
    )
    b = (
        1.0,
        2.36012909523441209e01,
        2.44024637934444173e02,
        1.28261652607737228e03,
        2.84423683343917062e03,
    )
    c = (
        2.15311535474403846e-8,
        5.64188496988670089e-1,
        8.88314979438837594e00,
        6.61191906371416295e01,
        2.98635138197400131e02,
        8.81952221241769090e02,
        1.71204761263407058e03,
        2.05107837782607147e03,
        1.23033935479799725e03,
    )
    d = (
        1.0,
        1.57449261107098347e01,
        1.17693950891312499e02,
        5.37181101862009858e02,
        1.62138957456669019e03,
        3.29079923573345963e03,
        4.36261909014324716e03,
        3.43936767414372164e03,
        1.23033935480374942e03,
    )
    p = (
        1.63153871373020978e-2,
        3.05326634961232344e-1,
        3.60344899949804439e-1,
        1.25781726111229246e-1,
        1.60837851487422766e-2,
        6.58749161529837803e-4,
    )
    q = (
        1.0,
        2.56852019228982242e00,
        1.87295284992346047e00,
        5.27905102951428412e-1,
        6.05183413124413191e-2,
        2.33520497626869185e-3,
    )

    def polynomial(coefficients, t):  # Horner's rule, in place on one new array
        value = t * coefficients[0]
        value += coefficients[1]
        for coefficient in coefficients[2:]:
            value *= t
            value += coefficient
        return value

    def erf_block(x):
        y = numpy.abs(x)
        ys = numpy.minimum(y, 0.46875)  # each interval sees its inputs clipped to its range
        ym = numpy.clip(y, 0.46875, 4.0)
        yt = numpy.clip(y, 4.0, 6.0)  # erfc(6) < 2.2e-17: 1 - erfc rounds to 1 beyond
        z = 1.0 / (yt * yt)
        erf_small = ys * polynomial(a, ys * ys) / polynomial(b, ys * ys)
        erfc_middle = numpy.exp(-ym * ym) * polynomial(c, ym) / polynomial(d, ym)
        tail = 1.0 / numpy.sqrt(numpy.pi) - z * polynomial(p, z) / polynomial(q, z)
        erfc_tail = numpy.exp(-yt * yt) / yt * tail
        middle = y <= 4.0  # masks as 0/1 weights: numpy.where is slow on random masks
        small = y <= 0.46875
        erfc = middle * erfc_middle + ~middle * erfc_tail
        return numpy.copysign(small * erf_small + ~small * (1.0 - erfc), x)

    array = numpy.asarray(array)
    x = array.astype(float64).reshape(-1)
    result = numpy.empty_like(x)
    block = 16384  # blocks whose temporaries stay in cache: 3x faster than whole-array passes
    for start in range(0, x.size, block):
        result[start : start + block] = erf_block(x[start : start + block])
    return result.reshape(array.shape).astype(array.dtype, copy=False)


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


def get_rng_state():
    """The CPU generator's state, a dict of ints, to store in a checkpoint.

    Together with ``set_rng_state`` it makes a resumed run draw the same random numbers
    (dropout masks, noise) as an uninterrupted one.
    """
    return generator("cpu").bit_generator.state


def set_rng_state(state):
    """Restore the CPU generator's state saved by ``get_rng_state``."""
    generator("cpu").bit_generator.state = state


def _new_generator(device, seed):
    if device == "cuda":
        return cupy.random.default_rng(seed)
    return numpy.random.default_rng(seed)
