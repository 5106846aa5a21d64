"""Exercises that ask before they reveal: the learner works out each gradient of a backward pass first.

:func:`exercise` turns a graph into questions, one per value the reverse
sweep visits after the root, in the sweep's order: "what is d(root)/d(this
value)?".  An answer is accepted within 1% or to 3 significant digits
(:func:`accepted`).  A wrong one is compared with the numbers the catalogue of
mistakes (:mod:`autodiff.testing.mistakes`) predicts for that value on this
very graph (a fan-out path dropped, a gradient assigned instead of added, the
upstream gradient left out...), so the learner is told which mistake gives the
number they typed, when one does.  Each question then reveals how the gradient
adds up: one term per consumer, local partial times upstream gradient, the
numbers of the sweep that ``backward()`` runs.

>>> from autodiff import Value
>>> x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.8813735870195432, label="b")
>>> n = x * w + b; n.label = "n"
>>> o = n.tanh(); o.label = "o"
>>> practice = exercise(o)
>>> practice
<Exercise: 5 questions on the backward pass of o (run() asks them at the prompt; answer_key(); page(path))>
>>> practice.questions[0]
Question 1 of 5: d(o)/d(n), where n = x * w + b = 0.881374
>>> print(practice.check(1, "0.5"))
right: d(o)/d(n) = 0.5
  through o = tanh(n): local ∂o/∂n = 1 - o ** 2 = 0.5, times d(o)/d(o) = 1: 0.5
>>> practice.check("x", 0.4).right
False

:meth:`Exercise.run` asks every question at a prompt (a REPL or a notebook,
through ``input()``), ``exercise.random(size=4, seed=1)`` draws a fresh graph
(:func:`random_exercise`), :meth:`Exercise.answer_key` writes the answers as
Markdown and :meth:`Exercise.page` the offline page that plays the backward
pass asking each gradient first (:mod:`autodiff.guessing`).

``x - y`` is recorded as ``x + (-y)`` and ``x / y`` as ``x * y**-1``; the
names read as written, and the inner ``-y`` and ``y**-1`` get no question of
their own: the learner differentiates the subtraction or the quotient as a
whole, and a wrong quotient rule is found at the divisor, where it was made.
"""

from __future__ import annotations

import builtins
import html
import math
import os
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .backward import Sweep
from .errors import GraphError
from .graph import check_all_fresh, is_computed
from .naming import definition, find_node, node_names, partial_formula, printed
from .node import Node
from .primitives import ADD, MUL, NEG, POW, PRIMITIVES, operations
from .testing.graphs import Call, Const, RandomGraph, admissible, admitted
from .value import Value, apply

#: An answer within this fraction of the right value is accepted...
RELATIVE = 0.01
#: ...and so is one equal to it at this many significant digits.
DIGITS = 3
#: What an answer may look like: a number (1.5, -.25, 2e-3) or a fraction of two numbers (-1/3).
NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
ANSWER = re.compile(rf"^\s*({NUMBER})\s*(?:/\s*({NUMBER})\s*)?$")


def accepted(answer: float, right: float) -> bool:
    """Is ``answer`` right: within 1% of ``right``, or equal to it at 3 significant digits?

    >>> accepted(0.4999, 0.5), accepted(-0.111, -1 / 9), accepted(0.25, 0.5)
    (True, True, False)
    """
    if not math.isfinite(answer):
        return False
    # The slack of 1e-9 keeps a typed 0.99 within 1% of 1 despite binary rounding.
    return abs(answer - right) <= RELATIVE * (1 + 1e-9) * abs(right) or _digits(answer) == _digits(right)


def _digits(x: float) -> str:
    return f"{x + 0.0:.{DIGITS}g}"


def parse(text: str) -> float | None:
    """The number typed (``-0.5``, ``1e-3``, ``−2`` with a typographic minus, ``-1/3``), or None."""
    match = ANSWER.match(text.replace("\u2212", "-"))
    if match is None:
        return None
    top, bottom = float(match.group(1)), match.group(2)
    if bottom is None:
        return top
    return top / float(bottom) if float(bottom) != 0.0 else None


