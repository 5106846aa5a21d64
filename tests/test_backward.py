"""The reverse sweep: correct gradients, exact accumulation, reuse, deep graphs, stale graphs."""

from __future__ import annotations

import gc
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff
from autodiff import GraphError, StaleGraphError, Value, topological_order
from autodiff.backward import chain_rule, local_partials
from autodiff.testing import gradcheck
from autodiff.testing.strategies import floats, graphs


def _grads(nodes):
    return [node.grad for node in nodes]


@given(graphs(max_inputs=4, max_nodes=12))
def test_backward_matches_central_differences_on_random_graphs(graph):
    assert gradcheck(graph, graph.values)


@given(graphs(max_nodes=10))
def test_backward_twice_doubles_exactly_and_zero_grad_resets(graph):
    _, out = graph.build()
    nodes = topological_order(out)
    out.backward()
    once = _grads(nodes)
    out.backward()
    assert _grads(nodes) == [2 * g for g in once]  # leaves and intermediates, exactly
    out.zero_grad()
    assert all(g == 0.0 for g in _grads(nodes))
    out.backward()
    assert _grads(nodes) == once


@given(st.data(), floats(3.0), floats(3.0))
def test_gradient_is_linear(data, a, b):
    # f is the output of a random graph, g another node of it: two functions of the same inputs.
    graph = data.draw(graphs(max_nodes=8), label="graph")
    k = data.draw(st.integers(0, len(graph.values) + len(graph.steps) - 1), label="g is node")

    def gradient(combine):
        leaves = [Value(x) for x in graph.values]
        nodes = graph.nodes(*leaves)
        combine(nodes[-1], nodes[k]).backward()
        return _grads(leaves)

    combined = gradient(lambda f, g: a * f + b * g)
    df = gradient(lambda f, g: f)
    dg = gradient(lambda f, g: g)
    for c, u, v in zip(combined, df, dg):
        assert c == pytest.approx(a * u + b * v, rel=1e-12, abs=1e-12)


def test_reused_values():
    x = Value(3.0, label="x")
    (x * x).backward()
    assert x.grad == 6.0
    x.grad = 0.0
    (x + x).backward()
    assert x.grad == 2.0
    x.grad = 0.0
    a = x + x
    b = a * a  # (2x)**2: d/dx = 8x
    b.backward()
    assert (a.grad, x.grad) == (12.0, 24.0)


def test_fan_out_adds_contributions():
    x = Value(2.0)
    y = x.exp()
    z = y * x + y.tanh() + autodiff.sum([y, y, x])
    z.backward()
    e, t = math.exp(2.0), math.tanh(math.exp(2.0))
    dz_dy = 2.0 + (1 - t * t) + 2
    assert y.grad == pytest.approx(dz_dy, rel=1e-15)
    assert x.grad == pytest.approx(e * dz_dy + e + 1, rel=1e-15)


def test_backward_from_a_leaf():
    x = Value(5.0)
    x.backward()
    assert x.grad == 1.0


def test_chain_rule_is_the_rule_at_one_node():
    x, y = Value(2.0), Value(-3.0)
    z = x * y
    grads = {x: 0.0, y: 0.0, z: 0.5}
    assert chain_rule(z, grads) == [(-3.0, -1.5), (2.0, 1.0)]  # (partial, contribution) per operand
    assert (grads[x], grads[y]) == (-3.0 * 0.5, 2.0 * 0.5)
    assert (x.grad, y.grad) == (0.0, 0.0)  # the rule alone writes no grad


def test_local_partials_skip_constants():
    x = Value(2.0)
    y = x**3
    assert local_partials(y) == [12.0, None]
    assert local_partials(3.0 * x) == [None, 3.0]


def test_a_chain_of_a_million_operations():
    x = Value(1.0, label="x")
    y = x
    for _ in range(1_000_000):
        y = y + x
    y.backward()
    assert y.data == 1_000_001.0 and x.grad == 1_000_001.0


