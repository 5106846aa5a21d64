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
nn.mnist.errors.DataFileError: labels: truncated: the header announces 3 bytes of data, the file has 2
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from .errors import DataFileError

GZIP_MAGIC = b"\x1f\x8b"
IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE

# IDX type codes and the (big-endian) NumPy types they stand for.
IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_bytes(path: str | Path) -> bytes:
    """The contents of ``path``, decompressed if it is gzip'd."""
    data = Path(path).read_bytes()
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as error:
        # EOFError: cut short; BadGzipFile (an OSError) or zlib.error: corrupt.
        raise DataFileError(path, f"broken gzip data ({error})") from error


def parse_idx(data: bytes, name: object = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array; ``name`` is used in error messages."""
    if len(data) < 4:
        raise DataFileError(name, f"too short for an IDX header ({len(data)} bytes)")
    zero, type_code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or type_code not in IDX_TYPES:
        raise DataFileError(name, f"not an IDX file: magic number {data[:4].hex()} "
                                  "(expected 0000 then a type code such as 08 and the number of dimensions)")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataFileError(name, f"truncated header: {ndim} dimensions need {header_size} bytes, "
                                  f"the file has {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header_size
    if found < expected:
        raise DataFileError(name, f"truncated: the header announces {expected} bytes of data, "
                                  f"the file has {found}")
    if found > expected:
        raise DataFileError(name, f"{found - expected} unexpected bytes after the {expected} bytes of data "
                                  f"announced by the header (shape {shape})")
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (raw or gzip'd) into an array of its own type and shape."""
    return parse_idx(read_bytes(path), path)


def read_images(path: str | Path) -> np.ndarray:
    """Read an MNIST image file: a ``uint8`` array of shape (N, 28, 28)."""
    images = read_idx(path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataFileError(path, f"expected unsigned bytes of shape (N, {IMAGE_SIDE}, {IMAGE_SIDE}) for "
                                  f"images, found {images.dtype} of shape {images.shape}")
    return images


def read_labels(path: str | Path) -> np.ndarray:
    """Read an MNIST label file: a ``uint8`` array of shape (N,) holding digits 0 to 9."""
    labels = read_idx(path)
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataFileError(path, f"expected unsigned bytes of shape (N,) for labels, "
                                  f"found {labels.dtype} of shape {labels.shape}")
    if labels.size and labels.max() > 9:
        index = int(np.argmax(labels > 9))
        raise DataFileError(path, f"label {labels[index]} at index {index} is not a digit 0-9")
    return labels
