"""`python -m autodiff draw`: end to end, and its errors."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autodiff.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def test_end_to_end_writes_the_svg(tmp_path):
    target = tmp_path / "graph.svg"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "autodiff", "draw", "tanh(x*w + b)", "x=2", "w=-3", "b=6.88",
         "-o", str(target)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "d/dx = -1.50292" in done.stdout and f"wrote {target}" in done.stdout
    words = [t.text for t in ET.parse(target).getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert "x" in words and "grad -1.50292" in words and "data 0.706419" in words


def test_dot_source_output(tmp_path, capsys):
    target = tmp_path / "graph.dot"
    assert main(["draw", "x * y", "x=2", "y=3", "-o", str(target), "--rankdir", "TB"]) == 0
    assert target.read_text().startswith("digraph {") and "rankdir=TB" in target.read_text()


def test_steps_and_explain(capsys):
    assert main(["draw", "sigmoid(a) * a", "a=0.5", "--steps", "--explain", "a"]) == 0
    out = capsys.readouterr().out
    assert out.index("step 1 of 3: sigmoid(a) * a") < out.index("step 3 of 3: a") < out.index("d/da")
    assert "d(sigmoid(a) * a)/d(a): 2 paths" in out and "they agree" in out


@pytest.mark.parametrize(
    ("argv", "message", "caret"),
    [
        (["tanh(x*q + b)", "x=1", "b=2"], "unknown name 'q'; give it a value as q=NUMBER",
         "  tanh(x*q + b)\n         ^"),
        (["sinh(x)", "x=1"], "unknown function 'sinh'; the functions are abs, cos, exp, log, log1p, max, "
         "relu, sigmoid, sin, sqrt, sum, tanh", "  sinh(x)\n  ^^^^"),
        (["x +* 2", "x=1"], "not a valid expression", "  x +* 2\n     ^"),
        (["x.real", "x=1"], "attribute access is not allowed", "  x.real\n  ^^^^^^"),
        (["__import__('os')", "x=1"], "unknown function '__import__'", "  __import__('os')\n  ^^^^^^^^^^"),
        (["log(x)", "x=-1"], "log is undefined for x = -1.0 ('x')", "  log(x)\n  ^^^^^^"),
        (["x + log(-1)", "x=1"], "log is undefined for x = -1.0 (the constant -1.0); log needs x > 0",
         "  x + log(-1)\n      ^^^^^^^"),
        (["x", "x=1", "y=2"], "y=2.0 is given but the expression does not use 'y'", None),
        (["x", "x"], "'x' is not NAME=NUMBER", None),
        (["x", "x=abc"], "'x=abc': 'abc' is not a number", None),
        (["x", "x=1", "x=2"], "x is given twice (x=1 and x=2)", None),
        (["x", "x=nan"], "the value must be a finite number", None),
        (["x", "x=1", "--explain", "y"], "'y' is not a variable of the expression", None),
    ],
)
def test_bad_input_points_at_the_problem_and_exits_2(argv, message, caret, capsys):
    assert main(["draw", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    if caret is not None:
        assert caret in err


def test_nothing_is_evaluated():
    marker = ROOT / "should_not_exist"
    assert main(["draw", f"__import__('pathlib').Path('{marker}').touch() or x", "x=1"]) == 2
    assert not marker.exists()
