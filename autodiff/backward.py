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

import gc
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from operator import add, attrgetter
from typing import Any

from . import clock
from .errors import DomainError, GraphError, NonFiniteError, RuleError, StaleGraphError
from .naming import describe, operands
from .primitives import CONSTANT, FLOATS, checked_partial, first_input, one, second_input

#: Serialises what passes add into the shared ``.grad`` of nodes.
_grad_lock = threading.Lock()


def topological_order(root: Any) -> list[Any]:
    """Every node the root depends on, each after all of its parents; root last.

    Iterative (an explicit stack), so a chain of a million nodes is fine.
    Nodes are found by a walk over parents, then ordered by creation: a node
    is always created after its parents.
    """
    computed, ends = _reach(root)
    nodes = ends + computed
    nodes.sort(key=_creation)
    return nodes


#: Walks mark the nodes they reach, and backward's float pass keeps its running
#: gradients in the nodes it sweeps (see :func:`_backward_floats`); both hold this
#: lock meanwhile, so two threads' marks and numbers never mix.  Under the GIL
#: that costs no parallelism.  Re-entrant: a partial may build and walk a graph.
_lock = threading.RLock()
#: The thread running a float pass now (a backward inside it must not reuse the slots).
_pass_thread: int | None = None


def _reach(root: Any, zero_slots: bool = False) -> tuple[list[Any], list[Any]]:
    """The root's graph as (computed nodes, leaves and constants), once each, in no particular order.

    With ``zero_slots`` every node's ``_up`` is set to 0 on the way (for the
    float pass, which holds the lock meanwhile).
    """
    mark = object()  # unique to this walk, so no clean-up pass is needed
    with _lock:
        try:
            root._mark = mark
        except AttributeError:  # not a node: say so here, not from inside the walk
            raise GraphError(
                f"the root must be a Value (one scalar), not {type(root).__name__}; "
                "to use several outputs, combine them into one first, e.g. autodiff.sum(outputs)"
            ) from None
        if zero_slots:
            root._up = 0.0
        computed, ends = ([root], []) if is_computed(root) else ([], [root])
        add_computed, add_end, constant = computed.append, ends.append, CONSTANT
        for node in computed:  # the list grows as the walk finds computed nodes: each is expanded once
            # Unrolled for two operands (nearly every node), as the sweep is: a quarter faster.
            if node._op.arity == 2:
                x, y = node._x, node._y
                if x._mark is not mark:
                    x._mark = mark
                    if zero_slots:
                        x._up = 0.0
                    (add_end if x._op is None or x._op is constant else add_computed)(x)
                if y._mark is not mark:
                    y._mark = mark
                    if zero_slots:
                        y._up = 0.0
                    (add_end if y._op is None or y._op is constant else add_computed)(y)
                continue
            for parent in (node._x,) if node._op.arity == 1 else node._many:
                if parent._mark is not mark:
                    parent._mark = mark
                    if zero_slots:
                        parent._up = 0.0
                    (add_end if parent._op is None or parent._op is constant else add_computed)(parent)
    return computed, ends


def is_computed(node: Any) -> bool:
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


_creation = attrgetter("_created")


def chain_rule(node: Any, grads: dict[Any, Any], values: Any = None) -> list[Any]:
    """The chain rule at one node: add partial × upstream into each operand's gradient.

    ``grads`` holds the gradients of one pass by node; ``grads[node]`` must be
    complete.  Returns the local partials, one per operand (``None`` for a
    constant, which needs no gradient).  With ``values`` (the namespace of
    Value functions) the partials are computed on the Values themselves, so
    they are recorded and the gradients can be differentiated again.
    """
    upstream = grads[node]
    if type(upstream) is _Parts:  # over Values: what the node received becomes one sum, now
        upstream = grads[node] = upstream.total(values)
    if node._created < clock.last_assignment:
        check_fresh(node)
    partials = local_partials(node, values)
    if values is None:
        for parent, partial in zip(node.parents, partials):
            if partial is not None:
                grads[parent] += partial * upstream
    else:
        for parent, partial in zip(node.parents, partials):
            if partial is not None:
                before, contribution = grads[parent], _times(partial, upstream)
                if type(before) is _Parts:
                    before.append(contribution)
                else:  # the first contribution replaces 0.0 (no needless node), a second starts the parts
                    grads[parent] = contribution if _is_zero(before) else _Parts((before, contribution))
    return partials


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

    def total(self, values: Any) -> Any:
        return values.total(self)


