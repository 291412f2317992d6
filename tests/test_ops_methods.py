"""Torch's other Tensor methods and functions (issue 18), elementwise and shape families:
sin cos log1p expm1 square rsqrt, masked_fill, new_zeros/new_ones/new_full/new_tensor,
clone, is_cuda, view_as/reshape_as, t, pow and the named comparisons, repeat, chunk,
split, narrow, flip, gather, tril and triu.

Every differentiable op goes through ``check_op`` (a float64 gradcheck with a random
upstream gradient, then forward and input gradients compared with torch, rtol 1e-7) over
hypothesis-drawn shapes; property tests check the maths; bad input gets an error naming
the op, what it expected and what it got.
"""

import numpy as np
import pytest
from helpers import as_tuple, check_against_torch, check_op
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


def _torch_method(name):
    return lambda *tensors: getattr(tensors[0], name)(*tensors[1:])


# ----------------------------------------------------------------------------------
# sin cos log1p expm1 square rsqrt
# ----------------------------------------------------------------------------------

# name: (the values the op is drawn on: low, high)
UNARY = {
    "sin": (-3.0, 3.0),
    "cos": (-3.0, 3.0),
    "log1p": (-0.8, 3.0),
    "expm1": (-3.0, 3.0),
    "square": (-3.0, 3.0),
    "rsqrt": (0.2, 3.0),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=small_shapes(), data=st.data())
def test_unary_function_and_method_match_torch(name, shape, data, device):
    low, high = UNARY[name]
    x = data.draw(arrays(shape, low=low, high=high))
    torch_fn = getattr(torch, name) if torch else None
    check_op(getattr(sg, name), torch_fn, [x], device)
    check_against_torch(_torch_method(name), _torch_method(name), [x], device)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_are_twice_differentiable(name, device):
    low, high = UNARY[name]
    x = np.random.default_rng(3).uniform(low, high, size=(2, 3))
    inputs = [sg.tensor(x, device=device, requires_grad=True)]
    assert sg.gradgradcheck(getattr(sg, name), inputs)


