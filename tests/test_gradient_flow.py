"""nn.gradient_flow: per-layer gradient norms and saturation, the view behind Nielsen's chapter 5."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import nn
from nn.gradient_flow import GradientFlow, drill_down, measure


def _data(rows: int = 30, features: int = 6, classes: int = 3):
    rng = np.random.default_rng(1)
    return rng.random((rows, features)), np.eye(classes)[rng.integers(0, classes, rows)]


def test_the_norms_are_those_of_the_models_own_gradients():
    inputs, targets = _data()
    model = nn.MLP(6, [5, 4, 3], seed=2)
    flows = measure(model, inputs, targets, nn.quadratic)
    model.zero_grad()  # the same cost through the model's own forward pass
    (autodiff.sum([nn.quadratic(model(x), t) for x, t in zip(inputs.tolist(), targets.tolist())])
     / len(inputs)).backward()
    for flow, layer in zip(flows, model.layers):
        weights, biases = layer.get_gradients()
        assert flow.bias_norm == pytest.approx(np.linalg.norm(biases), rel=1e-12)
        assert flow.weight_norm == pytest.approx(np.linalg.norm(weights), rel=1e-12)
    summed = measure(model, inputs, targets, nn.quadratic, reduction="sum")
    assert summed[0].bias_norm == pytest.approx(flows[0].bias_norm * len(inputs), rel=1e-12)


def test_earlier_sigmoid_layers_learn_more_slowly():
    # Nielsen's chapter 5: at N(0, 1) initialisation, ||delta|| shrinks layer by layer towards the input.
    inputs, targets = _data(rows=50, features=20, classes=10)
    model = nn.MLP(20, [30, 30, 30, 10], seed=0)
    norms = [flow.bias_norm for flow in measure(model, inputs, targets, nn.quadratic)]
    assert norms[0] < norms[1] < norms[2], norms


def test_saturation_counts_units_whose_derivative_vanishes():
    inputs, targets = _data()
    model = nn.MLP(6, [5, 3], seed=0)
    model.set_weights([np.full((6, 5), 50.0), np.zeros((5, 3))], [np.zeros(5), np.zeros(3)])
    hidden, output = measure(model, inputs, targets, nn.quadratic)
    assert hidden.saturated == 1.0 and output.saturated == 0.0  # sigmoid(0) = 0.5 is nowhere near flat
    assert hidden.bias_norm == 0.0  # a saturated layer passes no gradient
    linear = nn.MLP(6, [5, 3], output_activation="linear", seed=0)
    assert measure(linear, inputs, targets, nn.quadratic)[1].saturated is None


def test_fit_records_every_epoch_and_draws_a_table_and_a_plot(tmp_path):
    inputs, targets = _data()
    model = nn.MLP(6, [5, 3], seed=0)
    flow = GradientFlow(inputs[:10], targets[:10], nn.quadratic)
    history = nn.fit(model, inputs, targets, nn.quadratic, nn.SGD(model, lr=1.0), epochs=3, batch_size=10,
                     progress=False, evaluate=flow, mode="compiled")
    assert [epoch for epoch, _ in flow.records] == [1, 2, 3]
    assert history[-1].metrics["bias_norm.1"] == flow.records[-1][1][1].bias_norm
    lines = flow.table().splitlines()
    assert len(lines) == 1 + 3 * 2 and lines[1].split()[:2] == ["1", "0"]
    path = flow.plot(str(tmp_path / "flow.png"))
    assert open(path, "rb").read(4) == b"\x89PNG"


def test_measure_refuses_mismatched_batches():
    model = nn.MLP(2, [1])
    with pytest.raises(ValueError, match="3 inputs but 2 targets"):
        measure(model, np.zeros((3, 2)), [0.0, 1.0], nn.quadratic)
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        measure(model, np.zeros((3, 2)), [0.0, 1.0, 0.0], nn.quadratic, reduction="max")


# -- the drill-down: from a layer's norm to one neuron's chain of sigma' factors ---------------------


def test_the_drill_down_is_the_neurons_gradient_as_a_sum_over_paths():
    inputs, targets = _data()
    model = nn.MLP(6, [5, 4, 3], seed=2)
    drill = drill_down(model, inputs[0], targets[0], nn.quadratic, layer=0, top=2)
    model.zero_grad()  # the same sample's cost through the model's own forward pass
    nn.quadratic(model(inputs[0].tolist()), targets[0].tolist()).backward()
    _, biases = model.layers[0].get_gradients()
    assert drill.bias_gradients == pytest.approx(biases, rel=1e-12)
    assert drill.neuron == int(np.argmax(np.abs(biases)))  # the largest, by default
    assert drill.explanation.count == 4 * 3  # one path through each neuron of every later layer
    assert drill.explanation.total == pytest.approx(biases[drill.neuron], rel=1e-9)
    assert drill.explanation.agrees and len(drill.explanation.terms) == 2
    assert [f.name for f in drill.chain] == [f"sigmoid'(z[{layer}][{j}])" for layer, j in
                                             zip(range(3), _path_neurons(drill))]


def _path_neurons(drill) -> list[int]:
    """The neuron of each layer that the explanation's largest path runs through, from its node names."""
    largest = max(drill.explanation.terms, key=lambda term: abs(term.product))
    return [int(name.split("][")[1].rstrip("]")) for name in largest.nodes if name.startswith("z[")]


