"""``sg.utils``: torch's ``torch.utils`` namespace; ``sg.utils.data`` holds Dataset,
TensorDataset, ConcatDataset, DataLoader and default_collate."""

from scratchgen.utils import data

__all__ = ["data"]
