"""Drawings, rendered by the real `dot` program: content, determinism, big-graph views."""

import xml.etree.ElementTree as ET

import pytest
from helpers import labelled_neuron

import autodiff
from autodiff import GraphError, Value
from autodiff.drawing import COLOURS, TooBigToDraw, draw, save, scope_levels
from autodiff.stepping import steps

SVG = "{http://www.w3.org/2000/svg}"


def neuron():
    o, x, w, b = labelled_neuron()
    o.backward()
    return o, x, w, b


def tiny_mlp(seed=0):
    """A 3-4-1 sigmoid net made of scoped Values, scoped and named as nn does it.

    Layers and neurons are nested scope blocks; each weight's scope is its neuron's name.
    """
    import random

    rng = random.Random(seed)
    params = []

    def layer(index, inputs, size):
        outputs = []
        for j in range(size):
            scope = f"layers.{index}.neurons.{j}"
            w = [Value(rng.gauss(0, 1), label=f"{scope}.w.{i}") for i in range(len(inputs))]
            for wi in w:
                wi.scope = scope
            params.extend(w)
            with autodiff.scope(f"layers.{index}"), autodiff.scope(scope):
                outputs.append(autodiff.sum([wi * xi for wi, xi in zip(w, inputs)]).sigmoid())
        return outputs

    x = [Value(v, label=f"x.{i}") for i, v in enumerate([1.0, 0.0, 1.0])]
    (out,) = layer(1, layer(0, x, 4), 1)
    loss = (out - 1.0) ** 2
    loss.backward()
    return loss, params


def svg_nodes(graph):
    root = ET.fromstring(graph.pipe(format="svg"))
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]


def texts(graph):
    root = ET.fromstring(graph.pipe(format="svg"))
    return [t.text for t in root.iter(f"{SVG}text")]


def test_svg_holds_labels_data_and_grads():
    o, *_ = neuron()
    words = texts(draw(o))
    for expected in ("x", "data 2", "grad -1.5", "w", "grad 1", "n", "data 0.881374", "o", "data 0.707107",
                     "tanh", "+", "*"):
        assert expected in words, expected
    assert len(svg_nodes(draw(o))) == 6 + 3  # six values, three op nodes


def test_roles_are_coloured():
    o, x, w, b = neuron()
    source = draw(o, params=[w, b]).source
    assert source.count(COLOURS["parameter"]) == 2
    assert source.count(COLOURS["input"]) == 1
    assert source.count(COLOURS["output"]) == 1
    constant = Value(2.0, label="c") * 3
    assert COLOURS["constant"] in draw(constant).source


def test_edge_labels_carry_local_partials():
    o, *_ = neuron()
    words = texts(draw(o, edge_labels=True))
    assert "0.5" in words and "-3" in words and "2" in words  # d tanh = 0.5, d(x*w)/dx = w, /dw = x
    assert 'tooltip="1 - o ** 2"' in draw(o, edge_labels=True).source


def test_same_graph_same_bytes():
    first, second = neuron()[0], neuron()[0]
    assert draw(first).source == draw(second).source
    assert draw(first).pipe(format="svg") == draw(second).pipe(format="svg")


def test_highlight_the_steppers_current_node():
    o, *_ = neuron()
    o.zero_grad()
    stepper = steps(o)
    stepper.run_to("n")
    source = draw(o, highlight=stepper).source
    assert source.count("penwidth=4") == 1
    assert "n4 [label=\"{ n | data 0.881374 | grad so far 0.5 }\" color=\"#000000\"" in source
    assert "{ x | data 2 | grad so far 0 }" in source  # not reached yet


def test_rankdir_and_bad_rankdir():
    o, *_ = neuron()
    assert "rankdir=TB" in draw(o, rankdir="TB").source
    with pytest.raises(ValueError, match="rankdir"):
        draw(o, rankdir="RL")


def test_svg_file_is_written_whole(tmp_path):
    o, *_ = neuron()
    target = tmp_path / "graph.svg"
    draw(o, target)
    assert ET.parse(target).getroot().tag == f"{SVG}svg"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]


def test_draw_writes_the_format_the_path_names_and_save_is_exported(tmp_path):
    o, *_ = neuron()
    graph = autodiff.draw(o, tmp_path / "graph.png")
    assert (tmp_path / "graph.png").read_bytes().startswith(b"\x89PNG")
    autodiff.save(graph, tmp_path / "graph.dot")
    assert (tmp_path / "graph.dot").read_text() == graph.source
    with pytest.raises(ValueError, match="suffix .txt"):
        autodiff.draw(o, tmp_path / "graph.txt")


def test_module_levels_come_from_nested_scopes_not_from_parsing_names():
    loss, params = tiny_mlp()
    nodes = autodiff.topological_order(loss)
    neuron_node = next(n for n in nodes if n.scope == "layers.0.neurons.2" and n.parents)
    assert scope_levels(neuron_node) == ("layers.0", "layers.0.neurons.2")  # the list "layers" is no level
    with autodiff.scope("encoder"), autodiff.scope("encoder.fc"):
        y = Value(1.0) * 2
    assert scope_levels(y) == ("encoder", "encoder.fc")


