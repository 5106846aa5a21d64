"""One program, two engines: do they agree, and if not, where does the learner's go wrong?

:func:`judge` compares what the learner's engine gave for a program (data
and gradient of every node, or what it raised) with this project's engine
running the same program.  A disagreement is explained three ways:

- both engines' numbers, written beside each line of the program;
- the first node whose local rule disagrees: walking back from the root,
  the first node whose gradient is wrong although every node it feeds is
  right, so the fault lies in what those consumers passed back to it (their
  local derivative times their upstream gradient, added up);
- the catalogue of mistakes (:mod:`autodiff.testing.mistakes`): the mistake
  whose prediction for the whole backward pass matches the learner's numbers
  on every node, which tells a wrong local rule apart from a wrong walk
  (shared nodes visited twice) or a lost accumulation (``grad =`` for
  ``grad +=``).  Nothing is guessed: a mistake is named only when its
  numbers match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..testing import mistakes
from ..testing.mistakes import Prediction
from ..value import Value
from .programs import Program, perturbed
from .runner import Outcome

#: Tolerances of every comparison: micrograd's parents are a set, so its order of summation varies.
RTOL, ATOL = 1e-9, 1e-12

#: What kind of fault each mistake of the catalogue is.
KINDS = {"assigned": "a lost accumulation", "dropped-path": "a lost accumulation",
         "visited-twice": "a wrong walk"}


@dataclass(frozen=True)
class Verdict:
    """The comparison of one program: ``ok``, a one-line ``summary`` and the full ``detail``."""

    ok: bool
    summary: str = ""
    detail: str = ""


def close(a: float, b: float) -> bool:
    """Equal within the kit's tolerances (NaN equals nothing)."""
    return abs(a - b) <= ATOL + RTOL * abs(b)


def judge(program: Program, outcome: Outcome, constructor: str = "Value", seed_by_hand: bool = False,
          rerun: Callable[[Program], Outcome] | None = None) -> Verdict:
    """Compare the learner's run of ``program`` (``outcome`` of ``calls.run_program``) with this project's.

    ``rerun`` runs another program in the learner's engine: a mistake of the
    catalogue is named only if it also explains the numbers of the same
    program at nearby inputs (small examples are full of coincidences:
    log(1) = 0, x * 0 = 0).  Without it, no mistake is named.
    """
    code = program.lines(constructor, seed_by_hand)
    if not outcome.ok:
        return Verdict(False, outcome.describe(), "\n".join(_indented(code)))
    ours = program.run(Value)
    theirs = outcome.value
    for i, (node, (data, _)) in enumerate(zip(ours, theirs)):
        if not close(data, node.data):
            summary = (f"forward: {code[i]} computes {_n(data)} in your engine; the right value is "
                       f"{_n(node.data)}")
            return Verdict(False, summary, "\n".join(_annotated(code, ours, theirs, "data")))
    wrong = [i for i, (node, (_, grad)) in enumerate(zip(ours, theirs)) if not close(grad, node.grad)]
    if not wrong:
        return Verdict(True)
    first = wrong[-1]
    walk, local = _mistakes(program, ours, theirs, first, rerun)
    summary = f"v{first}.grad is {_n(theirs[first][1])}, the right gradient is {_n(ours[first].grad)}"
    lines = _annotated(code, ours, theirs, "grad")
    where = _first_wrong(program, ours, theirs, first, code)
    faults = [m for m in walk if m.name in KINDS]
    if faults:
        kinds = " or ".join(sorted({KINDS[m.name] for m in faults}))
        titles = "; equally, ".join(m.title for m in faults)
        lines.append(f"The whole backward pass matches {kinds}: {titles}. {faults[0].explanation} "
                     f"It first shows at v{first}: {where}")
    else:
        lines.append(f"The first node whose local rule disagrees: {where}")
        named = [(m.title, "", m.explanation) for m in walk] + [(p.mistake.title, f" ({p.detail})",
                                                                 p.mistake.explanation) for p in local]
        lines += [f"This matches a wrong local rule: {title}{where_}. {why}" for title, where_, why in named]
    return Verdict(False, summary, "\n".join(lines))


