"""Hypothesis strategies shared by the test suite (one place, as in minitorch)."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=4):
    """Array shapes, size-1 axes included."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


@st.composite
def broadcastable_pair(draw, max_dims=4, max_side=4):
    """Two shapes that broadcast against each other (either may be the smaller)."""
    shapes_ = draw(
        hnp.mutually_broadcastable_shapes(
            num_shapes=2, min_dims=0, max_dims=max_dims, max_side=max_side
        )
    )
    return shapes_.input_shapes


def floats(low=-3.0, high=3.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def arrays(draw, shape, low=-3.0, high=3.0, away_from=None, margin=1e-2):
    """A float64 array of the given shape with values in [low, high].

    away_from: values within margin of which are pushed off (kinks of abs, relu, clamp),
    so central differences never straddle a non-differentiable point.
    """
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    values = rng.uniform(low, high, size=shape)
    for point in away_from or ():
        near = np.abs(values - point) < margin
        values[near] = point + np.where(values[near] >= point, margin, -margin) * 2
    return values


def dims(ndim):
    """A valid dim for a tensor with ndim axes, negative ones included."""
    return st.integers(-ndim, ndim - 1)


def dim_subsets(ndim):
    """None, one dim, or a tuple of distinct dims (negative dims included)."""
    if ndim == 0:
        return st.none()
    tuples = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(
        lambda ds: tuple(d - ndim if i % 2 else d for i, d in enumerate(ds))
    )
    return st.one_of(st.none(), dims(ndim), tuples)
