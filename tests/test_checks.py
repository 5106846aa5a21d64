"""check_nodes localises a wrong local rule to one node and input; check_primitive to one partial."""

from __future__ import annotations

import inspect
import math
import random

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autodiff
from autodiff import PRIMITIVES, Primitive, Value, anomaly, apply
from autodiff.testing import check_nodes, check_primitive, gradcheck
from autodiff.testing.gradcheck import GradcheckError
from autodiff.testing.strategies import graphs


def _cube(name, partial, arrays=lambda x: x**3):
    return Primitive(name=name, symbol=name, arity=1, forward=lambda x: x**3, array_forward=arrays,
                     partials=(partial,), formulas=("3 * x**2",), safe=lambda a: abs(a[0]) < 2)


GOOD_CUBE = _cube("checks_good_cube", lambda a, out, m: 3 * a[0] ** 2)
WRONG_CUBE = _cube("checks_wrong_cube", lambda a, out, m: 3 * a[0])  # the classic slip: 3x, not 3x**2
# x * y with a wrong partial by y (x + 1 instead of x).
WRONG_TIMES = Primitive(
    name="checks_wrong_times", symbol="times", arity=2, forward=lambda x, y: x * y,
    array_forward=np.multiply, partials=(lambda a, out, m: a[1], lambda a, out, m: a[0] + 1.0),
    formulas=("y", "x + 1"),
)


@pytest.fixture
def registered():
    """Register primitives for one test only; the table is restored whatever happens."""
    added = []

    def add(primitive):
        added.append(autodiff.register(primitive).name)
        return primitive

    try:
        yield add
    finally:
        for name in added:
            del PRIMITIVES[name]


def _deep_graph(op):
    """Five layers of ordinary ops, then ``op``, then five more: (root, the op's node, its operand)."""
    x, w = Value(0.3, label="x"), Value(-0.8, label="w")
    h = x
    for i in range(5):
        h = (h * w + 0.1 * i).tanh() + x
    h.label = "h"
    cubed = apply(op, h)
    cubed.label = "cubed"
    out = cubed
    for _ in range(5):
        out = (out * 0.9).sigmoid() * (out + w)
    out.label = "loss"
    return out, cubed, h


# -- check_nodes -----------------------------------------------------------------------


def test_a_right_graph_passes_at_every_node():
    root, _, _ = _deep_graph(GOOD_CUBE)
    report = check_nodes(root)
    assert report.passed and report.first_failure is None, report
    nodes = autodiff.topological_order(root)
    assert len(report.rows) == report.total == sum(not n.is_constant for n in nodes)
    assert report.rows[0].node is root and report.rows[0].backprop == 1.0
    assert all(row.status == "ok" for row in report.rows)


def test_a_wrong_primitive_deep_in_a_graph_is_named_with_its_input(registered):
    registered(WRONG_CUBE)
    root, cubed, h = _deep_graph(WRONG_CUBE)
    report = check_nodes(root)
    failure = report.first_failure
    assert failure is not None and not report.passed
    assert (failure.node, failure.op, failure.input, failure.input_name, failure.operand) == (
        cubed, "checks_wrong_cube", 0, "x", h)
    assert failure.partial == pytest.approx(3 * h.data) and failure.numeric == pytest.approx(3 * h.data**2)
    status = {row.node: row.status for row in report.rows}
    downstream = {row.node for row in report.rows if row.node.created >= cubed.created}
    assert all(status[node] == "ok" for node in downstream)  # gradients agree down to the op...
    assert status[h] == "FAIL"  # ...and go wrong right below it
    text = str(report)
    marked = [line for line in text.splitlines() if "<--" in line]
    assert len(marked) == 1 and marked[0].startswith("cubed = checks_wrong_cube(h)")
    assert marked[0].endswith("<-- first disagreement: checks_wrong_cube's partial by x")
    assert "run the model in autodiff.anomaly()" in text


def test_the_wrong_input_of_a_two_input_primitive_is_named():
    a, b = Value(1.5, label="a"), Value(-0.5, label="b")
    product = apply(WRONG_TIMES, a.tanh(), b.exp())
    root = (product * a).sigmoid()
    failure = check_nodes(root).first_failure
    assert (failure.node, failure.input, failure.input_name) == (product, 1, "y")
    assert str(failure) == "checks_wrong_times's partial by y"