# -- the records of one exercise ---------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One term of a gradient: what one consumer passed on, local partial × its upstream gradient."""

    consumer: str  # how the consumer reads: "o = tanh(n)", or its name if it has no label
    gradient: str  # d(root)/d(consumer)
    local: str  # "∂o/∂n = 1 - o ** 2 = 0.5"
    partial: float
    upstream: float
    value: float

    def __str__(self) -> str:
        upstream = f"{self.gradient} = {printed(self.upstream)}"
        return f"through {self.consumer}: local {self.local}, times {upstream}: {printed(self.value)}"


@dataclass(frozen=True)
class Wrong:
    """A wrong answer the catalogue of mistakes predicts for one question, and the mistake that makes it."""

    mistake: str  # the catalogue's name, e.g. "dropped-path"
    title: str
    explanation: str
    detail: str
    value: float

    @property
    def reason(self) -> str:
        """The mistake in a sentence: its title, where it was made, and what it is."""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.title}{detail}: {self.explanation}"

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{printed(self.value)}: {self.title}{detail}"


@dataclass(frozen=True)
class Question:
    """d(root)/d(one value): the right answer, how it adds up, and the wrong answers mistakes give."""

    number: int
    total: int
    node: Node
    name: str
    root: str
    definition: str  # "n = x * w + b = 0.881374" or "x = 2"
    answer: float
    terms: tuple[Term, ...]
    wrong: tuple[Wrong, ...]

    @property
    def gradient(self) -> str:
        """What is asked, as written: ``d(o)/d(n)``."""
        return f"d({self.root})/d({self.name})"

    def check(self, answer: float | str) -> Verdict:
        """The verdict on an answer (a number, or the text typed)."""
        given = parse(answer) if isinstance(answer, str) else float(answer)
        if given is None:
            raise ValueError(f"{answer!r} is not a number; type one like -0.75, 1e-3 or -1/3")
        if accepted(given, self.answer):
            return Verdict(self, given, True, ())
        return Verdict(self, given, False, tuple(w for w in self.wrong if accepted(given, w.value)))

    def reveal(self) -> str:
        """The answer and how it adds up, one line per term."""
        lines = [f"{self.gradient} = {printed(self.answer)}"]
        lines += [f"  {term}" for term in self.terms]
        if len(self.terms) > 1:
            total = " + ".join(printed(t.value) for t in self.terms).replace("+ -", "- ")
            lines.append(f"  added up: {total} = {printed(self.answer)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Question {self.number} of {self.total}: {self.gradient}, where {self.definition}"


@dataclass(frozen=True)
class Verdict:
    """What an answer was: right, or wrong and (when the catalogue predicts it) by which mistakes."""

    question: Question
    given: float
    right: bool
    mistakes: tuple[Wrong, ...]

    def __str__(self) -> str:
        question = self.question
        if self.right:
            return "right: " + question.reveal()
        given = printed(self.given)
        if not self.mistakes:
            return (f"not right: {given} is not {question.gradient}, and no mistake in the catalogue gives "
                    "it here. Try again, or reveal the answer.")
        which = "this mistake" if len(self.mistakes) == 1 else "each of these mistakes"
        lines = [f"not right: {given} is what {question.gradient} comes to with {which}:"]
        lines += [f"  {wrong.reason}" for wrong in self.mistakes]
        return "\n".join(lines + ["Try again, or reveal the answer."])


@dataclass
class Score:
    """How a run of the exercise went: per question, 'first try', 'later try', 'revealed' or 'not asked'."""

    outcomes: list[str] = field(default_factory=list)

    @property
    def right(self) -> int:
        """Questions answered right at the first try."""
        return self.outcomes.count("first try")

    def __repr__(self) -> str:
        later, revealed = self.outcomes.count("later try"), self.outcomes.count("revealed")
        skipped = self.outcomes.count("not asked")
        text = f"{self.right} of {len(self.outcomes)} right at the first try"
        text += f", {later} after another try" if later else ""
        text += f", {revealed} revealed" if revealed else ""
        return text + (f", {skipped} not asked" if skipped else "")


# -- the exercise ------------------------------------------------------------------------


#: The largest graph an exercise is made of (a page of 300 values takes about 2 s to predict every mistake).
MAX_VALUES = 300


class Exercise:
    """The questions of one backward pass; make one with :func:`exercise` or ``exercise.random``."""

    #: What :meth:`page` calls: :func:`autodiff.play`, set by :mod:`autodiff.playing` when it is
    #: imported (``import autodiff`` does).  The page is a view above this module, which never imports it.
    page_view: ClassVar[Callable[..., Any] | None] = None

    def __init__(self, root: Node, *, seed: int | None = None, graph: RandomGraph | None = None) -> None:
        if not isinstance(root, Value):
            raise GraphError(f"an exercise needs a Value as the root, not {type(root).__name__}")
        self.root = root
        self.seed = seed
        self.graph = graph  # the recipe of a random exercise (None for a graph of your own)
        sweep = Sweep(root)
        if len(sweep.order) > MAX_VALUES:
            raise GraphError(
                f"an exercise on {len(sweep.order)} values would ask a question about nearly each of them "
                f"(and predicting every mistake for each takes time that grows with the square); exercises "
                f"are for graphs of at most {MAX_VALUES} values: practise on a part of the graph, or on "
                "exercise.random(...)"
            )
        check_all_fresh(sweep.order)
        self.names = node_names(sweep.order)
        self._edges = _edges(sweep)  # every edge's partial and upstream, as the sweep computed them
        self._grads = sweep.grads
        consumers = _consumers(sweep.order)
        self.hidden = frozenset(node for node in sweep.order if _hidden(node, consumers, root))
        asked = [node for node in reversed(sweep.order)
                 if node is not root and not node.is_constant and node not in self.hidden]
        self.questions = tuple(self._question(k, len(asked), node) for k, node in enumerate(asked, 1))

    # -- questions ---------------------------------------------------------------

    def _name(self, node: Node) -> str:
        return self.names[id(node)]

    def _reads(self, node: Node) -> str:
        """'n = x * w + b' for a labelled result, else its name."""
        if is_computed(node) and node.label is not None:
            return f"{self._name(node)} = {definition(node, self.names)}"
        return self._name(node)

    def _question(self, index: int, total: int, node: Node) -> Question:
        terms = tuple(self._terms(node))
        wrong = self._wrong(node)
        return Question(index, total, node, self._name(node), self._name(self.root),
                        f"{self._reads(node)} = {printed(node.data)}", self._grads[node], terms, wrong)

    def _terms(self, node: Node) -> Iterable[Term]:
        """One term per edge as the learner sees it (through a hidden -y or y**-1, its consumer's edge)."""
        edges = []  # (consumer, local partial as a formula, its number, the consumer's gradient)
        for consumer, index, partial, upstream in self._edges.get(node, ()):
            if consumer in self.hidden:
                edges += [(outer, _composite_formula(outer, node, self.names), outer_partial * partial, up)
                          for outer, _, outer_partial, up in self._edges[consumer]]
            else:
                edges.append((consumer, self._formula(consumer, index), partial, upstream))
        uses = Counter(consumer for consumer, *_ in edges)
        seen: Counter[Node] = Counter()
        for consumer, formula, partial, upstream in edges:
            where = self._reads(consumer)
            if uses[consumer] > 1:  # b * b: two terms through one consumer
                seen[consumer] += 1
                where += f" (operand {seen[consumer]})"
            local = f"∂{_wrap(self._name(consumer))}/∂{_wrap(self._name(node))} = "
            local += formula if formula == printed(partial) else f"{formula} = {printed(partial)}"
            yield Term(where, f"d({self._name(self.root)})/d({self._name(consumer)})", local, partial,
                       upstream, partial * upstream)

    def _formula(self, consumer: Node, index: int) -> str:
        """The table's local partial in the graph's names; for the numerator of x / y, 1 / y."""
        reciprocal = consumer.parents[1] if consumer.primitive is MUL else None
        if index == 0 and reciprocal in self.hidden:
            return f"1 / {_wrap(self._name(reciprocal.parents[0]))}"
        return partial_formula(consumer, index, self.names)

    def _wrong(self, node: Node) -> tuple[Wrong, ...]:
        """The catalogue's predictions for this node, and those made in a hidden -y or y**-1 carried to it.

        Predictions are never made here: each comes from :func:`~autodiff.testing.mistakes.predictions`.
        A mistake inside a hidden helper moves the helper's gradient, and so this node's by that
        change times the helper's local partial (the sweep is linear in what arrives).
        """
        from .testing.mistakes import predictions

        right = self._grads[node]
        edges = self._edges.get(node, ())
        helpers = [(consumer, partial) for consumer, _, partial, _ in edges if consumer in self.hidden]
        found = []
        for p in predictions(self.root, node):
            if p.mistake.name == "upstream-missing" and helpers:
                continue  # it would also leave out the x of -x / y**2, a local partial to the learner
            name = p.mistake.name
            if name == "dropped-path":
                detail = self._dropped(edges, right - p.value)
            else:  # a minus or a power rule is lost where the learner sees the subtraction or quotient
                at = NEG if name == "sign" else POW if name.startswith("power-rule") else None
                detail = " and ".join(self._seen(c) for c, *_ in edges if at and c.primitive is at)
                detail = f"at {detail}" if detail else ""
            found.append(self._named(p, p.value, detail))
        for helper, partial in helpers:
            inner = self._grads[helper]
            for p in predictions(self.root, helper):
                dropped = p.mistake.name == "dropped-path"
                where = self._dropped(self._edges[helper], inner - p.value) if dropped else ""
                where = where or f"made at {self._seen(helper)}"
                found.append(self._named(p, right + (p.value - inner) * partial, where))
        unique: dict[tuple[str, str], Wrong] = {}
        for wrong in found:
            if math.isfinite(wrong.value) and not accepted(wrong.value, right):
                unique.setdefault((wrong.mistake, _digits(wrong.value)), wrong)
        return tuple(unique.values())

    @staticmethod
    def _named(prediction: Any, value: float, detail: str) -> Wrong:
        mistake = prediction.mistake
        return Wrong(mistake.name, mistake.title, mistake.explanation, detail, value)

    def _dropped(self, edges: Iterable[tuple[Node, int, float, float]], missing: float) -> str:
        """For a dropped fan-out path: which term is missing (the edge that sent ``missing``), else ''.

        ``missing`` is the right gradient minus the mistaken one, so it carries their round-off: compared
        within a few ulps, not exactly.
        """
        for consumer, _, partial, upstream in edges:
            if math.isclose(partial * upstream, missing, rel_tol=1e-9, abs_tol=1e-300):
                return f"the term through {self._seen(consumer)} left out"
        return ""

    def _seen(self, node: Node) -> str:
        """A consumer as the learner sees it: a hidden -y or y**-1 by the subtraction or quotient it is in."""
        if node not in self.hidden:
            return self._reads(node)
        return " and ".join(self._reads(c) for c, *_ in self._edges.get(node, ()))  # helpers: one edge in

    def question(self, which: int | str | Node) -> Question:
        """A question by number (1-based), by its value (a node or a label) or the question itself."""
        if isinstance(which, Question):
            return which
        if isinstance(which, int) and not isinstance(which, bool):
            if not 1 <= which <= len(self.questions):
                raise IndexError(f"question {which}: this exercise has questions 1 to {len(self.questions)}")
            return self.questions[which - 1]
        node = find_node(list(self._grads), which, "value", self.names)
        for question in self.questions:
            if question.node is node:
                return question
        why = "the root: its gradient is 1" if node is self.root else "asked through its consumer"
        raise GraphError(f"{self._name(node)} has no question of its own ({why})")

    def check(self, which: int | str | Node, answer: float | str) -> Verdict:
        """The verdict on ``answer`` to one question (see :meth:`question` for ``which``)."""
        return self.question(which).check(answer)

    # -- views ---------------------------------------------------------------------

    def values(self) -> list[str]:
        """The graph as the learner needs it: every value the forward pass computed, in order."""
        shown = [node for node in reversed(list(self._grads))
                 if not node.is_constant and node not in self.hidden]
        return [f"{self._reads(node)} = {printed(node.data)}" for node in reversed(shown)]

    def introduction(self) -> str:
        """What the exercise is about and how to answer, before the first question."""
        root = self._name(self.root)
        lines = [f"The backward pass of {root}: {len(self.questions)} questions.",
                 "The forward pass computed:"]
        lines += [f"  {line}" for line in self.values()]
        lines.append(f"The sweep starts at {root} with d({root})/d({root}) = 1. For each value asked, give "
                     f"d({root})/d(value): a number like -0.75 or -1/3, right within 1% or to 3 significant "
                     "digits.")
        if self.hidden:
            lines.append(hidden_note(self.hidden))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<Exercise: {len(self.questions)} questions on the backward pass of {self._name(self.root)} "
                "(run() asks them at the prompt; answer_key(); page(path))>")

    def __str__(self) -> str:
        lines = [self.introduction(), ""]
        lines += [f"{q.number}. {q.gradient} = ?   ({q.definition})" for q in self.questions]
        return "\n".join(lines)

    def answer_key(self) -> str:
        """The answers as Markdown: each gradient, how it adds up, and the wrong answers mistakes give."""
        root = self._name(self.root)
        lines = [f"# Answer key: the backward pass of {_cell(root)}", ""]
        if self.seed is not None:
            lines += [f"Seed {self.seed}.", ""]
        lines += ["The forward pass computed:", ""] + [f"- `{line}`" for line in self.values()] + [""]
        lines += ["| # | gradient | answer | how it adds up | wrong answers the catalogue predicts |",
                  "| --- | --- | --- | --- | --- |"]
        for q in self.questions:
            terms = "<br>".join(_cell(str(t)) for t in q.terms)
            wrong = "<br>".join(_cell(str(w)) for w in q.wrong) or "none here"
            answer = printed(q.answer)
            lines.append(f"| {q.number} | {_cell(q.gradient)} | **{answer}** | {terms} | {wrong} |")
        return "\n".join(lines) + "\n"

    def run(self, *, input: Callable[[str], str] = builtins.input,  # noqa: A002 - the builtin it stands for
            print: Callable[..., None] = builtins.print) -> Score:  # noqa: A002
        """Ask every question at the prompt (``input()``: a terminal, a REPL or a notebook); return the score.

        Type a number (``-0.75``, ``1e-3``, ``-1/3``), ``?`` to reveal the answer or
        ``q`` to stop.  A wrong answer is told which mistake gives it, when the catalogue
        of mistakes predicts it, and may be tried again.
        """
        print(self.introduction())
        print("Type ? to reveal an answer, q to stop.")
        score = Score()
        for question in self.questions:
            print()
            print(repr(question))
            outcome = _ask(question, input, print)
            if outcome == "stopped":
                score.outcomes += ["not asked"] * (len(self.questions) - len(score.outcomes))
                break
            score.outcomes.append(outcome)
        print()
        print(f"Score: {score!r}.")
        return score

    def quiz(self) -> list[dict[str, Any]]:
        """The questions as the page asks them (see :func:`autodiff.play`): all the page needs, precomputed.

        Each is a dict: ``node``, the Value asked; ``values``, the Values whose gradient the
        answer reveals (the node, and a hidden -y or y**-1 of it); ``edges``, the edges whose
        local partials the answer uses, as (consumer, operand index); ``prompt``, ``where``,
        ``answer``, ``reveal`` (how it adds up) and ``wrong``: each predicted wrong value with
        its ``reason``.  The page compares a typed answer with these numbers by :func:`accepted`'s
        rule; it computes nothing else.
        """
        found = []
        for q in self.questions:
            edges = self._edges.get(q.node, ())
            helpers = [consumer for consumer, *_ in edges if consumer in self.hidden]
            through = [(consumer, index) for consumer, index, *_ in edges]
            through += [(outer, index) for helper in helpers for outer, index, *_ in self._edges[helper]]
            found.append({"node": q.node, "values": [q.node, *helpers], "edges": through,
                          "prompt": q.gradient,
                          "where": q.definition, "answer": q.answer, "reveal": q.reveal(),
                          "wrong": [{"value": w.value, "reason": w.reason} for w in q.wrong]})
        return found

    def page(self, path: str | os.PathLike[str] | None = None, **options: Any) -> Any:
        """The offline page of this backward pass, "guess first" on (``options``: :func:`autodiff.play`'s).

        It asks these questions at each step, with an answer box, Check and Reveal,
        and keeps the score; with ``path`` it is also written there.
        """
        if Exercise.page_view is None:
            raise GraphError("an exercise's page is drawn by autodiff.playing: import autodiff first")
        return Exercise.page_view(self.root, path, guess=True, **options)

    def _repr_html_(self) -> str:
        """In a notebook: the page, guessing first, in a frame (where it cannot be drawn, the questions)."""
        try:
            return self.page()._repr_html_()
        except Exception as error:  # noqa: BLE001 - a graph too big to draw still has its questions
            why = f"<p>(no page: {html.escape(type(error).__name__)}: {html.escape(str(error))})</p>"
        rows = "".join(f"<li><code>{html.escape(q.gradient)}</code> = ?  <small>({html.escape(q.definition)})"
                       "</small></li>" for q in self.questions)
        values = html.escape("\n".join(self.values()))
        return f"<div><p><b>{html.escape(repr(self))}</b></p>{why}<pre>{values}</pre><ol>{rows}</ol></div>"


