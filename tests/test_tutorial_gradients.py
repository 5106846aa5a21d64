"""The engine's gradients against the hand-derived ones of the tutorials the project follows.

Each test builds a network with nn, gives it the same weights as a NumPy
implementation of a tutorial's hand-written backpropagation (re-implemented here,
from the formulas), and requires the same gradients to 1e-9 relative.
"""

import numpy as np
import pytest

import autodiff
import nn

RTOL = 1e-9


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def assert_close(engine, by_hand):
    np.testing.assert_allclose(engine, by_hand, rtol=RTOL, atol=1e-15)


# -- Nielsen's four equations ("Neural Networks and Deep Learning") ----------------------------


def nielsen_backprop(weights, biases, x, y):
    """Nielsen's backprop, (nout, nin) weights: delta^L = (a - y) s'(z^L), delta^l = (W^T delta) s'(z^l)."""
    activations, zs = [x], []
    for w, b in zip(weights, biases):
        zs.append(w @ activations[-1] + b)
        activations.append(sigmoid(zs[-1]))
    nabla_w, nabla_b = [None] * len(weights), [None] * len(weights)
    delta = (activations[-1] - y) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
    for layer in range(len(weights) - 1, -1, -1):
        nabla_b[layer] = delta
        nabla_w[layer] = np.outer(delta, activations[layer])
        if layer:
            sp = sigmoid(zs[layer - 1]) * (1 - sigmoid(zs[layer - 1]))
            delta = (weights[layer].T @ delta) * sp
    return nabla_w, nabla_b


@pytest.fixture
def nielsen_net():
    rng = np.random.default_rng(42)
    sizes = [4, 5, 3]
    weights = [rng.standard_normal((o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal(o) for o in sizes[1:]]
    model = nn.MLP(4, [5, 3])
    model.set_weights([w.T for w in weights], biases)  # nn takes (nin, nout): the transpose
    return model, weights, biases, rng


def test_nielsen_four_equations_one_sample(nielsen_net):
    model, weights, biases, rng = nielsen_net
    x, y = rng.standard_normal(4), rng.random(3)
    nn.quadratic(model(x), y).backward()
    grad_w, grad_b = model.get_gradients()
    nabla_w, nabla_b = nielsen_backprop(weights, biases, x, y)
    for layer in range(2):
        assert_close(grad_w[layer], nabla_w[layer].T)
        assert_close(grad_b[layer], nabla_b[layer])


def test_nielsen_mini_batch_mean_is_his_averaged_update(nielsen_net):
    # update_mini_batch: w -= eta/len(batch) * sum of nablas, i.e. the gradient of the mean loss.
    model, weights, biases, rng = nielsen_net
    batch = [(rng.standard_normal(4), rng.random(3)) for _ in range(5)]
    loss = autodiff.sum([nn.quadratic(model(x), y) for x, y in batch]) / len(batch)
    loss.backward()
    grad_w, grad_b = model.get_gradients()
    per_sample = [nielsen_backprop(weights, biases, x, y) for x, y in batch]
    for layer in range(2):
        assert_close(grad_w[layer], sum(nw[layer] for nw, _ in per_sample).T / len(batch))
        assert_close(grad_b[layer], sum(nb[layer] for _, nb in per_sample) / len(batch))


# -- Alex Punnen's XOR chapter: two sigmoid layers without biases, full batch ------------------

X003 = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
Y003 = np.array([[0, 1, 1, 0]], dtype=float).T


@pytest.fixture
def xor_chapter():
    np.random.seed(1)
    w1 = np.random.random((3, 4))
    w2 = np.random.random((4, 1))
    model = nn.MLP(3, [4, 1], bias=False)
    model.set_weights([w1, w2])
    return model, w1, w2


def test_xor_chapter_initial_outputs(xor_chapter):
    model, _, _ = xor_chapter
    outputs = [model(x).data for x in X003]
    assert np.round(outputs, 3).tolist() == [0.758, 0.771, 0.791, 0.801]


def test_xor_chapter_dC_dw1_dC_dw2(xor_chapter):
    model, w1, w2 = xor_chapter
    # The chapter's derivation: delta2 = a2 - y; dC_dw2 = a1^T (delta2 * s'(z2));
    # dC_dw1 = a0^T ((delta2 * s'(z2)) w2^T * s'(z1)).
    z1 = X003 @ w1
    a1 = sigmoid(z1)
    z2 = a1 @ w2
    a2 = sigmoid(z2)
    delta2 = (a2 - Y003) * sigmoid(z2) * (1 - sigmoid(z2))
    dC_dw2 = a1.T @ delta2
    dC_dw1 = X003.T @ ((delta2 @ w2.T) * sigmoid(z1) * (1 - sigmoid(z1)))

    cost = autodiff.sum([nn.quadratic(model(x), y) for x, y in zip(X003, Y003)])
    assert cost.data == pytest.approx(0.5 * np.sum((Y003 - a2) ** 2), rel=1e-12)
    cost.backward()
    (g1, g2), biases = model.get_gradients()
    assert biases is None
    assert_close(g1, dC_dw1)
    assert_close(g2, dC_dw2)


# -- the Gaussian-clouds softmax tutorial: sigmoid hidden layer, softmax output, log-likelihood ascent -


@pytest.fixture
def clouds_tutorial():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((7, 2)) * 2
    labels = rng.integers(0, 3, size=7)
    T = np.eye(3)[labels]
    W1, b1 = rng.standard_normal((2, 3)), rng.standard_normal(3)
    W2, b2 = rng.standard_normal((3, 3)), rng.standard_normal(3)
    # The tutorial's forward pass and hand-written derivatives of cost = sum(T log Y).
    Z = sigmoid(X @ W1 + b1)
    A = Z @ W2 + b2
    Y = np.exp(A) / np.exp(A).sum(axis=1, keepdims=True)
    by_hand = {
        "w2": Z.T @ (T - Y),
        "b2": (T - Y).sum(axis=0),
        "w1": X.T @ ((T - Y) @ W2.T * Z * (1 - Z)),
        "b1": ((T - Y) @ W2.T * Z * (1 - Z)).sum(axis=0),
        "cost": np.sum(T * np.log(Y)),
    }
    return X, labels, [W1, W2], [b1, b2], by_hand


@pytest.mark.parametrize("head", ["softmax+nll", "logits+cross_entropy"])
def test_clouds_tutorial_derivatives_are_minus_engine_gradients(clouds_tutorial, head):
    X, labels, weights, biases, by_hand = clouds_tutorial
    output = "softmax" if head == "softmax+nll" else "linear"
    model = nn.MLP(2, [3, 3], activation="sigmoid", output_activation=output)
    model.set_weights(weights, biases)
    loss_of = nn.nll if output == "softmax" else nn.cross_entropy
    # The engine minimises -cost; the tutorial climbs cost: its derivatives are minus our gradients.
    loss = autodiff.sum([loss_of(model(x), int(t)) for x, t in zip(X, labels)])
    assert loss.data == pytest.approx(-by_hand["cost"], rel=1e-12)
    loss.backward()
    (gw1, gw2), (gb1, gb2) = model.get_gradients()
    assert_close(-gw2, by_hand["w2"])
    assert_close(-gb2, by_hand["b2"])
    assert_close(-gw1, by_hand["w1"])
    assert_close(-gb1, by_hand["b1"])
