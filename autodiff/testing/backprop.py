"""Check hand-written backpropagation: run the learner's NumPy forward on Values, compare their gradients.

Every classic tutorial derives its gradients by hand in NumPy (Nielsen's
``delta = (a - y) * sigmoid_prime(z)``, the Gaussian-clouds tutorial's
``derivative_w1``).  :func:`check_backprop` runs the learner's own forward pass
on object arrays of Values (:mod:`autodiff.arrays`), so the engine knows the
gradient of the cost with respect to every array and every intermediate the
learner names, and compares the learner's gradients with it array by array.
A wrong array is diagnosed by computation, never by guesswork: a diagnosis is
given only when the numbers it predicts are the learner's numbers.

>>> import numpy as np
>>> X = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]]); Y = np.array([[1.0], [0.0], [1.0]])
>>> W = np.array([[0.5], [-0.3]])
>>> def forward(W):
...     z = X @ W
...     a = 1 / (1 + np.exp(-z))
...     return ((a - Y) ** 2).sum() / 2, {"z": z, "a": a}
>>> a = 1 / (1 + np.exp(-(X @ W)))
>>> delta = (a - Y) * a * (1 - a)                    # dC/dz, derived by hand
>>> report = check_backprop(forward, {"W": W}, {"z": delta, "W": X.T @ delta})
>>> report.ok, report["W"].status
(True, 'close')
>>> report = check_backprop(forward, {"W": W}, {"z": a - Y, "W": X.T @ (a - Y)})   # σ' forgotten
>>> print(report["z"].diagnosis)
missing factor d a/d z = σ'(z): your gradient times it is the engine's, element by element
>>> print(report["W"].diagnosis)
follows from z: from your gradient of z, the rest of the chain rule gives exactly this; fix z first
"""

from __future__ import annotations

import ctypes
import difflib
import functools
import html
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import clock
from ..arrays import values
from ..backward import local_partials
from ..explaining import Explanation, explain
from ..graph import is_computed, topological_order
from ..naming import printed
from ..node import Node
from ..ufuncs import translate_numpy_error
from ..value import Value
from .mistakes import Mistake, mistaken_gradients

#: The forward pass may build at most this many nodes by default (about 0.3 GB of Values).
MAX_NODES = 2_000_000
#: ... and take at most this many seconds by default.
TIME_LIMIT = 60.0
#: "Close" is |difference| <= RTOL * max|engine| + ATOL (float64); float32 and float16 arrays get RTOL_LOW.
RTOL, ATOL, RTOL_LOW = 1e-9, 1e-12, 1e-4
#: Scalar factors a diagnosis may name: powers of two up to this exponent, times counts found in the arrays.
MAX_POWER_OF_TWO = 4


class Row:
    """One of the learner's gradients compared with the engine's.

    ``status`` is ``"exact"`` (equal bit for bit), ``"close"`` (within the
    tolerance: a pass), ``"wrong"`` or ``"shape"``.  ``index`` is the first
    wrong element, ``engine`` and ``yours`` the two arrays, ``max_difference``
    the largest difference over comparable elements, ``diagnosis`` what
    explains a wrong row (or None), ``not_comparable`` how many elements have
    no node (NumPy computed them without Values).
    """

    def __init__(self, name: str, status: str, engine: np.ndarray | None, yours: np.ndarray,
                 index: tuple[int, ...] | None = None, max_difference: float | None = None,
                 diagnosis: str | None = None, not_comparable: int = 0,
                 explain_first: Callable[[], Explanation | None] | None = None) -> None:
        self.name, self.status, self.engine, self.yours = name, status, engine, yours
        self.index, self.max_difference, self.diagnosis = index, max_difference, diagnosis
        self.not_comparable = not_comparable
        self._explain_first = explain_first
        self._explanation: Explanation | None = None

    @property
    def ok(self) -> bool:
        """True for an exact or close row."""
        return self.status in ("exact", "close")

    @property
    def explanation(self) -> Explanation | None:
        """The chain-rule explanation of the first wrong element's gradient (None for a right row)."""
        if self._explanation is None and self._explain_first is not None and not self.ok:
            self._explanation = self._explain_first()
        return self._explanation

    def summary(self) -> str:
        """One line: the name, the verdict and, for a wrong row, where and by how much."""
        if self.status == "exact":
            text = "exact"
        elif self.status == "close":
            text = f"close (max difference {self.max_difference:.3g})"
        elif self.status == "shape":
            text = f"wrong shape: yours is {self.yours.shape}, the engine's {_shape(self.engine)}"
        else:
            where = f" at {_where(self.index)}" if self.index else ""
            text = (f"wrong{where}: engine {printed(float(self.engine[self.index]))}, "
                    f"yours {printed(float(self.yours[self.index]))} "
                    f"(max difference {self.max_difference:.3g})")
        if self.not_comparable:
            text += f"; not comparable at {self.not_comparable} elements (no node: NumPy masked them)"
        return text

    def __repr__(self) -> str:
        return f"<Row {self.name}: {self.summary()}>"


def _paths(count: int) -> str:
    return f"{count:,} path" + ("" if count == 1 else "s")


