"""Data files pinned by their checksums, fetched once into a cache: the one fetcher of the project.

MNIST (:mod:`nn.mnist`) and the gallery's resources (:mod:`nn.resources`)
both come through here.  A :class:`DataFile` is a published file's name, size
and checksum.  A source (:class:`UrlSource`, :class:`MirrorSource`, or one of
MNIST's) writes the bytes of a file it offers into an open file on request;
it never chooses paths or checks digests.  :func:`fetch_into` does that:
files already in the cache and verified are reused without touching any
source; otherwise each file is downloaded to a temporary file beside its
target, capped at the published size, checked against the checksum, and only
then renamed into place, so an interrupted or corrupt download never leaves a
file that passes as complete.  Sources are tried in order, with short
timeouts, and an error lists every one that failed and why.

Where files live: ``$AUTODIFF_DATA_DIR/<folder>``, else ``<folder>`` in this
project's folder of the platform's user cache (:func:`data_cache_dir`).  A
machine without network access keeps its files in the folder named by
``$AUTODIFF_DATA_MIRROR``, under their mirror names (:func:`mirror_source`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from autodiff.files import replaced_atomically, sweep_stale

if TYPE_CHECKING:
    from tqdm import tqdm

LOG = logging.getLogger(__name__)
PROJECT = "scalar-autodiff"
DATA_DIR_VARIABLE = "AUTODIFF_DATA_DIR"
#: Names a folder that holds data files under their mirror names; fetching looks there before the network.
MIRROR_VARIABLE = "AUTODIFF_DATA_MIRROR"
DEFAULT_TIMEOUT = 10.0  # seconds to connect or to wait for the next chunk
#: A cap for a download of unknown size (no file the project fetches is near it).
DEFAULT_DOWNLOAD_LIMIT = 64 << 20
CHUNK = 1 << 16
#: The slowest average a download may keep: each file gets ``timeout`` plus its size at this rate,
#: then it is given up (a server trickling 2 bytes a second would otherwise never end).
MIN_BYTES_PER_SECOND = 16 << 10


class FetchError(RuntimeError):
    """Every source failed; the message lists what was tried and why it failed."""

    def __init__(self, message: str, attempts: list) -> None:
        super().__init__(message)
        self.attempts = attempts


# -- the files and the cache ------------------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """A data file as published: its name and checksum."""

    name: str
    algorithm: str  # a hashlib name: "md5" or "sha256"
    digest: str
    size: int | None = None  # checked exactly when known
    max_size: int | None = None  # else the most bytes a download may bring
    mirror_name: str | None = None  # its name in the $AUTODIFF_DATA_MIRROR folder, when not ``name``

    @property
    def limit(self) -> int:
        """The most bytes a download of this file may write before it is cut off."""
        return self.size or self.max_size or DEFAULT_DOWNLOAD_LIMIT

    @property
    def stem(self) -> str:
        """The name without ``.gz``: the name of the decompressed file."""
        return self.name.removesuffix(".gz")


def data_cache_dir(folder: str) -> Path:
    """The directory a data set is kept in unless told otherwise.

    ``$AUTODIFF_DATA_DIR/<folder>`` if that variable is set, else ``<folder>`` in this
    project's folder of the platform's user cache: ``$XDG_CACHE_HOME`` or
    ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows.
    """
    override = os.environ.get(DATA_DIR_VARIABLE)
    if override:
        return Path(override).expanduser() / folder
    if sys.platform == "win32":
        root = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        root = Path.home() / "Library" / "Caches"
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / PROJECT / folder


def file_digest(path: Path, algorithm: str) -> str:
    """The hex digest of a file's contents, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mismatch(path: Path, expected: DataFile) -> str | None:
    """Why ``path`` is not the published ``expected`` file, or None if it is."""
    size = path.stat().st_size
    if expected.size is not None and size != expected.size:
        return f"size {size} bytes, expected {expected.size}"
    actual = file_digest(path, expected.algorithm)
    if actual != expected.digest:
        return f"{expected.algorithm} {actual}, expected {expected.digest}"
    return None


