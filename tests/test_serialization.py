"""sg.save / sg.load: round trips, atomic writes, files shared with NumPy and PyTorch."""

import os
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratchgen as sg
from scratchgen import optim, serialization

FORMATS = [".npz", ".safetensors"]


@pytest.fixture(params=FORMATS)
def extension(request):
    if request.param == ".safetensors":
        pytest.importorskip("safetensors")
    return request.param


def checkpoint(device):
    """A nest like a training checkpoint: several dtypes, int keys, tuples, plain values."""
    rng = np.random.default_rng(0)
    model = {
        "fc.weight": sg.tensor(rng.standard_normal((4, 3)), dtype=sg.float32, device=device),
        "fc.bias": sg.tensor(rng.standard_normal(4), device=device),
        "bn.num_batches_tracked": sg.tensor(np.array(7), device=device),
        "half": sg.tensor(rng.standard_normal((2, 2)), dtype=sg.float16, device=device),
        "mask": sg.tensor(np.array([True, False, True]), device=device),
        "pixels": np.arange(6, dtype=np.uint8).reshape(2, 3),
        "empty": sg.zeros(0, 5, device=device),
    }
    optimizer = {
        "state": {0: {"step": 3, "exp_avg": sg.tensor(rng.standard_normal(4), device=device)}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "amsgrad": False, "params": [0]}],
    }
    plain = {
        "epoch": 3,
        "name": "run 1 ✓",
        "loss": 0.1 + 0.2,
        "best": None,
        "history": [1.5, float("inf"), 2],
        "flag": True,
    }
    return {"model": model, "optimizer": optimizer, **plain}


def assert_same_nest(loaded, saved, device):
    """Arrays came back as Tensors on device, equal with their dtype; the rest is equal."""
    if isinstance(saved, (sg.Tensor, np.ndarray)):
        expected = saved.numpy() if isinstance(saved, sg.Tensor) else saved
        assert isinstance(loaded, sg.Tensor) and loaded.device == device
        assert loaded.dtype == expected.dtype and loaded.shape == expected.shape
        np.testing.assert_array_equal(loaded.numpy(), expected)
        assert not loaded.requires_grad
    elif isinstance(saved, dict):
        assert isinstance(loaded, dict) and list(loaded) == list(saved)
        for key in saved:
            assert_same_nest(loaded[key], saved[key], device)
    elif isinstance(saved, (list, tuple)):
        assert type(loaded) is type(saved) and len(loaded) == len(saved)
        for mine, ref in zip(loaded, saved):
            assert_same_nest(mine, ref, device)
    else:
        assert type(loaded) is type(saved) and loaded == saved


# -- round trips --------------------------------------------------------------------------


def test_round_trip_keeps_values_dtypes_and_structure(tmp_path, extension, device):
    saved = checkpoint(device)
    path = tmp_path / f"checkpoint{extension}"
    sg.save(saved, path)
    assert_same_nest(sg.load(path, device=device), saved, device)
    assert_same_nest(sg.load(str(path), map_location=device), saved, device)


def test_flat_state_dict_keeps_its_keys_in_the_file(tmp_path, extension):
    state = {"encoder.0.weight": sg.randn(2, 3), "encoder.0.bias": sg.randn(2)}
    path = tmp_path / f"model{extension}"
    sg.save(state, path)
    if extension == ".npz":
        with np.load(path) as archive:
            keys = [key for key in archive.files if key != "__structure__"]
    else:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as archive:
            keys = list(archive.keys())
    assert sorted(keys) == sorted(state)


def test_nested_keys_are_dotted_paths(tmp_path):
    state = checkpoint("cpu")
    path = tmp_path / "checkpoint.npz"
    sg.save(state, path)
    with np.load(path) as archive:
        assert "model.fc.weight" in archive.files
        assert "optimizer.state.0.exp_avg" in archive.files


def test_saving_again_replaces_the_file(tmp_path, extension):
    path = tmp_path / f"checkpoint{extension}"
    sg.save({"w": sg.zeros(3)}, path)
    sg.save({"w": sg.ones(2), "epoch": 2}, path)
    loaded = sg.load(path)
    assert loaded["epoch"] == 2
    np.testing.assert_array_equal(loaded["w"].numpy(), np.ones(2, np.float32))
    assert os.listdir(tmp_path) == [path.name]


@given(
    array=hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
    ),
    extension=st.sampled_from(FORMATS),
)
def test_any_array_round_trips(tmp_path, array, extension):
    if extension == ".safetensors":
        pytest.importorskip("safetensors")
    path = tmp_path / f"array{extension}"
    sg.save({"a": {"b": array}}, path)
    loaded = sg.load(path)["a"]["b"]
    assert loaded.dtype == array.dtype and loaded.shape == array.shape
    np.testing.assert_array_equal(loaded.numpy(), array)  # NaNs compare equal here


