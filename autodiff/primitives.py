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
(:data:`FLOATS`, backward), recorded Values (gradients of gradients, and the
gradient graphs compiled mode replays) or NumPy arrays (:data:`ARRAYS`, where
the checks run a rule on many points at once).  Plain arithmetic works on all three,
so most partials need no namespace at all.  Constant inputs always arrive as
plain numbers.

Adding an operation is one entry plus its tests (see ``docs/engine.md``)::

    >>> cube = Primitive(
    ...     name="cube", symbol="cube", arity=1,
    ...     forward=lambda x: x ** 3, array_forward=lambda x: x ** 3,
    ...     partials=(lambda args, out, m: 3 * args[0] ** 2,), formulas=("3 * x**2",))
    >>> cube.forward(2.0), cube.partial(0, (2.0,), 8.0)
    (8.0, 12.0)

This module imports nothing from the rest of autodiff but its exceptions: it is the bottom layer.
"""

from __future__ import annotations

import ast
import math
import numbers
import operator
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import RuleError

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
    Python floats and returns a float; it raises ``ValueError``, ``ZeroDivisionError`` or
    ``OverflowError`` outside its domain; ``array_forward`` is the NumPy form.
    ``partials[i](args, out, m)`` is d(out)/d(args[i]) and ``formulas[i]`` says
    the same as a Python expression over ``x``, ``y`` (the inputs), ``out`` and
    the functions of :data:`FLOATS` (a test evaluates each formula against its
    partial, so they cannot drift apart).  ``precedence`` is how tightly the
    operation binds when written: an infix operator (``+``, ``*``, ``**``), a
    prefix one (``-``) or, for :data:`ATOM`, a call ``name(x)``.  ``domain``
    says in words where the operation is defined (leave it empty if you do not
    know: messages then say it was not given) and ``safe`` tells whether
    inputs lie well inside it (tests draw such inputs).  ``helper`` marks a
    primitive that partials use and users do not write (relu's step, max's
    comparison): gradient graphs record it, so they never bake a sample's
    slope in as a constant; random graphs, exercises and the expression
    grammar leave it out (see :func:`operations`).

    The whole contract is checked here, once, when the primitive is made: a
    name and a symbol, an arity, one partial and one formula per input (one
    for an n-ary primitive), formulas that are Python expressions.  What a
    forward rule and a partial *return* is checked where they run
    (:func:`checked_forward`, :meth:`partial`).
    """

    name: str
    symbol: str
    arity: int | None
    forward: Callable[..., float]
    array_forward: Callable[..., Any]
    partials: tuple[Partial, ...]
    formulas: tuple[str, ...]
    precedence: int = ATOM
    domain: str = ""
    safe: Callable[[Sequence[float]], bool] = lambda args: True
    helper: bool = False

    def __post_init__(self) -> None:
        # Lists are as good as tuples for a user; the table keeps tuples.
        for field in ("partials", "formulas"):
            given = getattr(self, field)
            if isinstance(given, list):
                object.__setattr__(self, field, tuple(given))
        for problem in _problems(self):
            raise problem

    def partial(self, i: int, args: Sequence[Any], out: Any, m: Any = None) -> Any:
        """d(out)/d(args[i]) at the given inputs and output.

        ``m`` is the namespace of elementary functions; by default the one for
        the kind of number given: NumPy arrays, floats, or a kind that names its
        own (Values name theirs as ``FUNCTIONS``).
        """
        if m is None:
            m = _namespace(out if out is not None else args[0])
        result = self.partials[0 if self.arity is None else i](args, out, m)
        return result if type(result) is float else checked_partial(self, i, result, m)

    def needs(self) -> str:
        """The end of a domain error: where the primitive is defined, or that its author did not say."""
        if self.domain:
            return f"{self.name} needs {self.domain}"
        return (f"{self.name} gives no domain (Primitive(..., domain='...') says in words where it is "
                "defined)")

    def formula(self, i: int) -> str:
        """The i-th local partial as text, e.g. ``'1 - out**2'``."""
        return self.formulas[0 if self.arity is None else i]

    def input_name(self, i: int) -> str:
        """What input i is called in formulas and messages: x, y; x0, x1... for n-ary."""
        return f"x{i}" if self.arity is None else "xy"[i] if self.arity <= 2 else f"x{i}"

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


