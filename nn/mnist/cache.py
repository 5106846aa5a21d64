"""The cache directory: where the MNIST files live and what counts as complete.

Two sets of files are complete, either one is enough:

- the four IDX files of LeCun's distribution (MD5 as torchvision publishes them);
- Nielsen's ``mnist.pkl.gz`` (SHA-256).

A file whose checksum does not match is not counted: fetching replaces it.
A gzip'd file may instead be present decompressed, without ``.gz``, as people
often keep it; no checksum of those is published, so they are checked only by
the reader (magic number, dimensions, sizes).  The checks themselves, and the
cache folder's location, are the project's one fetcher's (:mod:`nn.fetching`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .. import fetching
from ..fetching import (  # noqa: F401 - nn.mnist.cache's names from before nn.fetching, kept
    DATA_DIR_VARIABLE,
    DEFAULT_DOWNLOAD_LIMIT,
    MIRROR_VARIABLE,
    PROJECT,
    DataFile,
    cached_file,
    data_cache_dir,
    file_digest,
    is_verified,
    mismatch,
)

# The MD5s that torchvision publishes for the gzip'd IDX files, and the files' sizes as
# published (the digest is the check; a size is only where a download is cut off).
IDX_FILES = (
    DataFile("train-images-idx3-ubyte.gz", "md5", "f68b3c2dcbeaaa9fbdd348bbdeb94873", max_size=9_912_422),
    DataFile("train-labels-idx1-ubyte.gz", "md5", "d53e105ee54ea40749a09fcbcd1e9432", max_size=28_881),
    DataFile("t10k-images-idx3-ubyte.gz", "md5", "9fb629c4189551a2d022fa330f9573f3", max_size=1_648_877),
    DataFile("t10k-labels-idx1-ubyte.gz", "md5", "ec29112dd5afa0611ce80d1b7f02629c", max_size=4_542),
)
PICKLE_FILE = DataFile("mnist.pkl.gz", "sha256",
                       "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416", 17_051_982)
COMPLETE_SETS = (IDX_FILES, (PICKLE_FILE,))


def default_cache_dir() -> Path:
    """The directory MNIST is kept in unless told otherwise: :func:`data_cache_dir` ``("mnist")``."""
    return data_cache_dir("mnist")


def resolve(cache_dir: str | Path | None) -> Path:
    """``cache_dir`` as a path, or the default cache directory when it is None.

    A path that exists and is not a folder is refused, naming it.
    """
    directory = default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"{directory} is a file, not a folder: give the folder that holds (or "
                                 f"will hold) the MNIST files, e.g. {directory.parent}")
    return directory


def find_cached(directory: Path, sets: Sequence[Sequence[DataFile]] = COMPLETE_SETS) -> list[Path] | None:
    """The files of the first complete set in ``directory`` (by default the IDX files, then the pickle)."""
    return fetching.find_cached(directory, sets)


def sweep(directory: Path, files: Sequence[DataFile] = (*IDX_FILES, PICKLE_FILE)) -> list[Path]:
    """Remove temporary files left in ``directory`` by killed downloads of ``files`` (default: MNIST's)."""
    return fetching.sweep(directory, files)


def diagnose(directory: Path) -> str:
    """Which file of each complete set is missing or fails which check, one line each."""
    lines = []
    for files in COMPLETE_SETS:
        for expected in files:
            lines.append(f"  {expected.name}: {_state(directory, expected)}")
    return "\n".join(lines)


def _state(directory: Path, expected: DataFile) -> str:
    packed, unpacked = directory / expected.name, directory / expected.stem
    if packed.is_file():
        problem = mismatch(packed, expected)
        if problem is None:
            return "present, checksum verified"
        return (f"present but corrupt or not the published file ({problem}): delete it and fetch again "
                "(python -m nn.mnist fetch, or load with download=True)")
    if unpacked != packed and unpacked.is_file():
        return f"present decompressed as {unpacked.name} (checked when read)"
    if packed.exists() or packed.is_symlink():
        return "there, but not a regular file (a dangling link, a directory or a special file)"
    return "missing"


def by_hand_instructions(directory: Path) -> str:
    """How to install the files without this library's help (used in error messages)."""
    idx_names = ", ".join(expected.name for expected in IDX_FILES)
    return (f"To install MNIST by hand, put into {directory} either\n"
            f"  - the four IDX files {idx_names} (gzip'd as published, or decompressed without .gz), or\n"
            f"  - Michael Nielsen's {PICKLE_FILE.name} ({PICKLE_FILE.size} bytes, "
            f"{PICKLE_FILE.algorithm} {PICKLE_FILE.digest}).\n"
            f"Another directory can be chosen with the environment variable {DATA_DIR_VARIABLE} "
            "(files go in its mnist/ folder) or with cache_dir= / --cache-dir.")