def test_a_chain_of_single_neurons_has_one_path_whose_sigma_primes_are_a_times_one_minus_a():
    model = nn.MLP(1, [1, 1, 1], seed=3)  # a0 -> a1 -> a2 -> a3, one neuron a layer
    drill = drill_down(model, [0.5], [1.0], nn.quadratic, layer=0)
    activations, a = [], [0.5]
    for layer in model.layers:
        a = [value.data for value in layer(a)]
        activations.append(a[0])
    assert drill.explanation.count == 1 and drill.explanation.complete
    assert [f.value for f in drill.chain] == pytest.approx([s * (1 - s) for s in activations], rel=1e-12)
    weights = [float(layer.get_weights()[0][0, 0]) for layer in model.layers[1:]]
    expected = np.prod([f.value for f in drill.chain]) * np.prod(weights) * (activations[-1] - 1.0)
    assert drill.explanation.total == pytest.approx(expected, rel=1e-12)  # Nielsen's chain, by hand
    text = str(drill)
    assert "1 path" in text and "3 of them at most 0.0156" in text and "they agree" in text


def test_the_probe_batch_drills_down_from_its_table():
    inputs, targets = _data()
    model = nn.MLP(6, [5, 3], seed=0)
    flow = GradientFlow(inputs[:4], targets[:4], nn.quadratic)
    drill = flow.drill_down(model, layer=1, sample=2, neuron=1)
    assert drill.neuron == 1 and drill.explanation.count == 1  # the output layer: one path
    assert drill.bias_gradients.shape == (3,)
    with pytest.raises(ValueError, match="samples 0..3, got 4"):
        flow.drill_down(model, layer=0, sample=4)


def test_the_drill_down_names_a_wrong_layer_or_neuron():
    model = nn.MLP(2, [3, 1])
    with pytest.raises(ValueError, match=r"layer must be 0..1 \(the model has 2 layers\), got 2"):
        drill_down(model, [0.0, 1.0], [1.0], nn.quadratic, layer=2)
    with pytest.raises(ValueError, match="layer 0 has neurons 0..2, got 3"):
        drill_down(model, [0.0, 1.0], [1.0], nn.quadratic, layer=0, neuron=3)


def test_the_plot_is_the_same_bytes_twice_as_svg(tmp_path):
    inputs, targets = _data()
    model = nn.MLP(6, [5, 3], seed=0)
    flow = GradientFlow(inputs[:10], targets[:10], nn.quadratic)
    flow(model, 1)
    first, second = flow.plot(str(tmp_path / "a.svg")), flow.plot(str(tmp_path / "b.svg"))
    assert open(first, "rb").read() == open(second, "rb").read()
