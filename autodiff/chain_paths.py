"""The chain rule as a sum over paths.

d(root)/d(leaf) is the sum, over every path from the leaf up to the root, of
the product of the local partial derivatives along the path.  Backward gets the
same number without listing paths (it shares the work of common suffixes); this
module lists them, to explain a derivative and to test backward against it.

>>> from autodiff import Value
>>> x = Value(3.0, label="x")
>>> y = x * x          # two edges from x to y: two paths
>>> count_paths(y, x), path_sum(y, x)
(2, 6.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .backward import Sweep, local_partials
from .errors import NonFiniteError
from .graph import topological_order
from .node import Node


@dataclass(frozen=True)
class Edge:
    """One step of a path: ``child`` was computed from ``child.parents[index]``."""

    child: Any
    index: int
    partial: float

    @property
    def parent(self) -> Node:
        """The node this edge comes from."""
        return self.child.parents[self.index]


def _ancestors_of_leaf(root: Node, leaf: Node) -> dict[int, int]:
    """For each node between leaf and root: the number of paths from leaf to it."""
    counts: dict[int, int] = {id(leaf): 1}
    for node in topological_order(root):
        if node is leaf:
            continue
        total = sum(counts.get(id(parent), 0) for parent in node.parents)
        if total:
            counts[id(node)] = total
    return counts


def count_paths(root: Node, leaf: Node) -> int:
    """How many distinct paths lead from ``leaf`` to ``root`` (edges counted with multiplicity)."""
    return _ancestors_of_leaf(root, leaf).get(id(root), 0)


def paths(root: Node, leaf: Node) -> Iterator[list[Edge]]:
    """Every path from ``root`` down to ``leaf``, as lists of edges (root first).

    There can be exponentially many: check :func:`count_paths` first.
    """
    reaches = _ancestors_of_leaf(root, leaf)
    if id(root) not in reaches:
        return
    # Depth-first with an explicit stack of partial paths, so deep graphs are fine.
    stack: list[tuple[Any, list[Edge]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if node is leaf:
            yield path
            continue
        partials = local_partials(node)
        for index in reversed(range(len(node.parents))):
            parent = node.parents[index]
            if id(parent) in reaches and partials[index] is not None:
                stack.append((parent, [*path, Edge(node, index, partials[index])]))


def path_product(path: list[Edge]) -> float:
    """The product of the local partials along one path."""
    product = 1.0
    for edge in path:
        product *= edge.partial
    return product


def path_sum(root: Node, leaf: Node) -> float:
    """d(root)/d(leaf) as the sum over paths of products of local partials."""
    return finite_total(root, sum((path_product(p) for p in paths(root, leaf)), 0.0), "the sum over paths")


def finite_total(root: Node, total: float, what: str) -> float:
    """``total`` if it is finite; else the error backward raises for this graph, naming the step.

    A sum over paths is inf or NaN exactly when some product on the way is,
    and backward refuses such a graph: every path that sums products refuses it too.
    """
    if math.isfinite(total):
        return total
    Sweep(root).run().check_finite()
    raise NonFiniteError(f"{what} is {total!r}: a product of local partials does not fit in a float")
