"""The catalogue of common backpropagation mistakes, each able to say what numbers it would give.

People who write backprop by hand, or their own engine, make the same few
mistakes: a gradient assigned instead of accumulated, a fan-out path dropped,
the upstream gradient forgotten, ``tanh``'s derivative taken at the input
instead of from the output, a lost minus at a subtraction, the power rule
half-applied.  Each :class:`Mistake` here is a rule for a mistaken reverse
sweep over a recorded graph, so it *predicts* the gradients the mistake gives;
a wrong answer is then named by the mistake whose prediction it matches,
never guessed.

>>> from autodiff import Value
>>> x = Value(0.5, label="x")
>>> y = x.tanh() * x                      # x reaches y along two paths
>>> [m.name for m in diagnose(y, {x: 0.5 * (1 - 0.5**2) + 0.4621171572600098})]
['at-input']
>>> [(p.mistake.name, round(p.value, 4)) for p in predictions(y, x) if p.mistake.name == "dropped-path"]
[('dropped-path', 0.3932), ('dropped-path', 0.4621)]

:func:`predictions` answers "what would the gradient of this node be if one
mistake were made there, everything else right" (for exercises);
:meth:`Mistake.gradients` and :func:`diagnose` answer "what would a backward
that always makes this mistake compute" (for someone's own engine).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..backward import local_partials
from ..graph import is_computed, topological_order
from ..naming import describe
from ..node import Node

#: What flows from ``node`` into its operand ``i``, given the (right) local partial and upstream gradient.
Contribution = Callable[[Any, int, float, float], float]
#: How a contribution joins what the operand had so far (``None``: nothing yet).
Accumulate = Callable[[Any, float], float]

#: A mistaken walk may visit a node once per path; beyond this many visits it is not predicted.
MAX_VISITS = 200_000


def _right(node: Node, i: int, partial: float, upstream: float) -> float:
    return partial * upstream


def _add(before: float | None, contribution: float) -> float:
    return contribution if before is None else before + contribution


@dataclass(frozen=True)
class Mistake:
    """One common mistake, as the rule of a mistaken reverse sweep.

    ``name`` is a stable identifier, ``title`` a short phrase and
    ``explanation`` one sentence for a learner.  The sweep differs from the
    right one in what flows along an edge (``contribution``), in how it joins
    the operand's gradient (``accumulate``) or in the order nodes are visited
    (``walk``: the nodes, root first, possibly repeated).
    """

    name: str
    title: str
    explanation: str
    contribution: Contribution = field(default=_right, repr=False)
    accumulate: Accumulate = field(default=_add, repr=False)
    walk: Callable[[Node], list[Node]] | None = field(default=None, repr=False)

    def gradients(self, root: Node) -> dict[Node, float]:
        """Every node's gradient after a backward from ``root`` (seed 1) that always makes this mistake.

        Raises ValueError when the prediction cannot be made (a mistaken
        partial undefined at these numbers, or a walk of more than
        :data:`MAX_VISITS` visits).
        """
        return mistaken_gradients(root, self)

    def __str__(self) -> str:
        return self.title


@dataclass(frozen=True)
class Prediction:
    """What the gradient of one node would be if ``mistake`` were made there (``detail`` says where)."""

    mistake: Mistake
    value: float
    detail: str


# -- the rules ------------------------------------------------------------------


def _assign(before: float | None, contribution: float) -> float:
    return contribution


def _keep_first(before: float | None, contribution: float) -> float:
    return contribution if before is None else before


def _without_upstream(node: Node, i: int, partial: float, upstream: float) -> float:
    return partial


def _upstream_twice(node: Node, i: int, partial: float, upstream: float) -> float:
    return 2.0 * partial * upstream


def _at_input(node: Node, i: int, partial: float, upstream: float) -> float:
    """The partial evaluated with the input where the output belongs (1 - x**2 for tanh)."""
    op = node.primitive
    if op.arity == 1 and "out" in op.formula(0):
        x = node.parents[0].data
        return op.partial(0, (x,), x) * upstream
    return partial * upstream


def _lost_minus(node: Node, i: int, partial: float, upstream: float) -> float:
    """x - y is recorded as x + (-y): the minus lost is neg's partial taken as +1."""
    return (-partial if node.op == "neg" else partial) * upstream


