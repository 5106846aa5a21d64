"""The execution plan: a traced graph as a short list of vectorised steps.

Every number of the graph gets a row (a *slot*) in a 2-D array of shape
(slots, batch): one column per sample.  Operation nodes are grouped by level
(the length of the longest path from a leaf) and primitive; each group becomes
one :class:`Apply` step that calls the primitive's NumPy form once on the rows
of all its nodes, and the same primitive's partials in the backward sweep.

One pattern is recognised to reach hand-written speed: the neurons of a layer.
A ``sum`` node whose parents are ``mul(parameter, x)`` nodes used nowhere else
is a row of a matrix-vector product; sums that read the same inputs x in the
same order form a :class:`Dense` step, ``W @ x`` forward and ``W.T @ dz`` /
``dz @ x.T`` backward.  That is the chain rule of mul and sum, batched: no
derivative is written by hand for any layer.

Slots are given out step by step and each group is sorted by its inputs' slots,
so most steps read and write contiguous rows (views, not copies).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..primitives import MUL, POW, SUM, Primitive, checked_array_forward, is_built_in
from .patterns import DENSE
from .tracing import Graph

Index = slice | np.ndarray  # rows of the state array (a slice is a view, an array a copy)


class Repeating(np.ndarray):
    """An index array that names some row twice: adding into it needs np.add.at."""


def index(rows: Sequence[int], shared: bool = False) -> Index:
    """A slice when ``rows`` are consecutive, else an index array (:class:`Repeating` if rows repeat).

    With ``shared``, rows that are all the same row become that one row, which
    NumPy broadcasts over the group (a constant or a parameter every node reads).
    """
    rows = np.asarray(rows, dtype=np.intp)
    if shared and len(rows) > 1 and (rows == rows[0]).all():
        return slice(int(rows[0]), int(rows[0]) + 1)
    if len(rows) and np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows))):
        return slice(int(rows[0]), int(rows[0]) + len(rows))
    return rows.view(Repeating) if len(np.unique(rows)) < len(rows) else rows


def rows_of(ix: Index) -> np.ndarray:
    """The row numbers an Index selects."""
    return np.arange(ix.start, ix.stop) if isinstance(ix, slice) else ix


def add_into(target: np.ndarray, ix: Index, contribution: Any) -> None:
    """target[ix] += contribution, also when ix repeats a row (``+=`` would count it once).

    A single shared row (see :func:`index`) receives the sum over the group.
    """
    if isinstance(ix, slice):
        if ix.stop - ix.start == 1 and np.ndim(contribution) >= 1 and len(contribution) > 1:
            contribution = contribution.sum(axis=0)
        target[ix] += contribution
    elif type(ix) is Repeating:
        np.add.at(target, ix.view(np.ndarray), np.broadcast_to(contribution, (len(ix), *target.shape[1:])))
    else:
        target[ix] += contribution


@dataclass(eq=False)
class Apply:
    """One primitive over a group of nodes: ``vals[out] = op(vals[args[0]], vals[args[1]], ...)``."""

    level: int
    op: Primitive
    out: Index
    args: tuple[Index, ...]  # rows of the k-th input of every node of the group
    grad_args: tuple[int, ...]  # inputs through which a parameter is reached (others get no gradient)
    width: int  # nodes in the group
    joint: slice | None = None  # n-ary: all inputs, input by input, when they are consecutive rows
    valued_exponent: bool = False  # pow with Value exponents: refused where the base is not > 0

    def gather(self, vals: np.ndarray) -> Any:
        """The inputs of every node of the group: one array per input (or one 3-D view)."""
        if self.joint is not None:  # one view of shape (inputs, nodes, batch)
            return vals[self.joint].reshape(len(self.args), self.width, -1)
        return [vals[ix] for ix in self.args]

    def forward(self, vals: np.ndarray, theta: np.ndarray, inputs: list[np.ndarray]) -> None:
        """Compute the group's rows of ``vals`` with the primitive's NumPy form."""
        args = list(self.gather(vals))
        result = self.op.array_forward(*args)
        vals[self.out] = result if is_built_in(self.op) else checked_array_forward(self.op, result, args)

    def backward(self, vals: np.ndarray, grads: np.ndarray, theta: np.ndarray, gtheta: np.ndarray,
                 inputs: list[np.ndarray]) -> None:
        """The chain rule for the group: add the table's partial times upstream into each input's row."""
        up, out = grads[self.out], vals[self.out]
        args = self.gather(vals)
        if self.op.arity is None:  # n-ary: one partial rule for every input
            contribution = self.op.partial(0, args, out) * up
            if self.joint is not None:
                grads[self.joint].reshape(len(self.args), self.width, -1)[...] += contribution
                return
            for k in self.grad_args:
                add_into(grads, self.args[k], contribution)
        else:
            for k in self.grad_args:
                add_into(grads, self.args[k], self.op.partial(k, args, out) * up)


@dataclass(eq=False)
class Dense:
    """Sums of ``mul(parameter, x_j)`` over shared inputs: ``vals[out] = W @ vals[xs] + extras``.

    ``weights`` are positions in the parameter vector, row-major (m, n);
    ``biases`` are further terms that are parameters (read from the vector, one
    per neuron for each k), ``extras`` the sums' other terms (rows of the state).
    """

    level: int
    out: Index
    xs: Index
    weights: Index
    shape: tuple[int, int]
    biases: tuple[Index, ...]
    extras: tuple[Index, ...]
    x_grad: bool  # the shared inputs lead to parameters (a hidden layer), so they need dx
    extra_grad: tuple[int, ...]
    arg: int | None = None  # xs are exactly the features of this argument: read the batch, not the state

    def matrix(self, theta: np.ndarray) -> np.ndarray:
        """The weights as an (m, n) matrix (a view when they are consecutive in ``theta``)."""
        return theta[self.weights].reshape(self.shape)

    def forward(self, vals: np.ndarray, theta: np.ndarray, inputs: list[np.ndarray]) -> None:
        """``W @ x`` plus the biases and other terms, into the sums' rows."""
        x = vals[self.xs] if self.arg is None else inputs[self.arg]
        vals[self.out] = DENSE.evaluate({"W": self.matrix(theta), "x": x})
        z = vals[self.out]  # out is always a slice: a view
        for ix in self.biases:
            z += theta[ix][:, None]
        for ix in self.extras:
            z += vals[ix]

    def backward(self, vals: np.ndarray, grads: np.ndarray, theta: np.ndarray, gtheta: np.ndarray,
                 inputs: list[np.ndarray]) -> None:
        """Gradients of the weights (``dz @ x.T``), the inputs (``W.T @ dz``) and the other terms."""
        dz = grads[self.out]
        x = vals[self.xs] if self.arg is None else inputs[self.arg]
        forms = DENSE.backward  # the table's mul and sum partials, summed as matrix products
        add_into(gtheta, self.weights, forms["W"].evaluate({"up": dz, "x": x}).ravel())
        if self.x_grad:
            add_into(grads, self.xs, forms["x"].evaluate({"W": self.matrix(theta), "up": dz}))
        for ix in self.biases:
            add_into(gtheta, ix, forms["b"].evaluate({"up": dz}))
        for k in self.extra_grad:
            add_into(grads, self.extras[k], dz)


