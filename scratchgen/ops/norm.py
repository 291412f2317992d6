"""Normalisation: batch_norm, instance_norm, layer_norm, group_norm.

All four standardise x over a set of axes and apply an affine map:

    mean = E[x],  var = E[(x - mean)^2]            (over the normalised axes; biased)
    s = 1 / sqrt(var + eps),  xhat = (x - mean) * s,  y = xhat * w + b

and differ only in the axes (and in who owns the statistics):

    batch_norm      (N, C, *)  axes: all but C       w, b per channel
    instance_norm   (N, C, *)  axes: the spatial ones w, b per channel
    layer_norm      (..., *S)  axes: the last len(S)  w, b of shape S
    group_norm      (N, C, *)  axes: C/G channels     w, b per channel
                               and the spatial ones (x viewed as (N, G, C/G * ...))

so one fused Function, ``Normalize``, does the work for all of them.

Gradient (E, s, xhat per group of normalised elements, h = g * w):

    dL/dx = s * P(h),   P(u) = u - E[u] - xhat * E[u * xhat]
    dL/dw = sum of g * xhat over the axes w is broadcast along,   dL/db = sum of g

P removes from u the parts that moving the mean and the variance would undo. With
fixed statistics (batch_norm in evaluation, instance_norm on running statistics) the
mean and variance do not depend on x, and P is the identity: dL/dx = s * h.
"""

import math

from scratchgen import backend
from scratchgen.ops.reduce import _count, mean
from scratchgen.ops.shape import reshape, sum_axes, sum_to
from scratchgen.tensor import Function, Tensor


class Normalize(Function):
    """y = xhat * w + b,  xhat = (x - mean) / sqrt(var + eps)  (fused, on arrays).

    stats: None to use the statistics of x over ``axes`` (stored afterwards as
    ``batch_mean`` and ``batch_var``), or fixed (mean, var) arrays that broadcast
    against x. Inputs: (x) or (x, w, b) with w, b broadcastable against x.
    Gradients (module docstring): dx by ``NormalizeInputGrad``, dw by
    ``NormalizeWeightGrad``, db = sum_to(g).
    """

    def __init__(self, axes, eps, stats=None):
        self.axes = axes
        self.eps = eps
        self.stats = stats

    def forward(self, x, weight=None, bias=None):
        xp = backend.get_array_module(x)
        if self.stats is None:
            count = _count(x.shape, self.axes)
            mean_ = sum_axes(x, self.axes, keepdims=True) / count
            centred = x - mean_
            var_ = sum_axes(xp.square(centred), self.axes, keepdims=True) / count
            self.batch_mean, self.batch_var = mean_, var_
        else:
            mean_, var_ = self.stats
            centred = x - mean_
        self.inv_std = 1 / xp.sqrt(var_ + self.eps)
        xhat = centred
        xhat *= self.inv_std  # in place: centred is a fresh array
        self.xhat = xhat
        if weight is None:
            return xhat
        y = xhat * weight
        y += bias
        return y

    def backward(self, gy):
        x = self.inputs[0]
        weights = self.inputs[1:2]  # (w,) or ()
        grad_x = grad_weight = grad_bias = None
        if self.needs_input_grad[0]:
            grad_x = NormalizeInputGrad(self)(gy, x, *weights)
        if len(self.inputs) == 1:
            return grad_x
        weight, bias = self.inputs[1:]
        if self.needs_input_grad[1]:
            grad_weight = NormalizeWeightGrad(self, weight.shape)(gy, x)
        if self.needs_input_grad[2]:
            grad_bias = sum_to(gy, bias.shape)
        return grad_x, grad_weight, grad_bias


class _NormalizeGradient(Function):
    """What both gradient Functions of ``Normalize`` share: its saved xhat and s, and
    for their own backward, xhat, s and P rebuilt from ops (differentiable in x)."""

    def __init__(self, normalize):
        self.axes = normalize.axes
        self.eps = normalize.eps
        self.stats = normalize.stats
        self.xhat = normalize.xhat
        self.inv_std = normalize.inv_std

    def _mean(self, u):
        return mean(u, self.axes, keepdim=True)

    def _rebuild(self, x):
        """(xhat, s, P) as ops of x; P(u) = u - E[u] - xhat E[u xhat], or u for fixed stats."""
        xhat, inv_std = standardize(x, self.axes, self.eps, self.stats)
        if self.stats is not None:
            return xhat, inv_std, lambda u: u
        return xhat, inv_std, lambda u: u - self._mean(u) - xhat * self._mean(u * xhat)


