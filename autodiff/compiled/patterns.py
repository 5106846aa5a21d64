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
  for any x); the partial is the table's, ``out * (1 - out)``, times ``up``,
  written in place in three calls.
- ``SQUARED_ERROR``: the quadratic cost ``c * sum((a_j + neg(y_j))**2)``, five
  steps of small calls at the end of a network, as ``d = a - y`` (the same
  number as ``a + neg(y)``), ``d * d``, one sum over the rows and the factor;
  ``a`` receives ``2 * up * d * c``, the product of the partials of mul (c),
  sum (1), pow (2 d) and add (1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..primitives import ADD, MUL, NEG, POW, SIGMOID, SUM, Primitive


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
    into: str = "out"  # the name of what it writes (forms in a sequence may write several)

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
    # operand name -> what it receives given ``up``: one form, or forms run in order into ``out``
    # (they may read ``value``, the forward result)
    backward: dict[str, Form | tuple[Form, ...]]

    def evaluate(self, names: dict[str, Any]) -> Any:
        """The forward result with operands bound in ``names`` (new arrays)."""
        return _run(self.forward, names)["out"]

    def values(self, names: dict[str, Any]) -> dict[str, Any]:
        """Everything the forward forms write, by name, the result as ``value``: what backward forms read."""
        written = _run(self.forward, names)
        return {form.into: written[form.into] for form in self.forward} | {"value": written["out"]}

    def source(self, names: dict[str, str], out: str) -> list[str]:
        """The forward forms as lines of source writing into ``out`` (and the names they write into)."""
        return _lines(self.forward, names, out)

    def receives(self, operand: str, names: dict[str, Any]) -> Any:
        """What ``operand`` receives, with ``up`` and the operands bound in ``names`` (new arrays)."""
        return _run(_forms(self.backward[operand]), names)["out"]

    def receives_source(self, operand: str, names: dict[str, str], out: str | None) -> list[str]:
        """What ``operand`` receives as source: lines writing into ``out``, or (None) one expression."""
        forms = _forms(self.backward[operand])
        if out is not None:
            return _lines(forms, names, out)
        text = ""
        for form in forms:  # each form's result is the next one's ``out``: nested calls
            text = form.source({**names, "out": text})
        return [text]


def _forms(forms: Form | tuple[Form, ...]) -> tuple[Form, ...]:
    return forms if isinstance(forms, tuple) else (forms,)


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
    # The table's partial out * (1 - out), times up, in three calls writing in place (no temporaries).
    backward={"x": (Form("subtract", ("1.0", "value")), Form("multiply", ("out", "value")),
                    Form("multiply", ("out", "up")))},
)

SQUARED_ERROR = Pattern(
    name="squared_error",
    covers=(NEG, ADD, POW, SUM, MUL),
    shape="mul(c, sum(pow(add(a[j], neg(y[j])), 2) for j)): a quadratic cost, one per sample",
    # a + neg(y) is a - y to the bit; the squares and their sum as the table's nodes compute them.
    forward=(Form("subtract", ("a", "y"), into="d"), Form("multiply", ("d", "d"), into="squares"),
             Form("add.reduce", ("squares",), axis=0, into="total"), Form("multiply", ("total", "c"))),
    # mul's partial by the sum is c, sum's is 1, pow's is 2 * d, add's is 1: a receives 2 * up * d * c.
    backward={"a": (Form("multiply", ("up", "d"), scale=2.0), Form("multiply", ("out", "c")))},
)

PATTERNS = (DENSE, SQUARE, SIGMOID_IN_PLACE, SQUARED_ERROR)


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
    out = SIGMOID.array_forward(a["x"])
    return out, {"x": SIGMOID.partial(0, (a["x"],), out) * a["up"]}


def _squared_error_reference(a: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    outputs, targets, c, up = a["a"], a["y"], np.full_like(a["up"], a["c"]), a["up"]
    minus = NEG.array_forward(targets)
    d = ADD.array_forward(outputs, minus)
    two = np.full_like(d, 2.0)
    squares = POW.array_forward(d, two)
    total = SUM.array_forward(*squares)
    out = MUL.array_forward(c, total)
    # Back through mul (by the sum), sum (each term), pow (its base) and add (its first operand).
    through_total = MUL.partial(1, (c, total), out) * up
    through_squares = np.array([SUM.partial(j, list(squares), total) * through_total for j in range(len(d))])
    through_d = POW.partial(0, (d, two), squares) * through_squares
    return out, {"a": ADD.partial(0, (outputs, minus), d) * through_d}


def _square_reference(a: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    x, up, two = a["x"], a["up"], np.full_like(a["x"], 2.0)
    out = POW.array_forward(x, two)
    return out, {"x": POW.partial(0, (x, two), out) * up}


_REFERENCES: dict[str, Callable[[dict[str, np.ndarray]], tuple[np.ndarray, dict[str, np.ndarray]]]] = {
    "dense": _dense_reference,
    "square": _square_reference,
    "sigmoid": _sigmoid_reference,
    "squared_error": _squared_error_reference,
}
