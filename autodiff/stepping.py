"""Step through backward one node at a time, from a REPL.

A :class:`Stepper` owns one :class:`~autodiff.backward.Sweep`, the pass that
``backward()`` runs, and advances it one node per :meth:`~Stepper.step`
through the same :func:`~autodiff.backward.chain_rule`; each step returns a
:class:`StepRecord`: what gradient arrived, the local partial by each operand
(formula and number), what it sent and how the operand's gradient grew.
Stepping to the end leaves every ``grad`` exactly as ``backward()`` would;
:meth:`~Stepper.back` undoes steps, down to the start.

>>> from autodiff import Value
>>> x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.8813735870195432, label="b")
>>> n = x * w + b; n.label = "n"
>>> o = n.tanh(); o.label = "o"
>>> stepper = steps(o)
>>> stepper.step()
step 1 of 6: o = tanh(n) [tanh, data 0.707107]: n gets 0.5 × 1 = 0.5
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
>>> stepper.run()[-1]
step 6 of 6: x [leaf, data 2]: d(o)/d(x) = -1.5 is complete
>>> round(x.grad, 6), round(w.grad, 6)
(-1.5, 1.0)
>>> stepper.back()          # undo the last step: .grad goes back to what it was before the pass
step 6 of 6: x [leaf, data 2]: d(o)/d(x) = -1.5 is complete
>>> x.grad
0.0

Constants (the 2 in ``x * 2``) get no step: they never receive a gradient.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .backward import Sent, Sweep
from .errors import GraphError
from .exercises import exercise
from .graph import check_all_fresh
from .naming import definition, find_node, kind, node_names, partial_formula, printed
from .node import Node
from .value import Value

#: A one-line repr longer than this is cut, ending in "…".
LINE = 160


@dataclass(frozen=True)
class Contribution:
    """What one step sent along one edge, to one operand."""

    parent: Node
    name: str  # the operand's name
    formula: str | None  # the local partial in the graph's names; None for a constant operand
    partial: float | None
    contribution: float | None  # partial * upstream
    before: float  # the operand's gradient in this pass, before and after this edge
    after: float

    def __repr__(self) -> str:
        if self.partial is None:
            return f"{self.name}: a constant, no gradient"
        sent, grew = printed(self.contribution), f"{printed(self.before)} → {printed(self.after)}"
        return f"{self.name}: local partial {printed(self.partial)}, contribution {sent}, gradient {grew}"


@dataclass(frozen=True)
class StepRecord:
    """What one step of a :class:`Stepper` did at a node: ``repr()`` in one line, ``str()`` in full."""

    index: int  # 1-based position in the sweep
    total: int
    node: Node
    name: str
    root: str  # the root's name, for d(root)/d(...)
    heading: str  # "o = tanh(n)" or just the name
    upstream: float
    contributions: tuple[Contribution, ...]
    earlier_grad: float = 0.0  # the node's .grad before this pass (it adds to that when the sweep ends)

    @property
    def title(self) -> str:
        return f"step {self.index} of {self.total}: {self.heading}"

    @property
    def tag(self) -> str:
        return f"[{kind(self.node)}, data {printed(self.node.data)}]"

    def __repr__(self) -> str:
        head = f"{self.title} {self.tag}: "
        if not self.node.parents:
            return _cut(head + f"d({self.root})/d({self.name}) = {printed(self.upstream)} is complete")
        sent = [c for c in self.contributions if c.partial is not None]
        if not sent:
            return _cut(head + "only constants below: nothing to pass on")
        parts = [f"{c.name} gets {printed(c.partial)} × {printed(self.upstream)} = {printed(c.contribution)}"
                 for c in sent]
        return _cut(head + ", ".join(parts))

    def __str__(self) -> str:
        lines = [f"{self.title}  {self.tag}"]
        gradient = f"d({self.root})/d({self.name})"
        if not self.node.parents:
            lines.append(f"  {gradient} = {printed(self.upstream)} is complete; a leaf passes nothing on")
        else:
            lines.append(f"  upstream gradient {gradient} = {printed(self.upstream)}")
            lines += self._edges()
        if self.node.site is not None:  # anomaly mode recorded where the node was made
            lines.append(f"  made at {self.node.site}")
        if self.earlier_grad != 0.0:
            lines.append(
                f"  note: {self.name}.grad already holds {printed(self.earlier_grad)} from an earlier pass; "
                f"when the sweep ends it becomes {printed(self.earlier_grad)} + {printed(self.upstream)} = "
                f"{printed(self.earlier_grad + self.upstream)} (call zero_grad() first to start from 0)"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """In a notebook: the record as a table (see :mod:`autodiff.cards`)."""
        from .cards import step_table

        return step_table(self)

    def _edges(self) -> list[str]:
        lines = []
        for c in self.contributions:
            if c.formula is None:
                lines.append(f"  {c.name}: a constant, no gradient")
                continue
            value = printed(c.partial)
            # A formula that is a bare number (a constant's exact digits) is that number: show it once,
            # as every other number here, never "1.000001 = 1".
            local = value if c.formula == value or _is_number(c.formula) else f"{c.formula} = {value}"
            indent = " " * (len(c.name) + 4)
            lines.append(f"  {c.name}: local ∂{_wrap(self.name)}/∂{_wrap(c.name)} = {local}")
            lines.append(
                f"{indent}contribution {value} × {printed(self.upstream)} = {printed(c.contribution)}, "
                f"gradient {printed(c.before)} → {printed(c.after)}"
            )
        return lines


class StepRecords(list):
    """Records returned by :meth:`Stepper.run_to` and :meth:`Stepper.run`: one line each at a prompt."""

    def __getitem__(self, index: Any) -> Any:
        found = super().__getitem__(index)
        return StepRecords(found) if isinstance(index, slice) else found  # records[-3:] prints as records do

    def __repr__(self) -> str:
        return "\n".join(repr(step) for step in self) if self else "(no steps)"

    def __str__(self) -> str:
        return "\n".join(str(step) for step in self)

    def _repr_html_(self) -> str:
        from .cards import steps_table

        return steps_table(self)


def _wrap(name: str) -> str:
    return name if " " not in name else f"({name})"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _one_line(error: Exception) -> str:
    """An error as one line inside a sentence: its type and its message, line breaks and end stop folded."""
    return f"{type(error).__name__}: {' '.join(str(error).split()).rstrip('.')}"


def _cut(text: str) -> str:
    return text if len(text) <= LINE else text[: LINE - 1] + "…"


class Stepper:
    """The reverse sweep of one graph, one node per :meth:`step`.

    Iterate over it, or call :meth:`step`, :meth:`run_to` (a node or a label),
    :meth:`run`, :meth:`back` and :meth:`reset`; :meth:`where` tells where it
    stands.  ``grad`` is written only when the last node has been stepped, as
    backward writes it only when the whole pass succeeded; until then the
    gradients of this pass live in the stepper's own sweep, which is what the
    records show, so a backward elsewhere never mixes with them.
    """

    def __init__(self, root: Node, params: Iterable[Node] | None = None) -> None:
        if not isinstance(root, Value):
            raise GraphError(f"steps() needs a Value as the root, not {type(root).__name__}")
        self.root = root
        #: The leaves its views call parameters (None: as drawings decide, see :func:`autodiff.draw`).
        self.params = None if params is None else tuple(params)
        self._sweep = Sweep(root)
        self._graph = self._sweep.order  # every node, parents first (order: what the sweep visits)
        check_all_fresh(self._graph)  # a graph already stale would give wrong records from the first step
        self.names = node_names(self._graph)
        # The stepper visits what backward visits, minus constants (no gradient, nothing to show).
        self._visits = [node for node in reversed(self._graph) if not node.is_constant]
        self.records: list[StepRecord] = []
        self._undo: list[dict[Any, float]] = []  # per step: the operands' gradients before it
        self._grads_before: dict[Any, Any] | None = None  # every .grad before the pass was written
        self._error: Exception | None = None  # what stopped the last step, if it failed

    # -- where it stands ---------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once every node has been stepped and the gradients written."""
        return len(self.records) == len(self._visits)

    @property
    def current(self) -> Node | None:
        """The node stepped last (None before the first step)."""
        return self.records[-1].node if self.records else None

    @property
    def next_node(self) -> Node | None:
        """The node the next step will visit (None when done)."""
        return None if self.done else self._visits[len(self.records)]

    @property
    def order(self) -> list[Node]:
        """The nodes the sweep visits, in order (root first; constants left out)."""
        return list(self._visits)

    def gradient_so_far(self, node: Node | str) -> float:
        """d(root)/d(node) as far as this pass has got (complete once every consumer was stepped).

        ``node`` is a Value of this graph or its label.
        """
        return self._sweep.grads[self._find(node)]

    def where(self) -> str:
        """Where the sweep stands, in words."""
        total = len(self._visits)
        if self.done:
            return f"all {total} steps done; gradients added to .grad"
        if self._error is not None:
            return (f"stopped by an error after {len(self.records)} of {total} steps; .grad was not changed "
                    f"({_one_line(self._error)})")
        text = f"{len(self.records)} of {total} steps done"
        if self.records:
            text += f", last {self._describe(self.current)}"
        return text + f", next {self._describe(self.next_node)}"

    def __repr__(self) -> str:
        return _cut(f"<Stepper over {self.names[id(self.root)]!r}: {self.where()}>")

    def _repr_html_(self) -> str:
        """In a notebook: the graph with the current node highlighted, and the last record under it."""
        from .cards import stepper_view

        return stepper_view(self)

    def _describe(self, node: Node) -> str:
        return f"{self.names[id(node)]} ({kind(node)})"

    def _find(self, target: Node | str) -> Node:
        return find_node(self._graph, target, names=self.names)

    # -- stepping -----------------------------------------------------------------

    def step(self) -> StepRecord:
        """Apply the chain rule at the next node and return its record."""
        if self.done:
            raise GraphError(
                "this graph was already stepped to the end and its gradients added to .grad; "
                "call back() or reset() to step again"
            )
        if self._error is not None:
            raise GraphError(
                f"this stepper stopped at an error ({_one_line(self._error)}); call back() or reset() "
                "to go on, or start a new one"
            )
        node = self._visits[len(self.records)]
        grads = self._sweep.grads
        before = {parent: grads[parent] for parent in node.parents}
        earlier = node.grad if not isinstance(node.grad, Value) else node.grad.data
        earlier = 0.0 if earlier is None else earlier  # "no gradient yet": the pass starts it from 0
        upstream = grads[node]
        try:
            sent = self._sweep.visit(node)  # the step itself: the chain rule, as backward runs it
            record = self._record(node, upstream, sent, before, earlier)
            if len(self.records) + 1 == len(self._visits):
                self._finish()  # before the record counts: done means the gradients were written
        except Exception as error:
            grads.update(before)  # a failed step leaves the pass as it was
            self._error = error
            raise
        self._error = None
        self.records.append(record)
        self._undo.append(before)
        return record

    def back(self) -> StepRecord:
        """Undo the last step: every gradient so far as it was before it; returns the undone record.

        After the last step, ``.grad`` first goes back to what it was before the pass.
        """
        self._error = None
        if not self.records:
            raise GraphError("nothing to undo: the stepper is at the start")
        if self._grads_before is not None:
            for node, grad in self._grads_before.items():
                node.grad = grad
            self._grads_before = None
        self._sweep.grads.update(self._undo.pop())
        return self.records.pop()

    def reset(self) -> None:
        """Go back to the start (undoing every step, and the written ``.grad`` if the sweep had ended)."""
        self._error = None
        while self.records:
            self.back()

    def run_to(self, target: Node | str) -> StepRecords:
        """Step up to and including ``target`` (a node or a label); return those records."""
        node = self._find(target)
        if node.is_constant:
            raise GraphError(f"{self.names[id(node)]} is a constant: it gets no gradient and has no step")
        if any(r.node is node for r in self.records):
            raise GraphError(f"{self._describe(node)} was already stepped: {self.where()}")
        records = StepRecords()
        while not records or records[-1].node is not node:
            records.append(self.step())
        return records

    def run(self) -> StepRecords:
        """Step to the end (writing the gradients); return the remaining records."""
        return StepRecords(self.step() for _ in range(len(self._visits) - len(self.records)))

    def __iter__(self) -> Stepper:
        if self.done:
            raise GraphError("this stepper is already at the end; call reset() to step again")
        return self

    def __next__(self) -> StepRecord:
        if self.done:
            raise StopIteration
        return self.step()

    # -- records ---------------------------------------------------------------------

    def _record(self, node: Node, upstream: float, sent: list[Sent], before: dict[Node, float],
                earlier: float) -> StepRecord:
        """What the step did, edge by edge: what chain_rule sent, and each gradient growing by it."""
        running = dict(before)
        contributions = []
        for index, (parent, (partial, contribution)) in enumerate(zip(node.parents, sent)):
            formula = None if partial is None else partial_formula(node, index, self.names)
            earlier_here = running[parent]
            if contribution is not None:
                running[parent] = earlier_here + contribution  # the addition chain_rule made
            contributions.append(Contribution(parent, self.names[id(parent)], formula, partial, contribution,
                                              earlier_here, running[parent]))
        name = self.names[id(node)]
        heading = f"{name} = {definition(node, self.names)}" if node.parents and node.label else name
        return StepRecord(len(self.records) + 1, len(self._visits), node, name, self.names[id(self.root)],
                    heading, upstream, tuple(contributions), earlier)

    def _finish(self) -> None:
        """What backward does after the sweep: check, then add this pass into ``grad``."""
        check_all_fresh(self._graph)  # a leaf assigned during stepping would make earlier records wrong
        self._grads_before = {node: node.grad for node in self._graph}
        try:
            self._sweep.write()
        except Exception:
            self._grads_before = None
            raise


def steps(root: Node, *, params: Iterable[Node] | None = None, ask: bool = False) -> Any:
    """A :class:`Stepper` over the backward pass of ``root`` (see the module docs).

    ``params`` names the parameter leaves for the stepper's views (its notebook
    picture, :func:`autodiff.play` of it), as for :func:`autodiff.draw`; nn
    modules' parameters are known as such without it.  With ``ask=True``, the
    same sweep as an exercise that asks before it reveals:
    ``autodiff.exercise(root)`` (see :mod:`autodiff.exercises`); ``.run()`` asks.
    """
    if ask:
        return exercise(root)
    return Stepper(root, params)
