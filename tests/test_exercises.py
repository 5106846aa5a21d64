"""Exercises that ask before they reveal: questions, answers, verdicts, random graphs, a real REPL session."""

from __future__ import annotations

import math
import os
import pty
import queue
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import labelled_neuron

import autodiff
from autodiff import GraphError, Value, exercise, steps, topological_order
from autodiff.exercises import Exercise, accepted, parse
from autodiff.primitives import NEG, POW

ROOT = Path(__file__).resolve().parents[1]


def gradients(root):
    """Every node's gradient from a real backward pass (on the nodes' .grad, zeroed first)."""
    order = topological_order(root)
    for node in order:
        node.grad = 0.0
    root.backward()
    found = {node: node.grad for node in order}
    for node in order:
        node.grad = 0.0
    return found


# -- what counts as right ---------------------------------------------------------------


def test_an_answer_is_right_within_one_percent_or_to_three_significant_digits():
    assert accepted(0.99, 1.0) and accepted(1.01, 1.0) and not accepted(0.989, 1.0)
    assert accepted(-0.111, -1 / 9) and accepted(-0.1111, -1 / 9) and not accepted(0.111, -1 / 9)
    assert accepted(0.0, 0.0) and accepted(-0.0, 0.0) and not accepted(0.001, 0.0)
    assert accepted(2.0e-5, 2.004e-5) and not accepted(2.1e-5, 2.0e-5)
    assert not accepted(math.nan, 1.0) and not accepted(math.inf, math.inf)


def test_answers_are_typed_as_numbers_or_fractions():
    assert parse("-0.75") == -0.75 and parse(" 1e-3 ") == 1e-3 and parse(".5") == 0.5 and parse("2.") == 2.0
    assert parse("\u22121.5") == -1.5  # a typographic minus, as copied from a page
    assert parse("-1/3") == pytest.approx(-1 / 3) and parse("3 / 4") == 0.75
    for text in ("", "abc", "1/0", "nan", "inf", "0x10", "1,5", "2*3", "--1"):
        assert parse(text) is None, text


# -- questions of a graph ------------------------------------------------------------------


def test_the_neuron_asks_every_value_after_the_root_in_the_sweeps_order_with_backwards_answers():
    o, *_ = labelled_neuron()
    practice = exercise(o)
    right = gradients(o)
    assert [q.name for q in practice.questions] == ["n", "x * w", "b", "w", "x"]
    assert [q.node for q in practice.questions] == [node for node in steps(o).order if node is not o]
    for q in practice.questions:
        assert q.answer == right[q.node]  # the sweep backward runs, to the last bit
        assert math.fsum(t.value for t in q.terms) == pytest.approx(q.answer, rel=1e-12)
    assert all(node.grad == 0.0 for node in topological_order(o))  # making it changed no .grad
    assert repr(practice.questions[3]) == "Question 4 of 5: d(o)/d(w), where w = -3"


def test_a_fan_out_value_adds_one_term_per_use():
    a = Value(1.5, label="a")
    b = a * a
    b.label = "b"
    c = b + a
    c.label = "c"
    q = exercise(c).question("a")
    assert q.answer == pytest.approx(2 * 1.5 + 1)
    assert [t.consumer for t in q.terms] == ["c = b + a", "b = a * a (operand 1)", "b = a * a (operand 2)"]
    assert q.reveal().endswith("added up: 1 + 1.5 + 1.5 = 4")


def test_a_subtraction_and_a_quotient_are_asked_as_written_not_as_recorded():
    x, y = Value(2.0, label="x"), Value(4.0, label="y")
    d = x / y - y
    d.label = "d"
    practice = exercise(d)
    recorded = topological_order(d)
    assert any(node.primitive is NEG for node in recorded) and any(node.primitive is POW for node in recorded)
    assert [q.name for q in practice.questions] == ["x / y", "y", "x"]  # no -y, no y ** (-1)
    q = practice.question("y")
    assert q.answer == pytest.approx(-2.0 / 16 - 1)
    assert [t.local for t in q.terms] == ["∂d/∂y = -1", "∂(x / y)/∂y = -x / y ** 2 = -0.125"]
    assert practice.question("x").terms[0].local == "∂(x / y)/∂x = 1 / y = 0.25"
    notes = practice.introduction()
    assert "x - y is recorded as x + (-y)" in notes and "x / y is recorded as x * y**-1" in notes
    with pytest.raises(GraphError, match="d has no question of its own \\(the root"):
        practice.question("d")


