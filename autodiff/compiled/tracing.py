"""Tracing: run a function once on placeholder inputs and keep its graph as plain data.

A traced :class:`Graph` lists every node, parents before children, with its
primitive, the positions of its parents and its role: a per-sample input
(``arg``, ``index``), a shared parameter (its position in the program's
parameter vector), a constant (its number), or an operation.  Two traces of the
same function on different samples must give equal graphs; when they do not,
the function's graph depends on the data and cannot be replayed.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import filterfalse
from operator import attrgetter, itemgetter
from typing import Any

from ..backward import Visit, collector_paused, gradients, topological_order
from ..context import OPEN_BLOCKS
from ..errors import GraphError, StaleGraphError
from ..naming import describe
from ..primitives import CONSTANT, Primitive
from ..value import Value
from ..value import sum as _sum

_HELP = (
    "compiled mode replays one graph for every sample, so fn may not turn input numbers into "
    "Python decisions or constants (if/while on values, float(), max(v.data ...), .data). "
    "Compute with Values only (relu instead of an if), or train this function with the scalar engine."
)


class TraceError(GraphError):
    """fn cannot be compiled: its graph depends on the data, or it uses Values compiled mode cannot see."""


class Placeholder(Value):
    """A per-sample input while tracing.

    Its number is only an example, so reading it in Python (``.data``,
    ``float()``, comparisons) raises :class:`TraceError` at the line that does it.
    """

    __slots__ = ()

    @property
    def data(self) -> float:
        """Not readable while tracing: always raises :class:`TraceError`."""
        raise TraceError(f"fn read the number of the input {describe(self)} while tracing; {_HELP}")

    @data.setter
    def data(self, value: float) -> None:
        raise TraceError(f"fn assigned to the input {describe(self)} while it was being traced; {_HELP}")

    def _compared(self, other: Any) -> bool:
        raise TraceError(f"fn compared the input {describe(self)} with {other!r:.40} while tracing; {_HELP}")

    __lt__ = __le__ = __gt__ = __ge__ = _compared

    def __float__(self) -> float:
        raise TraceError(f"fn converted the input {describe(self)} to a float while tracing; {_HELP}")


#: Which backward step made a node of the gradient graph: (the forward node visited, the operand
#: it sent to, or None for the sum of what it received and the partials shared by its operands).
Origin = tuple

#: What a traced node is, as a tagged tuple: ("input", argument, index) for a per-sample
#: input, ("param", position) for a parameter, ("const", number), ("seed",) for the number a
#: gradient graph starts from, or ("op",) for a result.
Role = tuple


@dataclass(frozen=True)
class Graph:
    """A traced graph as data: node i has primitive ``ops[i]``, parents ``parents[i]``, role ``roles[i]``.

    Nodes are in topological order (parents first).  ``outputs`` are the node
    positions fn returned; ``scalar`` says fn returned one Value, not a list.

    A loss's graph also holds its gradients, as the engine's own sweep over
    Values recorded them: ``gradients[k]`` is the node of d(loss)/d(parameter
    k), per sample (a program sums them over the batch).  The nodes fn made
    come first, ``forward`` of them; the sweep's nodes follow, and
    ``origins[i]`` says which backward step made node i: (the forward node
    visited, the operand it sent to or None), None for fn's own nodes.
    """

    ops: list[Primitive | None]
    parents: list[tuple[int, ...]]
    roles: list[Role]
    outputs: list[int]
    scalar: bool
    traced: tuple[float, ...] = ()  # the outputs' (then the gradients') numbers on the traced sample
    sites: tuple[str | None, ...] = ()  # where each node was made, when anomaly mode recorded it
    gradients: tuple[int, ...] = ()
    origins: tuple[Origin | None, ...] = ()
    forward: int = -1  # how many nodes fn made (with the leaves): all of them unless there are gradients
    labels: tuple[str | None, ...] = ()  # of fn's nodes, when there are gradients: origins name them

    def __len__(self) -> int:
        return len(self.ops)

    def forward_part(self) -> Graph:
        """fn's own graph, without the gradients: what a trace of fn alone records (compared, not run)."""
        if not self.gradients:
            return self
        k = self.forward
        return Graph(self.ops[:k], self.parents[:k], self.roles[:k], self.outputs, self.scalar)

    def difference(self, other: Graph) -> str | None:
        """Where ``other`` differs from this graph, in words; None if the graphs are the same."""
        if (self.scalar, len(self.outputs)) != (other.scalar, len(other.outputs)):
            return f"fn returned {_count(self)} for one sample and {_count(other)} for the other"
        if (self.ops, self.parents, self.roles, self.outputs, self.gradients) == \
                (other.ops, other.parents, other.roles, other.outputs, other.gradients):
            return None  # compared in C, list by list; the words below are only for a difference
        for i in range(min(len(self), len(other))):
            mine, theirs = self._node(i), other._node(i)
            if mine != theirs:
                return f"node {i} is {mine} in one trace and {theirs} in the other"
        if len(self) != len(other):
            return f"the traces have {len(self)} and {len(other)} nodes"
        if self.outputs != other.outputs:
            return f"fn returned nodes {self.outputs[:5]} in one trace and {other.outputs[:5]} in the other"
        if self.gradients != other.gradients:
            return "the gradients are different nodes in the two traces"
        return None

    def needed(self, outputs: Sequence[int]) -> list[bool]:
        """Whether each node is needed for ``outputs`` (itself one of them, or an ancestor of one)."""
        needed = [False] * len(self)
        for i in outputs:
            needed[i] = True
        parents = self.parents
        for i in range(len(self) - 1, -1, -1):  # children after parents: one pass back marks every ancestor
            if needed[i]:
                for p in parents[i]:
                    needed[p] = True
        return needed

    def part(self, outputs: Sequence[int], scalar: bool, argument: int | None = None,
             gradients: Sequence[int] = ()) -> Graph:
        """The graph of some of the outputs (and ``gradients``) alone: the nodes they depend on, renumbered.

        With ``argument``, their per-sample inputs must all belong to that
        argument, which becomes the part's only one.  Order is kept, so the
        part is the graph a trace of those outputs alone records.
        """
        needed = self.needed([*outputs, *gradients])
        kept = [i for i in range(len(self)) if needed[i]]
        position = {i: k for k, i in enumerate(self.outputs)}
        traced = tuple(self.traced[position[i]] for i in outputs) if self.traced else ()
        if self.traced and gradients:
            traced += self.traced[len(self.outputs):]
        forward = sum(1 for i in kept if i < self.forward) if gradients else -1
        if len(kept) == len(self):  # every node: the lists stay as they are
            return Graph(self.ops, self.parents, self.roles, list(outputs), scalar, traced, self.sites,
                         tuple(gradients), self.origins if gradients else (), forward,
                         self.labels if gradients else ())
        new = [-1] * len(self)
        for k, i in enumerate(kept):
            new[i] = k
        renumber = new.__getitem__
        roles = []
        for i in kept:
            role = self.roles[i]
            if role[0] == "input" and argument is not None:
                if role[1] != argument:
                    raise TraceError(f"the outputs depend on input {role[1]}[{role[2]}], not only on "
                                     f"argument {argument}")
                role = ("input", 0, role[2])
            roles.append(role)
        parents = [tuple(map(renumber, self.parents[i])) for i in kept]
        sites = tuple(self.sites[i] for i in kept) if self.sites else ()
        ops = [self.ops[i] for i in kept]
        origins = ()
        if gradients and self.origins:
            origins = tuple(None if self.origins[i] is None or new[self.origins[i][0]] < 0
                            else (new[self.origins[i][0]], self.origins[i][1]) for i in kept)
        labels = tuple(self.labels[i] for i in kept if i < self.forward) if gradients and self.labels else ()
        return Graph(ops, parents, roles, list(map(renumber, outputs)), scalar, traced, sites,
                     tuple(map(renumber, gradients)), origins, forward, labels)

    def _node(self, i: int) -> str:
        role, op = self.roles[i], self.ops[i]
        if role[0] == "op":
            return f"{op.name}({', '.join(f'node {p}' for p in self.parents[i])})"
        if role[0] == "const":
            return f"the constant {role[1]!r}"
        if role[0] == "input":
            return f"input {role[1]}[{role[2]}]"
        if role[0] == "seed":
            return "the seed of the gradients"
        return f"parameter {role[1]}"


