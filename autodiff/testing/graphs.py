"""Random computation graphs as recipes, and the rule for which steps they may hold.

A :class:`RandomGraph` is a few input numbers and a list of :class:`Call`\\ s,
each applying a primitive of :data:`autodiff.primitives.PRIMITIVES` to earlier
nodes (by index) or to constants (:class:`Const`).  Whoever draws such graphs
(the Hypothesis strategies of :mod:`autodiff.testing.strategies`, the seeded
random exercises of :mod:`autodiff.exercises`) keeps a step only where
:func:`admitted` says so: the table calls its operands safe (``Primitive.safe``),
its forward pass and local partials are defined there, and they stay within a
bound, so central differences are accurate and numbers stay readable.

This module needs no Hypothesis: drawing with ``random.Random(seed)`` uses the
same rule.

>>> graph = RandomGraph(values=(3.0,), steps=(Call("mul", (0, 0)),))
>>> inputs, out = graph.build()
>>> out.backward()
>>> out.data, inputs[0].grad
(9.0, 6.0)
>>> admitted(Call("log", (0,)), [-1.0], bound=100.0) is None    # log of a negative: not admitted
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..primitives import PRIMITIVES, Primitive
from ..value import Value, apply

#: How many inputs an n-ary primitive (sum) gets at most.
MAX_NARY = 4


@dataclass(frozen=True)
class Const:
    """A constant operand of a step (the 2 in ``pow(v0, 2.0)``)."""

    value: float

    def __repr__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True)
class Call:
    """One node of a random graph, as a call: primitive ``op`` on earlier nodes (by index) and constants."""

    op: str
    args: tuple[int | Const, ...]

    def __str__(self) -> str:
        operands = ", ".join(f"v{a}" if isinstance(a, int) else repr(a) for a in self.args)
        return f"{self.op}({operands})"


#: The earlier name of :class:`Call`, kept so code written with it still runs.
Step = Call


@dataclass(frozen=True, repr=False)
class RandomGraph:
    """A replayable computation: input numbers, then steps; the last step is the output.

    Node ``i`` is input ``i`` for ``i < len(values)``, else the result of step
    ``i - len(values)``.  Calling the graph with one Value per input replays
    it and returns the output, so a graph is a function for ``gradcheck``.
    """

    values: tuple[float, ...]
    steps: tuple[Call, ...]

    def __call__(self, *inputs: Value) -> Value:
        return self.nodes(*inputs)[-1]

    def nodes(self, *inputs: Value) -> list[Value]:
        """Replay the steps on these inputs; every node, inputs first, output last."""
        if len(inputs) != len(self.values):
            raise TypeError(f"this graph takes {len(self.values)} inputs, got {len(inputs)}")
        nodes = list(inputs)
        for step in self.steps:
            nodes.append(apply(PRIMITIVES[step.op], *[_resolve(a, nodes) for a in step.args]))
        return nodes

    def build(self, values: Sequence[float] | None = None) -> tuple[list[Value], Value]:
        """Fresh input leaves labelled v0, v1... (at ``values``, default the drawn ones) and the output."""
        inputs = [Value(x, label=f"v{i}") for i, x in enumerate(self.values if values is None else values)]
        return inputs, self(*inputs)

    def uses(self) -> list[int]:
        """How many times each node is an operand of a later step (fan-out, with repeats)."""
        counts = [0] * (len(self.values) + len(self.steps))
        for step in self.steps:
            for a in step.args:
                if isinstance(a, int):
                    counts[a] += 1
        return counts

    def __repr__(self) -> str:
        lines = [f"v{i} = {x!r}" for i, x in enumerate(self.values)]
        first = len(self.values)
        lines += [f"v{first + k} = {step}" for k, step in enumerate(self.steps)]
        lines.append(f"return v{first + len(self.steps) - 1}")
        return "RandomGraph:\n" + "\n".join("    " + line for line in lines)


def _resolve(arg: int | Const, nodes: list[Value]) -> Any:
    return arg.value if isinstance(arg, Const) else nodes[arg]


# -- which steps a random graph may hold -------------------------------------------


def admitted(step: Call, data: Sequence[float], bound: float) -> float | None:
    """The step's output at these node values (``data[i]`` is node i's) if admissible, else None.

    A step of constants only is never admitted (it would be a constant, not a node).
    """
    args = [a.value if isinstance(a, Const) else data[a] for a in step.args]
    constant = [isinstance(a, Const) for a in step.args]
    if all(constant):
        return None
    return admissible(PRIMITIVES[step.op], args, constant, bound)


def admissible(op: Primitive, args: Sequence[float], constant: Sequence[bool] | None,
               bound: float) -> float | None:
    """op's output at ``args`` if the table calls them safe and the output and partials are within bound.

    Partials by constant operands (``constant[i]`` true) are not needed (backward
    skips them), so not checked.  Returns None when not admissible.
    """
    if not op.safe(args):
        return None
    try:
        out = op.forward(*args)
        partials = [op.partial(i, args, out) for i in range(len(args)) if not (constant and constant[i])]
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    if not all(math.isfinite(x) and abs(x) <= bound for x in [out, *partials]):
        return None
    return out


def admitted_node(node: Value, bound: float) -> bool:
    """Whether a recorded node passes the same rule at the numbers it was computed from (leaves do).

    The conformance kit's programs are written with operators (``a / b``),
    which this engine records as several primitives: each of them must pass.
    """
    parents = node.parents
    if not parents:  # a leaf or a constant
        return True
    return admissible(node.primitive, [p.data for p in parents], [p.is_constant for p in parents],
                      bound) is not None
