"""The reverse sweep: the chain rule, applied once per node.

For every node, from the root back to the leaves, each operand receives

    (local partial of the node by that operand) * (gradient arriving at the node)

and the partials come from the primitive table, nowhere else.  The gradient
arriving at a node is the sum of what its consumers sent it; because nodes are
visited in reverse topological order, it is complete before it is passed on.

:func:`chain_rule` is that rule at one node, and the only place it is written.
A :class:`Sweep` is one pass: it owns the pass's gradients (never the nodes),
so two threads, or a half-stepped graph in a REPL and a backward elsewhere,
never mix their numbers.  ``backward`` runs a sweep to the end and adds it into
``.grad`` under a lock; the stepper runs the same sweep one node at a time;
gradients as Values (``grad``, ``create_graph``) are the same sweep over Values.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Container
from operator import attrgetter
from typing import Any, NamedTuple

from . import clock
from .context import located
from .errors import DomainError, GraphError, NonFiniteError, RuleError
from .graph import (
    check_all_fresh,
    check_fresh,
    check_root,
    collector_paused,
    creation_order,
    is_computed,
    topological_order,
)
from .naming import describe, operands
from .node import Node
from .primitives import CONSTANT, FLOATS, checked_partial, first_input, one, second_input

#: Serialises what passes add into the shared ``.grad`` of nodes.
_grad_lock = threading.Lock()


#: Backward's float pass keeps its running gradients in the nodes it sweeps
#: (see :func:`_backward_floats`) and marks the nodes it reaches; it holds this
#: lock meanwhile, so two threads' marks and numbers never mix.  Under the GIL
#: that costs no parallelism.  Re-entrant: a partial may build and walk a graph.
_lock = threading.RLock()
#: The thread running a float pass now (a backward inside it must not reuse the slots).
_pass_thread: int | None = None


def _reach(root: Node) -> tuple[list[Node], list[Node]]:
    """The float pass's walk: the root's (computed nodes, leaves), once each, every ``_up`` set to 0.

    Constants are left out: they pass nothing on and receive no gradient.  A
    mark in each node reached (unique to this walk, so no clean-up pass is
    needed) is one attribute test per edge, cheaper than a set; the caller
    holds the lock.
    """
    mark = object()
    root._mark, root._up = mark, 0.0
    computed, leaves = ([root], []) if is_computed(root) else ([], [root])
    add_computed, add_leaf, constant = computed.append, leaves.append, CONSTANT
    for node in computed:  # the list grows as the walk finds computed nodes: each is expanded once
        # Unrolled for two operands (nearly every node), as the sweep is: a quarter faster.
        if node._op.arity == 2:
            x, y = node._x, node._y
            if x._mark is not mark and x._op is not constant:
                x._mark, x._up = mark, 0.0
                (add_computed if x._op is not None else add_leaf)(x)
            if y._mark is not mark and y._op is not constant:
                y._mark, y._up = mark, 0.0
                (add_computed if y._op is not None else add_leaf)(y)
            continue
        for parent in (node._x,) if node._op.arity == 1 else node._many:
            if parent._mark is not mark and parent._op is not constant:
                parent._mark, parent._up = mark, 0.0
                (add_computed if parent._op is not None else add_leaf)(parent)
    return computed, leaves


class Sent(NamedTuple):
    """What the chain rule sent along one edge: the local partial, and partial × upstream.

    Both are None for a constant operand, which needs no gradient.
    """

    partial: Any
    contribution: Any


_NOTHING = Sent(None, None)


def chain_rule(node: Node, grads: dict[Node, Any], functions: Any = None,
               wanted: Container[Node] | None = None) -> list[Sent]:
    """The chain rule at one node: add partial × upstream into each operand's gradient.

    ``grads`` holds the gradients of one pass by node; ``grads[node]`` must be
    complete.  Returns what it sent along each edge, one :class:`Sent` per
    operand, the very numbers it added (the stepper records them).  With
    ``functions``, the namespace of elementary functions on Values (the ``m``
    of the table's partials, ``Value.FUNCTIONS``), the partials are computed on
    the Values themselves, so they are recorded and the gradients can be
    differentiated again.  With ``wanted``, operands outside it are sent
    nothing (a sweep for some gradients only records no node for the others).
    """
    upstream = grads[node]
    if type(upstream) is _Parts:  # over Values: what the node received becomes one sum, now
        upstream = grads[node] = upstream.total(functions)
    if node._created < clock.last_assignment:
        check_fresh(node)
    partials = local_partials(node, functions, wanted)
    sent = []
    for parent, partial in zip(node.parents, partials):
        if partial is None or (wanted is not None and parent not in wanted):
            sent.append(_NOTHING)
        elif functions is None:
            contribution = partial * upstream
            grads[parent] += contribution
            sent.append(Sent(partial, contribution))
        else:
            before, contribution = grads[parent], _times(partial, upstream)
            if type(before) is _Parts:
                before.append(contribution)
            else:  # the first contribution replaces 0.0 (no needless node), a second starts the parts
                grads[parent] = contribution if _is_zero(before) else _Parts((before, contribution))
            sent.append(Sent(partial, contribution))
    return sent


def _times(partial: Any, upstream: Any) -> Any:
    """partial * upstream over Values, recording no multiplication by the number 1 (1 * u is u).

    A plain number here is fixed by the graph's shape (a partial of constants
    only, the seed), never read off a Value, so the same holds at every input.
    """
    if type(upstream) is float and upstream == 1.0:
        return partial
    if type(partial) is float and partial == 1.0:
        return upstream
    return partial * upstream


class _Parts(list):
    """The contributions a node has received so far in a sweep over Values, in the order they came.

    They become one n-ary ``sum`` when the node is visited (or, for a leaf, when
    the sweep ends): a gradient is then one node over its paths, not a chain of
    additions, so a layer's input gradient reads as ``sum(w * up ...)`` (the
    dense pattern compiled mode matches).  ``sum`` adds left to right from 0,
    as the float pass adds into a node, so the numbers are the float pass's.
    """

    def total(self, functions: Any) -> Any:
        return functions.total(self)


def _backward_floats(root: Node, seed: float) -> None:
    """backward() on floats, fast: :func:`chain_rule` at every node, with the pass's gradients in slots.

    The same rule in the same order, with the same float operations as a
    :class:`Sweep`, but keeping each node's gradient so far in its ``_up`` slot
    instead of a dict, visiting only computed nodes (leaves and constants pass
    nothing on, and need no place in the order), unrolled for one and two
    operands and with the table's named partials (:func:`one`,
    :func:`first_input`, :func:`second_input`) multiplied in place instead of
    called.  With operands in slots (see Value) that halves backward on an
    MNIST-sized graph (benchmarks/bench_engine.py).  The slots
    belong to this pass only while it holds the lock, so passes are
    serialised; the stepper and every other pass that lives on keep their own
    :class:`Sweep`.
    """
    global _pass_thread
    with _lock, collector_paused():
        _pass_thread = threading.get_ident()
        try:
            computed, leaves = _reach(root)
            computed.sort(key=creation_order)
            root._up = seed
            _sweep_slots(computed)
            nodes = computed + leaves
            if _add_slots_into_grads(nodes):
                return
            # Some gradient of the pass, or some sum with an old .grad, is not finite, or some old
            # .grad is None or a Value: name the step, out of the grad lock (partials run user code).
            parts = [node._up for node in nodes]
            if not _all_finite(parts):
                order = sorted(nodes, key=creation_order)
                _raise_non_finite(order, dict(zip(nodes, parts)), None)
            add_into_grads(nodes, parts)
        finally:
            _pass_thread = None


def _sweep_slots(computed: list[Node]) -> None:
    """:func:`chain_rule` at every computed node, root first, on floats in ``_up`` slots."""
    m, constant, last = FLOATS, CONSTANT, clock.last_assignment
    for node in reversed(computed):
        if node._created < last:
            check_fresh(node)
        op, upstream = node._op, node._up
        try:
            if op.arity == 2:
                x, y = node._x, node._y
                dx, dy = op.partials
                if x._op is not constant:
                    if dx is second_input:
                        x._up += y._data * upstream
                    elif dx is one:
                        x._up += upstream
                    else:
                        p = dx((x._data, y._data), node._data, m)
                        x._up += (p if type(p) is float else checked_partial(op, 0, p, m)) * upstream
                if y._op is not constant:
                    if dy is first_input:
                        y._up += x._data * upstream
                    elif dy is one:
                        y._up += upstream
                    else:
                        p = dy((x._data, y._data), node._data, m)
                        y._up += (p if type(p) is float else checked_partial(op, 1, p, m)) * upstream
            elif op.arity == 1:
                x = node._x
                if x._op is not constant:
                    p = op.partials[0]((x._data,), node._data, m)
                    x._up += (p if type(p) is float else checked_partial(op, 0, p, m)) * upstream
            elif op.arity is None:  # n-ary: one partial, the same for every operand
                parents = node._many
                part = upstream if op.partials[0] is one else \
                    op.partial(0, list(map(_data, parents)), node._data, m) * upstream
                for parent in parents:
                    if parent._op is not constant:
                        parent._up += part
            else:
                for parent, partial in zip(node._many, local_partials(node)):
                    if partial is not None:
                        parent._up += partial * upstream
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            local_partials(node)  # raises the error that names the operand
            raise
    if clock.last_assignment != last:  # another thread assigned a leaf during the sweep
        check_all_fresh(computed)


def local_partials(node: Node, functions: Any = None, wanted: Container[Node] | None = None) -> list[Any]:
    """The local partial of ``node`` by each operand, from the primitive table.

    ``None`` stands for a constant operand, which needs no gradient (this also
    skips d(x**c)/dc, undefined for a negative x), and for an operand outside
    ``wanted`` when it is given.  With ``functions`` the partials are computed
    on the Values (constants stay plain numbers).
    """
    op, parents = node._op, node.parents
    if functions is None:
        args, out, m = list(map(_data, parents)), node._data, FLOATS
    else:
        args, out, m = [p._data if p._op is CONSTANT else p for p in parents], node, functions
    try:
        if op.arity is None:
            # An n-ary primitive has one rule for every operand, and the rule is not told which
            # operand it is for: so it is the same number for each, computed once.
            shared = op.partial(0, args, out, m)
            return [None if p._op is CONSTANT or (wanted is not None and p not in wanted) else shared
                    for p in parents]
        return [None if p._op is CONSTANT or (wanted is not None and p not in wanted)
                else op.partial(i, args, out, m) for i, p in enumerate(parents)]
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        raise _partial_error(node, args, out, m) from None


_data = attrgetter("_data")


def _partial_error(node: Node, args: list[Any], out: Any, m: Any) -> Exception:
    """The error of the first partial that fails, naming the op, the operand and the numbers."""
    op, parents = node._op, node.parents
    for i, parent in enumerate(parents):
        if parent._op is CONSTANT:
            continue
        try:
            op.partial(i, args, out, m)
        except RuleError as error:  # it says what the rule returned; add where
            return located(RuleError(f"backward through {op.name}: {error} (inputs were "
                                      f"{operands(op, parents)})"), node)
        except OverflowError:
            return located(NonFiniteError(
                f"backward through {op.name}: the local partial by {op.input_name(i)}, "
                f"{op.formula(i)}, overflows a float for {operands(op, parents)}"
            ), node)
        except (ValueError, ZeroDivisionError) as error:
            return located(DomainError(
                f"backward through {op.name}: the local partial by {op.input_name(i)}, "
                f"{op.formula(i)}, is undefined for {operands(op, parents)} ({error or 'infinite'})"
            ), node)
        except TypeError as error:
            return located(TypeError(
                f"the local partial of {op.name} by {op.input_name(i)} failed: {error}. A partial must "
                "work on floats, arrays and Values alike: write it with plain arithmetic and the "
                "namespace it is given (m.cos(x), m.log(x)), never math.cos or float()"
            ), node)
    return AssertionError(f"a partial of {op.name} failed only when computed together")


def _is_zero(x: Any) -> bool:
    return type(x) is float and x == 0.0


class Sweep:
    """One reverse pass over the graph of ``root``.

    ``grads`` maps every node to its gradient so far in this pass: the root
    starts at ``seed``, everything else at 0.  :meth:`visit` applies the chain
    rule at one node, :meth:`run` visits every node in reverse topological
    order and :meth:`write` adds the finished pass into ``.grad``.
    """

    def __init__(self, root: Node, seed: Any = 1.0, functions: Any = None,
                 wanted: Container[Node] | None = None) -> None:
        self.root = root
        self.functions = functions
        self.wanted = wanted
        with collector_paused():
            self.order = topological_order(root)
            self.grads: dict[Node, Any] = dict.fromkeys(self.order, 0.0)
        self.grads[root] = seed

    def visit(self, node: Node) -> list[Sent]:
        """The chain rule at ``node``; returns what it sent along each edge (see :func:`chain_rule`)."""
        return chain_rule(node, self.grads, self.functions, self.wanted) if is_computed(node) else []

    def run(self, visits: list[Visit] | None = None) -> Sweep:
        """Visit every node from the root back to the leaves.

        ``visits`` (over Values) receives one :class:`Visit` per node visited:
        which nodes of the gradient graph each visit recorded.
        """
        grads, functions, wanted = self.grads, self.functions, self.wanted
        with collector_paused():
            for node in reversed(self.order):
                if is_computed(node) and (wanted is None or node in wanted):
                    if visits is None:
                        chain_rule(node, grads, functions, wanted)
                    else:
                        first = clock.tick()
                        visits.append(Visit(first, node, chain_rule(node, grads, functions, wanted)))
            if functions is not None:  # leaves are not visited: their parts become sums here
                for node, received in grads.items():
                    if type(received) is _Parts:
                        grads[node] = received.total(functions)
        return self

    def check_finite(self) -> None:
        """Raise :class:`NonFiniteError` naming the step that first made a gradient inf or NaN."""
        grads = self.grads
        if self.functions is None:
            if math.isfinite(sum(grads.values())):  # one C-level pass
                return
        elif all(math.isfinite(_as_float(g)) for g in grads.values()):
            return
        _raise_non_finite(self.order, grads, self.functions)

    def write(self) -> None:
        """Check the pass, then add it into every node's ``.grad`` (under a lock: threads may share nodes).

        Constants are left out, as the float pass leaves them out: they receive no gradient.
        """
        self.check_finite()
        with collector_paused():
            nodes = [node for node in self.grads if node._op is not CONSTANT]
            add_into_grads(nodes, [self.grads[node] for node in nodes], self.functions)


def add_into_grads(nodes: list[Node], parts: list[Any], functions: Any = None) -> None:
    """Add a finished pass's gradient ``parts[i]`` into ``nodes[i].grad``, all or nothing.

    Every new gradient is computed and checked before the first is written, so
    an old gradient plus this pass's that overflows leaves every ``grad`` as it
    was.  ``None`` ("no gradient yet") counts as 0.  With ``functions`` (Values,
    ``create_graph``) a gradient of 0 is replaced rather than added to, so no
    needless node is recorded.  Under a lock: threads may share nodes.
    """
    with _grad_lock:
        if functions is None:
            try:
                totals = [node._grad + part for node, part in zip(nodes, parts)]
            except TypeError:  # some grad is None
                totals = [part if node._grad is None else node._grad + part
                          for node, part in zip(nodes, parts)]
            if not _all_finite(totals):
                _check_totals(nodes, parts, totals)
        else:
            totals = [part if node._grad is None or _is_zero(node._grad) else node._grad + part
                      for node, part in zip(nodes, parts)]
            _check_totals(nodes, parts, totals)
        _write_grads(nodes, totals)


def _add_slots_into_grads(nodes: list[Node]) -> bool:
    """The float pass's :func:`add_into_grads`, with each part in its node's ``_up`` slot.

    The common case in one comprehension, with no list of parts: every old
    ``.grad`` a float and every sum finite.  Otherwise it writes nothing and
    returns False, for the caller to name the failing step or take the general path.
    """
    with _grad_lock:
        try:
            totals = [node._grad + node._up for node in nodes]
        except TypeError:  # some grad is None
            return False
        if not _all_finite(totals):
            return False
        _write_grads(nodes, totals)
        return True


def _write_grads(nodes: list[Node], totals: list[Any]) -> None:
    """Store checked gradients: the one place the engine writes ``.grad`` (the caller holds the grad lock)."""
    for node, total in zip(nodes, totals):
        node._grad = total


def _all_finite(numbers: list[Any]) -> bool:
    """True if every number is a finite float, in one C-level pass.

    Their plain sum is a finite float only then: an inf or NaN makes it inf or
    NaN, a recorded Value (an old ``.grad`` from ``create_graph``) makes it a
    Value.  ``math.fsum`` would be exact but does work that grows with the
    spread of the exponents (60 times the sum's on a network's gradients).
    A sum that overflows with every number finite says False too: callers
    then check number by number.
    """
    try:
        total = sum(numbers)
    except NonFiniteError:  # Values whose sum overflows (adding them recorded throwaway nodes)
        return False
    return type(total) is float and total - total == 0.0


def _check_totals(nodes: list[Node], parts: list[Any], totals: list[Any]) -> None:
    """Raise NonFiniteError naming the first node whose gradient plus this pass's is not finite.

    Called under the grad lock before any write, so ``.grad`` still holds the old gradients.
    """
    for node, part, total in zip(nodes, parts, totals):
        if not math.isfinite(_as_float(total)):
            raise located(NonFiniteError(
                f"the gradient of {describe(node)} overflows: its .grad {_as_float(node._grad)!r} plus this "
                f"pass's {_as_float(part)!r} is not finite. No .grad was changed; call zero_grad() "
                "between passes, or scale the loss down"
            ), node)


def _as_float(x: Any) -> float:
    return x if type(x) is float else x._data if hasattr(x, "_data") else float(x)  # a placeholder too


def backward(root: Node, gradient: Any = 1.0, create_graph: bool = False) -> None:
    """Add d(root)/d(v) × ``gradient`` to ``v.grad`` for every node v of the root's graph.

    Nothing is written unless the whole pass succeeds: an error (a stale
    graph, an undefined partial, an overflow) leaves every ``grad`` as it was.
    With ``create_graph`` the gradients are recorded Values.
    """
    check_root(root)
    seed = _seed(gradient, create_graph)
    if create_graph or _pass_thread == threading.get_ident():  # Values, or a backward inside a partial
        Sweep(root, seed, root.FUNCTIONS if create_graph else None).run().write()
    else:
        _backward_floats(root, seed)


def _seed(gradient: Any, create_graph: bool) -> Any:
    if hasattr(gradient, "_data") and create_graph:
        return gradient
    if isinstance(gradient, bool) or not isinstance(gradient, (int, float)) or not math.isfinite(gradient):
        what = "a Value (use create_graph=True for that)" if hasattr(gradient, "_data") else repr(gradient)
        raise GraphError(f"backward(gradient=...) must be a finite number, not {what}")
    return float(gradient)


def _raise_non_finite(order: list[Node], grads: dict[Node, Any], functions: Any) -> None:
    """Find the node whose local step first produced inf or NaN, and name it."""
    for node in reversed(order):
        upstream = _as_float(grads[node])
        if not is_computed(node) or not math.isfinite(upstream):
            continue
        for i, partial in enumerate(local_partials(node)):
            if partial is not None and not math.isfinite(partial * upstream):
                raise located(NonFiniteError(
                    f"backward through {node._op.name}: local partial {partial!r} times upstream "
                    f"gradient {upstream!r} for input {node._op.input_name(i)} is not finite; "
                    f"inputs were {operands(node._op, node.parents)}"
                ), node)
    bad = next((node for node in order if not math.isfinite(_as_float(grads[node]))), None)
    if bad is None:
        return  # only the check's own total overflowed; every gradient is finite
    raise located(NonFiniteError(
        f"the gradient of {describe(bad)} overflowed to {_as_float(grads[bad])!r} while summing its parts"
    ), bad)


def zero_grad(root: Node) -> None:
    """Set ``grad`` to 0 on every node of the root's graph."""
    for node in topological_order(root):
        node._grad = 0.0


