"""Modules: names, labels, scopes, shapes, exact weights and initialisation."""

import math

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value


def graph(outputs):
    return autodiff.topological_order(autodiff.sum(outputs))


# -- parameters and names ------------------------------------------------------------


def test_parameter_count_and_names_mnist_sized():
    model = nn.MLP(784, [30, 10])
    names = [name for name, _ in model.named_parameters()]
    assert len(names) == len(model.parameters()) == 785 * 30 + 31 * 10
    assert len(set(names)) == len(names)
    assert names[:2] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1"]
    assert names[784] == "layers.0.neurons.0.b"
    assert names[-1] == "layers.1.neurons.9.b"
    assert names[-2] == "layers.1.neurons.9.w.29"


def test_names_are_stable_and_labels_are_full_names():
    a, b = nn.MLP(3, [4, 2], seed=0), nn.MLP(3, [4, 2], seed=1)
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    assert all(p.label == name for name, p in a.named_parameters())
    # A sub-module names its parameters relative to itself; labels stay full names.
    layer = a.layers[1]
    assert layer.name == "layers.1"
    assert layer.named_parameters()[0] == ("neurons.0.w.0", layer.neurons[0].w[0])
    assert layer.neurons[0].w[0].label == "layers.1.neurons.0.w.0"
    assert [m.name for m in layer.neurons] == ["layers.1.neurons.0", "layers.1.neurons.1"]


def test_bias_false_has_no_bias_parameters():
    model = nn.MLP(3, [4, 1], bias=False)
    assert len(model.parameters()) == 3 * 4 + 4
    assert not any(name.endswith(".b") for name, _ in model.named_parameters())


