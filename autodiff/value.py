"""`Value`: one number that remembers how it was computed.

A Value holds its number (``data``), the gradient a backward pass gave it
(``grad``), the Values it was computed from (``parents``, an ordered tuple), the
primitive that computed it (``op``), an optional ``label`` and the ``scope`` (the
name of the nn module, if any) it was created in.  A node stores
its op and parents as plain data, never a closure, so graphs hold no reference
cycles (dropping the root frees them at once) and can be inspected, drawn and
replayed.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from . import backward as _backward
from . import clock
from .errors import DivisionByZeroError, DomainError, NonFiniteError
from .messages import describe as _describe
from .messages import number
from .messages import operands as _operands
from .primitives import (
    ADD,
    CONSTANT,
    EXP,
    LOG,
    MAX,
    MUL,
    NEG,
    POW,
    RELU,
    SIGMOID,
    SUM,
    TANH,
    Primitive,
)

_recording = True
_scope: str | None = None


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
    they are not recorded and have no derivative.  ``==`` and hashing are by
    identity, so Values can be kept in sets and dicts as graph nodes.
    """

    __slots__ = ("_data", "grad", "_parents", "_op", "label", "_tick", "_up", "_mark", "scope", "__weakref__")
    # Stop NumPy from broadcasting Values into object arrays: `array * value`
    # then reaches __rmul__, which rejects the array with a clear TypeError.
    __array_ufunc__ = None

    def __init__(self, data: float, label: str | None = None) -> None:
        self._data = _checked_number(data, "Value()", label)
        self.grad = 0.0
        self._parents: tuple[Value, ...] = ()
        self._op: Primitive | None = None
        self.label = label
        self._tick = _tick()
        self._mark = None
        self.scope = _scope

    # -- what a node is ------------------------------------------------------

    @property
    def data(self) -> float:
        """The number this node holds."""
        return self._data

    @data.setter
    def data(self, value: float) -> None:
        self._data = _checked_number(value, "setting .data", self.label)
        self._tick = clock.last_assignment = _tick()

    @property
    def created(self) -> int:
        """Creation order: larger for nodes made later (read-only)."""
        return self._tick

    @property
    def parents(self) -> tuple[Value, ...]:
        """The inputs this node was computed from, in order (empty for leaves)."""
        return self._parents

    @property
    def op(self) -> str:
        """Name of the primitive that computed this node: '' for a leaf, 'const' for a constant."""
        return "" if self._op is None else self._op.name

    @property
    def primitive(self) -> Primitive | None:
        """The table entry that computed this node (None for a leaf)."""
        return self._op

    def __repr__(self) -> str:
        text = f"Value(data={_short(self._data)}, grad={_short(self.grad)}"
        if self._op is not None:
            text += f", op={self._op.name!r}"
        if self.label is not None:
            text += f", label={self.label!r}"
        return text + ")"

    def __float__(self) -> float:
        return self._data

    # -- backward ------------------------------------------------------------

    def backward(self) -> None:
        """Add d(self)/d(v) to ``v.grad`` for every node ``v`` of this graph.

        Gradients come from this pass alone, so a second call exactly doubles
        them; use :meth:`zero_grad` to start again.
        """
        _backward.backward(self)

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on every node of this graph."""
        _backward.zero_grad(self)

    # -- arithmetic ------------------------------------------------------------

    def __add__(self, other: Any) -> Value:
        return _binary(ADD, self, other if type(other) is Value else _operand(other, "+"))

    def __radd__(self, other: Any) -> Value:
        return _binary(ADD, _operand(other, "+"), self)

    def __mul__(self, other: Any) -> Value:
        return _binary(MUL, self, other if type(other) is Value else _operand(other, "*"))

    def __rmul__(self, other: Any) -> Value:
        return _binary(MUL, _operand(other, "*"), self)

    def __neg__(self) -> Value:
        return _apply(NEG, self)

    def __sub__(self, other: Any) -> Value:
        if isinstance(other, Value):
            return self + (-other)
        return self + _constant(-_number(other, "-"))

    def __rsub__(self, other: Any) -> Value:
        return _operand(other, "-") + (-self)

    def __truediv__(self, other: Any) -> Value:
        if isinstance(other, Value):
            _check_divisor(self, other)
            return self * other**-1
        divisor = _number(other, "/")
        if divisor == 0.0:
            raise DivisionByZeroError(f"division by zero: {_describe(self)} / 0")
        reciprocal = 1.0 / divisor
        if reciprocal - reciprocal != 0.0:  # a subnormal divisor: 1/divisor is inf
            raise NonFiniteError(
                f"division of {_describe(self)} by {divisor!r}: x / y is computed as x * (1/y), "
                "and 1/y does not fit in a float"
            )
        return self * _constant(reciprocal)

    def __rtruediv__(self, other: Any) -> Value:
        numerator = _operand(other, "/")
        _check_divisor(numerator, self)
        return numerator * self**-1

    def __pow__(self, other: Any) -> Value:
        exponent = _operand(other, "**")
        if exponent._op is not CONSTANT and self._data <= 0.0:
            base = _describe(self) if self._op is CONSTANT else f"{_describe(self)} = {self._data!r}"
            raise DomainError(
                f"pow: {base} raised to a Value power "
                f"({_describe(exponent)}); the derivative by the exponent is "
                "out * log(x), so the base must be > 0. Use a plain number as the "
                "exponent if it is a constant."
            )
        return _apply(POW, self, exponent)

    def __rpow__(self, other: Any) -> Value:
        base = _operand(other, "**")
        return base.__pow__(self)

    def exp(self) -> Value:
        """e ** self."""
        return _apply(EXP, self)

    def log(self) -> Value:
        """Natural logarithm (defined for data > 0)."""
        return _apply(LOG, self)

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

    # -- comparisons (not differentiable, not recorded) ------------------------

    def __lt__(self, other: Any) -> bool:
        return self._data < _compare(other)

    def __le__(self, other: Any) -> bool:
        return self._data <= _compare(other)

    def __gt__(self, other: Any) -> bool:
        return self._data > _compare(other)

    def __ge__(self, other: Any) -> bool:
        return self._data >= _compare(other)


def sum(values: Iterable[Any]) -> Value:  # noqa: A001 - autodiff.sum mirrors the builtin
    """The sum of many values as one node with many parents.

    One n-ary node keeps graphs shallow: ``sum(w*x for ...)`` over 784 inputs
    is one node deep, not 784.

    >>> a, b, c = Value(1.0), Value(2.0), Value(3.0)
    >>> s = sum([a, b, c, 4])
    >>> s.data, len(s.parents)
    (10.0, 4)
    """
    parents = tuple(_operand(v, "sum") for v in values)
    if not parents:
        raise ValueError("autodiff.sum() needs at least one value")
    return _apply(SUM, *parents)


def apply(op: Primitive, *operands: Any) -> Value:
    """Apply any primitive of the table to Values and numbers (numbers become constants).

    The operators and methods of :class:`Value` are this with a fixed op; tools
    that enumerate the table (the test strategies, the expression parser) use
    it directly.

    >>> from autodiff.primitives import PRIMITIVES
    >>> apply(PRIMITIVES["mul"], Value(3.0), 2).data
    6.0
    """
    if op.arity is not None and len(operands) != op.arity:
        raise TypeError(f"{op.name} takes {op.arity} inputs, got {len(operands)}")
    if not operands:
        raise TypeError(f"{op.name} needs at least one input")
    return _apply(op, *[_operand(x, op.name) for x in operands])


@contextmanager
def no_grad() -> Iterator[None]:
    """Within this block operations return plain leaves: nothing is recorded.

    >>> x = Value(3.0)
    >>> with no_grad():
    ...     y = x * x
    >>> y.data, y.parents
    (9.0, ())
    """
    global _recording
    before = _recording
    _recording = False
    try:
        yield
    finally:
        _recording = before


@contextmanager
def scope(name: str | None) -> Iterator[None]:
    """Values created within this block record ``name`` as their ``scope``.

    nn modules use it so that every node a layer creates carries the layer's
    name (``layers.0.neurons.3``), which drawings and the stepper group by.

    >>> with scope("layer1"):
    ...     y = Value(2.0) * 3
    >>> y.scope
    'layer1'
    """
    global _scope
    before = _scope
    _scope = name
    try:
        yield
    finally:
        _scope = before


# -- building nodes ----------------------------------------------------------


def _apply(op: Primitive, *parents: Value) -> Value:
    """Run a primitive forward on its parents' data and record the node."""
    try:
        out = op.forward(*[p._data for p in parents])
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
    if out - out != 0.0:  # inf - inf and nan - nan are nan: cheaper than isfinite
        raise NonFiniteError(
            f"{op.name} gave {out!r} for {_operands(op, parents)}: the result does not fit in a float"
        )
    node = _new(Value)
    node._data = out
    node.grad = 0.0
    node.label = None
    node._tick = _tick()
    node._mark = None
    node.scope = _scope
    if _recording:
        node._parents = parents
        node._op = op
    else:
        node._parents = ()
        node._op = None
    return node