def _shape(array: np.ndarray | None) -> Any:
    return None if array is None else array.shape


def _where(index: tuple[int, ...] | None) -> str:
    """An index as written after an array's name: ``[0, 2]``; nothing for a scalar."""
    return "" if not index else "[" + ", ".join(map(str, index)) + "]"


class BackpropReport:
    """The comparison of every gradient given: ``ok``, ``rows`` (in the order given) and ``report[name]``.

    ``assert report.ok, report`` prints the whole report when a gradient is
    wrong; in a notebook the report shows itself as a table.
    """

    def __init__(self, rows: list[Row], nodes: int, seconds: float) -> None:
        self.rows, self.nodes, self.seconds = rows, nodes, seconds

    @property
    def ok(self) -> bool:
        """True when every gradient is exact or close."""
        return all(row.ok for row in self.rows)

    def __getitem__(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no row named {name!r}; the rows are {', '.join(r.name for r in self.rows)}")

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __str__(self) -> str:
        right = sum(row.ok for row in self.rows)
        head = ("all gradients match the engine's" if self.ok else
                f"{right} of {len(self.rows)} gradients match the engine's")
        lines = [f"check_backprop: {head} ({self.nodes:,} nodes)"]
        width = max(len(row.name) for row in self.rows)
        for row in self.rows:
            lines.append(f"  {'✓' if row.ok else '✗'} {row.name:<{width}}  {row.summary()}")
            if not row.ok and row.diagnosis:
                lines.append(f"      {row.diagnosis}")
        first = next((row for row in self.rows if row.status == "wrong"), None)
        if first is not None and first.explanation is not None:
            text = str(first.explanation)
            if len(text) <= 1200:
                lines.append(f"  the chain rule at the first wrong element of {first.name}:")
                lines += ["    " + line for line in text.splitlines()]
            else:
                lines.append(f"  report[{first.name!r}].explanation: the chain rule at "
                             f"{first.name}{_where(first.index)} ({_paths(first.explanation.count)})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        cells = []
        for row in self.rows:
            colour = "#1b7837" if row.ok else "#b2182b"
            diagnosis = html.escape(row.diagnosis or "")
            cells.append(f"<tr><td style='color:{colour}'>{'✓' if row.ok else '✗'}</td>"
                         f"<td><code>{html.escape(row.name)}</code></td><td>{html.escape(row.summary())}</td>"
                         f"<td>{diagnosis}</td></tr>")
        verdict = "all gradients match" if self.ok else "some gradients are wrong"
        return (f"<div><b>check_backprop</b>: {verdict}<table><tr><th></th><th>gradient</th>"
                f"<th>verdict</th><th>diagnosis</th></tr>{''.join(cells)}</table></div>")


# -- the check -------------------------------------------------------------------------


def check_backprop(forward: Callable[..., Any], arrays: Mapping[str, Any], gradients: Mapping[str, Any], *,
                   learning_rate: float | None = None, max_nodes: int = MAX_NODES,
                   time_limit: float = TIME_LIMIT) -> BackpropReport:
    """Compare hand-derived gradients with the engine's, array by array, and name the mistake.

    ``forward(**arrays)`` is the learner's NumPy forward pass.  It returns the
    scalar cost, or ``(cost, intermediates)`` with a dict of the intermediate
    arrays the learner names (``{"z1": z1, "a1": a1}``).  ``arrays`` maps
    names to the ndarrays (or lists of ndarrays, or numbers) to differentiate:
    the forward pass gets them as object arrays of Values.  ``gradients`` maps
    names of arrays or intermediates to the learner's gradients of the cost
    with respect to them (Nielsen's ``delta`` is the gradient with respect to
    ``z``).  A list of arrays (Nielsen's ``nabla_w``) is compared as rows
    ``name[0]``, ``name[1]``...  With ``learning_rate``, a gradient computed
    from weights already updated is recognised.

    The forward pass is bounded: more than ``max_nodes`` nodes or
    ``time_limit`` seconds stops it with advice to check a sample.  Only a bad
    call raises: an unknown name, a forward that does not return a scalar, a
    NaN in ``arrays``.
    """
    for name, array in arrays.items():
        _refuse_nan(name, array)
    started = time.perf_counter()
    graph = _run(forward, arrays, max_nodes, time_limit)
    expected = _targets(graph, gradients)
    rows = [_compare(name, targets, yours) for name, targets, yours in expected]
    diagnose_rows(graph, rows, {name: t for name, t, _ in expected}, forward, arrays, learning_rate,
                  (max_nodes, time_limit))
    return BackpropReport(rows, graph.nodes, time.perf_counter() - started)


@dataclass
class _Graph:
    """The learner's forward pass on Values: the cost, the lifted arrays and the named intermediates."""

    cost: Value
    lifted: dict[str, Any]
    intermediates: dict[str, Any]
    nodes: int

    @functools.cached_property
    def order(self) -> list[Node]:
        """Every node of the cost's graph, parents first (only diagnoses need it)."""
        return topological_order(self.cost)


def _run(forward: Callable[..., Any], arrays: Mapping[str, Any], max_nodes: int, time_limit: float) -> _Graph:
    lifted = {name: values(array, name) for name, array in arrays.items()}
    start = clock.tick()
    try:
        result = _bounded(lambda: forward(**lifted), max_nodes, time_limit, start)
    except TypeError as error:
        text = translate_numpy_error(error)
        if text == str(error):
            raise
        raise TypeError(f"your forward pass failed on Values: {text}") from None
    nodes = clock.tick() - start
    cost, intermediates = result if isinstance(result, tuple) and len(result) == 2 else (result, {})
    if not isinstance(intermediates, Mapping):
        raise TypeError("forward must return the cost, or (cost, dict of named intermediates); "
                        f"the second item is a {type(intermediates).__name__}")
    cost = _scalar(cost)
    cost.backward()
    _label(cost, dict(intermediates))
    return _Graph(cost, lifted, dict(intermediates), nodes)


def _label(cost: Value, intermediates: dict[str, Any]) -> None:
    """Name the learner's intermediates in explanations (``z1[0, 2]``): the graph is this check's own."""
    if cost.label is None:
        cost.label = "cost"
    for name, array in intermediates.items():
        for part_name, part in _parts(name, array):
            if isinstance(part, Value):
                part.label = part.label or part_name
                continue
            for index, element in np.ndenumerate(np.asarray(part, dtype=object)):
                if isinstance(element, Value) and element.label is None:
                    element.label = f"{part_name}[{_where(index)[1:-1]}]" if index else part_name


def _scalar(cost: Any) -> Value:
    if isinstance(cost, np.ndarray) and cost.size == 1:
        cost = cost.reshape(-1)[0]
    if isinstance(cost, Value):
        return cost
    what = f"an array of shape {cost.shape}" if isinstance(cost, np.ndarray) else type(cost).__name__
    raise TypeError(
        f"forward must return the scalar cost as a Value (e.g. ((a - y) ** 2).sum() / 2), not {what}. "
        "Sum or average over samples and outputs; a plain number means the cost does not depend on the arrays"
    )


def _refuse_nan(name: str, array: Any) -> None:
    if isinstance(array, (list, tuple)):
        for i, part in enumerate(array):
            _refuse_nan(f"{name}[{i}]", part)
        return
    numbers = np.asarray(array, dtype=float)
    bad = np.argwhere(~np.isfinite(numbers))
    if bad.size:
        index = tuple(int(i) for i in bad[0])
        raise ValueError(f"arrays[{name!r}] holds {float(numbers[index])!r} at {_where(index)}: "
                         "the arrays to differentiate must be finite")


class _OverBudget(BaseException):
    """Raised inside the learner's forward pass by the watchdog (see :func:`_bounded`).

    A BaseException, like KeyboardInterrupt, so that the learner's ``except Exception`` lets it through.
    """


def _bounded(call: Callable[[], Any], max_nodes: int, time_limit: float, start: int) -> Any:
    """``call()`` in this thread, stopped once it has built ``max_nodes`` nodes or run ``time_limit`` s.

    A watchdog thread looks at the engine's creation counter every 0.1 s (each
    look takes the interpreter lock from the pass: more often costs the pass
    time) and, past a limit, raises an exception in this thread, delivered
    between two bytecodes, so inside NumPy's object loops too.  An exception
    raised while this thread runs a finaliser is swallowed by Python, so the
    watchdog raises again every 0.1 s until the pass has stopped.
    """
    target, stop, why = threading.get_ident(), [False], []
    began = time.monotonic()

    def watch() -> None:
        while not stop[0]:
            time.sleep(0.1)
            nodes, seconds = clock.tick() - start, time.monotonic() - began
            if not stop[0] and (nodes > max_nodes or seconds > time_limit):
                why.append((nodes, seconds))
                _raise_in(target, _OverBudget)

    watchdog = threading.Thread(target=watch, daemon=True)
    watchdog.start()
    finished, result = False, None
    try:
        try:
            result, finished = call(), True
        finally:
            stop[0] = True  # a plain store: the watchdog sends nothing new after it
    except _OverBudget:
        stop[0] = True
    while True:  # wait for the watchdog; one it sent before it saw the stop is raised and caught here
        try:
            watchdog.join()
            _settle()
            break
        except _OverBudget:
            continue
    if finished:
        return result
    nodes, seconds = why[0]
    raise RuntimeError(
        f"check_backprop stopped your forward pass after {nodes:,} nodes and {seconds:.1f} s "
        f"(limits: max_nodes={max_nodes:,}, time_limit={time_limit:g} s). Every number of a Value "
        "graph is a node: check a sample instead, e.g. 10 rows of X (784-30-10 on 10 images is "
        "about 715,000 nodes), or raise the limits"
    )


def _raise_in(thread: int, exception: type[BaseException]) -> None:
    """Raise ``exception`` in another thread at its next bytecode.

    Never called with NULL to cancel one: CPython 3.11 then leaves its eval
    breaker signalled and every later bytecode of the process runs slowly.
    """
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(exception))


def _settle() -> None:
    """A few bytecodes with checks for pending exceptions, so that one sent to this thread is raised now."""
    for _ in range(3):
        pass


def _parts(name: str, array: Any) -> list[tuple[str, Any]]:
    """A named array as (name, array) pairs: a list of arrays is ``name[0]``, ``name[1]``..."""
    if isinstance(array, list):
        return [(f"{name}[{i}]", part) for i, part in enumerate(array)]
    return [(name, array)]


def _targets(graph: _Graph, gradients: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(row name, the engine's array of nodes, the learner's gradient) for every gradient given."""
    known: dict[str, Any] = {}
    for name, array in itertools.chain(graph.lifted.items(), graph.intermediates.items()):
        known[name] = array
        if isinstance(array, list):
            known.update({f"{name}[{i}]": part for i, part in enumerate(array)})
    rows = []
    for name, yours in gradients.items():
        if name not in known:
            lower = {k.lower(): k for k in known}  # w1 for W1 is the commonest slip
            close = [lower[k] for k in difflib.get_close_matches(name.lower(), list(lower), n=3)]
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise KeyError(f"gradients names {name!r}, which is neither an array nor a named intermediate "
                           f"(known: {', '.join(known)}){hint}")
        targets = known[name]
        if isinstance(targets, list) and isinstance(yours, (list, tuple)):
            if len(yours) != len(targets):
                raise ValueError(f"gradients[{name!r}] has {len(yours)} arrays; {name} has {len(targets)}")
            rows += [(f"{name}[{i}]", t, y) for i, (t, y) in enumerate(zip(targets, yours))]
        else:
            rows.append((name, targets, yours))
    return rows


def _compare(name: str, targets: Any, yours: Any) -> Row:
    nodes = np.asarray(targets, dtype=object) if not isinstance(targets, Value) else _box(targets)
    has_node = np.vectorize(lambda x: isinstance(x, Value), otypes=[bool])(nodes)
    engine = np.vectorize(lambda x: x.grad if isinstance(x, Value) else np.nan, otypes=[float])(nodes)
    mine = np.asarray(yours)
    rtol = RTOL_LOW if mine.dtype in (np.float32, np.float16) else RTOL
    mine = mine.astype(float)
    row = Row(name, "wrong", engine, mine, not_comparable=int((~has_node).sum()))
    if mine.shape != engine.shape:
        return _shape_row(row, has_node, rtol)
    different = _differs(engine, mine, has_node, rtol)
    comparable = has_node & np.isfinite(mine)
    gaps = np.abs(engine - mine)[comparable]
    row.max_difference = float(gaps.max()) if gaps.size else 0.0
    if not different.any():
        exact = np.array_equal(engine[has_node], mine[has_node])
        row.status = "exact" if exact else "close"
        return row
    row.index = tuple(int(i) for i in np.argwhere(different)[0])
    if not np.isfinite(mine[row.index]):
        row.diagnosis = f"your gradient holds {float(mine[row.index])!r} at {_where(row.index)}"
        row.max_difference = math.inf
    return row


def _box(node: Value) -> np.ndarray:
    boxed = np.empty((), dtype=object)
    boxed[()] = node
    return boxed


def _differs(engine: np.ndarray, mine: np.ndarray, has_node: np.ndarray, rtol: float) -> np.ndarray:
    """Where the learner's gradient is not within the tolerance of the engine's (NaN always differs)."""
    scale = float(np.max(np.abs(engine[has_node]))) if has_node.any() else 0.0
    tolerance = rtol * scale + ATOL
    with np.errstate(invalid="ignore"):
        return has_node & ~(np.abs(engine - mine) <= tolerance)


def _shape_row(row: Row, has_node: np.ndarray, rtol: float) -> Row:
    row.status = "shape"
    engine, mine = row.engine, row.yours
    if mine.T.shape == engine.shape and not _differs(engine, mine.T, has_node, rtol).any():
        row.diagnosis = "transposed: your gradient is the transpose of the engine's"
    elif mine.size == engine.size and not _differs(engine, mine.reshape(engine.shape), has_node, rtol).any():
        row.diagnosis = (f"the right numbers in another shape: reshape yours to {engine.shape} "
                         "(a gradient has the shape of what it is the gradient of)")
    else:
        row.diagnosis = f"a gradient has the shape of what it is the gradient of: {engine.shape}"
    return row


# -- diagnoses ----------------------------------------------------------------------------


def diagnose_rows(graph: _Graph, rows: list[Row], targets: Mapping[str, Any], forward: Callable[..., Any],
                  arrays: Mapping[str, Any], learning_rate: float | None, limits: tuple[int, float]) -> None:
    """Fill in each wrong row's diagnosis, from the cost backwards (see :class:`_Diagnosis`)."""
    _Diagnosis(graph, rows, targets, forward, arrays, learning_rate, limits).run()


class _Diagnosis:
    """The diagnoses of wrong rows, each computed from the graph.

    In order, the first that reproduces the learner's numbers is given:
    "follows from" a wrong row nearer the cost; a scalar factor (a sign, a
    power of two, a count of samples); an element-wise missing or extra local
    factor; a local factor left out (or its sign flipped) inside a sum over
    samples, found by re-sweeping with that factor set to 1 (or negated);
    a gradient computed from weights already updated.
    """

    def __init__(self, graph: _Graph, rows: list[Row], targets: Mapping[str, Any],
                 forward: Callable[..., Any], arrays: Mapping[str, Any], learning_rate: float | None,
                 limits: tuple[int, float]) -> None:
        self.graph, self.rows, self.targets = graph, rows, targets
        self.forward, self.arrays, self.learning_rate, self.limits = forward, arrays, learning_rate, limits
        self._swept: dict[str, dict[Node, float] | None] = {}
        self._groups: list[tuple[str, dict[tuple[Any, int], float], set[tuple[Any, int]]]] | None = None

    @functools.cached_property
    def owner(self) -> dict[Any, tuple[str, tuple[int, ...]]]:
        """Each element of a named array or intermediate: (its name, its index)."""
        return _owners(self.graph)

    @functools.cached_property
    def consumers(self) -> dict[Any, list[tuple[Any, int]]]:
        """Each node's consumers in the cost's graph: (consumer, operand index)."""
        return _consumers(self.graph.order)

    def run(self) -> None:
        wrong = [row for row in self.rows if row.status == "wrong" and row.diagnosis is None]
        wrong.sort(key=self._distance_to_cost)
        done: list[Row] = []
        for row in wrong:
            row._explain_first = self._explainer(row)
            row.diagnosis = (self._follows(row, done) or self._transposed(row) or self._scalar(row)
                             or self._elementwise(row) or self._counterfactual(row) or self._updated(row)
                             or "no single mistake of the catalogue explains it: read the chain rule at the "
                                "first wrong element")
            done.append(row)
        for row in self.rows:
            if row.status == "wrong" and row._explain_first is None:
                row._explain_first = self._explainer(row)

    # the nodes of a row, in the engine's array
    def _nodes(self, row: Row) -> np.ndarray:
        targets = self.targets[row.name]
        return np.asarray(targets, dtype=object) if not isinstance(targets, Value) else _box(targets)

    def _distance_to_cost(self, row: Row) -> float:
        created = [v.created for v in self._nodes(row).flat if isinstance(v, Value)]
        return -max(created, default=-1)

    def _explainer(self, row: Row) -> Callable[[], Explanation | None]:
        node = self._nodes(row)[row.index] if row.index is not None else None
        return lambda: explain(self.graph.cost, node) if isinstance(node, Value) else None

    def _matches(self, row: Row, engine: np.ndarray) -> bool:
        has_node = ~np.isnan(row.engine)
        rtol = RTOL if row.yours.dtype == float else RTOL_LOW
        return not _differs(engine, row.yours, has_node, rtol).any()

    def _resweep(self, row: Row, grads: Mapping[Node, float]) -> np.ndarray:
        return np.vectorize(lambda v: grads.get(v, 0.0) if isinstance(v, Value) else np.nan,
                            otypes=[float])(self._nodes(row))

    # (d) follows from a wrong row nearer the cost
    def _follows(self, row: Row, done: list[Row]) -> str | None:
        for earlier in reversed(done):
            grads = self._sweep_from(earlier)
            if grads is not None and self._matches(row, self._resweep(row, grads)):
                return (f"follows from {earlier.name}: from your gradient of {earlier.name}, the rest of the "
                        f"chain rule gives exactly this; fix {earlier.name} first")
        return None

    def _sweep_from(self, earlier: Row) -> dict[Node, float] | None:
        """The chain rule from your gradient of ``earlier`` on (one sweep per row, shared by later rows)."""
        if earlier.name not in self._swept:
            nodes = self._nodes(earlier)
            given = {v: float(y) for v, y in zip(nodes.flat, earlier.yours.flat)
                     if isinstance(v, Value) and is_computed(v)}
            self._swept[earlier.name] = mistaken_gradients(self.graph.cost, given=given) if given else None
        return self._swept[earlier.name]

    def _transposed(self, row: Row) -> str | None:
        engine = row.engine
        if engine.ndim == 2 and engine.shape[0] == engine.shape[1] and self._matches(row, engine.T):
            return "transposed: your gradient is the transpose of the engine's"
        return None

    # (a) one scalar factor
    def _scalar(self, row: Row) -> str | None:
        engine, mine = row.engine, row.yours
        ok = ~np.isnan(engine)
        denominator = float(np.dot(engine[ok], engine[ok]))
        if denominator == 0.0 or not np.isfinite(mine[ok]).all():
            return None
        factor = float(np.dot(engine[ok], mine[ok])) / denominator
        if not self._matches(row, factor * engine):
            return None
        for candidate, words in self._factors():
            if math.isclose(factor, candidate, rel_tol=1e-6):
                return words
        return None

    def _factors(self) -> list[tuple[float, str]]:
        """Candidate factors, simplest first (a sign, a power of two, a count, then their products)."""
        found: dict[float, tuple[int, str]] = {}
        for sign in (-1.0, 1.0):
            for k in range(-MAX_POWER_OF_TWO, MAX_POWER_OF_TWO + 1):
                for n, where in [(1, "")] + sorted(_counts(self.graph)):
                    for p in ((1,) if n == 1 else (1, -1)):
                        value = sign * 2.0**k * float(n) ** p
                        rank = abs(k) + (n != 1) * 2
                        if value != 1.0 and (value not in found or rank < found[value][0]):
                            found[value] = (rank, _factor_words(sign, k, n, p, where))
        return [(value, words) for value, (rank, words) in sorted(found.items(), key=lambda i: i[1][0])]

    # (b) an element-wise local factor missing or extra
    def _elementwise(self, row: Row) -> str | None:
        chains = [self._chain(v) for v in self._nodes(row).flat]
        if not chains or any(chain is None for chain in chains):
            return None
        steps = min(len(chain) for chain in chains)
        for k in range(steps):
            prefix = np.array([chain[k][1] for chain in chains]).reshape(row.engine.shape)
            with np.errstate(divide="ignore", invalid="ignore"):
                missing = np.where(prefix != 0, row.engine / prefix, 0.0)
            name = self._factor_name(row, chains, k)
            if self._matches(row, missing):
                return f"missing factor {name}: your gradient times it is the engine's, element by element"
            if self._matches(row, row.engine * prefix):
                return f"extra factor {name}: your gradient divided by it is the engine's, element by element"
        return None

    def _chain(self, node: Node) -> list[tuple[Node, float]] | None:
        """From ``node`` towards the cost while each node has one consumer: (node reached, product so far)."""
        if not isinstance(node, Value):
            return None
        chain, product, current = [], 1.0, node
        while len(chain) < 8:
            users = self.consumers.get(current, [])
            if len(users) != 1:
                break
            consumer, index = users[0]
            partial = local_partials(consumer)[index]
            product *= partial
            chain.append((consumer, product))
            current = consumer
            if current.op == "sum" or current is self.graph.cost:
                break
        return chain

    def _factor_name(self, row: Row, chains: list[list[tuple[Node, float]]], k: int) -> str:
        # Steps with a local factor of 1 (the * 1 of 1 / x) do not change the product: name the
        # factor after the first named intermediate they reach, if any.
        for j in range(k, min(len(chain) for chain in chains)):
            if any(chain[j][1] != chain[k][1] for chain in chains):
                break
            if self.owner.get(chains[0][j][0]) is not None:
                k = j
                break
        ends = [chain[k][0] for chain in chains]
        owner = self.owner.get(ends[0])
        start = self._nodes(row).flat[0]
        if owner is not None and all(self.owner.get(e, (None,))[0] == owner[0] for e in ends):
            name = f"d {owner[0]}/d {row.name}"
            return f"{name} = σ'({row.name})" if _is_sigmoid(start, ends[0], k) else name
        sigmoid = next((j for j in range(k + 1) if _sigmoid_edges(chains[0][j][0])), None)
        if sigmoid is not None and all(chain[sigmoid][1] == chain[k][1] for chain in chains):
            return f"σ' (the derivative of the sigmoid after {row.name})"
        steps = [chains[0][j][0] for j in range(k + 1)
                 if (chains[0][j][1] != chains[0][j - 1][1] if j else chains[0][0][1] != 1.0)]
        if len(steps) == 1 and steps[0].primitive.arity == 1:
            return f"{steps[0].op}' (the derivative of the {steps[0].op} after {row.name})"
        return f"the local derivatives of the {k + 1} operations after {row.name}"

    # (c) a local factor left out, or its sign flipped, inside a sum over samples
    def _counterfactual(self, row: Row) -> str | None:
        cost = self.graph.cost
        for words, left_out, heads in self._edge_groups():
            for how, contribution in (("missing", _replacing(left_out)), ("negated", _negating(heads))):
                try:
                    grads = Mistake("counterfactual", words, "", contribution=contribution).gradients(cost)
                except ValueError:
                    continue
                if self._matches(row, self._resweep(row, grads)):
                    change = "without it" if how == "missing" else "with it negated"
                    return f"{how} {words}: the chain rule {change} gives exactly your gradient"
        return None

    def _edge_groups(self) -> list[tuple[str, dict[tuple[Any, int], float], set[tuple[Any, int]]]]:
        """Local factors a learner may leave out or negate, each as a group of edges (node, operand index).

        A group is (its words, the partial of each edge when the factor is left
        out, the edges whose partial is negated to flip its sign).
        """
        if self._groups is not None:
            return self._groups
        Edges = dict[tuple[Any, int], float]
        by_intermediate: dict[tuple[str, str], Edges] = {}
        by_layer: dict[tuple[str, frozenset[str]], Edges] = {}
        arrays = {name for node, (name, _) in self.owner.items() if node.is_leaf}
        after = _arrays_before(self.graph.order, self.owner, arrays)
        for node in self.graph.order:
            composite = _sigmoid_edges(node)
            if composite:  # the last node of 1 / (1 + exp(-z)): the whole chain is one factor, σ'(z)
                by_layer.setdefault(("sigmoid", after[node]), {}).update(composite)
            if not is_computed(node) or node.op in ("add", "sum", "mul"):
                continue
            edges = {(node, i): 1.0 for i, p in enumerate(node.parents) if not p.is_constant}
            by_layer.setdefault((node.op, after[node]), {}).update(edges)
            owner, source = self.owner.get(node), self.owner.get(node.parents[0])
            if owner is not None and source is not None and owner[0] != source[0]:
                by_intermediate.setdefault((owner[0], source[0]), {}).update(edges)
        groups = []
        for (later, before), edges in by_intermediate.items():
            name = f"d {later}/d {before}"
            if next(iter(edges))[0].op == "sigmoid":
                name += f" = σ'({before})"
            groups.append((f"factor {name}", edges, set(edges)))
        # Without names, a layer is the nodes of one op that depend on the same arrays (W1, b1: layer 1).
        for (op, arrays_before), edges in sorted(by_layer.items(), key=lambda i: (i[0][0], len(i[0][1]))):
            lower = set().union(*(a for (o, a) in by_layer if o == op and a < arrays_before))
            new = sorted(arrays_before - lower)
            where = f" after {', '.join(new)}" if new and len(by_layer) > 1 else ""
            what = "σ' of the sigmoids" if op == "sigmoid" else f"the local derivative of the {op} nodes"
            heads = {edge for edge in edges if edge[0].op == op or (op == "sigmoid" and edge[0].op == "pow")}
            groups.append((f"factor {what}{where}", edges, heads))
        self._groups = groups
        return groups

    # (e) a gradient computed from weights already updated
    def _updated(self, row: Row) -> str | None:
        """A gradient computed after another array was stepped: in the backward pass only, or in both."""
        if self.learning_rate is None:
            return None
        for name, array in self.arrays.items():
            if isinstance(array, (list, tuple)):
                continue
            leaves = self.graph.lifted[name]
            step = self.learning_rate * _engine_grads(leaves)
            for sign, words in ((1.0, "-"), (-1.0, "+")):
                stepped = np.asarray(array, dtype=float) - sign * step
                what = f"{name} already stepped ({name} {words} η·d{name})"
                if self._matches_stepped_backward(row, leaves, stepped):
                    return (f"computed from updated weights: your gradient is the engine's with {what} "
                            "in the backward pass; compute every gradient before updating any weight")
                if self._matches_stepped_forward(row, name, stepped):
                    return (f"computed from updated weights: your gradient is the engine's with {what}; "
                            "compute every gradient before updating any weight")
        return None

    def _matches_stepped_backward(self, row: Row, leaves: Any, stepped: np.ndarray) -> bool:
        """Does the chain rule with the stepped numbers in the partials that read them give the row?"""
        numbers = {leaf: float(x) for leaf, x in zip(np.asarray(leaves, dtype=object).flat, stepped.flat)}

        def contribution(node: Node, i: int, partial: float, upstream: float) -> float:
            if node.op == "mul" and node.parents[1 - i] in numbers:  # d(x*w)/dx = w: the stepped w
                return numbers[node.parents[1 - i]] * upstream
            return partial * upstream

        try:
            grads = Mistake("stepped", "stepped", "", contribution=contribution).gradients(self.graph.cost)
        except ValueError:
            return False
        return self._matches(row, self._resweep(row, grads))

    def _matches_stepped_forward(self, row: Row, name: str, stepped: np.ndarray) -> bool:
        """Does a whole forward and backward pass from the stepped array give the row?"""
        try:
            again = _run(self.forward, dict(self.arrays, **{name: stepped}), *self.limits)
        except Exception:  # noqa: BLE001 - a what-if that fails explains nothing
            return False
        targets = dict(again.lifted, **again.intermediates)
        if row.name not in targets or isinstance(targets[row.name], list):
            return False
        engine = np.vectorize(lambda v: v.grad if isinstance(v, Value) else np.nan,
                              otypes=[float])(np.asarray(targets[row.name], dtype=object))
        return engine.shape == row.engine.shape and self._matches(row, engine)


def _arrays_before(
    order: list[Node], owner: Mapping[Any, tuple[str, Any]], names: set[str]
) -> dict[Any, frozenset[str]]:
    """For each node, the names of the learner's arrays it depends on (what tells one layer from the next)."""
    before: dict[Any, frozenset[str]] = {}
    none: frozenset[str] = frozenset()
    for node in order:
        found = none
        for parent in node.parents:
            theirs = before[parent]
            if theirs is not found and not theirs <= found:
                found = found | theirs
        mine = owner.get(node)
        if mine is not None and mine[0] in names:
            found = found | {mine[0]}
        before[node] = found
    return before


def _replacing(partials: Mapping[tuple[Any, int], float]) -> Callable[..., float]:
    """A sweep's contribution with the partials of some edges replaced."""
    def contribution(node: Node, i: int, partial: float, upstream: float) -> float:
        return partials.get((node, i), partial) * upstream
    return contribution


def _negating(edges: set[tuple[Any, int]]) -> Callable[..., float]:
    """A sweep's contribution with the partials of some edges negated."""
    def contribution(node: Node, i: int, partial: float, upstream: float) -> float:
        return (-partial if (node, i) in edges else partial) * upstream
    return contribution


def _engine_grads(array: Any) -> np.ndarray:
    return np.vectorize(lambda v: v.grad, otypes=[float])(np.asarray(array, dtype=object))


def _owners(graph: _Graph) -> dict[Any, tuple[str, tuple[int, ...]]]:
    """Each node that is an element of a named array or intermediate: (its name, its index)."""
    owners: dict[Any, tuple[str, tuple[int, ...]]] = {}
    named = itertools.chain(graph.lifted.items(), graph.intermediates.items())
    for name, array in named:
        for part_name, part in _parts(name, array):
            if isinstance(part, Value):
                owners.setdefault(part, (part_name, ()))
                continue
            for index, element in np.ndenumerate(np.asarray(part, dtype=object)):
                if isinstance(element, Value):
                    owners.setdefault(element, (part_name, index))
    return owners


def _consumers(order: list[Node]) -> dict[Node, list[tuple[Node, int]]]:
    users: dict[Any, list[tuple[Any, int]]] = {}
    for node in order:
        for i, parent in enumerate(node.parents):
            if not parent.is_constant:
                users.setdefault(parent, []).append((node, i))
    return users


def _sigmoid_edges(node: Node) -> dict[tuple[Node, int], float] | None:
    """The edges of 1 / (1 + exp(u)) ending at ``node`` (its pow, or the * 1 after it), else None.

    Mapped to the partials that leave its factor out: u is -z (written -z or -x·w - b), so the
    factor σ'(z) is left out when the chain from u to the output has slope -1.
    """
    if node.op == "mul" and node.parents[0].is_constant and node.parents[0].data == 1.0:
        inner = _sigmoid_edges(node.parents[1])
        return None if inner is None else {**inner, (node, 1): 1.0}
    if node.op != "pow" or not node.parents[1].is_constant or node.parents[1].data != -1.0:
        return None
    plus = node.parents[0]
    if plus.op != "add":
        return None
    one, e = plus.parents if plus.parents[0].is_constant else plus.parents[::-1]
    if not one.is_constant or one.data != 1.0 or e.op != "exp":
        return None
    return {(node, 0): 1.0, (plus, plus.parents.index(e)): 1.0, (e, 0): -1.0}


def _is_sigmoid(start: Any, end: Any, k: int) -> bool:
    """Is the chain from ``start`` to ``end`` the sigmoid primitive, or 1 / (1 + exp(-z)) written out?"""
    if k == 0:
        return end.op == "sigmoid"
    x = start.data
    expected = 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0
    ops, node = set(), end
    for _ in range(k + 1):
        ops.add(node.op)
        node = node.parents[0] if node.op in ("pow", "neg", "exp") else next(
            (p for p in node.parents if not p.is_constant), node.parents[0])
    return "exp" in ops and ops <= {"neg", "mul", "exp", "add", "pow"} and math.isclose(end.data, expected)


def _counts(graph: _Graph) -> set[tuple[int, str]]:
    """Counts a factor may be made of: the N of a 1/N in the cost, every axis length of the arrays.

    Axis lengths (≥ 2) of the arrays and intermediates, and N where the graph
    multiplies by the constant 1/N (a mean over N samples).
    """
    found: dict[int, str] = {}
    for node in graph.order:
        if node.is_constant and 0.0 < abs(node.data) <= 0.5:
            n = round(1.0 / abs(node.data))
            if math.isclose(n * abs(node.data), 1.0, rel_tol=1e-12):
                found.setdefault(n, f"your cost multiplies by 1/{n} (a mean over {n} values) and your "
                                    "gradient does not, or the reverse")
    for name, array in itertools.chain(graph.lifted.items(), graph.intermediates.items()):
        for part in (array if isinstance(array, list) else [array]):
            shape = np.shape(part) if not isinstance(part, Value) else ()
            for axis, n in enumerate(shape):
                if n >= 2:
                    found.setdefault(n, f"{n} is the length of axis {axis} of {name}: a sum over samples "
                                        "where the cost averages, or the reverse")
    return set(found.items())


def _factor_words(sign: float, k: int, n: int, p: int, where: str) -> str:
    numerator = 2**max(k, 0) * (n if p == 1 else 1)
    denominator = 2**max(-k, 0) * (n if p == -1 else 1)
    size = f"{numerator}" if denominator == 1 else f"{numerator}/{denominator}"
    text = f"your gradient is {'-' if sign < 0 else ''}{size} × the engine's"
    if sign < 0 and size == "1":
        return ("sign: your gradient is the negative of the engine's — gradient ascent (e.g. on the "
                "log-likelihood), or y - a written for a - y")
    reasons = []
    if sign < 0:
        reasons.append("a sign (gradient ascent, or y - a for a - y)")
    if k:
        reasons.append("a constant factor (e.g. the 2 of a square, or the ½ of the cost)")
    if n != 1:
        reasons.append(where)
    return f"{text}: {'; '.join(reasons)}"
