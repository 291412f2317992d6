"""Synthetic image-to-image data sets built from the MNIST subset (all 32x32).

Every digit is zero-padded by 2 pixels to 32x32 (the size the U-Nets and PatchGANs
halve cleanly). The sets are deterministic and built on first use, then cached:

- holed_digits (paired, inpainting): input = the digit with a centred 14x14 hole filled
  with 0.5, target = the digit.
- edges2digits (paired): input = the outline of the binarised digit (its morphological
  gradient with a 3x3 square), target = the digit.
- digits2ink (unpaired): domain A = the grey digit on 3 channels, domain B = orange ink
  strokes (dilated with a 3x3 max filter) on navy paper. Training draws A and B from
  disjoint halves of the training digits; the test split keeps the true pairs.
- noisy_digits2clean (unpaired, denoising): domain A = digits of one half with Gaussian
  noise (sigma 0.3, clipped to [0, 1]) as a cheap scan would show them, domain B = clean
  digits of the other half; the test split keeps the clean truth of each noisy digit.

The cached arrays are shared between calls and read-only.
"""

import functools

import numpy as np

from scratchgen.data.dataset import ArrayDataset
from scratchgen.data.mnist import TRAIN_PER_CLASS, mnist, stratified_split

PAD = 2
HOLE_SIZE = 14
HOLE_VALUE = 0.5
BINARY_THRESHOLD = 0.5
INK = (1.0, 0.55, 0.0)  # orange, RGB in [0, 1]
NAVY = (0.05, 0.10, 0.35)
INK_HALVES_SEED = 0
INK_HALF_PER_CLASS = TRAIN_PER_CLASS // 2
SCAN_NOISE_SIGMA = 0.3  # the DAE's sigma (chapter 2)
SCAN_NOISE_SEEDS = {"train": 1, "test": 2}


def pad_to_32(images):
    """(N, C, 28, 28) -> (N, C, 32, 32), zeros added on every side."""
    return np.pad(images, ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)))


def max_filter3(images):
    """The 3x3 maximum filter over the last two axes (grey-level dilation).

    out[i, j] = max of images[i + di, j + dj] over di, dj in {-1, 0, 1}, the window clipped
    at the border (edge padding repeats a pixel already in the window, so it changes
    nothing). Nine shifted views of the padded array, no loop over pixels.
    """
    return _filter3(images, np.maximum)


def min_filter3(images):
    """The 3x3 minimum filter over the last two axes (grey-level erosion), as max_filter3."""
    return _filter3(images, np.minimum)


def _filter3(images, combine):
    height, width = images.shape[-2:]
    spread = [(0, 0)] * (images.ndim - 2) + [(1, 1), (1, 1)]
    padded = np.pad(images, spread, mode="edge")
    result = images.copy()
    for di in range(3):
        for dj in range(3):
            result = combine(result, padded[..., di : di + height, dj : dj + width])
    return result


def morphological_gradient(binary):
    """Outline of a binary image: dilation minus erosion with a 3x3 square.

    gradient = max_filter3(b) - min_filter3(b), 1 on the pixels whose 3x3 neighbourhood
    holds both 0 and 1 (both sides of an edge), 0 elsewhere; 0 on constant images.
    """
    binary = np.asarray(binary, dtype=bool)
    return max_filter3(binary) & ~min_filter3(binary)


def hole_slice():
    """The (row, column) slices of the centred HOLE_SIZE x HOLE_SIZE square in 32x32."""
    start = (32 - HOLE_SIZE) // 2
    square = slice(start, start + HOLE_SIZE)
    return square, square


def ink_style(grey):
    """Grey digits (N, 1, H, W) -> ink on paper (N, 3, H, W), float32.

    d = max_filter3(grey) (strokes thickened by one pixel), then per channel c
        image_c = (1 - d) * NAVY_c + d * INK_c,
    a blend that stays between the two colours since d lies in [0, 1].
    """
    dilated = max_filter3(grey).astype(np.float64)
    navy = np.array(NAVY).reshape(1, 3, 1, 1)
    ink = np.array(INK).reshape(1, 3, 1, 1)
    return ((1.0 - dilated) * navy + dilated * ink).astype(np.float32)


def grey_to_rgb(grey):
    """(N, 1, H, W) -> (N, 3, H, W), the grey channel repeated."""
    return np.repeat(grey, 3, axis=1)