def test_checking_an_answer_by_number_label_or_node():
    o, x, *_ = labelled_neuron()
    practice = exercise(o)
    assert practice.check(5, -1.5).right and practice.check("x", "-1.49").right
    assert practice.check(x, -1.5).right
    verdict = practice.check("x", 1.5)
    assert not verdict.right and str(verdict).startswith("not right: 1.5 ")
    with pytest.raises(ValueError, match="'minus one' is not a number"):
        practice.check("x", "minus one")
    with pytest.raises(IndexError, match="questions 1 to 5"):
        practice.check(6, 0.0)
    with pytest.raises(GraphError, match="an exercise needs a Value as the root, not float"):
        exercise(1.0)
    big = autodiff.sum([Value(float(i)) * 2 for i in range(150)])
    with pytest.raises(GraphError, match="an exercise on 451 values .* at most 300 values"):
        exercise(big)


def test_the_answer_key_is_markdown_with_every_answer_and_how_it_adds_up():
    o, *_ = labelled_neuron()
    key = exercise(o).answer_key()
    assert key.startswith("# Answer key: the backward pass of o\n")
    assert "| 1 | d(o)/d(n) | **0.5** | through o = tanh(n): local ∂o/∂n = 1 - o ** 2 = 0.5" in key
    assert "| 5 | d(o)/d(x) | **-1.5** |" in key
    assert "- `n = x * w + b = 0.881374`" in key


def test_steps_with_ask_is_the_exercise():
    o, *_ = labelled_neuron()
    asked = steps(o, ask=True)
    assert isinstance(asked, Exercise) and [q.name for q in asked.questions] == ["n", "x * w", "b", "w", "x"]
    assert isinstance(steps(o), autodiff.Stepper)


# -- the same graph at new numbers, and random graphs ------------------------------------------


def test_a_seed_gives_the_same_graph_at_new_admitted_numbers_leaving_the_graph_as_it_was():
    o, x, *_ = labelled_neuron()
    first, again, other = exercise(o, seed=1), exercise(o, seed=1), exercise(o, seed=2)
    assert [q.name for q in first.questions] == [q.name for q in exercise(o).questions]
    assert [q.answer for q in first.questions] == [q.answer for q in again.questions]
    assert [q.node.data for q in first.questions] != [q.node.data for q in other.questions]
    assert first.root is not o and x.data == 2.0 and first.question("x").node.data != 2.0
    right = gradients(first.root)
    assert all(q.answer == right[q.node] for q in first.questions)
    assert first.seed == 1 and "Seed 1." in first.answer_key()


def test_random_exercises_are_reproducible_connected_readable_and_admitted():
    for seed in range(40):
        practice = exercise.random(size=5, seed=seed)
        again = exercise.random(size=5, seed=seed)
        assert [q.answer for q in practice.questions] == [q.answer for q in again.questions]
        order = topological_order(practice.root)
        leaves = [node for node in order if node.is_leaf and not node.is_constant]
        right = gradients(practice.root)
        assert practice.root.label == "L" and all(node.label for node in leaves)
        assert {q.node for q in practice.questions} >= set(leaves)  # the output depends on every input
        assert all(abs(node.data) <= 10 for node in order)
        assert all(abs(q.answer) >= 0.01 and q.answer == right[q.node] for q in practice.questions)
        uses = [sum(p is node for user in order for p in user.parents) for node in order]
        assert max(uses) >= 2, practice.graph  # some value feeds two others (or one twice)
        visible = [node for node in order if node not in practice.hidden and not node.is_constant]
        assert len([node for node in visible if node.parents]) == 5
    assert exercise.random(seed=3).graph != exercise.random(seed=4).graph


