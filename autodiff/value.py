"""`Value`: one number that remembers how it was computed.

A Value holds its number (``data``), the gradient a backward pass gave it
(``grad``), the Values it was computed from (``parents``, an ordered tuple), the
primitive that computed it (``primitive``), an optional ``label`` and the
``scope`` (the name of the nn module, if any) it was created in.  A node stores
its op and parents as plain data, never a closure, so graphs hold no reference
cycles (dropping the root frees them at once) and can be inspected, drawn and
replayed.

Whether operations record, and the scope new nodes get, is the recording
context of the thread that makes them (:mod:`autodiff.context`).
"""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

import numpy as np

from . import clock
from .backward import backward as run_backward
from .backward import zero_grad
from .context import OPEN_BLOCKS, anomaly, anomaly_mode, blame, current, no_grad, recording, scope, site  # noqa: F401 - importable from here too
from .errors import DivisionByZeroError, DomainError, GraphError, NonFiniteError
from .naming import describe as _describe
from .naming import operands as _operands
from .naming import printed
from .primitives import (
    ABS,
    ADD,
    ARCCOS,
    ARCSIN,
    ARCTAN,
    ARCTAN2,
    AT_LEAST,
    CONSTANT,
    COS,
    EXP,
    FLOATS,
    FLOOR,
    LOG,
    LOG1P,
    MAX,
    MOD,
    MUL,
    NEG,
    ONE_IF_ZERO,
    POW,
    RELU,
    SIGMOID,
    SIGN,
    SIN,
    SQRT,
    STEP,
    SUM,
    TAN,
    TANH,
    Primitive,
    checked_forward,
    real_number,
)
from .ufuncs import call_ufunc


