"""Upsample: ``F.interpolate`` as a layer (no parameters), with torch's arguments."""

from scratchgen.nn import functional as F
from scratchgen.nn.module import Module


class Upsample(Module):
    """Resize (N, C, H, W) input to size or by scale_factor with mode "nearest" or
    "bilinear" (align_corners for bilinear only); see ``F.interpolate``.

    Upsample(scale_factor=2): (N, C, H, W) -> (N, C, 2H, 2W), each pixel repeated 2 x 2.
    """

    def __init__(
        self,
        size=None,
        scale_factor=None,
        mode="nearest",
        align_corners=None,
        recompute_scale_factor=None,
    ):
        super().__init__()
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor is not None else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x):
        return F.interpolate(
            x,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self):
        if self.scale_factor is not None:
            return f"scale_factor={self.scale_factor!r}, mode={self.mode!r}"
        return f"size={self.size!r}, mode={self.mode!r}"
