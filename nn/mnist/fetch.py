"""Downloading MNIST into the cache, safely, with the project's one fetcher (:mod:`nn.fetching`).

Sources are tried in order, with short timeouts.  Each file is written to a
temporary file in the cache directory, checked against its published
checksum, and only then renamed into place, so an interrupted or corrupt
download never leaves a file that passes as complete.  Files already in the
cache and verified are reused without touching the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..fetching import (  # noqa: F401 - nn.mnist.fetch's names from before nn.fetching, kept
    DEFAULT_TIMEOUT,
    Attempt,
    CappedWriter,
    download,
    fetch_into,
)
from .cache import by_hand_instructions, resolve
from .sources import Source, default_sources


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