def _ask(question: Question, input: Callable[[str], str], print: Callable[..., None]) -> str:  # noqa: A002
    """Ask one question until it is answered right, revealed, or the learner stops."""
    tries = 0
    while True:
        try:
            text = input(f"{question.gradient} = ").strip()
        except EOFError:  # Ctrl-D, or the end of piped answers
            print()
            return "stopped"
        if text.lower() in ("q", "quit", "exit"):
            return "stopped"
        if text == "?":
            print(question.reveal())
            return "revealed"
        given = parse(text)
        if given is None:
            print(f"{text!r} is not a number: type one like -0.75, 1e-3 or -1/3 (? reveals, q stops)")
            continue
        tries += 1
        verdict = question.check(given)
        print(verdict)
        if verdict.right:
            return "first try" if tries == 1 else "later try"


# -- what the learner sees of the recorded graph ---------------------------------------------


def _edges(sweep: Sweep) -> dict[Node, list[tuple[Node, int, float, float]]]:
    """Run the sweep; for every node the edges into it: (consumer, operand index, partial, upstream)."""
    edges: dict[Node, list[tuple[Node, int, float, float]]] = {}
    for node in reversed(sweep.order):
        upstream = sweep.grads[node]
        for index, (parent, (partial, _)) in enumerate(zip(node.parents, sweep.visit(node))):
            if partial is not None:
                edges.setdefault(parent, []).append((node, index, partial, upstream))
    return edges