@functools.cache
def holed_digits(split="train"):
    """ArrayDataset(input (N,1,32,32), target (N,1,32,32), label (N,)) for inpainting.

    target = the padded digit; input = target with the centred 14x14 square (rows and
    columns 9..22) set to 0.5, which tells the hole apart from the 0 background.
    Outside the hole input == target.
    """
    digits = _padded_digits("holed_digits", split)
    holed = digits["image"].copy()
    rows, columns = hole_slice()
    holed[..., rows, columns] = HOLE_VALUE
    return _frozen(input=holed, target=digits["image"], label=digits["label"])


@functools.cache
def edges2digits(split="train"):
    """ArrayDataset(input (N,1,32,32), target (N,1,32,32), label (N,)): outline -> digit.

    input = morphological_gradient(target > 0.5) as float32 0/1, target = the padded digit.
    """
    digits = _padded_digits("edges2digits", split)
    outline = morphological_gradient(digits["image"] > BINARY_THRESHOLD).astype(np.float32)
    return _frozen(input=outline, target=digits["image"], label=digits["label"])


@functools.cache
def digits2ink(split="train"):
    """Grey digits (domain A) and ink-on-paper digits (domain B), 3 x 32 x 32 float32.

    train: ArrayDataset(a (M,3,32,32), b (M,3,32,32), a_index (M,), b_index (M,)), M = 2000.
      mnist("train") is split into two halves, stratified by class (200 digits of each
      class per half; stratified_split with seed 0). a comes from the first half, b from
      the second, so no digit appears in both. a_index, b_index: positions in
      mnist("train"); a_index is sorted, b_index is in a seed-0 random order, so that the
      a and b of a row (which a DataLoader serves together) are unrelated digits.
    test: ArrayDataset(a, b, label), the true pairs: b[i] is a[i]'s digit in ink.
    """
    digits = _padded_digits("digits2ink", split)
    if split == "test":
        return _frozen(
            a=grey_to_rgb(digits["image"]), b=ink_style(digits["image"]), label=digits["label"]
        )
    a_index, b_half = stratified_split(digits["label"], INK_HALF_PER_CLASS, INK_HALVES_SEED)
    b_index = np.random.default_rng(INK_HALVES_SEED).permutation(b_half)
    return _frozen(
        a=grey_to_rgb(digits["image"][a_index]),
        b=ink_style(digits["image"][b_index]),
        a_index=a_index,
        b_index=b_index,
    )


@functools.cache
def noisy_digits2clean(split="train"):
    """Noisy digits (domain A) and clean digits (domain B), 1 x 32 x 32 float32.

    noisy = clip(x + 0.3 eps, 0, 1), eps ~ N(0, 1) drawn once per split with a fixed seed
    (the whole padded 32x32 image is noisy, as a scan is), so the set is deterministic.
    train: ArrayDataset(a, b, a_index, b_index), the two halves of digits2ink: a = the
      first half made noisy, b = the second half, clean, in a seed-0 random order.
    test: ArrayDataset(a, b, label), the truth kept: b[i] is the clean digit under a[i].
    """
    digits = _padded_digits("noisy_digits2clean", split)
    noise = np.random.default_rng(SCAN_NOISE_SEEDS[split]).standard_normal(digits["image"].shape)
    noisy = np.clip(digits["image"] + SCAN_NOISE_SIGMA * noise, 0.0, 1.0).astype(np.float32)
    if split == "test":
        return _frozen(a=noisy, b=digits["image"], label=digits["label"])
    a_index, b_half = stratified_split(digits["label"], INK_HALF_PER_CLASS, INK_HALVES_SEED)
    b_index = np.random.default_rng(INK_HALVES_SEED).permutation(b_half)
    return _frozen(a=noisy[a_index], b=digits["image"][b_index], a_index=a_index, b_index=b_index)


def _padded_digits(name, split):
    """mnist(split) with images padded to 32x32 (dict image, label)."""
    if split not in ("train", "test"):
        raise ValueError(f"{name}: expected split 'train' or 'test', got {split!r}")
    digits = mnist(split)
    return {"image": pad_to_32(digits.arrays["image"]), "label": digits.arrays["label"]}


def _frozen(**arrays):
    """An ArrayDataset of these arrays, made read-only (the sets are cached and shared)."""
    for array in arrays.values():
        array.setflags(write=False)
    return ArrayDataset(**arrays)
