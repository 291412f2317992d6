"""Data augmentation on batches of Tensors: random shifts of the digits.

Used in training steps (the classifier, the VAE): each call draws fresh offsets from
the device's generator, so a checkpoint's random state covers them.
"""

from scratchgen import backend
from scratchgen.tensor import Tensor


def random_shift(images, shift):
    """Each image moved by up to ``shift`` pixels in x and y, zeros coming in at the edges.

    The image is zero-padded by ``shift`` and a window of the original size is cropped at
    a random offset per image (one gather, no loop over the batch).
    """
    if shift == 0:
        return images
    array = images.data
    xp = backend.get_array_module(array)
    n, channels, height, width = array.shape
    padded = xp.pad(array, ((0, 0), (0, 0), (shift, shift), (shift, shift)))
    offsets = backend.generator(images.device).integers(0, 2 * shift + 1, size=(n, 2))
    offsets = xp.asarray(offsets)
    rows = offsets[:, 0, None] + xp.arange(height)  # (n, height)
    cols = offsets[:, 1, None] + xp.arange(width)  # (n, width)
    batch = xp.arange(n)[:, None, None, None]
    channel = xp.arange(channels)[None, :, None, None]
    shifted = padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
    return Tensor(shifted)
