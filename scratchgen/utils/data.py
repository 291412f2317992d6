"""``sg.utils.data``: torch's Dataset, TensorDataset, ConcatDataset, DataLoader.

    dataset = TensorDataset(images, labels)        # Tensors with the same first dimension
    loader = DataLoader(dataset, batch_size=64, shuffle=True)
    for x, y in loader:                            # [Tensor (64, ...), Tensor (64,)]
        ...

A batch is ``default_collate`` of the batch's items, as in torch: Tensors are stacked,
NumPy arrays and numbers become Tensors, dicts and lists are collated field by field.

Two DataLoaders, on purpose. ``scratchgen.data.DataLoader``, the one the Trainer uses, stays
as it is: it serves an ArrayDataset one fancy index per batch, orders each epoch by (seed,
epoch) so a resumed run sees the same batches, and puts them on a device. This one is
torch's, for any data set; an ArrayDataset works here too (its items are dicts), giving the
same dict batches on the CPU, item by item.
"""

import bisect
import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from scratchgen import backend
from scratchgen.ops import stack
from scratchgen.tensor import Tensor


class Dataset:
    """A map-style data set: subclasses define ``__getitem__(index)`` and ``__len__()``.

    ``a + b`` is ``ConcatDataset([a, b])``: the items of a, then those of b.
    """

    def __getitem__(self, index):
        raise NotImplementedError(
            f"{type(self).__name__}: subclasses of Dataset implement __getitem__"
        )

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Tensors of equal first dimension, indexed together: item i is (t[i] for t in tensors)."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor, got none")
        for position, tensor in enumerate(tensors):
            if not isinstance(tensor, Tensor) or tensor.ndim == 0:
                raise TypeError(
                    f"TensorDataset: expected Tensors with a first dimension, got "
                    f"{_describe(tensor)} at position {position}"
                )
        sizes = [tensor.shape[0] for tensor in tensors]
        if len(set(sizes)) > 1:
            raise ValueError(
                f"TensorDataset: size mismatch between tensors: expected one first "
                f"dimension, got {sizes}"
            )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset):
    """Data sets one after the other: the items of the first, then of the second, ..."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one dataset, got none")
        self.cumulative_sizes = list(itertools.accumulate(len(part) for part in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)} items")
        index %= len(self)
        part = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[part - 1] if part else 0
        return self.datasets[part][index - start]


def default_collate(batch):
    """The items of a batch as one batch, following torch's default_collate:

    Tensors -> sg.stack (a new first dimension); NumPy arrays and scalars -> one Tensor of
    their stack (dtype kept); floats -> float64, ints -> int64, bools -> bool Tensors;
    strings and bytes -> the list itself; dicts -> a dict collated key by key; named tuples
    -> the same named tuple collated field by field; other tuples and lists -> a list
    collated field by field (torch's choice: ``x, y = batch`` unpacks it).
    """
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch)
    if isinstance(first, (str, bytes)):  # before NumPy: np.str_ is a str and a NumPy scalar
        return list(batch)
    if isinstance(first, (np.ndarray, np.generic)):
        return _collate_arrays(batch)
    if isinstance(first, float):
        return Tensor(np.array(batch, dtype=backend.float64))
    if isinstance(first, int):  # bool is a subclass of int: bools stay bool
        dtype = backend.bool_ if isinstance(first, bool) else backend.int64
        return Tensor(np.array(batch, dtype=dtype))
    if isinstance(first, Mapping):
        return {key: default_collate([item[key] for item in batch]) for key in first}
    if isinstance(first, Sequence):
        return _collate_fields(batch)
    raise TypeError(
        "default_collate: expected items of Tensors, NumPy arrays, numbers, strings, dicts "
        f"or lists, got {type(first).__name__}"
    )


def _collate_arrays(batch):
    shapes = {np.shape(item) for item in batch}
    if len(shapes) > 1:
        raise ValueError(f"default_collate: expected arrays of one shape, got shapes {shapes}")
    array = np.stack(batch)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"default_collate: expected numeric arrays, got dtype {array.dtype} "
            "(give strings as str items: they are collated into a list)"
        )
    return Tensor(array)


def _collate_fields(batch):
    sizes = {len(item) for item in batch}
    if len(sizes) > 1:
        raise RuntimeError(
            f"default_collate: each item of a batch should have one size, got sizes {sizes}"
        )
    fields = [default_collate(list(field)) for field in zip(*batch)]
    if hasattr(batch[0], "_fields"):  # a named tuple
        return type(batch[0])(*fields)
    return fields


class DataLoader:
    """Batches of a data set, as torch's DataLoader:

        DataLoader(dataset, batch_size=1, shuffle=False, *, collate_fn=None,
                   drop_last=False, generator=None)

    Each batch is ``collate_fn`` (default: ``default_collate``) of ``batch_size`` items;
    the last one is shorter unless ``drop_last``. ``shuffle`` draws a new order every
    iteration from ``generator`` (a ``numpy.random.Generator``, e.g.
    ``numpy.random.default_rng(0)``), or from scratchgen's CPU generator when None, so
    ``sg.manual_seed(s)`` makes the order reproducible. Without shuffle a data set without
    ``__len__`` is read with ``iter(dataset)`` (its ``__iter__``, or indices 0, 1, ...
    until IndexError). Loading happens in this process (torch's workers, samplers and
    pinned memory are not there); batches stay on the device of their items.
    """

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=False,
        *,
        collate_fn=None,
        drop_last=False,
        generator=None,
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                "DataLoader: batch_size should be a positive integer value, "
                f"but got batch_size={batch_size!r}"
            )
        if shuffle and not hasattr(dataset, "__len__"):
            raise TypeError(
                f"DataLoader: shuffle=True needs a dataset with __len__, got a "
                f"{type(dataset).__name__} without one"
            )
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(
                "DataLoader: expected generator to be a numpy.random.Generator "
                f"(numpy.random.default_rng(seed)) or None, got {type(generator).__name__}"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.drop_last = drop_last
        self.generator = generator

    def __len__(self):
        if not hasattr(self.dataset, "__len__"):
            raise TypeError(
                f"DataLoader: len() needs a dataset with __len__, got a "
                f"{type(self.dataset).__name__} without one"
            )
        if self.drop_last:
            return len(self.dataset) // self.batch_size
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        items = self._items()
        while batch := list(itertools.islice(items, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield self.collate_fn(batch)

    def _items(self):
        """The items of one pass, in this pass's order."""
        if not hasattr(self.dataset, "__len__"):
            return iter(self.dataset)
        return (self.dataset[int(index)] for index in self._order())

    def _order(self):
        if not self.shuffle:
            return range(len(self.dataset))
        generator = self.generator or backend.generator("cpu")
        return generator.permutation(len(self.dataset))


def _describe(value):
    if isinstance(value, Tensor):
        return "a 0-d Tensor"
    return f"a {type(value).__name__}"