def _consumers(order: Sequence[Node]) -> dict[Node, list[Node]]:
    consumers: dict[Node, list[Node]] = {}
    for node in order:
        for parent in node.parents:
            consumers.setdefault(parent, []).append(node)
    return consumers


def _hidden(node: Node, consumers: dict[Node, list[Node]], root: Node) -> bool:
    """An unlabelled -y inside x - y or y**-1 inside x / y: names show only the subtraction or quotient."""
    users = consumers.get(node, [])
    if node.label is not None or node is root or not users:
        return False
    if node.primitive is NEG:
        return all(user.primitive is ADD and user.parents[1] is node and user.parents[0] is not node
                   for user in users)
    if node.primitive is POW and node.parents[1].is_constant and node.parents[1].data == -1.0:
        return all(user.primitive is MUL and user.parents[1] is node and user.parents[0] is not node
                   for user in users)
    return False


def hidden_note(hidden: Iterable[Node]) -> str:
    """What to know about the hidden -y of x - y and y**-1 of x / y, for the ones there are."""
    return " ".join(sorted({_kind(node) for node in hidden}))


def _kind(node: Node) -> str:
    if node.primitive is NEG:
        return ("x - y is recorded as x + (-y): d(x - y)/dy = -1, and the inner -y gets no question of "
                "its own.")
    return ("x / y is recorded as x * y**-1: d(x / y)/dy = -x / y**2 (the quotient rule), and the inner "
            "y**-1 gets no question of its own.")


