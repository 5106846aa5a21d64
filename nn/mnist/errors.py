"""The exceptions raised while reading or fetching MNIST.

Every message names the file (or the source) and what is wrong with it, so a
user knows which file to delete, re-download or put in place by hand.
"""

from __future__ import annotations

import pickle

from ..fetching import FetchError  # noqa: F401 - raised by the fetcher, named here as before


class DataFileError(ValueError):
    """A data file is malformed: wrong magic number, truncated, wrong shape..."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class UnsafePickleError(DataFileError, pickle.UnpicklingError):
    """A pickle asked for a global that a data file has no reason to use.

    Loading it with plain :mod:`pickle` could run arbitrary code, so it is
    refused before anything it names is called.
    """
