"""The operations and transforms that peers have: new primitives, forward mode, PyTorch-style conveniences."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given

import autodiff
from autodiff import DomainError, GraphError, Value, grad, jvp, value_and_grad
from autodiff.testing.strategies import graphs


def test_abs_works_as_a_builtin_and_a_method_with_slope_zero_at_zero():
    x = Value(-2.5)
    for y in (abs(x), x.abs()):
        assert y.data == 2.5 and y.op == "abs"
    z = Value(0.0)
    abs(z).backward()
    assert z.grad == 0.0


def test_sqrt_at_zero_is_defined_but_its_infinite_slope_is_reported():
    z = Value(0.0, label="z")
    root = z.sqrt()
    assert root.data == 0.0
    with pytest.raises(DomainError, match=r"sqrt.*0.5/out.*'z'"):
        root.backward()
    assert z.grad == 0.0
    with pytest.raises(DomainError, match="sqrt"):
        Value(-1.0).sqrt()


def test_minimum_and_log1p_are_recorded():
    a, b = Value(2.0), Value(-1.0)
    m = a.minimum(b)
    m.backward()
    assert m.data == -1.0 and (a.grad, b.grad) == (0.0, 1.0)
    t = Value(1e-10)
    t.log1p().backward()
    assert t.grad == pytest.approx(1 / (1 + 1e-10), rel=1e-15)


def test_create_graph_gives_gradients_that_can_be_differentiated_again():
    x = Value(0.7)
    y = x.sin() * x
    y.backward(create_graph=True)
    first = x.grad
    assert isinstance(first, Value) and first.data == pytest.approx(math.cos(0.7) * 0.7 + math.sin(0.7))
    assert "grad=Value(" in repr(x)
    x.grad = 0.0
    first.backward()
    assert x.grad == pytest.approx(grad(grad(lambda v: v.sin() * v))(0.7), rel=1e-14)


def test_backward_seed_scales_every_gradient_and_is_checked():
    x = Value(3.0)
    (x * x).backward(gradient=-2.0)
    assert x.grad == -12.0
    for bad in (math.nan, "1", True):
        with pytest.raises(GraphError, match="gradient"):
            (x * x).backward(gradient=bad)


def test_value_and_grad_returns_both_and_matches_grad():
    f = lambda x, y: (x * y).exp() + y  # noqa: E731
    value, derivative = value_and_grad(f, argnum=1)(0.5, 2.0)
    assert value == pytest.approx(math.exp(1.0) + 2.0)
    assert derivative == grad(f, 1)(0.5, 2.0) == pytest.approx(0.5 * math.exp(1.0) + 1.0)


@given(graphs(max_inputs=3, max_nodes=7))
def test_forward_mode_equals_reverse_mode_on_random_graphs(graph):
    inputs, root = graph.build()
    root.backward()
    direction = [0.5, -1.0, 2.0][: len(inputs)]
    value, tangent = jvp(graph, graph.values, direction)
    assert value == root.data
    expected = math.fsum(x.grad * d for x, d in zip(inputs, direction))
    assert tangent == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_jvp_refuses_mismatched_or_bad_arguments():
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))
    with pytest.raises(TypeError, match="primals"):
        jvp(lambda x: x, 1.0, (1.0,))
    assert jvp(lambda x: 3.0, (1.0,), (1.0,)) == (3.0, 0.0)


def test_the_command_line_knows_every_call_in_the_table(tmp_path):
    out = tmp_path / "t.svg"
    run = subprocess.run([sys.executable, "-m", "autodiff", "draw", "sin(x)*cos(x)", "x=1", "-o", str(out)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert out.read_text().startswith("<?xml") and "sin" in out.read_text()
    assert f"{math.cos(2.0):.6g}" in run.stdout  # d/dx sin x cos x = cos 2x
    helped = subprocess.run([sys.executable, "-m", "autodiff", "draw", "--help"], capture_output=True,
                            text=True, check=True).stdout
    for name in ("abs", "cos", "log1p", "max", "sin", "sqrt", "sum"):
        assert name in helped


def test_a_registered_primitive_is_a_function_of_the_command_line():
    from autodiff.expression import evaluate

    cube = autodiff.Primitive(name="test_cube3", symbol="cube", arity=1, forward=lambda x: x**3,
                              array_forward=lambda x: x**3, partials=(lambda a, out, m: 3 * a[0] ** 2,),
                              formulas=("3 * x**2",))
    autodiff.register(cube)
    try:
        root, leaves = evaluate("test_cube3(x) + 1", {"x": 2.0})
        root.backward()
        assert root.data == 9.0 and leaves["x"].grad == 12.0
    finally:
        del autodiff.PRIMITIVES["test_cube3"]


def test_a_recorded_grad_shows_by_its_number_in_reprs_drawings_and_the_stepper():
    x = Value(3.0, label="x")
    y = x**3
    y.label = "y"
    y.backward(create_graph=True)
    assert repr(x) == "Value(data=3.0, grad=Value(27.0), label='x')"
    assert "{ x | data 3 | grad 27 }" in autodiff.draw(y).source
    leaf = autodiff.steps(y).run()[-1]
    assert "x.grad already holds 27 from an earlier pass" in str(leaf)