def _backward_floats(root: Any, seed: float) -> None:
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
            computed, ends = _reach(root, zero_slots=True)
            computed.sort(key=_creation)
            root._up = seed
            total = _sweep_slots(computed)
            # Is every gradient of the pass finite?  (The sweep summed those of the computed nodes.)
            if not math.isfinite(total + sum(map(_gradient_so_far, ends))):
                order = sorted(computed + ends, key=_creation)
                _raise_non_finite(order, {node: node._up for node in order}, None)
            nodes = computed + ends
            add_into_grads(nodes, list(map(_gradient_so_far, nodes)))
        finally:
            _pass_thread = None


_gradient_so_far = attrgetter("_up")


def _sweep_slots(computed: list[Any]) -> float:
    """:func:`chain_rule` at every computed node, root first, on floats in ``_up`` slots.

    Returns the sum of the computed nodes' gradients (inf or NaN if any is).
    """
    m, constant, last = FLOATS, CONSTANT, clock.last_assignment
    total = 0.0
    for node in reversed(computed):
        if node._created < last:
            check_fresh(node)
        op, upstream = node._op, node._up
        total += upstream
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
    return total


def local_partials(node: Any, values: Any = None) -> list[Any]:
    """The local partial of ``node`` by each operand, from the primitive table.

    ``None`` stands for a constant operand, which needs no gradient (this also
    skips d(x**c)/dc, undefined for a negative x).  With ``values`` the
    partials are computed on the Values (constants stay plain numbers).
    """
    op, parents = node._op, node.parents
    if values is None:
        args, out, m = list(map(_data, parents)), node._data, FLOATS
    else:
        args, out, m = [p._data if p._op is CONSTANT else p for p in parents], node, values
    try:
        if op.arity is None:
            # An n-ary primitive has one rule for every operand, and the rule is not told which
            # operand it is for: so it is the same number for each, computed once.
            shared = op.partial(0, args, out, m)
            return [None if p._op is CONSTANT else shared for p in parents]
        return [None if p._op is CONSTANT else op.partial(i, args, out, m) for i, p in enumerate(parents)]
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        raise _partial_error(node, args, out, m) from None


_data = attrgetter("_data")


def _partial_error(node: Any, args: list[Any], out: Any, m: Any) -> Exception:
    """The error of the first partial that fails, naming the op, the operand and the numbers."""
    op, parents = node._op, node.parents
    for i, parent in enumerate(parents):
        if parent._op is CONSTANT:
            continue
        try:
            op.partial(i, args, out, m)
        except RuleError as error:  # it says what the rule returned; add where
            return _located(RuleError(f"backward through {op.name}: {error} (inputs were "
                                      f"{operands(op, parents)})"), node)
        except OverflowError:
            return _located(NonFiniteError(
                f"backward through {op.name}: the local partial by {op.input_name(i)}, "
                f"{op.formula(i)}, overflows a float for {operands(op, parents)}"
            ), node)
        except (ValueError, ZeroDivisionError) as error:
            return _located(DomainError(
                f"backward through {op.name}: the local partial by {op.input_name(i)}, "
                f"{op.formula(i)}, is undefined for {operands(op, parents)} ({error or 'infinite'})"
            ), node)
        except TypeError as error:
            return _located(TypeError(
                f"the local partial of {op.name} by {op.input_name(i)} failed: {error}. A partial must "
                "work on floats, arrays and Values alike: write it with plain arithmetic and the "
                "namespace it is given (m.cos(x), m.log(x)), never math.cos or float()"
            ), node)
    return AssertionError(f"a partial of {op.name} failed only when computed together")


