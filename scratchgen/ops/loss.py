"""Loss functions, as torch.nn.functional defines them.

With x the input, y the target, w an optional weight and l_i the loss of element i:

mse_loss:                  l_i = w_i (x_i - y_i)^2
l1_loss:                   l_i = w_i |x_i - y_i|
binary_cross_entropy:      l_i = -w_i (y_i log x_i + (1 - y_i) log(1 - x_i)),  x_i in [0, 1]
binary_cross_entropy_with_logits:
                           l_i = w_i ((1 - y_i) x_i + (1 + (p - 1) y_i) softplus(-x_i)),
                           p the pos_weight (1 when None)
cross_entropy:             l_n = -w_(y_n) log softmax(x_n)_(y_n)  (label smoothing below)
nll_loss:                  l_n = -w_(y_n) x_(n, y_n),  x_n log-probabilities (log_softmax)

and then reduction="none" keeps l, "sum" gives sum_i l_i, and "mean" divides that sum by the
number of elements, as torch does, except for mse_loss and l1_loss with a weight (divided by
sum_i w_i) and cross_entropy and nll_loss (divided by the sum of the kept targets' class
weights).

The losses on logits (binary_cross_entropy_with_logits, cross_entropy) are single fused
Functions: the forward uses the log-sum-exp / softplus forms, finite for logits of any
size, and the backward is the closed form (sigmoid(x) - y, softmax(x) - one_hot(y)) rather
than the chain through every intermediate.

The deprecated torch arguments size_average and reduce are not accepted: the arguments
after them in torch's signature are keyword-only here.
"""

import math

from scratchgen import backend
from scratchgen.ops.activation import _log_softmax_raw, softmax, softplus
from scratchgen.ops.elementwise import abs, clamp, log, sigmoid
from scratchgen.ops.shape import broadcast_shapes, reshape, sum_to, unsqueeze
from scratchgen.tensor import Function, Tensor

REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------------------------------
# checks and reduction
# ----------------------------------------------------------------------------------


def _check_reduction(reduction, op_name):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op_name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_floating(x, what, op_name):
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{op_name}: expected a floating-point {what}, got dtype {x.dtype}")


def _check_pair(input, target, op_name):
    """input and target: floating-point tensors of one shape."""
    _check_floating(input, "input", op_name)
    _check_floating(target, "target", op_name)
    if input.shape != target.shape:
        raise ValueError(
            f"{op_name}: expected a target of the input's shape {input.shape}, got {target.shape}"
        )


def _check_broadcasts_to(value, shape, what, op_name):
    """value (a weight) must broadcast to shape without enlarging it."""
    _check_floating(value, what, op_name)
    try:
        fits = broadcast_shapes(value.shape, shape, op_name=op_name) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{op_name}: expected {what} broadcastable to the input's shape {shape}, "
            f"got {value.shape}"
        )


def _reduce(losses, reduction, weight=None):
    """none: the losses; sum: their sum; mean: sum / sum of weights (or / their count)."""
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    if weight is None:
        return total * (1.0 / max(losses.numel(), 1))
    return total / weight.sum()


def _elementwise_loss(losses, weight, reduction, op_name):
    """Apply an optional weight of the losses' shape, then reduce (mse_loss, l1_loss)."""
    if weight is None:
        return _reduce(losses, reduction)
    _check_floating(weight, "weight", op_name)
    if weight.shape != losses.shape:
        raise ValueError(
            f"{op_name}: expected a weight of the input's shape {losses.shape}, got {weight.shape}"
        )
    return _reduce(losses * weight, reduction, weight)


# ----------------------------------------------------------------------------------
# mse_loss, l1_loss
# ----------------------------------------------------------------------------------


def mse_loss(input, target, *, reduction="mean", weight=None):
    """Mean squared error:  l_i = w_i (x_i - y_i)^2.

    dl_i/dx_i = 2 w_i (x_i - y_i) = -dl_i/dy_i (autodiff through sub, mul).
    """
    _check_reduction(reduction, "mse_loss")
    _check_pair(input, target, "mse_loss")
    difference = input - target
    return _elementwise_loss(difference * difference, weight, reduction, "mse_loss")


def l1_loss(input, target, *, reduction="mean", weight=None):
    """Mean absolute error:  l_i = w_i |x_i - y_i|.

    dl_i/dx_i = w_i sign(x_i - y_i) (0 where equal, as torch) = -dl_i/dy_i.
    """
    _check_reduction(reduction, "l1_loss")
    _check_pair(input, target, "l1_loss")
    return _elementwise_loss(abs(input - target), weight, reduction, "l1_loss")