@given(shape=small_shapes(), data=st.data())
def test_trigonometric_identities(shape, data, device):
    x = sg.tensor(data.draw(arrays(shape, low=-10.0, high=10.0)), device=device)
    np.testing.assert_allclose((x.sin().square() + x.cos().square()).numpy(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(
        (x + 0.5).sin().numpy(), (x.sin() * np.cos(0.5) + x.cos() * np.sin(0.5)).numpy(), atol=1e-12
    )


@given(shape=small_shapes(), data=st.data())
def test_log1p_and_expm1_invert_each_other(shape, data, device):
    x = sg.tensor(data.draw(arrays(shape, low=-2.0, high=2.0)), device=device)
    np.testing.assert_allclose(x.expm1().log1p().numpy(), x.numpy(), rtol=1e-12, atol=1e-15)


def test_log1p_and_expm1_keep_tiny_values_exact(device):
    tiny = sg.tensor([1e-12, -3e-15, 1e-300], dtype=sg.float64, device=device)
    # log(1 + x) and exp(x) - 1 would give 1.00009e-12, 0 and 0 here
    np.testing.assert_allclose(tiny.log1p().numpy(), tiny.numpy() * (1 - tiny.numpy() / 2))
    np.testing.assert_allclose(tiny.expm1().numpy(), tiny.numpy() * (1 + tiny.numpy() / 2))


@given(shape=small_shapes(), data=st.data())
def test_square_and_rsqrt_are_their_formulas(shape, data, device):
    x = sg.tensor(data.draw(arrays(shape, low=0.1, high=5.0)), device=device)
    np.testing.assert_allclose(x.square().numpy(), x.numpy() * x.numpy(), rtol=1e-15)
    np.testing.assert_allclose((x.rsqrt().square() * x).numpy(), 1.0, rtol=1e-14)


# ----------------------------------------------------------------------------------
# masked_fill
# ----------------------------------------------------------------------------------


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_masked_fill_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    mask_shape = data.draw(st.sampled_from([shape, shape[1:], (1,) * len(shape)]))
    mask = data.draw(arrays(mask_shape)) > 0
    check_op(
        lambda t, m: t.masked_fill(m, -1.5), lambda t, m: t.masked_fill(m, -1.5), [x, mask], device
    )
    value = np.array(data.draw(st.floats(-2, 2)))  # a 0-d tensor: it gets a gradient too
    check_op(sg.masked_fill, torch.masked_fill if torch else None, [x, mask, value], device)


@given(shape=small_shapes(min_dims=1), value=st.floats(-5, 5), data=st.data())
def test_masked_fill_puts_the_value_exactly_under_the_mask(shape, value, data, device):
    x = data.draw(arrays(shape))
    mask = data.draw(arrays(shape)) > 0
    y = sg.tensor(x, device=device).masked_fill(sg.tensor(mask, device=device), value)
    np.testing.assert_array_equal(y.numpy(), np.where(mask, value, x))


def test_masked_fill_keeps_an_integer_dtype(device):
    x = sg.tensor([1, 2, 3], device=device)
    y = x.masked_fill(sg.tensor([True, False, True], device=device), 7.9)
    assert y.dtype == sg.int64
    assert y.tolist() == [7, 2, 7]


def test_masked_fill_errors_name_the_op(device):
    x = sg.zeros(2, 3, device=device)
    with pytest.raises(RuntimeError, match=r"^masked_fill: expected a boolean mask .*float32"):
        x.masked_fill(sg.zeros(2, 3, device=device), 1.0)
    with pytest.raises(RuntimeError, match=r"^masked_fill: .*0-dimensional value .*\(2,\)"):
        x.masked_fill(sg.ones(3, device=device) > 0, sg.ones(2, device=device))


# ----------------------------------------------------------------------------------
# new_zeros new_ones new_full new_tensor, clone, is_cuda
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [sg.float64, sg.float32, sg.int64])
def test_new_tensors_take_dtype_and_device_from_self(dtype, device):
    x = sg.zeros(4, dtype=dtype, device=device)
    made = [
        x.new_zeros(2, 3),
        x.new_zeros((2, 3)),
        x.new_ones([2, 3]),
        x.new_full((2, 3), 7),
        x.new_tensor([[1, 2, 3], [4, 5, 6]]),
    ]
    for y, fill in zip(made, [0, 0, 1, 7, None]):
        assert (y.shape, y.dtype, y.device, y.requires_grad) == ((2, 3), dtype, device, False)
        if fill is not None:
            assert (y.numpy() == fill).all()
    assert made[-1].tolist() == [[1, 2, 3], [4, 5, 6]]


def test_new_tensors_match_torch(device):
    if torch is None:
        pytest.skip("torch is not installed")
    ours, theirs = sg.zeros(2, dtype=sg.float64, device=device), torch.zeros(2, dtype=torch.float64)
    pairs = [
        (ours.new_full((3,), 2.5), theirs.new_full((3,), 2.5)),
        (ours.new_ones(2, 2, dtype=sg.int64), theirs.new_ones(2, 2, dtype=torch.int64)),
        (ours.new_tensor(3), theirs.new_tensor(3)),
        (ours.new_zeros(()), theirs.new_zeros(())),
    ]
    for mine, ref in pairs:
        assert mine.shape == tuple(ref.shape)
        assert str(mine.dtype) == str(ref.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(mine.numpy(), ref.numpy())


def test_new_tensor_copies_and_can_require_grad(device):
    x = sg.ones(3, dtype=sg.float64, device=device, requires_grad=True)
    source = x * 2
    y = x.new_tensor(source, requires_grad=True)
    assert y.is_leaf and y.requires_grad and y.dtype == sg.float64
    y.data[0] = 5.0
    assert source.tolist() == [2.0, 2.0, 2.0]
    assert x.new_tensor(np.arange(3), dtype=sg.float32).dtype == sg.float32
    assert x.new_zeros(2, device="cpu").device == "cpu"


def test_new_tensor_size_errors_name_the_method(device):
    x = sg.zeros(2, device=device)
    with pytest.raises(
        RuntimeError, match=r"^new_zeros: expected non-negative sizes, got \(2, -1\)"
    ):
        x.new_zeros(2, -1)
    with pytest.raises(
        TypeError, match=r"^new_full: expected size to be a tuple of ints, got \(2.5,\)"
    ):
        x.new_full((2.5,), 1.0)
    with pytest.raises(TypeError, match=r"^requires_grad: only floating-point"):
        sg.zeros(2, dtype=sg.int64, device=device).new_ones(2, requires_grad=True)


@given(shape=small_shapes(), data=st.data())
def test_clone_matches_torch_and_owns_its_memory(shape, data, device):
    x = data.draw(arrays(shape))
    check_op(sg.clone, torch.clone if torch else None, [x], device)
    original = sg.tensor(x, device=device)
    copy = original.clone()
    copy.data[...] = 9.0
    np.testing.assert_array_equal(original.numpy(), x)


def test_is_cuda_says_where_the_tensor_lives(device):
    assert sg.zeros(2, device=device).is_cuda == (device == "cuda")
    assert not sg.zeros(2).is_cuda


# ----------------------------------------------------------------------------------
# view_as, reshape_as, t, pow, the named comparisons
# ----------------------------------------------------------------------------------


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_view_as_and_reshape_as_take_the_others_shape(shape, data, device):
    x, like = data.draw(arrays(shape)), data.draw(arrays(shape[::-1]))
    for name in ("view_as", "reshape_as"):
        check_op(_torch_method(name), _torch_method(name), [x, like], device)


@given(shape=small_shapes(max_dims=2), data=st.data())
def test_t_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    check_op(lambda a: a.t(), lambda a: a.t(), [x], device)
    check_op(sg.t, torch.t if torch else None, [x], device)


def test_t_of_more_than_two_dimensions(device):
    with pytest.raises(
        RuntimeError, match=r"^t: expected .*at most 2 dimensions, got shape \(2, 3, 4\)"
    ):
        sg.zeros(2, 3, 4, device=device).t()


@given(shape=small_shapes(), exponent=st.sampled_from([2, 0.5, -1.5]), data=st.data())
def test_pow_method_matches_torch(shape, exponent, data, device):
    base = data.draw(arrays(shape, low=0.2, high=3.0))
    check_op(lambda a: a.pow(exponent), lambda a: a.pow(exponent), [base], device)
    check_op(_torch_method("pow"), _torch_method("pow"), [base, data.draw(arrays(shape))], device)


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
@given(shape=small_shapes(), data=st.data())
def test_named_comparisons_are_the_operators(name, shape, data, device):
    a = np.round(data.draw(arrays(shape)))  # small integers: ties happen
    b = np.round(data.draw(arrays(shape)))
    ours = getattr(sg.tensor(a, device=device), name)(sg.tensor(b, device=device))
    operator = {"eq": "__eq__", "ne": "__ne__", "lt": "__lt__"}.get(name, f"__{name}__")
    expected = getattr(a, operator)(b)
    assert ours.dtype == sg.bool
    np.testing.assert_array_equal(ours.numpy(), expected)
    assert (
        getattr(sg.tensor(a, device=device), name)(0.0).numpy().tolist()
        == getattr(a, operator)(0.0).tolist()
    )


# ----------------------------------------------------------------------------------
# repeat
# ----------------------------------------------------------------------------------


@given(shape=small_shapes(), data=st.data())
def test_repeat_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    extra = data.draw(st.integers(0 if shape else 1, 2))  # torch needs one size at least
    sizes = tuple(
        data.draw(
            st.lists(st.integers(1, 3), min_size=len(shape) + extra, max_size=len(shape) + extra)
        )
    )
    check_op(lambda a: a.repeat(*sizes), lambda a: a.repeat(*sizes), [x], device)
    check_against_torch(lambda a: a.repeat(sizes), lambda a: a.repeat(sizes), [x], device)


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_repeat_is_numpys_tile_and_its_gradient_counts_copies(shape, data, device):
    x = data.draw(arrays(shape))
    sizes = tuple(data.draw(st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape))))
    t = sg.tensor(x, device=device, requires_grad=True)
    y = t.repeat(sizes)
    np.testing.assert_array_equal(y.numpy(), np.tile(x, sizes))
    y.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.full(shape, float(np.prod(sizes))))