def test_zero_grad():
    model = nn.MLP(2, [2, 1])
    nn.quadratic(model([1.0, 2.0]), [1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


# -- forward ---------------------------------------------------------------------------


def test_layer_returns_a_list_even_for_one_neuron():
    out = nn.Layer(3, 1)([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)


def test_a_one_output_mlp_returns_a_value_so_it_reads_as_on_paper():
    model = nn.MLP(3, [4, 1], seed=0)
    out = model([1.0, 2.0, 3.0])
    assert isinstance(out, Value)
    loss = (out - 1.0) ** 2  # Karpathy-style: yout - ygt, no [0]
    loss.backward()
    assert all(p.grad != 0.0 for p in model.layers[1].parameters())
    two = nn.MLP(3, [4, 2], seed=0)([1.0, 2.0, 3.0])
    assert isinstance(two, list) and len(two) == 2


def test_neuron_is_one_sum_node_then_the_activation():
    neuron = nn.Neuron(3, activation="tanh")
    neuron.set_weights([0.5, -1.0, 2.0], 0.25)
    out = neuron([1.0, 2.0, 3.0])
    assert out.op == "tanh"
    (z,) = out.parents
    assert z.op == "sum" and len(z.parents) == 4
    assert z.data == 0.5 - 2.0 + 6.0 + 0.25
    assert out.data == math.tanh(z.data)


@pytest.mark.parametrize(
    "activation, f",
    [
        ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
        ("tanh", math.tanh),
        ("relu", lambda z: max(z, 0.0)),
        ("linear", lambda z: z),
    ],
)
def test_activations(activation, f):
    neuron = nn.Neuron(2, activation=activation)
    for w, x in [([0.3, -0.7], [1.0, 2.0]), ([1.5, 0.5], [1.0, 2.0])]:
        neuron.set_weights(w, -0.1)
        z = w[0] * x[0] + w[1] * x[1] - 0.1
        assert neuron(x).data == pytest.approx(f(z), rel=1e-14, abs=1e-15)


def test_softmax_layer_is_stable_and_sums_to_one():
    layer = nn.Layer(1, 3, activation="softmax")
    layer.set_weights([[1000.0, -1000.0, 999.0]], [0.0, 0.0, 0.0])
    probs = [p.data for p in layer([1.0])]
    e = np.exp(np.array([1000.0, -1000.0, 999.0]) - 1000.0)
    np.testing.assert_allclose(probs, e / e.sum(), rtol=1e-14)
    assert all(n.activation == "linear" for n in layer.neurons)


def test_one_neuron_layers_chain_rule_by_hand():
    # The 3Blue1Brown chain: a(l) = sigmoid(w(l) a(l-1) + b(l)), C0 = (a(L) - y)^2.
    model = nn.MLP(1, [1, 1, 1])
    ws, bs = [0.5, -1.2, 2.0], [0.1, 0.3, -0.4]
    model.set_weights([[[w]] for w in ws], [[b] for b in bs])
    x, y = 0.7, 1.0
    activations, zs = [x], []
    for w, b in zip(ws, bs):
        zs.append(w * activations[-1] + b)
        activations.append(1 / (1 + math.exp(-zs[-1])))
    cost = (model(x) - y) ** 2
    assert cost.data == pytest.approx((activations[-1] - y) ** 2, rel=1e-14)
    cost.backward()
    upstream = 2 * (activations[-1] - y)
    expected_w = [0.0] * 3
    for layer in (2, 1, 0):
        dz = upstream * activations[layer + 1] * (1 - activations[layer + 1])
        expected_w[layer] = dz * activations[layer]
        upstream = dz * ws[layer]
    grads = [w[0][0] for w in model.get_gradients()[0]]
    np.testing.assert_allclose(grads, expected_w, rtol=1e-12)


def test_scopes_and_labels_in_the_graph():
    model = nn.MLP(2, [2, 2], output_activation="softmax")
    out = model([0.5, -0.5])
    names = {name for name, _ in model.named_parameters()}
    neuron_scopes = {f"layers.{i}.neurons.{j}" for i in range(2) for j in range(2)}
    created = []
    for node in graph(out)[:-1]:  # the last node is the test's own sum
        if node.op == "":
            assert node.label in names or node.label in ("x.0", "x.1")
        else:
            created.append(node)
    assert created and all(node.scope in neuron_scopes | {"layers.1"} for node in created)
    # The softmax belongs to the output layer, the neurons' sums to the neurons.
    assert {p.scope for p in out} == {"layers.1"}
    sums = [n for n in graph(out) if n.op == "sum" and len(n.parents) == 3]
    assert {n.scope for n in sums} == neuron_scopes


def test_inputs_become_leaves_once_per_forward():
    model = nn.MLP(3, [4, 2])
    leaves = [n for n in graph(model([1.0, 2.0, 3.0])) if n.op == "" and n.label.startswith("x.")]
    assert sorted(n.label for n in leaves) == ["x.0", "x.1", "x.2"]
    assert [n.data for n in sorted(leaves, key=lambda n: n.label)] == [1.0, 2.0, 3.0]


def test_values_given_as_inputs_are_used_as_they_are():
    model = nn.MLP(2, [1])
    x = [Value(1.0, label="a"), Value(2.0, label="b")]
    model(x).backward()
    assert x[0].grad != 0.0 and x[1].grad != 0.0


def test_wrong_input_length_names_the_neuron():
    model = nn.MLP(3, [2])
    with pytest.raises(ValueError, match=r"Neuron layers\.0\.neurons\.0 has 3 inputs but got 2"):
        model([1.0, 2.0])


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: nn.Neuron(2, activation="softmax"), "softmax acts on a whole Layer"),
        (lambda: nn.Layer(2, 2, activation="swish"), "unknown activation 'swish'"),
        (lambda: nn.MLP(2, [3, 2], activation="softmax"), "softmax is for the output layer"),
        (lambda: nn.MLP(2, []), "at least one layer"),
        (lambda: nn.MLP(2, [0]), "nout must be a positive int"),
        (lambda: nn.MLP(2, [3], init="glorot"), "unknown init scheme 'glorot'"),
    ],
)
def test_bad_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_repr():
    assert repr(nn.MLP(3, [4, 1], bias=False)) == (
        "MLP(3, [4, 1], activation='sigmoid', output_activation='sigmoid', bias=False)"
    )
    assert repr(nn.Layer(2, 3, activation="softmax")) == "Layer(2, 3, activation='softmax', bias=True)"


