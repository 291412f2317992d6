"""MNIST: the embedded 5,000-digit subset, its fixed split, and a reader for the full set.

The package ships 5,000 MNIST digits, 500 per class (``mnist_5k.npz``, see
DATA_LICENSE.md for origin and licence). ``mnist()`` returns them as an ArrayDataset:
image (N, 1, 28, 28) float32 in [0, 1], label (N,) int64.

The split is fixed and stratified: with ``numpy.random.default_rng(0)``, each class in
turn (0, 1, ..., 9) gets a permutation of its 500 indices; the first 400 go to "train",
the last 100 to "test". Both index lists are then sorted, so "train" (4,000 digits) and
"test" (1,000) keep the order of the file, which is sorted by label.

With ``root=folder`` the full MNIST comes from its IDX files instead (the official 60k
train / 10k test split).
"""

import functools
import gzip
import importlib.resources
import pathlib

import numpy as np

from scratchgen.data.dataset import ArrayDataset

SPLITS = ("train", "test", "all")
TRAIN_PER_CLASS = 400
SPLIT_SEED = 0
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# IDX type codes (third byte of the magic number) -> big-endian numpy dtypes.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def mnist(split="train", root=None):
    """MNIST digits as ArrayDataset(image=(N, 1, 28, 28) float32 in [0, 1], label=(N,) int64).

    root=None: the embedded subset, split "train" (4,000), "test" (1,000) or "all" (5,000).
    root=folder: the full MNIST IDX files in that folder (train-images-idx3-ubyte, ...,
    each possibly gzipped as .gz): "train" 60,000, "test" 10,000, "all" both.
    The embedded arrays are loaded once and shared by every call, so they are read-only.
    """
    if split not in SPLITS:
        raise ValueError(f"mnist: expected split 'train', 'test' or 'all', got {split!r}")
    if root is None:
        return ArrayDataset(**_embedded_split(split))
    parts = ["train", "test"] if split == "all" else [split]
    loaded = [_read_idx_split(pathlib.Path(root), part) for part in parts]
    images = np.concatenate([part_images for part_images, _ in loaded])
    labels = np.concatenate([part_labels for _, part_labels in loaded])
    return ArrayDataset(image=_to_unit_float(images), label=labels.astype(np.int64))


def stratified_split(labels, first_per_class, seed):
    """Split item indices into two sorted lists, first_per_class of every class in the first.

    One generator ``default_rng(seed)`` permutes the indices of each class in turn (classes
    in increasing order); the first first_per_class of each permutation go to the first
    list, the rest to the second. Both lists are sorted.
    """
    rng = np.random.default_rng(seed)
    first, second = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        if len(members) < first_per_class:
            raise ValueError(
                f"stratified_split: class {label} has {len(members)} items, "
                f"fewer than first_per_class={first_per_class}"
            )
        first.append(members[:first_per_class])
        second.append(members[first_per_class:])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))


def read_idx(path):
    """The array stored in an IDX file (MNIST's format), optionally gzipped (.gz).

    Layout: a 4-byte magic number (0, 0, type code, number of dimensions), then one
    big-endian uint32 per dimension, then the values in C order, big-endian.
    Returns the array in native byte order.
    """
    path = pathlib.Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        content = file.read()
    if len(content) < 4:
        raise ValueError(f"read_idx: '{path}' is too short to be an IDX file")
    zero_a, zero_b, type_code, ndim = content[:4]
    if zero_a != 0 or zero_b != 0 or type_code not in IDX_DTYPES:
        raise ValueError(
            f"read_idx: '{path}' is not an IDX file (magic number 0x{content[:4].hex()}; "
            f"expected 0x0000 then a type code in {sorted(IDX_DTYPES)} and the rank)"
        )
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise ValueError(f"read_idx: '{path}' ends inside its header of {ndim} dimensions")
    shape = tuple(int(size) for size in np.frombuffer(content, ">u4", ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[type_code])
    expected_bytes = int(np.prod(shape)) * dtype.itemsize
    data_bytes = len(content) - header_size
    if data_bytes != expected_bytes:
        raise ValueError(
            f"read_idx: '{path}' holds {data_bytes} bytes of data, "
            f"its header {shape} of {dtype.name} promises {expected_bytes}"
        )
    values = np.frombuffer(content, dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


@functools.cache
def _embedded_split(split):
    """One split of the shipped digits: dict(image=..., label=...), read-only (cached)."""
    resource = importlib.resources.files("scratchgen.data").joinpath("mnist_5k.npz")
    with resource.open("rb") as file, np.load(file) as archive:
        images, labels = archive["images"], archive["labels"]
    if split != "all":
        train_indices, test_indices = stratified_split(labels, TRAIN_PER_CLASS, SPLIT_SEED)
        chosen = train_indices if split == "train" else test_indices
        images, labels = images[chosen], labels[chosen]
    arrays = {"image": _to_unit_float(images), "label": labels.astype(np.int64)}
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


def _read_idx_split(root, split):
    """Images (N, 28, 28) and labels (N,) of one official split from the IDX files in root."""
    if not root.is_dir():
        raise FileNotFoundError(f"mnist: the folder '{root}' does not exist")
    images_name, labels_name = IDX_FILES[split]
    images = read_idx(_find_idx_file(root, images_name))
    labels = read_idx(_find_idx_file(root, labels_name))
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"mnist: expected {images_name} of shape (N, 28, 28), got {images.shape}")
    if labels.shape != images.shape[:1]:
        raise ValueError(
            f"mnist: expected {labels_name} of shape ({len(images)},) to match the images, "
            f"got {labels.shape}"
        )
    if labels.size and not 0 <= labels.min() <= labels.max() <= 9:
        raise ValueError(
            f"mnist: expected labels in 0..9 in {labels_name}, got {labels.min()}..{labels.max()}"
        )
    return images, labels


def _find_idx_file(root, name):
    """root/name or root/name.gz, whichever exists."""
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"mnist: no file '{name}' (or .gz) in '{root}'")


def _to_unit_float(images):
    """uint8 images (N, 28, 28) in 0..255 -> float32 (N, 1, 28, 28) in [0, 1]."""
    return (images.astype(np.float32) / 255.0)[:, None]