def _is_zero(x: Any) -> bool:
    return type(x) is float and x == 0.0


def _located(error: Exception, node: Any) -> Exception:
    """Name where the node was made, if anomaly mode recorded it."""
    site = getattr(node, "_site", None)
    if site is not None:
        error.args = (f"{error.args[0]} [node made at {site}]", *error.args[1:])
    return error


class Sweep:
    """One reverse pass over the graph of ``root``.

    ``grads`` maps every node to its gradient so far in this pass: the root
    starts at ``seed``, everything else at 0.  :meth:`visit` applies the chain
    rule at one node, :meth:`run` visits every node in reverse topological
    order and :meth:`write` adds the finished pass into ``.grad``.
    """

    def __init__(self, root: Any, seed: Any = 1.0, values: Any = None) -> None:
        self.root = root
        self.values = values
        with collector_paused():
            self.order = topological_order(root)
            self.grads: dict[Any, Any] = dict.fromkeys(self.order, 0.0)
        self.grads[root] = seed

    def visit(self, node: Any) -> list[Any]:
        """The chain rule at ``node``; returns its local partials (see :func:`chain_rule`)."""
        return chain_rule(node, self.grads, self.values) if is_computed(node) else []

    def run(self) -> Sweep:
        """Visit every node from the root back to the leaves."""
        grads, values = self.grads, self.values
        with collector_paused():
            for node in reversed(self.order):
                if is_computed(node):
                    chain_rule(node, grads, values)
            if values is not None:  # leaves are not visited: their parts become sums here
                for node, received in grads.items():
                    if type(received) is _Parts:
                        grads[node] = received.total(values)
        return self

    def check_finite(self) -> None:
        """Raise :class:`NonFiniteError` naming the step that first made a gradient inf or NaN."""
        grads = self.grads
        if self.values is None:
            if math.isfinite(sum(grads.values())):  # one C-level pass
                return
        elif all(math.isfinite(_number(g)) for g in grads.values()):
            return
        _raise_non_finite(self.order, grads, self.values)

    def write(self) -> None:
        """Check the pass, then add it into every node's ``.grad`` (under a lock: threads may share nodes)."""
        self.check_finite()
        with collector_paused():
            add_into_grads(list(self.grads), list(self.grads.values()), self.values)


def add_into_grads(nodes: list[Any], parts: list[Any], values: Any = None) -> None:
    """Add a finished pass's gradient ``parts[i]`` into ``nodes[i].grad``, all or nothing.

    Every new gradient is computed and checked before the first is written, so
    an old gradient plus this pass's that overflows leaves every ``grad`` as it
    was.  ``None`` ("no gradient yet") counts as 0.  With ``values`` (Values,
    ``create_graph``) a gradient of 0 is replaced rather than added to, so no
    needless node is recorded.  Under a lock: threads may share nodes.
    """
    with _grad_lock:
        olds = list(map(_stored_grad, nodes))
        if values is None:
            try:
                totals = list(map(add, olds, parts))
            except TypeError:  # some grad is None
                totals = [part if old is None else old + part for old, part in zip(olds, parts)]
        else:
            totals = [part if old is None or _is_zero(old) else old + part for old, part in zip(olds, parts)]
        _check_totals(nodes, olds, parts, totals)
        for node, total in zip(nodes, totals):
            node._grad = total


_stored_grad = attrgetter("_grad")


def _check_totals(nodes: list[Any], olds: list[Any], parts: list[Any], totals: list[Any]) -> None:
    """Raise NonFiniteError naming the first node whose gradient plus this pass's is not finite."""
    try:
        if math.isfinite(math.fsum(totals)):  # one C-level pass; refuses Values, which are always finite
            return
    except (TypeError, OverflowError):  # Values among them, or finite totals whose sum overflows
        pass
    for node, old, part, total in zip(nodes, olds, parts, totals):
        if not math.isfinite(_number(total)):
            raise _located(NonFiniteError(
                f"the gradient of {describe(node)} overflows: its .grad {_number(old)!r} plus this "
                f"pass's {_number(part)!r} is not finite. No .grad was changed; call zero_grad() "
                "between passes, or scale the loss down"
            ), node)


