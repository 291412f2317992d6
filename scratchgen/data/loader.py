"""DataLoader: batches of a data set as Tensors, in a reproducible order.

The order of an epoch depends only on (seed, epoch): with shuffle=True it is the
permutation drawn by ``numpy.random.default_rng([seed, epoch])``. So a run that stops in
the middle of epoch e and resumes can replay exactly the batches it had not yet seen:

    loader.set_epoch(e)
    for batch in loader.batches(start=k):   # skips the first k batches of epoch e
        ...
"""

import numpy as np

from scratchgen import backend
from scratchgen.tensor import Tensor


class DataLoader:
    """Iterate over a data set in batches.

    dataset: anything with ``len()`` whose ``dataset[index_array]`` returns a dict
    name -> array of those items (an ArrayDataset). Each batch is a dict name -> Tensor on
    ``device`` for numeric arrays (their dtype kept: float32 images, int64 labels), or a
    python list for string / object arrays (captions).

    ``len(loader)`` is the number of batches of an epoch: ceil(N / batch_size), or
    floor(N / batch_size) with drop_last=True (the incomplete last batch dropped).

    The loader starts at epoch 0. ``set_epoch(e)`` chooses the epoch; finishing an
    iteration moves on to the next epoch, so ``for batch in loader`` in a loop over epochs
    sees a new order each time, as with torch's DataLoader.
    """

    def __init__(
        self, dataset, batch_size=64, shuffle=False, drop_last=False, seed=0, device="cpu"
    ):
        _check_count("batch_size", batch_size, minimum=1)
        _check_count("seed", seed, minimum=0)
        if len(dataset) == 0:
            raise ValueError("DataLoader: expected a non-empty dataset, got one with 0 items")
        if drop_last and len(dataset) < batch_size:
            raise ValueError(
                f"DataLoader: drop_last=True with {len(dataset)} items and "
                f"batch_size {batch_size} leaves no batch"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.device = backend.parse_device(device)
        self.epoch = 0

    def set_epoch(self, epoch):
        """Make the next iteration use the order of this epoch."""
        _check_count("epoch", epoch, minimum=0)
        self.epoch = epoch

    def epoch_order(self):
        """The item indices of the current epoch, in the order they are served."""
        if not self.shuffle:
            return np.arange(len(self.dataset))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.dataset))

    def __len__(self):
        if self.drop_last:
            return len(self.dataset) // self.batch_size
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        return self.batches()

    def batches(self, start=0):
        """The batches of the current epoch from batch number start on."""
        _check_count("start", start, minimum=0)
        if start > len(self):
            raise ValueError(f"DataLoader: start {start} is past the {len(self)} batches")
        return self._batches(start)

    def _batches(self, start):
        order = self.epoch_order()
        for number in range(start, len(self)):
            indices = order[number * self.batch_size : (number + 1) * self.batch_size]
            yield self._to_batch(self.dataset[indices])
        self.epoch += 1

    def _to_batch(self, arrays):
        """Numeric arrays -> Tensors on the device; strings and objects -> python lists."""
        batch = {}
        for name, array in arrays.items():
            if array.dtype.kind in "biuf":
                contiguous = np.ascontiguousarray(array)
                batch[name] = Tensor(backend.to_device(contiguous, self.device))
            else:
                batch[name] = array.tolist()
        return batch


def _check_count(name, value, minimum):
    """Raise unless value is an integer >= minimum."""
    is_integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not is_integer or value < minimum:
        raise ValueError(
            f"DataLoader: expected {name} to be an integer >= {minimum}, got {value!r}"
        )