# -- exact weights ---------------------------------------------------------------------


def test_set_and_get_weights_round_trip_and_x_at_W():
    rng = np.random.default_rng(0)
    model = nn.MLP(3, [4, 2], activation="tanh", output_activation="linear")
    weights = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]
    biases = [rng.standard_normal(4), rng.standard_normal(2)]
    model.set_weights(weights, biases)
    got_w, got_b = model.get_weights()
    for a, b in zip(got_w + got_b, weights + biases):
        assert np.array_equal(a, b)
    x = rng.standard_normal(3)
    expected = np.tanh(x @ weights[0] + biases[0]) @ weights[1] + biases[1]
    np.testing.assert_allclose([o.data for o in model(x)], expected, rtol=1e-12)


def test_set_weights_shape_error_names_layer_and_shapes_and_changes_nothing():
    model = nn.MLP(3, [4, 2])
    before = model.get_weights()
    with pytest.raises(ValueError) as error:
        model.set_weights([np.ones((3, 4)), np.ones((4, 3))], [np.ones(4), np.ones(2)])
    assert "layer 1 (layers.1)" in str(error.value)
    assert "(4, 2)" in str(error.value) and "(4, 3)" in str(error.value)
    after = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before[0] + before[1], after[0] + after[1]))


def test_set_weights_transposed_gets_a_hint():
    model = nn.MLP(3, [4])
    with pytest.raises(ValueError, match="transpose"):
        model.set_weights([np.ones((4, 3))], [np.ones(4)])


def test_set_weights_bias_mismatches():
    with pytest.raises(ValueError, match="has biases"):
        nn.MLP(3, [4]).set_weights([np.ones((3, 4))])
    with pytest.raises(ValueError, match="bias=False"):
        nn.MLP(3, [4], bias=False).set_weights([np.ones((3, 4))], [np.ones(4)])
    with pytest.raises(ValueError, match=r"0 \(layers.0\): biases of shape \(4,\) expected, got \(3,\)"):
        nn.MLP(3, [4]).set_weights([np.ones((3, 4))], [np.ones(3)])
    with pytest.raises(ValueError, match="2 layers, got 1 weight arrays"):
        nn.MLP(3, [4, 1]).set_weights([np.ones((3, 4))])
    with pytest.raises(ValueError, match="finite"):
        nn.MLP(1, [1]).set_weights([[[math.nan]]], [[0.0]])


def test_neuron_set_weights_checks_everything_before_changing_anything():
    neuron = nn.Neuron(2, activation="linear")
    before = [p.data for p in neuron.parameters()]
    bad = [
        (([3.0, 4.0], [1.0, 2.0]), r"bias of shape \(\) expected, got \(2,\)"),
        (([3.0, 4.0], "one"), "bias must be numbers"),
        (([3.0, math.nan], 1.0), "weights must be finite"),
        (([3.0, 4.0], math.inf), "bias must be finite"),
        (([3.0], 1.0), r"weights of shape \(2,\) expected, got \(1,\)"),
    ]
    for arguments, message in bad:
        with pytest.raises(ValueError, match=message):
            neuron.set_weights(*arguments)
        assert [p.data for p in neuron.parameters()] == before
    neuron.set_weights(np.array([3.0, 4.0]), np.float64(1.0))
    assert [p.data for p in neuron.parameters()] == [3.0, 4.0, 1.0]


def test_set_weights_makes_old_graphs_stale():
    model = nn.MLP(2, [1])
    out = model([1.0, 1.0])
    model.set_weights(*model.get_weights())
    with pytest.raises(autodiff.StaleGraphError):
        out.backward()


# -- initialisation --------------------------------------------------------------------


