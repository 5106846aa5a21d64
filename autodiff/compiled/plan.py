"""The execution plan: a traced graph, with its gradient graph, as a short list of vectorised steps.

Every number of the graph gets a row (a *slot*) in a 2-D array of shape
(slots, batch): one column per sample.  Operation nodes are grouped by level
(the length of the longest path from a leaf) and primitive; each group becomes
one :class:`Apply` step that calls the primitive's NumPy form once on the rows
of all its nodes.  There is no backward here: a loss's gradients are nodes of
the graph too (the engine's own sweep over Values recorded them, from a leaf
``seed``, d(total)/d(each sample's loss), which a call gives: 1/B for a mean),
planned and run like any other, after fn's own nodes.  Only their sum over the batch is
new, the one step that is not per sample:

- :class:`Outer`: the gradients of a layer's weights are per-sample products
  ``mul(u_i, x_j)`` of the gradient ``u_i`` reaching neuron i and the input
  ``x_j`` it read; summed over the batch, all of them are one matrix product
  ``U @ X.T``;
- :class:`Reduce`: every other gradient (a bias's is ``u_i`` itself) is its
  row summed over the batch.

One pattern reaches hand-written speed for the layers themselves: a ``sum``
node whose parents are ``mul(parameter, x)`` nodes used nowhere else is a row
of a matrix-vector product; sums that read the same inputs form a
:class:`Dense` step, ``W @ x``.  The gradient graph's sums of ``mul(w, u)``
over a layer's neurons are the same pattern with ``W`` transposed (a view).

Slots are given out step by step and each group is sorted by its inputs' slots,
so most steps read and write contiguous rows (views, not copies).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, compress
from typing import Any, NamedTuple

import numpy as np

from ..primitives import MUL, POW, SUM, Primitive, checked_array_forward, is_built_in
from .patterns import DENSE
from .tracing import Graph

Index = slice | np.ndarray  # rows of the state array (a slice is a view, an array a copy)


def index(rows: Sequence[int], shared: bool = False) -> Index:
    """A slice when ``rows`` are consecutive, else an index array.

    With ``shared``, rows that are all the same row become that one row, which
    NumPy broadcasts over the group (a constant or a parameter every node reads).
    """
    rows = np.asarray(rows, dtype=np.intp)
    if shared and len(rows) > 1 and (rows == rows[0]).all():
        return slice(int(rows[0]), int(rows[0]) + 1)
    if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and \
            np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows))):
        return slice(int(rows[0]), int(rows[0]) + len(rows))
    return rows


def rows_of(ix: Index) -> np.ndarray:
    """The row numbers an Index selects."""
    return np.arange(ix.start, ix.stop) if isinstance(ix, slice) else ix


@dataclass(eq=False)
class Apply:
    """One primitive over a group of nodes: ``vals[out] = op(vals[args[0]], vals[args[1]], ...)``."""

    level: int
    op: Primitive
    out: Index
    args: tuple[Index, ...]  # rows of the k-th input of every node of the group
    width: int  # nodes in the group
    joint: slice | None = None  # n-ary: all inputs, input by input, when they are consecutive rows
    valued_exponent: bool = False  # pow with Value exponents: refused where the base is not > 0

    def gather(self, vals: np.ndarray) -> Any:
        """The inputs of every node of the group: one array per input (or one 3-D view)."""
        if self.joint is not None:  # one view of shape (inputs, nodes, batch)
            return vals[self.joint].reshape(len(self.args), self.width, -1)
        return [vals[ix] for ix in self.args]

    def sources(self) -> list[Index]:
        """The rows of the state this step reads."""
        return list(self.args)

    def run(self, vals: np.ndarray, theta: np.ndarray, inputs: list[np.ndarray]) -> None:
        """Compute the group's rows of ``vals`` with the primitive's NumPy form."""
        args = list(self.gather(vals))
        result = self.op.array_forward(*args)
        vals[self.out] = result if is_built_in(self.op) else checked_array_forward(self.op, result, args)


@dataclass(eq=False)
class Dense:
    """Sums of ``mul(parameter, x_j)`` over shared inputs: ``vals[out] = W @ vals[xs] + extras``.

    ``weights`` are positions in the parameter vector, row-major (m, n), or,
    ``transposed``, the consecutive positions of W.T row-major (the gradient
    graph's sums over a layer's neurons read its weights by column).
    ``biases`` are further terms that are parameters (read from the vector,
    one per neuron for each k), ``extras`` the sums' other terms (rows of the state).
    """

    level: int
    out: Index
    xs: Index
    weights: Index
    shape: tuple[int, int]
    transposed: bool
    biases: tuple[Index, ...]
    extras: tuple[Index, ...]
    arg: int | None = None  # xs are exactly the features of this argument: read the batch, not the state

    def matrix(self, theta: np.ndarray) -> np.ndarray:
        """The weights as an (m, n) matrix (a view when they are consecutive in ``theta``)."""
        if self.transposed:
            return theta[self.weights].reshape(self.shape[::-1]).T
        return theta[self.weights].reshape(self.shape)

    def sources(self) -> list[Index]:
        """The rows of the state this step reads (not the inputs it takes from the batch itself)."""
        return [*self.extras, *([self.xs] if self.arg is None else [])]

    def run(self, vals: np.ndarray, theta: np.ndarray, inputs: list[np.ndarray]) -> None:
        """``W @ x`` plus the biases and other terms, into the sums' rows."""
        x = vals[self.xs] if self.arg is None else inputs[self.arg]
        vals[self.out] = DENSE.evaluate({"W": self.matrix(theta), "x": x})
        z = vals[self.out]  # out is always a slice: a view
        for ix in self.biases:
            z += theta[ix][:, None]
        for ix in self.extras:
            z += vals[ix]


