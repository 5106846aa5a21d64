"""Hypothesis strategies that draw computation graphs from the primitive table.

:func:`graphs` draws a :class:`RandomGraph`: a few input numbers and a list of
steps, each applying a primitive of :data:`autodiff.primitives.PRIMITIVES` to
earlier nodes (any earlier node, so shared sub-expressions and fan-out are
common) or to constants.  Nothing here knows any particular primitive: a step
is kept only where the table says it is safe (``Primitive.safe``), where its
forward pass and its local partials are defined, and where they stay small, so
central differences are accurate: the rule of :func:`~autodiff.testing.graphs.admitted`,
which the seeded random exercises share.  A new table entry is drawn the moment it is
registered.  ``RandomGraph``, ``Call`` and ``Const`` live in :mod:`autodiff.testing.graphs`
(no Hypothesis needed) and are importable from here too.

A drawn graph is a recipe that can be replayed at other inputs, which is what
:func:`~autodiff.testing.gradcheck` needs::

    from hypothesis import given
    from autodiff.testing import gradcheck
    from autodiff.testing.strategies import graphs

    @given(graphs())
    def test_backward_matches_central_differences(graph):
        assert gradcheck(graph, graph.values)

Failing graphs shrink to few inputs and few steps, and print as a program:

>>> RandomGraph(values=(0.5, -1.25), steps=(Call("mul", (0, 1)), Call("pow", (2, Const(2.0)))))
RandomGraph:
    v0 = 0.5
    v1 = -1.25
    v2 = mul(v0, v1)
    v3 = pow(v2, 2.0)
    return v3
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from ..primitives import PRIMITIVES, Primitive, operations
from ..value import apply  # noqa: F401 - tests build steps' nodes with it from here
from .graphs import (
    MAX_NARY,
    Call,
    Const,
    RandomGraph,
    Step,  # noqa: F401 - Call's earlier name, importable from here as before
    admissible,
    admitted,
)

# -- strategies ---------------------------------------------------------------


def floats(bound: float) -> st.SearchStrategy[float]:
    """Finite floats in [-bound, bound], no subnormals (they only test the FPU)."""
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def constants() -> st.SearchStrategy[float]:
    """Constants for steps: small integers first (they shrink well, and make x**n usable for x < 0)."""
    return st.integers(-3, 3).map(float) | floats(3.0)


def arguments(op: Primitive, bound: float = 3.0) -> st.SearchStrategy[tuple[float, ...]]:
    """Input tuples for ``op`` that its table entry calls safe (``op.safe``), each in [-bound, bound].

    The forward pass and every local partial are defined there, so tests of a
    primitive's rules can draw their points from here without knowing the primitive.
    """
    arity = st.just(op.arity) if op.arity is not None else st.integers(1, MAX_NARY)
    tuples = arity.flatmap(lambda n: st.tuples(*[floats(bound)] * n))
    return tuples.filter(lambda args: admissible(op, args, None, math.inf) is not None)


def graphs(
    max_inputs: int = 3,
    max_nodes: int = 8,
    primitives: Iterable[str] | None = None,
    input_bound: float = 2.0,
    max_magnitude: float = 100.0,
) -> st.SearchStrategy[RandomGraph]:
    """Random computation DAGs over the primitive table.

    ``max_inputs`` inputs in [-input_bound, input_bound]; up to ``max_nodes``
    operation nodes drawn from ``primitives`` (names; default the whole table but its helpers,
    which only gradient graphs hold).
    Operands are any earlier node or, for primitives of two or more inputs,
    sometimes a constant.  Every node's value and every local partial stays
    within ``max_magnitude``.  When an n-ary primitive (``sum``) is allowed and
    several results are unused, a last node gathers them, so the output depends
    on them all.
    """
    names = sorted(operations()) if primitives is None else list(primitives)
    unknown = [name for name in names if name not in PRIMITIVES]
    if unknown or not names:
        raise ValueError(f"graphs(): unknown primitives {unknown}; known: {sorted(PRIMITIVES)}")
    if max_inputs < 1 or max_nodes < 1:
        raise ValueError(f"graphs() needs max_inputs >= 1 and max_nodes >= 1, got {max_inputs}, {max_nodes}")
    return _graphs(max_inputs, max_nodes, tuple(names), input_bound, max_magnitude)


@st.composite
def _graphs(draw: Any, max_inputs: int, max_nodes: int, names: tuple[str, ...],
            input_bound: float, max_magnitude: float) -> RandomGraph:
    values = draw(st.lists(floats(input_bound), min_size=1, max_size=max_inputs))
    data = list(values)  # the value of every node so far
    steps: list[Call] = []
    for _ in range(draw(st.integers(1, max_nodes))):
        step = draw(_step(names, len(data)))
        out = admitted(step, data, max_magnitude)
        if out is not None:  # otherwise the step is skipped: it would leave the safe domain
            steps.append(step)
            data.append(out)
    assume(steps)
    n_ary = [name for name in names if PRIMITIVES[name].arity is None]
    if len(steps) < max_nodes and n_ary:
        # Gather the unused results into the output, so that every step counts.
        sinks = [i for i, count in enumerate(RandomGraph(tuple(values), tuple(steps)).uses())
                 if count == 0 and i >= len(values)]
        gather = Call(n_ary[0], tuple(sinks))
        if len(sinks) > 1 and admitted(gather, data, max_magnitude) is not None:
            steps.append(gather)
    return RandomGraph(tuple(values), tuple(steps))


@st.composite
def _step(draw: Any, names: tuple[str, ...], n_nodes: int) -> Call:
    # Half the steps join two or more operands, however many one-input primitives the table has,
    # so graphs keep their fan-in (x + x, shared operands) as the table grows.
    joining = [name for name in names if PRIMITIVES[name].arity != 1]
    single = [name for name in names if PRIMITIVES[name].arity == 1]
    kinds = [st.sampled_from(group) for group in (joining, single) if group]
    op = PRIMITIVES[draw(st.one_of(*kinds))]
    arity = op.arity if op.arity is not None else draw(st.integers(1, MAX_NARY))
    # Operands are drawn as a distance back from the newest node, so that they shrink
    # towards it and stay valid when the shrinker deletes unused inputs or steps.
    node = st.integers(0, n_nodes - 1).map(lambda back: n_nodes - 1 - back)
    # Constants only where another operand is a node: a unary step of a constant is a constant.
    operand = node | st.builds(Const, constants()) if arity >= 2 else node
    return Call(op.name, tuple(draw(operand) for _ in range(arity)))
