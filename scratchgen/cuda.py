"""``sg.cuda``: is a GPU usable, and waiting for it."""

from scratchgen import backend


def is_available():
    """True when CuPy is installed and sees a GPU."""
    return backend.cuda_available()


def device_count():
    """The number of GPUs CuPy sees (0 without CuPy)."""
    return backend.cupy.cuda.runtime.getDeviceCount() if is_available() else 0


def synchronize():
    """Wait until the GPU has finished its queued work (for timing)."""
    if is_available():
        backend.cupy.cuda.get_current_device().synchronize()
