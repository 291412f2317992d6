"""Issue 18, items 3, 6, 7: sg.device and sg.accelerator, sg.utils.data, save/load of any
file name and of file objects."""

import collections
import io
import os
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from scratchgen import backend, nn
from scratchgen.data import ArrayDataset
from scratchgen.utils.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    TensorDataset,
    default_collate,
)

try:
    import torch
except ImportError:  # the comparisons with torch skip cleanly without it
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


@pytest.fixture
def no_gpu(monkeypatch):
    """The machine as it is without CuPy or a GPU (whatever this one has)."""
    monkeypatch.setattr(backend, "cuda_available", lambda: False)
    monkeypatch.setattr(backend, "cupy", None)


# -- sg.device ------------------------------------------------------------------------------

SPELLINGS = [  # (arguments, type, index, str)
    (("cpu",), "cpu", None, "cpu"),
    (("cuda",), "cuda", None, "cuda"),
    (("cuda:0",), "cuda", 0, "cuda:0"),
    (("cuda", 0), "cuda", 0, "cuda:0"),
    (("gpu",), "cuda", None, "cuda"),
    (("CPU",), "cpu", None, "cpu"),
]


@pytest.mark.parametrize("arguments, kind, index, text", SPELLINGS)
def test_device_reads_its_name(arguments, kind, index, text):
    device = sg.device(*arguments)
    assert (device.type, device.index, str(device)) == (kind, index, text)
    assert sg.device(device) == device and str(sg.device(device)) == text


@needs_torch
@pytest.mark.parametrize("name", ["cpu", "cuda", "cuda:0"])
def test_device_prints_as_torch_does(name):
    assert repr(sg.device(name)) == repr(torch.device(name))
    assert str(sg.device(name)) == str(torch.device(name))


def test_device_equals_the_names_of_its_device_and_hashes_as_its_type():
    cuda = sg.device("cuda:0")
    assert cuda == "cuda" and "gpu" == cuda and cuda == sg.device("cuda")
    assert cuda != "cpu" and cuda != sg.device("cpu") and cuda != 3 and cuda != "float32"
    assert {"cuda": 1, "cpu": 2}[cuda] == 1
    assert len({sg.device("cpu"), sg.device("cpu"), "cpu"}) == 1
    assert sg.ones(2).device == sg.device("cpu")  # Tensor.device is the string "cpu"


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("tpu",), r"device: expected one of 'cpu', 'cuda' \(alias 'gpu'\), got 'tpu'"),
        (("cuda:x",), r"device: expected one of .*got 'cuda:x'"),
        (("cuda:1",), r"device: expected index None or 0 .*one GPU.*got 1"),
        (("cuda", 2), r"device: expected index None or 0 .*got 2"),
        (("cuda:0", 0), r"device: got an index in 'cuda:0' and index=0; give one"),
    ],
)
def test_bad_device_names_are_a_runtime_error_as_in_torch(arguments, message):
    with pytest.raises(RuntimeError, match=message):
        sg.device(*arguments)


def test_a_device_is_accepted_wherever_a_device_name_is(device, tmp_path):
    place = sg.device(device)
    assert backend.parse_device(place) == device
    assert sg.tensor([1.0, 2.0], device=place).device == device
    assert sg.zeros(2, device=place).device == device
    assert sg.randn(3, device=place).device == place
    x = sg.ones(3, dtype=sg.float64)
    moved = x.to(place)  # a device, not a dtype
    assert moved.device == device and moved.dtype == sg.float64
    assert moved.to(place) is moved
    model = nn.Linear(2, 3).to(device=place)
    assert model.weight.device == device
    loader = sg.data.DataLoader(ArrayDataset(x=np.zeros((4, 2))), batch_size=2, device=place)
    assert next(iter(loader))["x"].device == device
    sg.save({"w": sg.ones(2)}, tmp_path / "w.pt")
    assert sg.load(tmp_path / "w.pt", map_location=place)["w"].device == device


