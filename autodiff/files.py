"""Writing a file completely or not at all.

Drawings, checkpoints, data files and pictures are all written the same way: to
a temporary file beside the target, flushed to disk, then renamed over it.  A
crash, an error or Ctrl-C midway leaves the old file (or none), never half of
a new one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def replaced_atomically(path: str | os.PathLike[str], mode: str = "wb", **options: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; if the block ends without error, it becomes ``path``.

    ``mode`` is "wb" or "w" (then ``options`` such as ``encoding`` go to
    :func:`open`).  The block may check what it wrote and raise: the target is
    then left as it was, and the temporary file is removed.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "note.txt"
    >>> with replaced_atomically(target, "w", encoding="utf-8") as file:
    ...     _ = file.write("complete")
    >>> target.read_text(encoding="utf-8")
    'complete'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"replaced_atomically: mode must be 'wb' or 'w', not {mode!r}")
    path = Path(path)
    # Not tempfile.mkstemp: its files are private (0600); this one gets the usual permissions.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, mode.replace("w", "x"), **options) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name says the file is complete
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
