"""Where does a gradient go wrong?  Checks at every node of a graph, and of one primitive's rules.

:func:`check_nodes` takes a recorded graph and, for each node v, compares the
gradient a backward sweep gives at v with d(root)/dv by central differences:
v's number is moved by +-eps and everything downstream of v is replayed from
the table's forward rules (no code of yours is re-run).  Walking from the root
towards the leaves, the first node whose gradient disagrees points at a
broken local rule between it and the root; each local partial there is then
checked against its own forward rule, which names one op and one input.

:func:`check_primitive` checks a new primitive's partials against central
differences at points its ``safe`` rule admits: to first order on floats, on
NumPy arrays and on Values, and to second order (the partial, run on Values,
differentiated again), so ``grad(grad(...))`` through it can be trusted.

>>> from autodiff import Value
>>> x = Value(0.5, label="x")
>>> y = (x * x).tanh()
>>> y.label = "y"
>>> print(check_nodes(y))
check_nodes: 3 of 3 nodes agree with central differences (eps=1e-06)
node             backprop  numeric  rel. error
y = tanh(x * x)  1         1        0
x * x            0.94001   0.94001  ...
x                0.94001   0.94001  ...
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backward import Sweep, local_partials
from ..errors import DomainError, NonFiniteError
from ..functional import grad
from ..naming import definition, node_names
from ..node import Node
from ..primitives import ARRAYS, FLOATS, Primitive, checked_array_forward, parse_expression
from ..replaying import Replayer
from ..value import Value, apply

#: How many agreeing rows ``print(report)`` shows of a big graph (``report.rows`` has them all).
SHOWN_ROWS = 12


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    # A NaN on either side never passes (NaN comparisons are False).
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def _relative(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale > 0.0 else 0.0


def _num(x: float | None) -> str:
    return "" if x is None else f"{x + 0.0:.5g}"


def _table(header: Sequence[str], rows: list[Sequence[str]]) -> list[str]:
    widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]


# -- check_nodes -----------------------------------------------------------------


@dataclass(frozen=True)
class NodeCheck:
    """One node's gradient both ways: ``status`` is 'ok', 'FAIL' or 'skipped' (see ``reason``)."""

    node: Node
    name: str
    backprop: float
    numeric: float | None
    error: float | None
    status: str
    reason: str = ""


@dataclass(frozen=True)
class Disagreement:
    """Where the gradient first goes wrong: ``node``'s local partial by input ``input``.

    ``operand`` is the node whose gradient disagrees (``node.parents[input]``);
    ``partial`` is what the table's rule gives, ``numeric`` what central
    differences of the op's forward rule give.  When no single local rule
    disagrees (numeric trouble, a kink crossed), ``input`` is None, ``node``
    is the first disagreeing node and ``reason`` says so.
    """

    node: Node
    op: str
    input: int | None
    input_name: str | None
    operand: Any
    partial: float | None = None
    numeric: float | None = None
    reason: str = ""

    @property
    def site(self) -> str | None:
        """Where the node was made, if it was made in anomaly mode (:func:`autodiff.anomaly`)."""
        return self.node.site

    def __str__(self) -> str:
        if self.input is None:
            return f"not localised: {self.reason}"
        return f"{self.op}'s partial by {self.input_name}"


