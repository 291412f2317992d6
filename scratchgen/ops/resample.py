"""Resampling of images (N, C, H, W): interpolate, pixel_shuffle, pixel_unshuffle.

interpolate is separable: each output row is a fixed weighted sum of input rows, and
each output column of input columns, so with interpolation matrices A_h (H_out, H) and
A_w (W_out, W) built from the geometry alone (constants, no gradient)

    y = A_h x A_w^T                      dL/dx = A_h^T g A_w

The gradient is the adjoint: each output's gradient is scattered back onto the input
pixels it was read from, with the same weights. Both products are matmuls, so the
backward is made of matmuls too and differentiable to any order.

pixel_shuffle and pixel_unshuffle only move elements (reshape and permute), so each
one's gradient is the other applied to g.
"""

import math

from scratchgen import backend
from scratchgen.ops.linalg import matmul
from scratchgen.ops.shape import permute, reshape
from scratchgen.ops.window import check_4d, pair
from scratchgen.tensor import Tensor

INTERPOLATION_MODES = ("nearest", "bilinear")

# ----------------------------------------------------------------------------------
# interpolate
# ----------------------------------------------------------------------------------


def _nearest_matrix(size, out_size, scale, xp):
    """A[i, j] = 1 where j = min(floor(i s), size - 1), torch's legacy "nearest".

    s = size / out_size, or 1 / scale_factor when one is given; computed in float32,
    as torch does, so that the picked rows are torch's to the last one. As in torch, an
    output of the input's size copies it and one of twice its size takes row i // 2,
    whatever the scale factor.
    """
    if out_size in (size, 2 * size):
        return _one_hot(xp.arange(out_size) * size // out_size, size, xp)
    if scale is None:
        step = xp.float32(size) / xp.float32(out_size)
    else:
        step = xp.float32(1.0 / scale)
    source = xp.floor(xp.arange(out_size, dtype=xp.float32) * step).astype(xp.int64)
    return _one_hot(xp.minimum(source, size - 1), size, xp)


def _bilinear_matrix(size, out_size, scale, align_corners, xp):
    """A[i, j0] = 1 - t, A[i, j1] += t for the source coordinate u of output i:

        align_corners=True:   u = i (size - 1) / (out_size - 1)     (corners on corners)
        align_corners=False:  u = max(s (i + 1/2) - 1/2, 0)        (half-pixel centres)

    with s = size / out_size (or 1 / scale_factor), j0 = floor(u), j1 = min(j0 + 1,
    size - 1) and t = u - j0: linear interpolation between the two nearest rows.
    """
    positions = xp.arange(out_size, dtype=xp.float64)
    if align_corners:
        step = (size - 1) / (out_size - 1) if out_size > 1 else 0.0
        source = positions * step
    else:
        step = size / out_size if scale is None else 1.0 / scale
        source = xp.maximum((positions + 0.5) * step - 0.5, 0.0)
    low = source.astype(xp.int64)  # floor: source >= 0
    high = xp.minimum(low + 1, size - 1)
    weight_high = (source - low)[:, None]
    return (1 - weight_high) * _one_hot(low, size, xp) + weight_high * _one_hot(high, size, xp)


def _one_hot(indices, size, xp):
    """(len(indices), size) with a 1 at (i, indices[i])."""
    return (indices[:, None] == xp.arange(size)).astype(xp.float64)


def _check_mode(mode, align_corners):
    if mode not in INTERPOLATION_MODES:
        raise NotImplementedError(
            f"interpolate: expected mode 'nearest' or 'bilinear', got {mode!r}"
        )
    if mode == "nearest" and align_corners is not None:
        raise ValueError(
            "interpolate: align_corners can only be set with mode='bilinear', "
            f"got align_corners={align_corners!r} with mode='nearest'"
        )


def _scale_pair(scale_factor):
    """scale_factor (a number or a pair of numbers, each > 0) as a pair of floats."""
    factors = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * 2
    numbers = all(isinstance(f, (int, float)) and not isinstance(f, bool) for f in factors)
    if len(factors) != 2 or not numbers or min(factors) <= 0:
        raise ValueError(
            "interpolate: expected scale_factor to be a positive number or a pair of "
            f"positive numbers, got {scale_factor!r}"
        )
    return tuple(float(f) for f in factors)


def _output_geometry(hw, size, scale_factor, recompute_scale_factor):
    """(output (H, W), the scales the source coordinates use: None = size / out_size)."""
    if (size is None) == (scale_factor is None):
        given = "both" if size is not None else "neither"
        raise ValueError(f"interpolate: expected exactly one of size and scale_factor, got {given}")
    if size is not None:
        return pair(size, "size", "interpolate", 1), (None, None)
    factors = _scale_pair(scale_factor)
    out_hw = tuple(math.floor(n * f) for n, f in zip(hw, factors))
    if min(out_hw) < 1:
        raise ValueError(
            f"interpolate: scale_factor {scale_factor!r} gives an empty output {out_hw} "
            f"for input size {tuple(hw)}"
        )
    return out_hw, (None, None) if recompute_scale_factor else factors


def _interpolation_matrix(size, out_size, scale, mode, align_corners, dtype, xp):
    if mode == "nearest":
        matrix = _nearest_matrix(size, out_size, scale, xp)
    else:
        matrix = _bilinear_matrix(size, out_size, scale, align_corners, xp)
    return Tensor(matrix.astype(dtype))


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
):
    """Resize input (N, C, H, W) to size (int or pair) or by scale_factor (number or pair:
    output floor(H * f_h) x floor(W * f_w)); exactly one of the two is given.

    mode "nearest" (torch's legacy nearest: row floor(i H / H_out)) or "bilinear" (with
    align_corners False, the default: half-pixel centres; True: corner pixels aligned).
    y = A_h x A_w^T, dL/dx = A_h^T g A_w (module docstring). With scale_factor the
    source coordinates use 1 / scale_factor, as torch, unless recompute_scale_factor.
    """
    check_4d(input, "interpolate")
    _check_mode(mode, align_corners)
    if not backend.is_floating(input.dtype):
        raise TypeError(f"interpolate: expected a floating-point input, got dtype {input.dtype}")
    out_hw, scales = _output_geometry(input.shape[2:], size, scale_factor, recompute_scale_factor)
    xp = backend.get_array_module(input.data)
    rows, cols = (
        _interpolation_matrix(n, out_n, scale, mode, align_corners, input.dtype, xp)
        for n, out_n, scale in zip(input.shape[2:], out_hw, scales)
    )
    return matmul(matmul(rows, input), cols.transpose(0, 1))


