"""Chain-rule explanations: one derivative as a sum over paths, with names and numbers.

d(root)/d(leaf) is the sum, over every path from the leaf up to the root, of the
product of the local partial derivatives along it (see :mod:`autodiff.chain_paths`).
:func:`explain` prints that sum for a live graph, each factor named by the
formula of its primitive and valued, and checks the total against the
``grad`` that backward gave the leaf.

>>> from autodiff import Value
>>> x, w = Value(0.5, label="x"), Value(-2.0, label="w")
>>> y = (x * w).tanh(); y.label = "y"
>>> y.backward()
>>> print(explain(y, w))
d(y)/d(w): 1 path
  w → x * w → y
    = x × tanh'(x * w)
    = 0.5 × 0.419974
    = 0.209987
  d(y)/d(w) = 0.209987 (sum over 1 path); w.grad = 0.209987: they agree

Nodes are named by :mod:`autodiff.naming`, as in every other view.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from .backward import local_partials
from .chain_paths import Edge, count_paths, finite_total, path_product, paths
from .graph import check_all_fresh, topological_order
from .naming import find_node, node_names, partial_formula, printed
from .node import Node
from .value import Value

# -- explanations -------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One local partial on a path: d(child)/d(parent), as a formula and a number."""

    name: str  # tanh'(n) for one-input primitives, d(child)/d(parent) otherwise
    formula: str  # in the graph's names, e.g. "a2" or "2 * (a3 - y)"
    value: float

    @property
    def is_one(self) -> bool:
        """True for the plain 1 of add and sum, which explanations leave out."""
        return self.formula == "1"

    @property
    def short(self) -> str:
        """The factor as written in a product: its derivative's name or its formula, bracketed if needed."""
        if "'(" in self.name:  # sigmoid'(z): the derivative's own name reads best
            return self.name
        return self.formula if " " not in self.formula else f"({self.formula})"


@dataclass(frozen=True)
class Term:
    """One path from the leaf up to the root and the product of its factors."""

    nodes: tuple[str, ...]  # names, leaf first
    factors: tuple[Factor, ...]  # leaf side first, as the chain rule is written by hand
    product: float

    def lines(self) -> list[str]:
        """The path, then the product: as formulas, as numbers, and its value."""
        head = "  " + " → ".join(self.nodes)
        shown = [f for f in self.factors if not f.is_one]
        if not shown:
            return [head, "    = 1 (only add and sum on the way)"]
        lines = [head, "    = " + " × ".join(f.short for f in shown)]
        if len(shown) < len(self.factors):
            lines[-1] += "    (factors of 1 from add/sum left out)"
        if len(shown) > 1:
            lines.append("    = " + " × ".join(printed(f.value) for f in shown))
        lines.append(f"    = {printed(self.product)}")
        return lines


@dataclass(frozen=True)
class Explanation:
    """d(root)/d(leaf) as a sum over paths.  ``str()`` gives the readable text.

    ``terms`` holds every path when there are at most ``max_paths`` of them
    (``complete`` is True), otherwise the ``top`` paths with the largest
    contributions; ``total`` is the sum over all ``count`` paths either way.
    """

    root: str
    leaf: str
    count: int
    terms: tuple[Term, ...]
    complete: bool
    total: float
    grad: float

    @property
    def agrees(self) -> bool:
        """Does the sum over paths equal the leaf's ``grad`` (to round-off)?"""
        return math.isclose(self.total, self.grad, rel_tol=1e-9, abs_tol=1e-12)

    def __repr__(self) -> str:
        plural = "path" if self.count == 1 else "paths"
        verdict = "agrees with" if self.agrees else "differs from"
        return (f"<Explanation d({self.root})/d({self.leaf}) = {printed(self.total)} over {self.count} "
                f"{plural}; {verdict} {self.leaf}.grad = {printed(self.grad)}>")

    def __str__(self) -> str:
        d = f"d({self.root})/d({self.leaf})"
        plural = "path" if self.count == 1 else "paths"
        if self.complete:
            lines = [f"{d}: {self.count} {plural}"]
        else:
            lines = [f"{d}: {self.count} {plural}, too many to list; the {len(self.terms)} largest:"]
        for term in self.terms:
            lines += term.lines()
        how = f"sum over {self.count} {plural}" if self.complete else "all paths, by forward accumulation"
        lines.append(f"  {d} = {printed(self.total)} ({how}); " + self._check())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """In a notebook: the sum over paths as a table (see :mod:`autodiff.cards`)."""
        from .cards import explanation_table

        return explanation_table(self)

    def _check(self) -> str:
        text = f"{self.leaf}.grad = {printed(self.grad)}"
        if self.agrees:
            return text + ": they agree"
        return text + ": they differ (run backward() on the root once, after zero_grad(), to compare)"