def test_a_grouping_of_your_own_decides_clusters_and_collapse():
    x = [Value(float(i), label=f"x{i}") for i in range(4)]
    left, right = x[0] * x[1], x[2] * x[3]
    out = left + right
    out.label = "out"
    side = {id(left): ("left",), id(right): ("right",)}
    graph = draw(out, collapse=True, group=lambda node: side.get(id(node), ()))
    words = texts(graph)
    assert "left" in words and "right" in words and "out" in words
    assert 'subgraph cluster_left {' in draw(out, cluster=True, group=lambda n: side.get(id(n), ())).source


def test_clusters_follow_modules():
    loss, params = tiny_mlp()
    graph = draw(loss, cluster=True)
    clusters = [line.strip() for line in graph.source.splitlines() if "subgraph" in line]
    assert len(clusters) == 2 + 5  # two layers, five neurons
    assert 'subgraph "cluster_layers.0.neurons.3" {' in clusters
    assert len(svg_nodes(graph)) == len(svg_nodes(draw(loss)))  # clustering groups, it does not remove
    assert graph.source.count(COLOURS["parameter"]) == len(params)  # labelled by their module: parameters


def test_collapse_turns_each_module_into_one_node():
    loss, params = tiny_mlp()
    full = len(svg_nodes(draw(loss)))
    neurons = draw(loss, collapse=True, cluster=True)
    # 5 neuron nodes + 1 inputs node; outside modules: (out - 1) ** 2 as 2 constants, 2 values, 2 ops
    assert len(svg_nodes(neurons)) == 5 + 1 + 6 < full
    words = texts(neurons)
    assert "layers.0.neurons.2" in words and "8 nodes" in words
    assert "parameter ×3, mul ×3, sum, sigmoid" in words
    assert "×3" in texts(neurons)  # the inputs feed each first-layer neuron three times
    layers = draw(loss, collapse=1)
    assert len(svg_nodes(layers)) == 2 + 1 + 6


def test_between_keeps_only_the_paths_from_one_leaf():
    loss, params = tiny_mlp()
    graph = draw(loss, between="layers.0.neurons.2.w.1")
    words = texts(graph)
    assert "layers.0.neurons.2.w.1" in words and "layers.0.neurons.1.w.1" not in words
    # w, w*x, sum, sigmoid (neuron 2); w*a, sum, sigmoid (output); a - 1, its square: 9 values, 8 ops
    assert len(svg_nodes(graph)) == 9 + 8


def test_big_graph_error_suggests_the_views():
    loss, _ = tiny_mlp()
    with pytest.raises(GraphError, match=r"would have \d+ nodes \(max_nodes=20\).*collapse=True.*between="):
        draw(loss, max_nodes=20)
    assert draw(loss, collapse=True, max_nodes=20)


# -- legend, nn roles, files by suffix ------------------------------------------------------------


def legend(graph):
    """The legend's cells as drawn in the SVG: the texts after the last node and edge, under the graph."""
    root = ET.fromstring(graph.pipe(format="svg"))
    top = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "graph")
    return [t.text for t in top.findall(f"{SVG}text")]


def test_the_legend_names_the_roles_drawn():
    o, x, w, b = neuron()
    assert legend(draw(o, params=[w, b])) == ["input", "parameter", "intermediate", "output (loss)"]
    assert legend(draw(Value(2.0, label="c") * 3)) == ["input", "constant", "output (loss)"]
    assert legend(draw(o, legend=False)) == []
    loss, _ = tiny_mlp()
    roles = ["input", "constant", "intermediate", "output (loss)", "module"]
    assert legend(draw(loss, collapse=True)) == roles


def test_a_standalone_neurons_weights_are_parameters_like_a_layers():
    import nn

    out = nn.Neuron(2)([1.0, 2.0])
    graph = draw(out)
    assert graph.source.count(COLOURS["parameter"]) == 3  # w.0, w.1, b
    assert graph.source.count(COLOURS["input"]) == 2  # the two inputs
    layer_out = nn.Layer(2, 1)([1.0, 2.0])[0]
    assert draw(layer_out).source.count(COLOURS["parameter"]) == 3


@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF"),
                                               (".dot", b"digraph"), (".gv", b"digraph")])
def test_save_writes_the_format_the_suffix_names(tmp_path, suffix, magic):
    o, *_ = neuron()
    target = save(draw(o), tmp_path / f"graph{suffix}")
    assert target.read_bytes().startswith(magic) and [p.name for p in tmp_path.iterdir()] == [target.name]


@pytest.mark.parametrize("name", ["graph.jpg", "graph", "graph.svg.bak"])
def test_save_refuses_an_unknown_suffix(tmp_path, name):
    o, *_ = neuron()
    with pytest.raises(ValueError, match="cannot tell which format.*one of .svg, .png, .pdf, .dot, .gv"):
        save(draw(o), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_too_big_says_how_big():
    loss, _ = tiny_mlp()
    with pytest.raises(TooBigToDraw) as caught:
        draw(loss, max_nodes=20)
    assert caught.value.max_nodes == 20 and caught.value.size == len(svg_nodes(draw(loss)))
    assert isinstance(caught.value, GraphError)


def test_the_legend_says_edge_numbers_are_local_partials_when_edges_carry_them():
    o, *_ = neuron()
    assert "edge numbers: the local partial" in draw(o, edge_labels=True).source
    assert "edge numbers" not in draw(o).source