def _composite_formula(outer: Node, node: Node, names: dict[int, str]) -> str:
    """d(x - y)/dy = -1 and d(x / y)/dy = -x / y ** 2, in the graph's names."""
    helper = outer.parents[1]
    if helper.primitive is NEG:
        return "-1"
    numerator = outer.parents[0]
    top = printed(numerator.data) if numerator.is_constant else _wrap(names[id(numerator)])
    return f"-{top} / {_wrap(names[id(node)])} ** 2"


def _wrap(name: str) -> str:
    return name if " " not in name else f"({name})"


def _cell(text: str) -> str:
    """Text for a Markdown table cell."""
    return html.escape(text, quote=False).replace("|", "\\|")


# -- making exercises -------------------------------------------------------------------------

#: The operations a random exercise draws from by default: the catalogue's mistakes all have a place.
OPS = ("add", "sub", "mul", "div", "pow", "exp", "tanh", "sigmoid")
#: Values and partials of a random exercise stay within this, so the arithmetic stays by hand.
MAGNITUDE = 10.0
#: ...and every gradient asked is at least this big (a saturated tanh's 2e-5 is no exercise).
SMALLEST = 0.01
#: Draws tried before a random exercise gives up (each is a few microseconds).
ATTEMPTS = 2000


def exercise(root: Node, *, seed: int | None = None) -> Exercise:
    """The exercise of ``root``'s backward pass (see the module docs).

    With ``seed``, the same graph at new numbers: every leaf is drawn again
    (one decimal in [-2, 2], by ``random.Random(seed)``) until every operation
    is admitted by the rule random graphs follow; ``root`` itself is left as it
    is.  ``exercise.random(...)`` draws a new graph instead (:func:`random_exercise`).
    """
    if seed is None:
        return Exercise(root, seed=None)
    if not isinstance(root, Value):
        raise GraphError(f"an exercise needs a Value as the root, not {type(root).__name__}")
    return Exercise(_renumbered(root, random.Random(seed)), seed=seed)


