"""Replay a recorded graph forward with some nodes' numbers changed, from the table's forward rules.

A graph is data (each node holds its primitive and its parents), so it can be
evaluated again without running the user's code: every node downstream of the
changed ones is recomputed by its primitive's ``forward``, in creation order
(parents before children), and nothing else is touched.  The new numbers live
in a dict owned by the replay; no node's ``data`` or ``grad`` changes.

:func:`replay` is the what-if for people (change a leaf, see the loss move);
``autodiff.testing.check_nodes`` uses the same :class:`Replayer` to take
central differences at every node.

>>> from autodiff import Value, replay
>>> w = Value(0.5, label="w")
>>> loss = (w * 3 - 1) ** 2
>>> loss.data, round(replay(loss, {w: 0.7}), 12), w.data
(0.25, 1.21, 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from operator import attrgetter
from typing import Any

from .context import located
from .errors import DivisionByZeroError, DomainError, GraphError, NonFiniteError
from .graph import check_all_fresh, topological_order
from .naming import describe, find_node, operands
from .node import Node
from .primitives import checked_forward
from .value import Value, checked_number

_creation = attrgetter("_created")


class Replayer:
    """The recorded graph of ``root``, ready to be replayed with some nodes changed.

    Building it sorts the graph once and indexes who consumes each node, so
    each replay recomputes only what lies downstream of the changed nodes
    (perturbing one weight of an MNIST-sized graph replays a few dozen nodes,
    not fifty thousand).
    """

    def __init__(self, root: Node) -> None:
        self.root = root
        self.order = topological_order(root)
        # A graph computed from a leaf assigned since would replay old and new numbers mixed.
        check_all_fresh(self.order)
        self.consumers: dict[Any, list[Any]] = {}
        for node in self.order:
            for parent in set(node.parents):
                self.consumers.setdefault(parent, []).append(node)

    def downstream(self, changed: Iterable[Node]) -> list[Node]:
        """Every node that depends on a changed node (the changed ones excluded), in creation order."""
        changed = set(changed)
        found: set[Any] = set()
        stack = list(changed)
        while stack:
            for consumer in self.consumers.get(stack.pop(), ()):
                if consumer not in found and consumer not in changed:
                    found.add(consumer)
                    stack.append(consumer)
        return sorted(found, key=_creation)

    def replay(self, changes: Mapping[Any, float], downstream: list[Any] | None = None) -> dict[Any, float]:
        """The new number of every changed node and of everything downstream of them, by node.

        ``downstream`` is :meth:`downstream` of the changed nodes, when the
        caller replays the same nodes many times.  Raises :class:`DomainError`
        or :class:`NonFiniteError` naming the node whose forward rule failed.
        """
        numbers = dict(changes)
        for node in self.downstream(changes) if downstream is None else downstream:
            args = [numbers.get(p, p.data) for p in node.parents]
            numbers[node] = _forward(node, args)
        return numbers

    def value(self, changes: Mapping[Any, float], downstream: list[Any] | None = None) -> float:
        """The root's number after replaying with ``changes``."""
        numbers = self.replay(changes, downstream)
        return numbers.get(self.root, self.root.data)


def _forward(node: Node, args: list[float]) -> float:
    """One node's forward rule at new inputs, with errors that name the node and the numbers."""
    op = node.primitive
    try:
        out = op.forward(*args)
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        kind = DivisionByZeroError if isinstance(error, ZeroDivisionError) else DomainError
        if isinstance(error, OverflowError):
            kind = NonFiniteError
        raise located(kind(
            f"replaying {describe(node)}: {op.name} is undefined for {_inputs(op, args)}; "
            f"{op.needs()}"
        ), node) from None
    if type(out) is not float:
        out = checked_forward(op, out)
    if out - out != 0.0:  # inf or nan
        raise located(NonFiniteError(
            f"replaying {describe(node)}: {op.name} gave {out!r} for {_inputs(op, args)}; "
            "the result does not fit in a float"
        ), node)
    return out


def _inputs(op: Any, args: list[float]) -> str:
    return ", ".join(f"{op.input_name(i)} = {x!r}" for i, x in enumerate(args[:4])) + (
        ", ..." if len(args) > 4 else "")


def replay(root: Value, changes: Mapping[Any, float]) -> float:
    """The root's number if some leaves had other values: the recorded graph replayed forward.

    ``changes`` maps leaves (the Values, or their labels) to new numbers.
    Only the nodes downstream of them are recomputed, each by its
    primitive's forward rule; no code of yours is re-run, and the graph, the
    leaves and every ``grad`` stay as they were.  It gives what rebuilding the
    graph at the new values would give, for graphs whose shape does not
    depend on the numbers (Python ``if``s on ``.data`` are not recorded).

    >>> from autodiff import Value, replay
    >>> x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    >>> y = (x * w + b).tanh()
    >>> round(y.data, 6), round(replay(y, {"w": 0.5, b: 0.0}), 6)
    (-0.999909, 0.761594)
    """
    if not isinstance(root, Value):
        raise GraphError(f"replay needs the root Value of a graph, not {type(root).__name__}")
    replayer = Replayer(root)
    return replayer.value(_leaf_changes(replayer.order, changes))


def _leaf_changes(order: list[Node], changes: Mapping[Any, float]) -> dict[Node, float]:
    if not isinstance(changes, Mapping):
        raise TypeError(f"replay takes a dict of leaf -> new number, not {type(changes).__name__}")
    leaves: dict[Any, float] = {}
    for target, number in changes.items():
        leaf = find_node(order, target, "leaf")
        if not leaf.is_leaf:
            what = ("a constant" if leaf.is_constant
                    else f"computed from {operands(leaf.primitive, leaf.parents)}")
            raise GraphError(
                f"replay changes leaves only; {describe(leaf)} is {what}. Change the leaves it was "
                "computed from instead"
            )
        leaves[leaf] = checked_number(number, "replay", leaf.label)
    return leaves