def test_random_exercises_draw_only_the_operations_asked_for():
    for seed in range(10):
        practice = exercise.random(size=3, ops=["mul", "tanh"], seed=seed)
        drawn = {node.primitive.name for node in topological_order(practice.root) if node.parents}
        assert drawn <= {"mul", "tanh"}
    one_input = exercise.random(size=3, ops=["exp"], seed=0)  # a chain: no fan-out possible, none required
    assert [q.name for q in one_input.questions] == ["c", "b", "a"]
    with pytest.raises(ValueError, match="unknown operations \\['divide'\\]"):
        exercise.random(ops=["divide"])
    with pytest.raises(ValueError, match="size is the number of operations, 1 to 12, not 0"):
        exercise.random(size=0)


# -- asking at a prompt ---------------------------------------------------------------------


def scripted(answers):
    """input() that types these answers, and print() that keeps the transcript."""
    typed, shown = iter(answers), []

    def ask(prompt):
        answer = next(typed)
        shown.append(prompt + answer)
        return answer

    return ask, shown


def test_run_asks_every_question_until_right_or_revealed_and_scores_the_first_tries():
    o, *_ = labelled_neuron()
    ask, shown = scripted(["0.5", "0.25", "0.5", "?", "not a number", "2", "q"])
    score = exercise(o).run(input=ask, print=lambda *parts: shown.append(" ".join(map(str, parts))))
    assert score.outcomes == ["first try", "later try", "revealed", "not asked", "not asked"]
    assert repr(score) == "1 of 5 right at the first try, 1 after another try, 1 revealed, 2 not asked"
    text = "\n".join(shown)
    assert "Question 2 of 5: d(o)/d(x * w), where x * w = -6" in text
    assert "'not a number' is not a number" in text
    assert "d(o)/d(b) = 0.5\n  through n = x * w + b: local ∂n/∂b = 1" in text  # the reveal
    assert text.rstrip().endswith("Score: 1 of 5 right at the first try, 1 after another try, 1 revealed, "
                                  "2 not asked.")


def test_run_ends_at_the_end_of_input():
    o, *_ = labelled_neuron()

    def ask(prompt):
        raise EOFError

    assert exercise(o).run(input=ask, print=lambda *a: None).outcomes == ["not asked"] * 5


class Terminal:
    """A real interactive Python in a pseudo-terminal: what a learner types, what they see."""

    def __init__(self) -> None:
        self.main, child = pty.openpty()
        env = {**os.environ, "TERM": "dumb", "PYTHONSTARTUP": ""}
        self.process = subprocess.Popen([sys.executable, "-q", "-i"], stdin=child, stdout=child, stderr=child,
                                        cwd=ROOT, env=env, close_fds=True)
        os.close(child)
        self.seen = ""

    def until(self, text: str, timeout: float = 30.0) -> str:
        """Read until ``text`` appears; return everything read since the last call."""
        start, deadline = len(self.seen), time.monotonic() + timeout
        while text not in self.seen[start:]:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.main], [], [], remaining)[0]:
                raise AssertionError(f"waited {timeout} s for {text!r}; the terminal shows:\n"
                                     f"{self.seen[start:]}")
            self.seen += os.read(self.main, 65536).decode("utf-8", "replace").replace("\r\n", "\n")
        return self.seen[start:]

    def type(self, line: str) -> None:
        os.write(self.main, (line + "\n").encode())

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        os.close(self.main)