class NormalizeInputGrad(_NormalizeGradient):
    """dx = s * P(h), h = g * w  (w = 1 without one), fused on arrays:  (g, x[, w]) -> dx.

    P(u) = u - E[u] - xhat * E[u * xhat] with batch statistics, u with fixed ones.
    Backward (ops), for an upstream gradient v of dx:

        dL/dg = w * s * P(v),   dL/dw = sum_to(g * s * P(v))
        dL/dx = 0                                                      (fixed statistics)
        dL/dx = -s * xhat * E[v * dx] - s^2 * (E[h * xhat] P(v) + E[v * xhat] P(h))

    from the derivatives of s and xhat along a direction u: -s^2 E[xhat u] and s P(u).
    """

    def forward(self, gy, x, weight=None):
        h = gy if weight is None else gy * weight
        if self.stats is not None:
            return h * self.inv_std
        xp = backend.get_array_module(gy)
        count = _count(x.shape, self.axes)
        dx = h * self.xhat  # one fresh array, reused below to build s * P(h) in place
        mean_h_xhat = sum_axes(dx, self.axes, keepdims=True) / count
        mean_h = sum_axes(h, self.axes, keepdims=True) / count
        xp.multiply(self.xhat, -mean_h_xhat, out=dx)
        dx += h
        dx -= mean_h
        dx *= self.inv_std
        return dx

    def backward(self, v):
        gy, x = self.inputs[:2]
        weight = self.inputs[2] if len(self.inputs) == 3 else None
        xhat, inv_std, project = self._rebuild(x)
        scaled_v = inv_std * project(v)
        grad_gy = scaled_v if weight is None else weight * scaled_v
        grad_x = None
        if self.stats is None:
            h = gy if weight is None else gy * weight
            dx = inv_std * project(h)
            grad_x = -inv_std * xhat * self._mean(v * dx) - inv_std * inv_std * (
                self._mean(h * xhat) * project(v) + self._mean(v * xhat) * project(h)
            )
        if weight is None:
            return grad_gy, grad_x
        return grad_gy, grad_x, sum_to(gy * scaled_v, weight.shape)


class NormalizeWeightGrad(_NormalizeGradient):
    """dw = sum_to(g * xhat, w.shape), fused on arrays:  (g, x) -> dw.

    Backward (ops), for an upstream gradient v of dw (broadcast back over g's shape):
        dL/dg = v * xhat,   dL/dx = s * P(v * g).
    """

    def __init__(self, normalize, weight_shape):
        super().__init__(normalize)
        self.weight_shape = weight_shape

    def forward(self, gy, x):
        summed = tuple(i for i, size in enumerate(self.weight_shape) if size == 1)
        return sum_axes(gy * self.xhat, summed, keepdims=True)

    def backward(self, v):
        gy, x = self.inputs
        xhat, inv_std, project = self._rebuild(x)
        return v * xhat, inv_std * project(v * gy)


def standardize(x, axes, eps, stats=None):
    """(xhat, s) built from ops, so differentiable in x: s = 1/sqrt(var + eps),
    xhat = (x - mean) * s, with the statistics of x over axes or the fixed ``stats``."""
    if stats is None:
        mean_ = mean(x, axes, keepdim=True)
        centred = x - mean_
        var_ = mean(centred * centred, axes, keepdim=True)
    else:
        mean_, var_ = Tensor(stats[0]), Tensor(stats[1])
        centred = x - mean_
    inv_std = (var_ + eps) ** -0.5
    return centred * inv_std, inv_std


# ----------------------------------------------------------------------------------
# the shared core and the three public ops
# ----------------------------------------------------------------------------------


def _apply(normalize, x, param_shape, weight, bias):
    """normalize(x, w, b) with w, b reshaped to param_shape (a missing one acts as 1 or 0)."""
    if weight is None and bias is None:
        return normalize(x)
    xp = backend.get_array_module(x.data)
    if weight is None:
        weight = Tensor(xp.ones(param_shape, dtype=x.dtype))
    if bias is None:
        bias = Tensor(xp.zeros(param_shape, dtype=x.dtype))
    return normalize(x, reshape(weight, param_shape), reshape(bias, param_shape))


def _normalize_per_channel(op_name, x, axes, weight, bias, eps, running, use_batch_stats, momentum):
    """batch_norm and instance_norm: parameters per channel (axis 1), statistics over axes.

    running: (running_mean, running_var), either may be None. With batch statistics the
    running ones (if given) move towards them, in place:
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)
    (the unbiased variance; instance_norm averages the statistics of the N instances).
    Otherwise the running statistics normalise x; they are constants (no gradient).
    """
    running_mean, running_var = running
    channels = x.shape[1]
    param_shape = (1, channels) + (1,) * (x.ndim - 2)
    for name, t in [
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ]:
        if t is not None and t.numel() != channels:
            raise ValueError(
                f"{op_name}: expected {name} with {channels} elements (input.shape[1]), "
                f"got {t.numel()} (shape {t.shape})"
            )
    if not use_batch_stats:
        if running_mean is None or running_var is None:
            raise ValueError(
                f"{op_name}: expected running_mean and running_var when normalising with "
                "running statistics (training=False / use_input_stats=False), got None"
            )
        stats = (_as_stat(running_mean, x, param_shape), _as_stat(running_var, x, param_shape))
        return _apply(Normalize(axes, eps, stats), x, param_shape, weight, bias)
    count = _count(x.shape, axes)
    if count < 2:
        raise ValueError(
            f"{op_name}: expected more than 1 value per channel to compute statistics, "
            f"got input of shape {x.shape}"
        )
    normalize = Normalize(axes, eps)
    y = _apply(normalize, x, param_shape, weight, bias)
    if running_mean is not None:
        _move_towards(running_mean, normalize.batch_mean, momentum, channels)
    if running_var is not None:
        unbiased_var = normalize.batch_var * (count / (count - 1))
        _move_towards(running_var, unbiased_var, momentum, channels)
    return y


