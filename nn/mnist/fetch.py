"""Downloading MNIST (or any data file of :mod:`nn.resources`) into the cache, safely.

Sources are tried in order, with short timeouts.  Each file is written to a
temporary file in the cache directory, checked against its published
checksum, and only then renamed into place with :func:`os.replace`, so an
interrupted or corrupt download never leaves a file that passes as complete.
Files already in the cache and verified are reused without touching the network.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from autodiff.files import replaced_atomically

from .cache import DataFile, by_hand_instructions, find_cached, is_verified, mismatch, resolve, sweep
from .errors import FetchError
from .sources import Source, default_sources

LOG = logging.getLogger(__name__)
DEFAULT_TIMEOUT = 10.0  # seconds to connect or to wait for the next chunk


@dataclass(frozen=True)
class Attempt:
    """One source that failed: which file it failed on, why, and after how long."""

    source: str
    file: str
    reason: str
    seconds: float

    def __str__(self) -> str:
        return f"{self.source}: {self.file}: {self.reason} (after {self.seconds:.1f} s)"


def fetch(cache_dir: str | Path | None = None, sources: Sequence[Source] | None = None,
          timeout: float = DEFAULT_TIMEOUT) -> list[Path]:
    """Make sure a complete, verified MNIST set is in ``cache_dir``; return its files.

    ``cache_dir`` defaults to :func:`nn.mnist.cache.default_cache_dir`; ``sources``
    to :func:`nn.mnist.sources.default_sources`.  Returns the four IDX files or
    ``[mnist.pkl.gz]`` (a decompressed copy put there by hand also counts).
    A set already in the cache is reused without touching the network.
    Raises :class:`FetchError` listing every failed source and where to put
    the files by hand when no source delivers.
    """
    directory = resolve(cache_dir)
    sources = default_sources() if sources is None else list(sources)
    return fetch_into(directory, sources, "MNIST", by_hand_instructions(directory), timeout)


def fetch_into(directory: Path, sources: Sequence[Source], what: str, by_hand: str,
               timeout: float = DEFAULT_TIMEOUT) -> list[Path]:
    """Make sure one source's complete set of files is verified in ``directory``; return its files.

    A set already there is reused without touching any source.  Otherwise the
    sources are tried in order; ``what`` names the data in logs and errors and
    ``by_hand`` (the end of the error) says how to put the files there by hand.
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