# -- the contract of a primitive ------------------------------------------------------

_PRECEDENCES = (ADDITIVE, MULTIPLICATIVE, UNARY, POWER, ATOM)


def _problems(p: Primitive) -> Any:
    """Each way ``p`` breaks the contract of a primitive, as the exception to raise (first one wins)."""
    name = p.name
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        yield TypeError(f"Primitive(name={name!r}): the name must be a non-empty string of printable "
                        "characters, e.g. name='cube'")
        return
    where = f"Primitive {name!r}"
    if not isinstance(p.symbol, str) or not p.symbol or not p.symbol.isprintable():
        yield TypeError(f"{where}: symbol={p.symbol!r} must be a non-empty string (how the operation is "
                        "written, e.g. '+' or the name itself)")
    if p.arity is not None and (type(p.arity) is not int or p.arity < 1):
        yield ValueError(f"{where}: arity={p.arity!r} must be how many inputs it takes (1, 2, ...), "
                         "or None for any number with one partial for all of them")
    for field in ("forward", "array_forward", "safe"):
        if not callable(getattr(p, field)):
            yield TypeError(f"{where}: {field} must be a function, not {type(getattr(p, field)).__name__}")
    count = 1 if p.arity is None else p.arity
    for field, kind in (("partials", "function"), ("formulas", "string")):
        given = getattr(p, field)
        if not isinstance(given, tuple) or len(given) != count:
            size = len(given) if isinstance(given, tuple) else type(given).__name__
            yield ValueError(f"{where}: {field} has {size} entries for {p.arity} inputs; give a tuple "
                             f"of one {kind} per input (one for an n-ary primitive), in input order")
    for i, rule in enumerate(p.partials):
        if not callable(rule):
            yield TypeError(f"{where}: partials[{i}] must be a function (args, out, m) -> partial, "
                            f"not {type(rule).__name__}")
    for i, formula in enumerate(p.formulas):
        yield from _formula_problems(where, i, formula)
    if type(p.precedence) is not int or p.precedence not in _PRECEDENCES:
        yield ValueError(f"{where}: precedence={p.precedence!r} must be one of ADDITIVE, MULTIPLICATIVE, "
                         "UNARY, POWER or ATOM (a call, the default)")
    if not isinstance(p.domain, str):
        yield TypeError(f"{where}: domain must be words saying where it is defined, not "
                        f"{type(p.domain).__name__}")
    if type(p.helper) is not bool:
        yield TypeError(f"{where}: helper={p.helper!r} must be True (used inside partials only) or False")


_parsing = threading.Lock()


def parse_expression(text: str) -> ast.Expression:
    """``ast.parse(text, mode="eval")``, one thread at a time.

    CPython before 3.11.8 and 3.12.1 keeps the state of the Python objects it
    builds for a tree in one place per interpreter, so two threads parsing at
    once can raise ``SystemError: AST constructor recursion depth mismatch``.
    """
    with _parsing:
        return ast.parse(text, mode="eval")


def _formula_problems(where: str, i: int, formula: Any) -> Any:
    if not isinstance(formula, str):
        yield TypeError(f"{where}: formulas[{i}] must be a string, a Python expression such as "
                        f"'3 * x**2', not {type(formula).__name__}")
        return
    try:
        parse_expression(formula)
    except SyntaxError as error:
        yield ValueError(f"{where}: formulas[{i}] = {formula!r} is not a Python expression "
                         f"({error.msg}); write the partial as Python over x, y, out, e.g. '1 - out**2'")


def real_number(value: Any) -> float | None:
    """A real number (Python's or NumPy's) as a float; None for anything else (bool and complex too).

    A whole number too big for a float raises ``OverflowError``.
    """
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape}"
    return f"{type(value).__name__} {value!r:.40}"


