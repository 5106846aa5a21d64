"""The table of primitives: every operation the engine knows, declared once.

Each :class:`Primitive` says how to compute an operation (on Python floats and,
for batches, on NumPy arrays), what its local partial derivatives are, how the
partials read as formulas, and how the operation is written (its symbol and how
tightly it binds).  Everything else reads this table: backward multiplies by
these partials, the stepper shows them, drawings label edges with them,
compiled mode runs their NumPy forms and the test strategies enumerate them.

A partial is written once, as ``partial(args, out, m)``: ``args`` are the
node's inputs, ``out`` its result and ``m`` a namespace of the elementary
functions (``m.log``, ``m.cos``...) for the kind of number being swept: floats
(:data:`FLOATS`, backward), NumPy arrays (:data:`ARRAYS`, compiled mode) or
recorded Values (gradients of gradients).  Plain arithmetic works on all three,
so most partials need no namespace at all.  Constant inputs always arrive as
plain numbers.

Adding an operation is one entry plus its tests (see ``docs/engine.md``)::

    >>> cube = Primitive(
    ...     name="cube", symbol="cube", arity=1,
    ...     forward=lambda x: x ** 3, array_forward=lambda x: x ** 3,
    ...     partials=(lambda args, out, m: 3 * args[0] ** 2,), formulas=("3 * x**2",))
    >>> cube.forward(2.0), cube.partial(0, (2.0,), 8.0)
    (8.0, 12.0)

This module imports nothing from the rest of autodiff: it is the bottom layer.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: A local partial: given the inputs of a node, its output and the namespace of
#: elementary functions for that kind of number, d(out)/d(one input).
Partial = Callable[[Sequence[Any], Any, Any], Any]

#: How tightly each way of writing binds, as in Python (a weaker operand is bracketed).
ADDITIVE, MULTIPLICATIVE, UNARY, POWER, ATOM = 1, 2, 3, 4, 9


@dataclass(frozen=True, eq=False)
class Primitive:
    """One operation of the engine.

    ``arity`` is the number of inputs, or ``None`` for an n-ary operation whose
    single partial applies to every input (``sum``); it is not told which input,
    so it is one number for all of them, computed once per node.  ``forward`` computes on
    Python floats and raises ``ValueError``, ``ZeroDivisionError`` or
    ``OverflowError`` outside its domain; ``array_forward`` is the NumPy form.
    ``partials[i](args, out, m)`` is d(out)/d(args[i]) and ``formulas[i]`` says
    the same as a Python expression over ``x``, ``y`` (the inputs), ``out`` and
    the functions of :data:`FLOATS` (a test evaluates each formula against its
    partial, so they cannot drift apart).  ``precedence`` is how tightly the
    operation binds when written: an infix operator (``+``, ``*``, ``**``), a
    prefix one (``-``) or, for :data:`ATOM`, a call ``name(x)``.  ``domain``
    says in words where the operation is defined and ``safe`` tells whether
    inputs lie well inside it (tests draw such inputs).
    """

    name: str
    symbol: str
    arity: int | None
    forward: Callable[..., float]
    array_forward: Callable[..., Any]
    partials: tuple[Partial, ...]
    formulas: tuple[str, ...]
    precedence: int = ATOM
    domain: str = "all real numbers"
    safe: Callable[[Sequence[float]], bool] = lambda args: True

    def partial(self, i: int, args: Sequence[Any], out: Any, m: Any = None) -> Any:
        """d(out)/d(args[i]) at the given inputs and output.

        ``m`` is the namespace of elementary functions; by default the one for
        the kind of number given: NumPy arrays, floats, or a kind that names its
        own (Values name theirs as ``FUNCTIONS``).
        """
        if m is None:
            m = _namespace(out if out is not None else args[0])
        return self.partials[0 if self.arity is None else i](args, out, m)

    def formula(self, i: int) -> str:
        """The i-th local partial as text, e.g. ``'1 - out**2'``."""
        return self.formulas[0 if self.arity is None else i]

    def input_name(self, i: int) -> str:
        """What input i is called in formulas and messages: x, y; x0, x1... for n-ary."""
        return f"x{i}" if self.arity is None else "xy"[i] if self.arity <= 2 else f"x{i}"

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


# -- the elementary functions partials are written in ---------------------------------


class FLOATS:
    """Elementary functions on Python floats (the backward sweep)."""

    log = staticmethod(math.log)
    exp = staticmethod(math.exp)
    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)

    @staticmethod
    def step(x: float) -> float:
        """1 where x > 0, else 0 (relu's slope; 0 at 0)."""
        return 1.0 if x > 0.0 else 0.0

    @staticmethod
    def at_least(x: float, y: float) -> float:
        """1 where x >= y, else 0 (max's slope by x; ties go to x)."""
        return 1.0 if x >= y else 0.0

    @staticmethod
    def sign(x: float) -> float:
        """-1, 0 or 1 (abs's slope; 0 at 0, as autograd and PyTorch choose)."""
        return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0

    @staticmethod
    def pow_dx(x: float, y: float) -> float:
        """y * x**(y-1), and 0 for y = 0: x**0 is constant even at x = 0."""
        return 0.0 if y == 0.0 else y * x ** (y - 1.0)

    @staticmethod
    def pow_dy(x: float, out: float) -> float:
        """out * log(x), and 0 at x = 0 where out is 0 for every y > 0."""
        return 0.0 if x == 0.0 else out * math.log(x)


def _where_pow(x: np.ndarray, y: Any) -> np.ndarray:
    zero = np.asarray(y) == 0
    if not zero.any():
        return y * x ** (y - 1)
    with np.errstate(divide="ignore", invalid="ignore"):  # the lanes where y = 0 are thrown away
        return np.where(zero, 0.0, y * x ** (y - 1))


class ARRAYS:
    """Elementary functions on NumPy arrays (compiled mode), elementwise."""

    log = staticmethod(np.log)
    exp = staticmethod(np.exp)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    sign = staticmethod(np.sign)

    @staticmethod
    def step(x: np.ndarray) -> np.ndarray:
        return (x > 0).astype(x.dtype)

    @staticmethod
    def at_least(x: Any, y: Any) -> np.ndarray:
        return (np.asarray(x) >= np.asarray(y)).astype(float)

    pow_dx = staticmethod(_where_pow)

    @staticmethod
    def pow_dy(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x == 0, 0.0, out * np.log(np.where(x == 0, 1.0, x)))


def _namespace(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return ARRAYS
    return getattr(x, "FUNCTIONS", FLOATS)


# -- forward rules on floats -------------------------------------------------


def _pow(x: float, y: float) -> float:
    result = x**y  # raises ZeroDivisionError for 0 ** negative
    if isinstance(result, complex):
        raise ValueError("a negative base needs an integer exponent")
    return result


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


def _sqrt(x: float) -> float:
    if x < 0.0:
        raise ValueError("the square root of a negative number is not real")
    return math.sqrt(x)


# -- the table ------------------------------------------------------------

#: Every primitive by name, built-in and registered.
PRIMITIVES: dict[str, Primitive] = {}
_BUILT_IN: set[str] = set()


def register(primitive: Primitive, replace: bool = False) -> Primitive:
    """Add a primitive to :data:`PRIMITIVES`, so every tool that enumerates the table knows it.

    Names are unique.  ``replace=True`` replaces an earlier registration of
    the same name (so a notebook cell that defines a rule can be run again
    after fixing it); the built-in primitives cannot be replaced.
    """
    if not isinstance(primitive, Primitive):
        raise TypeError(f"register() takes a Primitive, not {type(primitive).__name__}")
    name = primitive.name
    if name in _BUILT_IN:
        raise ValueError(f"{name!r} is a built-in primitive and cannot be replaced; choose another name")
    if name in PRIMITIVES and not replace:
        raise ValueError(
            f"a primitive named {name!r} is already registered; pass replace=True to replace it"
        )
    arity = 1 if primitive.arity is None else primitive.arity
    if len(primitive.partials) != arity or len(primitive.formulas) != arity:
        raise ValueError(
            f"{name}: {len(primitive.partials)} partials and {len(primitive.formulas)} formulas "
            f"for {primitive.arity} inputs; give one of each per input (one for an n-ary primitive)"
        )
    PRIMITIVES[name] = primitive
    return primitive


def _built_in(primitive: Primitive) -> Primitive:
    register(primitive)
    _BUILT_IN.add(primitive.name)
    return primitive


# Three partials are so common that they are named: the float sweep of backward
# recognises them and does the multiplication itself instead of calling them
# (same floats, one call fewer per edge); everywhere else they are ordinary partials.


def one(args: Sequence[Any], out: Any, m: Any) -> float:
    """The partial 1: d(x + y)/dx, d(sum)/dxi."""
    return 1.0


def first_input(args: Sequence[Any], out: Any, m: Any) -> Any:
    """The partial that is the node's first input: d(x * y)/dy = x."""
    return args[0]


def second_input(args: Sequence[Any], out: Any, m: Any) -> Any:
    """The partial that is the node's second input: d(x * y)/dx = y."""
    return args[1]


ADD = _built_in(Primitive(
    name="add", symbol="+", arity=2, precedence=ADDITIVE,
    forward=operator.add, array_forward=np.add,
    partials=(one, one), formulas=("1", "1"),
))
MUL = _built_in(Primitive(
    name="mul", symbol="*", arity=2, precedence=MULTIPLICATIVE,
    forward=operator.mul, array_forward=np.multiply,
    partials=(second_input, first_input), formulas=("y", "x"),
))
NEG = _built_in(Primitive(
    name="neg", symbol="-", arity=1, precedence=UNARY,
    forward=operator.neg, array_forward=np.negative,
    partials=(lambda a, out, m: -1.0,), formulas=("-1",),
))
POW = _built_in(Primitive(
    name="pow", symbol="**", arity=2, precedence=POWER,
    forward=_pow, array_forward=np.power,
    partials=(lambda a, out, m: m.pow_dx(a[0], a[1]), lambda a, out, m: m.pow_dy(a[0], out)),
    formulas=("y * x**(y-1)", "out * log(x)"),
    domain="x > 0; x = 0 with y >= 0; x < 0 with integer y",
    safe=_pow_safe,
))
EXP = _built_in(Primitive(
    name="exp", symbol="exp", arity=1,
    forward=math.exp, array_forward=np.exp,
    partials=(lambda a, out, m: out,), formulas=("out",),
    domain="x <= 709.78 (beyond, exp overflows a float)",
    safe=lambda a: a[0] < 5.0,
))
LOG = _built_in(Primitive(
    name="log", symbol="log", arity=1,
    forward=math.log, array_forward=np.log,
    partials=(lambda a, out, m: 1.0 / a[0],), formulas=("1/x",),
    domain="x > 0",
    safe=lambda a: a[0] > 0.2,
))
LOG1P = _built_in(Primitive(
    name="log1p", symbol="log1p", arity=1,
    forward=math.log1p, array_forward=np.log1p,
    partials=(lambda a, out, m: 1.0 / (1.0 + a[0]),), formulas=("1/(1 + x)",),
    domain="x > -1",
    safe=lambda a: a[0] > -0.8,
))
SQRT = _built_in(Primitive(
    name="sqrt", symbol="sqrt", arity=1,
    forward=_sqrt, array_forward=np.sqrt,
    partials=(lambda a, out, m: 0.5 / out,), formulas=("0.5/out",),
    domain="x >= 0 (at 0 the slope is infinite, so gradients through sqrt need x > 0)",
    safe=lambda a: a[0] > 0.2,
))
SIN = _built_in(Primitive(
    name="sin", symbol="sin", arity=1,
    forward=math.sin, array_forward=np.sin,
    partials=(lambda a, out, m: m.cos(a[0]),), formulas=("cos(x)",),
))
COS = _built_in(Primitive(
    name="cos", symbol="cos", arity=1,
    forward=math.cos, array_forward=np.cos,
    partials=(lambda a, out, m: -m.sin(a[0]),), formulas=("-sin(x)",),
))
TANH = _built_in(Primitive(
    name="tanh", symbol="tanh", arity=1,
    forward=math.tanh, array_forward=np.tanh,
    partials=(lambda a, out, m: 1.0 - out * out,), formulas=("1 - out**2",),
))
SIGMOID = _built_in(Primitive(
    name="sigmoid", symbol="σ", arity=1,
    forward=_sigmoid, array_forward=_array_sigmoid,
    partials=(lambda a, out, m: out * (1.0 - out),), formulas=("out * (1 - out)",),
))
RELU = _built_in(Primitive(
    name="relu", symbol="relu", arity=1,
    forward=lambda x: x if x > 0.0 else 0.0, array_forward=lambda x: np.maximum(x, 0.0),
    partials=(lambda a, out, m: m.step(a[0]),), formulas=("1 if x > 0 else 0",),
    domain="all real numbers (not differentiable at 0: the partial there is 0)",
    safe=lambda a: abs(a[0]) > 1e-3,
))
ABS = _built_in(Primitive(
    name="abs", symbol="abs", arity=1,
    forward=abs, array_forward=np.abs,
    partials=(lambda a, out, m: m.sign(a[0]),), formulas=("sign(x)",),
    domain="all real numbers (not differentiable at 0: the partial there is 0)",
    safe=lambda a: abs(a[0]) > 1e-3,
))
MAX = _built_in(Primitive(
    name="max", symbol="max", arity=2,
    forward=max, array_forward=np.maximum,
    partials=(lambda a, out, m: m.at_least(a[0], a[1]), lambda a, out, m: 1.0 - m.at_least(a[0], a[1])),
    formulas=("1 if x >= y else 0", "1 if y > x else 0"),
    domain="all real numbers (not differentiable where x = y: the partial goes to x)",
    safe=lambda a: abs(a[0] - a[1]) > 1e-3,
))
SUM = _built_in(Primitive(
    name="sum", symbol="Σ", arity=None,
    forward=lambda *xs: sum(xs), array_forward=_array_sum,
    partials=(one,), formulas=("1",),
))

#: The op of a constant: a number that entered the graph through arithmetic
#: (the 2 in ``x * 2``).  It has no inputs and never receives a gradient.  It is
#: not in :data:`PRIMITIVES` because there is nothing to differentiate.
CONSTANT = Primitive(
    name="const", symbol="const", arity=0,
    forward=float, array_forward=np.asarray, partials=(), formulas=(),
)
