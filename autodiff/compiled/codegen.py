"""Straight-line NumPy code from a plan, one function pair per batch size.

At small batches what costs most is not arithmetic but the interpreter: every
step of the plan looked up, every partial called through a loop, every
gradient row zeroed and added into.  So the plan is written out once per batch
size as Python source (``program.source()`` shows it) with:

- every row range of the state bound to a view made once, so a step is one
  NumPy call writing with ``out=`` into preallocated memory;
- the table's own NumPy forms and partials called on those views; a partial
  that is a constant (``add``, ``sum``, ``neg``) is folded, so there is no
  multiplication by 1;
- the fused patterns of :mod:`autodiff.compiled.patterns` written out from
  their declared forms (matrix products for layers, ``x * x`` for squares,
  sigmoid and its partial in place, a quadratic cost's five steps as one);
- a gradient row's first contribution assigned, later ones added, so only the
  rows that need it are zeroed.

The generated code makes one finiteness check per call, a dot product that
sees what NumPy's floating-point flags cannot: at the end of ``forward`` over
the block of the state that holds every number the call computed or loaded
(the result of every matrix product, which BLAS computes without raising on
overflow or on an inf or nan among its inputs, so this also checks the batch
and the parameters a layer reads), and at the end of ``gradient`` over that
block and the gradient vector at once.  :class:`~autodiff.compiled.Program`
runs it under ``np.errstate(..., 'raise')``, so every elementwise step raises
on overflow, invalid operations and division by zero; on any of these it
replays the plan step by step to name the step (or, if the error was
harmless, to finish).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..primitives import ADD, MUL, NEG, POW, SIGMOID, SUM, Primitive, checked_array_forward, is_built_in
from .patterns import DENSE, SIGMOID_IN_PLACE, SQUARE, SQUARED_ERROR
from .plan import Apply, Dense, Index, Plan, Repeating, outside_pow_domain, rows_of


@dataclass
class Kernel:
    """Generated code for one batch size: ``forward(theta, *inputs)`` and ``gradient(...)``.

    ``loss`` is a view of the output rows (of ``vals``), where the last call left its results.
    """

    source: str
    forward: Callable[..., None]
    gradient: Callable[..., None]
    vals: np.ndarray
    grads: np.ndarray
    loss: np.ndarray


@dataclass
class _Writer:
    """Names, lines and which rows have received a gradient while code is written."""

    plan: Plan
    batch: int
    vals: np.ndarray
    grads: np.ndarray
    namespace: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    written: set[int] = field(default_factory=set)  # gradient rows assigned so far
    written_theta: set[int] = field(default_factory=set)  # gradient vector positions assigned so far
    zero: set[int] = field(default_factory=set)  # rows to zero first: added into before any assignment
    zero_theta: set[int] = field(default_factory=set)
    costs: dict[int, Cost] = field(default_factory=dict)  # id(step) -> the quadratic cost it is part of

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

    def rows(self, array: str, ix: Index) -> str:
        """An expression for rows ``ix`` of ``vals`` or ``grads``: a bound view for a slice."""
        state = self.vals if array == "v" else self.grads
        if isinstance(ix, slice):
            return self.bind(f"{array}{ix.start}_{ix.stop}", state[ix])
        name = self.bind(f"rows{len(self.namespace)}", np.asarray(ix))
        return f"{'vals' if array == 'v' else 'grads'}[{name}]"

    def joint(self, array: str, ix: slice, shape: tuple[int, ...]) -> str:
        state = self.vals if array == "v" else self.grads
        return self.bind(f"{array}{ix.start}_{ix.stop}_by{shape[0]}", state[ix].reshape(shape))

    def theta(self, vector: str, ix: Index, shape: tuple[int, int] | None = None) -> str:
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


def generate(plan: Plan, steps_backward: list[Apply | Dense], batch: int, dtype: np.dtype,
             vals: np.ndarray, grads: np.ndarray, n_params: int) -> Kernel:
    """Write the plan as two functions for batches of ``batch`` samples and compile them."""
    w = _Writer(plan, batch, vals, grads, costs=_quadratic_costs(plan))
    w.namespace.update(np=np, vals=vals, grads=grads, isfinite=math.isfinite)
    arguments = ", ".join(f"in{k}" for k in range(len(plan.inputs)))
    values = _forward_lines(w)
    w.lines = []
    backward = _backward_lines(w, steps_backward, n_params)
    block = w.rows("v", slice(_first_written(plan), plan.slots))
    # One check per call: the state's block holds every number the call loaded or computed.
    # A graph of constants only (the derivative of x + x) computes nothing per call: ``pass``.
    source = "\n".join([f"def values(theta, {arguments}):", *(values or ["    pass"]), "",
                        f"def forward(theta, {arguments}):", f"    values(theta, {arguments})",
                        f"    {_check(block)}", "",
                        f"def gradient(theta, {arguments}, gtheta, seed):",
                        f"    values(theta, {arguments})", *backward, f"    {_check(block, 'gtheta')}", ""])
    exec(compile(source, f"<compiled plan, batch {batch}>", "exec"), w.namespace)  # noqa: S102
    loss = vals[plan.outputs]
    return Kernel(source, w.namespace["forward"], w.namespace["gradient"], vals, grads, loss)


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
            w.emit(f"{w.rows('v', rows)}[...] = in{k}")
    if np.arange(plan.slots)[plan.param_rows].size:
        w.emit(f"{w.rows('v', plan.param_rows)}[...] = {w.theta('theta', plan.param_index)}[:, None]")
    for step in plan.steps:
        cost = w.costs.get(id(step))
        if cost is not None:
            if step is cost.add:  # the whole cost where its first input is ready; its other steps skipped
                _cost_forward(w, cost)
        elif isinstance(step, Dense):
            _dense_forward(w, step)
        else:
            _apply_forward(w, step)
    return w.lines


def _input(w: _Writer, step: Dense) -> str:
    return f"in{step.arg}" if step.arg is not None else w.rows("v", step.xs)


def _dense_forward(w: _Writer, step: Dense) -> None:
    out = w.rows("v", step.out)
    matrix = w.theta("theta", step.weights, step.shape)
    for line in DENSE.source({"W": matrix, "x": _input(w, step)}, out):
        w.emit(line)
    for ix in step.biases:
        if isinstance(ix, slice):  # one call: theta[a:b, None] is the column view
            w.emit(f"np.add({out}, theta[{ix.start}:{ix.stop}, None], out={out})")
        else:
            w.add(out, f"{w.theta('theta', ix)}[:, None]")
    for ix in step.extras:
        w.add(out, w.rows("v", ix))


def _check(*arrays: str) -> str:
    """A line raising FloatingPointError unless every number of ``arrays`` is finite.

    A sum of squares is finite exactly when every term is (an inf or nan
    anywhere makes it inf or nan); one that overflows from finite numbers
    only sends the call down the careful path, which then finishes.
    """
    total = " + ".join(f"np.vdot({a}, {a})" for a in arrays)
    return f"if not isfinite({total}): raise FloatingPointError({' and '.join(arrays)!r})"


def _apply_forward(w: _Writer, step: Apply) -> None:
    out, op = w.rows("v", step.out), step.op
    if op is SUM and step.joint is not None:  # the left-to-right sum of the table, in one call
        w.emit(f"np.add.reduce({_joint(w, 'v', step)}, axis=0, out={out})")
        return
    args = [w.rows("v", ix) for ix in step.args]
    pattern = SQUARE if _is_square(w.plan, step) else SIGMOID_IN_PLACE if op is SIGMOID else None
    if pattern is not None:
        for line in pattern.source({"x": args[0]}, out):
            w.emit(line)
    elif isinstance(op.array_forward, np.ufunc):
        w.emit(f"{_function(w, op)}({', '.join(args)}, out={out})")
    elif is_built_in(op):
        w.emit(f"{out}[...] = {_function(w, op)}({', '.join(args)})")
    else:  # a user's rule: its result is checked before it is written (see checked_array_forward)
        check, inputs = w.bind("checked_array_forward", checked_array_forward), f"({', '.join(args)},)"
        w.emit(f"{out}[...] = {check}({w.bind_op(op, op)}, {_function(w, op)}(*{inputs}), {inputs})")
    if step.valued_exponent:  # refused where the scalar engine refuses it: the careful path names the node
        outside = w.bind("outside_pow_domain", outside_pow_domain)
        w.emit(f"if {outside}({args[0]}, {args[1]}).any(): raise FloatingPointError('pow')")


def _function(w: _Writer, op: Primitive) -> str:
    f = op.array_forward
    if isinstance(f, np.ufunc) and getattr(np, f.__name__, None) is f:
        return f"np.{f.__name__}"
    return w.bind_op(op, f, "_array_forward")


def _joint(w: _Writer, array: str, step: Apply) -> str:
    return w.joint(array, step.joint, (len(step.args), step.width, w.batch))


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

    Only where every node in between is read by the next step alone (so no
    other step needs its rows) and only ``a`` leads to parameters.
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
        if neg is None or add.grad_args != (0,) or not isinstance(add.args[0], slice) \
                or not isinstance(neg.args[0], slice) or len(total.args) != square.width:
            continue
        if all(reads[r] == 1 for step in (neg, add, square, total) for r in rows_of(step.out).tolist()):
            cost = Cost(neg, add, square, total, scale, _constant(plan, scale.args[k]))
            costs.update({id(step): cost for step in (neg, add, square, total, scale)})
    return costs


def _made_by(made: dict[tuple[int, int], Apply], ix: Any, op: Primitive) -> Apply | None:
    """The step of primitive ``op`` whose result is exactly the rows ``ix``, if there is one."""
    step = made.get((ix.start, ix.stop)) if isinstance(ix, slice) else None
    return step if step is not None and step.op is op else None


def _reads(plan: Plan) -> Counter[int]:
    """How many times each row is read: by steps, and as an output."""
    reads: Counter[int] = Counter(rows_of(plan.outputs).tolist())
    for step in plan.steps:
        if isinstance(step, Apply):
            sources = list(step.args)
        else:
            sources = [*step.extras, *([step.xs] if step.arg is None else [])]
        for ix in sources:
            reads.update(rows_of(ix).tolist())
    return reads


def _cost_names(w: _Writer, cost: Cost) -> dict[str, str]:
    row = cost.total.out.start  # the sum's one row, as a vector: what a reduction over rows writes
    return {"a": w.rows("v", cost.add.args[0]), "y": w.rows("v", cost.neg.args[0]), "c": repr(cost.c),
            "d": w.rows("v", cost.add.out), "squares": w.rows("v", cost.square.out),
            "total": w.bind(f"v{row}", w.vals[row])}


def _cost_forward(w: _Writer, cost: Cost) -> None:
    # neg's rows are not written: only this pattern would read them, and the block's check sees d.
    for line in SQUARED_ERROR.source(_cost_names(w, cost), w.rows("v", cost.scale.out)):
        w.emit(line)


def _cost_backward(w: _Writer, cost: Cost) -> None:
    # The loss itself, read by no step: every sample's upstream gradient is the seed, a number.
    rows, reads = rows_of(cost.scale.out).tolist(), _reads(w.plan)
    seeded = rows == rows_of(w.plan.outputs).tolist() and all(reads[r] == 1 for r in rows)
    names = {**_cost_names(w, cost), "up": "seed" if seeded else w.rows("g", cost.scale.out)}
    _into(w, cost.add.args[0], lambda out: "\n    ".join(SQUARED_ERROR.receives_source("a", names, out)))


# -- backward ---------------------------------------------------------------------


def _backward_lines(w: _Writer, steps: list[Apply | Dense], n_params: int) -> list[str]:
    plan = w.plan
    w.emit(f"{w.rows('g', plan.outputs)}[...] = seed")
    w.written.update(rows_of(plan.outputs).tolist())
    for step in steps:
        cost = w.costs.get(id(step))
        if cost is not None:
            if step is cost.scale:  # the whole cost at its last step, where its gradient is complete
                _cost_backward(w, cost)
            continue
        w.zero.update(set(rows_of(step.out).tolist()) - w.written)  # not reached: keep them zero
        if isinstance(step, Dense):
            _dense_backward(w, step)
        else:
            _apply_backward(w, step)
    if np.arange(plan.slots)[plan.param_rows].size:  # parameters read by plain steps: sum over the batch
        rows = w.rows("g", plan.param_rows)
        _into_theta(w, plan.param_index, lambda out: f"np.sum({rows}, axis=1{', out=' + out if out else ''})")
    w.zero_theta.update(set(range(n_params)) - w.written_theta)  # reached by nothing: gradient 0
    return [*_zero_lines(w), *w.lines]


def _zero_lines(w: _Writer) -> list[str]:
    lines = []
    for array, rows in (("grads", w.zero), ("gtheta", w.zero_theta)):
        for start, stop in _runs(sorted(rows)):
            lines.append(f"    {array}[{start}:{stop}] = 0.0")
    return lines


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for r in rows:
        if runs and runs[-1][1] == r:
            runs[-1][1] = r + 1
        else:
            runs.append([r, r + 1])
    return [(a, b) for a, b in runs]


def _first(written: set[int], zero: set[int], rows: list[int], repeats: bool) -> bool:
    """Whether a contribution to ``rows`` may be assigned (none has arrived yet); else it is added."""
    fresh = [r for r in rows if r not in written]
    written.update(rows)
    if len(fresh) == len(rows) and not repeats:
        return True
    zero.update(fresh)  # added into before anything was assigned: start from zero
    return False


#: Source of a contribution: called with the target to write into (out=), or None for a value.
Call = Callable[[str | None], str]


def _value(source: str) -> Call:
    """A contribution that is an expression (no out= form)."""
    return lambda out: source


def _into(w: _Writer, ix: Index, call: Call) -> None:
    """Gradient rows ``ix`` receive ``call``: assigned (with out= when possible) if first, else added."""
    repeats = type(ix) is Repeating
    first = _first(w.written, w.zero, rows_of(ix).tolist(), repeats)
    _write(w, "grads", w.rows("g", ix), ix, first, repeats, call)


def _into_theta(w: _Writer, ix: Index, call: Call, shape: tuple[int, int] | None = None) -> None:
    repeats = type(ix) is Repeating
    first = _first(w.written_theta, w.zero_theta, rows_of(ix).tolist(), repeats)
    target = w.theta("gtheta", ix, shape if isinstance(ix, slice) else None)
    _write(w, "gtheta", target, ix, first, repeats, call if shape is None or isinstance(ix, slice)
           else _value(f"{call(None)}.ravel()"))


def _write(w: _Writer, array: str, target: str, ix: Index, first: bool, repeats: bool, call: Call) -> None:
    if repeats:  # a row named twice: += would count it once
        index = w.bind(f"repeat{len(w.namespace)}", np.asarray(ix).view(np.ndarray))
        w.emit(f"np.add.at({array}, {index}, np.broadcast_to({call(None)}, ({len(ix)}, *{array}.shape[1:])))")
    elif not first:
        w.add(target, call(None))
    elif not isinstance(ix, slice):
        w.emit(f"{target} = {call(None)}")
    else:
        source = call(target)
        w.emit(source if "out=" in source else f"{target}[...] = {source}")


def _dense_backward(w: _Writer, step: Dense) -> None:
    up, x = w.rows("g", step.out), _input(w, step)
    forms = DENSE.backward  # the table's mul and sum partials, summed as matrix products
    _into_theta(w, step.weights, lambda out: forms["W"].source({"up": up, "x": x}, out=out), step.shape)
    if step.x_grad:
        matrix = w.theta("theta", step.weights, step.shape)
        _into(w, step.xs, lambda out: forms["x"].source({"W": matrix, "up": up}, out=out))
    for ix in step.biases:
        if isinstance(ix, slice) and ix.stop - ix.start == 1 and step.shape[0] > 1:
            _into_theta(w, ix, _value(f"np.sum({up})"))  # one parameter is every neuron's bias
        else:
            _into_theta(w, ix, lambda out: forms["b"].source({"up": up}, out=out))
    for k in step.extra_grad:
        _into(w, step.extras[k], _value(up))


def _apply_backward(w: _Writer, step: Apply) -> None:
    op, up, out = step.op, w.rows("g", step.out), w.rows("v", step.out)
    if step.joint is not None and op.arity is None:
        _joint_backward(w, step, up, out)
        return
    args = [w.rows("v", ix) for ix in step.args]
    for k in step.grad_args:
        contribution = _contribution(w, step, k, args, up, out)
        ix = step.args[k]
        if isinstance(ix, slice) and ix.stop - ix.start == 1 and step.width > 1:  # a row every node reads
            _into(w, ix, _value(f"np.sum({contribution(None)}, axis=0, keepdims=True)"))
        else:
            _into(w, ix, contribution)


def _contribution(w: _Writer, step: Apply, k: int, args: list[str], up: str, out: str) -> Call:
    """partial_k * up: the table's partial, folded when it is a constant."""
    if _is_square(w.plan, step) and k == 0:
        return lambda target: SQUARE.backward["x"].source({"x": args[0], "up": up}, out=target)
    if step.op is SIGMOID:  # in place into the target, or one expression
        names = {"value": out, "up": up}
        return lambda target: "\n    ".join(SIGMOID_IN_PLACE.receives_source("x", names, target))
    constant = constant_partial(step.op, k, len(step.args))
    if constant == 1.0:
        return _value(up)
    if constant is not None:
        return lambda target: f"np.multiply({up}, {constant!r}{', out=' + target if target else ''})"
    partial = f"{w.bind_op(step.op, step.op)}.partial({k}, ({', '.join(args)},), {out})"
    return lambda target: f"np.multiply({partial}, {up}{', out=' + target if target else ''})"