@dataclass(frozen=True)
class NodeReport:
    """What :func:`check_nodes` found: a row per checked node (root first) and the first failure."""

    rows: tuple[NodeCheck, ...]
    first_failure: Disagreement | None
    total: int
    eps: float

    @property
    def passed(self) -> bool:
        """True when no checked node disagrees (skipped nodes do not fail)."""
        return self.first_failure is None

    def __str__(self) -> str:
        return "\n".join([self._summary(), *_table(("node", "backprop", "numeric", "rel. error"),
                                                   self._shown()), *self._notes()])

    def _summary(self) -> str:
        agree = [row for row in self.rows if row.status == "ok"]
        of = f"{len(self.rows)} of {self.total}" if len(self.rows) < self.total else f"{len(self.rows)}"
        text = f"check_nodes: {len(agree)} of {len(self.rows)} nodes agree with central differences"
        if of != str(len(self.rows)):
            text += f" ({of} nodes checked, a seeded sample)"
        return text + f" (eps={self.eps:g})"

    def _marked(self) -> Any:
        """The row that carries the first-disagreement marker: the blamed node's, else the operand's."""
        failure = self.first_failure
        if failure is None:
            return None
        checked = {row.node for row in self.rows}
        return failure.node if failure.node in checked else failure.operand

    def _shown(self) -> list[list[str]]:
        marked, shown, hidden = self._marked(), [], 0
        for row in self.rows:
            quiet = row.status == "ok" and row.node is not marked
            if quiet and len(self.rows) > SHOWN_ROWS * 2 and len(shown) >= SHOWN_ROWS:
                hidden += 1
                continue
            cells = [row.name[:40], _num(row.backprop), _num(row.numeric) if row.numeric is not None
                     else "skipped", "" if row.error is None else f"{row.error:.1g}"]
            if row.node is marked:
                cells[-1] += f"  <-- first disagreement: {self.first_failure}"
            elif row.status == "FAIL":
                cells[-1] += "  FAIL"
            shown.append(cells)
        if hidden:
            shown.append([f"... {hidden} agreeing rows not shown (report.rows has them all)", "", "", ""])
        return shown

    def _notes(self) -> list[str]:
        notes = [f"skipped {row.name}: {row.reason}" for row in self.rows if row.status == "skipped"]
        failure = self.first_failure
        if failure is not None and failure.input is not None:
            where = f", made at {failure.site}" if failure.site else " (run the model in autodiff.anomaly() "
            where += "" if failure.site else "to see the line that made it)"
            notes.append(f"first disagreement: {failure} in {_name(self, failure.node)}: the table gives "
                         f"{_num(failure.partial)}, central differences {_num(failure.numeric)}{where}")
        return notes


def _name(report: NodeReport, node: Node) -> str:
    return next((row.name for row in report.rows if row.node is node), node.label or node.op)


#: Node replays check_nodes does at most by default: checking a node replays everything downstream of
#: it, twice, so on a deep chain the work is budget x depth (a 30,000-node chain took 45 s).
MAX_WORK = 5_000_000


def check_nodes(root: Value, budget: int = 2000, seed: int = 0, eps: float = 1e-6,
                rtol: float = 1e-5, atol: float = 1e-8, max_work: int = MAX_WORK) -> NodeReport:
    """Compare backprop with central differences at every node of ``root``'s graph.

    For each node v (leaves included, constants not) d(root)/dv is taken by
    moving v's number by +-eps * max(1, |v|) and replaying what lies
    downstream of v; a node passes when ``|backprop - numeric| <= atol + rtol
    * max(|backprop|, |numeric|)``.  A move that leaves some primitive's domain
    is reported as skipped.  Graphs of up to ``budget`` such nodes are
    checked whole; bigger ones by a sample of ``budget`` nodes drawn with
    ``seed``.  Checking a node replays what lies downstream of it, so the
    work is bounded too: once ``max_work`` nodes have been replayed, the
    remaining nodes (those furthest from the root) are reported as skipped,
    saying so.  No ``.grad`` or ``.data`` is changed.

    Returns a :class:`NodeReport`: ``print(report)`` shows the table (root
    first) with the first disagreement marked; ``report.first_failure`` is
    None or a :class:`Disagreement` naming the node, its op and the input
    whose local partial is wrong.
    """
    if not isinstance(root, Value):
        raise TypeError(f"check_nodes needs the root Value of a graph, not {type(root).__name__}")
    if budget < 1:
        raise ValueError(f"check_nodes: budget must be at least 1, got {budget}")
    replayer = Replayer(root)
    grads = Sweep(root).run().grads  # this pass's gradients; .grad is not touched
    candidates = [node for node in replayer.order if not node.is_constant]
    chosen = candidates
    if len(candidates) > budget:
        chosen = sorted(random.Random(seed).sample(candidates, budget), key=lambda n: n.created)
    names = node_names(replayer.order)
    rows, work = [], 0
    for node in reversed(chosen):  # root first: the nodes with least downstream are checked first
        if work >= max_work:
            rows.append(NodeCheck(node, _row_name(node, names), grads[node], None, None, "skipped",
                                  f"not checked: {work} node replays done, max_work={max_work} (raise "
                                  "it, or lower budget)"))
            continue
        row, replayed = _check(replayer, node, grads[node], names, eps, rtol, atol)
        rows.append(row)
        work += replayed
    rows = tuple(rows)
    first = next((row for row in rows if row.status == "FAIL"), None)
    failure = None if first is None else _localise(replayer, first.node, eps, rtol, atol)
    return NodeReport(rows, failure, len(candidates), eps)


