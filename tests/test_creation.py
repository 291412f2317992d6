"""Making tensors and getting data out of them.

sg.tensor infers dtypes as torch.tensor does (float lists -> float32, int lists ->
int64, NumPy arrays keep theirs); the constant, random and range creators take a shape
as ints or as one tuple; manual_seed makes random numbers reproducible; conversions
(.to, .double, .float, .item, .numpy, .tolist) and the Python protocols (repr, len,
bool) behave as in torch.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import shapes

import scratchgen as sg

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def torch_dtype_name(t):
    return str(t.dtype).removeprefix("torch.")


# ----------------------------------------------------------------------------------
# sg.tensor
# ----------------------------------------------------------------------------------

DATA = {
    "float list": [1.0, 2.5],
    "nested float lists": [[1.0], [2.0]],
    "float scalar": 2.5,
    "int list": [1, 2, 3],
    "int scalar": 7,
    "bool list": [True, False],
    "ints and floats": [1, 2.5],
    "empty list": [],
}


@needs_torch
@pytest.mark.parametrize("name", sorted(DATA))
def test_tensor_infers_the_dtype_torch_infers(name, device):
    ours = sg.tensor(DATA[name], device=device)
    theirs = torch.tensor(DATA[name])
    assert ours.dtype.name == torch_dtype_name(theirs)
    assert ours.shape == tuple(theirs.shape)
    assert ours.device == device
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int64", "bool"])
def test_tensor_keeps_a_numpy_arrays_dtype(dtype, device):
    array = np.arange(4).reshape(2, 2).astype(dtype)
    t = sg.tensor(array, device=device)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), array)
    assert sg.tensor(np.float64(1.5), device=device).dtype == sg.float64


def test_tensor_copies_its_data(device):
    array = np.zeros(3)
    t = sg.tensor(array, device=device)
    array[0] = 5.0
    assert t.tolist() == [0.0, 0.0, 0.0]
    u = sg.tensor(t)
    assert u.data is not t.data and u.tolist() == t.tolist()


@pytest.mark.parametrize("dtype", [sg.float64, "float64", np.float64, sg.double])
def test_tensor_dtype_argument(dtype, device):
    t = sg.tensor([1, 2], dtype=dtype, device=device)
    assert t.dtype == sg.float64
    assert sg.tensor(np.zeros(2), dtype=sg.float32, device=device).dtype == sg.float32
    assert sg.tensor([1.7, -1.7], dtype=sg.int64, device=device).tolist() == [1, -1]


def test_tensor_requires_grad(device):
    t = sg.tensor([1.0, 2.0], device=device, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    assert not sg.tensor([1.0], device=device).requires_grad


@pytest.mark.parametrize("data", [[1, 2], [True], 3])
def test_integer_tensors_cannot_require_grad(data, device):
    with pytest.raises(TypeError, match=r"^requires_grad: only floating-point .*got dtype"):
        sg.tensor(data, device=device, requires_grad=True)
    with pytest.raises(TypeError, match=r"^requires_grad: .*int64"):
        sg.zeros(2, dtype=sg.int64, device=device, requires_grad=True)


def test_tensor_bad_data_and_dtype(device):
    with pytest.raises(ValueError, match=r"^tensor: expected rectangular data"):
        sg.tensor([[1.0], [1.0, 2.0]], device=device)
    with pytest.raises(TypeError, match=r"^dtype: expected a dtype .*'nope'"):
        sg.tensor([1.0], dtype="nope", device=device)


# ----------------------------------------------------------------------------------
# constants: zeros ones full empty eye
# ----------------------------------------------------------------------------------

SHAPED_CREATORS = ["zeros", "ones", "empty", "rand", "randn"]


@pytest.mark.parametrize("name", SHAPED_CREATORS)
@given(shape=shapes(max_dims=4))
def test_shape_given_as_ints_or_as_a_tuple(name, shape, device):
    create = getattr(sg, name)
    for t in (
        create(*shape, device=device),
        create(shape, device=device),
        create(list(shape), device=device),
    ):
        assert t.shape == shape
        assert t.dtype == sg.float32
        assert t.device == device
        assert not t.requires_grad


@pytest.mark.parametrize("name", SHAPED_CREATORS)
def test_dtype_and_requires_grad_arguments(name, device):
    t = getattr(sg, name)(2, 3, dtype=sg.float64, device=device, requires_grad=True)
    assert t.dtype == sg.float64 and t.requires_grad and t.shape == (2, 3)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn", "randint"])
def test_negative_or_fractional_sizes_name_the_op(name, device):
    create = getattr(sg, name)
    args = (0, 5) if name == "randint" else ()
    with pytest.raises(ValueError, match=rf"^{name}: expected sizes that are non-negative"):
        create(*args, (2, -1), device=device)
    with pytest.raises(ValueError, match=rf"^{name}: expected sizes .*2\.5"):
        create(*args, (2.5,), device=device)


def test_zeros_ones_full_values(device):
    assert sg.zeros(2, 2, device=device).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert sg.ones(3, dtype=sg.int64, device=device).tolist() == [1, 1, 1]
    assert sg.full((2,), 1.5, device=device).tolist() == [1.5, 1.5]
    assert sg.zeros((), device=device).shape == ()


@needs_torch
@pytest.mark.parametrize("fill_value", [1.5, 3, True])
def test_full_infers_its_dtype_from_the_value_as_torch(fill_value, device):
    ours = sg.full((2, 3), fill_value, device=device)
    theirs = torch.full((2, 3), fill_value)
    assert ours.dtype.name == torch_dtype_name(theirs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert sg.full((2,), 3, dtype=sg.float64, device=device).dtype == sg.float64


@needs_torch
@pytest.mark.parametrize("n, m", [(1, None), (3, None), (2, 4), (4, 2)])
def test_eye_matches_torch(n, m, device):
    ours = sg.eye(n, m, device=device)
    theirs = torch.eye(n) if m is None else torch.eye(n, m)
    assert ours.dtype == sg.float32
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ----------------------------------------------------------------------------------
# ranges: arange linspace
# ----------------------------------------------------------------------------------

ARANGE_ARGS = [
    (5,),
    (2, 7),
    (7, 2, -2),
    (0, 1, 0.25),
    (1, 2.5, 0.5),
    (-1.5, 1.0, 0.3),
    (0,),
    (3, 3),
]


@needs_torch
@pytest.mark.parametrize("args", ARANGE_ARGS, ids=str)
def test_arange_matches_torch(args, device):
    ours = sg.arange(*args, device=device)
    theirs = torch.arange(*args)
    assert ours.dtype.name == torch_dtype_name(theirs)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)


def test_arange_dtype_argument_and_zero_step(device):
    assert sg.arange(3, dtype=sg.float64, device=device).tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match=r"^arange: expected a non-zero step"):
        sg.arange(0, 3, 0, device=device)


@needs_torch
@pytest.mark.parametrize(
    "start, end, steps", [(0, 1, 5), (-2, 3.5, 12), (1, 1, 3), (4, 2, 1), (0, 1, 0)]
)
def test_linspace_matches_torch(start, end, steps, device):
    ours = sg.linspace(start, end, steps, device=device)
    theirs = torch.linspace(start, end, steps)
    assert ours.dtype == sg.float32 and ours.shape == (steps,)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)
    assert sg.linspace(0, 1, 3, dtype=sg.float64, device=device).dtype == sg.float64


# ----------------------------------------------------------------------------------
# random numbers
# ----------------------------------------------------------------------------------


def test_rand_and_randn_have_the_right_distribution(device):
    uniform = sg.rand(20000, device=device).numpy()
    assert uniform.min() >= 0 and uniform.max() < 1
    assert abs(uniform.mean() - 0.5) < 0.02
    normal = sg.randn(20000, dtype=sg.float64, device=device).numpy()
    assert abs(normal.mean()) < 0.05 and abs(normal.std() - 1) < 0.05


def test_rand_needs_a_floating_dtype(device):
    with pytest.raises(TypeError, match=r"^rand: expected a floating-point dtype, got int64"):
        sg.rand(2, dtype=sg.int64, device=device)
    with pytest.raises(TypeError, match=r"^randn: expected a floating-point dtype"):
        sg.randn(2, dtype=sg.int64, device=device)


@given(low=st.integers(-5, 5), span=st.integers(1, 5), shape=shapes(max_dims=3))
def test_randint_draws_from_low_to_high(low, span, shape, device):
    t = sg.randint(low, low + span, shape, device=device)
    assert t.shape == shape and t.dtype == sg.int64
    values = t.numpy()
    assert np.all(values >= low) and np.all(values < low + span)


def test_randint_forms_and_errors(device):
    assert sg.randint(3, (4,), device=device).numpy().max() < 3  # randint(high, size)
    assert sg.randint(0, 3, (2, 2), dtype=sg.int32, device=device).dtype == sg.int32
    with pytest.raises(ValueError, match=r"^randint: expected low < high, got low=3, high=3"):
        sg.randint(3, 3, (2,), device=device)


@given(n=st.integers(0, 20))
def test_randperm_is_a_permutation(n, device):
    t = sg.randperm(n, device=device)
    assert t.dtype == sg.int64
    np.testing.assert_array_equal(np.sort(t.numpy()), np.arange(n))


RANDOM_DRAWS = {
    "rand": lambda device: sg.rand(3, 4, device=device),
    "randn": lambda device: sg.randn((5,), dtype=sg.float64, device=device),
    "randint": lambda device: sg.randint(0, 1000, (6,), device=device),
    "randperm": lambda device: sg.randperm(50, device=device),
    "rand_like": lambda device: sg.rand_like(sg.zeros(4, device=device)),
    "randn_like": lambda device: sg.randn_like(sg.zeros(4, device=device)),
}


@pytest.mark.parametrize("name", sorted(RANDOM_DRAWS))
def test_manual_seed_makes_random_numbers_reproducible(name, device):
    draw = RANDOM_DRAWS[name]
    sg.manual_seed(123)
    first, second = draw(device).numpy(), draw(device).numpy()
    sg.manual_seed(123)
    np.testing.assert_array_equal(draw(device).numpy(), first)
    np.testing.assert_array_equal(draw(device).numpy(), second)
    assert not np.array_equal(first, second)  # the stream moves on
    sg.manual_seed(124)
    assert not np.array_equal(draw(device).numpy(), first)


# ----------------------------------------------------------------------------------
# *_like
# ----------------------------------------------------------------------------------

LIKE_CREATORS = {
    "zeros_like": (sg.zeros_like, (), 0.0),
    "ones_like": (sg.ones_like, (), 1.0),
    "full_like": (sg.full_like, (2.5,), 2.5),
    "empty_like": (sg.empty_like, (), None),
    "rand_like": (sg.rand_like, (), None),
    "randn_like": (sg.randn_like, (), None),
}


@pytest.mark.parametrize("name", sorted(LIKE_CREATORS))
def test_like_creators_copy_shape_dtype_and_device(name, device):
    create, args, value = LIKE_CREATORS[name]
    x = sg.tensor(np.zeros((2, 3)), device=device, requires_grad=True)  # float64
    t = create(x, *args)
    assert t.shape == (2, 3) and t.dtype == sg.float64 and t.device == device
    assert not t.requires_grad
    if value is not None:
        assert np.all(t.numpy() == value)
    overridden = create(x, *args, dtype=sg.float32, requires_grad=True)
    assert overridden.dtype == sg.float32 and overridden.requires_grad


def test_like_creators_keep_integer_dtypes(device):
    x = sg.tensor([[1, 2]], device=device)
    assert sg.zeros_like(x).dtype == sg.int64
    assert sg.full_like(x, 7).tolist() == [[7, 7]]


# ----------------------------------------------------------------------------------
# conversions
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "convert, dtype",
    [
        (lambda t: t.to(sg.float64), sg.float64),
        (lambda t: t.to("float64"), sg.float64),
        (lambda t: t.to(dtype=sg.float32), sg.float32),
        (lambda t: t.to(device="cpu", dtype=sg.float64), sg.float64),
        (lambda t: t.double(), sg.float64),
        (lambda t: t.float(), sg.float32),
        (lambda t: t.long(), sg.int64),
        (lambda t: t.to(sg.int64), sg.int64),
    ],
)
def test_to_and_the_dtype_shortcuts(convert, dtype, device):
    if device != "cpu":  # the device="cpu" case would move the tensor
        pytest.skip("checked on the cpu")
    t = convert(sg.tensor([1.25, -2.75], device=device))
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.array([1.25, -2.75]).astype(dtype))


def test_dtype_conversion_is_differentiable(device):
    x = sg.tensor([1.5, -2.0], device=device, requires_grad=True)  # float32
    y = x.double() * sg.tensor([3.0, 4.0], dtype=sg.float64, device=device)
    y.backward(sg.ones(2, dtype=sg.float64, device=device))
    assert x.grad.dtype == sg.float32
    assert x.grad.tolist() == [3.0, 4.0]
    assert x.to(sg.float32) is x  # no-op: same tensor, no graph node


def test_item_numpy_tolist(device):
    assert sg.tensor([[2.5]], device=device).item() == 2.5
    assert isinstance(sg.tensor(3, device=device).item(), int)
    assert sg.tensor(True, device=device).item() is True
    with pytest.raises(ValueError, match=r"^item: expected a tensor with one element.*\(2,\)"):
        sg.tensor([1.0, 2.0], device=device).item()
    array = np.arange(6.0).reshape(2, 3)
    out = sg.tensor(array, device=device).numpy()
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, array)
    as_list = sg.tensor([[1, 2], [3, 4]], device=device).tolist()
    assert as_list == [[1, 2], [3, 4]] and isinstance(as_list[0][0], int)


def test_repr_shows_values_and_gradient_state(device):
    text = repr(sg.tensor([1.5, -2.0], device=device))
    assert text.startswith("tensor(") and "1.5" in text and "-2." in text
    assert "requires_grad=True" in repr(sg.tensor([1.0], device=device, requires_grad=True))
    y = sg.tensor([1.0], device=device, requires_grad=True) * 2
    assert "grad_fn=" in repr(y)
    assert "float64" in repr(sg.tensor(np.zeros(2), device=device))
    assert repr(sg.zeros(0, 3, device=device)).startswith("tensor(")
    assert repr(sg.tensor(2.0, device=device)).startswith("tensor(2.")


def test_len(device):
    assert len(sg.zeros(3, 2, device=device)) == 3
    assert len(sg.zeros(0, device=device)) == 0
    with pytest.raises(TypeError, match="len.*0-d"):
        len(sg.tensor(1.0, device=device))


def test_bool_of_one_element_and_of_many(device):
    assert bool(sg.tensor([2.0], device=device)) is True
    assert bool(sg.tensor([[0]], device=device)) is False
    assert bool(sg.tensor(True, device=device)) is True
    with pytest.raises(RuntimeError, match=r"^bool: a tensor with 2 elements is ambiguous"):
        bool(sg.tensor([1.0, 1.0], device=device))
    with pytest.raises(RuntimeError, match="bool: a tensor with 0 elements"):
        bool(sg.zeros(0, device=device))