def explain(root: Node, leaf: Node | str, max_paths: int = 12, top: int = 5) -> Explanation:
    """Explain d(root)/d(leaf) by the chain rule, as a sum over paths of products.

    ``leaf`` is a Value or the label of a node of the graph (any node works, not only
    leaves).  Up to ``max_paths`` paths are listed in full; beyond that the
    explanation gives the number of paths, their total (summed in linear time
    by forward accumulation, the dynamic programme that makes this cheap) and
    the ``top`` paths with the largest contributions.
    """
    if not isinstance(leaf, (str, Value)):
        raise TypeError(f"explain: leaf must be a Value or a label, not {type(leaf).__name__}")
    order = topological_order(root)
    check_all_fresh(order)  # paths over numbers from before and after an assignment would explain nothing
    names = node_names(order)
    # Any node, not only leaves; a Value outside the graph is an error, as in PyTorch's autograd.grad:
    # "0 over 0 paths" would hide a mix-up of two graphs.
    leaf = find_node(order, leaf, "node", names)
    count = count_paths(root, leaf)
    if count <= max_paths:
        found = [_term(path, names) for path in paths(root, leaf)]
        terms, total = tuple(found), sum((t.product for t in found), 0.0)
    else:
        total, best = _accumulate(order, root, leaf, top)
        terms = tuple(_term(path, names) for path in best)
    total = finite_total(root, total, f"d({names[id(root)]})/d({names[id(leaf)]})")
    return Explanation(names[id(root)], names[id(leaf)], count, terms, count <= max_paths, total, leaf.grad)


def _term(path: list[Edge], names: dict[int, str]) -> Term:
    factors = tuple(_factor(edge, names) for edge in reversed(path))
    nodes = (names[id(path[-1].parent)], *(names[id(e.child)] for e in reversed(path))) if path else ()
    return Term(nodes, factors, path_product(path))


def _factor(edge: Edge, names: dict[int, str]) -> Factor:
    child, parent = edge.child, edge.parent
    if child.primitive.arity == 1:
        name = f"{child.primitive.name}'({names[id(parent)]})"
    else:
        name = f"d({names[id(child)]})/d({names[id(parent)]})"
    return Factor(name, partial_formula(child, edge.index, names), edge.partial)


def _accumulate(order: list[Node], root: Node, leaf: Node, top: int) -> tuple[float, list[list[Edge]]]:
    """The sum over all paths and the ``top`` largest paths, in one pass up from the leaf.

    For each node reached from the leaf: the sum of path products so far
    (forward-mode accumulation) and the best few partial paths (a k-best
    dynamic programme on the DAG).
    """
    total: dict[int, float] = {id(leaf): 1.0}
    best: dict[int, list[tuple[float, tuple[Edge, ...]]]] = {id(leaf): [(1.0, ())]}
    start = next(i for i, node in enumerate(order) if node is leaf)
    for node in order[start + 1:]:
        if not any(id(p) in total for p in node.parents):
            continue
        partials = local_partials(node)
        acc, candidates = 0.0, []
        for index, (parent, partial) in enumerate(zip(node.parents, partials)):
            if partial is None or id(parent) not in total:
                continue
            acc += partial * total[id(parent)]
            edge = Edge(node, index, partial)
            candidates += [(product * partial, (edge, *path)) for product, path in best[id(parent)]]
        total[id(node)] = acc
        best[id(node)] = heapq.nlargest(top, candidates, key=lambda c: abs(c[0]))
    return total.get(id(root), 0.0), [list(path) for _, path in best.get(id(root), [])]
