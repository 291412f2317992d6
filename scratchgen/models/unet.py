"""The U-Net of pix2pix (Ronneberger et al., 2015; Isola et al., 2017), and its pieces.

An encoder of stride-2 4x4 convolutions halves the image at every level; a decoder of
stride-2 4x4 transposed convolutions doubles it back. With skips, each up's output is
concatenated with the encoder's feature of the same size (channels double), so the
fine detail the encoder has squeezed out comes back in a single hop:

    e_1 = down_1(x), e_l = down_l(e_{l-1})                       l = 2 .. L (innermost)
    h_1 = up_1(e_L), h_j = up_j([e_{L+1-j}, h_{j-1}])            j = 2 .. L (skips)
                     h_j = up_j(h_{j-1})                                    (no skips)

    down: LeakyReLU(0.2) Conv(4, s2, p1) norm      (first: no LeakyReLU, no norm;
                                                    innermost: no norm)
    up:   ReLU ConvT(4, s2, p1) norm Dropout(p)    (dropout in the two innermost ups;
                                                    outermost: ReLU ConvT Tanh)

as junyanz/pytorch-CycleGAN-and-pix2pix's UnetSkipConnectionBlock. A convolution has a
bias only where no batch norm follows (the norm's shift would cancel it).
"""

import scratchgen as sg
from scratchgen import nn

NORMS = ("batch", "instance")
INNER_DROPOUT_UPS = 2  # the innermost ups that carry dropout


def norm_layer(kind, channels):
    """BatchNorm2d(channels) for "batch"; InstanceNorm2d(channels) (no affine, no running
    statistics, as pix2pix) for "instance"."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels)
    raise ValueError(f"norm: expected one of {NORMS}, got {kind!r}")


def conv_bias(norm):
    """Whether a convolution followed by ``norm`` (None: none) needs its own bias."""
    return norm != "batch"


class UNetDown(nn.Sequential):
    """One encoder level, (N, in, H, W) -> (N, out, H/2, W/2):
    LeakyReLU(0.2) (if ``activation``) Conv2d(4, stride 2, padding 1) norm (if any)."""

    def __init__(self, in_channels, out_channels, norm=None, activation=True):
        layers = [nn.LeakyReLU(0.2)] if activation else []
        layers.append(nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=conv_bias(norm)))
        if norm is not None:
            layers.append(norm_layer(norm, out_channels))
        super().__init__(*layers)


class UNetUp(nn.Sequential):
    """One decoder level, (N, in, H, W) -> (N, out, 2H, 2W):
    ReLU ConvTranspose2d(4, 2, 1) norm (if any) Dropout(dropout) (if dropout > 0)."""

    def __init__(self, in_channels, out_channels, norm, dropout=0.0):
        layers = [
            nn.ReLU(),
            nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=conv_bias(norm)),
        ]
        if norm is not None:
            layers.append(norm_layer(norm, out_channels))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


class UNet(nn.Module):
    """(N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W) in [-1, 1] (Tanh).

    channels: the encoder's widths, outermost first; len(channels) levels, so H and W
    must be divisible by 2 ** len(channels) (32x32 -> 1x1 with the default five).
    dropout: the probability of the two innermost ups' dropout (0: none, deterministic).
    norm: "batch" or "instance". skips: False gives a plain encoder-decoder.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        channels=(32, 64, 128, 128, 128),
        dropout=0.5,
        norm="batch",
        skips=True,
    ):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"UNet: norm must be one of {NORMS}, got {norm!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"UNet: dropout must be in [0, 1), got {dropout}")
        channels = tuple(channels)
        if not channels:
            raise ValueError("UNet: channels must name at least one level, got ()")
        self.channels, self.skips = channels, skips
        self.downs = nn.ModuleList(self._downs(in_channels, norm))
        self.ups = nn.ModuleList(self._ups(out_channels, dropout, norm))

    def _downs(self, in_channels, norm):
        """The encoder, outermost first: no activation and no norm at the first level,
        no norm at the innermost."""
        depth = len(self.channels)
        widths = (in_channels, *self.channels)
        return [
            UNetDown(
                widths[level],
                widths[level + 1],
                norm=None if level in (0, depth - 1) else norm,
                activation=level > 0,
            )
            for level in range(depth)
        ]

    def _ups(self, out_channels, dropout, norm):
        """The decoder, innermost first; the last up ends in out_channels and Tanh."""
        widths = self.channels[::-1]  # widths[j]: the channels up j reads from below
        ups = []
        for j in range(len(widths) - 1):
            in_channels = widths[j] * (2 if self.skips and j > 0 else 1)
            p = dropout if j < INNER_DROPOUT_UPS else 0.0
            ups.append(UNetUp(in_channels, widths[j + 1], norm, p))
        last_in = widths[-1] * (2 if self.skips and len(widths) > 1 else 1)
        ups.append(
            nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(last_in, out_channels, 4, 2, 1), nn.Tanh())
        )
        return ups

    def check_size(self, x):
        """A ValueError unless x is (N, C, H, W) with H and W divisible by 2 ** depth."""
        depth = len(self.channels)
        if x.ndim != 4:
            raise ValueError(f"UNet: expected input (N, C, H, W), got shape {tuple(x.shape)}")
        if any(side % 2**depth for side in x.shape[-2:]):
            raise ValueError(
                f"UNet: a depth-{depth} U-Net halves the image {depth} times, so H and W "
                f"must be divisible by {2**depth}; got {x.shape[-2]}x{x.shape[-1]}"
            )

    def encoder_features(self, x):
        """[e_1, ..., e_L]: the output of every encoder level, outermost first."""
        self.check_size(x)
        features = []
        for down in self.downs:
            x = down(x)
            features.append(x)
        return features

    def decode(self, features):
        """The decoder on the encoder features [e_1, ..., e_L]: it reads e_L, and, with
        skips, each shallower e_l only through its concatenation [e_l, h]."""
        h = self.ups[0](features[-1])
        for up, skip in zip(self.ups[1:], reversed(features[:-1])):
            h = up(sg.cat([skip, h], dim=1) if self.skips else h)
        return h

    def forward(self, x):
        return self.decode(self.encoder_features(x))