def checked_forward(p: Primitive, result: Any) -> float:
    """What a forward rule returned, as a float; :class:`RuleError` naming the primitive if not a real number.

    The nodes of a graph hold floats only: a complex number, an array, a bool or
    a Value stored as data would flow on into every later result.
    """
    try:
        number = real_number(result)
    except OverflowError:
        number = math.inf  # a whole number too big for a float: the caller refuses it as not finite
    if number is None:
        raise RuleError(f"{p.name}'s forward rule returned {_kind(result)}; it must return a real number "
                        "(a float), e.g. with math functions on floats")
    return number


def checked_array_forward(p: Primitive, result: Any, args: Sequence[np.ndarray]) -> np.ndarray:
    """What a primitive's ``array_forward`` returned on ``args``, or :class:`RuleError` naming it.

    Compiled mode writes the result into the rows of a group of nodes: it must
    be a real array of the inputs' (broadcast) shape, one number per node and
    sample, or NumPy would broadcast one sample's number over the batch or drop
    an imaginary part, silently.  The built-in primitives are trusted.
    """
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    if isinstance(result, np.ndarray) and result.dtype.kind in "fiu" and result.shape == shape:
        return result
    kind = _kind(result) + (f" of {result.dtype}" if isinstance(result, np.ndarray) else "")
    raise RuleError(f"{p.name}'s array_forward returned {kind} for inputs of shape {shape}; it must return "
                    "a float array of that shape, computed elementwise (one number per input)")


def is_built_in(p: Primitive) -> bool:
    """Whether ``p`` is one of the table's own primitives (whose rules are trusted and tested here)."""
    return p.name in _BUILT_IN and PRIMITIVES.get(p.name) is p


def checked_partial(p: Primitive, i: int, result: Any, m: Any) -> Any:
    """What partial ``i`` returned on the numbers of namespace ``m``, converted, or :class:`RuleError`.

    Every path that runs a partial passes through here (the float sweep only
    when a partial did not return a float): ``None`` (a forgotten ``return``),
    strings, lists, complex numbers and arrays where floats were swept are
    refused, never read as 0 or multiplied on.
    """
    accepted = m.accept(result)
    if accepted is not None:
        return accepted
    return _refuse(p, i, result, m)


def _refuse(p: Primitive, i: int, result: Any, m: Any) -> Any:
    what = f"the partial of {p.name} by {p.input_name(i)} ({p.formula(i)})"
    if result is None:
        raise RuleError(f"{what} returned None: a forgotten `return`? It must return {m.wanted}")
    raise RuleError(f"{what} returned {_kind(result)}; on {m.kind} it must return {m.wanted}. Write it "
                    "with plain arithmetic and the namespace it is given (m.cos(x), m.log(x))")


# -- the elementary functions partials are written in ---------------------------------


class FLOATS:
    """Elementary functions on Python floats (the backward sweep)."""

    kind, wanted = "floats", "a real number (a float)"
    #: What a partial returned, as a float, or None if it is not a real number.
    accept = staticmethod(real_number)

    log = staticmethod(math.log)
    exp = staticmethod(math.exp)
    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)
    sqrt = staticmethod(math.sqrt)
    hypot = staticmethod(math.hypot)

    @staticmethod
    def floor(x: float) -> float:
        """The largest whole number <= x, as a float (a step function: its slope is 0)."""
        return float(math.floor(x))

    @staticmethod
    def step(x: float) -> float:
        """1 where x > 0, else 0 (relu's slope; 0 at 0)."""
        return 1.0 if x > 0.0 else 0.0

    @staticmethod
    def at_least(x: float, y: float) -> float:
        """1 where x >= y, else 0 (max's slope by x; ties go to x)."""
        return 1.0 if x >= y else 0.0

    @staticmethod
    def one_if_zero(x: float) -> float:
        """x, or 1 where x = 0: pow's slope by the exponent takes its log, never log(0)."""
        return 1.0 if x == 0.0 else x

    @staticmethod
    def sign(x: float) -> float:
        """-1, 0 or 1 (abs's slope; 0 at 0, as autograd and PyTorch choose)."""
        return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0



