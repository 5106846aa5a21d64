"""The checks, each a function of the engine (a :class:`Kit`) that returns a :class:`CheckResult`.

Their names are an API (:data:`CHECK_NAMES`); every check runs the engine
only through the child process, so whatever the engine does becomes a
verdict.  Most checks are programs compared with this project's engine
(:func:`~autodiff.conformance.diagnosis.judge`); the deep chains, backward
twice and the large inputs ask questions a program cannot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..testing.graphs import Const
from .diagnosis import Verdict, close, judge
from .generator import programs
from .operations import LEFT_NUMBERS, OPERATIONS, left_feature, right_feature
from .programs import Program, Statement, admitted
from .report import CheckResult
from .runner import Outcome, Worker
from .search import search
from .shape import Shape

#: The fixed default seed: the same engine gives the same verdict and the same example on every run.
DEFAULT_SEED = 20
#: How many random programs are tried (before shrinking a failure).
MAX_EXAMPLES = 300
#: Seconds a program may take in the learner's engine, and a deep chain.
PROGRAM_TIMEOUT, CHAIN_TIMEOUT = 10.0, 30.0
#: Hangs and crashes among random programs after which no more are run (each one costs a restart).
MAX_ACCIDENTS = 2
#: The depths of the deep-chain checks.
DEPTHS = (1_500, 20_000)


@dataclass
class Kit:
    """What every check needs: the engine in its child process, its shape, the seed; semantics found."""

    worker: Worker
    shape: Shape
    seed: int = DEFAULT_SEED
    max_examples: int = MAX_EXAMPLES
    semantics: list[str] = field(default_factory=list)

    def run(self, program: Program) -> Outcome:
        """Run ``program`` in the engine: every node's data and gradient, or what went wrong."""
        return self.worker.call("run_program", program, self.shape.seed_by_hand, timeout=PROGRAM_TIMEOUT)

    def judge(self, program: Program, outcome: Outcome | None = None, diagnose: bool = True) -> Verdict:
        """Compare the engine's run of ``program`` with this project's (naming mistakes if ``diagnose``)."""
        outcome = self.run(program) if outcome is None else outcome
        return judge(program, outcome, self.shape.class_name, self.shape.seed_by_hand,
                     rerun=self.run if diagnose else None)

    def code(self, program: Program) -> str:
        """The program in the learner's API."""
        return program.code(self.shape.class_name, self.shape.seed_by_hand)


Check = Callable[[Kit], CheckResult]


# -- fixed programs ------------------------------------------------------------------


def _s(name: str, *args: int | float) -> Statement:
    """A statement; an int is a node, a float a number."""
    return Statement(OPERATIONS[name], tuple(Const(a) if isinstance(a, float) else a for a in args))


def _program(inputs: Sequence[float], *statements: Statement) -> Program:
    return Program(tuple(inputs), statements)


#: micrograd's test_sanity_check: x = -4; z = 2 * x + 2 + x; q = z.relu() + z * x;
#: h = (z * z).relu(); y = h + q + q * x (y = -20, x.grad = 46).
MICROGRAD_SANITY = _program(
    [-4.0], _s("*", 2.0, 0), _s("+", 1, 2.0), _s("+", 2, 0), _s("relu", 3), _s("*", 3, 0), _s("+", 4, 5),
    _s("*", 3, 3), _s("relu", 7), _s("+", 8, 6), _s("*", 6, 0), _s("+", 9, 10))

