"""autodiff.replay: replaying the recorded graph gives what rebuilding it would, and touches nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import labelled_neuron
from hypothesis import given
from hypothesis import strategies as st

import autodiff
import nn
from autodiff import DomainError, GraphError, NonFiniteError, Primitive, StaleGraphError, Value, replay
from autodiff.replaying import Replayer
from autodiff.testing.strategies import floats, graphs


@given(graphs(max_inputs=3, max_nodes=10), st.lists(floats(2.0), min_size=3, max_size=3))
def test_replay_equals_rebuilding_the_graph(graph, new):
    inputs, out = graph.build()
    new = new[: len(inputs)]
    used = set(autodiff.topological_order(out))
    changes = {leaf: x for leaf, x in zip(inputs, new) if leaf in used}  # the root may not use them all
    try:
        rebuilt = graph.build(new)[1].data
    except (ArithmeticError, ValueError):  # the new values leave some primitive's domain
        with pytest.raises((DomainError, NonFiniteError)):
            replay(out, changes)
        return
    assert replay(out, changes) == rebuilt  # the same rules in the same order: exact


def test_replay_leaves_the_graph_and_the_leaves_untouched():
    o, x, w, b = labelled_neuron()
    order = autodiff.topological_order(o)
    before = [(node.data, node.grad, node.parents) for node in order]
    assert replay(o, {w: 0.7, "b": -1.0}) == pytest.approx(math.tanh(2.0 * 0.7 - 1.0))
    assert [(node.data, node.grad, node.parents) for node in order] == before
    o.backward()  # the graph is not stale: nothing was assigned
    assert x.grad == pytest.approx(-1.5)


def test_replay_with_no_changes_or_an_unchanged_value_is_the_root():
    o, x, _, _ = labelled_neuron()
    assert replay(o, {}) == o.data
    assert replay(o, {x: x.data}) == o.data


def test_shared_sub_expressions_see_the_change_on_every_path():
    x = Value(1.5, label="x")
    s = x * x
    y = s * s + s.exp() * x  # s used three times, x four times
    rebuilt = lambda v: (v * v) ** 2 + math.exp(v * v) * v
    assert replay(y, {x: -0.25}) == pytest.approx(rebuilt(-0.25), rel=1e-15)


def test_only_what_lies_downstream_is_replayed():
    calls = []

    def forward(u: float) -> float:
        calls.append(u)
        return 2.0 * u

    double = Primitive(name="counted_double", symbol="dbl", arity=1, forward=forward,
                       array_forward=lambda u: 2.0 * u, partials=(lambda a, out, m: 2.0,), formulas=("2",))
    a, b = Value(1.0, label="a"), Value(3.0, label="b")
    root = autodiff.apply(double, a) + autodiff.apply(double, b).tanh()
    calls.clear()
    assert replay(root, {a: 5.0}) == pytest.approx(10.0 + math.tanh(6.0))
    assert calls == [5.0]  # the b branch was not recomputed
    replayer = Replayer(root)
    assert [node.op for node in replayer.downstream([b])] == ["counted_double", "tanh", "add"]


def test_replay_of_a_network_equals_a_new_forward_pass():
    model = nn.MLP(4, [5, 3], seed=0)
    image = [0.1, -0.4, 0.8, 0.3]
    loss = nn.quadratic(model(image), [0.0, 1.0, 0.0])
    weight = model.parameters()[7]
    changed = weight.data + 0.25
    predicted = replay(loss, {weight: changed})
    weight.data = changed
    assert predicted == nn.quadratic(model(image), [0.0, 1.0, 0.0]).data


def test_replay_refuses_what_it_cannot_do():
    o, x, w, b = labelled_neuron()
    n = o.parents[0]
    with pytest.raises(GraphError, match="replay changes leaves only; 'n' \\(add\\)"):
        replay(o, {n: 1.0})
    with pytest.raises(GraphError, match="no leaf labelled or named 'v'"):
        replay(o, {"v": 1.0})
    with pytest.raises(GraphError, match="not part of this graph"):
        replay(o, {Value(1.0): 1.0})
    with pytest.raises(GraphError, match="root Value"):
        replay(1.0, {x: 1.0})
    with pytest.raises(TypeError, match="dict"):
        replay(o, [(x, 1.0)])
    with pytest.raises(NonFiniteError, match="finite"):
        replay(o, {x: math.nan})
    with pytest.raises(TypeError, match="real number"):
        replay(o, {x: np.array([1.0])})


def test_replay_refuses_a_stale_graph():
    x = Value(2.0, label="x")
    y = x * x + 1
    x.data = 3.0  # y was computed from 2.0: replaying from it would mix old and new numbers
    with pytest.raises(StaleGraphError, match="'x' was assigned"):
        replay(y, {})


def test_replay_names_the_node_whose_forward_rule_fails():
    x = Value(2.0, label="x")
    y = (x - 1).log()
    y.label = "y"
    with pytest.raises(DomainError, match=r"replaying 'y' \(log\): log is undefined for x = -0.5"):
        replay(y, {x: 0.5})
    with pytest.raises(NonFiniteError, match="exp"):
        replay(x.exp(), {x: 800.0})