@dataclass(eq=False)
class Outer:
    """A layer's weight gradients summed over the batch: ``gtheta[weights] = U @ X.T``.

    Each weight's gradient is the per-sample product of ``us[i]`` (what
    reaches its neuron) and ``xs[j]`` (the input it multiplies); the sum
    over the batch of all of them at once is a matrix product.
    """

    weights: Index  # row-major (m, n), as the layer's Dense step reads them
    shape: tuple[int, int]
    us: Index
    xs: Index
    arg: int | None = None

    def sources(self) -> list[Index]:
        """The rows of the state this step reads (not the inputs it takes from the batch itself)."""
        return [self.us, *([self.xs] if self.arg is None else [])]

    def run(self, vals: np.ndarray, inputs: list[np.ndarray], gtheta: np.ndarray) -> None:
        x = vals[self.xs] if self.arg is None else inputs[self.arg]
        gtheta[self.weights] = np.matmul(vals[self.us], x.T).ravel()


@dataclass(eq=False)
class Reduce:
    """Gradients that are rows of the state, summed over the batch: ``gtheta[positions] = Σ rows``."""

    positions: Index
    rows: Index

    def sources(self) -> list[Index]:
        """The rows of the state this step reads."""
        return [self.rows]

    def run(self, vals: np.ndarray, inputs: list[np.ndarray], gtheta: np.ndarray) -> None:
        gtheta[self.positions] = np.add.reduce(vals[self.rows], axis=1)


#: A per-sample instruction of the plan: one vectorised call over a group of nodes.
Instruction = Apply | Dense
Reduction = Outer | Reduce


@dataclass
class Plan:
    """Slots, loads and steps of a compiled graph (:mod:`autodiff.compiled.program` runs it).

    ``steps`` compute fn's outputs; ``gradient_steps`` then the gradients'
    nodes and ``reductions`` their sums over the batch (both empty for a
    function that returns a list).
    """

    slots: int
    inputs: list[slice]  # rows of each argument's features
    load: list[bool]  # whether a step reads an argument's rows (else dense steps read the batch directly)
    order: list[int]  # order[position in the parameter vector] = index in the params given to compile
    param_rows: Index  # rows holding the parameters that plain steps read (biases)
    param_index: Index  # their positions in the parameter vector
    const_rows: np.ndarray
    const_values: np.ndarray
    steps: list[Instruction]
    gradient_steps: list[Instruction]
    reductions: list[Reduction]
    outputs: Index
    names: list[str]  # printable name of every slot
    sites: list[str | None]  # where the node of each slot was made, if anomaly mode recorded it
    origins: list[str | None]  # for a gradient's slot: the backward step that made it, in words
    fn_rows: int  # rows before this one are leaves and fn's own results; the gradients' follow
    seed_row: int | None = None  # the row a call's seed is written into, d(total)/d(each sample's loss)


