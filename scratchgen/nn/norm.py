"""Normalisation layers: BatchNorm1d, BatchNorm2d, InstanceNorm2d, LayerNorm, GroupNorm.

Each standardises its input, y = (x - mean) / sqrt(var + eps) * weight + bias, over
different axes (see ``scratchgen.ops.norm``). Parameters start at weight = 1, bias = 0.

Batch and instance norm keep, when ``track_running_stats``, the buffers
    running_mean (zeros), running_var (ones), num_batches_tracked (int64 scalar, 0)
updated in training as running = (1 - momentum) * running + momentum * batch statistic;
``momentum=None`` gives the cumulative average (momentum = 1 / num_batches_tracked).
"""

from scratchgen import backend
from scratchgen.creation import ones, tensor, zeros
from scratchgen.nn import functional as F
from scratchgen.nn import init
from scratchgen.nn.module import Module
from scratchgen.nn.parameter import Parameter


def reset_affine(layer):
    """A norm layer's affine map back to the identity: weight = 1, bias = 0 (where present)."""
    if layer.weight is not None:
        init.ones_(layer.weight)
    if layer.bias is not None:
        init.zeros_(layer.bias)


class _NormBase(Module):
    """Per-channel parameters and running statistics, as torch's _NormBase."""

    def __init__(self, num_features, eps, momentum, affine, track_running_stats, bias):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.register_parameter("weight", Parameter(ones(num_features)) if affine else None)
        self.register_parameter("bias", Parameter(zeros(num_features)) if affine and bias else None)
        tracked = track_running_stats
        self.register_buffer("running_mean", zeros(num_features) if tracked else None)
        self.register_buffer("running_var", ones(num_features) if tracked else None)
        self.register_buffer(
            "num_batches_tracked", tensor(0, dtype=backend.int64) if tracked else None
        )

    def reset_running_stats(self):
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        """Running statistics reset, weight = 1, bias = 0."""
        self.reset_running_stats()
        reset_affine(self)

    def _check_input_dim(self, x, allowed_ndims, layout):
        if x.ndim not in allowed_ndims:
            raise ValueError(
                f"{type(self).__name__}: expected input of shape {layout}, got shape {x.shape}"
            )

    def extra_repr(self):
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    """Batch normalisation: statistics per channel over the batch and spatial axes.

    Training: normalise with the batch statistics and update the running ones.
    Evaluation: normalise with the running statistics (or the batch's when not tracked).
    """

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_running_stats=True,
        *,
        bias=True,
    ):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias)

    def forward(self, x):
        self._check_dim(x)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                momentum = 1.0 / self.num_batches_tracked.item()
        use_batch_stats = self.training or self.running_mean is None
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_batch_stats,
            momentum,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input."""

    def _check_dim(self, x):
        self._check_input_dim(x, (2, 3), "(N, C) or (N, C, L)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input."""

    def _check_dim(self, x):
        self._check_input_dim(x, (4,), "(N, C, H, W)")


class InstanceNorm2d(_NormBase):
    """Instance normalisation of (N, C, H, W) or (C, H, W) input: each image and channel
    over its own H x W. No parameters and no running statistics by default."""

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=False,
        track_running_stats=False,
        *,
        bias=True,
    ):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias)

    def forward(self, x):
        self._check_input_dim(x, (3, 4), "(N, C, H, W) or (C, H, W)")
        if x.ndim == 3:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        use_input_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        return F.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            momentum,
            self.eps,
        )


class LayerNorm(Module):
    """Layer normalisation over the last axes, whose shape is normalized_shape.

    weight (ones) and bias (zeros) have shape normalized_shape (when elementwise_affine).
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        normalized_shape = tuple(normalized_shape)
        self.normalized_shape = normalized_shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        affine = elementwise_affine
        self.register_parameter("weight", Parameter(ones(normalized_shape)) if affine else None)
        self.register_parameter(
            "bias", Parameter(zeros(normalized_shape)) if affine and bias else None
        )

    def reset_parameters(self):
        """weight = 1, bias = 0."""
        reset_affine(self)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Group normalisation: the num_channels channels in num_groups groups, each sample's
    group standardised over its channels and positions (see ``F.group_norm``).

    weight (ones) and bias (zeros, unless bias=False) have shape (num_channels,) (when
    affine). Input (N, C, *) with C = num_channels; no running statistics, so training
    and evaluation compute the same thing.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, *, bias=True):
        super().__init__()
        if not isinstance(num_groups, int) or num_groups < 1:
            raise ValueError(f"GroupNorm: expected num_groups >= 1, got {num_groups!r}")
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self.register_parameter("weight", Parameter(ones(num_channels)) if affine else None)
        self.register_parameter("bias", Parameter(zeros(num_channels)) if affine and bias else None)

    def reset_parameters(self):
        """weight = 1, bias = 0."""
        reset_affine(self)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )
