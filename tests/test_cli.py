"""`python -m autodiff draw`: end to end, and its errors."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autodiff.__main__ import main, parser
from autodiff.primitives import ATOM, PRIMITIVES

#: The functions an expression may call, read from the table: what the CLI's error must list.
CALLED = sorted(name for name, op in PRIMITIVES.items() if op.precedence == ATOM and not op.helper)

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
        (["sinh(x)", "x=1"], f"unknown function 'sinh'; the functions are {', '.join(CALLED)}",
         "  sinh(x)\n  ^^^^"),
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


# -- output formats, naming the result, big graphs, the page ------------------------------------


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF-"),
                                               (".svg", b"<?xml"), (".gv", b"digraph {"),
                                               (".SVG", b"<?xml")])
def test_the_suffix_picks_the_format(tmp_path, suffix, magic, capsys):
    target = tmp_path / f"graph{suffix}"
    assert main(["draw", "x * y", "x=2", "y=3", "-o", str(target)]) == 0
    assert target.read_bytes().startswith(magic)


def test_an_unknown_suffix_is_refused_before_anything_is_written(tmp_path, capsys):
    target = tmp_path / "graph.jpg"
    assert main(["draw", "x * y", "x=2", "y=3", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert "cannot tell the format from the suffix .jpg; use one of .svg, .png, .pdf, .dot, .gv" in err
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_name_names_the_result_in_records_and_drawings(tmp_path, capsys):
    target = tmp_path / "graph.dot"
    assert main(["draw", "(x*w - 1)**2", "x=2", "w=3", "--name", "loss", "--steps", "-o", str(target)]) == 0
    out = capsys.readouterr().out
    assert "step 1 of 5: loss = (x * w - 1) ** 2" in out and "upstream gradient d(loss)/d(loss) = 1" in out
    assert "d(loss)/d(x * w - 1)" in out
    assert "{ loss | data 25 | grad 1 }" in target.read_text()


@pytest.mark.parametrize(("name", "message"), [("x", "--name x: x is already a variable"),
                                               (" ", "--name needs a name")])
def test_bad_names_are_refused(name, message, capsys):
    assert main(["draw", "x * 2", "x=1", "--name", name]) == 2
    assert message in capsys.readouterr().err


def test_a_bare_variable_keeps_its_name(capsys):
    assert main(["draw", "x", "x=1", "--name", "loss"]) == 2
    assert "the expression is just the variable x, which keeps its name" in capsys.readouterr().err


def test_a_big_drawing_is_refused_with_options_the_command_has(tmp_path, capsys):
    argv = ["draw", "sum(x*x, x*w, w*w, x+w)", "x=2", "w=3", "-o", str(tmp_path / "g.svg")]
    assert main([*argv, "--max-nodes", "5"]) == 2
    err = capsys.readouterr().err
    assert "this drawing would have 12 nodes (--max-nodes 5)" in err and "pass --max-nodes 12" in err
    assert "--collapse" in err and "--between NAME" in err
    for command in ("draw", "play"):  # the advice works for both commands
        options = parser()._subparsers._group_actions[0].choices[command]._option_string_actions
        wanted = {"--max-nodes", "--output", "--collapse", "--between", "--cluster", "--edge-labels"}
        assert wanted <= set(options)
    assert main([*argv, "--max-nodes", "12"]) == 0
    assert main([*argv, "--max-nodes", "11", "--between", "w"]) == 0  # x*x is not on a path from w
    page = ["play", *argv[1:4], "-o", str(tmp_path / "p.html"), "--max-nodes", "5"]
    assert main(page) == 2 and "--collapse" in capsys.readouterr().err


def test_play_writes_the_page(tmp_path, capsys):
    target = tmp_path / "backprop.html"
    assert main(["play", "tanh(x*w + b)", "x=2", "w=-3", "b=6.88", "--name", "o", "-o", str(target)]) == 0
    out = capsys.readouterr().out
    assert "6 steps" in out and f"wrote {target}" in out
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "The backward pass of o" in text
    assert "step 1 of 6: o = tanh(x * w + b)" in text


def test_play_guess_opens_the_page_asking_first(tmp_path, capsys):
    target = tmp_path / "guess.html"
    assert main(["play", "tanh(x*w + b)", "x=2", "w=-3", "b=6.88", "--guess", "-o", str(target)]) == 0
    assert '<input id="guess" type="checkbox" checked>' in target.read_text(encoding="utf-8")
    assert main(["play", "tanh(x*w + b)", "x=2", "w=-3", "b=6.88", "-o", str(target)]) == 0
    assert '<input id="guess" type="checkbox">' in target.read_text(encoding="utf-8")  # there, off


def test_play_refuses_a_bad_expression_like_draw(tmp_path, capsys):
    assert main(["play", "tanh(x*q)", "x=1", "-o", str(tmp_path / "p.html")]) == 2
    assert "unknown name 'q'" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_an_expression_starting_with_a_dash_says_to_put_it_after_dashes(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["draw", "-x*2", "x=1"])
    assert stop.value.code == 2
    assert 'put it after --, e.g. python -m autodiff draw -- "-x*y"' in capsys.readouterr().err
    assert main(["draw", "--", "-x*2", "x=1"]) == 0
    assert "d/dx = -2" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["10", 2.5, True, 0, None])
def test_max_nodes_of_the_wrong_kind_is_named(bad):
    from autodiff import Value, play
    from autodiff.drawing import draw

    for view in (draw, play):
        with pytest.raises(TypeError, match=r"max_nodes is the most nodes to draw: a whole number >= 1"):
            view(Value(1.0) * 2, max_nodes=bad)
