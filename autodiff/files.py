"""Writing a file completely or not at all, and sweeping what a killed writer left.

Drawings, checkpoints, data files and pictures are all written the same way: to
a temporary file beside the target, flushed to disk, then renamed over it.  A
crash, an error, Ctrl-C or SIGTERM midway leaves the old file (or none), never
half of a new one.

What the target may be (decided once, here, for every caller):

- a regular file or nothing: replaced atomically; an existing file keeps its
  permission bits (a private 0600 checkpoint stays private);
- a symbolic link: followed, deliberately.  The file it points to is replaced
  and the link stays a link (a dangling link gets its target created);
- anything else (a FIFO, a device such as ``/dev/null``, a socket, a
  directory): refused with :class:`NotRegularFileError` before anything is
  written.  Renaming over such a node would destroy it, and writing into it
  directly could block for ever (a FIFO nobody reads) or write nowhere.

Temporary files are named ``.<name>.<pid>.<8 hex digits>.tmp``.  Only kill -9
(or a power cut) can leave one behind; :func:`sweep_stale` removes those of a
given target whose writing process is gone.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import signal
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


class NotRegularFileError(OSError):
    """The target of a write exists and is not a regular file (a FIFO, a device, a directory...)."""


class Terminated(SystemExit):
    """SIGTERM arrived while a file was being written: clean-up runs, then the process exits."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)  # the exit status a shell reports for SIGTERM


def target_of(path: str | os.PathLike[str]) -> Path:
    """The path a write to ``path`` replaces: symlinks followed; raises if it is not a regular file.

    >>> import tempfile
    >>> target_of(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    autodiff.files.NotRegularFileError: ... is a directory, not a regular file; ...
    """
    resolved = Path(os.path.realpath(path))
    try:
        mode = os.stat(resolved).st_mode
    except FileNotFoundError:
        return resolved
    if not stat.S_ISREG(mode):
        shown = f"{path} (a link to {resolved})" if Path(path) != resolved else f"{path}"
        raise NotRegularFileError(f"{shown} is {_kind(mode)}, not a regular file; refusing to write "
                                  "over it: choose the path of a regular file")
    return resolved


def open_regular(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open ``path`` for reading if it is a regular file; raise :class:`NotRegularFileError` if not.

    Opened without blocking and checked on the open file, so a FIFO nobody
    writes to is refused at once instead of blocking for ever, and a device
    such as ``/dev/zero`` is refused instead of read for gigabytes.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"{path} is {_kind(mode)}, not a regular file; refusing to read it: "
                                      "give the path of the file itself")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")


@contextmanager
def replaced_atomically(path: str | os.PathLike[str], mode: str = "wb", **options: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; if the block ends without error, it becomes ``path``.

    ``mode`` is "wb" or "w" (then ``options`` such as ``encoding`` go to
    :func:`open`).  The block may check what it wrote and raise: the target is
    then left as it was, and the temporary file is removed.  See the module
    docstring for symlinks and targets that are not regular files.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "note.txt"
    >>> with replaced_atomically(target, "w", encoding="utf-8") as file:
    ...     _ = file.write("complete")
    >>> target.read_text(encoding="utf-8")
    'complete'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"replaced_atomically: mode must be 'wb' or 'w', not {mode!r}")
    target = target_of(path)
    # Not tempfile.mkstemp: its files are private (0600); a new file gets the usual permissions.
    temporary = target.with_name(f".{_stem(target)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with terminate_as_exit(), open(temporary, mode.replace("w", "x"), **options) as file:
            _keep_permissions(target, file.fileno())
            yield file
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name says the file is complete
            target_of(path)  # refuse a FIFO or device put at the path while we wrote
            os.replace(temporary, target)
    except OSError as error:
        if isinstance(error, NotRegularFileError) or error.filename not in (None, str(temporary)) \
                or error.filename is None and error.errno not in _WRITE_ERRORS:
            raise  # not the writing of this file that failed (a download cut short, say)
        # Name the file the caller asked for: the temporary one is gone, and the target unchanged.
        raise type(error)(error.errno, f"{error.strerror or error} (writing {target}: nothing was "
                          "changed)", str(path)) from error
    finally:
        temporary.unlink(missing_ok=True)


#: What failed writes and syncs raise: a disk full, a quota, a read-only or failing file system.
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG, errno.EACCES, errno.EPERM}
#: The longest file name most file systems take, in bytes.
NAME_MAX = 255
#: What a temporary name adds to the target's: ".", ".<pid>.<8 hex digits>.tmp" (pids up to 10 digits).
_ADDED = 1 + 1 + 10 + 1 + 8 + 4


def _stem(target: Path) -> str:
    """The target's name as its temporary files carry it: shortened, with a hash, if it is too long.

    A legal 250-character name plus what a temporary name adds would pass
    NAME_MAX; the hash keeps shortened names of different targets apart.
    """
    name = target.name
    if len(os.fsencode(name)) + _ADDED <= NAME_MAX:
        return name
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:8]
    room = NAME_MAX - _ADDED - len(digest) - 1
    while len(os.fsencode(name)) > room:
        name = name[: max(1, len(name) - max(1, len(os.fsencode(name)) - room))]
    return f"{name}~{digest}"


def _keep_permissions(target: Path, descriptor: int) -> None:
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    if hasattr(os, "fchmod"):  # POSIX; elsewhere the temporary file keeps the defaults
        os.fchmod(descriptor, stat.S_IMODE(mode))


@contextmanager
def terminate_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` so ``finally`` clauses run.

    Only where Python's default (die at once) is in force, and only in the
    main thread (the only one that may set handlers): a program that handles
    SIGTERM itself, as ``nn.fit`` does, keeps its own handler.
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _temporary_pattern(target: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(_stem(target))}\.(\d+)\.[0-9a-f]{{8}}\.tmp")


def sweep_stale(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files that writers of ``path`` left when they were killed; return them.

    Only files named as :func:`replaced_atomically` names them for this very
    target, only regular files (not links), and only when the process whose id
    is in the name no longer exists.  A live process with that id (perhaps a
    reused one) keeps its file: a sweep never races a writer.
    """
    target = target_of(path)
    pattern = _temporary_pattern(target)
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except FileNotFoundError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and entry.is_file(follow_symlinks=False) and not _alive(int(match.group(1))):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # perhaps another thread of ours is writing it
    if pid <= 0:
        return False
    if os.name == "nt":
        return True  # os.kill there would end the process, not ask about it: never sweep
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or an id out of range: keep what we do not understand)
    return True
