"""Constant folding: a traced graph made smaller before it is planned, without changing its numbers.

A loss's gradient graph, as the engine's sweep over Values records it, holds
what is fixed by the graph's shape alone: the quadratic cost's
``2 * d ** 1 * 0.5``, a derivative's ``1 * up``.  Folding rewrites each node
once, parents first:

- an operation on constants only becomes the constant it computes (the
  table's float form, as the scalar engine computes it);
- ``x * 1``, ``x ** 1``, ``x + 0``, ``-(-x)`` and a sum of one term become ``x``;
  zero terms leave a sum;
- ``c1 * (c2 * x)`` becomes ``(c1 * c2) * x``.

Only the last changes a rounding (of the product of two constants, at most
one ulp of the result); every other rewrite gives the same float.
"""

from __future__ import annotations

import math
from typing import Any

from ..primitives import ADD, MUL, NEG, POW, SUM, Primitive
from .tracing import Graph


class _Builder:
    """The folded graph, written node by node (parents first), and where each old node went."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.ops: list[Primitive | None] = []
        self.parents: list[tuple[int, ...]] = []
        self.roles: list[tuple] = []
        self.sites: list[str | None] = []
        self.origins: list[Any] = []
        self.at = [0] * len(graph)  # old node -> new node
        self.constants: dict[tuple[float, float], int] = {}  # constants made by folding, shared

    def add(self, op: Primitive | None, parents: tuple[int, ...], role: tuple, old: int | None) -> int:
        graph = self.graph
        self.ops.append(op)
        self.parents.append(parents)
        self.roles.append(role)
        self.sites.append(graph.sites[old] if graph.sites and old is not None else None)
        origin = graph.origins[old] if graph.origins and old is not None else None
        self.origins.append(None if origin is None else (self.at[origin[0]], origin[1]))
        return len(self.ops) - 1

    def constant(self, number: float) -> int:
        key = (number, math.copysign(1.0, number))
        if key not in self.constants:
            self.constants[key] = self.add(None, (), ("const", number), None)
        return self.constants[key]

    def number(self, node: int) -> float | None:
        role = self.roles[node]
        return role[1] if role[0] == "const" else None


def fold(graph: Graph) -> Graph:
    """``graph`` with its gradients' constants folded and identities removed (see the module's docstring).

    fn's own nodes are kept as they are (they were compared with other traces
    and are what the careful path names); only the gradients' nodes are rewritten.
    """
    if not graph.gradients:
        return graph
    b = _Builder(graph)
    start = graph.forward
    b.ops, b.parents, b.roles = graph.ops[:start], graph.parents[:start], graph.roles[:start]
    b.sites = list(graph.sites[:start]) if graph.sites else [None] * start
    b.origins = [None] * start
    b.at[:start] = range(start)
    constant = [role[0] == "const" for role in b.roles]
    new, is_constant = b.at.__getitem__, constant.__getitem__
    for i in range(start, len(graph)):
        role, op = graph.roles[i], graph.ops[i]
        if role[0] != "op":
            b.at[i] = b.add(op, (), role, i)
            continue
        parents = tuple(map(new, graph.parents[i]))
        if len(constant) < len(b.roles):
            constant += [r[0] == "const" for r in b.roles[len(constant):]]
        if op is NEG or any(map(is_constant, parents)):
            same = _rewritten(b, op, parents, i)
            if same is not None:
                b.at[i] = same
                continue
        b.at[i] = b.add(op, parents, role, i)
    at = b.at
    # Nodes that no output needs any more (the 2 ** 1 of a folded square's slope) stay: the plan skips them.
    return Graph(b.ops, b.parents, b.roles, [at[i] for i in graph.outputs], graph.scalar, graph.traced,
                 tuple(b.sites) if graph.sites else (), tuple(at[i] for i in graph.gradients),
                 tuple(b.origins) if graph.origins else (), start, graph.labels)


def _rewritten(b: _Builder, op: Primitive, parents: tuple[int, ...], old: int) -> int | None:
    """The node an operation on ``parents`` is the same as, if folding finds one; else None."""
    numbers = [b.number(p) for p in parents]
    if None not in numbers:
        value = _evaluate(op, numbers)
        return None if value is None else b.constant(value)
    if op is MUL:
        return _product(b, parents, numbers, old)
    if op is POW and numbers[1] == 1.0:
        return parents[0]
    if op is ADD and 0.0 in numbers:
        return parents[1 - numbers.index(0.0)]
    if op is NEG and b.ops[parents[0]] is NEG:
        return b.parents[parents[0]][0]
    if op is SUM:
        terms = tuple(p for p, number in zip(parents, numbers) if number != 0.0)
        if len(terms) == 1:
            return terms[0]
        if len(terms) < len(parents):
            return b.add(SUM, terms, ("op",), old)
    return None


def _product(b: _Builder, parents: tuple[int, ...], numbers: list[float | None], old: int) -> int | None:
    """x * 1 -> x; c1 * (c2 * x) -> (c1 * c2) * x."""
    k = 0 if numbers[0] is not None else 1 if numbers[1] is not None else None
    if k is None:
        return None
    c, other = numbers[k], parents[1 - k]
    if c == 1.0:
        return other
    if b.ops[other] is MUL:
        inner = [b.number(p) for p in b.parents[other]]
        j = 0 if inner[0] is not None else 1 if inner[1] is not None else None
        if j is not None:
            scale = c * inner[j]
            x = b.parents[other][1 - j]
            if scale == 1.0:
                return x
            if math.isfinite(scale):
                return b.add(MUL, (b.constant(scale), x), ("op",), old)
    return None


def _evaluate(op: Primitive, numbers: list[float]) -> float | None:
    """The op's float form on constants, or None when it refuses them (left for the scalar engine's error)."""
    try:
        value = op.forward(*numbers)
    except (ArithmeticError, ValueError, TypeError):
        return None
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