def _real_array(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value if value.dtype.kind == "f" else value.astype(float) if value.dtype.kind in "iu" else None
    return real_number(value)


class ARRAYS:
    """Elementary functions on NumPy arrays (compiled mode), elementwise."""

    kind, wanted = "NumPy arrays", "a float array of the inputs' shape, or one real number"
    accept = staticmethod(_real_array)

    log = staticmethod(np.log)
    exp = staticmethod(np.exp)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    sqrt = staticmethod(np.sqrt)
    hypot = staticmethod(np.hypot)
    floor = staticmethod(np.floor)
    sign = staticmethod(np.sign)

    @staticmethod
    def step(x: np.ndarray) -> np.ndarray:
        return (x > 0).astype(x.dtype)

    @staticmethod
    def at_least(x: Any, y: Any) -> np.ndarray:
        return (np.asarray(x) >= np.asarray(y)).astype(float)

    @staticmethod
    def one_if_zero(x: np.ndarray) -> np.ndarray:
        return x + (x == 0)  # adds exactly 0 where x is not 0, keeping x's dtype


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
_registering = threading.Lock()


def register(primitive: Primitive, replace: bool = False) -> Primitive:
    """Add a primitive to :data:`PRIMITIVES`, so every tool that enumerates the table knows it.

    Names are unique.  ``replace=True`` replaces an earlier registration of
    the same name (so a notebook cell that defines a rule can be run again
    after fixing it); the built-in primitives cannot be replaced.  Graphs
    built with the old entry keep it: their nodes hold the primitive itself,
    not its name.  The primitive itself was checked when it was made.
    Readers that enumerate the table take a copy first (``tuple(PRIMITIVES.items())``),
    so registering while other threads compute is safe.
    """
    if not isinstance(primitive, Primitive):
        raise TypeError(f"register() takes a Primitive, not {type(primitive).__name__}")
    name = primitive.name
    if name in _BUILT_IN:
        raise ValueError(f"{name!r} is a built-in primitive and cannot be replaced; choose another name")
    with _registering:  # the check and the change at once, whatever other threads register
        if name in PRIMITIVES and not replace:
            raise ValueError(
                f"a primitive named {name!r} is already registered; pass replace=True to replace it"
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
    domain="all real numbers",
))
MUL = _built_in(Primitive(
    name="mul", symbol="*", arity=2, precedence=MULTIPLICATIVE,
    forward=operator.mul, array_forward=np.multiply,
    partials=(second_input, first_input), formulas=("y", "x"),
    domain="all real numbers",
))
NEG = _built_in(Primitive(
    name="neg", symbol="-", arity=1, precedence=UNARY,
    forward=operator.neg, array_forward=np.negative,
    partials=(lambda a, out, m: -1.0,), formulas=("-1",),
    domain="all real numbers",
))
POW = _built_in(Primitive(
    name="pow", symbol="**", arity=2, precedence=POWER,
    forward=_pow, array_forward=np.power,
    # Selects, not branches on the numbers, so a recorded gradient holds for every input:
    # by x: y * x**(y-1), whose exponent is read as 0 where y = 0 (x**0 is flat, even at x = 0
    # where x**-1 is undefined); by y: out * log(x), and 0 at x = 0 (where out is 0 for every
    # admitted y), since log(1) = 0.
    partials=(lambda a, out, m: a[1] * a[0] ** (m.one_if_zero(a[1]) - 1.0),
              lambda a, out, m: out * m.log(m.one_if_zero(a[0]))),
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
    domain="all real numbers",
))
COS = _built_in(Primitive(
    name="cos", symbol="cos", arity=1,
    forward=math.cos, array_forward=np.cos,
    partials=(lambda a, out, m: -m.sin(a[0]),), formulas=("-sin(x)",),
    domain="all real numbers",
))
TANH = _built_in(Primitive(
    name="tanh", symbol="tanh", arity=1,
    forward=math.tanh, array_forward=np.tanh,
    partials=(lambda a, out, m: 1.0 - out * out,), formulas=("1 - out**2",),
    domain="all real numbers",
))
SIGMOID = _built_in(Primitive(
    name="sigmoid", symbol="σ", arity=1,
    forward=_sigmoid, array_forward=_array_sigmoid,
    partials=(lambda a, out, m: out * (1.0 - out),), formulas=("out * (1 - out)",),
    domain="all real numbers",
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
    domain="all real numbers",
))

