"""Data: the embedded MNIST subset, synthetic paired / unpaired / captioned sets, DataLoader.

    from scratchgen.data import DataLoader, mnist
    loader = DataLoader(mnist("train"), batch_size=64, shuffle=True)
    for epoch in range(3):
        loader.set_epoch(epoch)
        for batch in loader:        # {"image": Tensor (64, 1, 28, 28), "label": Tensor (64,)}
            ...

Numpy is used freely here: data sets are numpy arrays; the DataLoader turns each batch
into Tensors on the chosen device. Origin and licence of the digits: DATA_LICENSE.md.
"""

from scratchgen.data.augment import random_shift
from scratchgen.data.captions import (
    HELD_OUT_COMPOSITIONS,
    Tokenizer,
    all_captions,
    captioned_digits,
    class_prompts,
    drop_attributes,
    held_out_captions,
    ink_mass,
    is_held_out,
    make_caption,
    parse_caption,
    seen_captioned_digits,
    slant,
)
from scratchgen.data.dataset import ArrayDataset
from scratchgen.data.loader import DataLoader
from scratchgen.data.mnist import mnist, read_idx, stratified_split
from scratchgen.data.synthetic import (
    digits2ink,
    edges2digits,
    holed_digits,
    ink_style,
    morphological_gradient,
    noisy_digits2clean,
)

__all__ = [
    "HELD_OUT_COMPOSITIONS",
    "ArrayDataset",
    "DataLoader",
    "Tokenizer",
    "all_captions",
    "captioned_digits",
    "class_prompts",
    "digits2ink",
    "drop_attributes",
    "edges2digits",
    "held_out_captions",
    "holed_digits",
    "ink_mass",
    "ink_style",
    "is_held_out",
    "make_caption",
    "mnist",
    "morphological_gradient",
    "noisy_digits2clean",
    "parse_caption",
    "random_shift",
    "read_idx",
    "seen_captioned_digits",
    "slant",
    "stratified_split",
]