def test_shared_sub_expressions_blame_the_consumer_that_is_wrong():
    x = Value(0.7, label="x")
    shared = (x * 1.3).sin()
    shared.label = "shared"
    cubed = apply(WRONG_CUBE, shared)
    # Made after the cube, so met first on the walk from the root: it is right and must not be blamed.
    other = shared * shared + shared.exp()
    root = cubed * other + shared
    report = check_nodes(root)
    assert report.first_failure.node is cubed and report.first_failure.operand is shared
    right = shared.exp() * shared + shared * 2.0 + shared.tanh()
    assert check_nodes(right).passed


def test_nodes_out_of_domain_are_skipped_and_reported():
    x = Value(1.0 + 1e-7, label="x")
    y = (x - 1).log() + x * x  # moving x or x - 1 by 1e-6 leaves log's domain
    y.label = "y"
    report = check_nodes(y)
    skipped = [row for row in report.rows if row.status == "skipped"]
    assert {row.node for row in skipped} == {x, y.parents[0].parents[0]}
    assert all("log is undefined" in row.reason and row.numeric is None for row in skipped)
    assert report.passed  # skipped is not failed
    assert "skipped x: moving it by +-eps: replaying" in str(report)


def test_check_nodes_leaves_grad_and_data_as_found():
    root, _, _ = _deep_graph(GOOD_CUBE)
    root.backward()
    order = autodiff.topological_order(root)
    before = [(node.data, node.grad) for node in order]
    check_nodes(root)
    assert [(node.data, node.grad) for node in order] == before


def test_big_graphs_are_sampled_with_a_seed():
    xs = [Value(random.Random(i).uniform(-1, 1), label=f"x{i}") for i in range(40)]
    root = autodiff.sum((x * x).tanh() for x in xs)
    total = sum(not node.is_constant for node in autodiff.topological_order(root))
    report = check_nodes(root, budget=30, seed=1)
    assert (len(report.rows), report.total) == (30, total) and report.passed
    checked = lambda seed: [row.node for row in check_nodes(root, budget=30, seed=seed).rows]
    assert checked(1) == [row.node for row in report.rows] != checked(2)
    assert "30 of 121 nodes checked, a seeded sample" in str(report).splitlines()[0]
    assert "agreeing rows not shown" in str(report)
    assert len(check_nodes(root).rows) == total  # under the default budget of 2,000: every node


def test_a_sample_of_a_mnist_sized_graph_still_localises_a_wrong_rule(registered):
    rng = random.Random(0)
    activations = [Value(rng.random()) for _ in range(784)]
    hidden = []
    for j in range(30):
        z = autodiff.sum([*(Value(rng.gauss(0, 0.05)) * a for a in activations), Value(0.1)])
        hidden.append(apply(WRONG_CUBE, z) if j == 7 else z.sigmoid())
    broken = hidden[7]
    outputs = [autodiff.sum(Value(rng.gauss(0, 1)) * h for h in hidden).sigmoid() for _ in range(10)]
    loss = autodiff.sum((o - float(k == 3)) ** 2 for k, o in enumerate(outputs)) * 0.5
    report = check_nodes(loss)  # about 48,000 nodes: a seeded sample of 2,000
    assert len(report.rows) == 2000 < report.total
    assert report.first_failure.node is broken and report.first_failure.input == 0


@given(graphs(max_inputs=3, max_nodes=8))
def test_random_right_graphs_pass_at_every_node(graph):
    _, out = graph.build()
    report = check_nodes(out)
    assert report.passed, report


@given(st.data())
def test_random_graphs_with_a_wrong_rule_are_blamed_on_it(data):
    # Registered only while drawing and checking: other tests enumerate the table.
    autodiff.register(WRONG_CUBE, replace=True)
    try:
        graph = data.draw(graphs(max_inputs=2, max_nodes=8,
                                 primitives=[WRONG_CUBE.name, "add", "mul", "tanh", "sin"]))
        try:
            wrong_here = not gradcheck(graph, graph.values)
        except GradcheckError:
            wrong_here = True
        assume(wrong_here)  # elsewhere the wrong rule may happen to give the right numbers
        _, out = graph.build()
        failure = check_nodes(out).first_failure
    finally:
        del PRIMITIVES[WRONG_CUBE.name]
    assert failure is not None and failure.op == WRONG_CUBE.name, graph