def test_repeat_errors_name_the_op(device):
    x = sg.zeros(2, 3, device=device)
    with pytest.raises(
        RuntimeError, match=r"^repeat: expected at least 2 repeat sizes .*\(2, 3\)\), got \(2,\)"
    ):
        x.repeat(2)
    with pytest.raises(RuntimeError, match=r"^repeat: expected non-negative int .*\(2, -1\)"):
        x.repeat(2, -1)


# ----------------------------------------------------------------------------------
# split, chunk, narrow
# ----------------------------------------------------------------------------------


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_split_by_size_and_by_sections_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    dim = data.draw(dims(len(shape)))
    size = shape[dim]
    piece = data.draw(st.integers(1, size + 1))
    check_op(lambda a: a.split(piece, dim), lambda a: a.split(piece, dim), [x], device)
    cuts = sorted(data.draw(st.lists(st.integers(0, size), max_size=3)))
    sections = [b - a for a, b in zip([0] + cuts, cuts + [size])]
    check_op(
        lambda a: sg.split(a, sections, dim), lambda a: torch.split(a, sections, dim), [x], device
    )


@given(shape=small_shapes(min_dims=1), chunks=st.integers(1, 5), data=st.data())
def test_chunk_matches_torch(shape, chunks, data, device):
    x = data.draw(arrays(shape))
    dim = data.draw(dims(len(shape)))
    check_op(lambda a: a.chunk(chunks, dim), lambda a: a.chunk(chunks, dim), [x], device)
    check_against_torch(
        lambda a: sg.chunk(a, chunks), lambda a: torch.chunk(a, chunks), [x], device
    )