def is_verified(path: Path, expected: DataFile) -> bool:
    """True if ``path`` exists and matches the published size and checksum."""
    return path.is_file() and mismatch(path, expected) is None


def cached_file(directory: Path, expected: DataFile) -> Path | None:
    """The verified file in ``directory``, else its decompressed copy put there by hand, else None."""
    packed = directory / expected.name
    if is_verified(packed, expected):
        return packed
    unpacked = directory / expected.stem
    return unpacked if unpacked != packed and unpacked.is_file() else None


def find_cached(directory: Path, sets: Sequence[Sequence[DataFile]]) -> list[Path] | None:
    """The files of the first complete set in ``directory`` (each file verified, or decompressed by hand)."""
    for files in sets:
        found = [cached_file(directory, expected) for expected in files]
        if all(found):
            return found
    return None


def sweep(directory: Path, files: Sequence[DataFile]) -> list[Path]:
    """Remove temporary files left in ``directory`` by killed downloads of ``files``."""
    return [path for expected in files for path in sweep_stale(directory / expected.name)]


# -- sources ----------------------------------------------------------------------


class Source(Protocol):
    """What :func:`fetch_into` needs of a source: a name, the complete set it offers, and the bytes."""

    name: str
    files: tuple[DataFile, ...]

    def retrieve(self, file: DataFile, out: BinaryIO, timeout: float) -> None:
        """Write the bytes of ``file`` to ``out``; raise if they cannot be had."""


def progress_bar(total: int | None, description: str) -> tqdm:
    """A download's bar, shown only to a person watching: logs and CI output stay clean."""
    # Imported here, as urllib is where it is used: a run that finds its data in the cache (most of
    # them) never pays for either.
    from tqdm import tqdm  # noqa: PLC0415

    return tqdm(total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
                file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)


@dataclass(frozen=True)
class UrlSource:
    """Files under one base URL (``https://``, ``http://`` or ``file://``)."""

    base_url: str
    files: tuple[DataFile, ...]

    @property
    def name(self) -> str:
        """How the source is named in logs and errors."""
        return f"mirror {self.base_url}"

    def retrieve(self, file: DataFile, out: BinaryIO, timeout: float) -> None:
        """Write the bytes at ``base_url/file.name`` to ``out``; raise if the body comes short."""
        import urllib.request  # noqa: PLC0415 - see progress_bar

        url = self.base_url.rstrip("/") + "/" + file.name
        allowed = timeout + file.limit / MIN_BYTES_PER_SECOND
        deadline = time.monotonic() + allowed
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length else None
            if total is not None and total > file.limit:
                raise OSError(f"the server announces {total} bytes, more than the {file.limit} of the "
                              "published file; not downloading it")
            received = 0
            with progress_bar(total, file.name) as bar:
                # read1: whatever has arrived (a read of CHUNK bytes would wait for all of them)
                for chunk in iter(lambda: response.read1(CHUNK), b""):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"only {received} bytes after {allowed:.0f} s: slower than "
                                           f"{MIN_BYTES_PER_SECOND} bytes/s on average, given up")
        if total is not None and received != total:
            # urllib ends a body cut short without an error; say so rather than leave it to the checksum.
            raise ConnectionError(f"connection closed after {received} of {total} bytes")


@dataclass(frozen=True)
class MirrorSource:
    """Files in a local folder under their mirror names (``DataFile.mirror_name``), copied, never linked."""

    folder: Path
    files: tuple[DataFile, ...]

    @property
    def name(self) -> str:
        """How the source is named in logs and errors."""
        return f"the folder {self.folder} (${MIRROR_VARIABLE})"

    def retrieve(self, file: DataFile, out: BinaryIO, timeout: float) -> None:
        """Copy the folder's copy of ``file`` to ``out``; the caller checks its size and checksum."""
        path = self.folder / (file.mirror_name or file.name)
        if not path.is_file():
            raise FileNotFoundError(f"{path} is not there")
        with open(path, "rb") as copy:
            shutil.copyfileobj(copy, out, CHUNK)