def test_the_site_of_the_wrong_node_is_named_in_anomaly_mode():
    x = Value(0.5, label="x")
    with anomaly():
        line = _line() + 1
        cubed = apply(WRONG_CUBE, x.tanh())
    report = check_nodes(cubed * 2.0)
    assert report.first_failure.site == f"{__file__}:{line} in {_own_name()}"
    assert f"made at {report.first_failure.site}" in str(report)


def _line() -> int:
    return inspect.currentframe().f_back.f_lineno


def _own_name() -> str:
    return inspect.currentframe().f_back.f_code.co_name


def test_check_nodes_refuses_bad_arguments():
    with pytest.raises(TypeError, match="root Value"):
        check_nodes(1.0)
    with pytest.raises(ValueError, match="budget"):
        check_nodes(Value(1.0) * 2, budget=0)


# -- check_primitive ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(autodiff.primitives._BUILT_IN))
def test_every_built_in_primitive_passes(name):
    report = check_primitive(PRIMITIVES[name])
    assert report.passed, report
    assert len(report.points) == 10


def test_a_right_new_primitive_passes_to_second_order():
    report = check_primitive(GOOD_CUBE, count=5)
    assert report.passed, report
    whats = {(row.what, row.form) for row in report.rows}
    assert whats == {("forward", "arrays"), ("partial by x", "floats"), ("partial by x", "arrays"),
                     ("partial by x", "Values"), ("d/dx of the partial by x", "Values"),
                     ("forward", "arrays of all points"), ("partial by x", "arrays of all points")}
    assert str(report).splitlines()[0] == (
        "check_primitive(checks_good_cube): 7 of 7 rules agree at 5 safe points")


def test_a_wrong_partial_is_named():
    report = check_primitive(WRONG_CUBE)
    assert not report.passed
    assert {(row.what, row.form) for row in report.failures} == {
        ("partial by x", "floats"), ("partial by x", "arrays"), ("partial by x", "Values")}
    first = str(report).splitlines()[0]
    assert first.endswith(
        "disagreeing: partial by x (on floats), partial by x (on arrays), partial by x (on Values)")
    assert report.first_failure.got == pytest.approx(3 * report.first_failure.point[0])


def test_a_partial_whose_derivative_is_wrong_on_values_fails_at_second_order():
    # Right numbers, but on Values it reads .data, so the partial drops out of the graph.
    def flat(a, out, m):
        x = a[0].data if isinstance(a[0], Value) else a[0]
        return 3 * x**2

    report = check_primitive(_cube("checks_flat_cube", flat))
    # And a gradient graph records the number it read as a constant, which compiled mode would replay.
    assert {(row.what, row.form) for row in report.failures} == {("d/dx of the partial by x", "Values"),
                                                                 ("partial by x", "recorded as a constant")}
    assert "disagreeing: d/dx of the partial by x (on Values)" in str(report)


def test_a_partial_that_cannot_run_on_values_is_reported_with_its_error():
    report = check_primitive(_cube("checks_math_cube", lambda a, out, m: 3 * math.pow(a[0], 2)))
    # math.pow takes floats only
    assert {row.form for row in report.failures} == {"Values", "arrays", "arrays of all points"}
    assert "cannot become a plain float" in str(report)
    assert "error: partial by x on arrays: TypeError" in str(report)


def test_a_wrong_array_form_and_a_wrong_second_input_are_named():
    squares = lambda x: x**2
    report = check_primitive(_cube("checks_array_cube", lambda a, out, m: 3 * a[0] ** 2, arrays=squares))
    assert ("forward", "arrays") in {(row.what, row.form) for row in report.failures}
    report = check_primitive(WRONG_TIMES)
    assert {row.what for row in report.failures} == {"partial by y"}


def test_a_failure_that_follows_from_another_partial_is_marked_inherited():
    # d/dy of the partial by x, out / x, differentiates out: that is the (wrong) partial by y's doing.
    times = Primitive(name="checks_times_out", symbol="times", arity=2, forward=lambda x, y: x * y,
                      array_forward=np.multiply,
                      partials=(lambda a, out, m: out / a[0], lambda a, out, m: 2 * a[0]),
                      formulas=("out / x", "2 * x"), safe=lambda a: abs(a[0]) > 0.2)
    report = check_primitive(times)
    inherited = {(row.what, row.form) for row in report.failures if row.inherited}
    assert inherited == {("d/dy of the partial by x", "Values")}
    headline = str(report).splitlines()[0]
    assert "disagreeing: partial by y (on floats)" in headline
    assert headline.endswith("failing only through another rule: d/dy of the partial by x (on Values)")
    assert "FAIL (inherited)" in str(report)
    assert "note: d/dy of the partial by x differentiates out (its formula out / x reads it)" in str(report)