def test_cuda_without_a_gpu_gives_the_clear_error(no_gpu):
    cuda = sg.device("cuda")  # making the device checks the name only, as in torch
    for move in (lambda: sg.zeros(2, device=cuda), lambda: sg.ones(2).to(cuda)):
        with pytest.raises(RuntimeError, match="device: 'cuda' was asked for but CuPy"):
            move()


# -- sg.accelerator -------------------------------------------------------------------------


def test_accelerator_without_a_gpu(no_gpu):
    assert sg.accelerator.is_available() is False
    assert sg.accelerator.device_count() == 0
    assert sg.accelerator.current_accelerator() is None
    assert sg.accelerator.current_accelerator(check_available=True) is None


def test_accelerator_with_cupy_but_no_usable_gpu_is_cuda_unless_checked(monkeypatch):
    monkeypatch.setattr(backend, "cupy", object())  # torch: a CUDA build on a GPU-less machine
    monkeypatch.setattr(backend, "cuda_available", lambda: False)
    assert sg.accelerator.current_accelerator() == sg.device("cuda")
    assert sg.accelerator.current_accelerator().type == "cuda"
    assert sg.accelerator.current_accelerator(check_available=True) is None


def test_accelerator_agrees_with_this_machine():
    available = sg.cuda.is_available()
    assert sg.accelerator.is_available() is available
    assert (sg.accelerator.device_count() > 0) is available
    checked = sg.accelerator.current_accelerator(check_available=True)
    assert checked == (sg.device("cuda") if available else None)


# -- sg.utils.data: datasets ----------------------------------------------------------------


def test_tensor_dataset_items_are_tuples_of_rows(device):
    images, labels = sg.randn(5, 2, 3, device=device), sg.arange(5, device=device)
    dataset = TensorDataset(images, labels)
    assert len(dataset) == 5 and dataset.tensors == (images, labels)
    image, label = dataset[3]
    np.testing.assert_array_equal(image.numpy(), images.numpy()[3])
    assert label.item() == 3 and image.device == device


def test_tensor_dataset_bad_input():
    with pytest.raises(ValueError, match=r"TensorDataset: size mismatch .*got \[3, 4\]"):
        TensorDataset(sg.zeros(3, 2), sg.zeros(4))
    with pytest.raises(ValueError, match="TensorDataset: expected at least one tensor"):
        TensorDataset()
    with pytest.raises(
        TypeError, match="TensorDataset: expected Tensors .*a ndarray at position 1"
    ):
        TensorDataset(sg.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match="got a 0-d Tensor at position 0"):
        TensorDataset(sg.tensor(1.0))


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, index):
        if not 0 <= index < self.n:
            raise IndexError(index)
        return index * index

    def __len__(self):
        return self.n


def test_adding_datasets_concatenates_them():
    both = Squares(3) + Squares(2)
    assert isinstance(both, ConcatDataset) and both.cumulative_sizes == [3, 5]
    assert [both[i] for i in range(len(both))] == [0, 1, 4, 0, 1]
    assert both[-1] == 1 and both[-5] == 0
    with pytest.raises(IndexError, match="ConcatDataset: index 5 out of range for 5 items"):
        both[5]
    with pytest.raises(ValueError, match="ConcatDataset: expected at least one dataset"):
        ConcatDataset([])


def test_the_base_dataset_asks_for_getitem():
    with pytest.raises(NotImplementedError, match="Dataset: subclasses of Dataset implement"):
        Dataset()[0]


# -- sg.utils.data: default_collate ---------------------------------------------------------

Point = collections.namedtuple("Point", "x y")
ITEMS = {
    "ints and floats": [(1, 2.5), (3, 4.0)],
    "bools": [True, False, True],
    "dicts with strings": [{"a": 1, "s": "x"}, {"a": 2, "s": "y"}],
    "numpy arrays": [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)],
    "numpy scalars": [np.int64(4), np.int64(7)],
    "numpy strings": [np.str_("a"), np.str_("b")],
    "named tuples": [Point(1, 2.0), Point(3, 4.0)],
    "lists of arrays": [[np.arange(2), np.float64(1)], [np.arange(2, 4), np.float64(2)]],
}


