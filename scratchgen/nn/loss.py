"""Loss layers: thin Modules around the functions of ``scratchgen.ops.loss``.

    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = criterion(model(x), labels)

Each is called as ``criterion(input, target)`` and computes what its function computes
(the maths and gradients are documented there). As in torch, a class weight (``weight``) and
BCEWithLogitsLoss's ``pos_weight`` are buffers: they move with ``.to(device)`` and appear in
the state dict when given. The deprecated torch arguments size_average and reduce are not
accepted, so the arguments after them are keyword-only, as in the functions.
"""

from scratchgen.nn import functional as F
from scratchgen.nn.module import Module


class _Loss(Module):
    """A loss with a reduction ("mean", "sum" or "none")."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with an optional weight, registered as a buffer (None: no entry)."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error (x - y)^2, reduced: ``F.mse_loss``."""

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |x - y|, reduced: ``F.l1_loss``."""

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1]: ``F.binary_cross_entropy``."""

    def __init__(self, weight=None, *, reduction="mean"):
        super().__init__(weight, reduction)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy of logits, sigmoid folded in: ``F.binary_cross_entropy_with_logits``.

    pos_weight (one per class, broadcast against the input) weighs the positive term.
    """

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits (N, C, d...) against class indices: ``F.cross_entropy``."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (N, C, d...): ``F.nll_loss``.

    ``NLLLoss()(LogSoftmax(dim=1)(x), t)`` equals ``CrossEntropyLoss()(x, t)``.
    """

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )
