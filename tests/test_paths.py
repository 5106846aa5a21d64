"""The chain rule as a sum over paths, and backward against it."""

from __future__ import annotations

import pytest
from hypothesis import given

from autodiff import Value
from autodiff.chain_paths import Edge, count_paths, path_product, path_sum, paths
from autodiff.testing.strategies import graphs


def test_x_times_x_has_two_paths():
    x = Value(3.0, label="x")
    y = x * x
    found = list(paths(y, x))
    assert count_paths(y, x) == 2 and len(found) == 2
    assert [[(e.child, e.index, e.partial) for e in p] for p in found] == [[(y, 0, 3.0)], [(y, 1, 3.0)]]
    assert all(p[0].parent is x for p in found)
    assert path_sum(y, x) == 6.0


def test_paths_run_from_root_to_leaf_through_parents():
    x, w = Value(0.5, label="x"), Value(-2.0, label="w")
    h = (x * w).tanh()
    out = h * h + x
    for path in paths(out, x):
        assert path[0].child is out and path[-1].parent is x
        for upper, lower in zip(path, path[1:]):
            assert upper.parent is lower.child
    assert count_paths(out, x) == 3 and count_paths(out, w) == 2
    out.backward()
    assert path_sum(out, x) == pytest.approx(x.grad, rel=1e-15)
    assert path_sum(out, w) == pytest.approx(w.grad, rel=1e-15)


def test_path_product_multiplies_the_partials():
    x = Value(1.0)
    y = x * 2.0
    path = [Edge(y, 0, 2.0), Edge(y, 0, -1.5)]
    assert path_product(path) == -3.0 and path_product([]) == 1.0


def test_the_number_of_paths_can_grow_exponentially():
    x = Value(1.0, label="x")
    y = x
    for _ in range(12):
        y = y + y
    assert count_paths(y, x) == 2**12
    assert path_sum(y, x) == 2.0**12
    y.backward()
    assert x.grad == 2.0**12


def test_three_blue_one_brown_chain():
    # Four layers of one neuron each, cost (a4 - y)**2: one path from each weight.
    a = Value(0.3, label="a0")
    weights = [Value(w, label=f"w{i + 1}") for i, w in enumerate([0.8, -1.1, 0.5, 1.7])]
    biases = [Value(b, label=f"b{i + 1}") for i, b in enumerate([0.1, 0.2, -0.3, 0.05])]
    for w, b in zip(weights, biases):
        a = (w * a + b).sigmoid()
    cost = (a - 1.0) ** 2
    cost.backward()
    for parameter in weights + biases:
        assert count_paths(cost, parameter) == 1
        assert path_sum(cost, parameter) == pytest.approx(parameter.grad, rel=1e-14)
    (path,) = paths(cost, weights[0])
    layer = ["sigmoid", "add", "mul"]
    assert [edge.child.op for edge in path] == ["pow", "add", *layer * 4]


def test_unconnected_leaf_and_constants_have_no_paths():
    x, other = Value(2.0), Value(5.0)
    y = x * 3.0
    assert count_paths(y, other) == 0 and list(paths(y, other)) == [] and path_sum(y, other) == 0.0
    assert count_paths(y, y.parents[1]) == 1  # counted, but a constant gets no partial:
    assert list(paths(y, y.parents[1])) == []


@given(graphs(max_inputs=3, max_nodes=10))
def test_backward_equals_the_sum_over_paths_on_random_graphs(graph):
    inputs, out = graph.build()
    out.backward()
    for leaf in inputs:
        if count_paths(out, leaf) <= 2000:
            assert path_sum(out, leaf) == pytest.approx(leaf.grad, rel=1e-12, abs=1e-12), leaf.label
