"""The four tutorials' networks, trained through the engine at reduced size, reach the tutorials' results."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
EXAMPLES = os.path.join(ROOT, "examples")
NAMES = ["linear_regression", "chain", "xor", "clouds"]


# -- Alex Punnen's XOR chapter --------------------------------------------------------------------------


def test_xor_reproduces_the_chapters_printed_numbers(example, capsys):
    result = example("xor").main(["--no-progress"])
    assert np.round(result["before"], 3).tolist() == [0.758, 0.771, 0.791, 0.801]
    assert np.round(result["after"], 3).tolist() == [0.028, 0.925, 0.925, 0.090]
    assert round(result["probe"], 3) == 0.925
    assert np.all(np.abs(result["after"] - [0, 1, 1, 0]) < 0.1)
    assert len(result["history"]) == 1000
    out = capsys.readouterr().out
    # The table the script prints must show the numbers it computed, row by row.
    for inputs, before, after in zip(["[0 0 1]", "[0 1 1]", "[1 0 1]", "[1 1 1]"], result["before"],
                                     result["after"]):
        assert re.search(rf"{re.escape(inputs)}\s+\d\s+{before:.3f}\s+{after:.3f}", out), out
    assert f"after training: {result['probe']:.3f}" in out
    assert out.startswith("XOR (Alex Punnen's chapter 6)") and "(the chapter printed 0.758" in out


def test_xor_initial_weights_are_the_legacy_random_state(example):
    first, second = example("xor").tutorial_weights(1)
    np.random.seed(1)  # what the chapter does
    np.testing.assert_array_equal(first, np.random.random((3, 4)))
    np.testing.assert_array_equal(second, np.random.random((4, 1)))


# -- the 3Blue1Brown chain -----------------------------------------------------------


@pytest.mark.parametrize(("seed", "x", "y"), [(0, 1.0, 1.0), (3, 0.3, 1.0), (11, -2.0, 0.0)])
def test_chain_engine_gradients_equal_the_hand_chain_rule(example, seed, x, y):
    chain = example("chain")
    model = chain.build(seed)
    weights = [float(w[0, 0]) for w in model.get_weights()[0]]
    biases = [float(b[0]) for b in model.get_weights()[1]]
    _, engine = chain.engine_gradients(model, x, y)
    hand = chain.hand_gradients(weights, biases, x, y)
    assert len(engine) == 3  # a1, a2, a3: three weights and three biases after the input a0
    np.testing.assert_allclose(engine, hand, rtol=1e-12, atol=1e-15)
    assert all(abs(dw) > 0 for dw, _ in engine)


def test_chain_training_lowers_the_cost(example, capsys):
    result = example("chain").main(["--steps", "50"])
    losses = result["history"].losses
    assert result["largest_difference"] <= 1e-12
    assert losses[-1] < losses[0] / 2 and all(b < a for a, b in zip(losses, losses[1:]))
    assert "dC0/dw engine" in capsys.readouterr().out


# -- the gradient-descent line fit ----------------------------------------------------------------


def tutorial_gradient_descent(points: np.ndarray, lr: float, iterations: int) -> tuple[float, float]:
    """The tutorial's update rule written out with NumPy numbers, one point at a time."""
    b = m = 0.0
    n = float(len(points))
    for _ in range(iterations):
        b_gradient = m_gradient = 0.0
        for x, y in points:
            b_gradient += -(2 / n) * (y - (m * x + b))
            m_gradient += -(2 / n) * x * (y - (m * x + b))
        b, m = b - lr * b_gradient, m - lr * m_gradient
    return m, b


def test_linear_regression_equals_the_tutorials_hand_written_descent(example):
    result = example("linear_regression").main(["--iterations", "200"])
    m, b = tutorial_gradient_descent(result["points"], 1e-4, 200)
    assert result["m"] == pytest.approx(m, rel=1e-9)
    assert result["b"] == pytest.approx(b, rel=1e-9)
    assert result["end_error"] < result["start_error"] / 50
    assert result["least_squares_error"] <= result["end_error"]