Step = Apply | Dense


@dataclass
class Plan:
    """Slots, loads and steps of a compiled graph (:mod:`autodiff.compiled.program` runs it)."""

    slots: int
    inputs: list[slice]  # rows of each argument's features
    load: list[bool]  # whether a step reads an argument's rows (else dense steps read the batch directly)
    order: list[int]  # order[position in the parameter vector] = index in the params given to compile
    param_rows: Index  # rows holding the parameters that plain steps read (biases)
    param_index: Index  # their positions in the parameter vector
    const_rows: np.ndarray
    const_values: np.ndarray
    steps: list[Step]
    outputs: Index
    names: list[str]  # printable name of every slot
    sites: list[str | None]  # where the node of each slot was made, if anomaly mode recorded it


class _StateRows:
    """Assigns each node a row of the state array and remembers a printable name for each row."""

    def __init__(self) -> None:
        self.of: dict[int, int] = {}  # node -> row
        self.names: list[str] = []
        self.first_op = 0

    def assign(self, node: int | None, name: str) -> int:
        if node is not None:
            self.of[node] = len(self.names)
        self.names.append(name)
        return len(self.names) - 1

    def assign_result(self, node: int) -> None:
        self.assign(node, f"v[{len(self.names) - self.first_op}]")

    def rows(self, nodes: Sequence[int], shared: bool = False) -> Index:
        return index([self.of[i] for i in nodes], shared)


