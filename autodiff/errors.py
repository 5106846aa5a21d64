"""The exceptions autodiff raises.

Each one says which operation failed, on which numbers, at which node, so a
learner can find the line of their own code that caused it.  They subclass the
built-in exceptions people already catch (``ValueError``, ``ArithmeticError``,
``ZeroDivisionError``), so existing ``except`` clauses keep working.
"""

from __future__ import annotations


class AutodiffError(Exception):
    """Base class of every error raised by autodiff."""


class DomainError(AutodiffError, ValueError, ArithmeticError):
    """An operation was applied outside its domain, e.g. ``log`` of 0."""


class DivisionByZeroError(DomainError, ZeroDivisionError):
    """Division by zero, or zero raised to a negative power."""


class NonFiniteError(AutodiffError, ArithmeticError):
    """A value or a gradient became infinite or NaN (overflow)."""


class StaleGraphError(AutodiffError, RuntimeError):
    """A node's data changed after a result was computed from it."""


class GraphError(AutodiffError, ValueError):
    """A graph or a root cannot be used as asked (e.g. a non-scalar root)."""


class RuleError(AutodiffError, TypeError):
    """A primitive's forward rule or partial returned something that is not a number of the kind computed."""