def _constant_exponent(node: Node, i: int) -> float | None:
    if node.op != "pow" or i != 0 or not node.parents[1].is_constant:
        return None
    return node.parents[1].data


def _power_without_factor(node: Node, i: int, partial: float, upstream: float) -> float:
    """d(x**k)/dx taken as x**(k-1): the k forgotten (for x / y, the minus of -1/y**2 lost)."""
    k = _constant_exponent(node, i)
    if k is None or k == 0.0:
        return partial * upstream
    return node.parents[0].data ** (k - 1.0) * upstream


def _power_unreduced(node: Node, i: int, partial: float, upstream: float) -> float:
    """d(x**k)/dx taken as k * x**k: the exponent not lowered by one."""
    k = _constant_exponent(node, i)
    if k is None:
        return partial * upstream
    return k * node.data * upstream


def _every_path(root: Node) -> list[Node]:
    """The nodes root first, each once per path from the root: micrograd's walk without its visited set.

    A depth-first post-order over operands (in order), appending a node after
    its operands every time it is reached, then reversed.
    """
    post: list[Node] = []
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            post.append(node)
            if len(post) > MAX_VISITS:
                raise ValueError(f"a walk revisiting shared nodes makes over {MAX_VISITS:,} visits here")
            continue
        stack.append((node, True))
        stack.extend((parent, False) for parent in reversed(node.parents))
    return post[::-1]


CATALOGUE: tuple[Mistake, ...] = (
    Mistake("assigned", "gradient assigned instead of accumulated",
            "A node used more than once gets `grad = ...` instead of `grad += ...`: every path but the "
            "last one is lost.", accumulate=_assign),
    Mistake("dropped-path", "a fan-out path dropped",
            "A node that feeds several others must add up what comes back along every path; one path "
            "was left out.", accumulate=_keep_first),
    Mistake("visited-twice", "shared nodes visited once per path",
            "The walk did not remember which nodes it had visited, so a shared node passed its gradient "
            "on once per path, each time with the total so far.", walk=_every_path),
    Mistake("upstream-missing", "the upstream gradient left out",
            "The chain rule multiplies the local derivative by the gradient arriving from above; only "
            "the local derivative was used.", contribution=_without_upstream),
    Mistake("upstream-doubled", "the upstream gradient counted twice",
            "The contribution was local derivative × upstream gradient, added twice.",
            contribution=_upstream_twice),
    Mistake("at-input", "derivative taken at the input instead of from the output",
            "tanh' = 1 - out², σ' = out(1 - out) and exp' = out are written with the node's output; "
            "they were evaluated with its input.", contribution=_at_input),
    Mistake("sign", "the minus of a subtraction lost",
            "x - y is x + (-y): the gradient reaching y is the negative of the one reaching x - y.",
            contribution=_lost_minus),
    Mistake("power-rule-factor", "power rule without the exponent's factor",
            "d(x**k)/dx = k·x**(k-1); the factor k was left out (for a quotient x / y = x·y**-1, the "
            "minus of -x/y² is lost).", contribution=_power_without_factor),
    Mistake("power-rule-exponent", "power rule without lowering the exponent",
            "d(x**k)/dx = k·x**(k-1); it was taken as k·x**k.", contribution=_power_unreduced),
)

#: The catalogue by name.
MISTAKES: dict[str, Mistake] = {mistake.name: mistake for mistake in CATALOGUE}


# -- the mistaken sweep ------------------------------------------------------------


