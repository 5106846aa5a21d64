"""Saving and loading a model's parameters as a NumPy ``.npz`` file.

The file holds one array per parameter group, keyed by the group's name as
:meth:`nn.Module.state_dict` gives it: ``layers.0.neurons.3.w`` (shape (nin,),
weight i is parameter ``layers.0.neurons.3.w.i``) and ``layers.0.neurons.3.b``
(shape ()).  Only numbers are stored, and loading refuses pickled objects, so
a file cannot run code.  Saving writes a temporary file beside the target and
renames it into place: an interrupted save leaves the old file as it was.

Loading checks the archive's names, and every entry's dtype and shape from its
header, before reading any data, so a crafted file costs no more memory than
the model itself; every refusal is a ValueError naming the file.  An optimizer
given to :func:`save` is stored too (its step count and buffers, such as Adam's
moments), so :func:`load` with the same kind of optimizer resumes exactly.

>>> import os, tempfile
>>> from nn import MLP, save, load
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> save(MLP(2, [3, 1], seed=1), path)
>>> model = MLP(2, [3, 1], seed=2)
>>> load(model, path)
{}
>>> bool((model.get_weights()[0][0] == MLP(2, [3, 1], seed=1).get_weights()[0][0]).all())
True
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from contextlib import contextmanager
from typing import IO, Any

import numpy as np

from autodiff.files import NotRegularFileError, open_regular, replaced_atomically, sweep_stale

#: The archive entry that holds the JSON text of ``metadata``.
METADATA = "__metadata__"
#: The prefix of the entries that hold an optimizer's state.
OPTIMIZER = "__optimizer__."
#: The most characters of metadata :func:`load` reads (a history of thousands of epochs is far less).
MAX_METADATA_CHARS = 1 << 22
#: Entries holding text: what they hold and the most characters read.
TEXT_ENTRIES = {METADATA: ("the JSON text of a dict", MAX_METADATA_CHARS),
                OPTIMIZER + "type": ("the name of an optimizer class", 100)}
#: Parameter entries may be stored as these kinds of numbers: float, signed or unsigned int.
NUMBER_KINDS = "fiu"


def save(model: Any, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None,
         optimizer: Any = None) -> None:
    """Write ``model``'s parameters to ``path`` (an .npz file), atomically.

    ``metadata`` (JSON-serialisable: an epoch number, a training history...)
    is stored beside the parameters as text, and :func:`load` returns it, so a
    checkpoint is one file that appears complete or not at all.  With
    ``optimizer``, its state is stored too (see :meth:`nn.Optimizer.state_dict`).
    Temporary files that killed earlier saves to ``path`` left are removed.
    """
    path = os.fspath(path)
    state = model.state_dict()
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise ValueError(f"save {path}: metadata must be a dict, got {type(metadata).__name__}")
        try:
            state[METADATA] = np.array(json.dumps(metadata, allow_nan=False))
        except (TypeError, ValueError) as error:
            raise ValueError(f"save {path}: metadata must be JSON with finite numbers ({error})") from None
    if optimizer is not None:
        state.update({OPTIMIZER + key: value for key, value in optimizer.state_dict().items()})
    for key, (what, limit) in TEXT_ENTRIES.items():  # never write a file load would refuse
        if key in state and len(str(state[key])) > limit:
            raise ValueError(f"save {path}: {what} holds {len(str(state[key]))} characters, more than the "
                             f"{limit} nn.load reads; nothing was written (store less, e.g. fewer epochs "
                             "of history, or a shorter class name)")
    sweep_stale(path)
    with replaced_atomically(path) as file:
        np.savez(file, **state)


def load(model: Any, path: str | os.PathLike[str], optimizer: Any = None) -> dict[str, Any]:
    """Set ``model``'s parameters from a file written by :func:`save`; return its metadata ({} if none).

    Every entry's name, dtype and shape is checked from its header, then every
    array read and checked, before any parameter changes.  Names the model
    lacks or the file lacks, wrong shapes, files that are not .npz, damaged
    archives and pickled contents all raise a ValueError naming the file and
    the problem.  With ``optimizer``, its state is restored from the file too
    (a file saved without one is refused).
    """
    path = os.fspath(path)
    shapes = {key: array.shape for key, array in model.state_dict().items()}
    with _archive(path) as archive:
        members = _members(archive, path)
        _check_names(model, shapes, members, path, optimizer is not None)
        if optimizer is None:  # not even read: its entries cost nothing
            members = {key: info for key, info in members.items() if not key.startswith(OPTIMIZER)}
        expected = {**shapes, **_optimizer_shapes(members, optimizer, path)}
        try:
            state = {key: _read(archive, info, expected.get(key), path) for key, info in members.items()}
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise ValueError(f"{path}: damaged archive ({type(error).__name__}: {error})") from None
    metadata = _metadata(state.pop(METADATA, None), path)  # read before anything changes
    saved = {key[len(OPTIMIZER):]: state.pop(key) for key in list(state) if key.startswith(OPTIMIZER)}
    restore = optimizer.prepare_state(saved, path) if optimizer is not None else None
    model.load_state_dict(state, source=path)
    if restore is not None:
        restore()
    return metadata


@contextmanager
def _archive(path: str) -> Any:
    try:
        file = open_regular(path)  # a FIFO or a device is refused at once, never read or waited on
    except NotRegularFileError as error:
        raise ValueError(str(error)) from None
    with file:
        try:
            archive = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
            raise ValueError(f"{path}: not a parameter file written by nn.save "
                             f"({_what_it_is(path, error)})") from None
        with archive:
            yield archive


def _what_it_is(path: str, error: Exception) -> str:
    try:
        with open(path, "rb") as file:
            head = file.read(6)
    except OSError:
        return str(error)
    if head.startswith(b"\x93NUMPY"):
        raise ValueError(f"{path}: holds a single array, not an .npz archive of named parameters")
    if head[:1] == b"\x80":
        return "it holds pickled Python objects, refused: unpickling can run arbitrary code"
    return f"not a zip archive: {error}"


def _members(archive: zipfile.ZipFile, path: str) -> dict[str, zipfile.ZipInfo]:
    """The archive's entries by name, without the .npy that np.savez adds."""
    members = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy") or info.filename[:-4] in members:
            raise ValueError(f"{path}: entry {info.filename!r} is not one array of an .npz archive "
                             "as nn.save writes it")
        members[info.filename[:-4]] = info
    return members


