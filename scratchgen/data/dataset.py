"""ArrayDataset: a data set held as named arrays that share their first dimension."""

import numpy as np


class ArrayDataset:
    """Named arrays with the same first dimension, indexed together.

        ds = ArrayDataset(image=images, label=labels)
        len(ds)            # number of items (the shared first dimension)
        ds[3]              # {"image": images[3], "label": labels[3]}
        ds[10:20]          # {"image": images[10:20], "label": labels[10:20]} (batched)
        ds[[4, 1]]         # integer arrays work the same way
        ds.subset([4, 1])  # a new ArrayDataset of those items

    Each value is turned into a numpy array, so a list of strings (captions) becomes a
    unicode array and is indexed exactly like the numeric arrays.
    """

    def __init__(self, **arrays):
        if not arrays:
            raise ValueError("ArrayDataset: expected at least one named array, got none")
        self.arrays = {name: _as_array(name, value) for name, value in arrays.items()}
        lengths = {name: len(array) for name, array in self.arrays.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"ArrayDataset: expected arrays with the same first dimension, got {lengths}"
            )

    def __len__(self):
        return len(next(iter(self.arrays.values())))

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)) and not -len(self) <= index < len(self):
            raise IndexError(f"ArrayDataset: index {index} out of range for {len(self)} items")
        try:
            return {name: array[index] for name, array in self.arrays.items()}
        except IndexError as error:
            raise IndexError(f"ArrayDataset: {error}") from error

    def subset(self, indices):
        """A new ArrayDataset holding the items at indices (a slice or 1-D index array)."""
        if not isinstance(indices, slice):
            indices = np.asarray(indices)
            if indices.ndim != 1:
                raise ValueError(
                    f"ArrayDataset.subset: expected a slice or a 1-D index array, "
                    f"got an array of shape {indices.shape}"
                )
        return ArrayDataset(**self[indices])

    def __repr__(self):
        fields = ", ".join(
            f"{name} {array.shape[1:]} {array.dtype}" for name, array in self.arrays.items()
        )
        return f"ArrayDataset({len(self)} items: {fields})"


def _as_array(name, value):
    """value as a numpy array with at least one dimension (the item dimension)."""
    array = np.asarray(value)
    if array.ndim == 0:
        raise ValueError(
            f"ArrayDataset: expected '{name}' to have a first (item) dimension, got a scalar"
        )
    return array