# -- trigonometry's other half, sign, floor and the remainder ------------------------------------
# NumPy's names, so that np.arcsin(a) on an array of Values calls Value.arcsin.  Partials
# are arithmetic and the namespace's functions only: no branch on a number, so the same
# rule runs on floats, arrays and recorded Values (floor and sign record, with partial 0).


def _zero(args: Sequence[Any], out: Any, m: Any) -> float:
    """The partial 0 of a step function (sign, floor): flat wherever it is differentiable."""
    return 0.0


def _remainder(x: float, y: float) -> float:
    """x % y as Python and NumPy define it: x - y * floor(x / y), the sign of y."""
    return x % y  # raises ZeroDivisionError for y = 0


def _whole_apart(a: Sequence[float]) -> bool:
    """x / y is well away from a whole number (where x % y jumps), and y well away from 0."""
    x, y = a
    if abs(y) < 0.2:
        return False
    fraction = x / y - math.floor(x / y)
    return 0.05 < fraction < 0.95


def _over_square_of_norm(z: Any, a: Sequence[Any], m: Any) -> Any:
    """z / (x**2 + y**2), divided by the norm twice so that no square overflows (x = y = 1e300 is fine)."""
    norm = m.hypot(a[0], a[1])
    return z / norm / norm


TAN = _built_in(Primitive(
    name="tan", symbol="tan", arity=1,
    forward=math.tan, array_forward=np.tan,
    partials=(lambda a, out, m: 1.0 + out * out,), formulas=("1 + out**2",),
    domain="x not an odd multiple of pi/2 (where tan is infinite)",
    safe=lambda a: abs(math.cos(a[0])) > 0.2,
))
ARCSIN = _built_in(Primitive(
    name="arcsin", symbol="arcsin", arity=1,
    forward=math.asin, array_forward=np.arcsin,
    partials=(lambda a, out, m: 1.0 / m.sqrt(1.0 - a[0] * a[0]),), formulas=("1/sqrt(1 - x**2)",),
    domain="-1 <= x <= 1 (at -1 and 1 the slope is infinite, so gradients need -1 < x < 1)",
    safe=lambda a: abs(a[0]) < 0.8,
))
ARCCOS = _built_in(Primitive(
    name="arccos", symbol="arccos", arity=1,
    forward=math.acos, array_forward=np.arccos,
    partials=(lambda a, out, m: -1.0 / m.sqrt(1.0 - a[0] * a[0]),), formulas=("-1/sqrt(1 - x**2)",),
    domain="-1 <= x <= 1 (at -1 and 1 the slope is infinite, so gradients need -1 < x < 1)",
    safe=lambda a: abs(a[0]) < 0.8,
))
ARCTAN = _built_in(Primitive(
    name="arctan", symbol="arctan", arity=1,
    forward=math.atan, array_forward=np.arctan,
    partials=(lambda a, out, m: 1.0 / (1.0 + a[0] * a[0]),), formulas=("1/(1 + x**2)",),
    domain="all real numbers",
))
ARCTAN2 = _built_in(Primitive(
    name="arctan2", symbol="arctan2", arity=2,
    forward=math.atan2, array_forward=np.arctan2,
    partials=(lambda a, out, m: _over_square_of_norm(a[1], a, m),
              lambda a, out, m: -_over_square_of_norm(a[0], a, m)),
    formulas=("y/(x**2 + y**2)", "-x/(x**2 + y**2)"),
    domain="any (x, y), the angle of the point (y, x); gradients need (x, y) != (0, 0), and the angle "
           "jumps by 2 pi across x = 0 where y < 0",
    safe=lambda a: a[0] * a[0] + a[1] * a[1] > 0.04 and (a[1] > 0.0 or abs(a[0]) > 0.2),
))
SIGN = _built_in(Primitive(
    name="sign", symbol="sign", arity=1,
    forward=FLOATS.sign, array_forward=np.sign,
    partials=(_zero,), formulas=("0",),
    domain="all real numbers (a step: the partial is 0, also at 0 where it jumps)",
    safe=lambda a: abs(a[0]) > 1e-3,
))
FLOOR = _built_in(Primitive(
    name="floor", symbol="floor", arity=1,
    forward=FLOATS.floor, array_forward=np.floor,
    partials=(_zero,), formulas=("0",),
    domain="all real numbers (a staircase: the partial is 0, also at whole numbers where it jumps)",
    safe=lambda a: 0.05 < a[0] - math.floor(a[0]) < 0.95,
))
MOD = _built_in(Primitive(
    name="mod", symbol="%", arity=2, precedence=MULTIPLICATIVE,
    forward=_remainder, array_forward=np.remainder,
    partials=(one, lambda a, out, m: -m.floor(a[0] / a[1])), formulas=("1", "-floor(x / y)"),
    domain="y != 0 (x % y jumps where x / y is a whole number; the partials there are those of the "
           "piece that starts there)",
    safe=_whole_apart,
))

