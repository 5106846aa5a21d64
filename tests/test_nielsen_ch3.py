"""Nielsen's chapter 3 in nn: cross-entropy of sigmoid outputs, L2 weight decay in his form, 1/sqrt(n_in)."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from autodiff import DomainError, Value


def test_weight_decay_is_nielsens_update_and_spares_biases():
    model = nn.MLP(2, [1], seed=0)
    weights, bias = model.layers[0].neurons[0].w, model.layers[0].neurons[0].b
    optimizer = nn.SGD(model.parameters(), lr=0.5, weight_decay=5.0 / 1000)
    before = [p.data for p in model.parameters()]
    optimizer.zero_grad()
    loss = nn.sigmoid_cross_entropy([model([1.0, -2.0])], [1.0])
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    optimizer.step()
    shrink = 1 - 0.5 * (5.0 / 1000)
    for p, old, g in zip([*weights, bias], before, grads):
        expected = old - 0.5 * g if p is bias else shrink * old - 0.5 * g  # (1 - eta lmbda/n) w - eta g
        assert p.data == expected, p.label


def test_weight_decay_can_take_biases_and_refuses_negative_numbers():
    b = Value(2.0, label="b")
    optimizer = nn.SGD([b], lr=0.1, weight_decay=0.5, decay_biases=True)
    b.grad = 0.0
    optimizer.step()
    assert b.data == 2.0 * (1 - 0.1 * 0.5)
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
        nn.SGD([b], lr=0.1, weight_decay=-1.0)
    assert "weight_decay=0.5" in repr(optimizer)


def test_weight_decay_is_the_same_in_compiled_and_scalar_mode():
    rng = np.random.default_rng(0)
    inputs, labels = rng.standard_normal((12, 3)), rng.integers(0, 2, 12)
    results = []
    for mode in ("scalar", "compiled"):
        model = nn.MLP(3, [4, 2], init="scaled", seed=1)
        optimizer = nn.SGD(model.parameters(), lr=0.5, weight_decay=0.1)
        nn.fit(model, inputs, labels, nn.sigmoid_cross_entropy, optimizer, epochs=3, batch_size=4,
               progress=False, mode=mode)
        results.append(np.concatenate([w.ravel() for w in model.get_weights()[0]]))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)
    undecayed = nn.MLP(3, [4, 2], init="scaled", seed=1)
    nn.fit(undecayed, inputs, labels, nn.sigmoid_cross_entropy, nn.SGD(undecayed.parameters(), lr=0.5),
           epochs=3, batch_size=4, progress=False, mode="compiled")
    plain = np.concatenate([w.ravel() for w in undecayed.get_weights()[0]])
    assert np.sum(results[1] ** 2) < np.sum(plain**2)  # decay shrinks the weights


def test_cross_entropy_of_sigmoid_outputs_has_delta_a_minus_y():
    z = [Value(0.3), Value(-1.2), Value(2.0)]
    a = [zj.sigmoid() for zj in z]
    cost = nn.sigmoid_cross_entropy(a, [0.0, 1.0, 0.0])
    cost.backward()
    expected = [aj.data - yj for aj, yj in zip(a, [0.0, 1.0, 0.0])]
    np.testing.assert_allclose([zj.grad for zj in z], expected, rtol=1e-12)
    logits = [Value(zj.data) for zj in z]
    same = nn.sigmoid_cross_entropy_with_logits(logits, 1)
    assert abs(same.data - cost.data) < 1e-12


def test_cross_entropy_of_a_saturated_sigmoid_is_a_domain_error_naming_the_logits_form():
    a = [Value(40.0).sigmoid()]  # rounds to exactly 1.0
    with pytest.raises(DomainError, match="log"):
        nn.sigmoid_cross_entropy(a, [0.0])
    assert nn.sigmoid_cross_entropy_with_logits([Value(40.0)], [0.0]).data == pytest.approx(40.0)


def test_cross_entropy_targets_are_checked():
    with pytest.raises(ValueError, match="class index 3 is out of range for 2 outputs"):
        nn.sigmoid_cross_entropy([Value(0.5), Value(0.5)], 3)
    with pytest.raises(ValueError, match=r"the target must lie in \[0, 1\], got 2.0"):
        nn.sigmoid_cross_entropy_with_logits([Value(0.5)], [2.0])


def test_scaled_initialisation_divides_by_the_square_root_of_the_fan_in():
    model = nn.MLP(400, [300], init="scaled", seed=0)
    weights, biases = model.get_weights()
    assert abs(np.std(weights[0]) - 1 / np.sqrt(400)) < 0.002
    assert abs(np.std(biases[0]) - 1.0) < 0.15
