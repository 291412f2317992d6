"""Shape ops and indexing: reshape, view, transpose, permute, flatten, (un)squeeze,
expand, broadcast_to, .T, cat, stack and getitem.

Every op is gradchecked in float64 and compared with PyTorch (forward and gradient,
rtol 1e-7) over hypothesis-drawn shapes, size-1 axes and negative dims included.
Indexes torch does not take the NumPy way (negative steps; integer arrays split by a
slice) are compared with NumPy: the forward with x[index], the gradient with a
scatter-add built independently of the op (np.bincount over flat positions).
"""

import numpy as np
import pytest
from helpers import check_against_torch, check_gradient, check_op
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, dims, shapes

import scratchgen as sg

try:
    import torch
except ImportError:  # the torch halves of check_op skip cleanly
    torch = None


def small_shapes(min_dims=0, max_dims=3):
    return shapes(min_dims=min_dims, max_dims=max_dims, max_side=3)


def prime_factors(n):
    factors, p = [], 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors


@st.composite
def reshape_targets(draw, size):
    """A shape holding size elements: its prime factors dealt out to 0-4 axes, maybe a -1."""
    n_axes = draw(st.integers(0 if size == 1 else 1, 4))
    target = [1] * n_axes
    for factor in prime_factors(size):
        target[draw(st.integers(0, n_axes - 1))] *= factor
    if n_axes and draw(st.booleans()):
        target[draw(st.integers(0, n_axes - 1))] = -1
    return tuple(target)


@st.composite
def expand_targets(draw, shape, allow_minus_one=True):
    """A shape that shape broadcasts to: new leading axes, size-1 axes stretched, -1 kept."""
    leading = draw(st.lists(st.integers(1, 3), max_size=2))
    target = []
    for size in shape:
        choices = [1, 2, 3] if size == 1 else [size]
        target.append(draw(st.sampled_from(choices + ([-1] if allow_minus_one else []))))
    return tuple(leading) + tuple(target)


def inverse_permutation(order):
    return tuple(int(i) for i in np.argsort([d % len(order) for d in order]))


# ----------------------------------------------------------------------------------
# reshape, view, flatten, (un)squeeze
# ----------------------------------------------------------------------------------


@given(shape=shapes(max_dims=4, max_side=3), data=st.data())
def test_reshape_and_view_match_torch(shape, data, device):
    x = data.draw(arrays(shape))
    target = data.draw(reshape_targets(int(np.prod(shape))))
    check_op(lambda t: sg.reshape(t, target), lambda t: t.reshape(target), [x], device)
    check_against_torch(lambda t: t.view(*target), lambda t: t.view(target), [x], device)
    check_against_torch(lambda t: t.reshape(-1), lambda t: t.reshape(-1), [x], device)


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_flatten_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    ndim = len(shape)
    start, end = sorted(d % ndim for d in (data.draw(dims(ndim)), data.draw(dims(ndim))))
    if data.draw(st.booleans()):
        start -= ndim  # the same axis, counted from the end
    check_op(lambda t: t.flatten(start, end), lambda t: t.flatten(start, end), [x], device)
    check_against_torch(lambda t: sg.flatten(t), lambda t: torch.flatten(t), [x], device)


def test_flatten_of_a_scalar_has_one_element(device):
    check_op(lambda t: t.flatten(), lambda t: t.flatten(), [np.array(2.0)], device)


@given(shape=small_shapes(), data=st.data())
def test_unsqueeze_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    dim = data.draw(dims(len(shape) + 1))
    check_op(lambda t: sg.unsqueeze(t, dim), lambda t: t.unsqueeze(dim), [x], device)


@given(shape=small_shapes(min_dims=1, max_dims=4), data=st.data())
def test_squeeze_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    dim = data.draw(dims(len(shape)))
    check_op(lambda t: t.squeeze(dim), lambda t: t.squeeze(dim), [x], device)
    check_op(lambda t: sg.squeeze(t), lambda t: torch.squeeze(t), [x], device)


# ----------------------------------------------------------------------------------
# transpose, permute, .T
# ----------------------------------------------------------------------------------


