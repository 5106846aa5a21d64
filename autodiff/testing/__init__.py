"""Tools for testing gradients: :func:`gradcheck` and Hypothesis strategies.

``gradcheck`` compares backward's gradients with central differences.  The
strategies in :mod:`autodiff.testing.strategies` draw random computation graphs
from the primitive table for property-based tests; Hypothesis is imported only
when they are used, so ``import autodiff.testing`` works without it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .backprop import BackpropReport, check_backprop
from .checks import Disagreement, NodeReport, PrimitiveReport, check_nodes, check_primitive
from .gradcheck import GradcheckError, analytic_gradient, gradcheck, numeric_gradient

__all__ = [
    "BackpropReport",
    "Disagreement",
    "GradcheckError",
    "NodeReport",
    "PrimitiveReport",
    "analytic_gradient",
    "check_backprop",
    "check_nodes",
    "check_primitive",
    "gradcheck",
    "numeric_gradient",
    "strategies",
]


def __getattr__(name: str) -> ModuleType:
    # `autodiff.testing.strategies` imports Hypothesis: load it on first use only.
    if name == "strategies":
        return importlib.import_module(f"{__name__}.strategies")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