def test_an_exercise_in_a_real_interactive_python_session():
    terminal = Terminal()
    try:
        terminal.until(">>> ")
        terminal.type("import autodiff")
        terminal.until(">>> ")
        terminal.type("practice = autodiff.exercise.random(size=3, ops=['mul', 'add'], seed=5)")
        terminal.until(">>> ")
        terminal.type("practice")
        assert "<Exercise: " in terminal.until(">>> ")
        expected = exercise.random(size=3, ops=["mul", "add"], seed=5)
        first, second = expected.questions[:2]
        terminal.type("score = practice.run()")
        shown = terminal.until(f"{first.gradient} = ")
        assert "The forward pass computed:" in shown and repr(first) in shown
        terminal.type(repr(first.answer))
        shown = terminal.until(f"{second.gradient} = ")
        assert f"right: {first.gradient}" in shown
        wrong = second.answer + 10.0
        terminal.type(str(wrong))
        shown = terminal.until(f"{second.gradient} = ")
        assert "not right: " in shown and "Try again" in shown
        terminal.type("?")
        terminal.until(f"{expected.questions[2].gradient} = ")
        terminal.type("q")
        shown = terminal.until(">>> ")
        assert "Score: 1 of " in shown and "1 revealed" in shown
        terminal.type("score.outcomes[:2]")
        assert "['first try', 'revealed']" in terminal.until(">>> ")
    finally:
        terminal.close()


# -- wrong answers named by the catalogue of mistakes ----------------------------------------------


def fan_out():
    a = Value(1.5, label="a")
    b = a * a
    b.label = "b"
    c = b + a
    c.label = "c"
    return c  # d(c)/d(a) = 2a + 1 = 4: terms 1 (through c, visited first), 1.5 and 1.5 (through b)


def neuron(activation):
    x, w = Value(0.5, label="x"), Value(-1.2, label="w")
    n = x * w
    n.label = "n"
    out = getattr(n, activation)() * 3
    out.label = "out"
    return out  # d(out)/d(n) = 3 * activation'(n)


def quotient():
    x, y = Value(3.0, label="x"), Value(2.0, label="y")
    q = x / y
    q.label = "q"
    out = q * 5
    out.label = "out"
    return out  # d(out)/d(y) = 5 * -x / y**2 = -3.75


def difference():
    x, y = Value(3.0, label="x"), Value(2.0, label="y")
    out = (x - y) * 4
    out.label = "out"
    return out  # d(out)/d(y) = -4


def cube():
    x = Value(-1.5, label="x")
    c = x**3
    c.label = "c"
    out = c * 2
    out.label = "out"
    return out  # d(out)/d(x) = 2 * 3x**2 = 13.5


PLANTED = [  # graph, question, a wrong answer made by hand, the mistake, words its detail must hold
    (fan_out, "a", 3.0, "dropped-path", "the term through c = b + a left out"),
    (fan_out, "a", 2.5, "dropped-path", "the term through b = a * a left out"),
    (fan_out, "a", 1.5, "assigned", ""),
    (lambda: neuron("tanh"), "n", 3 * (1 - 0.6**2), "at-input", ""),  # 1 - n**2 instead of 1 - tanh(n)**2
    (lambda: neuron("sigmoid"), "n", 3 * -0.6 * 1.6, "at-input", ""),  # n(1 - n) instead of σ(n)(1 - σ(n))
    (lambda: neuron("exp"), "n", 3 * -0.6, "at-input", ""),  # exp' taken as the input itself
    (lambda: neuron("tanh"), "w", 0.5 * 3 * (1 - math.tanh(-0.6) ** 2) * 2, "upstream-doubled", ""),
    (cube, "x", 3 * (-1.5) ** 2, "upstream-missing", ""),  # 3x**2 without the 2 from above
    (difference, "y", 4.0, "sign", "at x - y"),
    (quotient, "y", 3.75, "power-rule-factor", "at q = x / y"),  # +x / y**2: the quotient rule's minus lost
    (quotient, "y", -7.5, "power-rule-exponent", "at q = x / y"),  # -x / y: the divisor not squared
    (quotient, "y", -0.75, "upstream-missing", "made at q = x / y"),  # -x / y**2 without the 5 from above
    (cube, "x", 2 * (-1.5) ** 2, "power-rule-factor", "at c = x ** 3"),  # x**2: the 3 forgotten
    (cube, "x", 2 * 3 * (-1.5) ** 3, "power-rule-exponent", "at c = x ** 3"),  # 3x**3
]