#: micrograd's test_more_ops, one operation a line: a = -4, b = 2, ... g = f / 2.0 + 10.0 / f.
MICROGRAD_MORE_OPS = _program(
    [-4.0, 2.0],
    _s("+", 0, 1),                                                   # v2  c = a + b
    _s("*", 0, 1), _s("** number", 1, 3.0), _s("+", 3, 4),          # v5  d = a * b + b**3
    _s("+", 2, 1.0), _s("+", 2, 6),                                  # v7  c += c + 1
    _s("+", 1.0, 7), _s("unary -", 0), _s("+", 8, 9), _s("+", 7, 10),  # v11 c += 1 + c + (-a)
    _s("*", 5, 2.0), _s("+", 1, 0), _s("relu", 13), _s("+", 12, 14), _s("+", 5, 15),  # v16 d += ...
    _s("*", 3.0, 16), _s("-", 1, 0), _s("relu", 18), _s("+", 17, 19), _s("+", 16, 20),  # v21 d += ...
    _s("-", 11, 21), _s("** number", 22, 2.0), _s("/", 23, 2.0),   # v24 e = c - d; f = e**2; g = f / 2
    _s("/", 10.0, 23), _s("+", 24, 25))                              # v26 g += 10.0 / f

#: The features each of those programs uses.
MICROGRAD_SANITY_NEEDS = ("relu", left_feature("*"), right_feature("+"))
MICROGRAD_MORE_OPS_NEEDS = ("-", "/", "** number", "unary -", "relu", left_feature("+"), left_feature("*"),
                            left_feature("/"), right_feature("+"), right_feature("*"), right_feature("/"))

SHARED_OPERAND = (_program([3.0], _s("+", 0, 0)), _program([3.0], _s("*", 0, 0)))
#: x reaches the root along two paths through the shared node v2 = x * w.
DIAMOND = _program([2.0, -3.0], _s("*", 0, 1), _s("+", 2, 0), _s("*", 2, 3))


def micrograd_sanity(kit: Kit) -> CheckResult:
    """micrograd's own sanity test (x = -4: y = -20, x.grad = 46)."""
    return _programs_check(kit, "micrograd sanity", [MICROGRAD_SANITY], MICROGRAD_SANITY_NEEDS)


def micrograd_more_ops(kit: Kit) -> CheckResult:
    """micrograd's test of every operation it has (g = 24.704..., a.grad = 138.83..., b.grad = 645.57...)."""
    return _programs_check(kit, "micrograd more ops", [MICROGRAD_MORE_OPS], MICROGRAD_MORE_OPS_NEEDS)


def shared_operand(kit: Kit) -> CheckResult:
    """``a + a`` and ``a * a``: one node twice among the operands (a.grad is 2 and 2a)."""
    return _programs_check(kit, "shared operand", list(SHARED_OPERAND), ())


def diamond(kit: Kit) -> CheckResult:
    """A shared intermediate node reached along two paths."""
    return _programs_check(kit, "diamond", [DIAMOND], ())


def constants_on_the_left(kit: Kit) -> CheckResult:
    """``3 + v``, ``2 * v``, ``1 - v``, ``1 / v``: reflected operators, each where the engine has it."""
    name = "constants on the left"
    features = [left_feature(op) for op in LEFT_NUMBERS if op in kit.shape.operations]
    absent = [f for f in features if f in kit.shape.absent]
    present = [f for f in features if f not in absent]
    if not present:
        return CheckResult(name, "skip", "no reflected operator: " + "; ".join(kit.shape.missing(*features)))
    cases = [_program([0.5], _s(op, LEFT_NUMBERS[op], 0))
             for op in LEFT_NUMBERS if left_feature(op) in present]
    result = _programs_check(kit, name, cases, ())
    if absent and result.status == "pass":
        return CheckResult(name, "pass", f"{result.detail}; absent: " + "; ".join(kit.shape.missing(*absent)))
    return result


def _programs_check(kit: Kit, name: str, cases: list[Program], needs: Sequence[str]) -> CheckResult:
    """Run each program; the first disagreement fails the check, an absent feature skips it."""
    absent = [f for f in needs if f in kit.shape.absent]
    if absent:
        return CheckResult(name, "skip", "needs " + "; ".join(kit.shape.missing(*absent)))
    for program in cases:
        verdict = kit.judge(program)
        if not verdict.ok:
            return CheckResult(name, "fail", f"{verdict.summary}\n{verdict.detail}", kit.code(program))
    agree = "the program agrees" if len(cases) == 1 else f"all {len(cases)} programs agree"
    return CheckResult(name, "pass", f"{agree} with this project's engine")


# -- local rules ---------------------------------------------------------------------

