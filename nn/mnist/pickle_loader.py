"""Reading ``mnist.pkl.gz``, the pickled MNIST of Michael Nielsen's book.

The file is a gzip'd Python 2 pickle of ``(train, validation, test)``, each a
pair ``(images, labels)``: float32 images of shape (N, 784) with pixels k/256,
int64 labels; N is 50,000, 10,000 and 10,000.

Plain :func:`pickle.load` would run whatever callable a file names, so a data
file could run code.  :class:`DataUnpickler` admits only the few NumPy globals
that rebuild arrays and refuses any other before it can be called.
"""

from __future__ import annotations

import importlib
import io
import pickle
from pathlib import Path

import numpy as np

from .errors import DataFileError, UnsafePickleError
from .idx import MAX_SAMPLES, PIXELS, read_bytes

PARTS = ("training set", "validation set", "test set")
#: The most bytes a decompressed ``mnist.pkl`` may hold.  Its arrays take 220,080,000
#: bytes (70,000 float32 images of 784 pixels, 70,000 int64 labels); the rest is pickle framing.
MAX_PICKLE_BYTES = 224 << 20


def _numpy_global(module: str, name: str) -> object | None:
    """The NumPy function ``numpy._core.<module>.<name>``, wherever this NumPy keeps it (None if nowhere)."""
    # NumPy 2 moved numpy.core to numpy._core; files written by either name the one they knew.
    for package in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{package}.{module}"), name)
        except (ImportError, AttributeError):
            continue
    return None


#: The largest array a pickle may make: MAX_SAMPLES images as float64 (Nielsen's are float32).
MAX_ARRAY_BYTES = MAX_SAMPLES * PIXELS * 8


class _BoundedArray(np.ndarray):
    """``numpy.ndarray`` as a data file may call it: an array of at most MAX_ARRAY_BYTES.

    A pickle can call the class itself with any shape, and a few bytes would
    then allocate gigabytes (of zeros, which pass every range check).
    """

    def __new__(cls, shape: object = (0,), dtype: object = float, *args: object,
                **kwargs: object) -> np.ndarray:
        try:
            size = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize  # type: ignore[call-overload]
        except (TypeError, ValueError) as error:
            raise pickle.UnpicklingError(f"ndarray({shape!r}, {dtype!r}): {error}") from None
        if size > MAX_ARRAY_BYTES:
            raise pickle.UnpicklingError(f"an array of shape {shape!r} would take {size} bytes, more than "
                                         f"the {MAX_ARRAY_BYTES} of {MAX_SAMPLES} images")
        return super().__new__(cls, shape, dtype, *args, **kwargs)  # type: ignore[call-overload]


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as Python 3 pickles of protocol 2 use it for bytes, and only that."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("_codecs.encode is only allowed on a str with latin1, "
                                     f"got {type(text).__name__} with {encoding!r}")
    return text.encode("latin1")


def _allowed_globals() -> dict[tuple[str, str], object]:
    # Arrays come back through _reconstruct (protocols 0 to 4) or _frombuffer (protocol 5).
    numpy_functions = {(module, name): _numpy_global(module, name)
                       for module, name in (("multiarray", "_reconstruct"), ("numeric", "_frombuffer"))}
    allowed = {(f"{package}.{module}", name): function
               for (module, name), function in numpy_functions.items() if function is not None
               for package in ("numpy.core", "numpy._core")}
    return allowed | {
        ("numpy", "ndarray"): _BoundedArray,
        ("numpy", "dtype"): np.dtype,
        # Protocol 2 has no bytes type: Python 3 writes array data as _codecs.encode(str, "latin1").
        ("_codecs", "encode"): _latin1_encode,
    }


class DataUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and nothing else.

    Every callable a pickle can invoke is looked up through :meth:`find_class`
    (the GLOBAL, STACK_GLOBAL, INST, OBJ and EXT opcodes all use it), so
    allowing only array reconstruction here means the file cannot run code.
    """

    def __init__(self, file: io.BufferedIOBase, name: object) -> None:
        super().__init__(file, encoding="latin1")  # written by Python 2: its str holds raw bytes
        self.name = name
        self.allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> object:
        """The allowed global ``module.name``; any other raises :class:`UnsafePickleError`."""
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(self.name, f"refused to load global {module}.{name}: a data file may "
                                               "only rebuild NumPy arrays") from None

    def persistent_load(self, pid: object) -> object:
        """Refuse: a data file has no use for persistent ids."""
        raise UnsafePickleError(self.name, f"refused persistent id {pid!r}: not allowed in a data file")


def parse_pickle(data: bytes, name: object = "<bytes>") -> object:
    """Unpickle ``data`` with :class:`DataUnpickler`; ``name`` is used in error messages."""
    try:
        return DataUnpickler(io.BytesIO(data), name).load()
    except DataFileError:
        raise
    except Exception as error:  # the unpickler raises many types on garbage input
        raise DataFileError(name, f"not a readable pickle ({type(error).__name__}: {error})") from error


def _check_pair(pair: object, part: str, name: object) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise DataFileError(name, f"the {part} should be a pair (images, labels), found {_describe(pair)}")
    images, labels = pair
    images, labels = (np.asarray(a) if isinstance(a, np.ndarray) else a for a in (images, labels))
    if not (isinstance(images, np.ndarray) and images.ndim == 2 and images.shape[1] == PIXELS
            and images.dtype.kind == "f"):
        raise DataFileError(name, f"the {part} images should be a float array of shape (N, {PIXELS}), "
                                  f"found {_describe(images)}")
    if not (isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu"):
        raise DataFileError(name, f"the {part} labels should be an integer array of shape (N,), "
                                  f"found {_describe(labels)}")
    if len(images) > MAX_SAMPLES:
        raise DataFileError(name, f"the {part} has {len(images)} images, more than the {MAX_SAMPLES} "
                                  "of any MNIST set: it is not the data file it is named after")
    if len(images) != len(labels):
        raise DataFileError(name, f"the {part} has {len(images)} images but {len(labels)} labels")
    if not np.all((images >= 0) & (images <= 1)):  # also catches NaN
        raise DataFileError(name, f"the {part} images have pixels outside [0, 1] (or NaN)")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataFileError(name, f"the {part} labels are not all digits 0-9")
    return images, labels


def _describe(thing: object) -> str:
    if isinstance(thing, np.ndarray):
        return f"{thing.dtype} array of shape {thing.shape}"
    if isinstance(thing, (tuple, list)):
        return f"{type(thing).__name__} of length {len(thing)}"
    return type(thing).__name__


def read_pickle(path: str | Path) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Read Nielsen's ``mnist.pkl.gz`` (or an uncompressed copy) safely.

    Returns ``((train_images, train_labels), (validation_images, validation_labels),
    (test_images, test_labels))`` after checking every shape, type and range.
    """
    content = parse_pickle(read_bytes(path, MAX_PICKLE_BYTES), path)
    if not (isinstance(content, (tuple, list)) and len(content) == 3):
        raise DataFileError(path, "expected a tuple (training, validation, test) of three (images, labels) "
                                  f"pairs, found {_describe(content)}")
    return tuple(_check_pair(pair, part, path) for pair, part in zip(content, PARTS))