def assert_same_batch(mine, reference):
    """A collated sg batch equals torch's: same nesting, values and dtypes."""
    if isinstance(reference, torch.Tensor):
        assert isinstance(mine, sg.Tensor)
        assert mine.dtype == reference.numpy().dtype
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())
    elif isinstance(reference, dict):
        assert list(mine) == list(reference)
        for key in reference:
            assert_same_batch(mine[key], reference[key])
    elif isinstance(reference, (list, tuple)) and not isinstance(reference[0], str):
        assert type(mine) is type(reference) and len(mine) == len(reference)
        for part, expected in zip(mine, reference):
            assert_same_batch(part, expected)
    else:
        assert mine == reference


@needs_torch
@pytest.mark.parametrize("items", ITEMS.values(), ids=ITEMS.keys())
def test_default_collate_matches_torch(items):
    assert_same_batch(default_collate(items), torch.utils.data.default_collate(items))


def test_default_collate_stacks_tensors_on_their_device(device):
    batch = default_collate([sg.ones(2, device=device), sg.zeros(2, device=device)])
    assert batch.shape == (2, 2) and batch.device == device
    np.testing.assert_array_equal(batch.numpy(), [[1, 1], [0, 0]])


def test_default_collate_bad_input():
    with pytest.raises(TypeError, match="default_collate: expected items of Tensors.*got object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: expected numeric arrays, got dtype <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(ValueError, match=r"default_collate: expected arrays of one shape"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="each item of a batch should have one size"):
        default_collate([(1, 2), (3,)])


# -- sg.utils.data: DataLoader --------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_batches_match_torch(drop_last):
    images = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    labels = np.arange(10)
    mine = DataLoader(
        TensorDataset(sg.tensor(images), sg.tensor(labels)), batch_size=4, drop_last=drop_last
    )
    reference = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels)),
        batch_size=4,
        drop_last=drop_last,
    )
    assert len(mine) == len(reference)
    batches = list(mine)
    assert len(batches) == len(reference)
    for batch, expected in zip(batches, reference):
        assert_same_batch(batch, expected)


@given(
    size=st.integers(1, 12),
    batch_size=st.integers(1, 5),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
)
def test_loader_serves_every_item_once_per_pass(size, batch_size, shuffle, drop_last):
    loader = DataLoader(
        TensorDataset(sg.arange(size)), batch_size, shuffle=shuffle, drop_last=drop_last
    )
    batches = [x.numpy() for (x,) in loader]
    assert len(batches) == len(loader)
    assert all(len(batch) == batch_size for batch in batches[: len(batches) - 1])
    served = np.concatenate(batches) if batches else np.zeros(0, np.int64)
    kept = size - size % batch_size if drop_last else size
    assert len(served) == kept and len(set(served.tolist())) == kept
    if not shuffle:
        np.testing.assert_array_equal(served, np.arange(kept))


def order_of(loader):
    return np.concatenate([x.numpy() for (x,) in loader]).tolist()


def test_shuffle_is_reproducible_from_a_generator_or_the_global_seed():
    dataset = TensorDataset(sg.arange(20))
    first, second = (
        DataLoader(dataset, 5, shuffle=True, generator=np.random.default_rng(7)) for _ in "ab"
    )
    pass_one = order_of(first)
    assert order_of(second) == pass_one
    assert order_of(first) != pass_one  # each pass draws a new order
    sg.manual_seed(3)
    seeded = order_of(DataLoader(dataset, 5, shuffle=True))
    sg.manual_seed(3)
    assert order_of(DataLoader(dataset, 5, shuffle=True)) == seeded
    assert sorted(seeded) == list(range(20)) and seeded != list(range(20))