#: Where each operation's local rule is tested (its operands); the upstream gradient is -1.5.
UNARY_POINTS = (-1.7, 0.3, 1.2, 2.5)
BINARY_POINTS = ((1.2, -0.6), (-1.7, 2.5), (0.3, 1.2))
POWER_POINTS = {"** number": ((1.2, 2.0), (-1.7, 3.0), (2.5, -1.0), (1.2, 0.5), (0.7, -2.0)),
                "** Value": ((1.2, 2.0), (2.5, -1.0), (0.7, 0.5))}
UPSTREAM = -1.5


def local_rule_program(name: str, operands: Sequence[float]) -> Program:
    """``out = OP(operands)``, then ``root = out * s`` (s = -1.5): the rule meets an upstream gradient."""
    n = len(operands)
    if name == "** number":
        return _program([operands[0], UPSTREAM], _s(name, 0, float(operands[1])), _s("*", 2, 1))
    return _program([*operands, UPSTREAM], _s(name, *range(n)), _s("*", n + 1, n))


def local_rule_points(name: str) -> list[tuple[float, ...]]:
    """The points where ``name`` is tested: admitted by the same rule as random programs."""
    op = OPERATIONS[name]
    points = POWER_POINTS.get(name) or (BINARY_POINTS if op.arity == 2 else [(x,) for x in UNARY_POINTS])
    return [p for p in points if admitted(local_rule_program(name, p), bound=100.0)]


def local_rule(name: str) -> Check:
    """The check ``local rule: NAME``: the operation alone, at a few points, with an upstream gradient."""
    check_name = f"local rule: {name}"

    def check(kit: Kit) -> CheckResult:
        if name in kit.shape.absent:
            return CheckResult(check_name, "skip", f"absent: {kit.shape.absent[name]}")
        if name in kit.shape.broken:
            return CheckResult(check_name, "fail", f"probing it: {kit.shape.broken[name]}")
        cases = [local_rule_program(name, p) for p in local_rule_points(name)]
        return _programs_check(kit, check_name, cases, ())

    check.__name__ = f"local_rule_{name}"
    check.__doc__ = f"The local rule of {name}."
    return check


# -- random programs ---------------------------------------------------------------


class _Disagreement(Exception):
    def __init__(self, program: Program, verdict: Verdict) -> None:
        super().__init__(verdict.summary)
        self.program, self.verdict = program, verdict


def random_programs(kit: Kit) -> CheckResult:
    """Random programs over every operation the engine has, shrunk to the smallest that disagrees."""
    name = "random programs"
    shape = kit.shape
    strategy = programs(list(shape.operations.values()), shape.left, shape.right)
    runs: dict[Program, tuple[Outcome, Verdict]] = {}  # a program is run once: shrinking revisits many
    accidents = 0

    def agrees(program: Program) -> None:
        nonlocal accidents
        if program not in runs:
            if accidents >= MAX_ACCIDENTS:
                return  # the engine hangs or crashes: stop searching, keep the smallest failure so far
            outcome = kit.run(program)
            accidents += outcome.kind in ("timeout", "crashed")
            runs[program] = outcome, kit.judge(program, outcome, diagnose=False)
        if not runs[program][1].ok:
            raise _Disagreement(program, runs[program][1])

    try:
        search(strategy, agrees, kit.seed, kit.max_examples)
    except _Disagreement as failed:
        # Judged again from the same run, now naming the mistake (which reruns the program nearby).
        verdict = kit.judge(failed.program, runs[failed.program][0])
        detail = (f"{verdict.summary} (the smallest disagreeing program found; {len(runs)} run)\n"
                  f"{verdict.detail}")
        return CheckResult(name, "fail", detail, kit.code(failed.program))
    not_drawn = [f"{f} ({why})" for f, why in shape.broken.items()]
    detail = f"{len(runs)} random programs agree with this project's engine (seed {kit.seed})"
    if not_drawn:
        detail += "; not drawn, being broken: " + "; ".join(not_drawn)
    return CheckResult(name, "pass", detail)


