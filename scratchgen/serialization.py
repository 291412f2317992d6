"""Saving and loading checkpoints: ``.npz`` (NumPy) and ``.safetensors`` files.

    sg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3},
            "run/checkpoint.safetensors")
    checkpoint = sg.load("run/checkpoint.safetensors", device="cuda")

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

Files are written atomically: into a temporary file in the same folder, flushed to
disk, then renamed over the target. A crash leaves the old checkpoint or the new one,
never half of one.
"""

import contextlib
import json
import os
import secrets
import zipfile

import numpy

from scratchgen import backend
from scratchgen.tensor import Tensor

FORMATS = (".npz", ".safetensors")
NPZ_STRUCTURE_KEY = "__structure__"
SAFETENSORS_STRUCTURE_KEY = "structure"
RESERVED_KEYS = ("", NPZ_STRUCTURE_KEY, "__metadata__")  # "__metadata__": safetensors' header


def save(obj, path):
    """Write a state dict (a nested dict of Tensors, arrays and plain values) to ``path``.

    The format follows the extension: ``.npz`` or ``.safetensors`` (which needs the
    safetensors package).
    """
    path = os.fspath(path)
    extension = _format_of(path, "save")
    if not isinstance(obj, dict):
        raise TypeError(f"save: expected a dict (a state dict), got {type(obj).__name__}")
    arrays = {}
    structure = json.dumps(_encode(obj, (), arrays))
    if _is_flat_state_dict(obj):
        structure = None  # the file is then exactly a state dict, as torch users expect
    if extension == ".npz":
        _write_atomically(path, lambda file: _write_npz(file, arrays, structure))
    else:
        _write_atomically(path, lambda file: _write_safetensors(file, arrays, structure))


def load(path, map_location=None, device=None):
    """Read a file written by ``save`` (or any .npz / .safetensors file).

    Returns the saved nest with every array as a Tensor on ``device`` ("cpu" by default;
    ``map_location`` is torch's name for the same thing).
    """
    path = os.fspath(path)
    extension = _format_of(path, "load")
    if map_location is not None and device is not None and map_location != device:
        raise ValueError(f"load: got map_location={map_location!r} and device={device!r}; give one")
    device = backend.parse_device(device or map_location or "cpu")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no file at {path!r}")
    if extension == ".npz":
        arrays, structure = _read_npz(path)
    else:
        arrays, structure = _read_safetensors(path)
    tensors = {key: Tensor(backend.to_device(array, device)) for key, array in arrays.items()}
    if structure is None:
        return tensors
    return _decode(json.loads(structure), tensors)


def _format_of(path, where):
    for extension in FORMATS:
        if path.endswith(extension):
            return extension
    raise ValueError(f"{where}: expected a path ending in .npz or .safetensors, got {path!r}")


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


def _read_npz(path):
    with numpy.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    structure = arrays.pop(NPZ_STRUCTURE_KEY, None)
    return arrays, None if structure is None else str(structure)


def _write_safetensors(file, arrays, structure):
    safetensors = _import_safetensors()
    metadata = None if structure is None else {SAFETENSORS_STRUCTURE_KEY: structure}
    file.write(safetensors.numpy.save(arrays, metadata=metadata))


def _read_safetensors(path):
    safetensors = _import_safetensors()
    with safetensors.safe_open(path, framework="numpy") as archive:
        arrays = {key: archive.get_tensor(key) for key in archive.keys()}
        metadata = archive.metadata() or {}
    return arrays, metadata.get(SAFETENSORS_STRUCTURE_KEY)


def _import_safetensors():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(
            "save/load: .safetensors files need the 'safetensors' package: "
            "pip install safetensors (the 'test' extra has it: pip install 'scratchgen[test]'); "
            "or use a .npz path"
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