def test_an_array_dataset_gives_the_batches_of_the_project_loader():
    rng = np.random.default_rng(0)
    dataset = ArrayDataset(
        image=rng.random((7, 1, 2, 2), dtype=np.float32),
        label=rng.integers(0, 10, 7),
        caption=[f"digit {i}" for i in range(7)],
    )
    mine = list(DataLoader(dataset, batch_size=3))
    project = list(sg.data.DataLoader(dataset, batch_size=3))
    assert len(mine) == len(project) == 3
    for batch, expected in zip(mine, project):
        assert list(batch) == list(expected) and batch["caption"] == expected["caption"]
        for name in ("image", "label"):
            assert batch[name].dtype == expected[name].dtype
            np.testing.assert_array_equal(batch[name].numpy(), expected[name].numpy())


class Stream:
    """An iterable data set without __len__ (torch's IterableDataset shape)."""

    def __iter__(self):
        return iter(range(5))


def test_a_dataset_without_len_is_read_by_iterating_it():
    assert [batch.tolist() for batch in DataLoader(Stream(), 2)] == [[0, 1], [2, 3], [4]]
    assert [batch.tolist() for batch in DataLoader(Stream(), 2, drop_last=True)] == [[0, 1], [2, 3]]
    with pytest.raises(TypeError, match="DataLoader: len\\(\\) needs a dataset with __len__"):
        len(DataLoader(Stream(), 2))


def test_a_custom_collate_fn_gets_the_list_of_items():
    loader = DataLoader(Squares(5), batch_size=2, collate_fn=sum)
    assert list(loader) == [1, 13, 16]


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, None])
def test_loader_rejects_a_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=f"batch_size=.*{batch_size}"):
        DataLoader(Squares(3), batch_size=batch_size)


def test_loader_bad_input():
    with pytest.raises(TypeError, match="DataLoader: shuffle=True needs a dataset with __len__"):
        DataLoader(Stream(), 2, shuffle=True)
    with pytest.raises(TypeError, match="DataLoader: expected generator to be a numpy.random"):
        DataLoader(Squares(3), 2, shuffle=True, generator=42)


# -- save / load: any file name, file objects -----------------------------------------------

NAMES = ["model.pt", "model.pth", "weights", "run.ckpt", "state.npz", "model.safetensors"]


def checkpoint(device="cpu"):
    return {
        "model": {"fc.weight": sg.randn(3, 2, device=device), "steps": sg.tensor(np.array(4))},
        "epoch": 2,
        "betas": (0.9, 0.999),
    }


def assert_same_checkpoint(loaded, saved, device="cpu"):
    assert loaded["epoch"] == saved["epoch"] and loaded["betas"] == saved["betas"]
    for key, value in saved["model"].items():
        assert loaded["model"][key].device == device
        assert loaded["model"][key].dtype == value.dtype
        np.testing.assert_array_equal(loaded["model"][key].numpy(), value.numpy())


def is_safetensors(data):
    return data[8:9] == b"{" and not data.startswith(b"PK")


@pytest.mark.parametrize("name", NAMES)
def test_any_file_name_is_kept_and_loads_back(tmp_path, name, device):
    if name.endswith(".safetensors"):
        pytest.importorskip("safetensors")
    saved = checkpoint(device)
    sg.save(saved, tmp_path / name)
    assert os.listdir(tmp_path) == [name]  # no ".npz" appended, no temporary file left
    data = (tmp_path / name).read_bytes()
    assert is_safetensors(data) == name.endswith(".safetensors")
    assert data.startswith(b"PK") != name.endswith(".safetensors")
    assert_same_checkpoint(sg.load(str(tmp_path / name), map_location=device), saved, device)


@given(
    stem=st.text(alphabet="abcxyz_-.0123", min_size=1, max_size=12).filter(
        lambda stem: stem not in (".", "..")
    ),
    suffix=st.sampled_from(["", ".pt", ".pth", ".bin", ".npz"]),
)
def test_any_name_round_trips_as_npz(tmp_path_factory, stem, suffix):
    folder = tmp_path_factory.mktemp("names")
    state = {"w": sg.randn(2, 2)}
    sg.save(state, folder / (stem + suffix))
    assert os.listdir(folder) == [stem + suffix]
    np.testing.assert_array_equal(
        sg.load(folder / (stem + suffix))["w"].numpy(), state["w"].numpy()
    )


