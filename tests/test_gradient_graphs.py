"""Gradient graphs never bake a sample's numbers in: they hold at every input, compiled or replayed.

The non-smooth pieces of partials (relu's step, max's comparison, abs's sign,
pow's select before its log) are recorded as helper primitives of the table,
so a gradient recorded over Values at one point and replayed at another gives
the derivative there.  Helpers stay out of what users write: random graphs,
exercises and the expression grammar.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import autodiff
from autodiff import Value, grad, replay
from autodiff.backward import gradients
from autodiff.expression import ExpressionError, evaluate, functions
from autodiff.primitives import PRIMITIVES, operations
from autodiff.value import VALUES

HELPERS = {"step", "at_least", "one_if_zero"}


def test_the_compiled_derivative_of_a_relu_function_holds_at_every_point():
    # The example: traced at 0.3, where relu is off, it gave [0, 1, 0, 3] (the slope 0 baked in).
    w = Value(2.0, label="w")

    def g(v):
        return (v * w - 1.0).relu() * v  # g'(v) = 4v - 1 where 2v > 1, else 0

    program = autodiff.compile(lambda x: [grad(g)(x[0])], ([0.3],), params=[w])
    got = program.forward(np.array([[0.3], [1.0], [-0.5], [2.0]])).reshape(-1)
    assert got.tolist() == [0.0, 3.0, 0.0, 7.0]


def _relu(v, w):
    return (v * w - 1.0).relu() * v


def _abs(v, w):
    return abs(v - w) * v


def _max(v, w):
    return (v * v).maximum(v * w)


def _pow(v, w):
    return w ** (v * v)  # by v through the exponent: the partial by y is out * log(w)


# name -> (f(v, w), df/dv(v, w)) with w = 0.5 fixed; the points cross each kink.
CASES = {
    "relu": (_relu, lambda v, w: (2 * w * v - 1.0) if v * w > 1.0 else 0.0),
    "abs": (_abs, lambda v, w: math.copysign(1.0, v - w) * v + abs(v - w)),
    "max": (_max, lambda v, w: 2 * v if v * v >= v * w else w),
    "pow": (_pow, lambda v, w: w ** (v * v) * math.log(w) * 2 * v),
}
POINTS = [-2.5, -0.3, 0.2, 0.7, 3.0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_gradient_recorded_at_one_point_replays_right_at_every_other(name):
    f, derivative = CASES[name]
    w = Value(0.5, label="w")
    for recorded_at in POINTS:
        v = Value(recorded_at, label="v")
        slope = grad(f)(v, w)
        for point in POINTS:
            assert replay(slope, {v: point}) == pytest.approx(derivative(point, 0.5), rel=1e-12, abs=1e-15), \
                (name, recorded_at, point)


def test_the_slope_by_an_exponent_at_a_zero_base_is_recorded_without_log_0():
    # d(x ** y)/dy = out * log(x), and 0 at x = 0: recorded at 0 it must hold at 2, and the other way.
    x, y = Value(0.0, label="x"), Value(2.0, label="y")
    at_zero = grad(lambda x, y: x**y, 1)(x, y)
    assert at_zero.data == 0.0
    assert replay(at_zero, {x: 2.0}) == pytest.approx(4.0 * math.log(2.0), rel=1e-15)
    x2 = Value(2.0, label="x")
    at_two = grad(lambda x, y: x**y, 1)(x2, y)
    assert replay(at_two, {x2: 0.0}) == 0.0


def _scalar_second_derivative(f, point, w):
    result = grad(grad(f))(point, w)  # a Value: it depends on w, from outside
    return result.data if isinstance(result, Value) else result


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_and_second_derivatives_compile_right_through_kinks(name):
    f, derivative = CASES[name]
    w = Value(0.5, label="w")
    grid = np.array([[p] for p in POINTS])
    first = autodiff.compile(lambda x: [grad(f)(x[0], w)], ([POINTS[0]],), params=[w])
    assert first.forward(grid).reshape(-1) == pytest.approx([derivative(p, 0.5) for p in POINTS], rel=1e-12)
    second = autodiff.compile(lambda x: [grad(grad(f))(x[0], w)], ([POINTS[0]],), params=[w])
    expected = [_scalar_second_derivative(f, p, w) for p in POINTS]
    assert second.forward(grid).reshape(-1) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_the_partials_on_values_read_no_number_of_a_value():
    # Reading a Value's number inside a partial bakes it into every gradient graph recorded through it.
    assert "_data" not in inspect.getsource(VALUES) and ".data" not in inspect.getsource(VALUES)


def test_helpers_are_marked_and_left_out_of_what_users_write():
    assert {name for name, op in PRIMITIVES.items() if op.helper} == HELPERS
    assert HELPERS.isdisjoint(operations()) and HELPERS.isdisjoint(functions())
    with pytest.raises(ValueError, match="unknown operations \\['step'\\]"):
        autodiff.exercise.random(ops=["step"])
    with pytest.raises(ExpressionError, match="unknown function 'step'"):
        evaluate("step(x)", {"x": 1.0})  # the grammar of the command line and of the page


def test_a_gradient_graph_shows_its_helpers_by_name():
    x = Value(-1.0, label="x")
    slope = grad(lambda x: x.relu())(x)
    assert "step" in {node.op for node in autodiff.backward.topological_order(slope)}


def test_a_derivative_that_is_a_constant_compiles():
    # d(x + x)/dx is the constant 2: a program with nothing to compute per call.
    program = autodiff.compile(lambda x: [grad(lambda v: v + v)(x[0])], ([0.0],))
    assert program.forward(np.array([[1.0], [-3.0]])).reshape(-1).tolist() == [2.0, 2.0]


# -- the Value sweep's graph: one sum per node, no multiplication by 1 -----------------------------


def test_a_partial_of_one_passes_the_upstream_value_on_without_a_node():
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
    (da,) = gradients((a + b) * c, [a])
    assert da is c  # d/da = 1 * c: no mul(1.0, c) recorded


def test_what_a_node_receives_becomes_one_sum_in_the_order_it_came():
    # x feeds three neurons: its gradient is sum(w0 * u0, w1 * u1, w2 * u2), the dense pattern's
    # transposed sum, not a chain of additions.
    x = Value(0.5, label="x")
    ws = [Value(w, label=f"w{i}") for i, w in enumerate((0.3, -0.7, 1.1))]
    outs = [(w * x).tanh() for w in ws]
    (dx,) = gradients(autodiff.sum(outs), [x])
    assert dx.op == "sum" and len(dx.parents) == 3
    assert [term.op for term in dx.parents] == ["mul"] * 3
    # In the order the sweep visits the neurons: the last made first, as the float pass adds them.
    assert [next(p for p in term.parents if p in ws) for term in dx.parents] == ws[::-1]


def test_the_value_sweep_gives_the_float_pass_numbers_bit_for_bit_on_a_network():
    # The sum adds left to right from 0, as the float pass adds into a node: the same float operations.
    rng = np.random.default_rng(3)
    x = [Value(float(v)) for v in rng.normal(size=6)]
    params = [Value(float(v)) for v in rng.normal(size=6 * 4 + 4 + 4 * 3 + 3)]
    it = iter(params)
    hidden = [autodiff.sum([next(it) * xi for xi in x] + [next(it)]).tanh() for _ in range(4)]
    outs = [autodiff.sum([next(it) * h for h in hidden] + [next(it)]).sigmoid() for _ in range(3)]
    loss = autodiff.sum([(o - t) ** 2 for o, t in zip(outs, (1.0, 0.0, 0.0))]) + outs[0].relu() * outs[1]
    by_values = [g.data for g in gradients(loss, params)]
    loss.backward()
    assert by_values == [p.grad for p in params]
