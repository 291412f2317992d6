"""Reshaping layers: Flatten, Unflatten, PixelShuffle and PixelUnshuffle."""

import math

from scratchgen.nn import functional as F
from scratchgen.nn.module import Module


class Flatten(Module):
    """Merge the axes start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis dim into unflattened_size (one size may be -1).

    Unflatten(1, (64, 7, 7)): (N, 3136) -> (N, 64, 7, 7).
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x):
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(
                f"Unflatten: dim {self.dim} is out of range for input of shape {x.shape}"
            )
        dim = self.dim % x.ndim
        known = math.prod(size for size in self.unflattened_size if size != -1)
        if -1 in self.unflattened_size:
            fits = known > 0 and x.shape[dim] % known == 0
        else:
            fits = x.shape[dim] == known
        if not fits:
            raise ValueError(
                f"Unflatten: cannot split axis {dim} of size {x.shape[dim]} into "
                f"{self.unflattened_size}"
            )
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1 :])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r), r = upscale_factor (see ``F.pixel_shuffle``):
    sub-pixel convolution's upsampling, channels moved into space."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x):
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W), r = downscale_factor: PixelShuffle undone."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x):
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