def _count(graph: Graph) -> str:
    return "one Value" if graph.scalar else f"a list of {len(graph.outputs)} Values"


def record(result: Any, inputs: dict[Value, tuple[int, int]], params: dict[Value, int], start: int,
           full: bool = True, sites: bool = True, gradients: Sequence[Value] = (),
           visits: Sequence[Visit] = (), swept: int = 0, sample: Sequence[Sequence[float]] = (),
           seed: Value | None = None) -> Graph:
    """The graph behind ``result`` (a Value or a list of Values) as a :class:`Graph`.

    ``inputs`` maps leaf -> (argument, index) for the per-sample inputs,
    ``params`` maps leaf -> position for the shared parameters (Values hash
    by identity, so they are their own keys); other
    leaves created after ``start`` (during fn) are constants.  Without
    ``full``, the traced numbers and the sites are left out: a graph made only
    to be compared with another (:meth:`Graph.difference`) needs neither.
    ``sites`` False says no node can have one (anomaly mode was never on).
    ``gradients`` (one per parameter) and the ``visits`` of the sweep that
    recorded them from tick ``swept`` on become the graph's gradients and
    their origins; ``seed`` is the leaf the sweep started from (role
    ``("seed",)``).  ``sample`` holds the inputs' numbers, for an output that is an input.

    A MNIST loss is 50,000 nodes and its gradients 25,000 more, so each list
    is built in one pass with C-level look-ups (slots where they can;
    operands through `parents`).
    """
    outputs, scalar = _outputs(result)
    gradients = list(gradients)
    leaves, made = _nodes(outputs + gradients, inputs, params)
    nodes = [node for _, node in leaves] + made
    # Keyed by the nodes themselves (they hash by identity): one C-level call per look-up.
    where = dict(zip(nodes, range(len(nodes)))).__getitem__
    roles: list[Role] = [("input", *key[1:]) if key[0] == 0 else ("param", key[1]) for key, _ in leaves]
    made_ops = list(map(_op, made))
    roles += [_OP if op is not None and op is not CONSTANT else _SEED if node is seed else _role(node, start)
              for op, node in zip(made_ops, made)]
    parents = [()] * len(leaves) + [tuple(map(where, ps)) for ps in map(_parents, made)]
    ops = [None] * len(leaves) + [op if role is _OP else None
                                  for op, role in zip(made_ops, roles[len(leaves):])]
    # A placeholder's number is not readable (fn must not read it): its sample's number is its key's.
    numbers = {node: sample[key[0]][key[1]] for node, key in inputs.items()} if sample else {}
    traced = tuple(numbers[v] if v in numbers else v.data for v in outputs + gradients) if full else ()
    made_at = _sites(nodes) if full and sites else ()
    graph = Graph(ops, parents, roles, [where(v) for v in outputs], scalar, traced, made_at)
    if not gradients:
        return graph
    forward = len(leaves) + bisect.bisect_left(list(map(_created, made)), swept)  # made: in creation order
    return replace(graph, gradients=tuple(map(where, gradients)), forward=forward,
                   origins=_origins(nodes, forward, roles, visits, where),
                   labels=tuple(map(_label, nodes[:forward])) if full else ())