class _StateRows:
    """Assigns each node a row of the state array and remembers a printable name for each row."""

    def __init__(self) -> None:
        self.of: dict[int, int] = {}  # node -> row
        self.names: list[str] = []
        self.first_op = 0
        self.first_gradient: int | None = None

    def assign(self, node: int | None, name: str) -> int:
        if node is not None:
            self.of[node] = len(self.names)
        self.names.append(name)
        return len(self.names) - 1

    def assign_result(self, node: int, gradient: bool) -> None:
        if not gradient:
            self.assign(node, f"v[{len(self.names) - self.first_op}]")
            return
        if self.first_gradient is None:
            self.first_gradient = len(self.names)
        self.assign(node, f"g[{len(self.names) - self.first_gradient}]")

    def rows(self, nodes: Sequence[int], shared: bool = False) -> Index:
        return index([self.of[i] for i in nodes], shared)


def build(graph: Graph, n_params: int, input_sizes: list[int], arg_names: list[str]) -> Plan:
    """Turn a traced graph (with its gradients, if any) into a plan over ``n_params`` parameters."""
    n = len(graph)
    in_fn = graph.needed(graph.outputs)
    needed = graph.needed([*graph.outputs, *graph.gradients]) if graph.gradients else in_fn
    uses = [0] * n
    for p, count in Counter(chain.from_iterable(compress(graph.parents, needed))).items():
        uses[p] = count
    for i in [*graph.outputs, *graph.gradients]:
        uses[i] += 1
    dense = _dense_sums(graph, uses, needed)
    absorbed = {m for terms in dense.values() for m in terms.muls}
    planned = [i for i in compress(range(n), needed) if graph.ops[i] is not None and i not in absorbed]
    level = _levels(graph, dense, planned)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i in planned:
        part = 0 if in_fn[i] else 1  # fn's own nodes first: a call without gradients runs only those
        if i in dense:
            groups[(part, level[i], "dense", dense[i].xs, len(dense[i].biases),
                    len(dense[i].others))].append(i)
        else:  # by the primitive itself: two of one name may differ (a user's, replaced)
            groups[(part, level[i], graph.ops[i], len(graph.parents[i]),
                    _valued_exponent(graph, i))].append(i)
    keys = sorted(groups, key=lambda key: (key[0], key[1], groups[key][0]))
    dense_groups = [groups[k] for k in keys if k[2] == "dense" and k[0] == 0]
    order = _parameter_order(graph, dense, dense_groups, n_params)
    position = {given: pos for pos, given in enumerate(order)}
    outer = _outer_products(graph, dense, dense_groups, uses)
    taken = {graph.roles[w][1] for terms in outer for i in terms.members for w in dense[i].ws}
    products = {graph.gradients[given] for given in taken}  # computed by the Outer reductions, not per sample
    absorbed |= products
    for key in keys:
        groups[key] = [i for i in groups[key] if i not in products]
    keys = [key for key in keys if groups[key]]

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
    reduced = [graph.gradients[given] for given in range(len(graph.gradients)) if given not in taken]
    read = set(chain.from_iterable(graph.parents[i] for i in planned if i not in dense and i not in products))
    read.update(chain.from_iterable(dense[i].xs + dense[i].others for i in dense))
    read |= set(graph.outputs) | set(reduced) | {u for terms in outer for u in terms.us}
    params = sorted((position[graph.roles[i][1]], i) for i in read if graph.roles[i][0] == "param")
    for pos, i in params:
        slots.assign(i, f"p[{pos}]")
    seed_row = None
    for i in read:
        if graph.roles[i][0] == "seed":
            seed_row = slots.assign(i, "seed")
    # One row per distinct constant: the ten 2.0s of ten squares become one row every node reads.
    const_row: dict[tuple[float, float], int] = {}
    for i in sorted(read):
        if graph.roles[i][0] == "const":
            number = graph.roles[i][1]
            key = (number, math.copysign(1.0, number))  # 0.0 and -0.0 stay apart
            if key in const_row:
                slots.of[i] = const_row[key]
            else:
                const_row[key] = slots.assign(i, repr(number))
    slots.first_op = len(slots.names)
    steps: list[Instruction] = []
    gradient_steps: list[Instruction] = []
    for key in keys:
        gradient = key[0] == 1
        if key[2] == "dense":
            step = _dense_step(graph, dense, groups[key], key[1], slots, position, gradient)
        else:
            step = _apply_step(graph, groups[key], key[1], slots, gradient)
        (gradient_steps if gradient else steps).append(step)
    fn_rows = slots.first_gradient if slots.first_gradient is not None else len(slots.names)
    reductions: list[Reduction] = [_outer_step(graph, dense, terms, slots, position) for terms in outer]
    pairs = sorted((position[given], slots.of[graph.gradients[given]])
                   for given in range(len(graph.gradients)) if given not in taken)
    reductions += [Reduce(index(positions), index(rows)) for positions, rows in _runs(pairs)]
    outputs = slots.rows(graph.outputs)
    return Plan(
        slots=len(slots.names), inputs=inputs, load=_direct_inputs(steps + gradient_steps, reductions, inputs,
                                                                   outputs), order=order,
        param_rows=slots.rows([i for _, i in params]), param_index=index([pos for pos, _ in params]),
        const_rows=np.array(list(const_row.values()), dtype=np.intp),
        const_values=np.array([number for number, _ in const_row], dtype=float),
        steps=steps, gradient_steps=gradient_steps, reductions=reductions, outputs=outputs,
        names=slots.names, sites=_sites(graph, slots), origins=_origins(graph, slots, dense), fn_rows=fn_rows,
        seed_row=seed_row,
    )