def _number(x: Any) -> float:
    return x if type(x) is float else x._data if hasattr(x, "_data") else float(x)  # a placeholder too


def backward(root: Any, gradient: Any = 1.0, create_graph: bool = False) -> None:
    """Add d(root)/d(v) × ``gradient`` to ``v.grad`` for every node v of the root's graph.

    Nothing is written unless the whole pass succeeds: an error (a stale
    graph, an undefined partial, an overflow) leaves every ``grad`` as it was.
    With ``create_graph`` the gradients are recorded Values.
    """
    seed = _seed(gradient, create_graph)
    if create_graph or _pass_thread == threading.get_ident():  # Values, or a backward inside a partial
        Sweep(root, seed, _values() if create_graph else None).run().write()
    else:
        _backward_floats(root, seed)


def _seed(gradient: Any, create_graph: bool) -> Any:
    if hasattr(gradient, "_data") and create_graph:
        return gradient
    if isinstance(gradient, bool) or not isinstance(gradient, (int, float)) or not math.isfinite(gradient):
        what = "a Value (use create_graph=True for that)" if hasattr(gradient, "_data") else repr(gradient)
        raise GraphError(f"backward(gradient=...) must be a finite number, not {what}")
    return float(gradient)


def _values() -> Any:
    from .value import VALUES  # the namespace of Value functions; value.py imports this module

    return VALUES


def _raise_non_finite(order: list[Any], grads: dict[Any, Any], values: Any) -> None:
    """Find the node whose local step first produced inf or NaN, and name it."""
    for node in reversed(order):
        upstream = _number(grads[node])
        if not is_computed(node) or not math.isfinite(upstream):
            continue
        for i, partial in enumerate(local_partials(node)):
            if partial is not None and not math.isfinite(partial * upstream):
                raise _located(NonFiniteError(
                    f"backward through {node._op.name}: local partial {partial!r} times upstream "
                    f"gradient {upstream!r} for input {node._op.input_name(i)} is not finite; "
                    f"inputs were {operands(node._op, node.parents)}"
                ), node)
    bad = next((node for node in order if not math.isfinite(_number(grads[node]))), None)
    if bad is None:
        return  # only the check's own total overflowed; every gradient is finite
    raise _located(NonFiniteError(
        f"the gradient of {describe(bad)} overflowed to {_number(grads[bad])!r} while summing its parts"
    ), bad)


def check_fresh(node: Any) -> None:
    """Raise if a parent's data was assigned after ``node`` was computed from it."""
    for parent in node.parents:
        if getattr(parent, "_assigned", -1) > node._created:
            raise _located(StaleGraphError(
                f"{describe(parent)} was assigned (now {parent._data!r}) after {describe(node)} "
                "was computed from it; its gradients would be wrong. "
                "Run the forward pass again before calling backward()."
            ), node)


def check_all_fresh(order: list[Any]) -> None:
    """Raise :class:`StaleGraphError` if any node of ``order`` was computed from data assigned since.

    Views that read a whole graph (the stepper, explanations) call this first,
    so they never show numbers mixed from before and after an assignment.
    """
    if order and min(map(_creation, order)) > clock.last_assignment:
        return  # the whole graph was made after the last assignment: nothing can be stale
    for node in order:
        if is_computed(node):
            check_fresh(node)


def zero_grad(root: Any) -> None:
    """Set ``grad`` to 0 on every node of the root's graph."""
    for node in topological_order(root):
        node._grad = 0.0


def gradients(root: Any, wrt: list[Any], seed: Any = 1.0) -> list[Any]:
    """d(root)/d(v) for each v in ``wrt``, as recorded Values or numbers.

    The sweep of :func:`backward`, run on Values instead of floats, so the
    result is itself a graph that can be differentiated again.  ``.grad`` is
    not touched.  A result that does not depend on v is 0.0.
    """
    sweep = Sweep(root, seed, _values()).run()
    sweep.check_finite()
    return [sweep.grads.get(v, 0.0) for v in wrt]