@given(shape=small_shapes(max_dims=4), data=st.data())
def test_transpose_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    ndim = max(len(shape), 1)  # a scalar takes dim 0 or -1, as in torch
    dim0, dim1 = data.draw(dims(ndim)), data.draw(dims(ndim))
    check_op(lambda t: sg.transpose(t, dim0, dim1), lambda t: t.transpose(dim0, dim1), [x], device)


@given(shape=small_shapes(max_dims=4), data=st.data())
def test_permute_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    order = data.draw(st.permutations(range(len(shape))))
    order = tuple(d - len(shape) if i % 2 else d for i, d in enumerate(order))
    check_op(lambda t: t.permute(*order), lambda t: t.permute(order), [x], device)
    check_against_torch(lambda t: sg.permute(t, order), lambda t: t.permute(order), [x], device)


@given(shape=small_shapes(max_dims=4), data=st.data())
def test_T_reverses_the_axes(shape, data, device):
    x = data.draw(arrays(shape))
    reverse = tuple(reversed(range(len(shape))))
    check_op(lambda t: t.T, lambda t: t.permute(reverse), [x], device)
    np.testing.assert_array_equal(sg.tensor(x, device=device).T.numpy(), x.T)


# ----------------------------------------------------------------------------------
# expand, broadcast_to
# ----------------------------------------------------------------------------------


@given(shape=small_shapes(), data=st.data())
def test_expand_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    target = data.draw(expand_targets(shape))
    check_op(lambda t: t.expand(*target), lambda t: t.expand(target), [x], device)
    check_against_torch(lambda t: sg.ops.expand(t, target), lambda t: t.expand(target), [x], device)


@given(shape=small_shapes(), data=st.data())
def test_broadcast_to_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    target = data.draw(expand_targets(shape, allow_minus_one=False))
    check_op(
        lambda t: sg.ops.broadcast_to(t, target),
        lambda t: torch.broadcast_to(t, target),
        [x],
        device,
    )
    check_against_torch(
        lambda t: t.broadcast_to(target), lambda t: t.broadcast_to(target), [x], device
    )


def test_expand_as(device):
    x, y = np.random.default_rng(0).standard_normal((3, 1)), np.zeros((2, 3, 4))
    check_against_torch(lambda a, b: a.expand_as(b), lambda a, b: a.expand_as(b), [x, y], device)


# ----------------------------------------------------------------------------------
# cat, stack
# ----------------------------------------------------------------------------------


@st.composite
def cat_inputs(draw):
    """2-4 arrays equal in shape except along dim (sizes 1-3 there), and that dim."""
    shape = list(draw(small_shapes(min_dims=1)))
    dim = draw(dims(len(shape)))
    pieces = []
    for _ in range(draw(st.integers(2, 4))):
        shape[dim] = draw(st.integers(1, 3))
        pieces.append(draw(arrays(tuple(shape))))
    return pieces, dim


@given(case=cat_inputs())
def test_cat_matches_torch(case, device):
    pieces, dim = case
    check_op(lambda *ts: sg.cat(ts, dim), lambda *ts: torch.cat(ts, dim), pieces, device)


@given(shape=small_shapes(), count=st.integers(2, 4), data=st.data())
def test_stack_matches_torch(shape, count, data, device):
    pieces = [data.draw(arrays(shape)) for _ in range(count)]
    dim = data.draw(dims(len(shape) + 1))
    check_op(lambda *ts: sg.stack(ts, dim), lambda *ts: torch.stack(ts, dim), pieces, device)


# ----------------------------------------------------------------------------------
# indexing
# ----------------------------------------------------------------------------------


@st.composite
def basic_indices(draw, shape, negative_steps):
    """Ints, slices (steps, bounds past the ends), None and Ellipsis for shape.

    The parts index the leading axes, or the trailing ones after an Ellipsis.
    """
    count = draw(st.integers(0, len(shape)))
    after_ellipsis = draw(st.booleans())
    indexed = shape[len(shape) - count :] if after_ellipsis else shape[:count]
    steps = [None, 1, 2, 3] + ([-1, -2] if negative_steps else [])
    parts = []
    for size in indexed:
        bound = st.none() | st.integers(-size - 1, size + 1)
        parts.append(
            draw(
                st.one_of(
                    st.integers(-size, size - 1),
                    st.builds(slice, bound, bound, st.sampled_from(steps)),
                )
            )
        )
    for _ in range(draw(st.integers(0, 2))):
        parts.insert(draw(st.integers(0, len(parts))), None)
    if after_ellipsis:
        parts.insert(0, Ellipsis)
    return tuple(parts)


