"""Derivatives as functions: `grad` and `value_and_grad`, which compose into higher derivatives."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from .backward import gradients
from .errors import GraphError
from .graph import topological_order
from .value import Value, recording


def grad(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The function x -> df/dx, by reverse mode, differentiable again.

    ``f`` takes numbers or Values and returns one scalar Value (or a plain
    number, for a constant function: its derivative is 0.0).  Called with
    plain numbers, the derivative is a float; called with Values (as when
    ``grad`` is nested) it is a recorded Value, so derivatives compose:

    >>> from autodiff import grad
    >>> f = lambda x: x ** 3            # f'(x) = 3x**2, f''(x) = 6x
    >>> grad(f)(2.0), grad(grad(f))(2.0), grad(grad(grad(f)))(2.0)
    (12.0, 12.0, 6.0)

    A derivative that depends on a Value from outside ``f`` (a closure in a
    nested ``grad``) stays a recorded Value, so the outer derivative sees it:

    >>> grad(lambda x: x * grad(lambda y: x * y)(2.0))(1.0)
    2.0
    """
    differentiate = value_and_grad(f, argnum)
    return lambda *args: differentiate(*args)[1]


def value_and_grad(f: Callable[..., Any], argnum: int = 0) -> Callable[..., tuple[Any, Any]]:
    """The function x -> (f(x), df/dx), from one forward and one reverse sweep.

    >>> from autodiff import value_and_grad
    >>> value_and_grad(lambda x: x * x + 1)(3.0)
    (10.0, 6.0)
    """

    def both(*args: Any) -> tuple[Any, Any]:
        if not recording():  # f's graph would not be recorded: every derivative would be 0
            raise GraphError("grad cannot differentiate inside no_grad(): nothing would be recorded")
        if not 0 <= argnum < len(args):
            raise TypeError(f"grad: argnum={argnum} but the function got {len(args)} arguments")
        made = {i: Value(a) for i, a in enumerate(args) if not isinstance(a, Value)}
        inputs = [made.get(i, a) for i, a in enumerate(args)]
        out = f(*inputs)
        if _is_number(out):  # a constant function: its derivative is 0
            return float(out), 0.0
        if not isinstance(out, Value):
            raise GraphError(
                f"grad needs {getattr(f, '__name__', 'f')} to return one scalar Value; "
                f"it returned {type(out).__name__}"
            )
        (result,) = gradients(out, [inputs[argnum]])
        if isinstance(args[argnum], Value):
            return out, result if isinstance(result, Value) else Value(result)
        return _plain(out, made), _plain(result, made)

    return both


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _plain(x: Any, made: dict[int, Value]) -> Any:
    """A float, unless ``x`` depends on a Value from outside (then it stays recorded, for an outer grad)."""
    if not isinstance(x, Value):
        return float(x)
    ours = {id(v) for v in made.values()}
    outside = any(node.is_leaf and id(node) not in ours for node in topological_order(x))
    return x if outside else x.data