def _joint_backward(w: _Writer, step: Apply, up: str, out: str) -> None:
    target = step.joint
    constant = constant_partial(step.op, 0, len(step.args))
    rows = rows_of(target).tolist()
    first = _first(w.written, w.zero, rows, False)
    view = _joint(w, "g", step)
    if constant is None:
        op = w.bind_op(step.op, step.op)
        value = f"{op}.partial(0, {_joint(w, 'v', step)}, {out}) * {up}"
    else:
        value = up if constant == 1.0 else f"{constant!r} * {up}"
    if first:
        w.emit(f"{view}[...] = {value}")
    else:
        w.add(view, value)


def constant_partial(op: Primitive, k: int, arity: int) -> float | None:
    """The partial's value if the table gives a plain number for it whatever the inputs, else None.

    Compiled mode folds such a partial into the generated code (no call, no
    multiplication by 1), trusting that it is a number on every input because
    it is one, the same, on two probe arrays; ``check_primitive`` checks it on more.
    """
    probes = [np.array([0.3, 1.7]), np.array([2.5, -0.4])]
    try:
        with np.errstate(all="ignore"):
            values = [op.partial(k, [p] * arity, p) for p in probes]
    except Exception:  # noqa: BLE001 - a partial that cannot run on probes is simply not folded
        return None
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numbers and values[0] == values[1] and math.isfinite(values[0]):  # inf is not written into source
        return float(values[0])
    return None