# -- helpers: the non-smooth pieces of other primitives' partials -----------------------------
# relu's slope is a step, max's a comparison, pow's slopes read a select (never log(0), never 0**-1).
# Written as primitives (flat: partial 0), a partial on Values records them as nodes instead of
# reading a number, so a gradient graph holds for every input, not just the one it was recorded at
# (compiled mode replays such graphs over whole batches).  Users do not write them: see operations().

STEP = _built_in(Primitive(
    name="step", symbol="step", arity=1,
    forward=FLOATS.step, array_forward=ARRAYS.step,
    partials=(_zero,), formulas=("0",),
    domain="all real numbers (1 where x > 0, else 0: relu's slope; the partial is 0, also at 0 where it "
           "jumps)",
    safe=lambda a: abs(a[0]) > 1e-3, helper=True,
))
AT_LEAST = _built_in(Primitive(
    name="at_least", symbol="at_least", arity=2,
    forward=FLOATS.at_least, array_forward=ARRAYS.at_least,
    partials=(_zero, _zero), formulas=("0", "0"),
    domain="all real numbers (1 where x >= y, else 0: max's slope by x; the partials are 0, also where "
           "x = y where it jumps)",
    safe=lambda a: abs(a[0] - a[1]) > 1e-3, helper=True,
))
ONE_IF_ZERO = _built_in(Primitive(
    name="one_if_zero", symbol="one_if_zero", arity=1,
    forward=FLOATS.one_if_zero, array_forward=ARRAYS.one_if_zero,
    # 1 except at 0, where the select holds the constant 1: sign(x)**2, without a branch on x.
    partials=(lambda a, out, m: m.sign(a[0]) * m.sign(a[0]),), formulas=("1 if x != 0 else 0",),
    domain="all real numbers (x, or 1 where x = 0: pow's partial by the exponent takes its log, the "
           "one by the base its exponent minus 1; it jumps at 0, where the partial is 0)",
    safe=lambda a: abs(a[0]) > 1e-3, helper=True,
))


def operations() -> dict[str, Primitive]:
    """The primitives users write, by name: the table without its helpers (a copy).

    Random graphs, exercises and the expression grammar draw from these; a
    helper (``step``, ``at_least``, ``one_if_zero``) appears only inside
    gradient graphs, where partials record it.
    """
    # A copy first (one C-level step): another thread may register a primitive meanwhile.
    return {name: op for name, op in tuple(PRIMITIVES.items()) if not op.helper}


def _constant_op() -> Primitive:
    """The op of constants: the one primitive with no inputs, so it is made past the contract's checks."""
    op = object.__new__(Primitive)
    fields = dict(name="const", symbol="const", arity=0, forward=float, array_forward=np.asarray,
                  partials=(), formulas=(), precedence=ATOM, domain="", safe=lambda args: True,
                  helper=False)
    for field, value in fields.items():
        object.__setattr__(op, field, value)
    return op


#: The op of a constant: a number that entered the graph through arithmetic
#: (the 2 in ``x * 2``).  It has no inputs and never receives a gradient.  It is
#: not in :data:`PRIMITIVES` because there is nothing to differentiate.
CONSTANT = _constant_op()
