"""Backend selection and the rule that keeps it swappable."""

import ast
import pathlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import shapes

import scratchgen as sg
from scratchgen import backend

PACKAGE = pathlib.Path(sg.__file__).parent
# Modules that compute on tensor data: they must ask the backend for the array module.
ENGINE_MODULES = [PACKAGE / "tensor.py", *sorted((PACKAGE / "ops").glob("*.py"))]


def imported_modules(path):
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", ENGINE_MODULES, ids=lambda p: p.name)
def test_engine_modules_never_import_numpy_or_cupy(path):
    forbidden = imported_modules(path) & {"numpy", "cupy", "cupyx", "scipy"}
    assert not forbidden, f"{path.name} imports {forbidden}: use backend.get_array_module"


@pytest.mark.parametrize("path", ENGINE_MODULES, ids=lambda p: p.name)
def test_engine_modules_never_reach_numpy_through_backend(path):
    """`backend.numpy.exp(...)` would sneak past the import rule."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("numpy", "cupy"):
            assert not (isinstance(node.value, ast.Name) and node.value.id == "backend"), (
                f"{path.name}:{node.lineno} uses backend.{node.attr} directly"
            )


def test_device_aliases():
    assert backend.parse_device("cpu") == "cpu"
    assert backend.parse_device(None) == "cpu"
    if sg.cuda.is_available():
        assert backend.parse_device("gpu") == "cuda"
        assert backend.parse_device("cuda:0") == "cuda"


def test_array_module_of_a_numpy_array():
    assert backend.get_array_module(np.zeros(2)) is np
    assert backend.device_of(np.zeros(2)) == "cpu"


def test_tensor_to_same_device_is_free(device):
    x = sg.ones(3, device=device)
    assert x.to(device) is x


def test_round_trip_between_devices_keeps_values_and_gradient():
    if not sg.cuda.is_available():
        pytest.skip("needs a GPU")
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda"
    (y * y).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_cuda_is_available_is_a_bool():
    assert isinstance(sg.cuda.is_available(), bool)
    assert sg.cuda.device_count() >= 0


def test_scatter_add_adds_repeated_indices(device):
    xp = backend.array_module(device)
    target = xp.zeros(3)
    backend.scatter_add(target, (xp.asarray([0, 0, 2]),), xp.asarray([1.0, 2.0, 5.0]))
    np.testing.assert_allclose(backend.to_numpy(target), [3.0, 0.0, 5.0])


@given(
    rows=st.integers(1, 6),
    index_shape=shapes(min_dims=1, max_dims=2, max_side=5),
    row_shape=shapes(min_dims=0, max_dims=2, max_side=3),
    seed=st.integers(0, 2**16),
)
def test_scatter_add_of_rows_matches_a_loop(rows, index_shape, row_shape, seed, device):
    """The row fast path (repeats, negative rows, rows of any shape) against a plain loop."""
    rng = np.random.default_rng(seed)
    index = rng.integers(-rows, rows, index_shape)
    values = rng.standard_normal(index_shape + row_shape)
    start = rng.standard_normal((rows, *row_shape))
    expected = start.copy()
    for position in np.ndindex(index_shape):
        expected[index[position]] += values[position]
    xp = backend.array_module(device)
    target = xp.asarray(start)
    backend.scatter_add(target, (xp.asarray(index),), xp.asarray(values))
    np.testing.assert_allclose(backend.to_numpy(target), expected, rtol=1e-12, atol=1e-12)


def test_manual_seed_is_reproducible(device):
    sg.manual_seed(7)
    a = sg.randn(4, device=device).numpy()
    sg.manual_seed(7)
    b = sg.randn(4, device=device).numpy()
    np.testing.assert_array_equal(a, b)