@pytest.mark.parametrize("graph, which, typed, mistake, detail", PLANTED)
def test_a_wrong_answer_made_by_a_mistake_is_named_by_it(graph, which, typed, mistake, detail):
    verdict = exercise(graph()).check(which, round(typed, 4))
    assert not verdict.right
    named = {wrong.mistake: wrong for wrong in verdict.mistakes}
    assert mistake in named, (str(verdict), verdict.question.wrong)
    assert detail in named[mistake].detail
    assert named[mistake].title in str(verdict) and named[mistake].explanation in str(verdict)


def test_an_answer_no_mistake_explains_is_said_to_be_so_and_a_right_one_names_none():
    practice = exercise(fan_out())
    assert practice.check("a", 4.0).mistakes == () and practice.check("a", 4.0).right
    verdict = practice.check("a", 17.0)
    assert verdict.mistakes == () and "no mistake in the catalogue gives it here" in str(verdict)


def test_a_dropped_path_always_names_the_term_left_out():
    # The term is found by comparing floats that carry round-off (the right gradient minus the mistaken one).
    a, b, c = Value(-0.6, label="a"), Value(1.3, label="b"), Value(-1.7, label="c")
    d = c * a
    d.label = "d"
    f = b / a
    f.label = "f"
    loss = f / d.sigmoid()
    loss.label = "L"
    verdict = exercise(loss).check("a", -4.9133)  # -6.24145 without the 0.781289 * c = -1.32819 through d
    named = {wrong.detail for wrong in verdict.mistakes if wrong.mistake == "dropped-path"}
    assert named == {"the term through d = c * a left out"}
    for seed in range(15):
        for q in exercise.random(size=4, seed=seed).questions:
            dropped = [w.detail for w in q.wrong if w.mistake == "dropped-path"]
            assert all(detail.startswith("the term through") for detail in dropped), (seed, q.gradient)


def test_predicted_wrong_answers_are_never_the_right_one():
    for seed in range(15):
        for q in exercise.random(size=4, seed=seed).questions:
            assert all(not accepted(w.value, q.answer) and math.isfinite(w.value) for w in q.wrong)


def run_in_kernel(code, answers, timeout=120.0):
    """Run ``code`` in a real IPython kernel, typing ``answers`` at each input(): prompts, output, results."""
    manager = pytest.importorskip("jupyter_client.manager")


    kernel, client = manager.start_new_kernel(kernel_name="python3")
    prompts, output, results = [], [], []
    try:
        msg_id = client.execute(code, allow_stdin=True)
        typed, deadline = iter(answers), time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                request = client.get_stdin_msg(timeout=0.1)
                prompts.append(request["content"]["prompt"])
                client.input(next(typed))
            except queue.Empty:
                pass
            try:
                message = client.get_iopub_msg(timeout=0.1)
            except queue.Empty:
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            assert kind != "error", content
            if kind == "stream":
                output.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                results.append(content["data"])
            elif kind == "status" and content["execution_state"] == "idle":
                return prompts, "".join(output), results
        raise AssertionError(f"the kernel did not finish in {timeout} s; output so far:\n{''.join(output)}")
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)


def test_run_asks_through_input_in_a_real_notebook_kernel():
    expected = exercise.random(size=3, ops=["mul", "sub"], seed=3)
    first, second, *rest = expected.questions
    answers = [repr(first.answer), repr(second.answer + 1.0), "?"] + ["q"]
    code = ("import autodiff\npractice = autodiff.exercise.random(size=3, ops=['mul', 'sub'], seed=3)\n"
            "display(practice)\nscore = practice.run()\nscore.outcomes")
    prompts, output, results = run_in_kernel(code, answers)
    page = results[0]["text/html"]  # the exercise shows itself as its page, guessing first, in a frame
    assert page.startswith("<iframe srcdoc=") and "guess first" in page and "checked" in page
    assert f"&quot;prompt&quot;: &quot;{first.gradient}&quot;" in page
    assert prompts[:3] == [f"{first.gradient} = ", f"{second.gradient} = ", f"{second.gradient} = "]
    assert f"right: {first.gradient}" in output and "not right: " in output and second.reveal() in output
    assert results[-1]["text/plain"] == repr(["first try", "revealed"] + ["not asked"] * len(rest))
