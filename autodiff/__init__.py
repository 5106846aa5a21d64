"""autodiff: a scalar reverse-mode automatic differentiation engine.

>>> from autodiff import Value
>>> a = Value(3.0, label="a")
>>> b = a * a + 1
>>> b.backward()
>>> b.data, a.grad
(10.0, 6.0)

The top-level functions ``steps``, ``draw``, ``explain``, ``play`` and ``exercise`` live in the
submodules ``stepping``, ``drawing``, ``explaining``, ``playing`` and ``exercises`` (named apart
from the functions, so neither hides the other); ``compile`` is the function of
the package :mod:`autodiff.compiled`.
"""

from .compiled import compile
from .drawing import draw, save
from .errors import (
    AutodiffError,
    DivisionByZeroError,
    DomainError,
    GraphError,
    NonFiniteError,
    RuleError,
    StaleGraphError,
)
from .exercises import Exercise, exercise
from .explaining import explain
from .exporting import handout, slides
from .forward_mode import jvp
from .functional import grad, value_and_grad
from .graph import topological_order
from .playing import play
from .primitives import PRIMITIVES, Primitive, register
from .replaying import replay
from .stepping import Stepper, steps
from .value import Value, anomaly, apply, no_grad, scope, sum

__all__ = [
    "PRIMITIVES",
    "AutodiffError",
    "DivisionByZeroError",
    "DomainError",
    "Exercise",
    "GraphError",
    "NonFiniteError",
    "Primitive",
    "RuleError",
    "StaleGraphError",
    "Stepper",
    "Value",
    "anomaly",
    "apply",
    "compile",
    "draw",
    "exercise",
    "explain",
    "grad",
    "handout",
    "jvp",
    "no_grad",
    "play",
    "register",
    "replay",
    "save",
    "scope",
    "slides",
    "steps",
    "sum",
    "topological_order",
    "value_and_grad",
]