# -- deep chains ---------------------------------------------------------------------


def deep_chain(depth: int) -> Check:
    """The check ``deep chain N``: ``v = v + Value(0.001)`` N times, at Python's default recursion limit."""
    check_name = f"deep chain {depth:,}"

    def check(kit: Kit) -> CheckResult:
        outcome = kit.worker.call("deep_chain", depth, kit.shape.seed_by_hand, timeout=CHAIN_TIMEOUT)
        seed = "v.grad = 1.0\n" if kit.shape.seed_by_hand else ""
        code = (f"x = {kit.shape.class_name}(1.0)\nv = x\nfor _ in range({depth}):\n"
                f"    v = v + {kit.shape.class_name}(0.001)\n{seed}v.backward()")
        if outcome.kind == "raised" and outcome.exception == "RecursionError":
            detail = (f"{outcome.describe()}: a chain of {depth:,} nodes is deeper than Python's default "
                      f"recursion limit (1,000 frames), so a walk that recurses once per node (a recursive "
                      f"topological sort, or a backward that calls itself on each parent) fails there. "
                      f"Walk the graph with an explicit stack instead.")
            return CheckResult(check_name, "fail", detail, code)
        if not outcome.ok:
            return CheckResult(check_name, "fail", outcome.describe(), code)
        data, grad = outcome.value
        right = 1.0 + depth * 0.001
        if not close(grad, 1.0) or not math.isclose(data, right, rel_tol=1e-9):
            detail = (f"the root's data is {data!r} (right: about {right:g}) and x.grad is {grad!r} "
                      f"(right: 1.0)")
            return CheckResult(check_name, "fail", detail, code)
        return CheckResult(check_name, "pass", f"x.grad = 1 at the end of a chain of {depth:,} nodes")

    check.__name__ = f"deep_chain_{depth}"
    check.__doc__ = f"A chain of {depth:,} additions."
    return check


# -- backward twice --------------------------------------------------------------------


def backward_twice(kit: Kit) -> CheckResult:
    """``b = a + a; c = b + b``, backward twice: accumulating (8), resetting (4) or raising pass."""
    name = "backward twice"
    code = (f"a = {kit.shape.class_name}(3.0)\nb = a + a\nc = b + b\nc.backward()    # a.grad: 4\n"
            f"c.backward()    # a.grad: 8 if gradients accumulate, 4 if backward resets them")
    outcome = kit.worker.call("backward_twice", kit.shape.seed_by_hand, timeout=PROGRAM_TIMEOUT)
    if not outcome.ok:
        return CheckResult(name, "fail", outcome.describe(), code)
    first, second = outcome.value
    if not close(first, 4.0):
        return CheckResult(name, "fail", f"after the first backward a.grad is {first!r}, not 4", code)
    if isinstance(second, str):
        semantics = f"a second backward raises ({second})"
    elif close(second, 8.0):
        semantics = "a second backward accumulates (a.grad 4, then 8)"
    elif close(second, 4.0):
        semantics = "backward resets the gradients first (a.grad 4, then 4)"
    else:
        compounds = (": the intermediates keep their gradients from the first pass, so the second pass "
                     "sends them down again. Zero every node's grad at the start of backward (a reset), or "
                     "compute each pass's gradients apart and add them to .grad at the end "
                     "(accumulation)") if close(second, 12.0) else ""
        return CheckResult(name, "fail", f"a.grad is 4 after the first backward and {second!r} after the "
                           f"second, neither accumulation (8) nor a reset (4){compounds}", code)
    kit.semantics.append(semantics)
    return CheckResult(name, "pass", f"semantics: {semantics}")


# -- large inputs -------------------------------------------------------------------------

#: (method, x, right data): tanh and sigmoid saturate; their gradient there is 0.
SATURATING = (("tanh", 1000.0, 1.0), ("tanh", -1000.0, -1.0),
              ("sigmoid", 1000.0, 1.0), ("sigmoid", -1000.0, 0.0))


