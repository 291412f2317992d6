"""CLIP's symmetric cross-entropy (InfoNCE in both directions) on an image-text logits matrix.

With N matched pairs (image i, text i), unit embeddings u_i (images) and v_j (texts) and
the temperature's inverse s = exp(t), the logits are l_ij = s u_i . v_j: row i scores
image i against every text, column j scores text j against every image. The pair
(i, i) is the right answer of both the row and the column classification.
"""

from scratchgen import backend
from scratchgen.creation import arange
from scratchgen.nn import functional as F


def clip_loss(logits):
    """The mean of the image-to-text and text-to-image cross-entropies of logits (N, N):

        L = ( CE(l, I) + CE(l^T, I) ) / 2
          = -1/(2N) sum_i [ log softmax_j(l_ij)_i  +  log softmax_j(l_ji)_i ]

    (targets I: the diagonal, pair i is row i's and column i's class). With
    p = softmax over each row of l and q = softmax over each column of l:

        dL/dl_ij = ( p_ij + q_ij - 2 [i = j] ) / (2N)

    so raising a matched logit l_ii always lowers L, and L = log N for constant logits
    (every answer equally likely). The log-sum-exp form keeps L finite for any logits,
    e.g. the largest scale 100 times similarities of +-1. Through l = s U V^T the chain
    rule reaches the embeddings and the scale: dL/ds = sum_ij dL/dl_ij u_i . v_j.
    """
    if logits.ndim != 2 or logits.shape[0] != logits.shape[1]:
        raise ValueError(
            f"clip_loss: expected square logits (N, N) of N images against their N texts, "
            f"got shape {tuple(logits.shape)}"
        )
    if logits.shape[0] == 0:
        raise ValueError("clip_loss: expected at least one pair, got logits of shape (0, 0)")
    pairs = arange(logits.shape[0], dtype=backend.int64, device=logits.device)
    image_to_text = F.cross_entropy(logits, pairs)
    text_to_image = F.cross_entropy(logits.T, pairs)
    return (image_to_text + text_to_image) * 0.5
