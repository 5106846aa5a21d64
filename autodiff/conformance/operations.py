"""The operations of a micrograd-style API: how each is written, how it is called, how it is probed.

An :class:`Operation` is one thing a learner's ``Value`` may support: an
infix operator (``a + b``), unary minus, ``**`` with a number or a Value
exponent, or a method (``a.exp()``).  It knows how to write itself as code
in the learner's API, so a program prints as something the learner can paste,
and how to call itself on any engine's Values with Python's own operators,
so both engines run literally the same program.  Nothing here imports the
engine under test: these are the words the kit and the child process share.

>>> sub, exp, power = OPERATIONS["-"], OPERATIONS["exp"], OPERATIONS["** number"]
>>> sub.write("v0", "2.0"), exp.write("v1"), power.write("v2", "3")
('v0 - 2.0', 'v1.exp()', 'v2 ** 3')
>>> OPERATIONS["-"].call(5.0, 2.0), OPERATIONS["abs"].call(-2.5)
(3.0, 2.5)
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operation:
    """One operation of the learner's API.

    ``name`` is what checks and reports call it (``local rule: exp``);
    ``arity`` is 1 or 2; ``template`` writes it, with ``{0}`` and ``{1}`` for
    the operands; ``function`` computes it on any engine's Values (and on
    numbers); ``binary_operator`` says that a number may stand on either side
    (``3 + v``, ``v + 3``), each side a feature of its own.
    """

    name: str
    arity: int
    template: str
    function: Callable[..., Any]
    binary_operator: bool = False

    def write(self, *operands: str) -> str:
        """The operation as code over the given operand texts."""
        return self.template.format(*operands)

    def call(self, *operands: Any) -> Any:
        """Apply the operation, as the written code would."""
        return self.function(*operands)

    def __repr__(self) -> str:
        return f"<operation {self.name}>"


def _method(name: str) -> Operation:
    return Operation(name, 1, "{0}." + name + "()", operator.methodcaller(name))


def _infix(symbol: str, function: Callable[[Any, Any], Any]) -> Operation:
    return Operation(symbol, 2, "{0} " + symbol + " {1}", function, binary_operator=True)


#: Every operation the kit knows, by name; ``+`` and ``*`` are required, the rest detected.
OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    _infix("+", operator.add),
    _infix("*", operator.mul),
    _infix("-", operator.sub),
    _infix("/", operator.truediv),
    Operation("** number", 2, "{0} ** {1}", operator.pow),
    Operation("** Value", 2, "{0} ** {1}", operator.pow),
    Operation("unary -", 1, "-{0}", operator.neg),
    *(_method(name) for name in ("exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt")),
    Operation("abs", 1, "abs({0})", abs),
)}

#: ``abs`` written as a method, for engines that have ``v.abs()`` but no ``__abs__``.
ABS_METHOD = Operation("abs", 1, "{0}.abs()", operator.methodcaller("abs"))

#: The operations every engine must have: the kit cannot build a graph without them.
REQUIRED = ("+", "*")

#: The number a reflected operator is probed and tested with, as the issue writes them: 3 + v, 2 * v...
LEFT_NUMBERS = {"+": 3.0, "*": 2.0, "-": 1.0, "/": 1.0}


def left_feature(name: str) -> str:
    """The name of the feature "a number on the left of this operator", e.g. ``3 + v``."""
    return f"{LEFT_NUMBERS[name]:g} {name} v"


def right_feature(name: str) -> str:
    """The name of the feature "a number on the right of this operator", e.g. ``v + 3``."""
    return f"v {name} {LEFT_NUMBERS[name]:g}"