# ----------------------------------------------------------------------------------
# binary cross-entropy on probabilities
# ----------------------------------------------------------------------------------

_LOG_FLOOR = -100.0  # torch clamps log(x) and log(1 - x) here, so x = 0 or 1 stays finite
_TINY = math.exp(_LOG_FLOOR)  # log(max(x, e^-100)) never takes log(0)
_PRODUCT_FLOOR = 1e-12  # and keeps x (1 - x) in the gradient's denominator at least this


def _clamped_log_raw(x):
    """max(log x, -100) on a raw array, without evaluating log(0)."""
    xp = backend.get_array_module(x)
    return xp.maximum(xp.log(xp.maximum(x, _TINY)), _LOG_FLOOR)


def _clamped_log(x):
    """max(log x, -100) on a Tensor; its derivative is 1/x, 0 where clamped."""
    return clamp(log(clamp(x, min=_TINY)), min=_LOG_FLOOR)


class BinaryCrossEntropy(Function):
    """l = -(y max(log x, -100) + (1 - y) max(log(1 - x), -100)).

    dl/dx = (x - y) / max(x (1 - x), 1e-12)
    dl/dy = max(log(1 - x), -100) - max(log x, -100)
    """

    def forward(self, x, y):
        return -(y * _clamped_log_raw(x) + (1 - y) * _clamped_log_raw(1 - x))

    def backward(self, gl):
        x, y = self.inputs
        grad_x = grad_y = None
        if self.needs_input_grad[0]:
            grad_x = gl * (x - y) / clamp(x * (1 - x), min=_PRODUCT_FLOOR)
        if self.needs_input_grad[1]:
            grad_y = gl * (_clamped_log(1 - x) - _clamped_log(x))
        return grad_x, grad_y


def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    """Binary cross-entropy between probabilities x in [0, 1] and targets y:
    l_i = -w_i (y_i log x_i + (1 - y_i) log(1 - x_i)), logs clamped at -100 as in torch.

    Prefer binary_cross_entropy_with_logits on logits: it is exact where sigmoid saturates.
    """
    _check_reduction(reduction, "binary_cross_entropy")
    _check_pair(input, target, "binary_cross_entropy")
    if ((input.data < 0) | (input.data > 1)).any():
        raise ValueError(
            "binary_cross_entropy: expected input probabilities in [0, 1] (apply sigmoid, "
            "or use binary_cross_entropy_with_logits), got values in "
            f"[{float(input.data.min()):g}, {float(input.data.max()):g}]"
        )
    losses = BinaryCrossEntropy()(input, target)
    if weight is not None:
        _check_broadcasts_to(weight, input.shape, "weight", "binary_cross_entropy")
        losses = losses * weight
    return _reduce(losses, reduction)


# ----------------------------------------------------------------------------------
# binary cross-entropy on logits
# ----------------------------------------------------------------------------------


class BinaryCrossEntropyWithLogits(Function):
    """l = (1 - y) x + L softplus(-x),  L = 1 + (p - 1) y,  p = pos_weight (an input if given);
    softplus(-x) = max(-x, 0) + log1p(e^-|x|) never overflows.  With p = 1:
    l = max(x, 0) - x y + log1p(e^-|x|).

    dl/dx = (1 - y) - L sigmoid(-x)            (= sigmoid(x) - y when p = 1)
    dl/dy = (p - 1) softplus(-x) - x           (= -x when p = 1)
    dl/dp = y softplus(-x)
    """

    def forward(self, x, y, pos_weight=None):
        xp = backend.get_array_module(x)
        softplus_neg_x = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        if pos_weight is None:
            return (1 - y) * x + softplus_neg_x
        return (1 - y) * x + (1 + (pos_weight - 1) * y) * softplus_neg_x

    def backward(self, gl):
        x, y = self.inputs[:2]
        has_pos_weight = len(self.inputs) == 3
        grad_x = grad_y = grad_p = None
        if not has_pos_weight:
            if self.needs_input_grad[0]:
                grad_x = gl * (sigmoid(x) - y)
            if self.needs_input_grad[1]:
                grad_y = -gl * x
            return grad_x, grad_y
        p = self.inputs[2]
        softplus_neg_x = softplus(-x)
        if self.needs_input_grad[0]:
            grad_x = gl * ((1 - y) - (1 + (p - 1) * y) * sigmoid(-x))
        if self.needs_input_grad[1]:
            grad_y = gl * ((p - 1) * softplus_neg_x - x)
        if self.needs_input_grad[2]:
            grad_p = sum_to(gl * y * softplus_neg_x, p.shape)
        return grad_x, grad_y, grad_p