def _origins(nodes: list[Value], forward: int, roles: list[Role], visits: Sequence[Visit],
             where: Callable[[Value], int]) -> tuple[Origin | None, ...]:
    """Which visit of the sweep made each node from ``forward`` on, and along which edge if it says.

    The nodes and the visits are both in creation order: one pass over each.
    """
    edge = {}  # what the chain rule sent along an edge: the node of partial x upstream
    for visit in visits:
        for k, sent in enumerate(visit.sent):
            if isinstance(sent.contribution, Value) and sent.contribution.created >= visit.first:
                edge.setdefault(sent.contribution, k)
    origins: list[Origin | None] = [None] * forward
    k, last = -1, len(visits) - 1
    visited = None
    for node, role, created in zip(nodes[forward:], roles[forward:], map(_created, nodes[forward:])):
        while k < last and visits[k + 1].first <= created:
            k += 1
            visited = where(visits[k].node)
        origins.append(None if visited is None or role is not _OP else (visited, edge.get(node)))
    return tuple(origins)


#: The role of every operation node: one shared tuple, so comparing two traces' roles is mostly identity.
_OP: Role = ("op",)
#: The role of the leaf a gradient graph's sweep starts from: d(total)/d(loss), given at each call.
_SEED: Role = ("seed",)
_op, _parents, _created, _label = (attrgetter("primitive"), attrgetter("parents"), attrgetter("created"),
                                   attrgetter("label"))


def _sites(nodes: list[Value]) -> tuple[str | None, ...]:
    """Where each node was made; () when none recorded it."""
    made_at = tuple(node.site for node in nodes)
    return made_at if any(made_at) else ()


def _outputs(result: Any) -> tuple[list[Value], bool]:
    if isinstance(result, Value):
        return [result], True
    if isinstance(result, (str, bytes)) or not isinstance(result, Sequence):
        raise TraceError(f"fn must return a Value or a list of Values, not {type(result).__name__}")
    for i, item in enumerate(result):
        if not isinstance(item, Value):
            raise TraceError(f"fn must return Values; item {i} of its result is {type(item).__name__} "
                             f"({item!r:.40})")
    if not result:
        raise TraceError("fn returned an empty list; it must return at least one Value")
    return list(result), False