class Visit(NamedTuple):
    """One node's visit in a sweep over Values: the nodes it recorded are those created from ``first`` on.

    Until the next visit's ``first``: the sum of what ``node`` received, the
    local partials and what was sent along each edge (``sent``, as
    :func:`chain_rule` returns it).  A gradient graph's node is so traced back
    to the forward node whose backward step made it.
    """

    first: int
    node: Node
    sent: list[Sent]


def gradients(root: Node, wrt: list[Node], seed: Any = 1.0, visits: list[Visit] | None = None) -> list[Any]:
    """d(root)/d(v) for each v in ``wrt``, as recorded Values or numbers.

    The sweep of :func:`backward`, run on Values instead of floats, so the
    result is itself a graph that can be differentiated again.  Only nodes
    through which some v is reached are visited or sent anything, so nothing
    is recorded for the gradients of other nodes.  ``.grad`` is not touched.
    A result that does not depend on v is 0.0.  ``visits`` as for :meth:`Sweep.run`.
    """
    check_root(root)
    sweep = Sweep(root, seed, root.FUNCTIONS)
    sweep.wanted = _leading_to(sweep.order, wrt)
    sweep.run(visits).check_finite()
    return [sweep.grads.get(v, 0.0) for v in wrt]


def _leading_to(order: list[Node], wrt: list[Node]) -> set[Node]:
    """The nodes of ``order`` (parents first) from which some node of ``wrt`` is reached, those included."""
    leading = set(wrt)
    reached = leading.__contains__
    for node in order:  # parents first: theirs are known
        if any(map(reached, node.parents)):
            leading.add(node)
    return leading