def live_values() -> int:
    return sum(type(o) is Value for o in gc.get_objects())


def test_dropping_the_root_frees_the_graph_by_reference_counting():
    gc.disable()  # no cycle collector: only reference counting may free the graph
    try:
        before = live_values()
        x = Value(0.5, label="x")
        y = x
        for _ in range(1000):
            y = (y * x).tanh() + 1
        y.backward()
        assert live_values() - before > 3000  # the graph: 4 nodes a step
        del y
        assert live_values() - before == 1  # only the leaf the caller kept
        assert x.grad != 0.0
    finally:
        gc.enable()


@given(st.data())
def test_changing_a_leaf_after_forward_makes_backward_raise_and_keep_grads(data):
    graph = data.draw(graphs(max_nodes=8), label="graph")
    inputs, out = graph.build()
    nodes = topological_order(out)
    out.backward()
    before = _grads(nodes)
    leaf = data.draw(st.sampled_from([x for x in inputs if x in set(nodes)]), label="changed leaf")
    leaf.data = leaf.data + 0.25
    with pytest.raises(StaleGraphError, match=repr(leaf.label)):
        out.backward()
    assert _grads(nodes) == before


def test_stale_error_names_both_nodes():
    a = Value(2.0, label="a")
    b = Value(3.0, label="b")
    c = a * b
    c.label = "c"
    loss = c.tanh()
    b.data = 4.0
    with pytest.raises(StaleGraphError) as error:
        loss.backward()
    message = str(error.value)
    assert "'b'" in message and "4.0" in message and "'c'" in message and "mul" in message
    assert (a.grad, b.grad, c.grad, loss.grad) == (0.0, 0.0, 0.0, 0.0)


def test_assigning_a_computed_node_is_refused_before_anything_goes_wrong():
    x = Value(2.0, label="x")
    h = x * x
    h.label = "h"
    out = h + x
    for node in (h, out, h * 2):  # an intermediate, the root, and a constant's consumer
        with pytest.raises(GraphError, match="cannot assign .data of .*detach"):
            node.data = 10.0
    assert h.data == 4.0
    out.backward()
    assert x.grad == 5.0


def test_assigning_the_root_of_a_tanh_cannot_give_a_wrong_gradient():
    x = Value(0.3)
    y = x.tanh()
    with pytest.raises(GraphError):
        y.data = 0.0
    y.backward()
    assert x.grad == pytest.approx(1 - math.tanh(0.3) ** 2)


def test_recomputing_after_a_change_is_fine():
    x = Value(2.0, label="x")
    (x * x).backward()
    x.data = 3.0
    x.grad = 0.0
    (x * x).backward()
    assert x.grad == 6.0


def test_a_binary_node_is_one_object_for_the_cycle_collector():
    # The collector's work while a network is built grows with the tracked objects per node:
    # operands are kept in the node's slots, not in a tuple of their own.
    gc.disable()
    try:
        x, w = Value(0.5), Value(2.0)
        before = len(gc.get_objects())
        products = [x * w for _ in range(1000)]
        assert len(gc.get_objects()) - before <= 1001  # the nodes and the list holding them
        assert products[0].parents == (x, w)
    finally:
        gc.enable()


def test_an_overflowing_gradient_at_a_node_of_constants_is_refused():
    # The node apply(mul, 2, 3) passes nothing on (its operands are constants), so its inf
    # gradient reaches no leaf: the finiteness check must still look at it.
    from autodiff.errors import NonFiniteError
    from autodiff.primitives import PRIMITIVES

    c = autodiff.apply(PRIMITIVES["mul"], 2.0, 3.0)
    x = Value(1e300, label="x")
    z = c * x
    with pytest.raises(NonFiniteError, match="mul"):
        z.backward(gradient=1e10)
    assert x.grad == 0.0 and c.grad == 0.0  # nothing written
