"""Saving and loading checkpoints: ``.npz`` (NumPy) and ``.safetensors`` files.

    sg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3},
            "run/checkpoint.pt")
    checkpoint = sg.load("run/checkpoint.pt", map_location="cuda")

    buffer = io.BytesIO()                       # or open("model.pth", "wb")
    sg.save(model.state_dict(), buffer)
    model.load_state_dict(sg.load(io.BytesIO(buffer.getvalue())))

Any file name works ("model.pt", "model.pth", "weights", ...): the file is a .npz unless its
name ends in ``.safetensors``, and ``load`` reads the format from the file's first bytes
(a zip starts with "PK"; a safetensors file with an 8-byte header length, then "{"), not
from its name. Binary file objects (``io.BytesIO``, ``open(name, "wb")``) work for both.

A checkpoint is a nest of dicts, lists and tuples whose leaves are Tensors, arrays,
numbers, strings, booleans or None. On disk:

- every array is stored under its dotted path: ``model.fc.weight``,
  ``optimizer.state.0.exp_avg``. A model's flat state dict keeps its own keys, so the
  file reads as a state dict in NumPy, safetensors or PyTorch, and their files read here;
- the rest, the nesting and the non-array values, is one JSON string (see
  ``_encode``): a ``__structure__`` entry of the .npz, the ``structure`` entry of the
  safetensors header's ``__metadata__``. A flat state dict {name: Tensor} needs none and
  gets none, so its file is a plain state dict for any tool; a file without a structure
  (a flat state dict, or one written by another tool) loads as the flat dict.

Files given by name are written atomically: into a temporary file in the same folder,
flushed to disk, then renamed over the target. A crash leaves the old checkpoint or the
new one, never half of one. A file object is written where it stands and left open.
"""

import contextlib
import io
import json
import os
import secrets
import zipfile

import numpy

from scratchgen import backend
from scratchgen.tensor import Tensor

SAFETENSORS_SUFFIX = ".safetensors"
NPZ_STRUCTURE_KEY = "__structure__"
SAFETENSORS_STRUCTURE_KEY = "structure"
RESERVED_KEYS = ("", NPZ_STRUCTURE_KEY, "__metadata__")  # "__metadata__": safetensors' header


def save(obj, f):
    """Write a state dict (a nested dict of Tensors, arrays and plain values) to ``f``.

    ``f``: a file name or a binary file object. safetensors (which needs the safetensors
    package) when the name ends in ``.safetensors``; .npz for any other name and for a
    file object without a name. The name is kept exactly (no ".npz" is appended).
    """
    _check_is_state(obj)
    arrays = {}
    structure = json.dumps(_encode(obj, (), arrays))
    if _is_flat_state_dict(obj):
        structure = None  # the file is then exactly a state dict, as torch users expect
    writer = _write_safetensors if _name_of(f).endswith(SAFETENSORS_SUFFIX) else _write_npz
    if hasattr(f, "write"):
        writer(_binary_file(f, "save", "wb"), arrays, structure)
    else:
        _write_atomically(_path_of(f, "save"), lambda file: writer(file, arrays, structure))


def load(f, map_location=None, device=None):
    """Read a file written by ``save`` (or any .npz / .safetensors file, by any name).

    ``f``: a file name or a binary file object (read from its position). Returns the saved
    nest with every array as a Tensor on ``device`` ("cpu" by default; ``map_location``
    is torch's name for the same thing; either may be a name or an ``sg.device``).
    """
    if map_location is not None and device is not None and map_location != device:
        raise ValueError(f"load: got map_location={map_location!r} and device={device!r}; give one")
    device = backend.parse_device(device or map_location or "cpu")
    arrays, structure = _read_arrays(_read_bytes(f), repr(_name_of(f) or "the file object"))
    tensors = {key: Tensor(backend.to_device(array, device)) for key, array in arrays.items()}
    if structure is None:
        return tensors
    return _decode(json.loads(structure), tensors)


def _check_is_state(obj):
    """A dict to save; a Module (or optimizer) itself gets told to save its state_dict()."""
    if callable(getattr(obj, "state_dict", None)):
        raise TypeError(
            f"save: cannot save a whole {type(obj).__name__}, only state dicts; "
            "save model.state_dict() instead: sg.save(model.state_dict(), f), "
            "and restore it with model.load_state_dict(sg.load(f))"
        )
    if not isinstance(obj, dict):
        raise TypeError(f"save: expected a dict (a state dict), got {type(obj).__name__}")


def _name_of(f):
    """The file name of a path or of a named file object ("" for a nameless one)."""
    name = getattr(f, "name", None) if hasattr(f, "read") or hasattr(f, "write") else f
    if isinstance(name, (str, bytes, os.PathLike)):
        return os.fsdecode(name)
    return ""


def _path_of(f, where):
    if not isinstance(f, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{where}: expected a file name or a binary file object, got {type(f).__name__}"
        )
    return os.fsdecode(f)


def _binary_file(f, where, mode):
    if isinstance(f, io.TextIOBase):
        raise TypeError(
            f"{where}: expected a file opened in binary mode ({mode!r}), got a text file"
        )
    return f


def _read_bytes(f):
    if hasattr(f, "read"):
        return _binary_file(f, "load", "rb").read()
    path = _path_of(f, "load")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no file at {path!r}")
    with open(path, "rb") as file:
        return file.read()