def build(graph: Graph, n_params: int, input_sizes: list[int], arg_names: list[str]) -> Plan:
    """Turn a traced graph into a plan over a vector of ``n_params`` parameters."""
    n = len(graph)
    uses = [0] * n
    for ps in [*graph.parents, graph.outputs]:
        for p in ps:
            uses[p] += 1
    reaches = _reaches_param(graph)
    dense = _dense_sums(graph, uses)
    absorbed = {m for terms in dense.values() for m in terms.muls}
    level = _levels(graph, dense, absorbed)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i in range(n):
        if graph.roles[i][0] == "op" and i not in absorbed:
            if i in dense:
                groups[(level[i], "dense", dense[i].xs, len(dense[i].biases), len(dense[i].others))].append(i)
            else:  # by the primitive itself: two of one name may differ (a user's, replaced)
                groups[(level[i], graph.ops[i], len(graph.parents[i]), _valued_exponent(graph, i))].append(i)
    keys = sorted(groups, key=lambda key: (key[0], groups[key][0]))
    order = _parameter_order(graph, dense, [groups[k] for k in keys if k[1] == "dense"], n_params)
    position = {given: pos for pos, given in enumerate(order)}

    slots = _StateRows()
    # Leaves first: every feature of every argument (a batch loads as one slice),
    # then the parameters plain steps read, then constants.
    inputs = []
    for k, size in enumerate(input_sizes):
        inputs.append(slice(len(slots.names), len(slots.names) + size))
        for j in range(size):
            slots.assign(None, f"{arg_names[k]}[{j}]")
    for i, role in enumerate(graph.roles):
        if role[0] == "input":
            slots.of[i] = inputs[role[1]].start + role[2]
    read = {p for i in range(n) if i not in absorbed for p in _read(graph, dense, i)} | set(graph.outputs)
    params = sorted((position[graph.roles[i][1]], i) for i in read if graph.roles[i][0] == "param")
    for pos, i in params:
        slots.assign(i, f"p[{pos}]")
    # One row per distinct constant: the ten 2.0s of ten squares become one row every node reads.
    const_row: dict[tuple[float, float], int] = {}
    for i in range(n):
        if graph.roles[i][0] == "const" and i in read:
            number = graph.roles[i][1]
            key = (number, math.copysign(1.0, number))  # 0.0 and -0.0 stay apart
            if key in const_row:
                slots.of[i] = const_row[key]
            else:
                const_row[key] = slots.assign(i, repr(number))
    slots.first_op = len(slots.names)
    steps: list[Step] = []
    for key in keys:
        if key[1] == "dense":
            steps.append(_dense_step(graph, dense, groups[key], key[0], slots, reaches, position))
        else:
            steps.append(_apply_step(graph, groups[key], key[0], slots, reaches))
    outputs = slots.rows(graph.outputs)
    return Plan(
        slots=len(slots.names), inputs=inputs, load=_direct_inputs(steps, inputs, outputs), order=order,
        param_rows=slots.rows([i for _, i in params]), param_index=index([pos for pos, _ in params]),
        const_rows=np.array(list(const_row.values()), dtype=np.intp),
        const_values=np.array([number for number, _ in const_row], dtype=float),
        steps=steps, outputs=outputs, names=slots.names, sites=_sites(graph, slots),
    )


def _valued_exponent(graph: Graph, i: int) -> bool:
    """Whether node i is a power whose exponent is a Value (not a constant): its base must then be > 0."""
    return graph.ops[i] is POW and graph.roles[graph.parents[i][1]][0] != "const"