def mistaken_gradients(
    root: Node, mistake: Mistake | None = None, into: Node | None = None,
    given: Mapping[Node, float] | None = None,
) -> dict[Node, float]:
    """Every node's gradient from ``root`` (seed 1), with ``mistake`` made everywhere or only into ``into``.

    ``given`` imposes gradients on some nodes: when the sweep reaches such a
    node, its gradient is the one given, whatever its consumers sent (what
    the rest of a hand-written backprop computes from one wrong intermediate).
    With neither, this is the right sweep.
    """
    order = mistake.walk(root) if mistake is not None and mistake.walk is not None else None
    if order is None:
        order = list(reversed(topological_order(root)))
    grads: dict[Node, float] = {root: 1.0}
    given = given or {}
    try:
        for node in order:
            if not is_computed(node):
                continue
            upstream = grads[node] = given[node] if node in given else grads.get(node, 0.0)
            for i, (parent, partial) in enumerate(zip(node.parents, local_partials(node))):
                if partial is None:
                    continue
                if mistake is not None and (into is None or parent is into):
                    grads[parent] = mistake.accumulate(grads.get(parent),
                                                       mistake.contribution(node, i, partial, upstream))
                else:
                    grads[parent] = grads.get(parent, 0.0) + partial * upstream
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        raise ValueError(f"{mistake} cannot be predicted here: {error}") from None
    if not all(math.isfinite(g) for g in grads.values()):
        raise ValueError(f"{mistake} gives a gradient that is not finite here")
    return grads


def _contributions(root: Node, node: Node, grads: Mapping[Node, float]) -> list[tuple[Node, float]]:
    """What each consumer sends ``node`` in the right sweep, in the order the sweep visits them."""
    sent = []
    for consumer in reversed(topological_order(root)):
        if not is_computed(consumer):
            continue
        for parent, partial in zip(consumer.parents, local_partials(consumer)):
            if parent is node and partial is not None:
                sent.append((consumer, partial * grads.get(consumer, 0.0)))
    return sent


def predictions(root: Node, node: Node) -> list[Prediction]:
    """Each value the gradient of ``node`` would have if one mistake were made at it, all else right.

    Only values that differ from the right gradient are listed; a dropped
    fan-out path gives one prediction per path (``detail`` names the consumer
    whose contribution was left out).
    """
    right = mistaken_gradients(root)
    expected = right.get(node, 0.0)
    found: list[Prediction] = []
    sent = _contributions(root, node, right)
    for mistake in CATALOGUE:
        if mistake.walk is not None:
            continue  # a walk is a property of the whole sweep, not of one node
        if mistake.name == "dropped-path":
            if len(sent) > 1:
                for consumer, part in sent:
                    detail = f"the path through {describe(consumer)}"
                    found.append(Prediction(mistake, expected - part, detail))
            continue
        try:
            value = mistaken_gradients(root, mistake, into=node).get(node, 0.0)
        except ValueError:
            continue
        if not _close(value, expected):
            found.append(Prediction(mistake, value, f"at {describe(node)}"))
    return found


def diagnose(
    root: Node, observed: Mapping[Node, float], rtol: float = 1e-9, atol: float = 1e-12
) -> list[Mistake]:
    """The mistakes whose whole-sweep prediction matches ``observed`` on every node given.

    Only when the right gradients do not match: right answers have no diagnosis.

    ``observed`` maps nodes of the root's graph to the gradients someone's
    backward gave them.  An empty list means no mistake of the catalogue
    explains them (or they are right).
    """
    right = mistaken_gradients(root)
    if all(_close(observed[n], right.get(n, 0.0), rtol, atol) for n in observed):
        return []
    return [mistake for mistake in CATALOGUE if _explains(mistake, root, observed, rtol, atol)]


def _explains(mistake: Mistake, root: Node, observed: Mapping[Node, float], rtol: float, atol: float) -> bool:
    try:
        predicted = mistake.gradients(root)
    except ValueError:
        return False
    return all(_close(observed[n], predicted.get(n, 0.0), rtol, atol) for n in observed)


def _close(a: float, b: float, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def names(mistakes: Iterable[Mistake]) -> list[str]:
    """The names of some mistakes, for messages and reports."""
    return [mistake.name for mistake in mistakes]