def _nodes(outputs: list[Value], inputs: dict[Value, tuple[int, int]],
           params: dict[Value, int]) -> tuple[list[tuple[tuple[int, int, int], Value]], list[Value]]:
    """Every node the outputs depend on, parents first, in an order that two traces of fn share.

    Returns the input and parameter leaves with their sort keys, then the rest.

    Inputs come first by (argument, index), then parameters by position, then
    the nodes fn made, in creation order (a node is created after its parents).
    Creation order alone would not do for the leaves: parameters are made
    outside fn, and their order must not depend on how they were made.
    """
    root = outputs[0] if len(outputs) == 1 else _sum(outputs)  # one walk: outputs share most nodes
    order = topological_order(root)  # in creation order: made stays sorted by it
    if len(outputs) > 1:
        order.pop()  # the sum made for the walk
    found = set(order)
    # The leaves found among the graph's nodes, looked up from the (fewer) inputs and parameters.
    leaves = [((0, *key), node) for node, key in inputs.items() if node in found]
    leaves += [((1, position, 0), node) for node, position in params.items() if node in found]
    leaves.sort(key=_key)
    made = list(filterfalse(params.__contains__, filterfalse(inputs.__contains__, order)))
    return leaves, made


_key = itemgetter(0)


def _role(node: Value, start: int) -> Role:
    """The role of a node that is neither a per-sample input nor a parameter."""
    if node.primitive is CONSTANT:
        return ("const", node.data)
    if node.primitive is not None:
        return ("op",)
    if node.created >= start:  # a leaf fn made itself: a number fixed at trace time
        return ("const", node.data)
    raise TraceError(
        f"fn uses {describe(node)} = {node.data!r}, a Value made outside fn that is not in params; "
        "compiled code would not see changes to it. Pass it in params (it then gets a gradient too)."
    )


def trace(fn: Callable[..., Any], sample: Sequence[Sequence[float]], names: Sequence[str],
          params: dict[Value, int], full: bool = True, differentiate: str = "no") -> Graph:
    """Call fn on placeholders holding one sample (one array per argument) and record its graph.

    With ``differentiate`` "scalar" (when fn returns one Value) or "first"
    (fn's first output), the graph also holds the gradients of that output
    by every parameter, as the engine's sweep over Values records them.
    ``full`` as for :func:`record`: a trace made only to check another needs less.
    """
    with collector_paused():
        blocks = OPEN_BLOCKS.count  # none open before or after fn: anomaly mode was off, no sites
        start = Value(0.0).created
        arguments = [[Placeholder(float(x), label=f"{names[k]}[{j}]") for j, x in enumerate(row)]
                     for k, row in enumerate(sample)]
        inputs = {v: (k, j) for k, row in enumerate(arguments) for j, v in enumerate(row)}
        result = fn(*arguments)
        grads: list[Value] = []
        visits: list[Visit] = []
        seed = None
        sweep_start = Value(0.0).created
        outputs, scalar = _outputs(result)
        if differentiate == "first" or (differentiate == "scalar" and scalar):
            loss = outputs[0]
            wrt = sorted(params, key=params.__getitem__)
            # The seed d(total)/d(loss) is a leaf of the gradient graph, given at each call (1/B for a
            # mean): every gradient is scaled where the sweep starts, as backward(gradient=...) does.
            seed = Value(1.0, label="seed")
            # A gradient that is a number (0 for a parameter the loss does not use) becomes a constant.
            try:
                swept = gradients(loss, wrt, seed, visits=visits)
            except StaleGraphError as error:
                raise TraceError(f"{error} While tracing, this means fn assigned .data of a Value after "
                                 "using it. Compute with new Values instead of changing old ones.") from None
            grads = [g if isinstance(g, Value) else Value(g) for g in swept]
        return record(result, inputs, params, start, full, sites=bool(blocks or OPEN_BLOCKS.count),
                      gradients=grads, visits=visits, swept=sweep_start, sample=sample, seed=seed)


def trace_values(fn: Callable[..., Any], sample: Sequence[Sequence[float]],
                 params: dict[Value, int]) -> tuple[Graph, list[Value]]:
    """Call fn on plain Values (the scalar engine) and record its graph; also return the outputs."""
    with collector_paused():
        start = Value(0.0).created
        arguments = [[Value(float(x)) for x in row] for row in sample]
        inputs = {v: (k, j) for k, row in enumerate(arguments) for j, v in enumerate(row)}
        result = fn(*arguments)
        return record(result, inputs, params, start, full=False), _outputs(result)[0]
