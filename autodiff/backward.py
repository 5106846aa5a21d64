"""The reverse sweep: the chain rule, applied once per node.

For every node, from the root back to the leaves, each parent receives

    (local partial of the node by that parent) * (gradient arriving at the node)

and the partials come from the primitive table, nowhere else.  The gradient
arriving at a node is the sum of what its consumers sent it; because nodes are
visited in reverse topological order, it is complete before it is passed on.
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import Any

from . import clock
from .errors import DomainError, GraphError, NonFiniteError, StaleGraphError
from .messages import describe, input_name, operands
from .primitives import CONSTANT


def topological_order(root: Any) -> list[Any]:
    """Every node the root depends on, each after all of its parents; root last.

    Iterative (an explicit stack), so a chain of a million nodes is fine.
    Nodes are found by a walk over parents, then ordered by creation: a node
    is always created after its parents.  (A node whose ``data`` was assigned
    counts as created then; backward reports such graphs as stale.)
    """
    mark = object()  # unique to this walk, so no clean-up pass is needed
    try:
        root._mark = mark
    except AttributeError:  # not a node: say so here, not from inside the walk
        raise GraphError(
            f"the root must be a Value (one scalar), not {type(root).__name__}; "
            "to use several outputs, combine them into one first, e.g. autodiff.sum(outputs)"
        ) from None
    nodes, stack = [root], [root]
    while stack:
        for parent in stack.pop()._parents:
            if parent._mark is not mark:
                parent._mark = mark
                nodes.append(parent)
                if parent._parents:  # leaves have nothing to expand
                    stack.append(parent)
    nodes.sort(key=_creation)
    return nodes


_creation = attrgetter("_tick")
_gradient_so_far = attrgetter("_up")


def backward(root: Any) -> None:
    """Add d(root)/d(v) to ``v.grad`` for every node v of the root's graph.

    Nothing is written unless the whole pass succeeds: an error (a stale
    graph, an undefined partial, an overflow) leaves every ``grad`` as it was.
    """
    order = start(root)
    for node in reversed(order):
        if node._parents:
            propagate(node)
    finish(order)


def start(root: Any) -> list[Any]:
    """Begin a pass: every node's gradient in this pass is 0, the root's is 1."""
    order = topological_order(root)
    for node in order:
        node._up = 0.0
    root._up = 1.0
    return order


def finish(order: list[Any]) -> None:
    """End a pass: check every gradient is finite, then add the pass into ``grad``."""
    if not math.isfinite(sum(map(_gradient_so_far, order))):  # one C-level pass
        _raise_non_finite(order)
    for node in order:
        node.grad += node._up


def propagate(node: Any) -> None:
    """The chain rule at one node: add partial * upstream to each parent's gradient.

    The stepper calls this too, so what it shows is what backward does.  This
    is the innermost loop of every backward pass, so the common arities are
    unrolled (it halves the time of a sweep); all branches compute the same.
    """
    upstream, op, parents = node._up, node._op, node._parents
    if node._tick < clock.last_assignment:
        check_fresh(node)
    out = node._data
    try:
        if op.arity == 2:
            x, y = parents
            args = (x._data, y._data)
            if x._op is not CONSTANT:
                x._up += op.partials[0](args, out) * upstream
            if y._op is not CONSTANT:
                y._up += op.partials[1](args, out) * upstream
        elif op.arity == 1:
            (x,) = parents
            if x._op is not CONSTANT:
                x._up += op.partials[0]((x._data,), out) * upstream
        else:
            args = [parent._data for parent in parents]
            partials = op.partials if op.arity is not None else op.partials * len(parents)
            for parent, partial in zip(parents, partials):
                if parent._op is not CONSTANT:
                    parent._up += partial(args, out) * upstream
    except (ValueError, ZeroDivisionError, OverflowError):
        local_partials(node)  # raises a DomainError (or NonFiniteError) that names the input
        raise


def _raise_non_finite(order: list[Any]) -> None:
    """Find the node whose local step first produced inf or NaN, and name it."""
    for node in reversed(order):
        upstream = node._up
        if not node._parents or not math.isfinite(upstream):
            continue
        for i, partial in enumerate(local_partials(node)):
            if partial is not None and not math.isfinite(partial * upstream):
                raise NonFiniteError(
                    f"backward through {node._op.name}: local partial {partial!r} times upstream "
                    f"gradient {upstream!r} for input {input_name(node._op, i)} is not finite; "
                    f"inputs were {operands(node._op, node._parents)}"
                )
    bad = next((node for node in order if not math.isfinite(node._up)), None)
    if bad is None:
        return  # only the check's own total overflowed; every gradient is finite
    raise NonFiniteError(f"the gradient of {describe(bad)} overflowed to {bad._up!r} while summing its parts")


def local_partials(node: Any, symbolic: bool = False) -> list[Any]:
    """The local partial of ``node`` by each parent, from the primitive table.

    ``None`` stands for a constant parent, which needs no gradient (this also
    skips d(x**c)/dc, undefined for a negative x).  With ``symbolic`` the
    partials are computed on the Values themselves, so they are recorded and
    can be differentiated again.
    """
    op, parents = node._op, node._parents
    args = parents if symbolic else [p._data for p in parents]
    out = node if symbolic else node._data
    partials: list[Any] = []
    for i, parent in enumerate(parents):
        if parent._op is CONSTANT:
            partials.append(None)
            continue
        try:
            partials.append(op.partial(i, args, out))
        except OverflowError:
            raise NonFiniteError(
                f"backward through {op.name}: the local partial by {input_name(op, i)}, "
                f"{op.formula(i)}, overflows a float for {operands(op, parents)}"
            ) from None
        except (ValueError, ZeroDivisionError) as error:
            raise DomainError(
                f"backward through {op.name}: the local partial by {input_name(op, i)}, "
                f"{op.formula(i)}, is undefined for {operands(op, parents)} ({error})"
            ) from None
    return partials


def check_fresh(node: Any) -> None:
    """Raise if a parent's data changed after ``node`` was computed from it."""
    for parent in node._parents:
        if parent._tick > node._tick:
            raise StaleGraphError(
                f"{describe(parent)} changed (now {parent._data!r}) after {describe(node)} "
                "was computed from it; its gradients would be wrong. "
                "Run the forward pass again before calling backward()."
            )


