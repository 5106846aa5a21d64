"""autodiff.testing: gradcheck catches wrong derivatives; the strategies draw valid, varied graphs."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from autodiff import PRIMITIVES, DomainError, Value
from autodiff.primitives import Primitive, operations, register
from autodiff.testing import GradcheckError, gradcheck, numeric_gradient
from autodiff.testing.strategies import Call, Const, RandomGraph, apply, arguments, graphs

ROOT = Path(__file__).resolve().parents[1]

# x**2 with a deliberately wrong derivative (3x instead of 2x); applied without registering it.
WRONG_SQUARE = Primitive(
    name="wrong_square", symbol="sq", arity=1,
    forward=lambda x: x * x, array_forward=np.square,
    partials=(lambda a, out, m: 3.0 * a[0],), formulas=("3*x",),
)


def _cube_primitive(partial):
    return Primitive(name="cube", symbol="cube", arity=1, forward=lambda x: x * x * x,
                     array_forward=lambda x: x * x * x, partials=(partial,), formulas=("3*x**2",),
                     safe=lambda a: abs(a[0]) < 3)


@pytest.fixture
def registered():
    """Register primitives for one test only; the table is restored whatever happens."""
    added = []

    def add(primitive):
        added.append(register(primitive).name)
        return primitive

    try:
        yield add
    finally:
        for name in added:
            del PRIMITIVES[name]


# -- gradcheck --------------------------------------------------------------------


@pytest.mark.parametrize(("f", "inputs"), [
    (lambda x: x * x, [3.0]),
    (lambda x, y: (x * y).tanh() + x.exp() / y, [0.3, -1.7]),
    (lambda x, y, z: ((x - y) ** 2 + z.sigmoid()).log(), [1.0, 2.5, -0.5]),
    (lambda x: x.relu() * 2 + (-x).relu(), [-0.7]),
    (lambda x, y: x**y, [1.5, 2.5]),
])
def test_gradcheck_passes_correct_functions(f, inputs):
    assert gradcheck(f, inputs) is True


def test_gradcheck_reports_a_wrong_partial_as_a_table():
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x, y: apply(WRONG_SQUARE, x) + x * y, [x, y])
    message = str(info.value)
    lines = message.splitlines()
    assert "1 of 2 gradients" in lines[0]
    assert lines[1].split() == ["input", "value", "analytic", "numeric", "abs", "error"]
    # x: analytic 3*2 + 3 = 9, numeric 2*2 + 3 = 7; y: 2 both ways.
    assert re.fullmatch(r"'x'\s+2\s+9\s+7(\.0+\d*|\.?9+\d*)?\s+2(\.0+\d*|\.?9+\d*)?\s+FAIL", lines[2])
    assert re.fullmatch(r"'y'\s+3\s+2\s+2(\.0+\d*|\.?9+\d*)?\s+\S+\s+ok", lines[3])
    assert isinstance(info.value, AssertionError)
    assert (x.grad, y.grad) == (0.0, 0.0)  # the caller's Values are not touched


def test_gradcheck_names_unlabelled_inputs_v0_v1_as_the_random_graphs_do():
    seen = []

    def f(a, b):
        seen.extend([a.label, b.label])
        return a * b + apply(WRONG_SQUARE, b)

    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [1.0, -0.5])
    rows = str(info.value).splitlines()[2:]
    assert rows[0].startswith("v0 ") and rows[0].endswith("ok")
    assert rows[1].startswith("v1 ") and rows[1].endswith("FAIL")
    assert seen[:2] == ["v0", "v1"]  # the leaves f sees carry the same names


def test_gradcheck_tolerances():
    f = lambda x: apply(WRONG_SQUARE, x)  # analytic 3x, numeric 2x
    with pytest.raises(GradcheckError):
        gradcheck(f, [1e-3], atol=1e-4)
    assert gradcheck(f, [1e-3], atol=1e-2)
    assert gradcheck(f, [1.0], rtol=0.5)


def test_gradcheck_catches_a_lost_gradient():
    from autodiff import no_grad

    def detached(x):
        with no_grad():
            y = x.exp()
        return y + x

    with pytest.raises(GradcheckError, match="detached"):
        gradcheck(detached, [0.5])


def test_gradcheck_rejects_bad_arguments():
    with pytest.raises(TypeError, match="float"):
        gradcheck(lambda x: 2.0, [1.0])
    with pytest.raises(ValueError, match="at least one"):
        gradcheck(lambda: Value(1.0), [])
    with pytest.raises(TypeError, match="str"):
        gradcheck(lambda x: x, ["1.0"])


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes are new in Python 3.11")
def test_numeric_gradient_says_which_input_left_the_domain():
    with pytest.raises(DomainError) as info:
        numeric_gradient(lambda x, y: x * y.log(), [1.0, 1e-9], eps=1e-6)
    assert "input 1 = 1e-09" in "\n".join(info.value.__notes__)


def test_numeric_gradient():
    grads = numeric_gradient(lambda x, y: x.exp() * y, [0.5, 2.0])
    assert grads == pytest.approx([2.0 * math.exp(0.5), math.exp(0.5)], rel=1e-8)


def test_importing_testing_does_not_import_hypothesis():
    code = (
        "import sys, autodiff.testing as t\n"
        "assert t.gradcheck(lambda x: x * x, [1.5])\n"
        "assert 'hypothesis' not in sys.modules, 'hypothesis imported too early'\n"
        "assert t.strategies.graphs and 'hypothesis' in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


# -- strategies ---------------------------------------------------------------


def test_the_earlier_name_of_a_random_graphs_call_still_works():
    from autodiff.testing.strategies import Step

    assert RandomGraph(values=(3.0,), steps=(Step("mul", (0, 0)),)).build()[1].data == 9.0


def test_random_graph_prints_as_a_program():
    graph = RandomGraph(values=(0.5, -1.25), steps=(Call("mul", (0, 1)), Call("pow", (2, Const(2.0))),
                                                    Call("sum", (0, 3, 3))))
    assert repr(graph) == (
        "RandomGraph:\n"
        "    v0 = 0.5\n"
        "    v1 = -1.25\n"
        "    v2 = mul(v0, v1)\n"
        "    v3 = pow(v2, 2.0)\n"
        "    v4 = sum(v0, v3, v3)\n"
        "    return v4"
    )
    inputs, out = graph.build()
    assert [x.label for x in inputs] == ["v0", "v1"]
    assert out.op == "sum" and out.data == 0.5 + 2 * 0.390625
    assert graph.uses() == [2, 1, 1, 2, 0]
    _, other = graph.build([1.0, 2.0])
    assert other.data == 1.0 + 2 * 4.0
    with pytest.raises(TypeError, match="takes 2 inputs"):
        graph(Value(1.0))


def test_apply_turns_numbers_into_constants():
    y = apply(PRIMITIVES["pow"], Value(3.0), 2)
    assert y.data == 9.0 and y.parents[1].op == "const"


@given(graphs(max_inputs=4, max_nodes=12))
def test_drawn_graphs_stay_inside_every_domain(graph):
    assert 1 <= len(graph.values) <= 4 and 1 <= len(graph.steps) <= 12
    nodes = graph.nodes(*[Value(x) for x in graph.values])  # building never raises
    for k, step in enumerate(graph.steps):
        op = PRIMITIVES[step.op]
        args = [a.value if isinstance(a, Const) else nodes[a].data for a in step.args]
        assert op.safe(args), step
        assert all(isinstance(a, Const) or a < len(graph.values) + k for a in step.args)  # earlier nodes
        assert not all(isinstance(a, Const) for a in step.args)
    assert all(abs(node.data) <= 100.0 for node in nodes)
    lines = repr(graph).splitlines()
    assert len(lines) == 1 + len(graph.values) + len(graph.steps) + 1
    assert all(re.fullmatch(r"    v\d+ = \w+\(.+\)", line) for line in lines[1 + len(graph.values):-1])


@given(graphs(primitives=["mul", "tanh"]))
def test_graphs_use_only_the_primitives_asked_for(graph):
    assert {step.op for step in graph.steps} <= {"mul", "tanh"}


def test_graphs_refuse_unknown_primitives():
    with pytest.raises(ValueError, match="nope"):
        graphs(primitives=["mul", "nope"])


def test_graphs_cover_the_table_and_share_subexpressions():
    ops, shared_step, shared_any, repeated = set(), 0, 0, 0
    count = 0

    @settings(max_examples=600, database=None)  # the table has grown: 300 draws missed one op
    @given(graphs())
    def record(graph):
        nonlocal shared_step, shared_any, repeated, count
        uses = graph.uses()
        ops.update(step.op for step in graph.steps)
        shared_step += any(n >= 2 for n in uses[len(graph.values):])  # a step result used twice
        shared_any += any(n >= 2 for n in uses)
        repeated += any(len(set(step.args)) < len(step.args) for step in graph.steps)  # like x + x
        count += 1

    record()
    assert ops == set(operations())  # every primitive users write, never a helper of gradient graphs
    assert {"step", "at_least", "one_if_zero"} <= set(PRIMITIVES) - ops
    assert count >= 100
    assert shared_step >= 0.15 * count and shared_any >= 0.4 * count and repeated >= 0.15 * count


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
@given(data=st.data())
def test_arguments_are_safe(name, data):
    op = PRIMITIVES[name]
    args = data.draw(arguments(op))
    assert op.safe(args) and math.isfinite(op.forward(*args))


def test_a_new_primitive_is_drawn_and_checked_as_soon_as_it_is_registered(registered):
    registered(_cube_primitive(lambda a, out, m: 3.0 * a[0] * a[0]))

    @settings(max_examples=30, database=None)
    @given(graphs(primitives=["cube", "add", "mul"]))
    def check(graph):
        assert gradcheck(graph, graph.values)

    check()
    assert find(graphs(), lambda g: any(s.op == "cube" for s in g.steps), settings=settings(database=None))


def test_a_wrong_partial_is_found_and_shrunk_to_a_small_graph(registered):
    registered(_cube_primitive(lambda a, out, m: 3.0 * a[0]))  # should be 3 x**2

    def passes(graph):
        try:
            return gradcheck(graph, graph.values)
        except GradcheckError:
            return False

    graph = find(graphs(), lambda g: not passes(g), settings=settings(database=None, max_examples=2000))
    # Small: Hypothesis's shrinker may stop at e.g. exp(exp(0)) feeding cube, as it prefers
    # the input 0.0, where this wrong partial happens to be right.
    assert len(graph.values) == 1 and len(graph.steps) <= 3 and graph.steps[-1].op == "cube", graph
    with pytest.raises(GradcheckError, match="FAIL"):
        gradcheck(graph, graph.values)


@pytest.mark.parametrize("eps", [0, 0.0, -1e-6, float("nan"), float("inf"), True, "1e-6"])
def test_gradcheck_refuses_a_meaningless_eps(eps):
    with pytest.raises(ValueError, match="eps must be a positive finite step"):
        gradcheck(lambda x: x * x, [1.0], eps=eps)


def test_an_eps_too_small_to_move_the_input_is_named():
    with pytest.raises(ValueError, match=r"eps=1e-30 does not move input 0 = 10000000000.0"):
        gradcheck(lambda x: x * x, [1e10], eps=1e-30)