@pytest.mark.parametrize("init", nn.init.SCHEMES)
def test_init_reproducible_from_seed(init):
    a, b = nn.MLP(5, [4, 3], init=init, seed=7), nn.MLP(5, [4, 3], init=init, seed=7)
    c = nn.MLP(5, [4, 3], init=init, seed=8)
    data = lambda m: [p.data for p in m.parameters()]
    assert data(a) == data(b)
    assert data(a) != data(c)
    generator = nn.MLP(5, [4, 3], init=init, seed=np.random.default_rng(7))
    assert data(generator) == data(a)


def test_neurons_of_a_layer_differ():
    layer = nn.Layer(3, 4)
    assert len({tuple(p.data for p in n.w) for n in layer.neurons}) == 4


@pytest.mark.parametrize(
    "init, mean, std, low, high",
    [
        ("normal", 0.0, 1.0, -math.inf, math.inf),
        ("uniform", 0.5, math.sqrt(1 / 12), 0.0, 1.0),
        ("xavier", 0.0, math.sqrt(6 / 250) / math.sqrt(3), -math.sqrt(6 / 250), math.sqrt(6 / 250)),
        ("he", 0.0, math.sqrt(2 / 200), -math.inf, math.inf),
    ],
)
def test_init_distributions_are_plausible(init, mean, std, low, high):
    layer = nn.Layer(200, 50, init=init, seed=3)
    w, b = layer.get_weights()
    assert abs(w.mean() - mean) < 5 * std / math.sqrt(w.size)
    assert abs(w.std() / std - 1) < 0.05
    assert low <= w.min() and w.max() < high
    if init in ("xavier", "he"):
        assert not b.any()
    else:
        assert b.std() > 0.1 and low <= b.min() and b.max() < high


def test_init_rejects_bad_random_source():
    with pytest.raises(TypeError, match="int seed or a numpy Generator"):
        nn.Neuron(2, seed="seven")


def test_neuron_layer_and_mlp_share_the_seed_vocabulary():
    def numbers(part: nn.Module) -> list[float]:
        return [p.data for p in part.parameters()]

    # The same int seed gives the same weights, for every part.
    assert numbers(nn.Neuron(3, seed=5)) == numbers(nn.Neuron(3, seed=5)) != numbers(nn.Neuron(3, seed=6))
    assert numbers(nn.Layer(3, 2, seed=7)) == numbers(nn.Layer(3, 2, seed=7)) != numbers(nn.Layer(3, 2))
    # A Generator is one stream: an MLP's layers are its Layers drawn from it in turn.
    generator = np.random.default_rng(4)
    layers = [nn.Layer(2, 3, seed=generator), nn.Layer(3, 1, seed=generator)]
    model = nn.MLP(2, [3, 1], seed=np.random.default_rng(4))
    for layer, (w, b) in zip(layers, zip(*model.get_weights())):
        np.testing.assert_array_equal(layer.get_weights()[0], w)
        np.testing.assert_array_equal(layer.get_weights()[1], b)
    # The default is seed 0 everywhere.
    assert numbers(nn.Neuron(2)) == numbers(nn.Neuron(2, seed=0))
    with pytest.raises(TypeError, match="rng"):
        nn.Layer(2, 1, rng=0)  # the old keyword is gone: one name, seed=


# -- state dicts -------------------------------------------------------------------------


def test_state_dict_groups_and_load_state_dict_checks_everything():
    model = nn.MLP(2, [3, 1], seed=0)
    state = model.state_dict()
    assert sorted(state)[:2] == ["layers.0.neurons.0.b", "layers.0.neurons.0.w"]
    assert state["layers.0.neurons.0.w"].shape == (2,) and state["layers.1.neurons.0.b"].shape == ()
    other = nn.MLP(2, [3, 1], seed=1)
    other.load_state_dict(state)
    assert [p.data for p in other.parameters()] == [p.data for p in model.parameters()]
    broken = dict(state, **{"layers.1.neurons.0.w": np.zeros(4)})
    with pytest.raises(ValueError, match=r"'layers.1.neurons.0.w' has shape \(4,\), the model needs \(3,\)"):
        other.load_state_dict(broken)
