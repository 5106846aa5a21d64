"""The MNIST data set as arrays, assembled from whichever files are at hand.

Images are ``float32`` arrays of shape (N, 784), one row per image in reading
order, pixels in [0, 1]; labels are ``int64`` arrays of shape (N,) holding the
digits.  IDX bytes are divided by 255 (so ink is 1.0); Nielsen's pickle is
kept as stored, whose pixels are k/256 (at most 0.99609375).  float32 halves
the memory of the 60,000 training images (188 MB instead of 376 MB).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import by_hand_instructions, diagnose, find_cached, resolve, sweep
from .errors import DataFileError
from .fetch import fetch
from .idx import MAX_SAMPLES, PIXELS, read_images, read_labels
from .pickle_loader import read_pickle


@dataclass(frozen=True, eq=False, repr=False)
class MNIST:
    """Training and test images with their labels; a validation split if the files had one."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    validation_images: np.ndarray | None = None
    validation_labels: np.ndarray | None = None

    def __repr__(self) -> str:
        validation = 0 if self.validation_labels is None else len(self.validation_labels)
        return (f"MNIST(train={len(self.train_labels)}, validation={validation}, "
                f"test={len(self.test_labels)}, pixels={self.train_images.shape[1]}, "
                f"dtype={self.train_images.dtype})")


def from_idx_files(train_images: str | Path, train_labels: str | Path,
                   test_images: str | Path, test_labels: str | Path, max_samples: int = MAX_SAMPLES) -> MNIST:
    """Read the four IDX files (raw or gzip'd); pixels become float32 bytes / 255.

    A file holding more than ``max_samples`` images or labels (MNIST's largest
    holds 60,000) is refused before more of it is read or decompressed.
    """
    arrays = []
    for images_path, labels_path in ((train_images, train_labels), (test_images, test_labels)):
        images, labels = read_images(images_path, max_samples), read_labels(labels_path, max_samples)
        if len(images) != len(labels):
            raise DataFileError(images_path, f"has {len(images)} images but {labels_path} has "
                                             f"{len(labels)} labels")
        # One pass straight to float32 (as astype then divide, to the bit): no second 188 MB array.
        pixels = np.divide(images.reshape(len(images), PIXELS), np.float32(255), dtype=np.float32)
        arrays += [pixels, labels.astype(np.int64)]
    return MNIST(*arrays)


def from_pickle(path: str | Path) -> MNIST:
    """Read Nielsen's ``mnist.pkl.gz`` (safely: it cannot run code); keeps its validation split."""
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = read_pickle(path)
    as_pair = lambda images, labels: (images.astype(np.float32, copy=False),
                                      labels.astype(np.int64, copy=False))
    return MNIST(*as_pair(train_x, train_y), *as_pair(test_x, test_y), *as_pair(valid_x, valid_y))


def read(files: list[Path]) -> MNIST:
    """The data set from a complete set of files as :func:`nn.mnist.cache.find_cached` returns it."""
    return from_idx_files(*files) if len(files) == 4 else from_pickle(files[0])


def load(cache_dir: str | Path | None = None, download: bool = True) -> MNIST:
    """MNIST from the cache directory, downloading it first if it is missing and ``download`` is true.

    Uses the four IDX files if they are there, else Nielsen's pickle.  With
    ``download=False`` and no complete set, raises :class:`FileNotFoundError`
    saying which file is missing or fails its checksum, and where to put the
    files by hand.
    """
    directory = resolve(cache_dir)
    sweep(directory)
    files = find_cached(directory)
    if files is None:
        if not download:
            raise FileNotFoundError(f"no complete MNIST set in {directory} (and download=False):\n"
                                    + diagnose(directory) + "\n" + by_hand_instructions(directory))
        files = fetch(directory)
    return read(files)
