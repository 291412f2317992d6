"""Embedding: a lookup table from integer ids to learned vectors.

weight has shape (num_embeddings, embedding_dim), initialised N(0, 1) as in torch.
With padding_idx, that row starts at zero and receives no gradient.
"""

from scratchgen.creation import empty
from scratchgen.nn import functional as F
from scratchgen.nn import init
from scratchgen.nn.module import Module
from scratchgen.nn.parameter import Parameter


class Embedding(Module):
    """y[...] = weight[ids[...]]: (*) int64 ids -> (*, embedding_dim)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx must be in [-{num_embeddings}, "
                    f"{num_embeddings}), got {padding_idx}"
                )
            padding_idx %= num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(empty(num_embeddings, embedding_dim))
        self.reset_parameters()

    def reset_parameters(self):
        """weight ~ N(0, 1), with the padding row zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, ids):
        return F.embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
