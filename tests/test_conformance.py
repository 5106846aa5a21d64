"""The conformance kit on real and planted engines: this project's Value, a correct minimal engine,
planted bugs (each a few lines changed from the correct one), Karpathy's micrograd 0.1.0, and engines
that hang, crash, recurse or eat memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from autodiff.conformance import CHECK_NAMES, TargetError, conformance_tests, run
from autodiff.conformance import shape as shape_module
from autodiff.conformance.operations import OPERATIONS

ENGINES = Path(__file__).parent / "engines"
CORRECT = (ENGINES / "correct.py").read_text()

#: Each planted bug: the lines of the correct engine it changes.
PLANTED = {
    "assigned": [("            self.grad += out.grad\n            other.grad += out.grad",
                  "            self.grad = out.grad\n            other.grad = out.grad")],
    "recursive": [("""        topo, visited, stack = [], set(), [(self, False)]
        while stack:
            v, expanded = stack.pop()
            if expanded:
                topo.append(v)
            elif id(v) not in visited:
                visited.add(id(v))
                stack.append((v, True))
                stack.extend((child, False) for child in v._prev)""", """        topo, visited = [], set()

        def build(v):
            if id(v) not in visited:
                visited.add(id(v))
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)""")],
    "visited twice": [("            elif id(v) not in visited:\n", "            else:\n")],
    "exp rule": [("lambda out: out.data)", "lambda out: self.data)")],
    "tanh rule": [("lambda out: 1.0 - out.data ** 2)", "lambda out: 1.0 - self.data ** 2)")],
    "pow rule": [("other * self.data ** (other - 1) * out.grad", "self.data ** (other - 1) * out.grad")],
    "mul rule swapped": [("self.grad += other.data * out.grad\n            other.grad += self.data",
                          "self.grad += self.data * out.grad\n            other.grad += other.data")],
    "radd recursion": [("    def __radd__(self, other):\n        return self + other",
                        "    def __radd__(self, other):\n        return other + self")],
    "tanh overflow": [("return self._unary(math.tanh(self.data),",
                       "e = math.exp(2 * self.data)\n        return self._unary((e - 1) / (e + 1),")],
    "tanh and sigmoid overflow": [
        ("return self._unary(math.tanh(self.data),",
         "e = math.exp(2 * self.data)\n        return self._unary((e - 1) / (e + 1),"),
        ("s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))",
         "s = 1.0 / (1.0 + math.exp(-x))")],
    # Accidents: each operation misbehaves in its own way (a hang, a crash, a memory blow-up...).
    "accidents": [
        ("    def exp(self):\n", "    def exp(self):\n        while True:\n            pass\n"),
        ("    def log(self):\n", "    def log(self):\n        import os\n        os._exit(3)\n"),
        ("    def sqrt(self):\n", "    def sqrt(self):\n        self.hoard = bytearray(8 << 30)\n"),
        ("    def sin(self):\n", "    def sin(self):\n        return self.sin()\n"),
        ("    def cos(self):\n", "    def cos(self):\n        print('cos!' * 1000)\n"),
    ],
    "grad None": [("        self.grad = 0.0\n        self._backward",
                   "        self.grad = None\n        self._backward")],
    "exp hangs above 1": [("    def exp(self):\n",
                           "    def exp(self):\n        while self.data > 1.0:\n            pass\n")],
    "seed by hand": [("        for v in topo:\n            v.grad = 0.0\n        self.grad = 1.0\n", "")],
}


def planted_engine(directory: Path, name: str) -> str:
    """Write the correct engine with one bug planted; its TARGET."""
    source = CORRECT
    for old, new in PLANTED[name]:
        assert old in source, f"{name}: the correct engine no longer has {old!r}"
        source = source.replace(old, new)
    path = directory / f"{name.replace(' ', '_')}.py"
    path.write_text(source)
    return f"{path}:Value"


@cache
def report_for(target: str, only: tuple[str, ...] | None = None):
    return run(target, only=only)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("planted")

    def report(name: str, *checks: str):
        return report_for(planted_engine(directory, name), checks or None)

    return report


def program(*lines: str) -> str:
    return "\n".join(lines)


# -- the API --------------------------------------------------------------------------


def test_check_names_are_the_api() -> None:
    assert CHECK_NAMES == (
        "micrograd sanity", "micrograd more ops", "shared operand", "diamond", "constants on the left",
        "local rule: +", "local rule: *", "local rule: -", "local rule: /", "local rule: ** number",
        "local rule: ** Value", "local rule: unary -", "local rule: exp", "local rule: log",
        "local rule: tanh", "local rule: sigmoid", "local rule: relu", "local rule: sin", "local rule: cos",
        "local rule: sqrt",
        "local rule: abs", "random programs", "deep chain 1,500", "deep chain 20,000", "backward twice",
        "large inputs")
    assert [name for name in CHECK_NAMES if "random" in name] == ["random programs"]
    local = [n for n in CHECK_NAMES if n.startswith("local rule")]
    assert [f"local rule: {op}" for op in OPERATIONS] == local


# -- engines that pass ------------------------------------------------------------------


def test_this_projects_value_passes_everything() -> None:
    report = report_for("autodiff:Value")
    assert [(c.name, c.status) for c in report.checks if c.status != "pass"] == []
    assert report.exit_code == 0
    assert report.semantics[0] == "a second backward accumulates (a.grad 4, then 8)"
    assert report.semantics[1].startswith("exp(1000) raises (NonFiniteError: exp overflowed")


def test_a_correct_minimal_engine_passes_everything() -> None:
    report = report_for(f"{ENGINES / 'correct.py'}:Value")
    assert [(c.name, c.status) for c in report.checks if c.status != "pass"] == []
    assert "backward resets the gradients first (a.grad 4, then 4)" in report.semantics


def test_an_engine_that_needs_the_root_seeded_by_hand_is_a_semantics(planted) -> None:
    report = planted("seed by hand", "micrograd sanity", "random programs")
    assert [c.status for c in report.checks] == ["pass", "pass"]
    assert report.semantics == ["backward() needs root.grad = 1 set first"]
    assert "semantics: backward() needs root.grad = 1 set first; the kit sets it" in report.shape


def test_a_gradient_of_none_where_nothing_flowed_compares_as_zero(planted) -> None:
    # This engine leaves grad None on leaves outside the root's graph (random programs have such inputs).
    assert planted("grad None", "random programs")["random programs"].status == "pass"


# -- micrograd 0.1.0 ----------------------------------------------------------------------


def test_micrograd_fails_at_depth_and_on_a_second_backward_and_passes_random_programs() -> None:
    pytest.importorskip("micrograd", reason="micrograd comes with the test extras: pip install -e '.[test]'")
    report = report_for("micrograd.engine:Value")
    status = {c.name: c.status for c in report.checks}
    assert [name for name, s in status.items() if s == "fail"] == [
        "deep chain 1,500", "deep chain 20,000", "backward twice"]
    assert "RecursionError" in report["deep chain 1,500"].detail
    assert "deeper than Python's default recursion limit" in report["deep chain 1,500"].detail
    assert "a.grad is 4 after the first backward and 12.0 after the second" in report["backward twice"].detail
    assert status["random programs"] == "pass"
    assert {name for name, s in status.items() if s == "skip"} == {
        "local rule: ** Value", "local rule: exp", "local rule: log", "local rule: tanh",
        "local rule: sigmoid", "local rule: sin", "local rule: cos", "local rule: sqrt", "local rule: abs",
        "large inputs"}
    assert "only supporting int/float powers" in report["local rule: ** Value"].detail


# -- planted bugs, each caught by its check and shrunk -------------------------------------------


def test_assignment_instead_of_accumulation(planted) -> None:
    report = planted("assigned", "shared operand", "random programs")
    assert report["shared operand"].status == "fail"
    assert report["shared operand"].example == program("v0 = Value(3.0)", "v1 = v0 + v0", "v1.backward()")
    random = report["random programs"]
    assert random.status == "fail"
    assert random.example == program("v0 = Value(0.0)", "v1 = v0 + v0", "v1.backward()")
    assert "matches a lost accumulation: gradient assigned instead of accumulated" in random.detail
    assert "v0 = Value(0.0)   # grad: yours 1, right 2   <- differs" in random.detail


def test_a_recursive_topological_sort(planted) -> None:
    report = planted("recursive", "deep chain 1,500", "random programs")
    assert report["deep chain 1,500"].status == "fail"
    assert "RecursionError" in report["deep chain 1,500"].detail
    assert "a chain of 1,500 nodes" in report["deep chain 1,500"].detail
    assert report["random programs"].status == "pass"


def test_a_walk_that_visits_shared_nodes_twice(planted) -> None:
    report = planted("visited twice", "diamond", "random programs")
    assert report["diamond"].status == "fail"
    random = report["random programs"]
    assert random.example == program("v0 = Value(0.0)", "v1 = -v0", "v2 = v1 + v1", "v2.backward()")
    assert "matches a wrong walk: shared nodes visited once per path" in random.detail


def test_a_wrong_exp_rule(planted) -> None:
    report = planted("exp rule", "local rule: exp", "random programs")
    rule = report["local rule: exp"]
    assert rule.example == program("v0 = Value(-1.7)", "v1 = Value(-1.5)", "v2 = v0.exp()", "v3 = v2 * v1",
                                   "v3.backward()")
    assert "The first node whose local rule disagrees" in rule.detail
    assert "(exp's rule: out)" in rule.detail
    assert "derivative taken at the input instead of from the output" in rule.detail
    # The correct engine computes a ** b as exp(b * log(a)): the smallest program goes through exp.
    assert report["random programs"].example == program("v0 = Value(1.0)", "v1 = v0 ** v0", "v1.backward()")


def test_a_wrong_tanh_rule(planted) -> None:
    report = planted("tanh rule", "local rule: tanh", "random programs")
    assert report["local rule: tanh"].status == "fail"
    random = report["random programs"]
    assert random.example == program("v0 = Value(1.0)", "v1 = v0.tanh()", "v1.backward()")
    assert "(tanh's rule: 1 - out**2)" in random.detail
    assert "This matches a wrong local rule: derivative taken at the input" in random.detail


def test_a_wrong_pow_rule(planted) -> None:
    report = planted("pow rule", "local rule: ** number", "random programs")
    rule = report["local rule: ** number"]
    assert rule.example == program("v0 = Value(1.2)", "v1 = Value(-1.5)", "v2 = v0 ** 2.0", "v3 = v2 * v1",
                                   "v3.backward()")
    assert "power rule without the exponent's factor" in rule.detail
    assert report["random programs"].example == program("v0 = Value(1.0)", "v1 = v0 / v0", "v1.backward()")


def test_a_wrong_mul_rule_is_tested_not_refused(planted) -> None:
    # Everything goes through *, so every check fails; each still names the first wrong rule.
    report = planted("mul rule swapped", "local rule: *", "random programs")
    rule = report["local rule: *"]
    assert rule.status == "fail"
    assert ("So your engine's local derivative of v4 = v3 * v2 by v3 is -0.72; the right one is -1.5"
            in rule.detail)
    assert report["random programs"].example == program("v0 = Value(0.0)", "v1 = -v0", "v1.backward()")


def test_radd_that_recurses(planted) -> None:
    report = planted("radd recursion", "constants on the left", "random programs")
    left = report["constants on the left"]
    assert left.status == "fail"
    assert left.example == program("v0 = Value(0.5)", "v1 = 3.0 + v0", "v1.backward()")
    assert "v1 = 3.0 + v0 raised RecursionError" in left.detail
    # Random programs leave the broken operator out and say so.
    assert report["random programs"].status == "pass"
    assert "not drawn, being broken: 3 + v" in report["random programs"].detail


def test_an_exp_based_tanh_that_overflows(planted) -> None:
    report = planted("tanh overflow", "large inputs", "local rule: tanh")
    assert report["local rule: tanh"].status == "pass"
    large = report["large inputs"]
    assert large.status == "fail"
    assert "tanh(1000): y = Value(1000.0).tanh() raised OverflowError" in large.detail
    assert large.example == program("x = Value(1000.0)", "y = x.tanh()", "y.backward()")


def test_large_inputs_names_every_case_that_fails_not_only_the_first(planted) -> None:
    # Before: only "tanh(1000)"; the learner met sigmoid(-1000) on the next run.
    large = planted("tanh and sigmoid overflow", "large inputs")["large inputs"]
    assert large.status == "fail" and large.detail.startswith("tanh(1000): ")
    assert "Also failing: sigmoid(-1000) (run each to see how)" in large.detail
    assert large.example == program("x = Value(1000.0)", "y = x.tanh()", "y.backward()")


# -- isolation -------------------------------------------------------------------------------


def test_hangs_crashes_recursion_and_memory_blow_ups_become_failing_checks(planted, monkeypatch) -> None:
    monkeypatch.setattr(shape_module, "PROBE_TIMEOUT", 1.0)
    report = planted("accidents", "local rule: exp", "local rule: log", "local rule: sqrt", "local rule: sin",
                     "local rule: cos", "local rule: +")
    detail = {c.name: (c.status, c.detail) for c in report.checks}
    assert detail["local rule: exp"] == ("fail", "probing it: no answer within 1 s "
                                                 "(a hang or an endless loop?)")
    assert detail["local rule: log"] == ("fail", "probing it: the Python interpreter running the engine "
                                                 "exited with code 3")
    assert detail["local rule: sqrt"][0] == "fail" and "MemoryError" in detail["local rule: sqrt"][1]
    assert detail["local rule: sin"][0] == "fail" and "RecursionError" in detail["local rule: sin"][1]
    # An engine that prints cannot garble the answers: cos prints, then computes the right thing.
    assert detail["local rule: cos"][0] == "pass"
    assert detail["local rule: +"][0] == "pass"


def test_random_programs_that_hang_stop_the_search_after_two(planted, monkeypatch) -> None:
    from autodiff.conformance import checks

    monkeypatch.setattr(checks, "PROGRAM_TIMEOUT", 1.0)
    random = planted("exp hangs above 1", "random programs")["random programs"]
    assert random.status == "fail"
    assert "no answer within 1 s" in random.detail
    # It stops at the second hang, unshrunk; a ** b is exp(b * log(a)) in this engine.
    assert ".exp()" in random.example or " ** v" in random.example


def test_an_engine_that_cannot_be_imported_or_built_is_a_target_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="No module named 'no_such_engine'"):
        run("no_such_engine:Value")
    broken = tmp_path / "needs_two.py"
    broken.write_text("class Value:\n    def __init__(self, data, grad):\n        self.data = data\n")
    with pytest.raises(TargetError, match=r"Value\(2.0\) does not make a Value"):
        run(f"{broken}:Value")


FORGED_ANSWER = """
import os, pickle, struct

