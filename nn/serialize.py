"""Saving and loading a model's parameters as a NumPy ``.npz`` file.

The file holds one array per parameter group, keyed by the group's name as
:meth:`nn.Module.state_dict` gives it: ``layers.0.neurons.3.w`` (shape (nin,),
weight i is parameter ``layers.0.neurons.3.w.i``) and ``layers.0.neurons.3.b``
(shape ()).  Only numbers are stored, and loading refuses pickled objects, so
a file cannot run code.  Saving writes a temporary file beside the target and
renames it into place: an interrupted save leaves the old file as it was.

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
import os
import zipfile
from typing import Any

import numpy as np

from autodiff.files import replaced_atomically

#: The archive entry that holds the JSON text of ``metadata``.
METADATA = "__metadata__"


def save(model: Any, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None) -> None:
    """Write ``model``'s parameters to ``path`` (an .npz file), atomically.

    ``metadata`` (JSON-serialisable: an epoch number, a training history...)
    is stored beside the parameters as text, and :func:`load` returns it, so a
    checkpoint is one file that appears complete or not at all.
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
    with replaced_atomically(path) as file:
        np.savez(file, **state)


def load(model: Any, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Set ``model``'s parameters from a file written by :func:`save`; return its metadata ({} if none).

    Every array is read and checked before any parameter changes.  Names the
    model lacks or the file lacks, wrong shapes, files that are not .npz and
    pickled contents all raise a ValueError naming the file and the problem.
    """
    path = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a parameter file written by nn.save ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: holds a single array, not an .npz archive of named parameters")
    with archive:
        state = {key: _read(archive, key, path) for key in archive.files}
    metadata = _metadata(state.pop(METADATA, None), path)  # read before anything changes
    model.load_state_dict(state, source=path)
    return metadata


def _metadata(entry: np.ndarray | None, path: str) -> dict[str, Any]:
    """The metadata dict stored by :func:`save` ({} if there is none)."""
    if entry is None:
        return {}
    try:
        metadata = json.loads(str(entry)) if entry.dtype.kind == "U" and entry.shape == () else None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: entry {METADATA!r} is not valid JSON ({error})") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: entry {METADATA!r} should hold the JSON text of a dict, as nn.save writes")
    return metadata


def _read(archive: Any, key: str, path: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise ValueError(
                f"{path}: entry {key!r} holds pickled Python objects; refusing to load it "
                "(unpickling can run arbitrary code, and nn.save never writes objects)"
            ) from None
        raise
