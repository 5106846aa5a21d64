"""`grad`: derivatives as functions, which compose into higher derivatives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import value as _value
from .backward import gradients
from .errors import GraphError
from .value import Value


def grad(f: Callable[..., Value], argnum: int = 0) -> Callable[..., Any]:
    """The function x -> df/dx, by reverse mode, differentiable again.

    ``f`` takes numbers or Values and returns one scalar Value.  Called with
    plain numbers, the derivative is a float; called with Values (as when
    ``grad`` is nested) it is a recorded Value, so derivatives compose:

    >>> from autodiff import grad
    >>> f = lambda x: x ** 3            # f'(x) = 3x**2, f''(x) = 6x
    >>> grad(f)(2.0), grad(grad(f))(2.0), grad(grad(grad(f)))(2.0)
    (12.0, 12.0, 6.0)
    """

    def derivative(*args: Any) -> Any:
        if not _value._recording:  # f's graph would not be recorded: every derivative would be 0
            raise GraphError("grad cannot differentiate inside no_grad(): nothing would be recorded")
        if not 0 <= argnum < len(args):
            raise TypeError(f"grad: argnum={argnum} but the function got {len(args)} arguments")
        inputs = [a if isinstance(a, Value) else Value(a) for a in args]
        out = f(*inputs)
        if not isinstance(out, Value):
            raise GraphError(
                f"grad needs {getattr(f, '__name__', 'f')} to return one scalar Value; "
                f"it returned {type(out).__name__}"
            )
        (result,) = gradients(out, [inputs[argnum]])
        if isinstance(args[argnum], Value):
            return result if isinstance(result, Value) else Value(result)
        return float(result)

    return derivative