def _read_arrays(data, name):
    """(arrays, structure) from a file's bytes, its format told by its first bytes.

    name: how error messages call the file.
    """
    if data.startswith(b"PK"):  # the zip signature
        return _read_npz(data, name)
    if _looks_like_safetensors(data):
        return _read_safetensors(data)
    raise ValueError(
        f"load: {name} is neither a .npz file (a zip: it would start with b'PK') nor a "
        "safetensors file (an 8-byte header length, then b'{'); "
        f"its first bytes are {data[:9]!r}"
    )


def _looks_like_safetensors(data):
    """An 8-byte little-endian header length, then a JSON header that fits the file."""
    header_length = int.from_bytes(data[:8], "little")
    return len(data) > 8 and data[8:9] == b"{" and 8 + header_length <= len(data)


# -- the structure -----------------------------------------------------------------------
# JSON for the nest, in which arrays are replaced by their keys:
#   Tensor or array  -> {"tensor": "model.fc.weight"}
#   dict             -> {"dict": [[key, value], ...]}   (keys stay str or int)
#   list / tuple     -> {"list": [...]} / {"tuple": [...]}
#   str, int, float, bool, None -> themselves
# Bare JSON objects only ever stand for these tags, so decoding is unambiguous.


def _is_flat_state_dict(obj):
    """True for {str: Tensor or array}: the file alone says everything (no structure)."""
    return all(
        isinstance(key, str) and (isinstance(value, Tensor) or hasattr(value, "dtype"))
        for key, value in obj.items()
    )


def _encode(value, path, arrays):
    """The JSON-able structure of ``value``; its arrays go into ``arrays`` by dotted key."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(
                    f"save: dict keys must be str or int, got {key!r} at {_dotted(path)!r}"
                )
        return {
            "dict": [[key, _encode(item, path + (key,), arrays)] for key, item in value.items()]
        }
    if isinstance(value, (list, tuple)):
        items = [_encode(item, path + (i,), arrays) for i, item in enumerate(value)]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    if isinstance(value, Tensor) or (hasattr(value, "dtype") and hasattr(value, "shape")):
        return {"tensor": _store_array(value, path, arrays)}
    raise TypeError(
        f"save: cannot store a {type(value).__name__} at {_dotted(path)!r}; expected "
        "Tensors, arrays, numbers, strings, None, or dicts / lists / tuples of them"
    )


def _store_array(value, path, arrays):
    key = _dotted(path)
    if key in arrays or key in RESERVED_KEYS:
        raise ValueError(
            f"save: two entries (or a reserved name) map to the key {key!r}; "
            "rename one so dotted paths stay unique"
        )
    data = value.data if isinstance(value, Tensor) else value
    arrays[key] = backend.to_numpy(data)
    return key


def _dotted(path):
    return ".".join(str(part) for part in path)


def _decode(node, tensors):
    """The nest described by a structure, with its tensors put back."""
    if not isinstance(node, dict):
        return node
    if "tensor" in node:
        return tensors[node["tensor"]]
    if "dict" in node:
        return {key: _decode(item, tensors) for key, item in node["dict"]}
    items = [_decode(item, tensors) for item in node.get("list", node.get("tuple"))]
    return tuple(items) if "tuple" in node else items


# -- the two formats ---------------------------------------------------------------------


def _write_npz(file, arrays, structure):
    """The .npz layout of ``numpy.savez``: a zip of ``key.npy`` members.

    Written member by member (not ``numpy.savez(file, **arrays)``, whose own argument
    names would clash with keys such as "file"); pickles are refused.
    """
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED) as archive:
        entries = dict(arrays)
        if structure is not None:
            entries[NPZ_STRUCTURE_KEY] = numpy.array(structure)
        for key, array in entries.items():
            with archive.open(key + ".npy", mode="w", force_zip64=True) as member:
                numpy.lib.format.write_array(member, array, allow_pickle=False)


def _read_npz(data, name):
    with numpy.load(io.BytesIO(data), allow_pickle=False) as archive:
        others = [member for member in archive.zip.namelist() if not member.endswith(".npy")]
        if others:
            raise ValueError(
                f"load: {name} is a zip but not a .npz of arrays (it holds {others[:3]}; "
                "torch.save writes such pickle files): save it from torch with "
                "safetensors.torch.save_file(model.state_dict(), name) or as a .npz"
            )
        arrays = {key: archive[key] for key in archive.files}
    structure = arrays.pop(NPZ_STRUCTURE_KEY, None)
    return arrays, None if structure is None else str(structure)


def _write_safetensors(file, arrays, structure):
    safetensors = _import_safetensors()
    metadata = None if structure is None else {SAFETENSORS_STRUCTURE_KEY: structure}
    file.write(safetensors.numpy.save(arrays, metadata=metadata))


def _read_safetensors(data):
    safetensors = _import_safetensors()
    header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
    metadata = header.get("__metadata__") or {}
    return safetensors.numpy.load(data), metadata.get(SAFETENSORS_STRUCTURE_KEY)


def _import_safetensors():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(
            "save/load: .safetensors files need the 'safetensors' package: "
            "pip install safetensors (the 'test' extra has it: pip install 'scratchgen[test]'); "
            "or save to a name that does not end in .safetensors (a .npz file)"
        ) from error
    return safetensors


# -- atomic writes -----------------------------------------------------------------------


def _write_atomically(path, write):
    """Run ``write(file)`` on a temporary file, fsync it, then rename it to ``path``.

    The temporary file sits in the target's folder (a rename across file systems is
    not atomic) and is removed if anything fails; ``os.replace`` swaps it in atomically.
    """
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX; Windows cannot open a folder)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
