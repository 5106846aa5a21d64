"""Training steps over fixed data sets, the samples of each step chosen by index.

:meth:`Program.value_and_grad` checks its batch at every call: the number of
arrays, their shapes and dtypes, theta and the output vector.  At mini-batch
10 that is a good part of a step's time.  A training loop passes the same data
sets every time, only the rows change, so :class:`Batches` checks the data
once and then takes row indices: a step gathers the rows, runs the generated
code and adds nothing else.  Strictness is the same: the generated code's one
finiteness check per call sees the gathered rows, and a non-finite number
raises the scalar engine's error naming the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import GraphError
from .blas import limits_blas

#: How a batch's losses and gradients combine: averaged or added.
REDUCTIONS = ("mean", "sum")


class Batches:
    """Steps of one program over fixed data sets (made by :meth:`Program.batches`)."""

    def __init__(self, program: Any, data: Sequence[Any], reduction: str) -> None:
        # program is a Program: program.py makes this class and imports this module, never the reverse.
        if not program.scalar:
            raise GraphError("batches need a function that returns one Value (the loss); this one returns "
                             f"{len(program._graph.outputs)} (a list). Return the loss only.")
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, not {reduction!r}")
        self.program = program
        self.reduction = reduction
        self._data = program._data(data)
        self._like = np.empty(len(program.params), dtype=program.dtype)  # what theta and out must look like

    def __len__(self) -> int:
        """How many samples the data sets hold."""
        return len(self._data[0])

    @limits_blas
    def value_and_grad(self, rows: Any, params: np.ndarray | None = None,
                       out: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """:meth:`Program.value_and_grad` on the samples ``rows`` (an array of row indices) of the data."""
        program = self.program
        theta = params if _like(params, self._like) else program._theta_or_values(params)
        gtheta = out if _like(out, self._like) else program._gradient_vector(out)
        if type(rows) is not np.ndarray or rows.ndim != 1 or rows.dtype.kind not in "iu" or not len(rows):
            rows = _indices(rows)
        size = len(rows)
        # The samples as columns, in the program's dtype (a float32 data set stays float32 until here).
        inputs = [array.take(rows, axis=0).astype(program.dtype, copy=False).T for array in self._data]
        mean = self.reduction == "mean"
        seed = 1.0 / size if mean else 1.0  # d(mean)/d(one sample's loss) = 1/B
        total = program._run_gradient(program._kernel(size), theta, inputs, gtheta, seed)
        return (total / size if mean else total), gtheta


def _like(array: Any, like: np.ndarray) -> bool:
    """Whether ``array`` is a vector of the program's dtype and length (then it needs no conversion)."""
    return type(array) is np.ndarray and array.shape == like.shape and array.dtype == like.dtype


def _indices(rows: Any) -> np.ndarray:
    """``rows`` as a 1-D array of sample indices, or a ValueError saying what they must be."""
    array = np.asarray(rows)
    if array.ndim != 1 or len(array) == 0 or array.dtype.kind not in "iu":
        raise ValueError(f"rows must be a 1-D array of sample indices (whole numbers), at least one; got "
                         f"{array.dtype} of shape {array.shape}")
    return array