def large_inputs(kit: Kit) -> CheckResult:
    """tanh(±1000) and sigmoid(±1000) give ±1 (1 and 0) with gradient 0; exp(1000) gives inf or raises."""
    name = "large inputs"
    shape = kit.shape
    tested = [m for m in ("tanh", "sigmoid", "exp") if m not in shape.absent]
    if not tested:
        return CheckResult(name, "skip", "the engine has no tanh, sigmoid or exp")
    said, failed = [], []  # every saturating case is tried: a learner fixes them all from one report
    for method, x, right in SATURATING:
        if method not in tested:
            continue
        result = _saturates(kit, method, x, right)
        if result is not None:
            failed.append((f"{method}({x:g})", result))
        else:
            said.append(f"{method}({x:g}) = {right:g}")
    if failed:
        first = failed[0][1]
        others = ", ".join(case for case, _ in failed[1:])
        detail = first.detail + (f". Also failing: {others} (run each to see how)" if others else "")
        return CheckResult(name, "fail", detail, first.example)
    if "exp" in tested:
        code = f"x = {shape.class_name}(1000.0)\ny = x.exp()\ny.backward()"
        outcome = kit.worker.call("large_input", "exp", 1000.0, shape.seed_by_hand, timeout=PROGRAM_TIMEOUT)
        if outcome.kind == "raised":
            semantics = f"exp(1000) raises ({outcome.error})"
        elif not outcome.ok:
            return CheckResult(name, "fail", f"exp(1000): {outcome.describe()}", code)
        elif any(math.isnan(v) for v in outcome.value):
            return CheckResult(name, "fail", f"exp(1000) returned NaN silently: data and x.grad are "
                               f"{outcome.value[0]!r} and {outcome.value[1]!r}", code)
        elif outcome.value[0] != math.inf:
            return CheckResult(name, "fail", f"exp(1000) gives {outcome.value[0]!r}: it does not fit in a "
                               f"float, so inf or an error are the honest answers", code)
        else:
            semantics = "exp(1000) returns inf"
        kit.semantics.append(semantics)
        said.append(f"semantics: {semantics}")
    return CheckResult(name, "pass", "; ".join(said))


def _saturates(kit: Kit, method: str, x: float, right: float) -> CheckResult | None:
    """None if ``method(x)`` gives ``right`` with gradient 0 in the engine, else the failing result."""
    name, shape = "large inputs", kit.shape
    code = f"x = {shape.class_name}({x!r})\ny = x.{method}()\ny.backward()"
    outcome = kit.worker.call("large_input", method, x, shape.seed_by_hand, timeout=PROGRAM_TIMEOUT)
    if not outcome.ok:
        detail = (f"{method}({x:g}): {outcome.describe()}; {method} must saturate to {right:g} there, "
                  f"e.g. computed from exp(-|x|), which cannot overflow")
        return CheckResult(name, "fail", detail, code)
    data, grad = outcome.value
    if math.isnan(data) or math.isnan(grad):
        return CheckResult(name, "fail", f"{method}({x:g}) returned NaN silently: data {data!r}, "
                           f"x.grad {grad!r} (right: {right:g} and 0)", code)
    if not close(data, right) or not close(grad, 0.0):
        return CheckResult(name, "fail", f"{method}({x:g}) gives data {data!r} and x.grad {grad!r}; "
                           f"right: {right:g} and 0", code)
    return None


#: Every check, in the order of the report.
CHECKS: tuple[tuple[str, Check], ...] = (
    ("micrograd sanity", micrograd_sanity),
    ("micrograd more ops", micrograd_more_ops),
    ("shared operand", shared_operand),
    ("diamond", diamond),
    ("constants on the left", constants_on_the_left),
    *((f"local rule: {op}", local_rule(op)) for op in OPERATIONS),
    ("random programs", random_programs),
    *((f"deep chain {d:,}", deep_chain(d)) for d in DEPTHS),
    ("backward twice", backward_twice),
    ("large inputs", large_inputs),
)

#: The check names, an API: teachers' scripts parse them.
CHECK_NAMES: tuple[str, ...] = tuple(name for name, _ in CHECKS)