def test_optimizer_checkpoint_through_a_file_resumes_bit_exactly(tmp_path, extension, device):
    rng = np.random.default_rng(1)
    start, x = rng.standard_normal((3, 4)), sg.tensor(rng.standard_normal((5, 3)), device=device)

    def train(w, optimizer, scheduler, steps):
        for _ in range(steps):
            optimizer.zero_grad()
            ((x @ w).tanh() ** 2).mean().backward()
            optimizer.step()
            scheduler.step()

    def build(values):
        w = sg.tensor(values, device=device, requires_grad=True)
        optimizer = optim.Adam([w], lr=1e-2, amsgrad=True)
        return w, optimizer, optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    w_full, *rest = build(start)
    train(w_full, *rest, steps=8)

    w, optimizer, scheduler = build(start)
    train(w, optimizer, scheduler, steps=4)
    path = tmp_path / f"checkpoint{extension}"
    sg.save(
        {
            "w": w,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "epoch": 4,
        },
        path,
    )

    loaded = sg.load(path, device=device)
    w2, optimizer2, scheduler2 = build(loaded["w"].numpy())
    optimizer2.load_state_dict(loaded["optimizer"])
    scheduler2.load_state_dict(loaded["scheduler"])
    train(w2, optimizer2, scheduler2, steps=4)
    np.testing.assert_array_equal(w2.numpy(), w_full.numpy())


# -- atomic writes ------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["_write_npz", "_write_safetensors"])
def test_a_crash_mid_save_keeps_the_previous_file(tmp_path, monkeypatch, writer):
    extension = ".npz" if writer == "_write_npz" else ".safetensors"
    if extension == ".safetensors":
        pytest.importorskip("safetensors")
    path = tmp_path / f"checkpoint{extension}"
    sg.save({"w": sg.ones(3), "epoch": 1}, path)

    def crash_half_way(file, arrays, structure):
        file.write(b"half of a checkpoint")
        file.flush()
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(serialization, writer, crash_half_way)
    with pytest.raises(KeyboardInterrupt):
        sg.save({"w": sg.zeros(3), "epoch": 2}, path)

    assert os.listdir(tmp_path) == [path.name]  # the temporary file is gone
    previous = sg.load(path)
    assert previous["epoch"] == 1
    np.testing.assert_array_equal(previous["w"].numpy(), np.ones(3, np.float32))


def test_a_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization.os, "replace", _raise_os_error)
    with pytest.raises(OSError, match="disk full"):
        sg.save({"w": sg.ones(3)}, tmp_path / "checkpoint.npz")
    assert os.listdir(tmp_path) == []


def _raise_os_error(*args):
    raise OSError("disk full")


# -- files shared with other tools --------------------------------------------------------


def test_safetensors_written_by_torch_load_here(tmp_path, device):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    tensors = {
        "conv.weight": torch.randn(8, 3, 3, 3),
        "conv.bias": torch.randn(8, dtype=torch.float64),
        "bn.num_batches_tracked": torch.tensor(5),
        "mask": torch.tensor([True, False]),
    }
    path = tmp_path / "from_torch.safetensors"
    safetensors_torch.save_file(tensors, str(path), metadata={"format": "pt"})
    loaded = sg.load(path, device=device)
    assert sorted(loaded) == sorted(tensors)
    for key, value in tensors.items():
        assert loaded[key].device == device
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())
        assert loaded[key].dtype == value.numpy().dtype


def test_safetensors_written_here_load_in_torch(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    state = {
        "linear.weight": sg.randn(4, 3),
        "linear.bias": sg.randn(4, dtype=sg.float64),
        "steps": sg.tensor(np.array(3)),
    }
    path = tmp_path / "model.safetensors"
    sg.save(state, path)
    loaded = safetensors_torch.load_file(str(path))
    assert sorted(loaded) == sorted(state)
    for key, value in state.items():
        assert loaded[key].dtype == torch.from_numpy(value.numpy()).dtype
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())


def test_npz_written_by_numpy_loads_here(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, weight=np.eye(3), labels=np.arange(4))
    loaded = sg.load(path)
    assert sorted(loaded) == ["labels", "weight"]
    np.testing.assert_array_equal(loaded["weight"].numpy(), np.eye(3))


# -- bad input ----------------------------------------------------------------------------


def test_bad_input(tmp_path):
    with pytest.raises(TypeError, match="save: expected a dict .*got Tensor"):
        sg.save(sg.ones(1), tmp_path / "model.npz")
    with pytest.raises(TypeError, match="save: cannot store a set at 'extra.tags'"):
        sg.save({"extra": {"tags": {"a"}}}, tmp_path / "model.npz")
    with pytest.raises(TypeError, match="save: dict keys must be str or int"):
        sg.save({"w": {(1, 2): sg.ones(1)}}, tmp_path / "model.npz")
    with pytest.raises(ValueError, match="save: two entries .* key 'a.b'"):
        sg.save({"a.b": sg.ones(1), "a": {"b": sg.ones(1)}}, tmp_path / "model.npz")
    with pytest.raises(FileNotFoundError, match="load: no file at"):
        sg.load(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="load: no file at"):
        sg.load(tmp_path / "model.ckpt")
    with pytest.raises(ValueError, match="load: got map_location='cpu' and device='cuda'"):
        sg.load(tmp_path / "missing.npz", map_location="cpu", device="cuda")
    assert os.listdir(tmp_path) == []


def test_missing_safetensors_package_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match="pip install safetensors"):
        sg.save({"w": sg.ones(1)}, tmp_path / "model.safetensors")
    assert os.listdir(tmp_path) == []