class Value:
    """A scalar in a computation graph.

    >>> x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.8813735870195432, label="b")
    >>> o = (x * w + b).tanh()
    >>> o.backward()
    >>> round(x.grad, 6), round(w.grad, 6)
    (-1.5, 1.0)
    >>> x
    Value(data=2.0, grad=-1.5, label='x')

    Arithmetic accepts Python and NumPy numbers on either side.  Comparisons
    (``<``, ``<=``, ``>``, ``>=``) compare ``data`` and return a plain ``bool``:
    they are not recorded and have no derivative.  ``==`` between Values and
    hashing are by identity, so Values can be kept in sets and dicts as graph
    nodes; ``v == 3.0`` raises ``TypeError`` (write ``v.data == 3.0``).  A Value
    never turns into a plain number by itself (``float(v)``, ``int(v)``,
    ``round(v)``, ``math.exp(v)``, ``if v:`` raise ``TypeError``): read
    ``v.data`` or ``v.item()`` on purpose.  A format spec formats the number
    (``f"{loss:.4f}"``); ``f"{v}"`` is the repr.
    """

    # The operands live in slots, not in a tuple per node: a network is mostly
    # binary nodes, and one garbage-collected object per node instead of two
    # halves the work of Python's cycle collector while a graph is being built.
    # _x and _y hold the operands of a node with one or two (its op's arity
    # says which); _many holds the tuple of a node with more (sum).
    __slots__ = ("_data", "_grad", "_x", "_y", "_many", "_op", "label", "_created", "scope",
                 "_mark", "_up", "_assigned", "_site")
    #: The elementary functions partials use on Values (set below, once VALUES exists).
    FUNCTIONS: Any = None

    def __init__(self, data: float, label: str | None = None) -> None:
        if type(data) is not float or data - data != 0.0:  # the common case skips the call
            data = checked_number(data, "Value()", label)
        _write(self, data, label, None, None, None, None)

    # -- what a node is (the protocol every view reads) ----------------------

    def _assign_data(self, value: float) -> None:
        if self._op is not None:
            what = "a constant" if self._op is CONSTANT else f"computed by {self._op.name} from its inputs"
            raise GraphError(
                f"cannot assign .data of {_describe(self)}: it is {what}, so its number must follow "
                "from the graph. Assign a leaf's data and run the forward pass again, or make a new "
                "leaf with .detach()"
            )
        self._data = checked_number(value, "setting .data", self.label)
        self._assigned = clock.last_assignment = _tick()

    def _assign_grad(self, value: Any) -> None:
        # The engine writes _grad itself (backward.py); only an assignment from outside pays for this check.
        if type(value) is float and value - value == 0.0 or value is None or isinstance(value, Value):
            self._grad = value
            return
        number = _real(value)
        if number is None:
            raise TypeError(f"cannot assign {type(value).__name__} ({value!r:.60}) to .grad of "
                            f"{_describe(self)}: a gradient is a finite real number, a Value "
                            "(create_graph) or None (no gradient yet)")
        if number - number != 0.0:
            raise NonFiniteError(f"cannot assign {number!r} to .grad of {_describe(self)}: a gradient "
                                 "must be finite; assign None or 0.0 to reset it")
        self._grad = number

    # Read through attrgetter, a C function: no Python frame per read of the two fields every loop reads.
    data = property(attrgetter("_data"), _assign_data, doc="""The number this node holds.

        Only a leaf's data can be assigned (an optimizer step, a what-if): a
        computed node's number follows from its parents, and assigning it would
        make every gradient through it wrong.  Backward refuses graphs whose
        leaves were assigned after a result was computed from them.
        """)
    grad = property(attrgetter("_grad"), _assign_grad, doc="""\
        d(root)/d(self) summed over the backward passes since the last reset.

        A float after ``backward()``, a recorded Value after
        ``backward(create_graph=True)``, or ``None``: "no gradient yet" (the
        PyTorch habit ``p.grad = None``), which the next pass treats as 0 and
        optimizers skip.  Assigning anything else that is not a finite number
        is refused here, so a NaN never waits in ``grad`` to be added to.
        """)

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands this node was computed from, in order (empty for leaves and constants)."""
        op = self._op
        if op is None or op is CONSTANT:
            return ()
        if op.arity == 2:
            return (self._x, self._y)
        if op.arity == 1:
            return (self._x,)
        return self._many

    @property
    def op(self) -> str:
        """Name of the primitive that computed this node: '' for a leaf, 'const' for a constant."""
        return "" if self._op is None else self._op.name

    @property
    def primitive(self) -> Primitive | None:
        """The table entry that computed this node (None for a leaf, ``CONSTANT`` for a constant)."""
        return self._op

    @property
    def is_leaf(self) -> bool:
        """True for a node made by ``Value(...)``: it has no parents and receives a gradient."""
        return self._op is None

    @property
    def is_constant(self) -> bool:
        """True for a number that entered the graph through arithmetic (the 2 in ``x * 2``)."""
        return self._op is CONSTANT

    @property
    def created(self) -> int:
        """Position in creation order: every node is created after its parents."""
        return self._created

    @property
    def site(self) -> str | None:
        """Where this node was made (file:line in function), if anomaly mode was on; else None."""
        return getattr(self, "_site", None)

    def item(self) -> float:
        """The number this node holds, as a plain float (the same as ``data``)."""
        return self._data

    def detach(self) -> Value:
        """A new leaf with the same number, cut off from this graph (no gradient flows back)."""
        return Value(self._data, self.label)

    def __repr__(self) -> str:
        text = f"Value(data={_short(self._data)}, grad={_short_grad(self._grad)}"
        if self._op is not None:
            text += f", op={self._op.name!r}"
        if self.label is not None:
            text += f", label={self.label!r}"
        return text + ")"

    def _repr_html_(self) -> str:
        """In a notebook: a small card (label, data, grad, op); see :mod:`autodiff.cards`."""
        from .cards import value_card

        return value_card(self)

    def __format__(self, spec: str) -> str:
        """``f"{v}"`` is the repr; a format spec formats the number (``f"{loss:.4f}"``)."""
        return format(self._data, spec) if spec else repr(self)

    def __float__(self) -> float:
        raise TypeError(
            f"{_describe(self)} cannot become a plain float by itself: float(v), math.exp(v) and "
            "np.float64(v) would drop it from the graph and its gradient would silently be wrong. "
            "Use the recorded operations (v.exp(), v.log(), v.sin(), ...), or read the number on "
            "purpose with v.data or v.item()"
        )

    def __int__(self) -> int:
        raise TypeError(
            f"{_describe(self)} cannot become a plain int by itself: int(v) would drop it from the graph. "
            "Read the number on purpose: int(v.data)"
        )

    def __round__(self, ndigits: int | None = None) -> float:
        raise TypeError(
            f"{_describe(self)} cannot be rounded by itself: round(v) would drop it from the graph. "
            f"Round the number on purpose: round(v.data{'' if ndigits is None else f', {ndigits}'})"
        )

    def conjugate(self) -> Value:
        """The complex conjugate of a real number: the Value itself (so ``np.var`` and ``np.std`` work)."""
        return self

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy functions on Values: ``np.exp(v)`` is ``v.exp()``, ``np.add(v, 2)`` is ``v + 2``.

        With an array among the inputs, the Value joins NumPy's loop over an
        object array and the result is an object array of Values (each element
        recorded); with Values and numbers only, the result is one Value.  A
        function with no recorded counterpart is a TypeError naming what to use.

        >>> x = Value(0.5)
        >>> np.exp(x).op, (np.array([1.0, 2.0]) * x)[1].data
        ('exp', 1.0)
        """
        return call_ufunc(ufunc, method, inputs, kwargs, Value, _operand)

    def __bool__(self) -> bool:
        raise TypeError(
            f"the truth of {_describe(self)} is ambiguous: `if v:` would always be taken. "
            "Compare its number instead, e.g. `if v.data != 0:` or `if v > 0:`"
        )

    # -- backward ------------------------------------------------------------

    def backward(self, gradient: Any = 1.0, create_graph: bool = False) -> None:
        """Add d(self)/d(v) to ``v.grad`` for every node ``v`` of this graph.

        Gradients come from this pass alone, so a second call exactly doubles
        them; use :meth:`zero_grad` to start again.  ``gradient`` seeds the
        sweep (d(loss)/d(self) when this node is part of a larger computation).
        With ``create_graph`` every ``grad`` becomes a recorded Value, so it can
        be differentiated again (``x.grad.backward()`` gives second derivatives).
        """
        run_backward(self, gradient, create_graph)

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on every node of this graph."""
        zero_grad(self)

    # -- arithmetic ------------------------------------------------------------

    # + and * are nearly every node of a network: made by _infix (below), which
    # skips _binary's error handling (they cannot raise: an overflow is an inf,
    # which is refused like in _node).

    def __radd__(self, other: Any) -> Value:
        if type(other) is np.ndarray:
            return NotImplemented
        other = _operand(other, "+")
        return _node(_add(other._data, self._data), (other, self), ADD)

    def __rmul__(self, other: Any) -> Value:
        if type(other) is np.ndarray:
            return NotImplemented
        other = _operand(other, "*")
        return _node(_mul(other._data, self._data), (other, self), MUL)

    def __neg__(self) -> Value:
        return _apply(NEG, self)

    def __sub__(self, other: Any) -> Value:
        if isinstance(other, Value):
            return self + (-other)
        if isinstance(other, np.ndarray):
            return NotImplemented
        return self + _constant(-_as_float(other, "-"))

    def __rsub__(self, other: Any) -> Value:
        if isinstance(other, np.ndarray):
            return NotImplemented
        return _operand(other, "-") + (-self)

    def __truediv__(self, other: Any) -> Value:
        if isinstance(other, Value):
            _check_divisor(self, other)
            return self * other**-1
        if isinstance(other, np.ndarray):
            return NotImplemented
        divisor = _as_float(other, "/")
        if divisor == 0.0:
            raise blame(DivisionByZeroError(f"division by zero: {_describe(self)} / 0"))
        reciprocal = 1.0 / divisor
        if reciprocal - reciprocal != 0.0:  # a subnormal divisor: 1/divisor is inf
            raise blame(NonFiniteError(
                f"division of {_describe(self)} by {divisor!r}: x / y is computed as x * (1/y), "
                "and 1/y does not fit in a float"
            ))
        return self * _constant(reciprocal)

    def __rtruediv__(self, other: Any) -> Value:
        if isinstance(other, np.ndarray):
            return NotImplemented
        numerator = _operand(other, "/")
        _check_divisor(numerator, self)
        return numerator * self**-1

    def __pow__(self, other: Any) -> Value:
        if isinstance(other, np.ndarray):
            return NotImplemented
        exponent = _operand(other, "**")
        if exponent._op is not CONSTANT and (self._data < 0.0 or self._data == 0.0 and exponent._data <= 0.0):
            base = _describe(self) if self._op is CONSTANT else f"{_describe(self)} = {self._data!r}"
            raise blame(DomainError(
                f"pow: {base} raised to a Value power "
                f"({_describe(exponent)} = {exponent._data!r}); the derivative by the exponent is "
                "out * log(x), so the base must be > 0 (or 0 with a positive exponent). Use a plain "
                "number as the exponent if it is a constant."
            ))
        return _apply(POW, self, exponent)

    def __rpow__(self, other: Any) -> Value:
        if isinstance(other, np.ndarray):
            return NotImplemented
        base = _operand(other, "**")
        return base.__pow__(self)

    def __abs__(self) -> Value:
        return _apply(ABS, self)

    def abs(self) -> Value:
        """|self|; its partial at 0 is taken as 0."""
        return _apply(ABS, self)

    def exp(self) -> Value:
        """e ** self."""
        return _apply(EXP, self)

    def log(self) -> Value:
        """Natural logarithm (defined for data > 0)."""
        return _apply(LOG, self)

    def log1p(self) -> Value:
        """log(1 + self), accurate for small self (defined for data > -1)."""
        return _apply(LOG1P, self)

    def sqrt(self) -> Value:
        """Square root (defined for data >= 0; its slope at 0 is infinite)."""
        return _apply(SQRT, self)

    def sin(self) -> Value:
        """Sine (radians)."""
        return _apply(SIN, self)

    def cos(self) -> Value:
        """Cosine (radians)."""
        return _apply(COS, self)

    def tan(self) -> Value:
        """Tangent (radians); infinite at odd multiples of pi/2."""
        return _apply(TAN, self)

    def arcsin(self) -> Value:
        """Inverse sine, in [-pi/2, pi/2] (defined for -1 <= data <= 1)."""
        return _apply(ARCSIN, self)

    def arccos(self) -> Value:
        """Inverse cosine, in [0, pi] (defined for -1 <= data <= 1)."""
        return _apply(ARCCOS, self)

    def arctan(self) -> Value:
        """Inverse tangent, in (-pi/2, pi/2)."""
        return _apply(ARCTAN, self)

    def arctan2(self, other: Any) -> Value:
        """The angle of the point (other, self): arctan(self / other) in its quadrant (NumPy's order)."""
        return _binary(ARCTAN2, self, _operand(other, "arctan2"))

    def sign(self) -> Value:
        """-1, 0 or 1, recorded: a step, so its partial is 0."""
        return _apply(SIGN, self)

    def floor(self) -> Value:
        """The largest whole number <= self, recorded: a staircase, so its partial is 0."""
        return _apply(FLOOR, self)

    def __mod__(self, other: Any) -> Value:
        return _binary(MOD, self, _operand(other, "%"))

    def __rmod__(self, other: Any) -> Value:
        return _binary(MOD, _operand(other, "%"), self)

    def tanh(self) -> Value:
        """Hyperbolic tangent."""
        return _apply(TANH, self)

    def sigmoid(self) -> Value:
        """Logistic sigmoid 1 / (1 + e**-self), exact at +-1000."""
        return _apply(SIGMOID, self)

    def relu(self) -> Value:
        """max(0, self); its partial at 0 is taken as 0."""
        return _apply(RELU, self)

    def maximum(self, other: Any) -> Value:
        """The larger of self and other, recorded (the gradient goes to the larger; ties to self).

        Softmax and log-sum-exp shift by it to stay finite for any inputs.
        """
        return _binary(MAX, self, _operand(other, "maximum"))

    def minimum(self, other: Any) -> Value:
        """The smaller of self and other, recorded, as -max(-self, -other) (ties go to self)."""
        return -_binary(MAX, -self, -_operand(other, "minimum"))

    # -- comparisons (not differentiable, not recorded) ------------------------

    def __eq__(self, other: object) -> bool:
        # Nodes are dict keys and set members: between Values, == is identity.  Against a number
        # it would silently answer the wrong question (is this the same node?), so it is refused.
        if isinstance(other, Value):
            return self is other
        if isinstance(other, numbers.Number):
            raise TypeError(
                f"{_describe(self)} == {other!r}: == between a Value and a number is refused, since "
                "between Values it asks whether they are the same node. Compare the number on "
                f"purpose: v.data == {other!r}, or in a test v.data == pytest.approx({other!r})"
            )
        return NotImplemented

    __hash__ = object.__hash__  # by identity, as == between Values is

    def __lt__(self, other: Any) -> Any:
        if isinstance(other, np.ndarray):
            return NotImplemented
        return self._data < _compare(other)

    def __le__(self, other: Any) -> Any:
        if isinstance(other, np.ndarray):
            return NotImplemented
        return self._data <= _compare(other)

    def __gt__(self, other: Any) -> Any:
        if isinstance(other, np.ndarray):
            return NotImplemented
        return self._data > _compare(other)

    def __ge__(self, other: Any) -> Any:
        if isinstance(other, np.ndarray):
            return NotImplemented
        return self._data >= _compare(other)


def _infix(op: Primitive) -> Any:
    """``self <op> other`` for + and *: `_binary` and `_node` in one function, two calls fewer per node."""
    forward, symbol = op.forward, op.symbol

    def method(self: Value, other: Any) -> Value:
        if type(other) is not Value:
            if isinstance(other, np.ndarray):
                return NotImplemented  # NumPy's turn: the array's reflected operator calls __array_ufunc__
            other = _operand(other, symbol)
        out = forward(self._data, other._data)
        if out - out != 0.0:
            raise _not_finite(op, (self, other), out)
        return _write(_new(Value), out, None, op, self, other, None)

    method.__name__ = method.__qualname__ = f"__{op.name}__"
    method.__doc__ = f"self {symbol} other, recorded."
    return method


Value.__add__, Value.__mul__ = _infix(ADD), _infix(MUL)


def _lifted(name: str) -> Any:
    """An elementary function that records on a Value and computes plainly on a number."""
    plain = getattr(FLOATS, name)
    method = getattr(Value, name)
    return staticmethod(lambda x: method(x) if isinstance(x, Value) else plain(x))


def _helper(op: Primitive) -> Any:
    """A helper primitive of the table (relu's step...): recorded on Values, computed plainly on numbers.

    Recorded, not read off the Value's number: a gradient graph then holds for every input.
    """
    plain = op.forward
    return staticmethod(lambda *xs: apply(op, *xs) if any(isinstance(x, Value) for x in xs) else plain(*xs))


class VALUES:
    """The elementary functions partials are written in, on recorded Values (gradients of gradients).

    Constant operands arrive as plain numbers, so each function also takes numbers.
    """

    kind, wanted = "recorded Values", "a Value or a real number"

    @staticmethod
    def accept(value: Any) -> Any:
        """A partial's result: a Value as it is, a real number as a float, else None."""
        return value if isinstance(value, Value) else real_number(value)

    log, exp, sin, cos = _lifted("log"), _lifted("exp"), _lifted("sin"), _lifted("cos")
    sqrt, floor, sign = _lifted("sqrt"), _lifted("floor"), _lifted("sign")
    step, at_least, one_if_zero = _helper(STEP), _helper(AT_LEAST), _helper(ONE_IF_ZERO)

    @staticmethod
    def total(parts: list[Any]) -> Any:
        """A node's gradient contributions added: one recorded n-ary sum, or a float if all are numbers."""
        if any(isinstance(part, Value) for part in parts):
            return sum(parts)
        return builtins.sum(parts)

    @staticmethod
    def hypot(x: Any, y: Any) -> Any:
        """sqrt(x**2 + y**2), recorded (its squares overflow beyond 1e154, where the error says so)."""
        if not isinstance(x, Value) and not isinstance(y, Value):
            return FLOATS.hypot(x, y)
        return (x * x + y * y).sqrt()


Value.FUNCTIONS = VALUES


def sum(values: Iterable[Any]) -> Any:  # noqa: A001 - autodiff.sum mirrors the builtin
    """The sum of many values as one node with many parents.

    One n-ary node keeps graphs shallow: ``sum(w*x for ...)`` over 784 inputs
    is one node deep, not 784.  The sum of nothing is the plain number 0.0,
    as Python's ``sum([])`` is 0.

    >>> a, b, c = Value(1.0), Value(2.0), Value(3.0)
    >>> s = sum([a, b, c, 4])
    >>> s.data, len(s.parents)
    (10.0, 4)
    >>> sum([])
    0.0
    """
    parents = tuple(values)
    if not parents:
        return 0.0
    if set(map(type, parents)) != {Value}:  # one C-level look: are they all Values already?
        parents = tuple(_operand(v, "sum") for v in parents)
    return _apply(SUM, *parents)


def apply(op: Primitive, *operands: Any) -> Value:
    """Apply a primitive of the table to Values and numbers (numbers become constants).

    The operators and methods of :class:`Value` are this with a fixed op; a
    primitive of your own (see :func:`autodiff.register`) is applied this way.

    >>> from autodiff.primitives import PRIMITIVES
    >>> apply(PRIMITIVES["mul"], Value(3.0), 2).data
    6.0
    """
    if not isinstance(op, Primitive):
        raise TypeError(f"apply() takes a Primitive first, not {type(op).__name__}")
    if op.arity is not None and len(operands) != op.arity:
        raise TypeError(f"{op.name} takes {op.arity} inputs, got {len(operands)}")
    if not operands:
        raise TypeError(f"{op.name} needs at least one input")
    return _apply(op, *[_operand(x, op.name) for x in operands])


# -- building nodes ----------------------------------------------------------


def _apply(op: Primitive, *parents: Value) -> Value:
    """Run a primitive forward on its parents' data and record the node."""
    try:
        out = op.forward(*map(_data, parents))
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        raise _forward_error(op, parents, error) from None
    return _node(out, parents, op)


def _binary(op: Primitive, a: Value, b: Value) -> Value:
    """`_apply` for two inputs, without building an argument list (the hot path)."""
    try:
        out = op.forward(a._data, b._data)
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        raise _forward_error(op, (a, b), error) from None
    return _node(out, (a, b), op)


def _node(out: float, parents: tuple[Value, ...], op: Primitive) -> Value:
    if type(out) is not float:  # a user's forward rule may return anything: nodes hold floats
        out = checked_forward(op, out)
    if out - out != 0.0:  # inf - inf and nan - nan are nan: cheaper than isfinite
        raise _not_finite(op, parents, out)
    arity = op.arity
    if arity == 2:
        x, y = parents
        return _write(_new(Value), out, None, op, x, y, None)
    if arity == 1:
        return _write(_new(Value), out, None, op, parents[0], None, None)
    return _write(_new(Value), out, None, op, None, None, parents)


def _write(node: Value, data: float, label: str | None, op: Primitive | None,
           x: Value | None, y: Value | None, many: tuple[Value, ...] | None) -> Value:
    """The one writer of a node's fields: a leaf (op None), a constant (op CONSTANT) or an op's result.

    The operands arrive in the slots the op's arity uses (see Value's slots):
    ``x`` and ``y`` for one or two, ``many`` for more.  While some thread is
    inside no_grad, scope or anomaly (rare), this thread's context gives the
    scope and the creation site, and whether the op is recorded: outside
    recording, its result is a leaf that keeps no operands alive.
    """
    node._data = data
    node._grad = 0.0
    node.label = label
    node._created = next(_ticks)
    node._mark = None
    if OPEN_BLOCKS.count:
        records, node.scope, with_site = current()
        if with_site:
            node._site = site()
        if not records and op is not CONSTANT:
            op = x = y = many = None
    else:
        node.scope = None
    node._x = x
    node._y = y
    node._many = many
    node._op = op
    return node


def _not_finite(op: Primitive, parents: tuple[Value, ...], out: float) -> Exception:
    return blame(NonFiniteError(
        f"{op.name} gave {out!r} for {_operands(op, parents)}: the result does not fit in a float"
    ))


_new = object.__new__
_tick = clock.tick
_ticks = clock.counter
_add, _mul = ADD.forward, MUL.forward
_data = attrgetter("_data")


def _constant(number: float) -> Value:
    return _write(_new(Value), number, None, CONSTANT, None, None, None)


def _operand(other: Any, symbol: str) -> Value:
    """``other`` as a node: a Value as it is, a number as a new constant (`_constant`, a call fewer)."""
    if isinstance(other, Value):
        return other
    return _write(_new(Value), _as_float(other, symbol), None, CONSTANT, None, None, None)


_real = real_number


def _as_float(other: Any, symbol: str) -> float:
    number = _real(other)
    if number is None:
        raise TypeError(
            f"unsupported operand for {symbol!r} with a Value: {type(other).__name__} "
            f"({other!r:.60}); use a Value or a real number"
        )
    if number - number != 0.0:
        raise blame(NonFiniteError(f"the constant {number!r} in {symbol!r} is not finite"))
    return number


def _compare(other: Any) -> float:
    return other._data if isinstance(other, Value) else _as_float(other, "comparison")


def checked_number(data: Any, where: str, label: str | None) -> float:
    """``data`` as a float a leaf can hold, or the error saying why not (``where`` and ``label`` name it)."""
    number = _real(data)
    if number is not None and number - number == 0.0:
        return number
    where += f" (label {label!r})" if label is not None else ""
    if isinstance(data, Value):
        raise TypeError(f"{where}: got a Value; pass its .data to make a new leaf")
    if number is None:
        raise TypeError(f"{where}: data must be a real number, not {type(data).__name__}")
    raise NonFiniteError(f"{where}: data must be finite, got {number!r}")


def _check_divisor(numerator: Value, divisor: Value) -> None:
    if divisor._data == 0.0:
        raise blame(DivisionByZeroError(
            f"division by zero: {_describe(numerator)} / {_describe(divisor)}, which is 0.0"
        ))


# -- messages -----------------------------------------------------------------


def _forward_error(op: Primitive, parents: tuple[Value, ...], error: Exception) -> Exception:
    reason = str(error)
    # Python's own "math domain error" adds nothing to the domain we state.
    reason = "" if reason in ("", "math domain error") else f": {reason}"
    text = f"{op.name} is undefined for {_operands(op, parents)}{reason}; {op.needs()}"
    if isinstance(error, OverflowError):
        return blame(NonFiniteError(f"{op.name} overflowed for {_operands(op, parents)}; {op.needs()}"))
    if isinstance(error, ZeroDivisionError):
        return blame(DivisionByZeroError(text))
    return blame(DomainError(text))


def _short(x: float) -> str:
    text = printed(x)
    return text + ".0" if text.lstrip("-").isdigit() else text  # 2.0, not 2: data is a float


def _short_grad(grad: Any) -> str:
    """A grad: a number, a Value after backward(create_graph=True) (shown by its number), or None."""
    if grad is None:
        return "None"
    return _short(grad) if not isinstance(grad, Value) else f"Value({_short(grad._data)})"