def binary_cross_entropy_with_logits(
    input, target, weight=None, *, reduction="mean", pos_weight=None
):
    """Binary cross-entropy on logits x (sigmoid folded in, stable for any x):
    l_i = w_i ((1 - y_i) x_i + (1 + (p - 1) y_i) log(1 + e^-x_i)).

    pos_weight p weighs the positive term; it broadcasts against the input (shape (C,) for
    inputs (N, C)), as does weight.
    """
    op_name = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op_name)
    _check_pair(input, target, op_name)
    inputs = (input, target)
    if pos_weight is not None:
        _check_broadcasts_to(pos_weight, input.shape, "pos_weight", op_name)
        inputs += (pos_weight,)
    losses = BinaryCrossEntropyWithLogits()(*inputs)
    if weight is not None:
        _check_broadcasts_to(weight, input.shape, "weight", op_name)
        losses = losses * weight
    return _reduce(losses, reduction)


# ----------------------------------------------------------------------------------
# cross-entropy over classes
# ----------------------------------------------------------------------------------


def _target_weights(x, target, class_weight, ignore_index, label_smoothing=0.0):
    """q_(n, c) = w_c ((1 - e) [c = t_n] + e / C), and 0 where t_n = ignore_index, on raw
    arrays: x (N, C, d...), target (N, d...), class_weight (C,); the result has x's shape."""
    xp = backend.get_array_module(x)
    classes = x.shape[1]
    class_axis = (1, classes) + (1,) * (x.ndim - 2)  # broadcasts along the class axis
    weight = class_weight.astype(x.dtype, copy=False).reshape(class_axis)
    one_hot = (xp.arange(classes).reshape(class_axis) == target[:, None]).astype(x.dtype)
    kept = (target != ignore_index)[:, None]
    return weight * ((1 - label_smoothing) * one_hot + label_smoothing / classes) * kept


class CrossEntropy(Function):
    """Per-sample cross-entropy of logits x (N, C, d...) against class indices t (N, d...),
    class weights w (C,) and label smoothing e (torch's definition):

        l_n = (1 - e) w_(t_n) (-log p_(n, t_n)) + (e / C) sum_c w_c (-log p_(n, c)),
        p = softmax(x) over the class axis by log-sum-exp,  l_n = 0 where t_n = ignore_index.

    Writing l_n = sum_c q_(n, c) (-log p_(n, c)) with target weights
    q_(n, c) = (1 - e) w_c [c = t_n] + (e / C) w_c, and a_n = sum_c q_(n, c):

        dl_n/dx_(n, c) = a_n p_(n, c) - q_(n, c)

    (softmax(x) - one_hot(t) without weights and smoothing). Weights and targets are
    constants: torch does not differentiate them either.
    """

    def __init__(self, target, class_weight, ignore_index, label_smoothing):
        self.target = target
        self.class_weight = class_weight
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, x):
        self.target_weights = _target_weights(
            x, self.target, self.class_weight, self.ignore_index, self.label_smoothing
        )
        self.scale = self.target_weights.sum(axis=1, keepdims=True)  # a_n
        return -(self.target_weights * _log_softmax_raw(x, 1)).sum(axis=1)

    def backward(self, gl):
        x = self.inputs[0]
        per_class = softmax(x, 1) * Tensor(self.scale) - Tensor(self.target_weights)
        return per_class * unsqueeze(gl, 1)


def _check_class_targets(input, target, weight, ignore_index, what, op_name):
    """input (N, C, d...) of `what` (logits, log-probabilities), integer target (N, d...)
    in [0, C) or ignore_index, and an optional class weight (C,)."""
    _check_floating(input, f"input ({what})", op_name)
    if input.ndim < 2:
        raise ValueError(
            f"{op_name}: expected {what} of shape (N, C) or (N, C, d...), got {input.shape}"
        )
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{op_name}: expected a target of integer class indices (int64), got dtype "
            f"{target.dtype}; probability targets are not supported"
        )
    expected = (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"{op_name}: expected a target of shape {expected} for {what} of shape "
            f"{input.shape}, got {target.shape}"
        )
    classes = input.shape[1]
    if weight is not None:
        _check_floating(weight, "weight", op_name)
        if weight.shape != (classes,):
            raise ValueError(
                f"{op_name}: expected a weight of shape ({classes},), one per class, "
                f"got {weight.shape}"
            )
    t = target.data
    bad = (t != ignore_index) & ((t < 0) | (t >= classes))
    if bad.any():
        raise IndexError(
            f"{op_name}: target class indices must be in [0, {classes - 1}] (or ignore_index "
            f"{ignore_index}), got {int(t[bad].reshape(-1)[0])}"
        )


