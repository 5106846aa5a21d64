"""nn.gradient_flow: per-layer gradient norms and saturation, the view behind Nielsen's chapter 5."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import nn
from nn.gradient_flow import GradientFlow, measure


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
