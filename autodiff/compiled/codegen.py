"""Straight-line NumPy code from a plan, one set of functions per batch size.

At small batches what costs most is not arithmetic but the interpreter: every
step of the plan looked up, every form called through a loop.  So the plan is
written out once per batch size as Python source (``program.source()`` shows
it) with:

- every row range of the state bound to a view made once, so a step is one
  NumPy call writing with ``out=`` into preallocated memory;
- the table's own NumPy forms called on those views, fn's steps first, then
  the steps of its gradient graph (commented with the backward step each
  comes from) and the gradients' sums over the batch;
- the fused patterns of :mod:`autodiff.compiled.patterns` written out from
  their declared forms (matrix products for layers, ``x * x`` for squares,
  sigmoid in place, a quadratic cost's five steps as four calls).

The generated code makes one finiteness check per call, a dot product that
sees what NumPy's floating-point flags cannot: at the end of ``forward`` over
the block of the state that holds every number the call computed or loaded
(the result of every matrix product, which BLAS computes without raising on
overflow or on an inf or nan among its inputs, so this also checks the batch
and the parameters a layer reads), and at the end of ``gradient`` over the
whole state and the gradient vector at once.  :class:`~autodiff.compiled.Program`
runs it under ``np.errstate(..., 'raise')``, so every elementwise step raises
on overflow, invalid operations and division by zero; on any of these it
replays the plan step by step to name the step (or, if the error was
harmless, to finish).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..primitives import ADD, MUL, NEG, POW, SIGMOID, SUM, Primitive, checked_array_forward, is_built_in
from .patterns import DENSE, SIGMOID_IN_PLACE, SQUARE, SQUARED_ERROR
from .plan import Apply, Dense, Index, Outer, Plan, Reduce, outside_pow_domain, rows_of


@dataclass
class Kernel:
    """Generated code for one batch size: ``forward(theta, *inputs)`` and ``gradient(..., gtheta, seed)``.

    ``loss`` is a view of the output rows (of ``vals``), where the last call left its results.
    """

    source: str
    forward: Callable[..., None]
    gradient: Callable[..., None]
    vals: np.ndarray
    loss: np.ndarray


@dataclass
class _Writer:
    """Names and lines while code is written."""

    plan: Plan
    batch: int
    vals: np.ndarray
    namespace: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    costs: dict[int, Cost] = field(default_factory=dict)  # id(step) -> the quadratic cost it is part of
    # id(add step) -> the neg step it reads, written as one subtraction (the neg's step is skipped)
    differences: dict[int, Apply] = field(default_factory=dict)
    param_name: Callable[[int], str] = "p[{}]".format  # a parameter's name by its position
    skipped: set[int] = field(default_factory=set)  # ids of the neg steps written as part of a subtraction

    def bind(self, name: str, value: Any) -> str:
        """Make ``value`` reachable from the generated code as ``name`` (one of the project's own)."""
        self.namespace[name] = value
        return name

    def bind_op(self, op: Primitive, value: Any, suffix: str = "") -> str:
        """Bind a primitive (or, with a ``suffix``, something of its own); returns the identifier to write.

        The source is made only of the project's own text, numbers and
        identifiers, never of text from a graph or a file.  A primitive's name
        may be a user's: it is reduced to letters, digits and underscores after
        ``op_`` (no name of the project's starts so), and two primitives whose
        names reduce alike get different identifiers.
        """
        name = "op_" + "".join(c if c.isalnum() and c.isascii() else "_" for c in op.name) + suffix
        unique, n = name, 0
        while self.namespace.get(unique, value) is not value:
            n += 1
            unique = f"{name}_{n}"
        self.namespace[unique] = value
        return unique

    def rows(self, ix: Index) -> str:
        """An expression for rows ``ix`` of the state: a bound view for a slice."""
        if isinstance(ix, slice):
            return self.bind(f"v{ix.start}_{ix.stop}", self.vals[ix])
        name = self.bind(f"rows{len(self.namespace)}", np.asarray(ix))
        return f"vals[{name}]"

    def joint(self, ix: slice, shape: tuple[int, ...]) -> str:
        return self.bind(f"v{ix.start}_{ix.stop}_by{shape[0]}", self.vals[ix].reshape(shape))

    def theta(self, vector: str, ix: Index, shape: tuple[int, ...] | None = None) -> str:
        """Positions ``ix`` of ``theta`` or ``gtheta`` (views made per call: the vectors are arguments)."""
        if isinstance(ix, slice):
            text = f"{vector}[{ix.start}:{ix.stop}]"
        else:
            text = f"{vector}[{self.bind(f'positions{len(self.namespace)}', np.asarray(ix))}]"
        return f"{text}.reshape{shape}" if shape else text

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def add(self, target: str, value: str) -> None:
        """``target += value`` for a bound view (a bare name would become a local) or a reshaped view."""
        if target.isidentifier():
            self.emit(f"{target}[...] += {value}")
        elif target.endswith(")"):
            self.emit(f"np.add({target}, {value}, out={target})")
        else:
            self.emit(f"{target} += {value}")


def generate(plan: Plan, batch: int, vals: np.ndarray,
             param_name: Callable[[int], str] = "p[{}]".format) -> Kernel:
    """Write the plan as functions for batches of ``batch`` samples and compile them.

    ``param_name`` (of a position in the parameter vector) names the gradients in comments.
    """
    costs = _quadratic_costs(plan)
    differences = _differences(plan, costs)
    w = _Writer(plan, batch, vals, costs=costs, differences=differences, param_name=param_name,
                skipped={id(neg) for neg in differences.values()})
    w.namespace.update(np=np, vals=vals, isfinite=math.isfinite)
    arguments = ", ".join(f"in{k}" for k in range(len(plan.inputs)))
    values = _forward_lines(w)
    w.lines = []
    gradients = _gradient_lines(w)
    fn_block = w.rows(slice(_first_written(plan), plan.fn_rows))
    block = w.rows(slice(_first_written(plan), plan.slots))
    # One check per call: the state's block holds every number the call loaded or computed.
    # A graph of constants only (the derivative of x + x) computes nothing per call: ``pass``.
    source = "\n".join([f"def values(theta, {arguments}):", *(values or ["    pass"]), "",
                        f"def forward(theta, {arguments}):", f"    values(theta, {arguments})",
                        f"    {_check(fn_block)}", "",
                        f"def gradient(theta, {arguments}, gtheta, seed):",
                        f"    values(theta, {arguments})", *gradients, f"    {_check(block, 'gtheta')}", ""])
    exec(compile(source, f"<compiled plan, batch {batch}>", "exec"), w.namespace)  # noqa: S102
    loss = vals[plan.outputs]
    return Kernel(source, w.namespace["forward"], w.namespace["gradient"], vals, loss)


def _first_written(plan: Plan) -> int:
    """The first row a call writes: rows before it are arguments that dense steps read from the batch.

    Rows from there on are loaded inputs, parameters, constants and results;
    unloaded arguments further on stay zero, so the block is all finite
    exactly when every number of the call is.
    """
    start = 0
    for rows, load in zip(plan.inputs, plan.load):
        if load:
            break
        start = rows.stop
    return start


# -- forward ----------------------------------------------------------------------


def _forward_lines(w: _Writer) -> list[str]:
    plan = w.plan
    for k, (rows, load) in enumerate(zip(plan.inputs, plan.load)):
        if load:
            w.emit(f"{w.rows(rows)}[...] = in{k}")
    if np.arange(plan.slots)[plan.param_rows].size:
        w.emit(f"{w.rows(plan.param_rows)}[...] = {w.theta('theta', plan.param_index)}[:, None]")
    _steps(w, plan.steps)
    return w.lines


def _gradient_lines(w: _Writer) -> list[str]:
    """The gradient graph's steps, each under the backward step it came from, then the sums over the batch."""
    if w.plan.seed_row is not None:
        w.emit(f"{w.rows(slice(w.plan.seed_row, w.plan.seed_row + 1))}[...] = seed")
    _steps(w, w.plan.gradient_steps, comment=True)
    for step in w.plan.reductions:
        positions = rows_of(step.weights if isinstance(step, Outer) else step.positions)
        w.emit(f"# {_comment(_gradient_names(w, positions))}, summed over the batch")
        if isinstance(step, Outer):
            _outer(w, step)
        else:
            _reduce(w, step)
    return w.lines


def _steps(w: _Writer, steps: list[Apply | Dense], comment: bool = False) -> None:
    for step in steps:
        cost = w.costs.get(id(step))
        if id(step) in w.skipped or (cost is not None and step is not cost.add):
            continue  # written with the step that reads it
        if comment:
            origin = w.plan.origins[rows_of(step.out)[0]]
            if origin is not None:
                more = len(rows_of(step.out)) > 1
                w.emit(f"# {_comment(origin)}{' (and more)' if more else ''}")
        if cost is not None:  # the whole cost where its first input is ready; its other steps skipped
            _cost_forward(w, cost)
        elif isinstance(step, Dense):
            _dense_forward(w, step)
        else:
            _apply_forward(w, step)


def _gradient_names(w: _Writer, positions: np.ndarray) -> str:
    """``dloss_d`` and the parameters' names (the first and last of many), for a comment."""
    count = len(positions)
    shown = positions.tolist() if count <= 3 else [int(positions[0]), None, int(positions[-1])]
    names = ["..." if k is None else w.param_name(k) for k in shown]
    return f"dloss_d{names[0]}" if count == 1 else f"dloss_d({', '.join(names)}): {count} gradients"


def _comment(text: str) -> str:
    """Text for a comment line: printable ASCII only (a label may be anything)."""
    return "".join(c if c.isascii() and c.isprintable() else "?" for c in text)


def _input(w: _Writer, step: Dense | Outer) -> str:
    return f"in{step.arg}" if step.arg is not None else w.rows(step.xs)


def _dense_forward(w: _Writer, step: Dense) -> None:
    out = w.rows(step.out)
    m, n = step.shape
    matrix = w.theta("theta", step.weights, (n, m) if step.transposed else (m, n))
    if step.transposed:
        matrix += ".T"
    for line in DENSE.source({"W": matrix, "x": _input(w, step)}, out):
        w.emit(line)
    for ix in step.biases:
        if isinstance(ix, slice):  # one call: theta[a:b, None] is the column view
            w.emit(f"np.add({out}, theta[{ix.start}:{ix.stop}, None], out={out})")
        else:
            w.add(out, f"{w.theta('theta', ix)}[:, None]")
    for ix in step.extras:
        w.add(out, w.rows(ix))


def _outer(w: _Writer, step: Outer) -> None:
    """A layer's weight gradients, summed over the batch: ``U @ X.T`` into gtheta."""
    product = f"np.matmul({w.rows(step.us)}, {_input(w, step)}.T"
    if isinstance(step.weights, slice):
        w.emit(f"{product}, out={w.theta('gtheta', step.weights, step.shape)})")
    else:
        w.emit(f"{w.theta('gtheta', step.weights)} = {product}).ravel()")


def _reduce(w: _Writer, step: Reduce) -> None:
    """Gradients that are rows of the state, summed over the batch."""
    if isinstance(step.positions, slice):
        w.emit(f"np.add.reduce({w.rows(step.rows)}, axis=1, out={w.theta('gtheta', step.positions)})")
    else:
        w.emit(f"{w.theta('gtheta', step.positions)} = np.add.reduce({w.rows(step.rows)}, axis=1)")


def _check(*arrays: str) -> str:
    """A line raising FloatingPointError unless every number of ``arrays`` is finite.

    A sum of squares is finite exactly when every term is (an inf or nan
    anywhere makes it inf or nan); one that overflows from finite numbers
    only sends the call down the careful path, which then finishes.
    """
    total = " + ".join(f"np.vdot({a}, {a})" for a in arrays)
    return f"if not isfinite({total}): raise FloatingPointError({' and '.join(arrays)!r})"


def _apply_forward(w: _Writer, step: Apply) -> None:
    out, op = w.rows(step.out), step.op
    if op is SUM and step.joint is not None:  # the left-to-right sum of the table, in one call
        w.emit(f"np.add.reduce({_joint(w, step)}, axis=0, out={out})")
        return
    neg = w.differences.get(id(step))
    if neg is not None:  # x + neg(y) is x - y to the bit: one call instead of two
        x = step.args[1] if rows_of(step.args[0]).tolist() == rows_of(neg.out).tolist() else step.args[0]
        w.emit(f"np.subtract({', '.join(_operands(w, (x, neg.args[0])))}, out={out})")
        return
    args = [w.rows(ix) for ix in step.args]
    pattern = SQUARE if _is_square(w.plan, step) else SIGMOID_IN_PLACE if op is SIGMOID else None
    if pattern is not None:
        for line in pattern.source({"x": args[0]}, out):
            w.emit(line)
    elif isinstance(op.array_forward, np.ufunc):
        w.emit(f"{_function(w, op)}({', '.join(_operands(w, step.args))}, out={out})")
    elif is_built_in(op):
        w.emit(f"{out}[...] = {_function(w, op)}({', '.join(args)})")
    else:  # a user's rule: its result is checked before it is written (see checked_array_forward)
        check, inputs = w.bind("checked_array_forward", checked_array_forward), f"({', '.join(args)},)"
        w.emit(f"{out}[...] = {check}({w.bind_op(op, op)}, {_function(w, op)}(*{inputs}), {inputs})")
    if step.valued_exponent:  # refused where the scalar engine refuses it: the careful path names the node
        outside = w.bind("outside_pow_domain", outside_pow_domain)
        w.emit(f"if {outside}({args[0]}, {args[1]}).any(): raise FloatingPointError('pow')")


def _operands(w: _Writer, rows: Sequence[Index]) -> list[str]:
    """A ufunc's operands: rows of the state, a constant's row as its number (a scalar broadcasts fastest)."""
    numbers = [_constant(w.plan, ix) for ix in rows]
    return [w.rows(ix) if number is None else repr(number) for ix, number in zip(rows, numbers)]


def _function(w: _Writer, op: Primitive) -> str:
    f = op.array_forward
    if isinstance(f, np.ufunc) and getattr(np, f.__name__, None) is f:
        return f"np.{f.__name__}"
    return w.bind_op(op, f, "_array_forward")


def _joint(w: _Writer, step: Apply) -> str:
    return w.joint(step.joint, (len(step.args), step.width, w.batch))


def _is_square(plan: Plan, step: Apply) -> bool:
    """pow(x, 2) with the same constant 2 for every node of the step."""
    exponent = step.args[1] if step.op is POW else None
    return _constant(plan, exponent) == 2.0


def _constant(plan: Plan, ix: Any) -> float | None:
    """The number in rows ``ix`` if they are one constant's row (shared by a step's nodes), else None."""
    if not isinstance(ix, slice) or ix.stop - ix.start != 1:
        return None
    constants = dict(zip(plan.const_rows.tolist(), plan.const_values.tolist()))
    return constants.get(ix.start)


# -- the quadratic cost as one pattern ----------------------------------------------


@dataclass(frozen=True)
class Cost:
    """Five steps of a plan that are one quadratic cost (:data:`~.patterns.SQUARED_ERROR`)."""

    neg: Apply
    add: Apply
    square: Apply
    total: Apply
    scale: Apply
    c: float


def _quadratic_costs(plan: Plan) -> dict[int, Cost]:
    """``c * sum((a + neg(y))**2)`` among the plan's steps, by id of each step it covers.

    Only where the targets' negations are read by the cost alone: the
    pattern writes every other row it covers, which the gradient graph reads
    (``d`` is what the outputs receive), but computes ``a - y`` directly.
    """
    made = {(s.out.start, s.out.stop): s for s in plan.steps
            if isinstance(s, Apply) and isinstance(s.out, slice)}
    reads = _reads(plan)
    costs: dict[int, Cost] = {}
    for scale in plan.steps:
        if not (isinstance(scale, Apply) and scale.op is MUL and scale.width == 1):
            continue
        k = next((k for k in (0, 1) if _constant(plan, scale.args[k]) is not None), None)
        total = None if k is None else _made_by(made, scale.args[1 - k], SUM)
        if total is None or total.width != 1 or total.joint is None:
            continue
        square = _made_by(made, total.joint, POW)
        add = _made_by(made, square.args[0], ADD) if square is not None and _is_square(plan, square) else None
        neg = _made_by(made, add.args[1], NEG) if add is not None else None
        if neg is None or not isinstance(add.args[0], slice) \
                or not isinstance(neg.args[0], slice) or len(total.args) != square.width:
            continue
        if all(reads[r] == 1 for r in rows_of(neg.out).tolist()):
            cost = Cost(neg, add, square, total, scale, _constant(plan, scale.args[k]))
            costs.update({id(step): cost for step in (neg, add, square, total, scale)})
    return costs


def _differences(plan: Plan, costs: dict[int, Cost]) -> dict[int, Apply]:
    """``add(x, neg(y))`` steps whose neg's rows nothing else reads, by id of the add: written ``x - y``.

    A sigmoid's partial ``out * (1 + neg(out))`` and tanh's ``1 + neg(out * out)`` in a gradient
    graph, for instance.  The neg's rows are then never written (they stay zero, finite).
    """
    steps = [s for s in [*plan.steps, *plan.gradient_steps] if isinstance(s, Apply) and id(s) not in costs]
    made = {(s.out.start, s.out.stop): s for s in steps if isinstance(s.out, slice)}
    reads = _reads(plan)
    found: dict[int, Apply] = {}
    for add in steps:
        if add.op is not ADD or add.joint is not None:
            continue
        for k in (1, 0):
            neg = _made_by(made, add.args[k], NEG)
            if neg is not None and neg.width == add.width \
                    and all(reads[r] == 1 for r in rows_of(neg.out).tolist()):
                found[id(add)] = neg
                break
    return found


def _made_by(made: dict[tuple[int, int], Apply], ix: Any, op: Primitive) -> Apply | None:
    """The step of primitive ``op`` whose result is exactly the rows ``ix``, if there is one."""
    step = made.get((ix.start, ix.stop)) if isinstance(ix, slice) else None
    return step if step is not None and step.op is op else None


def _reads(plan: Plan) -> Counter[int]:
    """How many times each row is read: by steps, and as an output."""
    reads: Counter[int] = Counter(rows_of(plan.outputs).tolist())
    for step in [*plan.steps, *plan.gradient_steps, *plan.reductions]:
        for ix in step.sources():
            reads.update(rows_of(ix).tolist())
    return reads


def _cost_names(w: _Writer, cost: Cost) -> dict[str, str]:
    row = cost.total.out.start  # the sum's one row, as a vector: what a reduction over rows writes
    return {"a": w.rows(cost.add.args[0]), "y": w.rows(cost.neg.args[0]), "c": repr(cost.c),
            "d": w.rows(cost.add.out), "squares": w.rows(cost.square.out),
            "total": w.bind(f"v{row}", w.vals[row])}


def _cost_forward(w: _Writer, cost: Cost) -> None:
    # neg's rows are not written: only this pattern would read them, and the block's check sees d.
    for line in SQUARED_ERROR.source(_cost_names(w, cost), w.rows(cost.scale.out)):
        w.emit(line)