def _check_names(model: Any, shapes: dict[str, tuple[int, ...]], members: dict[str, Any], path: str,
                 want_optimizer: bool) -> None:
    names = [key for key in members if key != METADATA and not key.startswith(OPTIMIZER)]
    missing = [key for key in shapes if key not in members]
    extra = [key for key in names if key not in shapes]
    if missing or extra:
        raise ValueError(f"{path} does not fit {type(model).__name__}: missing {_names(missing)}, "
                         f"unexpected {_names(extra)}")
    if want_optimizer and not any(key.startswith(OPTIMIZER) for key in members):
        raise ValueError(f"{path}: holds no optimizer state (it was saved without optimizer=); "
                         "load it without an optimizer, or save one with nn.save(..., optimizer=...)")


def _names(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(repr(n) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _optimizer_shapes(members: dict[str, Any], optimizer: Any, path: str) -> dict[str, tuple[int, ...]]:
    """The shape of each optimizer entry, known before it is read: a step count, a number per parameter."""
    if optimizer is None:
        return {}
    shapes: dict[str, tuple[int, ...]] = {}
    for key in members:
        if key in TEXT_ENTRIES or not key.startswith(OPTIMIZER):
            continue
        if key == OPTIMIZER + "steps":
            shapes[key] = ()
        elif key.startswith(OPTIMIZER + "buffer."):
            shapes[key] = (len(optimizer.params),)
        else:
            raise ValueError(f"{path}: entry {key!r} is not one nn.save writes for an optimizer")
    return shapes


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...] | None, path: str) -> Any:
    """One entry, after its header says it is numbers (or metadata text) of a fitting shape."""
    key = info.filename[:-4]
    with archive.open(info) as member:
        dtype, found = _header(member, key, path)
        if key in TEXT_ENTRIES:
            _check_text_header(key, dtype, found, path)
        else:
            _check_numbers_header(key, dtype, found, shape, path)
        size = math.prod(found) * dtype.itemsize
        data = member.read(size)
        if len(data) != size or member.read(1):
            raise ValueError(f"{path}: entry {key!r} holds {'fewer' if len(data) != size else 'more'} bytes "
                             f"than its header announces")
    return np.frombuffer(data, dtype=dtype).reshape(found)


def _header(member: IO[bytes], key: str, path: str) -> tuple[np.dtype, tuple[int, ...]]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(member)
        reader = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}[version]
        shape, fortran_order, dtype = reader(member)
    except (ValueError, KeyError, EOFError) as error:
        raise ValueError(f"{path}: entry {key!r} has no readable array header ({error})") from None
    if dtype.hasobject:
        raise ValueError(f"{path}: entry {key!r} holds pickled Python objects; refusing to load it "
                         "(unpickling can run arbitrary code, and nn.save never writes objects)")
    if fortran_order and len(shape) > 1:
        raise ValueError(f"{path}: entry {key!r} is stored in Fortran order, which nn.save never writes")
    return dtype, tuple(shape)


def _check_numbers_header(key: str, dtype: np.dtype, found: tuple[int, ...], shape: tuple[int, ...] | None,
                          path: str) -> None:
    if dtype.kind not in NUMBER_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"{path}: entry {key!r} holds {dtype}, not numbers")
    if shape is None:
        if len(found) > 1:
            raise ValueError(f"{path}: entry {key!r} has shape {found}, expected one dimension")
    elif found != shape:
        raise ValueError(f"{path}: {key!r} has shape {found}, the model needs {shape}")


def _check_text_header(key: str, dtype: np.dtype, found: tuple[int, ...], path: str) -> None:
    if dtype.kind != "U" or found != ():
        raise ValueError(f"{path}: entry {key!r} should hold {TEXT_ENTRIES[key][0]}, as nn.save writes")
    if dtype.itemsize // 4 > TEXT_ENTRIES[key][1]:
        raise ValueError(f"{path}: entry {key!r} holds {dtype.itemsize // 4} characters, more than the "
                         f"{TEXT_ENTRIES[key][1]} nn.load reads")


def _metadata(entry: np.ndarray | None, path: str) -> dict[str, Any]:
    """The metadata dict stored by :func:`save` ({} if there is none)."""
    if entry is None:
        return {}
    try:
        metadata = json.loads(str(entry), parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError) as error:
        raise ValueError(f"{path}: entry {METADATA!r} is not valid JSON ({error})") from None
    except RecursionError:
        raise ValueError(f"{path}: entry {METADATA!r} is nested too deeply to be metadata nn.save wrote") \
            from None
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: entry {METADATA!r} should hold the JSON text of a dict, as nn.save writes")
    return metadata


def _refuse_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity, which save refuses to write (allow_nan=False).
    raise ValueError(f"{name} is not a finite number, and nn.save never writes one")