def _runs(pairs: list[tuple[int, int]]) -> list[tuple[list[int], list[int]]]:
    """(position, row) pairs, by position, cut where either stops being consecutive.

    Each run is summed over the batch from a view into a slice of the gradient
    vector: no rows gathered.  Pairs that do not run on stay one run together.
    """
    runs: list[tuple[list[int], list[int]]] = []
    loose: tuple[list[int], list[int]] = ([], [])
    k = 0
    while k < len(pairs):
        end = k + 1
        while end < len(pairs) and pairs[end] == (pairs[end - 1][0] + 1, pairs[end - 1][1] + 1):
            end += 1
        if end - k > 1:
            runs.append(([p for p, _ in pairs[k:end]], [r for _, r in pairs[k:end]]))
        else:
            loose[0].append(pairs[k][0])
            loose[1].append(pairs[k][1])
        k = end
    return runs + ([loose] if loose[0] else [])


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


def _origins(graph: Graph, slots: _StateRows, dense: dict[int, Terms]) -> list[str | None]:
    """Each gradient row's backward step, in words: "backward through tanh at h (v[3]), to its x = v[2]"."""
    origins: list[str | None] = [None] * len(slots.names)
    if not graph.origins:
        return origins
    in_sum = {m: s for s, terms in dense.items() for m in terms.muls}

    def name(node: int) -> str:
        label = graph.labels[node] if graph.labels and node < len(graph.labels) else None
        if node in slots.of:
            return f"{label} ({slots.names[slots.of[node]]})" if label else slots.names[slots.of[node]]
        if node in in_sum and in_sum[node] in slots.of:
            return f"a product inside the dense sum {slots.names[slots.of[in_sum[node]]]}"
        return label or f"traced node {node}"

    for node, row in slots.of.items():
        origin = graph.origins[node]
        if origin is None:
            continue
        visited, k = origin
        op = graph.ops[visited]
        edge = "" if k is None else f", to its {op.input_name(k)} = {name(graph.parents[visited][k])}"
        origins[row] = f"backward through {op.name} at {name(visited)}{edge}"
    return origins


def _direct_inputs(steps: list[Instruction], reductions: list[Reduction], inputs: list[slice],
                   outputs: Index) -> list[bool]:
    """Let dense steps that read all of an argument's features read the batch; which arguments still load."""
    for step in [*steps, *reductions]:
        if isinstance(step, (Dense, Outer)) and isinstance(step.xs, slice):
            step.arg = next((k for k, ix in enumerate(inputs) if ix == step.xs), None)
    read = set(rows_of(outputs).tolist())
    for step in [*steps, *reductions]:
        for ix in step.sources():
            read.update(rows_of(ix).tolist())
    return [any(r in read for r in range(ix.start, ix.stop)) for ix in inputs]


def _parameter_order(graph: Graph, dense: dict[int, Terms], dense_groups: list[list[int]],
                     n_params: int) -> list[int]:
    """Weights of fn's dense steps first, row-major (so W is a reshaped slice), then the rest as given."""
    order: list[int] = []
    taken = set()
    for members in dense_groups:
        for i in members:
            for w in dense[i].ws:
                given = graph.roles[w][1]
                if given not in taken:  # a shared weight keeps its first place
                    taken.add(given)
                    order.append(given)
    return order + [p for p in range(n_params) if p not in taken]


