"""Chain-rule explanations: sums over paths, named factors, checked against .grad."""

import math

import pytest
from hypothesis import given

from autodiff import GraphError, StaleGraphError, Value, topological_order
from autodiff.chain_paths import path_product, paths
from autodiff.explaining import explain
from autodiff.naming import node_names, partial_formula
from autodiff.testing.strategies import graphs


def chain(weights=(0.5, -1.2, 0.8), biases=(0.1, 0.3, -0.2), a0=0.6, y=1.0):
    """The 3Blue1Brown chain: four one-neuron layers, cost (a3 - y)**2."""
    a = Value(a0, label="a0")
    nodes = {"a0": a}
    for layer, (w, b) in enumerate(zip(weights, biases), start=1):
        nodes[f"w{layer}"], nodes[f"b{layer}"] = Value(w, label=f"w{layer}"), Value(b, label=f"b{layer}")
        z = nodes[f"w{layer}"] * a + nodes[f"b{layer}"]
        z.label = f"z{layer}"
        a = z.sigmoid()
        a.label = f"a{layer}"
        nodes[f"a{layer}"] = a
    difference = a - y
    difference.label = "a3 - y"
    cost = difference**2
    cost.label = "C"
    cost.backward()
    return cost, nodes


def test_chain_reads_like_the_hand_derivation():
    cost, v = chain()
    text = str(explain(cost, "w3"))
    assert "w3 → w3 * a2 → z3 → a3 → a3 - y → C" in text
    assert "= a2 × sigmoid'(z3) × (2 * (a3 - y))" in text
    a2, a3 = v["a2"].data, v["a3"].data
    by_hand = a2 * a3 * (1 - a3) * 2 * (a3 - 1.0)  # dC/dw(L) = a(L-1) sigmoid'(z(L)) 2(a(L) - y)
    assert f"= {a2:.6g} × {a3 * (1 - a3):.6g} × {2 * (a3 - 1.0):.6g}" in text
    assert "they agree" in text
    assert explain(cost, "w3").total == pytest.approx(by_hand, rel=1e-12)


def test_chain_explains_every_weight_and_bias():
    cost, v = chain()
    for name in ("w1", "b1", "w2", "b2", "w3", "b3", "a0"):
        e = explain(cost, name)
        assert e.count == 1 and e.complete and e.agrees
        assert e.total == v[name].grad


def test_two_paths_are_both_listed_and_summed():
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    y.backward()
    e = explain(y, x)
    assert e.count == 2 and [t.product for t in e.terms] == [3.0, 3.0]
    assert "sum over 2 paths" in str(e) and e.total == x.grad == 6.0


@given(graphs(max_inputs=3, max_nodes=8))
def test_random_graphs_path_sums_equal_backward(graph):
    inputs, root = graph.build()
    root.backward()
    in_graph = {id(node) for node in topological_order(root)}
    for leaf in inputs:
        if id(leaf) in in_graph:
            assert explain(root, leaf).agrees, str(explain(root, leaf))
        else:  # an input the draw did not use: no path to explain, and its gradient stays 0
            assert leaf.grad == 0.0
            with pytest.raises(GraphError, match="not part of this graph"):
                explain(root, leaf)


@given(graphs(max_inputs=2, max_nodes=8))
def test_summary_total_and_top_paths_match_brute_force(graph):
    inputs, root = graph.build()
    root.backward()
    in_graph = {id(node) for node in topological_order(root)}
    for leaf in (leaf for leaf in inputs if id(leaf) in in_graph):
        summary = explain(root, leaf, max_paths=0, top=3)
        assert not summary.complete
        assert math.isclose(summary.total, leaf.grad, rel_tol=1e-9, abs_tol=1e-12)
        largest = sorted((abs(path_product(p)) for p in paths(root, leaf)), reverse=True)[:3]
        assert [abs(t.product) for t in summary.terms] == pytest.approx(largest, rel=1e-12)


def test_too_many_paths_get_a_summary_not_an_explosion():
    x = Value(1.01, label="x")
    y = x
    for _ in range(40):  # 2**41 - 1 paths
        y = y * x + y
    y.label = "y"
    y.backward()
    e = explain(y, x, top=4)
    assert e.count == 2**41 - 1 and not e.complete and len(e.terms) == 4
    products = [abs(t.product) for t in e.terms]
    assert products == sorted(products, reverse=True)
    text = str(e)
    assert f"{2**41 - 1} paths, too many to list; the 4 largest:" in text
    assert e.agrees and "forward accumulation" in text


def test_unrelated_leaf_and_missing_backward_are_said_plainly():
    x, q = Value(1.0, label="x"), Value(2.0, label="q")
    y = x.exp()
    y.label = "y"
    with pytest.raises(GraphError, match="q.* is not part of this graph: the root does not depend on it"):
        explain(y, q)  # not "0 over 0 paths": that would hide a mix-up of two graphs
    with pytest.raises(GraphError, match="no node labelled or named 'p'"):
        explain(y, "p")
    e = explain(y, "x")
    assert not e.agrees and "they differ (run backward()" in str(e)


def test_partial_formulas_use_the_graphs_names_and_fold_constants():
    d = Value(0.5, label="d")
    c = d**2
    names = node_names(topological_order(c))
    assert partial_formula(c, 0, names) == "2 * d"
    n = Value(1.0, label="n")
    t = n.tanh()
    t.label = "t"
    assert partial_formula(t, 0, node_names(topological_order(t))) == "1 - t ** 2"


def test_names_follow_precedence():
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    product = (x * w + b) * -w
    out = product**2
    names = node_names(topological_order(out))
    assert names[id(product)] == "(x * w + b) * -w"
    assert names[id(out)] == "((x * w + b) * -w) ** 2"
    longer = out.tanh()
    assert node_names(topological_order(longer))[id(longer)] == "tanh#9"  # too long: op#position


def test_a_quotient_is_named_as_written_though_recorded_as_a_product_with_a_reciprocal():
    x, y, z = Value(2.0, label="x"), Value(3.0, label="y"), Value(4.0, label="z")
    cases = {"x / y": x / y, "1 / y": 1 / y, "x / (y * z)": x / (y * z), "(x + y) / z": (x + y) / z,
             "x / y / z": x / y / z, "x / (y / z)": x / (y / z), "x - y / z": x - y / z,
             "(x / y) ** 2": (x / y) ** 2, "x * y ** 2": x * y**2}
    for written, node in cases.items():
        assert node_names(topological_order(node))[id(node)] == written
    quotient = x / y
    reciprocal = quotient.parents[1]
    assert quotient.primitive.name == "mul" and reciprocal.primitive.name == "pow"  # still recorded so
    assert node_names(topological_order(quotient))[id(reciprocal)] == "y ** (-1)"
    labelled = y**-1
    labelled.label = "r"
    product = x * labelled
    assert node_names(topological_order(product))[id(product)] == "x * r"  # a labelled reciprocal is itself


def test_a_stale_graph_or_a_non_value_leaf_is_refused():
    x = Value(2.0, label="x")
    y = x * x
    y.label = "y"
    y.backward()
    with pytest.raises(TypeError, match="leaf must be a Value or a label, not int"):
        explain(y, 5)
    x.data = 3.0  # the graph still holds 4.0 = 2 * 2: any sum over paths would mix old and new numbers
    with pytest.raises(StaleGraphError, match="'x' was assigned"):
        explain(y, x)