@given(shape=small_shapes(min_dims=1), chunks=st.integers(1, 5), data=st.data())
def test_pieces_cat_back_to_the_input(shape, chunks, data, device):
    x = sg.tensor(data.draw(arrays(shape)), device=device)
    dim = data.draw(dims(len(shape)))
    pieces = x.chunk(chunks, dim)
    assert len(pieces) <= chunks
    assert all(p.shape[dim] == pieces[0].shape[dim] for p in pieces[:-1])
    np.testing.assert_array_equal(sg.cat(pieces, dim).numpy(), x.numpy())


def test_an_unused_piece_gets_a_zero_gradient(device):
    x = sg.ones(5, dtype=sg.float64, device=device, requires_grad=True)
    first, _, last = x.split([2, 2, 1])
    ((first * 3).sum() + last.sum()).backward()
    assert x.grad.tolist() == [3.0, 3.0, 0.0, 0.0, 1.0]


def test_chunk_and_split_of_an_empty_dim(device):
    x = sg.zeros(0, 2, device=device)
    assert [p.shape for p in x.chunk(3)] == [(0, 2)] * 3
    assert [p.shape for p in x.split(0)] == [(0, 2)]


def test_split_and_chunk_errors_name_the_op(device):
    x = sg.zeros(3, 4, device=device)
    with pytest.raises(
        RuntimeError, match=r"^split: expected non-negative sizes that add up to 3 .*\[1, 1\]"
    ):
        x.split([1, 1])
    with pytest.raises(
        RuntimeError, match=r"^split: expected a positive split size .*got 0 .*size 3"
    ):
        x.split(0)
    with pytest.raises(RuntimeError, match=r"^chunk: expected chunks to be a positive int, got 0"):
        x.chunk(0)
    with pytest.raises(IndexError, match=r"^split: dim 2 is out of range"):
        x.split(1, dim=2)


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_narrow_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    dim = data.draw(dims(len(shape)))
    size = shape[dim]
    start = data.draw(st.integers(-size, size))
    length = data.draw(st.integers(0, size - start % (size + 1) if start >= 0 else -start))
    check_op(
        lambda a: a.narrow(dim, start, length), lambda a: a.narrow(dim, start, length), [x], device
    )
    check_against_torch(
        lambda a: sg.narrow(a, dim, start, length),
        lambda a: torch.narrow(a, dim, start, length),
        [x],
        device,
    )