def random_exercise(size: int = 4, ops: Iterable[str] = OPS, seed: int | None = None) -> Exercise:
    """An exercise on a graph of ``size`` operations drawn from ``ops``, by ``random.Random(seed)``.

    ``ops`` are names of the primitive table, and ``"sub"`` and ``"div"`` for
    ``x - y`` and ``x / y``.  Inputs are labelled a, b, c..., results the letters
    after, the root ``L``; inputs have one decimal, constants are small integers,
    every value and local partial stays within ±10 and every gradient asked is
    at least 0.01 in size.  Where the operations
    allow it, some value feeds two others (fan-out: gradients add up).  The same
    seed gives the same exercise.
    """
    ops = tuple(ops)
    known = sorted([*operations(), "sub", "div"])  # not the helpers gradient graphs record
    unknown = [op for op in ops if op not in known]
    if unknown or not ops:
        raise ValueError(f"exercise.random(): unknown operations {unknown}; choose from {known}")
    if not isinstance(size, int) or not 1 <= size <= 12:
        raise ValueError(f"exercise.random(): size is the number of operations, 1 to 12, not {size!r}")
    rng = random.Random(seed)
    fan_out = size >= 3 and any(op in ("sub", "div") or PRIMITIVES[op].arity != 1 for op in ops)
    for _ in range(ATTEMPTS):
        graph = _draw(rng, size, ops)
        if graph is None or (fan_out and max(graph.uses()) < 2):
            continue
        drawn = Exercise(_build(graph), seed=seed, graph=graph)
        if all(abs(q.answer) >= SMALLEST for q in drawn.questions):
            return drawn
    raise GraphError(f"exercise.random(): no admissible graph of {size} operations from {list(ops)} in "
                     f"{ATTEMPTS} draws (seed {seed}); allow more operations or a smaller size")