def _as_stat(running, x, param_shape):
    xp = backend.get_array_module(x.data)
    return xp.asarray(running.data, dtype=x.dtype).reshape(param_shape)


def _move_towards(running, batch_stat, momentum, channels):
    """running <- (1 - momentum) running + momentum * batch_stat (averaged over instances).

    In place on the raw array: a buffer update, outside any graph.
    """
    batch_stat = batch_stat.reshape(-1, channels).mean(axis=0).reshape(running.shape)
    running.data[...] = (1 - momentum) * running.data + momentum * batch_stat


def _check_per_channel_input(x, op_name, min_ndim):
    if x.ndim < min_ndim:
        layout = "(N, C)" if min_ndim == 2 else "(N, C, L) or (N, C, H, W)"
        raise ValueError(f"{op_name}: expected input of shape {layout}, got shape {x.shape}")
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{op_name}: expected a floating-point input, got dtype {x.dtype}")


def batch_norm(
    input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
):
    """Batch normalisation of input (N, C, *) per channel, over N and the spatial axes.

    training=True (or no running statistics): normalise with the batch mean and biased
    variance, and update running_mean / running_var in place (unbiased variance, as torch).
    training=False: normalise with running_mean / running_var (buffers: no gradient).
    y = (x - mean) / sqrt(var + eps) * weight + bias; gradients in the module docstring.
    """
    _check_per_channel_input(input, "batch_norm", min_ndim=2)
    axes = (0,) + tuple(range(2, input.ndim))
    running = (running_mean, running_var)
    training = training or running_mean is None or running_var is None
    return _normalize_per_channel(
        "batch_norm", input, axes, weight, bias, eps, running, training, momentum
    )


def instance_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats=True,
    momentum=0.1,
    eps=1e-5,
):
    """Instance normalisation of input (N, C, *): each (n, c) over its spatial axes.

    use_input_stats=True: the statistics of each instance (running ones, if given, move
    towards their mean over N); False: normalise with running_mean / running_var.
    """
    _check_per_channel_input(input, "instance_norm", min_ndim=3)
    axes = tuple(range(2, input.ndim))
    running = (running_mean, running_var)
    return _normalize_per_channel(
        "instance_norm", input, axes, weight, bias, eps, running, use_input_stats, momentum
    )


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation over the last len(normalized_shape) axes of input.

    y = (x - mean) / sqrt(var + eps) * weight + bias, weight and bias of normalized_shape.
    """
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or input.shape[input.ndim - k :] != normalized_shape:
        raise ValueError(
            f"layer_norm: expected input whose last {k} axes are normalized_shape "
            f"{normalized_shape}, got input of shape {input.shape}"
        )
    for name, t in [("weight", weight), ("bias", bias)]:
        if t is not None and t.shape != normalized_shape:
            raise ValueError(
                f"layer_norm: expected {name} of shape normalized_shape {normalized_shape}, "
                f"got {t.shape}"
            )
    if not backend.is_floating(input.dtype):
        raise TypeError(f"layer_norm: expected a floating-point input, got dtype {input.dtype}")
    axes = tuple(range(input.ndim - k, input.ndim))
    param_shape = (1,) * (input.ndim - k) + normalized_shape
    return _apply(Normalize(axes, eps), input, param_shape, weight, bias)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation of input (N, C, *): the C channels in num_groups groups of
    C / G consecutive channels, each (sample, group) standardised over its channels and
    positions, then an affine map per channel:

        xhat = Normalize(x viewed as (N, G, C/G * ...)) over its last axis, viewed back
        y = xhat * weight[c] + bias[c]

    Gradients: Normalize's (module docstring) through the views; for the affine map
    dL/dxhat = g w, dL/dw = sum of g xhat and dL/db = sum of g over all but the channels.
    """
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected input of shape (N, C, *), got shape {input.shape}")
    if not backend.is_floating(input.dtype):
        raise TypeError(f"group_norm: expected a floating-point input, got dtype {input.dtype}")
    batch, channels = input.shape[:2]
    if not isinstance(num_groups, int) or num_groups < 1 or channels % num_groups:
        raise ValueError(
            f"group_norm: expected the number of channels input.shape[1] = {channels} to be "
            f"divisible by num_groups, got num_groups={num_groups!r} (input shape {input.shape})"
        )
    for name, t in [("weight", weight), ("bias", bias)]:
        if t is not None and t.shape != (channels,):
            raise ValueError(
                f"group_norm: expected {name} of shape ({channels},) (input.shape[1]), "
                f"got {t.shape}"
            )
    group_size = channels // num_groups * math.prod(input.shape[2:])
    grouped = reshape(input, (batch, num_groups, group_size))
    y = reshape(Normalize((2,), eps)(grouped), input.shape)
    param_shape = (1, channels) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * reshape(weight, param_shape)
    if bias is not None:
        y = y + reshape(bias, param_shape)
    return y
