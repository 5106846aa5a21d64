"""Fused patterns: a few subgraphs of table primitives run as fewer, bigger NumPy calls.

A pattern names the primitives it replaces and gives the fused group's
forward forms: NumPy functions and the names of their operands, written once
here.  The plan's interpreter (:mod:`autodiff.compiled.plan`) evaluates the
forms and the code generator (:mod:`autodiff.compiled.codegen`) writes them
out as source.  There are no backward forms: a gradient graph is a forward
graph too, so the same patterns serve it (a layer's gradient by its inputs
is the dense pattern with W transposed).  tests/test_compile.py checks each
pattern against the table's node-by-node forms on random numbers.

- ``DENSE``: ``sum(mul(W[i, 0], x[0]), ..., mul(W[i, n-1], x[n-1]))`` for the
  rows i of a layer, over a batch of columns: ``W @ x``.
- ``SQUARE``: ``pow(x, 2)`` as ``x * x``.
- ``SIGMOID_IN_PLACE``: ``sigmoid(x)`` as ``1 / (1 + exp(-x))`` written into
  its output, four calls instead of the table's eight (which avoid overflow
  for any x).
- ``SQUARED_ERROR``: the quadratic cost ``c * sum((a_j + neg(y_j))**2)``, five
  steps of small calls at the end of a network, as ``d = a - y`` (the same
  number as ``a + neg(y)``), ``d * d``, one sum over the rows and the factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..primitives import ADD, MUL, NEG, POW, SIGMOID, SUM, Primitive


@dataclass(frozen=True)
class Form:
    """``function(*operands)``: a NumPy function applied to named operands (e.g. ``matmul(W, x)``).

    An operand is a name, optionally followed by ``.T`` (transposed), or a
    number; ``axis`` is a reduction's axis.
    """

    function: str  # a NumPy function, e.g. "matmul" or "add.reduce"
    operands: tuple[str, ...]
    axis: int | None = None
    into: str = "out"  # the name of what it writes (forms in a sequence may write several)

    def evaluate(self, names: dict[str, Any]) -> Any:
        """The form's value with each operand name bound to an array in ``names``."""
        operands = [_operand(names, o) for o in self.operands]
        keywords = {} if self.axis is None else {"axis": self.axis}
        function: Any = np
        for part in self.function.split("."):
            function = getattr(function, part)
        return function(*operands, **keywords)

    def source(self, names: dict[str, str], out: str | None = None) -> str:
        """The form as Python source, operands renamed by ``names``; with ``out``, writing there."""
        args = [o if _is_number(o) else names[o.removesuffix(".T")] + (".T" if o.endswith(".T") else "")
                for o in self.operands]
        if self.axis is not None:
            args.append(f"axis={self.axis}")
        if out is not None:
            args.append(f"out={out}")
        return f"np.{self.function}({', '.join(args)})"


def _is_number(operand: str) -> bool:
    return operand[0].isdigit()


def _operand(names: dict[str, Any], operand: str) -> Any:
    if _is_number(operand):
        return float(operand)
    return names[operand[:-2]].T if operand.endswith(".T") else names[operand]


@dataclass(frozen=True)
class Pattern:
    """A fused subgraph: the primitives it covers and its forward forms.

    The forms run in order, each writing into its ``into`` (later forms may
    read it); the result is ``out``.
    """

    name: str
    covers: tuple[Primitive, ...]
    shape: str  # the subgraph, in words
    forward: tuple[Form, ...]

    def evaluate(self, names: dict[str, Any]) -> Any:
        """The forward result with operands bound in ``names`` (new arrays)."""
        return _run(self.forward, names)["out"]

    def source(self, names: dict[str, str], out: str) -> list[str]:
        """The forward forms as lines of source writing into ``out`` (and the names they write into)."""
        return _lines(self.forward, names, out)


def _run(forms: tuple[Form, ...], names: dict[str, Any]) -> dict[str, Any]:
    names = {**names, "out": None}
    for form in forms:
        names[form.into] = form.evaluate(names)
    return names


def _lines(forms: tuple[Form, ...], names: dict[str, str], out: str) -> list[str]:
    names = {**names, "out": out}
    return [form.source(names, out=names[form.into]) for form in forms]


DENSE = Pattern(
    name="dense",
    covers=(SUM, MUL),
    shape="sum(mul(W[i, j], x[j]) for j) for each row i, over batch columns",
    forward=(Form("matmul", ("W", "x")),),
)

SQUARE = Pattern(
    name="square",
    covers=(POW,),
    shape="pow(x, 2)",
    forward=(Form("multiply", ("x", "x")),),
)

SIGMOID_IN_PLACE = Pattern(
    name="sigmoid",
    covers=(SIGMOID,),
    shape="sigmoid(x)",
    # 1 / (1 + exp(-x)) in four calls without temporaries.  It agrees with the
    # table's two-branch form to an ulp or two; exp(-x) overflows for x < -709,
    # which raises inside compiled code, and the careful replay then uses the table's form.
    forward=(Form("negative", ("x",)), Form("exp", ("out",)), Form("add", ("out", "1.0")),
             Form("divide", ("1.0", "out"))),
)

SQUARED_ERROR = Pattern(
    name="squared_error",
    covers=(NEG, ADD, POW, SUM, MUL),
    shape="mul(c, sum(pow(add(a[j], neg(y[j])), 2) for j)): a quadratic cost, one per sample",
    # a + neg(y) is a - y to the bit; the squares and their sum as the table's nodes compute them.
    forward=(Form("subtract", ("a", "y"), into="d"), Form("multiply", ("d", "d"), into="squares"),
             Form("add.reduce", ("squares",), axis=0, into="total"), Form("multiply", ("total", "c"))),
)

PATTERNS = (DENSE, SQUARE, SIGMOID_IN_PLACE, SQUARED_ERROR)