_new = object.__new__
_tick = clock.tick


def _constant(number: float) -> Value:
    node = _new(Value)
    node._data = number
    node.grad = 0.0
    node._parents = ()
    node._op = CONSTANT
    node.label = None
    node._tick = _tick()
    node._mark = None
    node.scope = _scope
    return node


def _operand(other: Any, symbol: str) -> Value:
    if isinstance(other, Value):
        return other
    return _constant(_number(other, symbol))


def _real(x: Any) -> float | None:
    """x as a float if it is a real number (bool excluded), else None."""
    if type(x) is float:
        return x
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return None
    return float(x)


def _number(other: Any, symbol: str) -> float:
    number = _real(other)
    if number is None:
        raise TypeError(
            f"unsupported operand for {symbol!r} with a Value: {type(other).__name__} "
            f"({other!r:.60}); use a Value or a real number"
        )
    if number - number != 0.0:
        raise NonFiniteError(f"the constant {number!r} in {symbol!r} is not finite")
    return number


def _compare(other: Any) -> float:
    return other._data if isinstance(other, Value) else _number(other, "comparison")


def _checked_number(data: Any, where: str, label: str | None) -> float:
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
        raise DivisionByZeroError(
            f"division by zero: {_describe(numerator)} / {_describe(divisor)}, which is 0.0"
        )


# -- messages -----------------------------------------------------------------


def _forward_error(op: Primitive, parents: tuple[Value, ...], error: Exception) -> Exception:
    reason = str(error)
    # Python's own "math domain error" adds nothing to the domain we state.
    reason = "" if reason in ("", "math domain error") else f": {reason}"
    text = f"{op.name} is undefined for {_operands(op, parents)}{reason}; {op.name} needs {op.domain}"
    if isinstance(error, OverflowError):
        return NonFiniteError(
            f"{op.name} overflowed for {_operands(op, parents)}; {op.name} needs {op.domain}"
        )
    if isinstance(error, ZeroDivisionError):
        return DivisionByZeroError(text)
    return DomainError(text)


def _short(x: float) -> str:
    text = number(x)
    return text + ".0" if text.lstrip("-").isdigit() else text  # 2.0, not 2: data is a float