def check_all_fresh(order: list[Any]) -> None:
    """Raise :class:`StaleGraphError` if any node of ``order`` was computed from data changed since.

    Views that read a whole graph (the stepper, explanations) call this first,
    so they never show numbers mixed from before and after an assignment.
    """
    if order and min(map(_creation, order)) > clock.last_assignment:
        return  # the whole graph was made after the last assignment: nothing can be stale
    for node in order:
        if node._parents:
            check_fresh(node)


def zero_grad(root: Any) -> None:
    """Set ``grad`` to 0 on every node of the root's graph."""
    for node in topological_order(root):
        node.grad = 0.0


def gradients(root: Any, wrt: list[Any]) -> list[Any]:
    """d(root)/d(v) for each v in ``wrt``, as recorded Values or numbers.

    The sweep of :func:`backward`, run on Values instead of floats, so the
    result is itself a graph that can be differentiated again.  ``.grad`` is
    not touched.  A result that does not depend on v is 0.0.
    """
    order = topological_order(root)
    upstream: dict[int, Any] = {id(root): 1.0}
    for node in reversed(order):
        if not node._parents or id(node) not in upstream:
            continue
        check_fresh(node)
        up = upstream[id(node)]
        for parent, partial in zip(node._parents, local_partials(node, symbolic=True)):
            if partial is not None:
                contribution = partial * up
                key = id(parent)
                upstream[key] = contribution if key not in upstream else upstream[key] + contribution
    return [upstream.get(id(v), 0.0) for v in wrt]