def outside_pow_domain(base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """Where ``base ** exponent`` with a Value exponent is refused, as the scalar engine refuses it.

    d/dy of x**y is out * log(x): the base must be > 0, or 0 with a positive exponent.
    """
    return (base < 0) | ((base == 0) & (exponent <= 0))


def _sites(graph: Graph, slots: _StateRows) -> list[str | None]:
    sites: list[str | None] = [None] * len(slots.names)
    for node, row in slots.of.items():
        sites[row] = graph.sites[node] if graph.sites else None
    return sites


def _direct_inputs(steps: list[Step], inputs: list[slice], outputs: Index) -> list[bool]:
    """Let dense steps that read all of an argument's features read the batch; which arguments still load."""
    for step in steps:
        if isinstance(step, Dense) and isinstance(step.xs, slice):
            step.arg = next((k for k, ix in enumerate(inputs) if ix == step.xs), None)
    read = set(rows_of(outputs).tolist())
    for step in steps:
        if isinstance(step, Apply):
            rows = [*step.args]
        else:
            rows = [*step.extras, *([step.xs] if step.arg is None else [])]
        for ix in rows:
            read.update(rows_of(ix).tolist())
    return [any(r in read for r in range(ix.start, ix.stop)) for ix in inputs]


def _parameter_order(graph: Graph, dense: dict[int, Terms], dense_groups: list[list[int]],
                     n_params: int) -> list[int]:
    """Weights of each dense step first, row-major (so W is a reshaped slice), then the rest as given."""
    order: list[int] = []
    taken = set()
    for members in dense_groups:
        for i in members:
            for w in dense[i][1]:
                given = graph.roles[w][1]
                if given not in taken:  # a shared weight keeps its first place
                    taken.add(given)
                    order.append(given)
    return order + [p for p in range(n_params) if p not in taken]


def _reaches_param(graph: Graph) -> list[bool]:
    """Whether a parameter is among each node's ancestors (itself included): only those need gradients."""
    reaches = [role[0] == "param" for role in graph.roles]
    reached = reaches.__getitem__
    for i, ps in enumerate(graph.parents):
        if ps:  # parents come first, so theirs are known
            reaches[i] = any(map(reached, ps))
    return reaches


class Terms(NamedTuple):
    """The parents of a sum node with product terms ``mul(w, x)``."""

    xs: tuple[int, ...]  # the x of each product
    ws: tuple[int, ...]  # its parameter w
    muls: tuple[int, ...]  # the product nodes, absorbed into a matrix product
    biases: tuple[int, ...]  # other terms that are parameters
    others: tuple[int, ...]  # other terms


def _dense_sums(graph: Graph, uses: list[int]) -> dict[int, Terms]:
    """sum nodes with product terms, and their terms."""
    found = {}
    for i, (op, ps) in enumerate(zip(graph.ops, graph.parents)):
        if op is not SUM:
            continue
        xs, ws, muls, biases, others = [], [], [], [], []
        for p in ps:
            term = _product_term(graph, p) if uses[p] == 1 else None
            if term is None:
                (biases if graph.roles[p][0] == "param" else others).append(p)
            else:
                xs.append(term[0])
                ws.append(term[1])
                muls.append(p)
        if xs:
            found[i] = Terms(tuple(xs), tuple(ws), tuple(muls), tuple(biases), tuple(others))
    return found


def _product_term(graph: Graph, node: int) -> tuple[int, int] | None:
    """(x, w) if node is mul(w, x) or mul(x, w) for exactly one parameter w, else None."""
    if graph.ops[node] is not MUL:
        return None
    a, b = graph.parents[node]
    a_param, b_param = graph.roles[a][0] == "param", graph.roles[b][0] == "param"
    if a_param == b_param:
        return None
    return (b, a) if a_param else (a, b)


def _read(graph: Graph, dense: dict[int, Terms], i: int) -> tuple[int, ...]:
    """The nodes a node that is not absorbed reads in the plan."""
    if i in dense:
        return dense[i].xs + dense[i].others
    return graph.parents[i]


def _levels(graph: Graph, dense: dict[int, Terms], absorbed: set[int]) -> list[int]:
    level = [0] * len(graph)
    for i in range(len(graph)):
        if graph.roles[i][0] == "op" and i not in absorbed:
            level[i] = 1 + max((level[p] for p in _read(graph, dense, i)), default=0)
    return level


def _apply_step(graph: Graph, members: list[int], level: int, slots: _StateRows,
                reaches: list[bool]) -> Apply:
    # Sorting by the inputs' rows makes the reads contiguous where the inputs are.
    members = sorted(members, key=lambda i: [slots.of[p] for p in graph.parents[i]])
    arity = len(graph.parents[members[0]])
    grad_args = ()
    if any(reaches[i] for i in members):
        grad_args = tuple(k for k in range(arity) if any(reaches[graph.parents[i][k]] for i in members))
    args = tuple(slots.rows([graph.parents[i][k] for i in members], shared=True) for k in range(arity))
    joint = None
    if graph.ops[members[0]].arity is None:
        every = slots.rows([graph.parents[i][k] for k in range(arity) for i in members])
        joint = every if isinstance(every, slice) and arity * len(members) > 1 else None
    for i in members:
        slots.assign_result(i)
    return Apply(level, graph.ops[members[0]], slots.rows(members), args, grad_args, len(members), joint,
                 _valued_exponent(graph, members[0]))


def _dense_step(graph: Graph, dense: dict[int, Terms], members: list[int], level: int, slots: _StateRows,
                reaches: list[bool], position: dict[int, int]) -> Dense:
    first = dense[members[0]]
    for i in members:
        slots.assign_result(i)
    return Dense(
        level=level, out=slots.rows(members), xs=slots.rows(first.xs),
        weights=index([position[graph.roles[w][1]] for i in members for w in dense[i].ws]),
        shape=(len(members), len(first.xs)),
        biases=tuple(index([position[graph.roles[dense[i].biases[k]][1]] for i in members], shared=True)
                     for k in range(len(first.biases))),
        extras=tuple(slots.rows([dense[i].others[k] for i in members], shared=True)
                     for k in range(len(first.others))),
        x_grad=any(reaches[x] for x in first.xs),
        extra_grad=tuple(k for k in range(len(first.others))
                         if any(reaches[dense[i].others[k]] for i in members)),
    )


# -- printing -------------------------------------------------------------------


def format_plan(plan: Plan, title: str) -> str:
    """The plan as text, one line per step, like JAX's make_jaxpr."""
    lines = [title]
    for step in plan.steps:
        if isinstance(step, Dense):
            m, n = step.shape
            weights = _compress([f"p[{i}]" for i in rows_of(step.weights)])
            expr = f"{weights}.reshape({m}, {n}) @ {_names(plan, step.xs)}"
            expr += "".join(f" + {_compress([f'p[{i}]' for i in rows_of(ix)])}" for ix in step.biases)
            expr += "".join(f" + {_names(plan, ix)}" for ix in step.extras)
            kind = "dense"
        else:
            if step.op.arity is None and step.width == 1:
                operands = _names(plan, np.concatenate([rows_of(ix) for ix in step.args]))
            else:
                operands = ", ".join(_names(plan, ix) for ix in step.args)
            expr, kind = f"{step.op.name}({operands})", step.op.name
        lines.append(f"  level {step.level:<2} {kind:<8} {_names(plan, step.out)} = {expr}")
    lines.append(f"  return {_names(plan, plan.outputs)}")
    return "\n".join(lines)


def _names(plan: Plan, ix: Index | np.ndarray) -> str:
    """Rows by name, consecutive runs shortened: ``x[0:784]``, ``v[3]``, ``2.0``."""
    return _compress([plan.names[r] for r in rows_of(ix)])


def _compress(names: list[str]) -> str:
    runs: list[list[Any]] = []  # [prefix, first, last] or [text]
    for name in names:
        prefix, _, number = name.rstrip("]").partition("[")
        if number.isdigit() and runs and runs[-1][0] == prefix and len(runs[-1]) == 3 \
                and runs[-1][2] + 1 == int(number):
            runs[-1][2] += 1
        elif number.isdigit():
            runs.append([prefix, int(number), int(number)])
        else:
            runs.append([name])
    if all(len(run) == 1 for run in runs) and len(set(names)) == 1:
        return names[0]  # the same constant for every node of the step
    texts = [run[0] if len(run) == 1 else f"{run[0]}[{run[1]}]" if run[1] == run[2]
             else f"{run[0]}[{run[1]}:{run[2] + 1}]" for run in runs]
    if len(texts) > 4:
        texts = [*texts[:3], f"... ({len(names)} rows)"]
    return texts[0] if len(texts) == 1 else "(" + ", ".join(texts) + ")"
