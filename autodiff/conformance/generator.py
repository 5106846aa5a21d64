"""Random programs, drawn with Hypothesis over the operations an engine has.

:func:`programs` draws :class:`~autodiff.conformance.programs.Program`\\ s
under the same admissibility rule as the project's graph strategies (applied
to every node this project's engine records for a statement, see
:func:`~autodiff.conformance.programs.admitted_statement`): values and
partials within bounds, each operand any earlier node (so fan-out, shared
operands and diamonds are common) or a number on either side where the
engine takes one, and the unused results summed at the end so that every
statement counts.  Failing programs shrink towards fewer inputs, fewer
statements and simpler numbers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import cache
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from ..testing.graphs import Const
from ..testing.strategies import constants, floats
from ..value import Value
from .operations import OPERATIONS, Operation
from .programs import Program, Statement, admitted_statement


def programs(operations: Sequence[Operation], left: Collection[str] = (), right: Collection[str] = (),
             max_inputs: int = 3, max_statements: int = 8, input_bound: float = 2.0,
             max_magnitude: float = 100.0) -> st.SearchStrategy[Program]:
    """Random programs over ``operations`` (which must include ``+``).

    ``left`` and ``right`` name the infix operators that may have a number on
    that side (``3 + v``, ``v + 3``).  Inputs lie in [-input_bound, input_bound];
    every node this project's engine records for a statement, and every local
    partial, stays within ``max_magnitude``.
    """
    if OPERATIONS["+"] not in operations:
        raise ValueError("programs() needs + among the operations: it sums the unused results")
    return _programs(tuple(operations), frozenset(left), frozenset(right), max_inputs, max_statements,
                     input_bound, max_magnitude)


@st.composite
def _programs(draw: Any, operations: tuple[Operation, ...], left: frozenset[str], right: frozenset[str],
              max_inputs: int, max_statements: int, input_bound: float, max_magnitude: float) -> Program:
    inputs = tuple(draw(st.lists(floats(input_bound), min_size=1, max_size=max_inputs)))
    nodes = [Value(x) for x in inputs]  # this project's engine computes every node as it is drawn
    statements: list[Statement] = []
    for _ in range(draw(st.integers(1, max_statements))):
        statement = draw(_statement(operations, left, right, len(nodes)))
        node = admitted_statement(statement, nodes, max_magnitude)
        if node is not None:  # otherwise the statement is skipped: it would leave the safe domain
            statements.append(statement)
            nodes.append(node)
    assume(statements)
    # Sum the unused results into the root, so that every statement counts.
    used = {a for s in statements for a in s.args if isinstance(a, int)}
    sinks = [i for i in range(len(inputs), len(nodes)) if i not in used]
    while len(sinks) > 1:
        gather = Statement(OPERATIONS["+"], (sinks[0], sinks[1]))
        node = admitted_statement(gather, nodes, max_magnitude)
        if node is None:
            break
        statements.append(gather)
        nodes.append(node)
        sinks = [len(nodes) - 1, *sinks[2:]]
    return Program(inputs, tuple(statements))


@st.composite
def _statement(draw: Any, operations: tuple[Operation, ...], left: frozenset[str], right: frozenset[str],
               n_nodes: int) -> Statement:
    op = draw(_choices(operations))
    node = _nodes(n_nodes)
    if op.arity == 1:
        return Statement(op, (draw(node),))
    if op.name == "** number":
        return Statement(op, (draw(node), draw(_NUMBER)))
    # At most one number, on a side where the engine takes numbers.
    a = draw(_node_or_number(n_nodes) if op.name in left else node)
    b = draw(_node_or_number(n_nodes) if op.name in right and isinstance(a, int) else node)
    return Statement(op, (a, b))


# Strategies are built once and reused: building one per draw would cost more than the draw.

_NUMBER = st.builds(Const, constants())


@cache
def _choices(operations: tuple[Operation, ...]) -> st.SearchStrategy[Operation]:
    # Half the statements join two operands, however many methods the engine has,
    # so programs keep their fan-in (x + x, shared operands).
    joining = [op for op in operations if op.arity == 2]
    single = [op for op in operations if op.arity == 1]
    return st.one_of(*[st.sampled_from(group) for group in (joining, single) if group])


@cache
def _nodes(n_nodes: int) -> st.SearchStrategy[int]:
    # Operands are drawn as a distance back from the newest node, so that they shrink
    # towards it and stay valid when the shrinker deletes inputs or statements.
    return st.integers(0, n_nodes - 1).map(lambda back: n_nodes - 1 - back)


@cache
def _node_or_number(n_nodes: int) -> st.SearchStrategy[int | Const]:
    return _nodes(n_nodes) | _NUMBER
