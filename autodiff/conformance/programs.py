"""Programs in a learner's API: random or fixed, printed as code, run in any engine.

A :class:`Program` is a few input numbers and a list of statements, each one
operation of :mod:`~autodiff.conformance.operations` applied to earlier nodes
or to numbers.  It prints as the code a learner would write, and
:meth:`Program.run` executes exactly that code with Python's operators on
whichever ``Value`` class it is given: the learner's, in the child process,
and this project's, as the oracle.

A statement is admitted where every node this project's engine records for
it passes the rule of the project's graph strategies
(:func:`autodiff.testing.graphs.admitted_node`): inside every domain, values
and partials within bounds.  :mod:`~autodiff.conformance.generator` draws
random programs under it.

>>> from autodiff.conformance.operations import OPERATIONS
>>> add, mul = OPERATIONS["+"], OPERATIONS["*"]
>>> program = Program((3.0,), (Statement(add, (0, 0)), Statement(mul, (1, Const(2.0)))))
>>> print(program.code())
v0 = Value(3.0)
v1 = v0 + v0
v2 = v1 * 2.0
v2.backward()
>>> from autodiff import Value
>>> [node.grad for node in program.run(Value)]
[4.0, 2.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..testing.graphs import Const, admitted_node
from ..value import Value
from .operations import Operation


@dataclass(frozen=True)
class Statement:
    """A node of a program: ``operation`` of earlier nodes (by index) and numbers (:class:`Const`)."""

    operation: Operation
    args: tuple[int | Const, ...]

    def write(self) -> str:
        """The right-hand side as code, e.g. ``v0 * 2.0``."""
        return self.operation.write(*(f"v{a}" if isinstance(a, int) else repr(a.value) for a in self.args))


@dataclass(frozen=True)
class Program:
    """Input numbers, then statements: node ``i`` is input ``i``, then the statements' results, root last."""

    inputs: tuple[float, ...]
    statements: tuple[Statement, ...]

    @property
    def size(self) -> int:
        """How many nodes the program names (inputs and statements)."""
        return len(self.inputs) + len(self.statements)

    def lines(self, constructor: str = "Value", seed_by_hand: bool = False) -> list[str]:
        """The program as code: a line per node, then backward (after ``root.grad = 1.0`` if asked)."""
        first = len(self.inputs)
        lines = [f"v{i} = {constructor}({x!r})" for i, x in enumerate(self.inputs)]
        lines += [f"v{first + k} = {s.write()}" for k, s in enumerate(self.statements)]
        root = f"v{self.size - 1}"
        return lines + ([f"{root}.grad = 1.0"] if seed_by_hand else []) + [f"{root}.backward()"]

    def code(self, constructor: str = "Value", seed_by_hand: bool = False) -> str:
        """The program as one block of code in the learner's API."""
        return "\n".join(self.lines(constructor, seed_by_hand))

    def consumers(self, node: int) -> list[int]:
        """The statement nodes that read ``node`` (each once, in order)."""
        first = len(self.inputs)
        return [first + k for k, s in enumerate(self.statements) if node in s.args]

    def run(self, cls: Any, seed_by_hand: bool = False) -> list[Any]:
        """Build the program with ``cls`` as the Value class and run backward from the root; every node.

        An exception is re-raised as :class:`ProgramError` naming the line of code that raised it.
        """
        lines = self.lines(seed_by_hand=seed_by_hand)
        nodes: list[Any] = []
        for i, x in enumerate(self.inputs):
            nodes.append(run_line(lines[i], cls, x))
        for k, statement in enumerate(self.statements):
            operands = [nodes[a] if isinstance(a, int) else a.value for a in statement.args]
            nodes.append(run_line(lines[len(self.inputs) + k], statement.operation.call, *operands))
        if seed_by_hand:
            run_line(lines[-2], setattr, nodes[-1], "grad", 1.0)
        run_line(lines[-1], lambda root: root.backward(), nodes[-1])
        return nodes

    def __repr__(self) -> str:
        return "Program:\n" + "\n".join("    " + line for line in self.lines())


class ProgramError(Exception):
    """An exception raised by one line of a program (``line``) in the engine that ran it (``error``)."""

    def __init__(self, line: str, error: BaseException) -> None:
        super().__init__(f"{line}: {type(error).__name__}: {error}")
        self.line = line
        self.error = error


def run_line(code: str, function: Any, *args: Any) -> Any:
    """``function(*args)``, with any exception re-raised as a :class:`ProgramError` of the line ``code``."""
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - whatever the engine raises is reported with its line
        raise ProgramError(code, error) from error


# -- the admissibility rule, applied to statements -----------------------------------------


def admitted_statement(statement: Statement, nodes: list[Value], bound: float) -> Value | None:
    """The statement's node in this project's engine if every node it records passes the rule, else None."""
    operands = [nodes[a] if isinstance(a, int) else a.value for a in statement.args]
    try:
        out = statement.operation.call(*operands)
    except (ArithmeticError, ValueError):  # outside the domain: the engine names it, the generator skips it
        return None
    known = {id(n) for n in nodes}
    stack, seen = [out], set()
    while stack:
        n = stack.pop()
        if id(n) in known or id(n) in seen:
            continue
        seen.add(id(n))
        if not admitted_node(n, bound) or abs(n.data) > bound:
            return None
        stack.extend(n.parents)
    return out


def admitted(program: Program, bound: float = 100.0) -> bool:
    """Whether every statement of a (fixed) program passes the rule random programs are drawn under."""
    nodes = [Value(x) for x in program.inputs]
    for statement in program.statements:
        node = admitted_statement(statement, nodes, bound)
        if node is None:
            return False
        nodes.append(node)
    return True


#: How the inputs are moved to confirm a diagnosis away from the shrunk point's coincidences.
SHIFTS = (0.137, -0.261, 0.193, -0.071)


def perturbed(program: Program) -> Iterator[Program]:
    """The same program at nearby inputs (each moved by a different small amount), where still admitted."""
    for scale in (1.0, 0.5, -1.0, 2.0):
        inputs = tuple(x + scale * SHIFTS[i % len(SHIFTS)] for i, x in enumerate(program.inputs))
        moved = Program(inputs, program.statements)
        if admitted(moved, bound=1e6):  # within every domain; the magnitudes are the program's own
            yield moved