def test_linear_regression_reads_a_given_csv_and_generates_points(example, tmp_path):
    module = example("linear_regression")
    path = tmp_path / "line.csv"
    path.write_text("x,y\n1,3\n2,5\n3,7\n4,9\n")
    result = module.main(["--data", str(path), "--lr", "0.05", "--iterations", "2000"])
    assert result["least_squares"] == pytest.approx((2.0, 1.0))
    assert (result["m"], result["b"]) == pytest.approx((2.0, 1.0), abs=1e-3)
    generated = module.main(["--generate", "30", "--seed", "4", "--iterations", "3"])
    assert len(generated["points"]) == 30


def test_linear_regression_reports_a_malformed_csv(example, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2\n3\n")
    with pytest.raises(ValueError, match=r"bad\.csv, line 2"):
        example("linear_regression").main(["--data", str(path)])


# -- the Gaussian-clouds softmax tutorial --------------------------------------------------------------------


def test_clouds_classify_at_least_95_percent(example, capsys):
    result = example("clouds").main(["--per-class", "50", "--epochs", "40", "--lr", "1e-2"])
    assert result["rate"] >= 0.95
    history = result["history"]
    assert history.metric("rate")[-1] >= 0.95 and history.losses[-1] < history.losses[0] / 5
    out = capsys.readouterr().out
    assert "classification rate" in out
    assert out.startswith('Gaussian clouds (the "Backpropagation Programmer"'), out


@pytest.mark.parametrize("flag", ["--tutorial-settings", "--seed-settings"])  # the old name still works
def test_clouds_tutorial_settings_are_the_tutorials(example, flag):
    args = example("clouds").parse_args([flag, "--mode", "scalar"])
    assert (args.per_class, args.epochs, args.lr) == (500, 1000, 1e-3)
    assert example("clouds").parse_args([]).epochs == 1000  # compiled mode: the tutorial's run takes seconds
    assert example("clouds").parse_args(["--mode", "scalar"]).epochs == 100


def test_clouds_refuses_a_report_interval_below_one(example, capsys):
    with pytest.raises(SystemExit):
        example("clouds").parse_args(["--report-every", "0"])
    assert "--report-every must be at least 1, got 0" in capsys.readouterr().err


# -- all examples: --help, --plot, running as a script --------------------------------------------


# What each example's --help must name: the tutorial it follows, by its subject or author and title.
TUTORIALS = {
    "linear_regression": ["gradient-descent line fit", "Back Propagation Calculus in Neural Network"],
    "chain": ["3Blue1Brown", "Back Propagation Calculus in Neural Network"],
    "xor": ["Alex Punnen", "The Maths behind Neural Networks", "chapter 6"],
    "clouds": ["Gaussian-clouds softmax tutorial", "Backpropagation Programmer"],
}


@pytest.mark.parametrize("name", NAMES)
def test_help(example, capsys, name):
    with pytest.raises(SystemExit) as stop:
        example(name).main(["--help"])
    assert stop.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for words in TUTORIALS[name]:
        assert words in out, out
    assert not re.search(r"seed 00\d|the seed's", out, re.IGNORECASE), out  # no internal file numbers


PLOT_RUNS = {
    "linear_regression": ["--iterations", "5"],
    "chain": ["--steps", "5"],
    "xor": ["--epochs", "5"],
    "clouds": ["--per-class", "10", "--epochs", "3"],
}


@pytest.mark.parametrize("name", NAMES)
def test_plot_writes_a_picture(example, tmp_path, name):
    path = tmp_path / f"{name}.png"
    example(name).main([*PLOT_RUNS[name], "--plot", str(path)])
    assert path.read_bytes().startswith(b"\x89PNG")
    assert os.listdir(tmp_path) == [f"{name}.png"]  # no temporary file left


def test_plot_without_matplotlib_says_what_to_install(example, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(SystemExit, match="needs matplotlib.*pip install matplotlib"):
        example("xor").main(["--epochs", "2", "--plot", str(tmp_path / "x.png")])


def test_an_example_runs_as_a_script():
    environment = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, "xor.py"), "--epochs", "10"], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "output for [1, 0, 1] after training" in done.stdout


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py")))
def test_examples_name_tutorials_by_subject_never_by_file_number(name):
    with open(os.path.join(EXAMPLES, name), encoding="utf-8") as file:
        text = file.read()
    assert not re.search(r"\bseeds? (and \d+ )?0\d\d\b", text, re.IGNORECASE)
