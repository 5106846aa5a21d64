"""Step through backward one node at a time, from a REPL.

A :class:`Stepper` runs the reverse sweep of :func:`autodiff.backward.backward`
node by node, in the same order and through the same function
(:func:`~autodiff.backward.propagate`, the chain rule at one node), and returns
a :class:`Step` record for each node: what gradient arrived, the local partial
by each parent (formula and number), what it sent and how the parent's
gradient grew.  Stepping to the end leaves every ``grad`` exactly as
``backward()`` would.

>>> from autodiff import Value
>>> x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.8813735870195432, label="b")
>>> n = x * w + b; n.label = "n"
>>> o = n.tanh(); o.label = "o"
>>> stepper = steps(o)
>>> print(stepper.step())
step 1 of 6: o = tanh(n)  [tanh, data 0.707107]
  upstream gradient d(o)/d(o) = 1
  n: local ∂o/∂n = 1 - o ** 2 = 0.5
     contribution 0.5 × 1 = 0.5, gradient 0 → 0.5
>>> print(stepper.run_to("x * w")[-1])
step 3 of 6: x * w  [mul, data -6]
  upstream gradient d(o)/d(x * w) = 0.5
  x: local ∂(x * w)/∂x = w = -3
     contribution -3 × 0.5 = -1.5, gradient 0 → -1.5
  w: local ∂(x * w)/∂w = x = 2
     contribution 2 × 0.5 = 1, gradient 0 → 1
>>> stepper
<Stepper over 'o': 3 of 6 steps done, last x * w (mul), next b (leaf)>
>>> x.grad                  # grad is written when the sweep ends, as backward does
0.0
>>> print(stepper.run()[-1])
step 6 of 6: x  [input, data 2]
  d(o)/d(x) = -1.5 is complete; a leaf passes nothing on
>>> round(x.grad, 6), round(w.grad, 6)
(-1.5, 1.0)

Constants (the 2 in ``x * 2``) get no step: they never receive a gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .backward import check_all_fresh, finish, local_partials, propagate, start
from .errors import AutodiffError, GraphError
from .explain import definition, find_node, node_names, partial_formula
from .messages import number
from .primitives import CONSTANT
from .value import Value


@dataclass(frozen=True)
class Contribution:
    """What one step sent along one edge, to one parent."""

    parent: Any
    name: str  # the parent's name
    formula: str | None  # the local partial in the graph's names; None for a constant parent
    partial: float | None
    contribution: float | None  # partial * upstream
    before: float  # the parent's gradient in this pass, before and after this edge
    after: float


@dataclass(frozen=True)
class Step:
    """One node of the reverse sweep.  ``str()`` gives the readable record."""

    index: int  # 1-based position in the sweep
    total: int
    node: Any
    name: str
    root: str  # the root's name, for d(root)/d(...)
    heading: str  # "o = tanh(n)" or just the name
    upstream: float
    contributions: tuple[Contribution, ...]

    def __str__(self) -> str:
        node = self.node
        kind = node._op.name if node._op is not None else "input"
        lines = [f"step {self.index} of {self.total}: {self.heading}  [{kind}, data {number(node._data)}]"]
        gradient = f"d({self.root})/d({self.name})"
        if not node._parents:
            lines.append(f"  {gradient} = {number(self.upstream)} is complete; a leaf passes nothing on")
            return "\n".join(lines)
        lines.append(f"  upstream gradient {gradient} = {number(self.upstream)}")
        for c in self.contributions:
            if c.formula is None:
                lines.append(f"  {c.name}: a constant, no gradient")
                continue
            value = number(c.partial)
            local = c.formula if c.formula == value else f"{c.formula} = {value}"
            indent = " " * (len(c.name) + 4)
            lines.append(f"  {c.name}: local ∂{_wrap(self.name)}/∂{_wrap(c.name)} = {local}")
            lines.append(
                f"{indent}contribution {value} × {number(self.upstream)} = {number(c.contribution)}, "
                f"gradient {number(c.before)} → {number(c.after)}"
            )
        return "\n".join(lines)


def _wrap(name: str) -> str:
    return name if " " not in name else f"({name})"


class Stepper:
    """The reverse sweep of one graph, one node per :meth:`step`.

    Iterate over it, or call :meth:`step`, :meth:`run_to` (a node or a label)
    and :meth:`run`; :meth:`where` tells where it stands.  ``grad`` is written
    only when the last node has been stepped, as backward writes it only when
    the whole pass succeeded; until then the gradients of this pass build up
    in the nodes' working slots, which is what the records show.
    """

    def __init__(self, root: Any) -> None:
        if not isinstance(root, Value):
            raise GraphError(f"steps() needs a Value as the root, not {type(root).__name__}")
        self.root = root
        self._order = start(root)
        check_all_fresh(self._order)  # a graph already stale would give wrong records from the first step
        self._names = node_names(self._order)
        # The sweep visits what backward visits, minus constants (no gradient, nothing to show).
        self._sweep = [node for node in reversed(self._order) if node._op is not CONSTANT]
        self._expected: dict[int, float] = {}  # each node's gradient so far, as this stepper left it
        self._expected[id(root)] = 1.0
        self.records: list[Step] = []
        self._failed: Exception | None = None

    # -- where it stands ---------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once every node has been stepped and the gradients written."""
        return len(self.records) == len(self._sweep)

    @property
    def current(self) -> Any:
        """The node stepped last (None before the first step)."""
        return self.records[-1].node if self.records else None

    @property
    def next_node(self) -> Any:
        """The node the next step will visit (None when done)."""
        return None if self.done else self._sweep[len(self.records)]

    def gradient_so_far(self, node: Any) -> float:
        """d(root)/d(node) as far as this pass has got (complete once every consumer was stepped)."""
        return self._expected.get(id(node), 0.0)

    def where(self) -> str:
        """Where the sweep stands, in words."""
        total = len(self._sweep)
        if self.done:
            return f"all {total} steps done; gradients added to .grad"
        if self._failed is not None:
            return f"stopped by an error after {len(self.records)} of {total} steps; .grad was not changed"
        text = f"{len(self.records)} of {total} steps done"
        if self.records:
            text += f", last {self._describe(self.current)}"
        return text + f", next {self._describe(self.next_node)}"

    def __repr__(self) -> str:
        return f"<Stepper over {self._names[id(self.root)]!r}: {self.where()}>"

    def _describe(self, node: Any) -> str:
        kind = node._op.name if node._op is not None else "leaf"
        return f"{self._names[id(node)]} ({kind})"

    # -- stepping -----------------------------------------------------------------

    def step(self) -> Step:
        """Apply the chain rule at the next node and return its record."""
        if self._failed is not None:
            raise GraphError(f"this stepper stopped at an error ({self._failed}); start a new one") from None
        if self.done:
            raise GraphError(
                "this graph was already stepped to the end and its gradients added to .grad; "
                "call zero_grad() and make a new stepper to step it again"
            )
        node = self._sweep[len(self.records)]
        try:
            record = self._apply(node)
            if len(self.records) + 1 == len(self._sweep):
                self._finish()  # before the record counts: done means the gradients were written
            self.records.append(record)
        except AutodiffError as error:
            self._failed = error
            raise
        return record

    def run_to(self, target: Any) -> list[Step]:
        """Step up to and including ``target`` (a node or a label); return those records."""
        node = find_node(self._order, target, names=self._names)
        if node._op is CONSTANT:
            raise GraphError(f"{self._names[id(node)]} is a constant: it gets no gradient and has no step")
        if any(r.node is node for r in self.records):
            raise GraphError(f"{self._describe(node)} was already stepped: {self.where()}")
        records = []
        while not records or records[-1].node is not node:
            records.append(self.step())
        return records

    def run(self) -> list[Step]:
        """Step to the end (writing the gradients); return the remaining records."""
        return [self.step() for _ in range(len(self._sweep) - len(self.records))]

    def __iter__(self) -> Stepper:
        if self.done:
            raise GraphError("this stepper is already at the end; make a new one to step again")
        return self

    def __next__(self) -> Step:
        if self.done:
            raise StopIteration
        return self.step()

    # -- the chain rule at one node, as backward does it ---------------------------

    def _apply(self, node: Any) -> Step:
        self._check_untouched(node)
        upstream = node._up
        before = {id(p): p._up for p in node._parents}
        if node._parents:
            propagate(node)  # the step itself: exactly what backward runs
        partials = local_partials(node) if node._parents else []
        contributions = []
        running = dict(before)
        for index, (parent, partial) in enumerate(zip(node._parents, partials)):
            formula = None if partial is None else partial_formula(node, index, self._names)
            sent = None if partial is None else partial * upstream
            earlier = running[id(parent)]
            if sent is not None:
                running[id(parent)] = earlier + sent
            name, after = self._names[id(parent)], running[id(parent)]
            contributions.append(Contribution(parent, name, formula, partial, sent, earlier, after))
        for parent in node._parents:
            if parent._up != running[id(parent)]:  # what we show must be what propagate did
                raise AutodiffError(f"stepper and backward disagree at {self._describe(node)}")
            self._expected[id(parent)] = parent._up
        name = self._names[id(node)]
        if node._parents and node.label is not None:
            heading = f"{name} = {definition(node, self._names)}"
        else:
            heading = name
        return Step(len(self.records) + 1, len(self._sweep), node, name, self._names[id(self.root)],
                    heading, upstream, tuple(contributions))

    def _check_untouched(self, node: Any) -> None:
        """Catch a backward() or another stepper that ran on this graph in between."""
        for each in (node, *node._parents):
            if each._op is not CONSTANT and each._up != self._expected.get(id(each), 0.0):
                raise GraphError(
                    f"the gradients of this pass were changed at {self._describe(each)} since the last step: "
                    "backward() or another stepper ran on this graph in between; start a new stepper"
                )

    def _finish(self) -> None:
        """What backward does after the sweep: check, then add this pass into ``grad``."""
        check_all_fresh(self._order)  # a leaf changed during stepping would make earlier records wrong
        finish(self._order)


def steps(root: Any) -> Stepper:
    """A :class:`Stepper` over the backward pass of ``root`` (see the module docs)."""
    return Stepper(root)
