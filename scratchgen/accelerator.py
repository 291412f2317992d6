"""``sg.accelerator``: torch's device-agnostic view of the GPU (``torch.accelerator``).

    device = sg.accelerator.current_accelerator(check_available=True) or sg.device("cpu")
    model.to(device)

scratchgen's one accelerator is CUDA through CuPy. Installed CuPy plays the part of a torch
build with CUDA: ``current_accelerator()`` names "cuda" when CuPy is importable, and with
``check_available=True`` only when CuPy also sees a GPU (as torch checks at run time).
"""

from scratchgen import backend, cuda


def is_available():
    """True when a GPU is usable (CuPy installed and a GPU seen)."""
    return cuda.is_available()


def current_accelerator(check_available=False):
    """``sg.device("cuda")`` where CuPy is installed (and, with check_available, a GPU
    usable); None otherwise."""
    present = is_available() if check_available else backend.cupy is not None
    return backend.Device("cuda") if present else None


def device_count():
    """The number of GPUs seen (0 without CuPy or a GPU)."""
    return cuda.device_count()
