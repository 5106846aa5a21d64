"""Walks over a node's graph: what the root depends on, in which order, and whether it went stale.

Every runner and view starts here: :func:`topological_order` (the nodes, each
after its parents), :func:`is_computed`, the staleness checks (a leaf's
``data`` assigned after a result was computed from it) and
:func:`collector_paused`, which graph-heavy loops (a training step, a trace)
use without importing backward.  These walks only read nodes: they write no
marks and take no lock.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

from . import clock
from .context import located
from .errors import GraphError, StaleGraphError
from .naming import describe
from .node import Node
from .primitives import CONSTANT


def topological_order(root: Node) -> list[Node]:
    """Every node the root depends on, each after all of its parents; root last.

    Iterative (an explicit stack), so a chain of a million nodes is fine.
    Nodes are found by a walk over parents, then ordered by creation: a node
    is always created after its parents.  The walk only reads the nodes: it
    writes nothing into them and takes no lock, so a drawing or an explanation
    can walk a graph while another thread runs backward through it.
    """
    check_root(root)
    seen = {root}  # nodes hash by identity, in C
    nodes = [root]
    add, append, constant = seen.add, nodes.append, CONSTANT
    for node in nodes:  # the list grows as the walk finds nodes: each is expanded once
        op = node._op
        if op is None or op is constant:
            continue
        for parent in (node._x, node._y) if op.arity == 2 else (node._x,) if op.arity == 1 else node._many:
            if parent not in seen:
                add(parent)
                append(parent)
    nodes.sort(key=creation_order)
    return nodes


#: The sort key of creation order (every node is created after its parents).
creation_order = attrgetter("_created")


def check_root(root: Any) -> None:
    """Say that a root is not a node here, not from inside a walk."""
    if not hasattr(root, "_op"):
        raise GraphError(
            f"the root must be a Value (one scalar), not {type(root).__name__}; "
            "to use several outputs, combine them into one first, e.g. autodiff.sum(outputs)"
        )


def is_computed(node: Node) -> bool:
    """True for a node computed by a primitive from operands (not a leaf, not a constant)."""
    return node._op is not None and node._op is not CONSTANT


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for a block that builds or walks graphs and makes no cycles.

    Value graphs hold no reference cycles (nodes keep their operands as data,
    never closures), so reference counting frees a graph the moment it is
    dropped, and the collector would only traverse tens of thousands of new
    objects again and again to find nothing: that doubles a sweep's time and
    was most of a trace's.  It is switched back on afterwards (unless it was
    off already), also when the block raises; cycles made meanwhile are
    collected then.  Sweeps, traces and nn's scalar training steps use it.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()



def check_fresh(node: Node) -> None:
    """Raise if a parent's data was assigned after ``node`` was computed from it."""
    for parent in node.parents:
        if getattr(parent, "_assigned", -1) > node._created:
            raise located(StaleGraphError(
                f"{describe(parent)} was assigned (now {parent._data!r}) after {describe(node)} "
                "was computed from it; its gradients would be wrong. "
                "Run the forward pass again before calling backward()."
            ), node)


def check_all_fresh(order: list[Node]) -> None:
    """Raise :class:`StaleGraphError` if any node of ``order`` was computed from data assigned since.

    Views that read a whole graph (the stepper, explanations) call this first,
    so they never show numbers mixed from before and after an assignment.
    """
    if order and min(map(creation_order, order)) > clock.last_assignment:
        return  # the whole graph was made after the last assignment: nothing can be stale
    for node in order:
        if is_computed(node):
            check_fresh(node)