def numpy_index_gradient(shape, index, upstream):
    """d<upstream, x[index]>/dx by counting: each output adds its upstream to its source."""
    sources = np.arange(int(np.prod(shape))).reshape(shape)[index]
    return np.bincount(
        sources.ravel(), weights=upstream.ravel(), minlength=int(np.prod(shape))
    ).reshape(shape)


def as_sg_index(index, device):
    """The index with its NumPy arrays as scratchgen tensors."""
    parts = index if isinstance(index, tuple) else (index,)
    converted = tuple(
        sg.tensor(p, device=device) if isinstance(p, np.ndarray) else p for p in parts
    )
    return converted if isinstance(index, tuple) else converted[0]


def as_torch_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    converted = tuple(torch.from_numpy(p) if isinstance(p, np.ndarray) else p for p in parts)
    return converted if isinstance(index, tuple) else converted[0]


def check_index_against_numpy(x, index, device, seed=0):
    """gradcheck of x[index]; forward equal to NumPy's; gradient equal to the scatter-add."""
    check_gradient(lambda t: t[index], [x], device)
    t = sg.tensor(x, device=device, requires_grad=True)
    y = t[index]
    np.testing.assert_array_equal(y.numpy(), x[index])
    upstream = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(sg.tensor(upstream, device=device))
    expected = numpy_index_gradient(x.shape, index, upstream)
    np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-12, atol=1e-12)


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_basic_indexing_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    index = data.draw(basic_indices(shape, negative_steps=False))
    check_op(lambda t: t[index], lambda t: t[index], [x], device)
    check_index_against_numpy(x, index, device)


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_negative_steps_match_numpy(shape, data, device):
    x = data.draw(arrays(shape))
    index = data.draw(basic_indices(shape, negative_steps=True))
    check_index_against_numpy(x, index, device)


MASK_3D = np.random.default_rng(7).random((4, 3, 5)) > 0.5
MASK_ROWS = np.array([True, False, True, True])

# (name, index into an array of shape (4, 3, 5), whether torch reads it the same way)
ADVANCED_INDICES = [
    ("int", -2, True),
    ("int array with repeats", np.array([0, 2, 0, 3, 0]), True),
    ("negative int array", np.array([-1, 0, -1]), True),
    ("2-d int array", np.array([[1, 1], [3, 0]]), True),
    ("list with repeats", [0, 3, 3], True),
    ("two arrays broadcast together", (np.array([0, 3, 0]), np.array([[2], [1]])), True),
    ("array then slice", (np.array([3, 0, 3]), slice(1, 3)), True),
    ("slice then array", (slice(None), np.array([2, 2, 0])), True),
    ("Ellipsis then array", (Ellipsis, np.array([4, 0, 4])), True),
    ("None and array", (None, np.array([1, 1]), 2), True),
    ("mask of every axis", MASK_3D, True),
    ("mask of the first axis", MASK_ROWS, True),
    ("mask then slice", (MASK_ROWS, slice(0, 2)), True),
    ("int and array around a slice", (0, slice(None), np.array([1, 4])), False),
    ("array and negative step", (np.array([1, 1, 2]), slice(None, None, -1)), False),
]


@pytest.mark.parametrize("as_tensors", [False, True], ids=["numpy index", "sg index"])
@pytest.mark.parametrize(
    "name, index, torch_reads_it", ADVANCED_INDICES, ids=[case[0] for case in ADVANCED_INDICES]
)
def test_advanced_indexing(name, index, torch_reads_it, as_tensors, device):
    x = np.random.default_rng(3).standard_normal((4, 3, 5))
    sg_index = as_sg_index(index, device) if as_tensors else index
    check_gradient(lambda t: t[sg_index], [x], device)
    check_index_against_numpy(x, index, device)
    if torch_reads_it:
        torch_index = as_torch_index(index)
        check_against_torch(lambda t: t[sg_index], lambda t: t[torch_index], [x], device)


def test_mask_from_a_comparison_selects_like_torch(device):
    x = np.random.default_rng(4).standard_normal((3, 4))
    check_against_torch(lambda t: t[t > 0], lambda t: t[t > 0], [x], device)


