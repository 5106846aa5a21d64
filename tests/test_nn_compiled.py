"""nn in compiled mode: the same training and predictions as scalar mode, from one traced program."""

import numpy as np
import pytest

import nn
from autodiff.compiled import TraceError
from nn import datasets
from nn.train import fit, predict


def weights_of(model):
    weights, biases = model.get_weights()
    return np.concatenate([w.ravel() for w in weights] + [b.ravel() for b in (biases or [])])


def train_twice(make_model, make_optimizer, inputs, targets, loss, **options):
    results = {}
    for mode in ("scalar", "compiled"):
        model = make_model()
        optimizer = make_optimizer(model)
        history = fit(model, inputs, targets, loss, optimizer, progress=False, mode=mode, **options)
        results[mode] = (model, history)
    return results


def test_xor_trains_to_the_same_weights_in_both_modes():
    x, y = datasets.xor()
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def make_model():
        model = nn.MLP(3, [4, 1], bias=False, seed=1)
        rng = np.random.RandomState(1)
        model.set_weights([rng.random_sample((3, 4)), rng.random_sample((4, 1))])
        return model

    results = train_twice(make_model, lambda m: nn.SGD(m, lr=1.0), x, y, nn.quadratic,
                          epochs=200, reduction="sum")
    scalar, compiled = results["scalar"], results["compiled"]
    assert compiled[1].mode == "compiled"
    np.testing.assert_allclose(weights_of(compiled[0]), weights_of(scalar[0]), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(compiled[1].losses, scalar[1].losses, rtol=1e-9)


def test_class_labels_minibatches_momentum_and_metrics_match_scalar_mode():
    x, labels = datasets.gaussian_clouds(n_per_class=20, seed=3)
    metrics = {"accuracy": nn.accuracy}
    results = train_twice(
        lambda: nn.MLP(2, [3, 3], activation="sigmoid", output_activation="linear", seed=2),
        lambda m: nn.SGD(m, lr=0.05, momentum=0.9),
        x, labels, nn.cross_entropy, epochs=5, batch_size=7, seed=4, metrics=metrics,
    )
    (scalar_model, scalar), (compiled_model, compiled) = results["scalar"], results["compiled"]
    np.testing.assert_allclose(weights_of(compiled_model), weights_of(scalar_model), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(compiled.losses, scalar.losses, rtol=1e-9)
    assert compiled.metric("accuracy") == scalar.metric("accuracy")


def test_adam_state_follows_the_parameters_whatever_the_programs_order():
    x, labels = datasets.gaussian_clouds(n_per_class=10, seed=0)
    results = train_twice(
        lambda: nn.MLP(2, [4, 3], activation="tanh", output_activation="linear", seed=5),
        lambda m: nn.Adam(m, lr=0.01), x, labels, nn.cross_entropy, epochs=3, batch_size=8,
    )
    scalar_model, compiled_model = results["scalar"][0], results["compiled"][0]
    np.testing.assert_allclose(weights_of(compiled_model), weights_of(scalar_model), rtol=1e-9, atol=1e-12)


def test_predict_compiled_equals_predict_scalar_and_sees_later_training():
    model = nn.MLP(4, [5, 3], seed=0)
    inputs = np.random.default_rng(0).normal(size=(9, 4))
    np.testing.assert_allclose(predict(model, inputs, mode="compiled"), predict(model, inputs), rtol=1e-12)
    for p in model.parameters():
        p.data = p.data * 0.5  # the cached program reads the new numbers
    np.testing.assert_allclose(predict(model, inputs, mode="compiled"), predict(model, inputs), rtol=1e-12)


def test_a_loss_that_branches_on_data_is_refused_with_advice():
    model = nn.MLP(2, [1], activation="linear", seed=0)
    model.set_weights([np.array([[1.0], [0.0]])], [np.array([0.0])])  # output = first input

    def branching(output, target):  # the graph differs between samples: it cannot be replayed
        return output * output if output > 0 else -output

    with pytest.raises(TraceError, match="compiled mode cannot trace the loss.*mode='scalar'"):
        fit(model, [[1.0, 2.0], [-3.0, 4.0]], [1.0, 0.0], branching, nn.SGD(model, lr=0.1), epochs=1,
            progress=False, mode="compiled")


def test_interrupted_compiled_training_writes_the_parameters_back():
    model = nn.MLP(2, [1], activation="linear", seed=0)
    before = weights_of(model)
    calls = []

    def loss(output, target):
        calls.append(1)
        return nn.quadratic(output, target)

    def stop(model, epoch):
        raise nn.StopTraining("enough")

    history = fit(model, [[1.0, 2.0], [3.0, 4.0]], [[1.0], [0.0]], loss, nn.SGD(model, lr=0.01), epochs=5,
                  evaluate=stop, progress=False, mode="compiled")
    assert history.stopped_early and len(history) == 1
    assert not np.allclose(weights_of(model), before)  # the step taken in the vector reached the Values


def test_a_model_output_the_loss_ignores_is_still_checked_for_data_dependence():
    layer = nn.MLP(2, [2], seed=0)

    def model(x):
        out = layer(x)
        second = out[1] * 2 if out[1].data > 0.5 else out[1] * 3  # a decision the loss never sees
        return [out[0], second]

    def loss(output, target):
        return (output[0] - target[0]) ** 2

    model.parameters = layer.parameters
    x = np.array([[1.0, 2.0], [-3.0, -1.0], [2.0, -2.0], [-1.0, 3.0]])
    # The loss's trace records the model's outputs too, and its check compares them.
    with pytest.raises(TraceError, match="depends on its inputs: node .* is the constant 3.0"):
        fit(model, x, np.zeros((4, 1)), loss, nn.SGD(layer, lr=0.1), epochs=1, progress=False,
            mode="compiled")


def test_fit_then_predict_trace_the_loss_with_its_checks_and_nothing_more(monkeypatch):
    import autodiff.compiled

    calls = []
    real = autodiff.compiled.trace

    def counting(fn, sample, names, params, full=True, differentiate="no"):
        calls.append((full, differentiate))
        return real(fn, sample, names, params, full, differentiate)

    model = nn.MLP(2, [3, 1], seed=0)
    x, y = np.random.default_rng(0).random((8, 2)), np.random.default_rng(1).random((8, 1))
    monkeypatch.setattr(autodiff.compiled, "trace", counting)
    fit(model, x, y, nn.quadratic, nn.SGD(model, lr=0.1), epochs=1, progress=False, mode="compiled",
        metrics={"mse": lambda out, want: float(np.mean((out - want) ** 2))})
    predicted = predict(model, x, mode="compiled")
    # The loss with its gradients once and its three check rows (the loss alone); the model's
    # program comes from the loss's trace.
    assert calls == [(True, "first"), (False, "no"), (False, "no"), (False, "no")]
    expected = [model(row).data for row in x.tolist()]
    assert np.allclose(predicted.ravel(), expected, rtol=1e-12, atol=0)