def _row_name(node: Node, names: dict[int, str]) -> str:
    name = names[id(node)]
    if node.is_leaf:
        return name
    text = definition(node, names)
    return name if text == name else f"{name} = {text}"


def _check(replayer: Replayer, node: Node, backprop: float, names: dict[int, str],
           eps: float, rtol: float, atol: float) -> tuple[NodeCheck, int]:
    """The node's row, and how many node replays it took."""
    name = _row_name(node, names)
    downstream = replayer.downstream([node])
    replayed = 2 * (len(downstream) + 1)
    try:
        numeric = _central(replayer, node, eps, downstream)
    except (DomainError, NonFiniteError) as error:
        reason = f"moving it by +-eps: {error}"
        return NodeCheck(node, name, backprop, None, None, "skipped", reason), replayed
    ok = _close(backprop, numeric, rtol, atol)
    status = "ok" if ok else "FAIL"
    return NodeCheck(node, name, backprop, numeric, _relative(backprop, numeric), status), replayed


def _central(replayer: Replayer, node: Node, eps: float, downstream: list[Node]) -> float:
    """d(root)/d(node) by central differences over the replayed ``downstream`` graph."""
    h = eps * max(1.0, abs(node.data))
    plus, minus = node.data + h, node.data - h
    high = replayer.value({node: plus}, downstream)
    low = replayer.value({node: minus}, downstream)
    return (high - low) / (plus - minus)  # the step actually taken, after rounding


def _localise(replayer: Replayer, operand: Any, eps: float, rtol: float, atol: float) -> Disagreement:
    """The local rule between ``operand`` and the root that disagrees with its forward rule.

    The operand's own consumers come first (their gradients agreed, so one of
    their partials by it is the suspect), then the rest of what lies downstream.
    """
    downstream = replayer.downstream([operand])
    direct = [node for node in reversed(downstream) if operand in node.parents]
    others = [node for node in reversed(downstream) if operand not in node.parents]
    for node in direct + others:
        found = _bad_partial(node, operand if node in direct else None, eps, rtol, atol)
        if found is not None:
            return Disagreement(node, node.op, found[0], node.primitive.input_name(found[0]),
                                node.parents[found[0]], found[1], found[2])
    return Disagreement(operand, operand.op, None, None, operand, reason=(
        "the gradient at this node disagrees, but every local partial between it and the root "
        "agrees with its forward rule: a kink or a domain edge within eps? Try another eps"))


def _bad_partial(node: Node, only: Node | None, eps: float, rtol: float,
                 atol: float) -> tuple[int, float, float] | None:
    """(input, table's partial, numeric partial) of the first partial of ``node`` that disagrees."""
    op, parents = node.primitive, node.parents
    args = [p.data for p in parents]
    for i, partial in enumerate(local_partials(node)):
        if partial is None or (only is not None and parents[i] is not only):
            continue
        try:
            numeric = _local_central(op, args, i, eps)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue  # the move leaves the domain: no verdict on this partial
        if not _close(partial, numeric, rtol, atol):
            return i, partial, numeric
    return None