def test_indexing_is_twice_differentiable(device):
    x = sg.tensor(
        np.random.default_rng(5).standard_normal((4, 3)), device=device, requires_grad=True
    )
    index = (np.array([0, 3, 0, 0]), slice(0, 2))
    assert sg.gradgradcheck(lambda t: t[index] * t[index], [x])


# ----------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------


@given(shape=shapes(max_dims=4, max_side=4), data=st.data())
def test_reshape_round_trip_is_identity(shape, data, device):
    x = data.draw(arrays(shape))
    target = data.draw(reshape_targets(int(np.prod(shape))))
    back = sg.tensor(x, device=device).reshape(target).reshape(shape)
    assert back.shape == shape
    np.testing.assert_array_equal(back.numpy(), x)


def test_reshape_gradient_keeps_the_channels_last_layout_of_its_input(device):
    """A conv output is channels-last in memory; flattening it for a Linear layer gives
    back a gradient with the same values as a row-major one, laid out channels-last."""
    rng = np.random.default_rng(0)
    nhwc = rng.standard_normal((2, 3, 4, 5))
    x = sg.tensor(nhwc, device=device).permute(0, 3, 1, 2)  # NCHW view, channels-last
    x = x.detach().requires_grad_()
    g = rng.standard_normal((2, 5 * 3 * 4))
    x.reshape(2, -1).backward(sg.tensor(g, device=device))
    np.testing.assert_array_equal(x.grad.numpy(), g.reshape(2, 5, 3, 4))
    assert x.grad.data.transpose(0, 2, 3, 1).flags.c_contiguous


def test_flatten_of_a_conv_output_passes_gradgradcheck(device):
    """Double backward through the layout-keeping gradient of reshape."""
    rng = np.random.default_rng(1)
    shapes_ = [(2, 2, 5, 5), (3, 2, 3, 3), (12,)]
    inputs = [sg.tensor(rng.standard_normal(s), device=device, requires_grad=True) for s in shapes_]

    def conv_flatten_linear(x, w, v):
        features = sg.nn.functional.conv2d(x, w, stride=2).flatten(1)
        return (features * features) @ v

    assert sg.gradgradcheck(conv_flatten_linear, inputs)


@given(shape=shapes(max_dims=4, max_side=4), data=st.data())
def test_permute_round_trip_is_identity(shape, data, device):
    x = data.draw(arrays(shape))
    order = data.draw(st.permutations(range(len(shape))))
    there = sg.tensor(x, device=device).permute(order)
    np.testing.assert_array_equal(there.numpy(), np.transpose(x, order))
    np.testing.assert_array_equal(there.permute(inverse_permutation(order)).numpy(), x)


@given(rows=st.integers(1, 5), cols=st.integers(1, 3), data=st.data())
def test_repeated_index_gradient_counts_occurrences(rows, cols, data, device):
    index = np.array(data.draw(st.lists(st.integers(0, rows - 1), min_size=1, max_size=12)))
    x = sg.zeros(rows, cols, dtype=sg.float64, device=device, requires_grad=True)
    y = x[index]
    y.backward(sg.ones(*y.shape, dtype=sg.float64, device=device))
    counts = np.bincount(index, minlength=rows)
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat(counts[:, None], cols, axis=1))

    upstream = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).standard_normal(y.shape)
    x.grad = None
    x[index].backward(sg.tensor(upstream, device=device))
    expected = np.zeros((rows, cols))
    np.add.at(expected, index, upstream)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-12)


@given(case=cat_inputs())
def test_cat_then_slice_gives_back_the_inputs(case, device):
    pieces, dim = case
    joined = sg.cat([sg.tensor(p, device=device) for p in pieces], dim)
    lead = (slice(None),) * (dim % pieces[0].ndim)
    start = 0
    for piece in pieces:
        size = piece.shape[dim]
        np.testing.assert_array_equal(joined[lead + (slice(start, start + size),)].numpy(), piece)
        start += size
    assert start == joined.shape[dim]


@given(shape=small_shapes(), count=st.integers(1, 4), data=st.data())
def test_stack_then_index_gives_back_the_inputs(shape, count, data, device):
    pieces = [data.draw(arrays(shape)) for _ in range(count)]
    dim = data.draw(dims(len(shape) + 1)) % (len(shape) + 1)
    stacked = sg.stack([sg.tensor(p, device=device) for p in pieces], dim)
    for i, piece in enumerate(pieces):
        np.testing.assert_array_equal(stacked[(slice(None),) * dim + (i,)].numpy(), piece)


