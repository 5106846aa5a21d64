"""The table of primitives: every operation the engine knows, declared once.

Each :class:`Primitive` says how to compute an operation (on Python floats and,
for batches, on NumPy arrays) and what its local partial derivatives are.  The
partials are written with plain arithmetic and the dispatching helpers below,
so one rule works on a float (backward), on a NumPy array (compiled mode) and
on a :class:`~autodiff.Value` (gradients of gradients).  Everything else reads
this table: backward multiplies by these partials, the stepper shows them,
drawings label edges with them, compiled mode runs their NumPy forms and the
test strategies enumerate them.

Adding an operation is one entry here plus its tests.  For example a ``square``
primitive would be::

    >>> square = Primitive(
    ...     name="square", symbol="sq", arity=1,
    ...     forward=lambda x: x * x, array_forward=np.square,
    ...     partials=(lambda args, out: 2.0 * args[0],), formulas=("2*x",))
    >>> square.forward(3.0), square.partial(0, (3.0,), 9.0)
    (9.0, 6.0)

and ``register(square)`` would make it available to every part of autodiff that
enumerates :data:`PRIMITIVES`.

This module imports nothing from the rest of autodiff: it is the bottom layer.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: A local partial: given the inputs of a node and its output, the derivative
#: of the output with respect to one input.  Works on floats, arrays, Values.
Partial = Callable[[Sequence[Any], Any], Any]


@dataclass(frozen=True, eq=False)
class Primitive:
    """One operation of the engine.

    ``arity`` is the number of inputs, or ``None`` for an n-ary operation whose
    single partial applies to every input (``sum``).  ``forward`` computes on
    Python floats and raises ``ValueError``, ``ZeroDivisionError`` or
    ``OverflowError`` outside its domain; ``array_forward`` is the NumPy form.
    ``partials[i](args, out)`` is d(out)/d(args[i]) and ``formulas[i]`` says
    the same in words (inputs are called x, y; the result is out).
    ``domain`` describes in words where the operation is defined and ``safe``
    tells whether inputs lie well inside it (tests draw such inputs).
    """

    name: str
    symbol: str
    arity: int | None
    forward: Callable[..., float]
    array_forward: Callable[..., Any]
    partials: tuple[Partial, ...]
    formulas: tuple[str, ...]
    domain: str = "all real numbers"
    safe: Callable[[Sequence[float]], bool] = lambda args: True

    def partial(self, i: int, args: Sequence[Any], out: Any) -> Any:
        """d(out)/d(args[i]) at the given inputs and output."""
        return self.partials[0 if self.arity is None else i](args, out)

    def formula(self, i: int) -> str:
        """The i-th local partial in words, e.g. ``'1 - out**2'``."""
        return self.formulas[0 if self.arity is None else i]

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


# -- helpers that work on a float, a NumPy array and a Value -----------------


def log(x: Any) -> Any:
    """Natural log of a float, an array or a Value (then it is recorded)."""
    if isinstance(x, float):
        return math.log(x)
    if isinstance(x, np.ndarray):
        return np.log(x)
    return x.log()


def at_least(x: Any, y: Any) -> Any:
    """1 where x >= y, else 0: the partial of max(x, y) by x (ties go to x).

    Like :func:`step`, a plain number even for Values: it is flat almost
    everywhere, so it needs no recording.
    """
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return (np.asarray(x) >= np.asarray(y)).astype(float)
    return 1.0 if float(x) >= float(y) else 0.0


def step(x: Any) -> Any:
    """Derivative of relu: 1 where x > 0, else 0.

    For a Value the result is a plain float: the step is flat almost
    everywhere, so its own derivative is zero and nothing needs recording.
    """
    if isinstance(x, np.ndarray):
        return (x > 0).astype(x.dtype)
    return 1.0 if float(x) > 0 else 0.0


# -- forward rules on floats -------------------------------------------------


def _pow(x: float, y: float) -> float:
    result = x**y  # raises ZeroDivisionError for 0 ** negative
    if isinstance(result, complex):
        raise ValueError("a negative base needs an integer exponent")
    return result


def _pow_dx(args: Sequence[Any], out: Any) -> Any:
    x, y = args
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        partial = y * x ** (y - 1)
        zero = np.asarray(y) == 0
        return np.where(zero, 0.0, partial) if zero.any() else partial
    if float(y) == 0.0:  # x**0 is constant, even at x = 0 where x**(y-1) is not defined
        return 0.0
    if getattr(y, "_op", None) is CONSTANT:  # a recorded x ** c: keep the exponent a plain number
        return y * x ** (float(y) - 1.0)
    return y * x ** (y - 1)


def _sigmoid(x: float) -> float:
    # Two branches so that exp never overflows: sigmoid(+-1000) is exact.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _array_sigmoid(x: np.ndarray) -> np.ndarray:
    # The two branches of _sigmoid at once: with e = exp(-|x|) and r = 1 / (1 + e),
    # sigmoid is r where x >= 0 and e * r elsewhere (equal to e / (1 + e) within an ulp).
    e = np.exp(-np.abs(x))
    r = 1.0 / (1.0 + e)
    return np.where(x >= 0, r, e * r)


def _array_sum(*xs: Any) -> Any:
    # Left to right, as the scalar forward adds, so results agree bit for bit.
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    return total


def _pow_safe(args: Sequence[float]) -> bool:
    x, y = args
    if abs(y) > 3:
        return False
    if x > 0.2:
        return True
    return float(y).is_integer() and abs(x) > 0.2


# -- the table ------------------------------------------------------------

PRIMITIVES: dict[str, Primitive] = {}


def register(primitive: Primitive) -> Primitive:
    """Add a primitive to :data:`PRIMITIVES` (names must be unique)."""
    if primitive.name in PRIMITIVES:
        raise ValueError(f"a primitive named {primitive.name!r} already exists")
    PRIMITIVES[primitive.name] = primitive
    return primitive


def _one(args: Sequence[Any], out: Any) -> float:
    return 1.0


ADD = register(Primitive(
    name="add", symbol="+", arity=2,
    forward=operator.add, array_forward=np.add,
    partials=(_one, _one), formulas=("1", "1"),
))
MUL = register(Primitive(
    name="mul", symbol="*", arity=2,
    forward=operator.mul, array_forward=np.multiply,
    partials=(lambda a, out: a[1], lambda a, out: a[0]), formulas=("y", "x"),
))
NEG = register(Primitive(
    name="neg", symbol="-", arity=1,
    forward=operator.neg, array_forward=np.negative,
    partials=(lambda a, out: -1.0,), formulas=("-1",),
))
POW = register(Primitive(
    name="pow", symbol="**", arity=2,
    forward=_pow, array_forward=np.power,
    partials=(_pow_dx, lambda a, out: out * log(a[0])),
    formulas=("y * x**(y-1)", "out * log(x)"),
    domain="x > 0; x = 0 with y >= 0; x < 0 with integer y",
    safe=_pow_safe,
))
EXP = register(Primitive(
    name="exp", symbol="exp", arity=1,
    forward=math.exp, array_forward=np.exp,
    partials=(lambda a, out: out,), formulas=("out",),
    domain="x <= 709.78 (beyond, exp overflows a float)",
    safe=lambda a: a[0] < 5.0,
))
LOG = register(Primitive(
    name="log", symbol="log", arity=1,
    forward=math.log, array_forward=np.log,
    partials=(lambda a, out: 1.0 / a[0],), formulas=("1/x",),
    domain="x > 0",
    safe=lambda a: a[0] > 0.2,
))
TANH = register(Primitive(
    name="tanh", symbol="tanh", arity=1,
    forward=math.tanh, array_forward=np.tanh,
    partials=(lambda a, out: 1.0 - out * out,), formulas=("1 - out**2",),
))
SIGMOID = register(Primitive(
    name="sigmoid", symbol="σ", arity=1,
    forward=_sigmoid, array_forward=_array_sigmoid,
    partials=(lambda a, out: out * (1.0 - out),), formulas=("out * (1 - out)",),
))
RELU = register(Primitive(
    name="relu", symbol="relu", arity=1,
    forward=lambda x: x if x > 0.0 else 0.0, array_forward=lambda x: np.maximum(x, 0.0),
    partials=(lambda a, out: step(a[0]),), formulas=("1 if x > 0 else 0",),
    domain="all real numbers (not differentiable at 0: the partial there is 0)",
    safe=lambda a: abs(a[0]) > 1e-3,
))
MAX = register(Primitive(
    name="max", symbol="max", arity=2,
    forward=max, array_forward=np.maximum,
    partials=(lambda a, out: at_least(a[0], a[1]), lambda a, out: 1.0 - at_least(a[0], a[1])),
    formulas=("1 if x >= y else 0", "1 if y > x else 0"),
    domain="all real numbers (not differentiable where x = y: the partial goes to x)",
    safe=lambda a: abs(a[0] - a[1]) > 1e-3,
))
SUM = register(Primitive(
    name="sum", symbol="Σ", arity=None,
    forward=lambda *xs: sum(xs), array_forward=_array_sum,
    partials=(_one,), formulas=("1",),
))

#: The op of a constant: a number that entered the graph through arithmetic
#: (the 2 in ``x * 2``).  It has no inputs and never receives a gradient.  It is
#: not in :data:`PRIMITIVES` because there is nothing to differentiate.
CONSTANT = Primitive(
    name="const", symbol="const", arity=0,
    forward=float, array_forward=np.asarray, partials=(), formulas=(),
)