def _one_sample(loss_fn, input, target, reduction, what, op_name, **options):
    """loss_fn of one sample (C,) with a 0-d target: a batch of one, squeezed back."""
    if target.ndim != 0:
        raise ValueError(
            f"{op_name}: expected a 0-d target for {what} of shape {input.shape}, "
            f"got {target.shape}"
        )
    losses = loss_fn(unsqueeze(input, 0), reshape(target, (1,)), reduction=reduction, **options)
    return reshape(losses, ()) if reduction == "none" else losses


def _class_weight(input, weight):
    """The raw class weights: weight's array, or ones (C,) in the input's dtype."""
    if weight is not None:
        return weight.data
    return backend.get_array_module(input.data).ones(input.shape[1], dtype=input.dtype)


def _reduce_kept(losses, reduction, target, class_weight, ignore_index):
    """none and sum as _reduce; mean: the sum over the sum of the kept targets' class
    weights (their count without weight), as torch does (NaN when every target is ignored)."""
    if reduction != "mean":
        return _reduce(losses, reduction)
    xp = backend.get_array_module(target)
    kept = target != ignore_index
    kept_weight = (class_weight[xp.where(kept, target, 0)] * kept).sum()
    return losses.sum() / Tensor(xp.asarray(kept_weight, dtype=losses.dtype))


def cross_entropy(
    input, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """Cross-entropy of logits (N, C) or (N, C, d...) (or one sample (C,)) against class
    indices (N,) or (N, d...): -log softmax(x)_target, optionally weighted per class and
    label-smoothed. Targets equal to ignore_index add nothing; "mean" divides by the sum
    of the kept targets' class weights (their count without weight), as torch does.
    """
    _check_reduction(reduction, "cross_entropy")
    if input.ndim == 1:
        return _one_sample(
            cross_entropy,
            input,
            target,
            reduction,
            "logits",
            "cross_entropy",
            weight=weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
        )
    _check_class_targets(input, target, weight, ignore_index, "logits", "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    class_weight = _class_weight(input, weight)
    function = CrossEntropy(target.data, class_weight, ignore_index, float(label_smoothing))
    return _reduce_kept(function(input), reduction, target.data, class_weight, ignore_index)


# ----------------------------------------------------------------------------------
# negative log-likelihood of log-probabilities
# ----------------------------------------------------------------------------------


class NLLLoss(Function):
    """Per-sample negative log-likelihood of log-probabilities x (N, C, d...) against class
    indices t (N, d...) with class weights w (C,):

        l_n = -w_(t_n) x_(n, t_n),  and l_n = 0 where t_n = ignore_index.

    With q_(n, c) = w_c [c = t_n] (0 for an ignored target), l_n = -sum_c q_(n, c) x_(n, c),
    linear in x:

        dl_n/dx_(n, c) = -q_(n, c)

    so the backward is the upstream gradient times a constant (its own derivative is 0).
    Weights and targets are constants, as in torch.
    """

    def __init__(self, target, class_weight, ignore_index):
        self.target = target
        self.class_weight = class_weight
        self.ignore_index = ignore_index

    def forward(self, x):
        self.target_weights = _target_weights(x, self.target, self.class_weight, self.ignore_index)
        xp = backend.get_array_module(x)
        picked = xp.where(self.target_weights != 0, x, 0)  # no 0 * -inf at other classes
        return -(self.target_weights * picked).sum(axis=1)

    def backward(self, gl):
        return unsqueeze(gl, 1) * Tensor(-self.target_weights)


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C) or (N, C, d...) (or one sample
    (C,)) against class indices (N,) or (N, d...): -x_target, optionally weighted per class;
    nll_loss(log_softmax(x, 1), t) equals cross_entropy(x, t). Targets equal to ignore_index
    add nothing; "mean" divides by the sum of the kept targets' class weights, as torch does.
    """
    _check_reduction(reduction, "nll_loss")
    if input.ndim == 1:
        return _one_sample(
            nll_loss,
            input,
            target,
            reduction,
            "log-probabilities",
            "nll_loss",
            weight=weight,
            ignore_index=ignore_index,
        )
    _check_class_targets(input, target, weight, ignore_index, "log-probabilities", "nll_loss")
    class_weight = _class_weight(input, weight)
    function = NLLLoss(target.data, class_weight, ignore_index)
    return _reduce_kept(function(input), reduction, target.data, class_weight, ignore_index)
