"""Fused patterns: a few subgraphs of table primitives run as fewer, bigger NumPy calls.

A pattern names the primitives it replaces and gives, for the fused group, the
forward form and one backward form per operand (what that operand receives,
given the upstream gradient ``up``).  Each form is a NumPy function and the
names of its operands, written once here: the plan's interpreter
(:mod:`autodiff.compiled.plan`) evaluates the forms and the code generator
(:mod:`autodiff.compiled.codegen`) writes them out as source.

The forms are not new derivative rules.  Each is what the table's own rules
give when they are applied node by node and the results summed, and
tests/test_compile.py checks exactly that for every pattern on random numbers
(:func:`by_the_table` computes the node-by-node side from
:data:`autodiff.primitives.PRIMITIVES`' entries).

- ``DENSE``: ``sum(mul(W[i, 0], x[0]), ..., mul(W[i, n-1], x[n-1]))`` for the
  rows i of a layer, over a batch of columns: ``W @ x``.  The partial of
  ``mul`` by its weight is the other operand and that of ``sum`` is 1, so the
  weights receive ``up @ x.T`` (summed over the batch); the inputs receive
  ``W.T @ up`` (summed over the neurons that read them); a bias term of the sum
  receives ``up`` summed over the batch.
- ``SQUARE``: ``pow(x, 2)``: forward ``x * x``; the table's partial
  ``y * x**(y - 1)`` at y = 2 is ``2 * x``.
- ``SIGMOID_IN_PLACE``: ``sigmoid(x)`` as ``1 / (1 + exp(-x))`` written into
  its output, four calls instead of the table's eight (which avoid overflow
  for any x); the partial is the table's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..primitives import MUL, POW, SIGMOID, SUM, Primitive


@dataclass(frozen=True)
class Form:
    """``function(*operands)``: a NumPy function applied to named operands (e.g. ``matmul(up, x.T)``).

    An operand is a name, optionally followed by ``.T`` (transposed), or a
    number.  ``scale`` multiplies the first operand (the 2 of ``2 * x * up``);
    ``axis`` is a reduction's axis.
    """

    function: str  # a NumPy function, e.g. "matmul" or "add.reduce"
    operands: tuple[str, ...]
    scale: float = 1.0
    axis: int | None = None

    def evaluate(self, names: dict[str, Any]) -> Any:
        """The form's value with each operand name bound to an array in ``names``."""
        operands = [_operand(names, o) for o in self.operands]
        if self.scale != 1.0:
            operands[0] = self.scale * operands[0]
        keywords = {} if self.axis is None else {"axis": self.axis}
        function: Any = np
        for part in self.function.split("."):
            function = getattr(function, part)
        return function(*operands, **keywords)

    def source(self, names: dict[str, str], out: str | None = None) -> str:
        """The form as Python source, operands renamed by ``names``; with ``out``, writing there."""
        args = [o if _is_number(o) else names[o.removesuffix(".T")] + (".T" if o.endswith(".T") else "")
                for o in self.operands]
        if self.scale != 1.0:
            args[0] = f"({self.scale!r} * {args[0]})"
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
    """A fused subgraph: the primitives it covers, its forward forms and each operand's backward form.

    The forward forms run in order, each writing the result ``out`` (which
    later forms may read).  An operand without a backward form gets the
    table's own partial.
    """

    name: str
    covers: tuple[Primitive, ...]
    shape: str  # the subgraph, in words
    forward: tuple[Form, ...]
    backward: dict[str, Form]  # operand name -> what it receives given ``up``

    def evaluate(self, names: dict[str, Any]) -> Any:
        """The forward result with operands bound in ``names`` (new arrays)."""
        out = None
        for form in self.forward:
            out = form.evaluate({**names, "out": out})
        return out

    def source(self, names: dict[str, str], out: str) -> list[str]:
        """The forward forms as lines of source writing into ``out``."""
        return [form.source({**names, "out": out}, out=out) for form in self.forward]


DENSE = Pattern(
    name="dense",
    covers=(SUM, MUL),
    shape="sum(mul(W[i, j], x[j]) for j) for each row i, over batch columns",
    forward=(Form("matmul", ("W", "x")),),
    backward={
        "W": Form("matmul", ("up", "x.T")),  # d(w*x)/dw = x, d(sum)/d(term) = 1, summed over the batch
        "x": Form("matmul", ("W.T", "up")),  # d(w*x)/dx = w, summed over the rows reading x
        "b": Form("add.reduce", ("up",), axis=1),  # a bias term: d(sum)/d(b) = 1, summed over the batch
    },
)

SQUARE = Pattern(
    name="square",
    covers=(POW,),
    shape="pow(x, 2)",
    forward=(Form("multiply", ("x", "x")),),
    backward={"x": Form("multiply", ("x", "up"), scale=2.0)},  # y * x**(y-1) at y = 2
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
    backward={},  # the table's partial, out * (1 - out)
)

PATTERNS = (DENSE, SQUARE, SIGMOID_IN_PLACE)


def by_the_table(pattern: Pattern, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The pattern's forward result and backward results computed node by node from the table's rules.

    ``arrays`` holds the operands (and ``up``) as the forms name them.  This is
    the reference the tests compare each pattern's forms with.
    """
    return _REFERENCES[pattern.name](arrays)


def _dense_reference(a: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    W, x, up = a["W"], a["x"], a["up"]
    m, n = W.shape
    rows, gW, gx = [], np.zeros_like(W), np.zeros_like(x)
    for i in range(m):
        terms = [MUL.array_forward(W[i, j], x[j]) for j in range(n)]
        rows.append(SUM.array_forward(*terms))
        for j in range(n):  # chain rule through sum (partial j) and mul (partials by w and by x)
            through_sum = SUM.partial(j, terms, rows[-1]) * up[i]
            gW[i, j] = np.sum(MUL.partial(0, (W[i, j], x[j]), terms[j]) * through_sum)
            gx[j] += MUL.partial(1, (W[i, j], x[j]), terms[j]) * through_sum
    gb = np.array([np.sum(SUM.partial(n, [*range(n), 0.0], None) * up[i]) for i in range(m)])
    return np.array(rows), {"W": gW, "x": gx, "b": gb}


def _sigmoid_reference(a: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    return SIGMOID.array_forward(a["x"]), {}


def _square_reference(a: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    x, up, two = a["x"], a["up"], np.full_like(a["x"], 2.0)
    out = POW.array_forward(x, two)
    return out, {"x": POW.partial(0, (x, two), out) * up}


_REFERENCES: dict[str, Callable[[dict[str, np.ndarray]], tuple[np.ndarray, dict[str, np.ndarray]]]] = {
    "dense": _dense_reference,
    "square": _square_reference,
    "sigmoid": _sigmoid_reference,
}
