"""What the child process runs inside the learner's engine; every result comes back as plain numbers.

Each function takes the learner's Value class first and touches it only
through the micrograd-style API (a constructor from a number, ``.data``,
``.grad``, ``.backward()`` and the operations).  Exceptions propagate to
:mod:`~autodiff.conformance.runner`, which reports them with the line of code
that raised them.  The parent never sees an engine object, only floats.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

from .operations import ABS_METHOD, LEFT_NUMBERS, OPERATIONS
from .programs import Program, ProgramError, run_line

#: Where each operation is probed: away from every edge of its domain.
PROBE_OPERANDS = {"** number": (1.5, 2.0), "** Value": (1.5, 2.0), "log": (1.5,), "sqrt": (1.5,)}


class NotANumber(TypeError):
    """The engine gave something that is not a number where a number belongs (``.data``, ``.grad``)."""


def load(target: str) -> Any:
    """Import ``module:Class`` or ``path/to/file.py:Class`` and check that ``Class(2.0)`` works."""
    where, _, name = target.rpartition(":")
    if not where or not name:
        raise ValueError(f"TARGET {target!r} is not MODULE:CLASS or path/to/file.py:CLASS")
    if where.endswith(".py") or os.sep in where or "/" in where:
        module = _import_file(where)
    else:
        sys.path.insert(0, os.getcwd())
        module = importlib.import_module(where)
    engine = getattr(module, name, None)
    if engine is None:
        public = sorted(n for n in vars(module) if not n.startswith("_"))
        raise AttributeError(f"{where} has no {name!r}; it defines {', '.join(public[:20]) or 'nothing'}")
    try:
        number(engine(2.0).data, f"{name}(2.0).data")
    except Exception as error:
        raise TypeError(f"{name}(2.0) does not make a Value holding 2.0: {type(error).__name__}: {error}") \
            from error
    return engine


def _import_file(path: str) -> Any:
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no file {path}")
    sys.path.insert(0, os.path.dirname(path))  # so the file's own imports of its neighbours work
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def number(x: Any, what: str) -> float:
    """``x`` as a float, or :class:`NotANumber` naming ``what`` it was."""
    if isinstance(x, bool) or x is None:
        raise NotANumber(f"{what} is {x!r}, not a number")
    try:
        return float(x)
    except (TypeError, ValueError):
        raise NotANumber(f"{what} is {type(x).__name__} {x!r:.60}, not a number") from None


def probe(engine: Any, feature: str) -> float:
    """Try one feature at a harmless point; the result's data.

    ``feature`` is an operation name, ``"abs method"``, or a number on one
    side of an operator (``"3 + v"``, ``"v + 3"``).
    """
    if feature == "abs method":
        return number(ABS_METHOD.call(engine(-0.5)).data, "v.abs().data")
    for name, left in LEFT_NUMBERS.items():
        if feature == f"{left:g} {name} v":
            return number(OPERATIONS[name].call(left, engine(0.5)).data, f"({feature}).data")
        if feature == f"v {name} {left:g}":
            return number(OPERATIONS[name].call(engine(0.5), left).data, f"({feature}).data")
    op = OPERATIONS[feature]
    operands = PROBE_OPERANDS.get(feature, (0.5, -1.5)[:op.arity])
    if feature == "** number":
        args: list[Any] = [engine(operands[0]), operands[1]]
    else:
        args = [engine(x) for x in operands]
    return number(op.call(*args).data, f"({op.write('a', 'b')}).data")


def run_program(engine: Any, program: Program, seed_by_hand: bool) -> list[tuple[float, float]]:
    """Run the program in the engine: (data, grad) of every node, inputs first."""
    nodes = program.run(engine, seed_by_hand)
    # A gradient of None (as PyTorch leaves a leaf nothing flowed into) compares as 0.
    return [(_number_at(n.data, f"v{i}.data"), 0.0 if n.grad is None else _number_at(n.grad, f"v{i}.grad"))
            for i, n in enumerate(nodes)]


def _number_at(x: Any, what: str) -> float:
    try:
        return number(x, what)
    except NotANumber as error:
        raise ProgramError(what, error) from None


def deep_chain(engine: Any, depth: int, seed_by_hand: bool) -> tuple[float, float]:
    """``v = v + Value(0.001)`` ``depth`` times from ``x``, then backward: (root data, x.grad)."""
    x = engine(1.0)
    v = x
    for _ in range(depth):
        v = v + engine(0.001)
    _backward(v, seed_by_hand, f"backward() from the end of a chain of {depth:,} nodes")
    return number(v.data, "root.data"), number(x.grad, "x.grad")


def backward_twice(engine: Any, seed_by_hand: bool) -> tuple[float, float | str]:
    """``b = a + a; c = b + b``, backward twice: a.grad after each (or what the second one raised)."""
    a = engine(3.0)
    b = a + a
    c = b + b
    _backward(c, seed_by_hand, "c.backward()")
    first = number(a.grad, "a.grad")
    try:
        if seed_by_hand:
            c.grad = 1.0
        c.backward()
    except Exception as error:  # noqa: BLE001 - refusing a second backward is an allowed semantics
        return first, f"{type(error).__name__}: {error}"
    return first, number(a.grad, "a.grad")


def large_input(engine: Any, method: str, x: float, seed_by_hand: bool) -> tuple[float, float]:
    """``y = Value(x).method(); y.backward()``: (y.data, x.grad), NaN and inf included."""
    leaf = engine(x)
    y = run_line(f"y = Value({x!r}).{method}()", OPERATIONS[method].call, leaf)
    _backward(y, seed_by_hand, "y.backward()")
    return number(y.data, "y.data"), number(leaf.grad, "x.grad")


def basics(engine: Any, seed_by_hand: bool) -> list[float]:
    """``d = a * b + a`` at a = 2, b = -3, then backward: the leaves' gradients (right: -2 and 2)."""
    a, b = engine(2.0), engine(-3.0)
    d = run_line("d = a * b + a", lambda: a * b + a)
    _backward(d, seed_by_hand, "d.backward()")
    return [_number_at(a.grad, "a.grad"), _number_at(b.grad, "b.grad")]


def _backward(root: Any, seed_by_hand: bool, line: str) -> None:
    if seed_by_hand:
        run_line(f"root.grad = 1.0 (before {line})", setattr, root, "grad", 1.0)
    run_line(line, root.backward)