class Payload:  # unpickling this would run code in the kit's process
    def __reduce__(self):
        return (open, ({marker!r}, "w"))

frame = pickle.dumps(Payload())
for fd in range(3, 64):  # the kit's private answer pipe: the only descriptor here that takes a write
    try:
        os.write(fd, struct.pack("!I", len(frame)) + frame)
        break
    except OSError:
        pass

class Value:
    def __init__(self, data):
        self.data = data
"""


def test_an_engine_cannot_make_the_kit_run_code_by_what_it_sends_back(tmp_path: Path) -> None:
    marker = tmp_path / "ran-in-the-kit"
    engine = tmp_path / "forger.py"
    engine.write_text(FORGED_ANSWER.format(marker=str(marker)))
    with pytest.raises(TargetError, match="an answer the kit cannot read"):
        run(f"{engine}:Value")
    assert not marker.exists()


def test_an_engine_without_multiplication_fails_every_check(tmp_path: Path) -> None:
    path = tmp_path / "adder.py"
    path.write_text(CORRECT.replace("    def __mul__(self, other):", "    def _mul(self, other):"))
    report = run(f"{path}:Value", only=("diamond", "random programs"))
    assert [c.status for c in report.checks] == ["fail", "fail"]
    assert report["diamond"].detail.startswith("cannot test: * between two Values: TypeError: unsupported")


# -- the command, JSON, determinism ------------------------------------------------------------


def test_the_command_writes_json_exits_1_and_leaves_no_hypothesis_folder(tmp_path: Path, planted) -> None:
    target = planted_engine(tmp_path, "assigned")
    out = tmp_path / "verdict.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run([sys.executable, "-m", "autodiff.conformance", target, "--json", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "FAIL  shared operand" in done.stdout
    verdict = json.loads(out.read_text())
    assert verdict["engine"] == target
    assert [c["name"] for c in verdict["checks"]] == list(CHECK_NAMES)
    assert set(verdict["checks"][0]) == {"name", "status", "detail", "example"}
    random = next(c for c in verdict["checks"] if c["name"] == "random programs")
    # The same verdict and example as a run from pytest, in another folder, with other modules loaded.
    assert random["example"] == planted("assigned", "random programs")["random programs"].example
    assert not (tmp_path / ".hypothesis").exists()
    missing = subprocess.run([sys.executable, "-m", "autodiff.conformance", "no_such_engine:Value"],
                             cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert missing.returncode == 2
    assert "cannot test no_such_engine:Value: ModuleNotFoundError" in missing.stderr


def test_the_pytest_factory_runs_one_case_per_check(tmp_path: Path) -> None:
    test = conformance_tests(f"{ENGINES / 'correct.py'}:Value")
    marks = [m for m in test.pytestmark if m.name == "parametrize"]
    assert marks[0].args == ("check", CHECK_NAMES)
    test("diamond")  # passes: nothing raised


def test_the_pytest_factory_fails_and_skips_with_the_reason(tmp_path: Path) -> None:
    pytest.importorskip("micrograd")
    test = conformance_tests("micrograd.engine:Value")
    with pytest.raises(pytest.fail.Exception, match="deep chain 1,500: fail"):
        test("deep chain 1,500")
    with pytest.raises(pytest.skip.Exception, match="absent: AttributeError"):
        test("local rule: exp")


def test_a_fault_of_the_kit_is_an_error_never_a_pass(monkeypatch) -> None:
    from autodiff.conformance import running

    def broken_check(kit):
        raise KeyError("a bug of the kit")

    monkeypatch.setattr(running, "CHECKS", (("diamond", broken_check),))
    report = run(f"{ENGINES / 'correct.py'}:Value", only=("diamond",))
    assert [(c.name, c.status) for c in report.checks] == [("diamond", "error")]
    assert report["diamond"].detail == "the kit itself failed: KeyError: 'a bug of the kit'"
    assert report.exit_code == 1