def _first_wrong(program: Program, ours: list[Value], theirs: list[tuple[float, float]],
                 node: int, code: list[str]) -> str:
    """Why ``node`` is the first wrong one: what its consumers, all right, should have passed back."""
    if node == program.size - 1:
        return (f"the root's own gradient is {_n(theirs[node][1])}; backward() must start from "
                f"d(root)/d(root) = 1.")
    parts = []
    for c in program.consumers(node):
        parts.append((c, local_derivative(program, c, node, [n.data for n in ours])))
    sent = " + ".join(f"{_n(local)} × {_n(theirs[c][1])} (from {code[c]})" for c, local in parts)
    right = sum(local * theirs[c][1] for c, local in parts)
    text = (f"every node v{node} feeds has the right gradient, yet v{node}.grad is {_n(theirs[node][1])}; "
            f"local derivative times upstream gradient gives {sent} = {_n(right)}.")
    if len(parts) == 1 and theirs[parts[0][0]][1] != 0.0:
        c, local = parts[0]
        statement = program.statements[c - len(program.inputs)]
        yours = theirs[node][1] / theirs[c][1]
        text += (f" So your engine's local derivative of {code[c]} by v{node} is {_n(yours)}; "
                 f"the right one is {_n(local)}{_formula(statement.operation.name, ours[c])}.")
    return text


def _mistakes(program: Program, ours: list[Value], theirs: list[tuple[float, float]], node: int,
              rerun: Callable[[Program], Outcome] | None) -> tuple[list[mistakes.Mistake], list[Prediction]]:
    """The catalogue's explanations that hold here and at nearby inputs (whole pass, else at ``node``)."""
    if rerun is None:
        return [], []
    walk, local = _explanations(ours, theirs, node)
    if not walk and not local:
        return [], []
    nearby = next(perturbed(program), None)
    if nearby is None:
        return [], []
    outcome = rerun(nearby)
    if not outcome.ok:
        return [], []
    walk_there, local_there = _explanations(nearby.run(Value), outcome.value, node)
    names = {m.name for m in walk_there}
    local_names = {p.mistake.name for p in local_there}
    return [m for m in walk if m.name in names], [p for p in local if p.mistake.name in local_names]


def _explanations(ours: list[Value], theirs: list[tuple[float, float]],
                  node: int) -> tuple[list[mistakes.Mistake], list[Prediction]]:
    root = ours[-1]
    observed = {n: grad for n, (_, grad) in zip(ours, theirs)}
    try:
        walk = mistakes.diagnose(root, observed, RTOL, ATOL)
    except ValueError:
        walk = []
    if walk:
        return walk, []
    return [], [p for p in mistakes.predictions(root, ours[node]) if close(theirs[node][1], p.value)]


def local_derivative(program: Program, statement_node: int, operand: int, data: list[float]) -> float:
    """d(statement)/d(operand) at these node values, from this project's engine (every occurrence added)."""
    statement = program.statements[statement_node - len(program.inputs)]
    mine, operands = [], []
    for a in statement.args:
        if isinstance(a, int):
            leaf = Value(data[a])
            operands.append(leaf)
            if a == operand:
                mine.append(leaf)
        else:
            operands.append(a.value)
    statement.operation.call(*operands).backward()
    return sum(leaf.grad for leaf in mine)


def _formula(name: str, node: Value) -> str:
    """`` (exp's rule: out)`` when the operation is one primitive of the table with one formula."""
    op = node.primitive
    if op is None or op.arity != 1 or op.name != name:
        return ""
    return f" ({name}'s rule: {op.formula(0)})"


def _annotated(code: list[str], ours: list[Value], theirs: list[tuple[float, float]], what: str) -> list[str]:
    """The program's lines, each node's line with both engines' numbers (``what`` is data or grad)."""
    width = max(len(line) for line in code)
    lines = []
    for i, line in enumerate(code):
        if i >= len(ours):
            lines.append(f"    {line}")
            continue
        yours = theirs[i][0 if what == "data" else 1]
        right = ours[i].data if what == "data" else ours[i].grad
        mark = "" if close(yours, right) else "   <- differs"
        lines.append(f"    {line.ljust(width)}   # {what}: yours {_n(yours)}, right {_n(right)}{mark}")
    return lines


def _indented(code: list[str]) -> list[str]:
    return [f"    {line}" for line in code]


def _n(x: float) -> str:
    return f"{x:.10g}"