def _piecewise(name, array_forward, partial):
    """x below 10, 3x - 20 above: continuous, with slope 1 then 3."""
    return Primitive(name=name, symbol=name, arity=1, forward=lambda x: x if x < 10 else 3 * x - 20,
                     array_forward=array_forward, partials=(partial,), formulas=("1 if x < 10 else 3",),
                     safe=lambda a: abs(a[0] - 10) > 0.5)


def test_array_forms_are_compared_with_the_float_forms_away_from_the_sample():
    # The slope through the namespace's step, so that on Values it is recorded, not read off a number.
    right = _piecewise("checks_piecewise", lambda x: np.where(x < 10, x, 3 * x - 20),
                       lambda a, out, m: 1.0 + 2.0 * m.step(a[0] - 10.0))
    assert check_primitive(right).passed
    # The whole array's test decides every lane: right at one point, wrong on a batch that spans 10.
    lanes = _piecewise("checks_lanes", lambda x: x if np.all(x < 10) else 3 * x - 20,
                       lambda a, out, m: 1.0 + 2.0 * m.step(a[0] - 10.0))
    failing = {(row.what, row.form) for row in check_primitive(lanes).failures}
    assert failing == {("forward", "arrays of all points")}


def test_a_partial_a_gradient_graph_records_as_a_constant_is_checked_at_far_points():
    # On Values, this partial compares numbers and gives a plain 1.0 below 10: a gradient graph records
    # that constant, and compiled mode replays it for every sample, where the engine gives 3.0 above 10.
    baked = _piecewise("checks_baked", lambda x: np.where(x < 10, x, 3 * x - 20),
                       lambda a, out, m: 1.0 if np.all(a[0] < 10) else 3.0)
    report = check_primitive(baked)
    failing = {(row.what, row.form) for row in report.failures}
    assert ("partial by x", "recorded as a constant") in failing
    assert "partial by x (on recorded as a constant)" in str(report).splitlines()[0]
    assert {row.point for row in report.failures if row.form == "recorded as a constant"} == {
        (40.5,), (1000.0,)}


def test_check_primitive_points_and_errors():
    report = check_primitive(WRONG_TIMES, points=[(2.0, 3.0)])
    assert report.points == ((2.0, 3.0),)
    with pytest.raises(ValueError, match="takes 2 inputs"):
        check_primitive(WRONG_TIMES, points=[(1.0,)])
    never = Primitive(name="checks_never", symbol="n", arity=1, forward=float, array_forward=np.asarray,
                      partials=(lambda a, out, m: 1.0,), formulas=("1",), safe=lambda a: False)
    with pytest.raises(ValueError, match="pass points="):
        check_primitive(never)
    with pytest.raises(TypeError, match="Primitive"):
        check_primitive("exp")


def test_check_nodes_bounds_its_work_on_a_deep_chain():
    # Each node's check replays everything downstream of it: budget x depth on a chain.
    from autodiff.testing import check_nodes

    x = Value(0.3, label="x")
    y = x
    for _ in range(3000):
        y = (y * 0.999).sin()
    report = check_nodes(y, budget=400, max_work=20_000)
    skipped = [row for row in report.rows if row.status == "skipped"]
    checked = [row for row in report.rows if row.status == "ok"]
    assert report.passed and checked and skipped and len(report.rows) == 400
    assert "max_work=20000 (raise it, or lower budget)" in skipped[0].reason
    assert all(row.node.created <= checked[-1].node.created for row in skipped)  # furthest from the root


def test_an_array_form_that_fails_or_returns_the_wrong_shape_is_reported_not_raised():
    # Before: an array_forward that raised made check_primitive raise it, unexplained.
    for arrays, error in [(lambda x: 1 / 0, "ZeroDivisionError"), (lambda x: x[:1] ** 3, "RuleError")]:
        cube = _cube("checks_broken_arrays", lambda a, out, m: 3 * a[0] ** 2, arrays=arrays)
        report = check_primitive(cube)
        assert ("forward", "arrays") in {(row.what, row.form) for row in report.failures}
        assert f"error: forward on arrays: {error}" in str(report)
