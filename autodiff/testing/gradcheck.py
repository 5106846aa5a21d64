"""Gradient checking: backward's gradients against central differences.

:func:`gradcheck` runs ``f`` once forward and backward to get the analytic
gradient, then re-evaluates ``f`` at ``x + eps`` and ``x - eps`` for every
input to get the numeric one, and compares them.  On a mismatch it raises
:class:`GradcheckError`, whose message is a table of every input.

>>> from autodiff.testing import gradcheck
>>> gradcheck(lambda x, y: x * y + x.tanh(), [0.5, -2.0])
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from ..value import Value

Function = Callable[..., Value]


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; the message holds the comparison table."""


def gradcheck(
    f: Function,
    inputs: Sequence[Any],
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> bool:
    """Check backward's gradient of ``f`` at ``inputs`` against central differences.

    ``f`` takes one Value per input and returns a scalar Value.  ``inputs``
    are numbers or Values (a Value's label names its row in the report; its
    own ``grad`` is never touched).  Input i passes when
    ``|analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|)``.
    Returns True, or raises :class:`GradcheckError` with a table of every input.

    A gradient lost on the way (here x * x computed under ``no_grad``) shows up
    as a failing row:

    >>> from autodiff import Value, no_grad
    >>> def detached(x):
    ...     with no_grad():
    ...         square = x * x
    ...     return square + x
    >>> gradcheck(detached, [Value(3.0, label="x")])
    Traceback (most recent call last):
    ...
    autodiff.testing.gradcheck.GradcheckError: gradcheck failed for detached: 1 of 1 gradients differ ...
    input  value  analytic  numeric  abs error
    'x'    3      1         7...     6...       FAIL
    """
    _check_eps(eps, "gradcheck")
    data, labels = _unpack(inputs)
    analytic = analytic_gradient(f, data, labels)
    numeric = numeric_gradient(f, data, eps)
    failing = [not _close(a, n, rtol, atol) for a, n in zip(analytic, numeric)]
    if any(failing):
        raise GradcheckError(_report(f, data, labels, analytic, numeric, failing, eps, rtol, atol))
    return True


def analytic_gradient(
    f: Function, data: Sequence[float], labels: Sequence[str | None] | None = None
) -> list[float]:
    """d f / d input for each input, by one backward pass over fresh leaves (unlabelled: v0, v1, ...)."""
    leaves = [Value(x, label=_name(i, labels)) for i, x in enumerate(data)]
    out = _evaluate(f, leaves)
    out.backward()
    return [leaf.grad for leaf in leaves]


def numeric_gradient(f: Function, data: Sequence[float], eps: float = 1e-6) -> list[float]:
    """d f / d input for each input by central differences: (f(x+eps) - f(x-eps)) / (2 eps).

    >>> [round(g, 6) for g in numeric_gradient(lambda x, y: x * y, [2.0, 5.0])]
    [5.0, 2.0]
    """
    _check_eps(eps, "numeric_gradient")
    gradient = []
    for i in range(len(data)):
        plus, minus = list(data), list(data)
        plus[i] += eps
        minus[i] -= eps
        # Divide by the step actually taken: x + eps is rounded to a float.
        step = plus[i] - minus[i]
        if step == 0:
            raise ValueError(f"numeric_gradient: eps={eps!r} does not move input {i} = {data[i]!r} "
                             "(x + eps rounds to x); use a larger eps")
        try:
            high = _evaluate(f, [Value(x) for x in plus]).data
            low = _evaluate(f, [Value(x) for x in minus]).data
        except ArithmeticError as error:  # e.g. the step crossed the edge of a domain
            if hasattr(error, "add_note"):  # Python 3.11+
                error.add_note(f"numeric_gradient: while moving input {i} = {data[i]!r} by +-{eps:g}")
            raise
        gradient.append((high - low) / step)
    return gradient


def _check_eps(eps: Any, caller: str) -> None:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < eps < math.inf:
        raise ValueError(f"{caller}: eps must be a positive finite step such as 1e-6, got {eps!r}")


def _unpack(inputs: Sequence[Any]) -> tuple[list[float], list[str | None]]:
    data, labels = [], []
    for i, x in enumerate(inputs):
        if isinstance(x, Value):
            data.append(x.data)
            labels.append(x.label)
        elif isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"gradcheck: input {i} is a {type(x).__name__}; pass numbers or Values")
        else:
            data.append(float(x))
            labels.append(None)
    if not data:
        raise ValueError("gradcheck needs at least one input")
    return data, labels


def _evaluate(f: Function, leaves: list[Value]) -> Value:
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(
            f"gradcheck: {getattr(f, '__name__', 'f')} must return one scalar Value, "
            f"not {type(out).__name__}"
        )
    return out


def _close(analytic: float, numeric: float, rtol: float, atol: float) -> bool:
    # A NaN on either side never passes (NaN comparisons are False).
    return abs(analytic - numeric) <= atol + rtol * max(abs(analytic), abs(numeric))


def _report(
    f: Function,
    data: list[float],
    labels: list[str | None],
    analytic: list[float],
    numeric: list[float],
    failing: list[bool],
    eps: float,
    rtol: float,
    atol: float,
) -> str:
    header = ("input", "value", "analytic", "numeric", "abs error", "")
    rows = [header]
    for i, (x, a, n, bad) in enumerate(zip(data, analytic, numeric, failing)):
        name = repr(labels[i]) if labels[i] is not None else _name(i, labels)
        rows.append((name, _num(x), _num(a), _num(n), _num(abs(a - n)), "FAIL" if bad else "ok"))
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    name = getattr(f, "__name__", type(f).__name__)
    count = sum(failing)
    return (
        f"gradcheck failed for {name}: {count} of {len(data)} gradients differ from central "
        f"differences (eps={eps:g}, rtol={rtol:g}, atol={atol:g})\n" + "\n".join(lines)
    )


def _name(i: int, labels: Sequence[str | None] | None) -> str:
    """Input i's label, or v0, v1, ... as the random graphs of the strategies name their inputs."""
    label = None if labels is None else labels[i]
    return f"v{i}" if label is None else label


def _num(x: float) -> str:
    return repr(x) if not math.isfinite(x) else f"{x:.10g}"
