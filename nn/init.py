"""Initial weights and biases, reproducible from a seed.

Every scheme draws from a NumPy ``Generator``, so the same seed gives the same
network.  The schemes:

=========  =====================================================  ==========
scheme     weights                                                biases
=========  =====================================================  ==========
normal     standard normal N(0, 1) (Nielsen's MNIST network)      N(0, 1)
uniform    uniform on [0, 1) (``np.random.random``, the XOR net)  [0, 1)
xavier     uniform on [-r, r], r = sqrt(6 / (fan_in + fan_out))   0
he         normal with standard deviation sqrt(2 / fan_in)        0
scaled     N(0, 1) / sqrt(fan_in) (Nielsen's chapter 3)           N(0, 1)
=========  =====================================================  ==========

``fan_in`` is the number of inputs of a neuron, ``fan_out`` the number of
neurons in its layer.

>>> import numpy as np
>>> w = sample("he", (3, 2), 3, 2, rng(0))
>>> w.shape
(3, 2)
>>> bool(np.array_equal(w, sample("he", (3, 2), 3, 2, rng(0))))  # same seed, same weights
True
>>> biases("xavier", 2, rng(0))
array([0., 0.])
"""

from __future__ import annotations

import numpy as np

SCHEMES = ("normal", "uniform", "xavier", "he", "scaled")

#: What a random source may be given as: a Generator, or an int seed (None = seed 0).
RandomSource = np.random.Generator | int | None


def rng(source: RandomSource = None) -> np.random.Generator:
    """A Generator from a seed (``None`` means seed 0) or the Generator itself."""
    if isinstance(source, np.random.Generator):
        return source
    if source is None:
        return np.random.default_rng(0)
    if isinstance(source, bool) or not isinstance(source, (int, np.integer)):
        raise TypeError(f"a random source must be an int seed or a numpy Generator, not {source!r:.60}")
    return np.random.default_rng(int(source))


def check_scheme(scheme: str) -> str:
    """Return ``scheme`` if it is known, else raise a ValueError listing the known ones."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    return scheme


def sample(scheme: str, size: tuple[int, ...], fan_in: int, fan_out: int,
           generator: np.random.Generator) -> np.ndarray:
    """Draw weights of the given ``size`` for neurons with ``fan_in`` inputs in a layer of ``fan_out``."""
    check_scheme(scheme)
    if scheme == "normal":
        return generator.standard_normal(size)
    if scheme == "scaled":  # the weighted input's spread no longer grows with the number of inputs
        return generator.standard_normal(size) / np.sqrt(fan_in)
    if scheme == "uniform":
        return generator.random(size)
    if scheme == "xavier":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return generator.uniform(-limit, limit, size)
    return generator.normal(0.0, np.sqrt(2.0 / fan_in), size)


def biases(scheme: str, nout: int, generator: np.random.Generator) -> np.ndarray:
    """Biases of shape (nout,): random for 'normal', 'scaled' and 'uniform', zero for 'xavier' and 'he'."""
    check_scheme(scheme)
    if scheme in ("normal", "scaled", "uniform"):
        return sample(scheme, (nout,), 1, nout, generator)
    return np.zeros(nout)
