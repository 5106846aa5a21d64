"""Constant folding: a traced graph made smaller before it is planned, without changing its numbers.

A loss's gradient graph, as the engine's sweep over Values records it, holds
what is fixed by the graph's shape alone: the quadratic cost's
``2 * d ** 1 * 0.5``, a derivative's ``1 * up``.  Folding rewrites each node
once, parents first:

- an operation on constants only becomes the constant it computes (the
  table's float form, as the scalar engine computes it);
- ``x * 1``, ``x ** 1``, ``x + 0``, ``-(-x)`` and a sum of one term become ``x``;
  zero terms leave a sum;
- a product's constant factors are gathered: ``c1 * (c2 * x)`` becomes
  ``(c1 * c2) * x``, and ``(c1 * x) * (c2 * y)`` becomes ``x * y`` where
  ``c1 * c2`` is 1.

Only the last reorders a product (a few ulps of the result, where the
constants' product rounds); every other rewrite gives the same float.
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
        # Origins name fn's nodes, which folding keeps in place.
        self.origins.append(graph.origins[old] if graph.origins and old is not None else None)
        return len(self.ops) - 1

    def constant(self, number: float) -> int:
        key = (number, math.copysign(1.0, number))
        if key not in self.constants:
            self.constants[key] = self.add(None, (), ("const", number), None)
        return self.constants[key]

    def constant_of(self, node: int) -> float | None:
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
    scaled = [False] * len(b.roles)  # a product with a constant factor (among the gradients' nodes)
    new, is_constant, is_scaled = b.at.__getitem__, constant.__getitem__, scaled.__getitem__
    sites, origins = graph.sites or [None] * len(graph), graph.origins or [None] * len(graph)
    for i in range(start, len(graph)):
        role, op = graph.roles[i], graph.ops[i]
        if len(constant) < len(b.roles):  # nodes added by a rewrite: constants first, then products of one
            constant += [r[0] == "const" for r in b.roles[len(constant):]]
            scaled += [b.ops[k] is MUL and any(map(is_constant, b.parents[k]))
                       for k in range(len(scaled), len(b.roles))]
        if role[0] != "op":
            b.at[i] = b.add(op, (), role, i)
            continue
        parents = tuple(map(new, graph.parents[i]))
        if op is NEG or any(map(is_constant, parents)) or (op is MUL and any(map(is_scaled, parents))):
            same = _rewritten(b, op, parents, i)
            if same is not None:
                b.at[i] = same
                continue
            b.at[i] = b.add(op, parents, role, i)
            continue
        # The common case, most of a network's gradient graph: kept as it is, written here directly.
        b.at[i] = len(b.ops)
        b.ops.append(op)
        b.parents.append(parents)
        b.roles.append(role)
        b.sites.append(sites[i])
        b.origins.append(origins[i])  # a forward node's place does not change
        constant.append(False)
        scaled.append(False)
    at = b.at
    # Nodes that no output needs any more (the 2 ** 1 of a folded square's slope) stay: the plan skips them.
    return Graph(b.ops, b.parents, b.roles, [at[i] for i in graph.outputs], graph.scalar, graph.traced,
                 tuple(b.sites) if graph.sites else (), tuple(at[i] for i in graph.gradients),
                 tuple(b.origins) if graph.origins else (), start, graph.labels)


def _rewritten(b: _Builder, op: Primitive, parents: tuple[int, ...], old: int) -> int | None:
    """The node an operation on ``parents`` is the same as, if folding finds one; else None."""
    numbers = [b.constant_of(p) for p in parents]
    if None not in numbers:
        value = _evaluate(op, numbers)
        return None if value is None else b.constant(value)
    if op is MUL:
        return _product(b, parents, old)
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


def _product(b: _Builder, parents: tuple[int, ...], old: int) -> int | None:
    """A product's constant factors gathered: ``c1 * (c2 * x)`` -> ``(c1 * c2) * x``, and
    ``(c1 * x) * (c2 * y)`` -> ``x * y`` where ``c1 * c2`` is 1.

    So ``x * 1`` is ``x``, and the quadratic cost's ``(2 * d) * (0.5 * seed)`` is ``d * seed``.
    """
    scale, rest = 1.0, []
    for p in parents:
        c, x = _factors(b, p)
        scale *= c
        if x is not None:
            rest.append(x)
    if scale == 1.0 and len(rest) == 1:
        return rest[0]
    if tuple(rest) == parents or not math.isfinite(scale) or (len(rest) == 2 and scale != 1.0) or \
            (len(rest) == 1 and sorted(map(_key, [scale, rest[0]])) == sorted(map(_key, _named(b, parents)))):
        # Nothing to gather (already c * x, or x * y), or a factor that does not cancel: left where it
        # is, since moved out of two factors it would scale every product downstream of them instead.
        return None
    inner = rest[0] if len(rest) == 1 else b.add(MUL, tuple(rest), ("op",), old)
    return inner if scale == 1.0 else b.add(MUL, (b.constant(scale), inner), ("op",), old)


def _named(b: _Builder, parents: tuple[int, ...]) -> list[float | int]:
    """Each parent as its number if it is a constant, else as itself (a node)."""
    return [b.constant_of(p) if b.constant_of(p) is not None else p for p in parents]


def _key(item: float | int) -> tuple[bool, float]:
    return (isinstance(item, float), float(item))


def _factors(b: _Builder, node: int) -> tuple[float, int | None]:
    """``node`` as (constant factor, the rest): c -> (c, None), c * x -> (c, x), x -> (1, x)."""
    number = b.constant_of(node)
    if number is not None:
        return number, None
    if b.ops[node] is MUL:
        x, y = b.parents[node]
        if b.constant_of(x) is not None:
            return b.constant_of(x), y
        if b.constant_of(y) is not None:
            return b.constant_of(y), x
    return 1.0, node


def _evaluate(op: Primitive, numbers: list[float]) -> float | None:
    """The op's float form on constants, or None when it refuses them (left for the scalar engine's error)."""
    try:
        value = op.forward(*numbers)
    except (ArithmeticError, ValueError, TypeError):
        return None
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