class Terms(NamedTuple):
    """The parents of a sum node with product terms ``mul(w, x)``, sorted by x."""

    xs: tuple[int, ...]  # the x of each product
    ws: tuple[int, ...]  # its parameter w
    muls: tuple[int, ...]  # the product nodes, absorbed into a matrix product
    biases: tuple[int, ...]  # other terms that are parameters
    others: tuple[int, ...]  # other terms


def _dense_sums(graph: Graph, uses: list[int], needed: list[bool]) -> dict[int, Terms]:
    """sum nodes with product terms, and their terms.

    The products are sorted by their x, so that the gradient graph's sums over
    a layer's neurons, which arrive in the sweep's order, read their inputs
    in one order (a matrix product adds in its own order anyway).
    """
    found = {}
    for i, (op, ps) in enumerate(zip(graph.ops, graph.parents)):
        if op is not SUM or not needed[i]:
            continue
        products, biases, others = [], [], []
        for p in ps:
            term = _product_term(graph, p) if uses[p] == 1 else None
            if term is None:
                (biases if graph.roles[p][0] == "param" else others).append(p)
            else:
                products.append((*term, p))
        if products:
            products.sort()
            xs, ws, muls = zip(*products)
            found[i] = Terms(xs, ws, muls, tuple(biases), tuple(others))
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


class OuterTerms(NamedTuple):
    """A layer (the members of one of fn's dense steps) whose weights' gradients are ``mul(u_i, x_j)``."""

    members: list[int]
    us: list[int]


def _outer_products(graph: Graph, dense: dict[int, Terms], dense_groups: list[list[int]],
                    uses: list[int]) -> list[OuterTerms]:
    """fn's dense layers whose every weight's gradient is the product of its neuron's u and its input x.

    Only products used by nothing but the gradient, and weights used once (a
    shared weight's gradient is a sum of such products, reduced row by row).
    """
    if not graph.gradients:
        return []
    found = []
    for members in dense_groups:
        xs = dense[members[0]].xs
        us = [_neuron_upstream(graph, dense[i], uses) for i in members]
        if all(u is not None for u in us):
            weights = [graph.roles[w][1] for i in members for w in dense[i].ws]
            if len(set(weights)) == len(weights) and len(xs) == len(set(xs)):
                found.append(OuterTerms(members, us))
    return found


def _neuron_upstream(graph: Graph, terms: Terms, uses: list[int]) -> int | None:
    """u if the gradient of each weight of the sum is mul(u, x) (either order) with its x, else None."""
    u = None
    for w, x in zip(terms.ws, terms.xs):
        g = graph.gradients[graph.roles[w][1]]
        if graph.ops[g] is not MUL or uses[g] != 1:
            return None
        a, b = graph.parents[g]
        other = b if a == x else a if b == x else None
        if other is None or (u is not None and other != u):
            return None
        u = other
    return u


def _levels(graph: Graph, dense: dict[int, Terms], planned: list[int]) -> list[int]:
    """The level of each planned node: 1 + the highest level it reads (leaves are at 0)."""
    level = [0] * len(graph)
    at = level.__getitem__
    parents = graph.parents
    for i in planned:  # parents first
        read = dense[i].xs + dense[i].others if i in dense else parents[i]
        level[i] = 1 + max(map(at, read), default=0)
    return level


def _apply_step(graph: Graph, members: list[int], level: int, slots: _StateRows, gradient: bool) -> Apply:
    # Sorting by the inputs' rows makes the reads contiguous where the inputs are.
    members = sorted(members, key=lambda i: [slots.of[p] for p in graph.parents[i]])
    arity = len(graph.parents[members[0]])
    args = tuple(slots.rows([graph.parents[i][k] for i in members], shared=True) for k in range(arity))
    joint = None
    if graph.ops[members[0]].arity is None:
        every = slots.rows([graph.parents[i][k] for k in range(arity) for i in members])
        joint = every if isinstance(every, slice) and arity * len(members) > 1 else None
    for i in members:
        slots.assign_result(i, gradient)
    return Apply(level, graph.ops[members[0]], slots.rows(members), args, len(members), joint,
                 _valued_exponent(graph, members[0]))