def test_narrow_errors_name_the_op(device):
    x = sg.zeros(3, device=device)
    with pytest.raises(IndexError, match=r"^narrow: expected start in \[-3, 3\], got 4"):
        x.narrow(0, 4, 0)
    with pytest.raises(
        RuntimeError,
        match=r"^narrow: expected 0 <= length and start \+ length <= 3 .*start 2 and length 2",
    ):
        x.narrow(0, 2, 2)
    with pytest.raises(RuntimeError, match=r"^narrow: .*length -1"):
        x.narrow(0, 1, -1)


# ----------------------------------------------------------------------------------
# flip
# ----------------------------------------------------------------------------------


@st.composite
def distinct_dims(draw, ndim):
    axes = draw(st.lists(st.integers(0, max(ndim - 1, 0)), unique=True, max_size=ndim))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


@given(shape=small_shapes(), data=st.data())
def test_flip_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    axes = data.draw(distinct_dims(len(shape)))
    check_op(lambda a: sg.flip(a, axes), lambda a: torch.flip(a, axes), [x], device)
    check_against_torch(lambda a: a.flip(axes), lambda a: a.flip(axes), [x], device)
    if axes:  # torch's x.flip() needs one dim at least
        check_against_torch(lambda a: a.flip(*axes), lambda a: a.flip(*axes), [x], device)


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_flipping_twice_is_the_identity_and_reverses_once(shape, data, device):
    x = sg.tensor(data.draw(arrays(shape)), device=device)
    dim = data.draw(dims(len(shape)))
    np.testing.assert_array_equal(x.flip(dim).flip(dim).numpy(), x.numpy())
    np.testing.assert_array_equal(x.flip(dim).numpy(), np.flip(x.numpy(), dim))


def test_flip_errors_name_the_op(device):
    with pytest.raises(RuntimeError, match=r"^flip: expected distinct dims, got \(0, -2\)"):
        sg.zeros(2, 3, device=device).flip(0, -2)


# ----------------------------------------------------------------------------------
# gather
# ----------------------------------------------------------------------------------


@st.composite
def gather_indices(draw, shape, dim):
    """An int64 index for gather: no larger than shape off dim, any length along it."""
    index_shape = [draw(st.integers(1, side)) for side in shape]
    index_shape[dim] = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(0, shape[dim], size=index_shape)


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_gather_matches_torch(shape, data, device):
    x = data.draw(arrays(shape))
    dim = data.draw(dims(len(shape)))
    index = data.draw(gather_indices(shape, dim))
    check_op(lambda a, i: a.gather(dim, i), lambda a, i: a.gather(dim, i), [x, index], device)
    check_against_torch(
        lambda a, i: sg.gather(a, dim, i), lambda a, i: torch.gather(a, dim, i), [x, index], device
    )


@given(shape=small_shapes(min_dims=2, max_dims=2), data=st.data())
def test_gather_picks_along_dim_and_scatters_the_gradient_back(shape, data, device):
    x = data.draw(arrays(shape))
    index = data.draw(gather_indices(shape, 1))
    t = sg.tensor(x, device=device, requires_grad=True)
    y = t.gather(1, sg.tensor(index, device=device))
    rows = np.arange(index.shape[0])[:, None]
    np.testing.assert_array_equal(y.numpy(), x[rows, index])
    y.sum().backward()
    counts = np.zeros(shape)
    np.add.at(counts, (np.broadcast_to(rows, index.shape), index), 1.0)  # picked twice: twice
    np.testing.assert_array_equal(t.grad.numpy(), counts)