# ----------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------


def test_reshape_to_the_wrong_size_names_both_shapes(device):
    x = sg.ones(2, 3, 4, device=device)
    with pytest.raises(ValueError, match=r"^reshape: .*\(2, 3, 4\).*\(5, 5\)"):
        x.reshape(5, 5)
    with pytest.raises(ValueError, match=r"^reshape: .*\(2, 3, 4\).*\(-1, -1\)"):
        x.view(-1, -1)
    with pytest.raises(ValueError, match=r"^reshape: .*\(0, 3\).*\(-1, 0\)"):
        sg.zeros(0, 3, device=device).reshape(-1, 0)


@pytest.mark.parametrize("order", [(0, 0, 1), (0, 1), (2, 1, 0, 0)])
def test_permute_needs_a_permutation(order, device):
    with pytest.raises(ValueError, match=r"^permute: expected a permutation of 3 axes"):
        sg.ones(2, 3, 4, device=device).permute(*order)


def test_permute_dim_out_of_range(device):
    with pytest.raises(IndexError, match=r"^permute: dim 3 is out of range"):
        sg.ones(2, 3, 4, device=device).permute(1, 0, 3)


def test_cat_and_stack_of_mismatched_shapes(device):
    a, b = sg.ones(2, 3, device=device), sg.ones(3, 4, device=device)
    with pytest.raises(ValueError, match=r"^cat: .*dim 0.*\(2, 3\).*tensor 1.*\(3, 4\)"):
        sg.cat([a, b])
    with pytest.raises(ValueError, match=r"^cat: .*\(2, 3\).*\(3,\)"):
        sg.cat([a, sg.ones(3, device=device)], dim=1)
    with pytest.raises(ValueError, match=r"^cat: expected a non-empty list"):
        sg.cat([])
    with pytest.raises(IndexError, match=r"^cat: dim 2 is out of range"):
        sg.cat([a, a], 2)
    with pytest.raises(
        ValueError,
        match=r"^stack: expected tensors of one shape.*\(2, 3\).*"
        r"\(3, 4\)",
    ):
        sg.stack([a, b])
    with pytest.raises(ValueError, match=r"^stack: expected a non-empty list"):
        sg.stack([])


@pytest.mark.parametrize(
    "index, detail",
    [
        (5, r"index 5 is out of bounds"),
        ((0, -4), r"index -4 is out of bounds"),
        (np.array([0, 7]), r"index 7 is out of bounds"),
        ((0, 0, 0, 0), r"too many indices"),
        (1.5, r"only integers"),
        (np.array([True, False, True]), r"boolean index did not match"),
        (np.array([True]), r"boolean index did not match"),
    ],
)
def test_bad_index_names_getitem(index, detail, device):
    x = sg.ones(2, 3, 4, device=device)
    with pytest.raises(IndexError, match=rf"^getitem: .*\(2, 3, 4\).*{detail}"):
        x[index]


def test_other_shape_errors_name_their_op(device):
    x = sg.ones(3, 1, device=device)
    with pytest.raises(ValueError, match=r"^expand: cannot expand shape \(3, 1\) to \(2, 4\)"):
        x.expand(2, 4)
    with pytest.raises(ValueError, match=r"^expand: -1 is not allowed for a new leading axis"):
        x.expand(-1, 3, 1)
    with pytest.raises(ValueError, match=r"^expand: .*fewer axes"):
        x.expand(3)
    with pytest.raises(ValueError, match=r"^broadcast_to: .*\(3, 1\).*\(2, 4\)"):
        x.broadcast_to((2, 4))
    with pytest.raises(IndexError, match=r"^transpose: dim 2 is out of range"):
        x.transpose(0, 2)
    with pytest.raises(IndexError, match=r"^unsqueeze: dim 3 is out of range"):
        x.unsqueeze(3)
    with pytest.raises(IndexError, match=r"^squeeze: dim -3 is out of range"):
        x.squeeze(-3)
    with pytest.raises(ValueError, match=r"^flatten: start_dim 1 comes after end_dim 0"):
        x.flatten(1, 0)