exercise.random = random_exercise  # type: ignore[attr-defined]


def _leaf(rng: random.Random) -> float:
    """An input with one decimal in [-2, 2], not near 0 (log, pow and relu are then admitted more often)."""
    return rng.choice([-1, 1]) * rng.randint(3, 20) / 10


def _draw(rng: random.Random, size: int, ops: tuple[str, ...]) -> RandomGraph | None:
    """One draw: ``size`` operations, each on an unused value where there is one; None if not admitted."""
    joining = any(op in ("sub", "div") or PRIMITIVES[op].arity != 1 for op in ops)
    values = [_leaf(rng) for _ in range(rng.randint(2, min(3, size + 1)) if joining else 1)]
    data = list(values)
    steps: list[Call] = []
    visible = list(range(len(values)))  # nodes the learner sees (not the -y of x - y, the y**-1 of x / y)
    used: set[int] = set()
    for _ in range(size):
        new = _operation(rng, rng.choice(ops), visible, used, len(data))
        for step in new:
            out = admitted(step, data, MAGNITUDE)
            if out is None:
                return None
            steps.append(step)
            data.append(out)
        used.update(a for step in new for a in step.args if isinstance(a, int))
        visible.append(len(data) - 1)
    if any(node not in used for node in visible[:-1]):
        return None  # the output must depend on every value
    return RandomGraph(tuple(values), tuple(steps))