def test_gather_errors_name_the_op(device):
    x = sg.zeros(3, 4, device=device)
    with pytest.raises(RuntimeError, match=r"^gather: expected an int64 index Tensor, got int32"):
        x.gather(0, sg.zeros(3, 4, dtype=sg.int32, device=device))
    with pytest.raises(
        RuntimeError, match=r"^gather: expected an index with 2 dimensions .*\(3, 5\)"
    ):
        x.gather(0, sg.zeros(3, 5, dtype=sg.int64, device=device))
    with pytest.raises(
        RuntimeError, match=r"^gather: expected an index with 2 dimensions .*\(3,\)"
    ):
        x.gather(0, sg.zeros(3, dtype=sg.int64, device=device))
    with pytest.raises(
        RuntimeError, match=r"^gather: expected index values in \[0, 3\) .*\[-1, 0\]"
    ):
        x.gather(0, sg.tensor([[-1, 0]], device=device))


# ----------------------------------------------------------------------------------
# tril, triu
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tril", "triu"])
@given(shape=small_shapes(min_dims=2, max_dims=4), diagonal=st.integers(-3, 3), data=st.data())
def test_triangles_match_torch(name, shape, diagonal, data, device):
    x = data.draw(arrays(shape))
    method = lambda a: getattr(a, name)(diagonal)  # noqa: E731
    check_op(method, method, [x], device)
    torch_fn = (lambda a: getattr(torch, name)(a, diagonal=diagonal)) if torch else None
    check_op(lambda a: getattr(sg, name)(a, diagonal=diagonal), torch_fn, [x], device)


@given(shape=small_shapes(min_dims=2), diagonal=st.integers(-3, 3), data=st.data())
def test_lower_and_upper_triangles_add_up_to_the_matrix(shape, diagonal, data, device):
    x = sg.tensor(data.draw(arrays(shape)), device=device)
    np.testing.assert_array_equal((x.tril(diagonal) + x.triu(diagonal + 1)).numpy(), x.numpy())


def test_triangles_zero_infinities_outside(device):
    x = sg.full((2, 2), float("inf"), device=device)
    assert x.tril().tolist() == [[float("inf"), 0.0], [float("inf"), float("inf")]]


def test_triangles_need_a_matrix(device):
    with pytest.raises(
        RuntimeError, match=r"^triu: expected a tensor with at least 2 dimensions, got \(3,\)"
    ):
        sg.zeros(3, device=device).triu()


# ----------------------------------------------------------------------------------
# double backward: the backward of every new shape op is made of differentiable ops
# ----------------------------------------------------------------------------------

SECOND_ORDER = {
    "clone": lambda x: x.clone(),
    "repeat": lambda x: x.repeat(2, 1, 2),
    "split": lambda x: x.split([1, 2], 1),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "flip": lambda x: x.flip(0, 1),
    "gather": lambda x: x.gather(1, sg.tensor([[2, 0, 2], [1, 1, 0]], device=x.device)),
    "tril": lambda x: x.tril(),
    "masked_fill": lambda x: x.masked_fill(sg.tensor([True, False, True], device=x.device), 2),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_shape_ops_are_twice_differentiable(name, device):
    x = np.random.default_rng(1).standard_normal((2, 3))
    op = SECOND_ORDER[name]
    inputs = [sg.tensor(x, device=device, requires_grad=True)]

    def curved(t):  # a square makes the second derivative nonzero
        return tuple(piece * piece for piece in as_tuple(op(t)))

    assert sg.gradgradcheck(curved, inputs)


# ----------------------------------------------------------------------------------
# the operators' named forms: add sub (with alpha) mul div neg matmul
# ----------------------------------------------------------------------------------

NAMED_OPERATORS = {
    "add": lambda x, y: x.add(y, alpha=0.5),
    "sub": lambda x, y: x.sub(y, alpha=2),
    "mul": lambda x, y: x.mul(y),
    "div": lambda x, y: x.div(y * y + 1),
    "neg": lambda x, y: x.neg() + y,
    "matmul": lambda x, y: x.matmul(y.T),
}


@pytest.mark.parametrize("name", NAMED_OPERATORS)
def test_named_operator_methods_match_torch(name, device):
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    check_op(NAMED_OPERATORS[name], NAMED_OPERATORS[name], [x, y], device)