def test_load_trusts_the_bytes_not_the_suffix(tmp_path):
    pytest.importorskip("safetensors")
    saved = checkpoint()
    sg.save(saved, tmp_path / "a.safetensors")
    sg.save(saved, tmp_path / "b.pt")
    os.rename(tmp_path / "a.safetensors", tmp_path / "a.npz")
    os.rename(tmp_path / "b.pt", tmp_path / "b.safetensors")
    assert_same_checkpoint(sg.load(tmp_path / "a.npz"), saved)
    assert_same_checkpoint(sg.load(tmp_path / "b.safetensors"), saved)


def test_bytes_io_round_trip_is_a_plain_npz(device):
    buffer = io.BytesIO()
    saved = checkpoint(device)
    sg.save(saved, buffer)
    assert buffer.getvalue().startswith(b"PK") and not buffer.closed
    with np.load(io.BytesIO(buffer.getvalue())) as archive:
        assert "model.fc.weight" in archive.files  # NumPy reads it as any .npz
    buffer.seek(0)
    assert_same_checkpoint(sg.load(buffer, map_location=sg.device(device)), saved, device)


@pytest.mark.parametrize("name", ["model.pt", "model.safetensors"])
def test_open_binary_files_work_for_save_and_load(tmp_path, name):
    if name.endswith(".safetensors"):
        pytest.importorskip("safetensors")
    saved = checkpoint()
    with open(tmp_path / name, "wb") as file:
        sg.save(saved, file)
    assert is_safetensors((tmp_path / name).read_bytes()) == name.endswith(".safetensors")
    with open(tmp_path / name, "rb") as file:
        assert_same_checkpoint(sg.load(file), saved)


def test_a_file_object_named_safetensors_is_written_as_safetensors():
    pytest.importorskip("safetensors")
    buffer = io.BytesIO()
    buffer.name = "model.safetensors"
    saved = checkpoint()
    sg.save(saved, buffer)
    assert is_safetensors(buffer.getvalue())
    assert_same_checkpoint(sg.load(io.BytesIO(buffer.getvalue())), saved)


def test_saving_a_module_says_to_save_its_state_dict(tmp_path):
    with pytest.raises(TypeError, match=r"save: cannot save a whole Linear.*model\.state_dict\(\)"):
        sg.save(nn.Linear(2, 3), tmp_path / "model.pt")
    assert os.listdir(tmp_path) == []


def test_save_and_load_bad_input(tmp_path):
    with pytest.raises(TypeError, match=r"save: expected a file opened in binary mode \('wb'\)"):
        sg.save({"w": sg.ones(1)}, io.StringIO())
    with pytest.raises(TypeError, match=r"load: expected a file opened in binary mode \('rb'\)"):
        sg.load(io.StringIO("PK"))
    with pytest.raises(TypeError, match="save: expected a file name or a binary file object"):
        sg.save({"w": sg.ones(1)}, 3)
    with pytest.raises(FileNotFoundError, match="load: no file at .*missing.pt"):
        sg.load(tmp_path / "missing.pt")
    (tmp_path / "notes.pt").write_bytes(b"hello, not a checkpoint")
    with pytest.raises(ValueError, match=r"load: '.*notes.pt' is neither a .npz file"):
        sg.load(tmp_path / "notes.pt")
    with pytest.raises(ValueError, match="load: 'the file object' is neither"):
        sg.load(io.BytesIO(b"\x93NUMPY"))


def test_a_zip_that_is_no_npz_is_named(tmp_path):
    with zipfile.ZipFile(tmp_path / "other.pt", "w") as archive:
        archive.writestr("archive/data.pkl", b"pickled")
    with pytest.raises(ValueError, match=r"load: '.*other.pt' is a zip but not a .npz of arrays"):
        sg.load(tmp_path / "other.pt")


@needs_torch
def test_a_torch_save_file_is_named_not_unpickled(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")
    with pytest.raises(ValueError, match="is a zip but not a .npz.*safetensors.torch.save_file"):
        sg.load(tmp_path / "torch.pt")
