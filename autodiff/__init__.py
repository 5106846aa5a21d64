"""autodiff: a scalar reverse-mode automatic differentiation engine.

>>> from autodiff import Value
>>> a = Value(3.0, label="a")
>>> b = a * a + 1
>>> b.backward()
>>> b.data, a.grad
(10.0, 6.0)
"""

from .backward import topological_order
from .compiled import compile
from .draw import draw
from .errors import (
    AutodiffError,
    DivisionByZeroError,
    DomainError,
    GraphError,
    NonFiniteError,
    StaleGraphError,
)
from .explain import explain
from .functional import grad
from .primitives import PRIMITIVES, Primitive
from .steps import Stepper, steps
from .value import Value, no_grad, scope, sum

__all__ = [
    "PRIMITIVES",
    "AutodiffError",
    "DivisionByZeroError",
    "DomainError",
    "GraphError",
    "NonFiniteError",
    "Primitive",
    "StaleGraphError",
    "Stepper",
    "Value",
    "compile",
    "draw",
    "explain",
    "grad",
    "no_grad",
    "scope",
    "steps",
    "sum",
    "topological_order",
]