def mirror_source(files: tuple[DataFile, ...]) -> MirrorSource | None:
    """The folder ``$AUTODIFF_DATA_MIRROR`` names, as a source of ``files``; None when it is not set."""
    folder = os.environ.get(MIRROR_VARIABLE)
    return MirrorSource(Path(folder).expanduser(), files) if folder else None


# -- fetching -----------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One source that failed: which file it failed on, why, and after how long."""

    source: str
    file: str
    reason: str
    seconds: float

    def __str__(self) -> str:
        return f"{self.source}: {self.file}: {self.reason} (after {self.seconds:.1f} s)"


def fetch_into(directory: Path, sources: Sequence[Source], what: str, by_hand: str,
               timeout: float = DEFAULT_TIMEOUT) -> list[Path]:
    """Make sure one source's complete set of files is verified in ``directory``; return its files.

    A set already there is reused without touching any source.  Otherwise the
    sources are tried in order; ``what`` names the data in logs and errors and
    ``by_hand`` (the end of the error) says how to put the files there by hand.
    Raises :class:`FetchError` listing every failed source when none delivers.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ValueError(f"fetch: timeout must be a positive number of seconds, got {timeout!r}")
    cached = find_cached(directory, [source.files for source in sources])
    if cached:
        return cached
    directory.mkdir(parents=True, exist_ok=True)
    sweep(directory, [file for source in sources for file in source.files])
    attempts = []
    for source in sources:
        failure = _fetch_from(source, directory, timeout)
        if failure is None:
            return [directory / file.name for file in source.files]
        LOG.warning("%s: %s; trying the next source", what, failure)
        attempts.append(failure)
    tried = "\n".join(f"  {number}. {attempt}" for number, attempt in enumerate(attempts, 1))
    tried = tried or "  (no sources were given)"
    message = (f"could not download {what} into {directory}: every source failed.\nTried:\n{tried}\n"
               + by_hand)
    raise FetchError(message, attempts)


def _fetch_from(source: Source, directory: Path, timeout: float) -> Attempt | None:
    """Fetch the files of ``source`` that are missing; the first failure, or None."""
    for file in source.files:
        target = directory / file.name
        if is_verified(target, file):
            continue
        LOG.info("downloading %s from %s", file.name, source.name)
        start = time.monotonic()
        try:
            download(source, file, target, timeout)
        except Exception as error:  # any failure of one source means: try the next one
            reason = f"{type(error).__name__}: {error}"
            return Attempt(source.name, file.name, reason, time.monotonic() - start)
    return None


class CappedWriter:
    """A binary file that refuses to grow past ``limit`` bytes: no source can fill the disk."""

    def __init__(self, file: BinaryIO, limit: int) -> None:
        self.file, self.limit, self.written = file, limit, 0
        self.name = file.name

    def write(self, data: bytes) -> int:
        """Write ``data``, or raise OSError if it would take the file past the limit."""
        if self.written + len(data) > self.limit:
            raise OSError(f"the source sent more than {self.limit} bytes, the size of the published file; "
                          "stopped there")
        self.written += len(data)
        return self.file.write(data)

    def flush(self) -> None:
        """Flush the file."""
        self.file.flush()


def download(source: Source, file: DataFile, target: Path, timeout: float) -> None:
    """Download ``file`` from ``source`` to ``target`` atomically, or raise and leave ``target`` alone."""
    # Whatever happens (even KeyboardInterrupt), no partial or unverified file stays behind.
    with replaced_atomically(target) as out:
        source.retrieve(file, CappedWriter(out, file.limit), timeout)
        out.flush()
        problem = mismatch(Path(out.name), file)
        if problem:
            raise OSError(f"does not match the published file: {problem}")