def _operation(rng: random.Random, op: str, visible: list[int], used: set[int], n: int) -> list[Call]:
    """The steps of one operation the learner sees (two for x - y and x / y), on earlier values."""
    fresh = [node for node in visible if node not in used]
    first = rng.choice(fresh or visible)

    def other() -> int | Const:
        if rng.random() < 0.2:
            return Const(float(rng.choice([2, 3, -2, -3])))
        return rng.choice(visible)

    def another() -> int:  # x - x and x / x would be constants
        return rng.choice([node for node in visible if node != first] or visible)

    if op == "sub":
        if rng.random() < 0.2:
            return [Call("add", (first, Const(float(rng.choice([-1, -2, -3])))))]  # x - 1, x - 2...
        return [Call("neg", (another(),)), Call("add", (first, n))]
    if op == "div":
        return [Call("pow", (another(), Const(-1.0))), Call("mul", (first, n))]
    if op == "pow":
        return [Call("pow", (first, Const(float(rng.choice([2, 3])))))]
    primitive = PRIMITIVES[op]
    arity = primitive.arity if primitive.arity is not None else rng.randint(2, 3)
    args = [first] + [other() for _ in range(arity - 1)]
    rng.shuffle(args)
    return [Call(op, tuple(args))]


def _build(graph: RandomGraph) -> Value:
    """The graph's Values: inputs labelled a, b, c..., results the next letters (not a hidden -y or y**-1),
    the root L."""
    inputs, _ = graph.build()
    nodes = graph.nodes(*inputs)
    hidden_steps = {len(graph.values) + k for k, step in enumerate(graph.steps)
                    if _helper_step(graph, k)}
    letters = iter("abcdefghijkmnpqrstuvwxyz")  # no l, o: they read as 1 and 0
    for index, node in enumerate(nodes):
        if index not in hidden_steps:
            node.label = next(letters)
    nodes[-1].label = "L"
    return nodes[-1]


def _helper_step(graph: RandomGraph, k: int) -> bool:
    """Is step k the -y of an x - y or the y**-1 of an x / y drawn by :func:`_operation`?"""
    step, after = graph.steps[k], graph.steps[k + 1] if k + 1 < len(graph.steps) else None
    index = len(graph.values) + k
    return after is not None and (
        (step.op == "neg" and after.op == "add" and after.args[1] == index)
        or (step.op == "pow" and step.args[1] == Const(-1.0) and after.op == "mul" and after.args[1] == index)
    )


def _renumbered(root: Value, rng: random.Random) -> Value:
    """A copy of root's graph (labels kept) whose leaves are drawn again until every operation is admitted."""
    sweep = Sweep(root)
    order = sweep.order
    check_all_fresh(order)
    leaves = [node for node in order if not node.parents and not node.is_constant]
    bound = max(MAGNITUDE, *(abs(node.data) for node in order))
    for _ in range(ATTEMPTS):
        drawn = {node: _leaf(rng) for node in leaves}
        if _admits(order, drawn, bound):
            copies: dict[Any, Any] = {}
            for node in order:
                if node.is_constant:
                    copies[node] = node.data
                elif not node.parents:
                    copies[node] = Value(drawn[node], label=node.label)
                else:
                    copies[node] = apply(node.primitive, *[copies[p] for p in node.parents])
                    copies[node].label = node.label
            return copies[root]
    raise GraphError(f"exercise(seed=...): no new numbers in {ATTEMPTS} draws keep every operation of this "
                     "graph in its safe domain; use seed=None for the graph's own numbers")


def _admits(order: Sequence[Node], drawn: dict[Node, float], bound: float) -> bool:
    data: dict[Node, float] = {}
    for node in order:
        if not node.parents:
            data[node] = drawn.get(node, node.data)
            continue
        args = [data[p] for p in node.parents]
        out = admissible(node.primitive, args, [p.is_constant for p in node.parents], bound)
        if out is None:
            return False
        data[node] = out
    return True