# ----------------------------------------------------------------------------------
# pixel_shuffle, pixel_unshuffle
# ----------------------------------------------------------------------------------


def _check_factor(input, factor, name, op_name):
    if input.ndim < 3:
        raise ValueError(
            f"{op_name}: expected input of shape (*, C, H, W) with at least 3 axes, "
            f"got shape {input.shape}"
        )
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
        raise ValueError(f"{op_name}: expected a positive int {name}, got {factor!r}")


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r), r = upscale_factor, in torch's order:

        y[..., c, h r + i, w r + j] = x[..., c r^2 + i r + j, h, w]

    dL/dx = pixel_unshuffle(g, r) (a reshape and a permute, each undone in backward).
    """
    _check_factor(input, upscale_factor, "upscale_factor", "pixel_shuffle")
    r = upscale_factor
    *lead, channels, h, w = input.shape
    if channels % (r * r):
        raise ValueError(
            f"pixel_shuffle: expected input.shape[-3] divisible by upscale_factor^2 = {r * r}, "
            f"got shape {input.shape}"
        )
    k = len(lead)
    x = reshape(input, (*lead, channels // (r * r), r, r, h, w))
    x = permute(x, (*range(k), k, k + 3, k + 1, k + 4, k + 2))
    return reshape(x, (*lead, channels // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W), r = downscale_factor: the inverse of
    pixel_shuffle,  y[..., c r^2 + i r + j, h, w] = x[..., c, h r + i, w r + j].

    dL/dx = pixel_shuffle(g, r).
    """
    _check_factor(input, downscale_factor, "downscale_factor", "pixel_unshuffle")
    r = downscale_factor
    *lead, channels, h, w = input.shape
    if h % r or w % r:
        raise ValueError(
            f"pixel_unshuffle: expected height and width divisible by downscale_factor = {r}, "
            f"got shape {input.shape}"
        )
    k = len(lead)
    x = reshape(input, (*lead, channels, h // r, r, w // r, r))
    x = permute(x, (*range(k), k, k + 2, k + 4, k + 1, k + 3))
    return reshape(x, (*lead, channels * r * r, h // r, w // r))
