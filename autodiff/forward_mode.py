"""Forward mode: a Jacobian-vector product by one sweep from the inputs up, over the same table partials.

Reverse mode (``backward``) gives the derivative of one output by every input
in one sweep; forward mode gives the derivative of every node along one
direction of the inputs in one sweep.  Both multiply the same local partials
from the primitive table: reverse mode sums them into operands, forward mode
sums them out of operands.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from .backward import local_partials
from .context import located
from .errors import GraphError, NonFiniteError
from .graph import topological_order
from .naming import describe, operands
from .node import Node
from .value import Value


def jvp(f: Callable[..., Any], primals: Sequence[float], tangents: Sequence[float]) -> tuple[float, float]:
    """``(f(*primals), the derivative of f at primals along tangents)``, by forward mode.

    The tangent is sum_i df/dx_i * tangents[i], computed in one forward sweep
    (as JAX's ``jvp``; here ``f`` returns one scalar).

    >>> from autodiff import jvp
    >>> jvp(lambda x, y: x * y + x, (3.0, 2.0), (1.0, 0.0))   # d/dx = y + 1
    (9.0, 3.0)
    """
    primals, tangents = _numbers(primals, "primals"), _numbers(tangents, "tangents")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one tangent each")
    leaves = [Value(x) for x in primals]
    out = f(*leaves)
    if isinstance(out, numbers.Real) and not isinstance(out, bool):
        return float(out), 0.0
    if not isinstance(out, Value):
        raise GraphError(f"jvp needs f to return one scalar Value, not {type(out).__name__}")
    return out.data, tangent(out, dict(zip(leaves, tangents)))


def tangent(root: Node, seeds: dict[Node, float]) -> float:
    """d(root) along ``seeds`` (a tangent per leaf; other leaves 0), by one forward sweep."""
    tangents: dict[Any, float] = {}
    for node in topological_order(root):
        if not node.parents:
            tangents[node] = seeds.get(node, 0.0)
            continue
        total = 0.0
        for i, (parent, partial) in enumerate(zip(node.parents, local_partials(node))):
            if partial is not None:
                term = partial * tangents[parent]
                if not math.isfinite(term):  # an inf never comes back: refuse it where it is made
                    raise _not_finite(node, i, partial, tangents[parent])
                total += term
        if not math.isfinite(total):
            raise located(NonFiniteError(f"jvp: the tangent of {describe(node)} overflowed to {total!r} "
                                          "while summing its parts"), node)
        tangents[node] = total
    return tangents[root]


def _not_finite(node: Node, i: int, partial: float, incoming: float) -> NonFiniteError:
    op = node.primitive
    return located(NonFiniteError(
        f"jvp through {op.name}: local partial {partial!r} times tangent {incoming!r} of input "
        f"{op.input_name(i)} is not finite; inputs were {operands(op, node.parents)}"), node)


def _numbers(xs: Sequence[Any], what: str) -> list[float]:
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence):
        raise TypeError(f"jvp: {what} must be a tuple or list of numbers, not {type(xs).__name__}")
    out = []
    for i, x in enumerate(xs):
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
            raise TypeError(f"jvp: {what}[{i}] must be a finite number, not {x!r}")
        out.append(float(x))
    return out
