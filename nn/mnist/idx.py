"""Reading IDX files, the format of Yann LeCun's MNIST distribution.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian 32-bit size per dimension, then the data in C
order.  The files are often gzip'd; gzip is recognised by its own magic bytes,
not by the file name, so ``train-images-idx3-ubyte`` works either way.

>>> import gzip, io
>>> header = bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big")
>>> parse_idx(header + bytes([7, 0, 9]), "labels").tolist()
[7, 0, 9]
>>> parse_idx(header + bytes([7, 0]), "labels")
Traceback (most recent call last):
...
nn.mnist.errors.DataFileError: labels: truncated: the header announces 3 bytes of data, the file has 2 ...
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import stat
import zlib
from pathlib import Path

import numpy as np

from .errors import DataFileError

GZIP_MAGIC = b"\x1f\x8b"
IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE
#: The most images (or labels) one file may hold: MNIST's training set has 60,000.
MAX_SAMPLES = 60_000
#: The most dimensions an IDX header may announce.
MAX_DIMENSIONS = 8
#: The most bytes :func:`read_idx` reads from a file of unknown contents (MNIST's largest is 47,040,016).
MAX_IDX_BYTES = 4 + 4 * 3 + MAX_SAMPLES * PIXELS

# IDX type codes and the (big-endian) NumPy types they stand for.
IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_bytes(path: str | Path, limit: int) -> bytes:
    """The contents of ``path``, decompressed if it is gzip'd; at most ``limit`` bytes or an error.

    Reading stops as soon as the (decompressed) contents pass ``limit``, so a
    small gzip file that would expand to gigabytes costs ``limit`` bytes of
    memory before it is refused.
    """
    status = os.stat(path)
    if not stat.S_ISREG(status.st_mode):
        raise DataFileError(path, "is not a regular file (a FIFO, device or directory): put the data file "
                                  "itself there")
    if status.st_size > limit:  # refused without reading it (gzip'd data is smaller than this)
        raise DataFileError(path, f"is {status.st_size} bytes, more than the {limit} bytes this file can "
                                  "hold: it is not the data file it is named after (delete or replace it)")
    try:
        with open(path, "rb") as file:
            packed = file.read(2) == GZIP_MAGIC
            file.seek(0)
            with gzip.GzipFile(fileobj=file) if packed else contextlib.nullcontext(file) as source:
                data = source.read(limit + 1)
    except (EOFError, OSError, zlib.error) as error:
        # EOFError: cut short; BadGzipFile (an OSError) or zlib.error: corrupt.
        raise DataFileError(path, f"broken gzip data ({error})") from error
    if len(data) > limit:
        size = "decompresses to" if packed else "holds"
        raise DataFileError(path, f"{size} more than {limit} bytes, the most this file can hold: "
                                  "it is not the data file it is named after (delete or replace it)")
    return data


def idx_limit(ndim: int, max_items: int) -> int:
    """The size of an IDX file of ``max_items`` bytes of data in ``ndim`` dimensions."""
    return 4 + 4 * ndim + max_items


def parse_idx(data: bytes, name: object = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array; ``name`` is used in error messages."""
    if len(data) < 4:
        raise DataFileError(name, f"too short for an IDX header ({len(data)} bytes)")
    zero, type_code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or type_code not in IDX_TYPES:
        raise DataFileError(name, f"not an IDX file: magic number {data[:4].hex()} "
                                  "(expected 0000 then a type code such as 08 and the number of dimensions)")
    if ndim > MAX_DIMENSIONS:
        raise DataFileError(name, f"the header announces {ndim} dimensions; at most {MAX_DIMENSIONS} are "
                                  "read (MNIST files have 1 or 3)")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataFileError(name, f"truncated header: {ndim} dimensions need {header_size} bytes, "
                                  f"the file has {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow whatever the header says
    found = len(data) - header_size
    if found < expected:
        raise DataFileError(name, f"truncated: the header announces {expected} bytes of data, "
                                  f"the file has {found} (shape {shape})")
    if found > expected:
        raise DataFileError(name, f"{found - expected} unexpected bytes after the {expected} bytes of data "
                                  f"announced by the header (shape {shape})")
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: str | Path, limit: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (raw or gzip'd, at most ``limit`` bytes once decompressed) into an array."""
    return parse_idx(read_bytes(path, limit), path)


def read_images(path: str | Path, max_images: int = MAX_SAMPLES) -> np.ndarray:
    """Read an MNIST image file: a ``uint8`` array of shape (N, 28, 28), N at most ``max_images``."""
    images = read_idx(path, idx_limit(3, max_images * PIXELS))
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataFileError(path, f"expected unsigned bytes of shape (N, {IMAGE_SIDE}, {IMAGE_SIDE}) for "
                                  f"images, found {images.dtype} of shape {images.shape}")
    return images


def read_labels(path: str | Path, max_labels: int = MAX_SAMPLES) -> np.ndarray:
    """Read an MNIST label file: a ``uint8`` array of shape (N,), N <= ``max_labels``, of digits 0 to 9."""
    labels = read_idx(path, idx_limit(1, max_labels))
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataFileError(path, f"expected unsigned bytes of shape (N,) for labels, "
                                  f"found {labels.dtype} of shape {labels.shape}")
    if labels.size and labels.max() > 9:
        index = int(np.argmax(labels > 9))
        raise DataFileError(path, f"label {labels[index]} at index {index} is not a digit 0-9")
    return labels