def _weights(positions: list[int], shape: tuple[int, int]) -> tuple[Index, bool]:
    """The parameter vector's positions of an (m, n) matrix, and whether they are W.T's, row-major."""
    matrix = np.asarray(positions, dtype=np.intp).reshape(shape)
    straight = index(matrix.ravel())
    if isinstance(straight, slice):
        return straight, False
    transposed = index(matrix.T.ravel())
    return (transposed, True) if isinstance(transposed, slice) else (straight, False)


def _dense_step(graph: Graph, dense: dict[int, Terms], members: list[int], level: int, slots: _StateRows,
                position: dict[int, int], gradient: bool) -> Dense:
    # Inputs in the order of their rows, neurons in the order of their weights: for a layer's
    # gradient by its inputs (W.T), both read contiguous rows and W.T is a view.
    columns = np.argsort([slots.of[x] for x in dense[members[0]].xs], kind="stable")
    for i in members:
        terms = dense[i]
        dense[i] = terms._replace(xs=tuple(terms.xs[c] for c in columns),
                                  ws=tuple(terms.ws[c] for c in columns),
                                  muls=tuple(terms.muls[c] for c in columns))
    members = sorted(members, key=lambda i: position[graph.roles[dense[i].ws[0]][1]])
    first = dense[members[0]]
    for i in members:
        slots.assign_result(i, gradient)
    shape = (len(members), len(first.xs))
    weights, transposed = _weights([position[graph.roles[w][1]] for i in members for w in dense[i].ws], shape)
    return Dense(
        level=level, out=slots.rows(members), xs=slots.rows(first.xs), weights=weights, shape=shape,
        transposed=transposed,
        biases=tuple(index([position[graph.roles[dense[i].biases[k]][1]] for i in members], shared=True)
                     for k in range(len(first.biases))),
        extras=tuple(slots.rows([dense[i].others[k] for i in members], shared=True)
                     for k in range(len(first.others))),
    )


def _outer_step(graph: Graph, dense: dict[int, Terms], terms: OuterTerms, slots: _StateRows,
                position: dict[int, int]) -> Outer:
    first = dense[terms.members[0]]
    weights = index([position[graph.roles[w][1]] for i in terms.members for w in dense[i].ws])
    return Outer(weights, (len(terms.members), len(first.xs)), slots.rows(terms.us), slots.rows(first.xs))


# -- printing -------------------------------------------------------------------


def format_plan(plan: Plan, title: str) -> str:
    """The plan as text, one line per step, like JAX's make_jaxpr."""
    lines = [title, *(_step_line(plan, step) for step in plan.steps)]
    lines.append(f"  return {_names(plan, plan.outputs)}")
    if plan.reductions:
        lines.append("  gradients, per sample:")
        lines += [_step_line(plan, step) for step in plan.gradient_steps]
        lines.append("  summed over the batch:")
        lines += [_reduction_line(plan, step) for step in plan.reductions]
    return "\n".join(lines)


def _step_line(plan: Plan, step: Instruction) -> str:
    if isinstance(step, Dense):
        expr = f"{_matrix(step)} @ {_names(plan, step.xs)}"
        expr += "".join(f" + {_positions(ix)}" for ix in step.biases)
        expr += "".join(f" + {_names(plan, ix)}" for ix in step.extras)
        kind = "dense"
    else:
        if step.op.arity is None and step.width == 1:
            operands = _names(plan, np.concatenate([rows_of(ix) for ix in step.args]))
        else:
            operands = ", ".join(_names(plan, ix) for ix in step.args)
        expr, kind = f"{step.op.name}({operands})", step.op.name
    return f"  level {step.level:<2} {kind:<8} {_names(plan, step.out)} = {expr}"


def _reduction_line(plan: Plan, step: Reduction) -> str:
    if isinstance(step, Outer):
        m, n = step.shape
        return (f"  outer          dloss_d{_positions(step.weights)}.reshape({m}, {n}) = "
                f"{_names(plan, step.us)} @ {_names(plan, step.xs)}.T")
    return f"  sum            dloss_d{_positions(step.positions)} = {_names(plan, step.rows)}"


def _matrix(step: Dense) -> str:
    m, n = step.shape
    if step.transposed:
        return f"{_positions(step.weights)}.reshape({n}, {m}).T"
    return f"{_positions(step.weights)}.reshape({m}, {n})"


def _positions(ix: Index) -> str:
    return _compress([f"p[{i}]" for i in rows_of(ix)])


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