def _local_central(op: Primitive, args: Sequence[float], i: int, eps: float) -> float:
    """d op / d args[i] by central differences of its forward rule on floats."""
    h = eps * max(1.0, abs(args[i]))
    plus, minus = list(args), list(args)
    plus[i] += h
    minus[i] -= h
    return (op.forward(*plus) - op.forward(*minus)) / (plus[i] - minus[i])


# -- check_primitive -------------------------------------------------------------------


@dataclass(frozen=True)
class PrimitiveCheck:
    """One check of a primitive at one point: what the rules give against what is expected.

    ``what`` names the rule ('partial by x', 'd/dy of the partial by x',
    'forward'), ``form`` the numbers it ran on ('floats', 'arrays', 'Values';
    'arrays of all points', one point per lane, and 'recorded as a constant',
    the number a gradient graph records for a partial that gives a plain
    number on Values).
    ``expected`` is central differences (or, for the array forms, the float
    form).  ``inherited`` names the rule a failure follows from, if it does.
    """

    what: str
    form: str
    point: tuple[float, ...]
    got: float | None
    expected: float
    ok: bool
    error: str = ""
    inherited: str = ""  # a failure that follows from another rule's (e.g. a partial that reads out)


@dataclass(frozen=True)
class PrimitiveReport:
    """What :func:`check_primitive` found: every check at every point, and a table by rule."""

    primitive: Primitive
    points: tuple[tuple[float, ...], ...]
    rows: tuple[PrimitiveCheck, ...]

    @property
    def failures(self) -> list[PrimitiveCheck]:
        return [row for row in self.rows if not row.ok]

    @property
    def first_failure(self) -> PrimitiveCheck | None:
        return next((row for row in self.rows if not row.ok), None)

    @property
    def passed(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        groups: dict[tuple[str, str], list[PrimitiveCheck]] = {}
        for row in self.rows:
            groups.setdefault((row.what, row.form), []).append(row)
        bad = [key for key, rows in groups.items() if not all(r.ok for r in rows)]
        inherited = [key for key in bad if all(r.ok or r.inherited for r in groups[key])]
        own = [key for key in bad if key not in inherited]
        lines = [f"check_primitive({self.primitive.name}): {len(groups) - len(bad)} of {len(groups)} rules "
                 f"agree at {len(self.points)} safe points"]
        if own:
            lines[0] += "; disagreeing: " + ", ".join(f"{what} (on {form})" for what, form in own)
        if inherited:
            lines[0] += "; failing only through another rule: " + ", ".join(
                f"{what} (on {form})" for what, form in inherited)
        table = [_group_row(self.primitive, key, rows) for key, rows in groups.items()]
        lines += _table(("rule", "on", "failing", "worst at", "rule gives", "expected", ""), table)
        notes = {row.inherited for row in self.failures if row.inherited}
        errors = {row.error for row in self.failures if row.error}
        return "\n".join(lines + [f"note: {text}" for text in sorted(notes)]
                         + [f"error: {text}" for text in sorted(errors)])


def _group_row(p: Primitive, key: tuple[str, str], rows: list[PrimitiveCheck]) -> list[str]:
    failing = [row for row in rows if not row.ok]
    worst = max(failing or rows, key=lambda r: math.inf if r.got is None else abs(r.got - r.expected))
    point = ", ".join(f"{p.input_name(i)}={x:.4g}" for i, x in enumerate(worst.point))
    got = "error" if worst.got is None else _num(worst.got)
    verdict = "ok" if not failing else "FAIL (inherited)" if all(r.inherited for r in failing) else "FAIL"
    return [key[0], key[1], f"{len(failing)} of {len(rows)}", point, got, _num(worst.expected), verdict]


def check_primitive(p: Primitive, points: Sequence[Sequence[float]] | None = None, count: int = 10,
                    seed: int = 0, eps: float = 1e-6, rtol: float = 1e-5,
                    atol: float = 1e-8) -> PrimitiveReport:
    """Check a primitive's partials against central differences, to first and second order.

    At ``count`` points drawn with ``seed`` from [-3, 3] where ``p.safe``
    admits them (or at the given ``points``), it checks: each partial on
    floats and on NumPy arrays against central differences of ``forward``;
    the array forms against the float forms; each first derivative through
    Values (``grad`` of ``apply(p, ...)``); and each second derivative
    (``grad(grad(...))``, which differentiates the partial run on Values)
    against central differences of the float partial.

    Compiled mode traces a graph at one sample and then runs the array forms
    on every sample, so two more comparisons hold it to the float forms away
    from any one point: ``array_forward`` and each partial on one array of
    all the points (and a few far ones, up to 1000, that ``safe`` admits),
    lane by lane; and a partial that a gradient graph records as a constant
    (it gives a plain number on Values, e.g. by comparing their numbers),
    which compiled mode replays for every sample, against the float partial
    at each of those points.

    A second derivative that fails only because the partial it differentiates
    reads ``out`` while another partial fails is marked as inherited.  Returns a
    :class:`PrimitiveReport`; ``print(report)`` names each rule that disagrees.
    """
    if not isinstance(p, Primitive):
        raise TypeError(f"check_primitive takes a Primitive, not {type(p).__name__}")
    chosen = _points(p, points, count, seed)
    rows: list[PrimitiveCheck] = []
    for point in chosen:
        rows += _first_order(p, point, eps, rtol, atol) + _second_order(p, point, eps, rtol, atol)
    everywhere = chosen + [point for point in _far_points(p) if point not in chosen]
    rows += _lanes(p, everywhere, rtol, atol) + _recorded_constants(p, everywhere, rtol, atol)
    return PrimitiveReport(p, tuple(chosen), tuple(_mark_inherited(p, rows)))


#: Far from the sampled box: where a rule written for small inputs (np.all(x < 10)) shows.
FAR = (-1000.0, -40.5, -7.25, 7.25, 40.5, 1000.0)


def _far_points(p: Primitive) -> list[tuple[float, ...]]:
    n = 2 if p.arity is None else p.arity
    candidates = itertools.product(FAR, repeat=n) if n <= 2 else [(x,) * n for x in FAR]
    return [point for point in candidates if _usable(p, point)]


def _lanes(p: Primitive, points: list[tuple[float, ...]], rtol: float, atol: float) -> list[PrimitiveCheck]:
    """The array forms on one array of many points (a lane each) against the float forms at each."""
    rows: list[PrimitiveCheck] = []
    form = "arrays of all points"
    for size in sorted({len(point) for point in points}):  # an n-ary primitive: one array per input count
        group = [point for point in points if len(point) == size]
        columns = [np.array(column) for column in zip(*group)]
        outs = [p.forward(*point) for point in group]
        array_out = _run(len(group), _array_forward, p, *columns)
        rows += [_row("forward", form, point, lambda k=k, lanes=array_out: _lane(lanes, k), out, rtol, atol)
                 for k, (point, out) in enumerate(zip(group, outs))]
        for i in range(1 if p.arity is None else size):
            partial = _run(len(group), p.partial, i, columns, array_out, ARRAYS)
            rows += [_row(f"partial by {p.input_name(i)}", form, point, lambda k=k, lanes=partial:
                          _lane(lanes, k), p.partial(i, point, out, FLOATS), rtol, atol)
                     for k, (point, out) in enumerate(zip(group, outs))]
    return rows


def _run(lanes: int, rule: Any, *args: Any) -> Any:
    """A rule's result on arrays as one lane per point, or the exception it (or its input) raised."""
    failed = next((a for a in args if isinstance(a, Exception)), None)
    if failed is not None:
        return failed
    try:
        return np.broadcast_to(rule(*args), (lanes,))
    except Exception as error:  # noqa: BLE001 - a user's rule failing is reported, not raised
        return error


def _array_forward(p: Primitive, *args: np.ndarray) -> np.ndarray:
    """``p.array_forward`` on ``args``, checked as compiled mode checks it (a float array of their shape)."""
    return checked_array_forward(p, p.array_forward(*args), args)


def _lane(lanes: Any, k: int) -> float:
    """Lane k of an array result, re-raising the error it was instead."""
    if isinstance(lanes, Exception):
        raise lanes
    return float(lanes[k])


def _recorded_constants(p: Primitive, points: list[tuple[float, ...]], rtol: float,
                        atol: float) -> list[PrimitiveCheck]:
    """Each partial that gives a plain number on Values, against the float partial at every point.

    A gradient graph records such a number as a constant (it cannot depend
    on the inputs, as far as the graph can tell), and compiled mode replays
    it for every sample: it must be the partial everywhere, not only where
    the graph was recorded.
    """
    rows: list[PrimitiveCheck] = []
    for i in range(1 if p.arity is None else p.arity):
        constant = next((c for c in (_on_values(p, i, point) for point in points) if c is not None), None)
        if constant is None:
            continue
        for point in points:
            expected = p.partial(i, point, p.forward(*point), FLOATS)
            rows.append(_row(f"partial by {p.input_name(i)}", "recorded as a constant", point,
                             lambda constant=constant: constant, expected, rtol, atol))
    return rows


def _on_values(p: Primitive, i: int, point: tuple[float, ...]) -> float | None:
    """The partial by input i on Values at ``point``, if it is a plain number (not a recorded Value)."""
    args = [Value(x) for x in point]
    try:
        out = apply(p, *args)
        partial = p.partial(i, args, out, Value.FUNCTIONS)
    except Exception:  # noqa: BLE001 - a rule that fails on Values is reported by the Values rows
        return None
    is_number = isinstance(partial, (int, float)) and not isinstance(partial, bool)
    return float(partial) if is_number and math.isfinite(partial) else None


def _mark_inherited(p: Primitive, rows: list[PrimitiveCheck]) -> list[PrimitiveCheck]:
    """Mark a failing d/dy of the partial by x as inherited when that partial reads out and y's fails.

    Differentiating ``out / x`` by y differentiates ``out``, which is y's partial's business.
    """
    wrong = {(row.what, row.point) for row in rows if not row.ok and row.form == "floats"}
    marked = []
    for row in rows:
        for i in range(len(row.point)):
            for j in range(len(row.point)):
                name_i, name_j = p.input_name(i), p.input_name(j)
                if (not row.ok and row.what == f"d/d{name_j} of the partial by {name_i}"
                        and "out" in _names(p.formula(i)) and (f"partial by {name_j}", row.point) in wrong):
                    row = dataclasses.replace(row, inherited=(
                        f"d/d{name_j} of the partial by {name_i} differentiates out (its formula "
                        f"{p.formula(i)} reads it), whose derivative by {name_j} is the partial by {name_j}, "
                        f"which disagrees: fix that one first"))
        marked.append(row)
    return marked


def _names(formula: str) -> set[str]:
    return {node.id for node in ast.walk(parse_expression(formula)) if isinstance(node, ast.Name)}


def _points(p: Primitive, points: Sequence[Sequence[float]] | None, count: int,
            seed: int) -> list[tuple[float, ...]]:
    if points is not None:
        chosen = [tuple(float(x) for x in point) for point in points]
        wrong = [pt for pt in chosen if p.arity is not None and len(pt) != p.arity]
        if wrong or not chosen:
            raise ValueError(f"check_primitive: {p.name} takes {p.arity} inputs; points given: {points!r}")
        return chosen
    rng, chosen = random.Random(seed), []
    for attempt in range(1000 * count):
        n = p.arity if p.arity is not None else 1 + attempt % 3
        point = tuple(round(rng.uniform(-3.0, 3.0), 3) for _ in range(n))
        if _usable(p, point):
            chosen.append(point)
            if len(chosen) == count:
                return chosen
    raise ValueError(
        f"check_primitive: found {len(chosen)} of {count} points in [-3, 3] where {p.name}'s safe rule "
        "holds and its forward rule and partials are finite; pass points=[...] inside its domain"
    )


def _usable(p: Primitive, point: tuple[float, ...]) -> bool:
    if not p.safe(point):
        return False
    try:
        out = p.forward(*point)
        values = [out, *(p.partial(i, point, out, FLOATS) for i in range(len(point)))]
    except (ValueError, ZeroDivisionError, OverflowError):
        return False
    return all(math.isfinite(v) for v in values)


def _first_order(p: Primitive, point: tuple[float, ...], eps: float, rtol: float,
                 atol: float) -> list[PrimitiveCheck]:
    # Two lanes, not one: a one-element array converts to a float silently, hiding a float-only rule.
    out, arrays = p.forward(*point), [np.array([x, x]) for x in point]
    array_out = _run(2, _array_forward, p, *arrays)
    rows = [_row("forward", "arrays", point, lambda: _lane(array_out, 0), out, rtol, atol)]
    for i in range(len(point)):
        what, numeric = f"partial by {p.input_name(i)}", _local_central(p, point, i, eps)
        forms = {
            "floats": lambda i=i: p.partial(i, point, out, FLOATS),
            "arrays": lambda i=i: _lane(_run(2, p.partial, i, arrays, array_out, ARRAYS), 0),
            "Values": lambda i=i: _as_float(grad(_applied(p), i)(*point)),  # the partial run on Values
        }
        rows += [_row(what, form, point, run, numeric, rtol, atol) for form, run in forms.items()]
    return rows


def _second_order(p: Primitive, point: tuple[float, ...], eps: float, rtol: float,
                  atol: float) -> list[PrimitiveCheck]:
    rows = []
    for i in range(len(point)):
        for j in range(len(point)):
            what = f"d/d{p.input_name(j)} of the partial by {p.input_name(i)}"
            try:
                numeric = _partial_central(p, point, i, j, eps)
            except (ValueError, ZeroDivisionError, OverflowError):
                continue  # a step off the point leaves the domain: no second-order verdict here
            twice = lambda i=i, j=j: _as_float(grad(grad(_applied(p), i), j)(*point))
            rows.append(_row(what, "Values", point, twice, numeric, rtol, atol))
    return rows


def _applied(p: Primitive) -> Any:
    return lambda *operands: apply(p, *operands)


def _partial_central(p: Primitive, point: tuple[float, ...], i: int, j: int, eps: float) -> float:
    """d/d x_j of the float partial by x_i, by central differences."""
    h = eps * max(1.0, abs(point[j]))
    plus, minus = list(point), list(point)
    plus[j] += h
    minus[j] -= h
    high = p.partial(i, plus, p.forward(*plus), FLOATS)
    low = p.partial(i, minus, p.forward(*minus), FLOATS)
    return (high - low) / (plus[j] - minus[j])


def _as_float(x: Any) -> float:
    return x.data if isinstance(x, Value) else float(x)


def _row(what: str, form: str, point: tuple[float, ...], run: Any, expected: float,
         rtol: float, atol: float) -> PrimitiveCheck:
    """Run one rule; an exception from it (e.g. a partial that cannot run on Values) is a failure."""
    try:
        got = run()
    except Exception as error:  # noqa: BLE001 - any failure of a user's rule is reported, not raised
        return PrimitiveCheck(what, form, point, None, expected, False, f"{what} on {form}: "
                              f"{type(error).__name__}: {error}")
    return PrimitiveCheck(what, form, point, got, expected, _close(got, expected, rtol, atol))
