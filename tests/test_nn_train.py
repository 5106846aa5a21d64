"""nn.fit: histories, batch conventions, shuffling, hooks, Ctrl-C and the progress bar."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import autodiff
import nn
from nn.train import StopTraining, fit, predict

INPUTS = np.array([[0.5, -1.0], [1.5, 0.25], [-0.5, 2.0], [1.0, 1.0], [0.0, -0.5]])
TARGETS = np.array([[1.0], [0.0], [0.5], [2.0], [-1.0]])


def line(seed: int = 0) -> nn.MLP:
    """A linear model y = x @ w + b with known starting weights."""
    model = nn.MLP(2, [1], activation="linear", seed=seed)
    model.set_weights([np.array([[0.3], [-0.2]])], [np.array([0.1])])
    return model


def flat(model: nn.MLP) -> np.ndarray:
    return np.array([p.data for p in model.parameters()])


def per_sample_gradients(model: nn.MLP, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Gradients of the quadratic cost 1/2 (x.w + b - y)^2 by (w1, w2, b), by hand, one row per sample."""
    (w,), (b,) = model.get_weights()
    residual = inputs @ w[:, 0] + b[0] - targets[:, 0]
    return np.column_stack([residual * inputs[:, 0], residual * inputs[:, 1], residual])


def sgd(model, lr=0.1):
    return nn.SGD(model.parameters(), lr=lr)


# -- history ------------------------------------------------------------------------


def test_history_has_one_record_per_epoch_with_falling_loss():
    model = line()
    history = fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model), epochs=30, progress=False)
    assert [r.epoch for r in history] == list(range(1, 31))
    assert all(later < earlier for earlier, later in zip(history.losses, history.losses[1:]))
    assert all(r.steps == 1 and r.complete and r.seconds >= 0 for r in history)
    assert not history.stopped_early and not history.interrupted
    assert history.mode == "scalar" and len(history) == 30 and history[-1].epoch == 30


def test_epoch_loss_is_the_loss_before_that_epochs_step():
    model = line()
    (w,), (b,) = model.get_weights()
    expected = np.mean(0.5 * (INPUTS @ w[:, 0] + b[0] - TARGETS[:, 0]) ** 2)
    history = fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model), epochs=1, progress=False)
    assert history.losses[0] == pytest.approx(expected, rel=1e-12)


def test_zero_epochs_change_nothing():
    model = line()
    before = flat(model)
    history = fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model), epochs=0, progress=False)
    assert len(history) == 0 and np.array_equal(flat(model), before)


# -- reduction conventions ------------------------------------------------------------


def test_full_batch_mean_takes_the_average_gradient():
    model = line()
    expected = flat(model) - 0.1 * per_sample_gradients(model, INPUTS, TARGETS).mean(axis=0)
    fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model, 0.1), epochs=1, reduction="mean", progress=False)
    np.testing.assert_allclose(flat(model), expected, rtol=1e-12)


def test_full_batch_sum_takes_the_summed_gradient():
    """The convention of Alex Punnen's XOR chapter: the cost summed over every sample."""
    model = line()
    expected = flat(model) - 0.1 * per_sample_gradients(model, INPUTS, TARGETS).sum(axis=0)
    history = fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model, 0.1), epochs=1, reduction="sum",
                  progress=False)
    np.testing.assert_allclose(flat(model), expected, rtol=1e-12)
    fresh = line()
    mean = fit(fresh, INPUTS, TARGETS, nn.quadratic, sgd(fresh), epochs=1, progress=False)
    assert history.losses[0] == pytest.approx(mean.losses[0] * len(INPUTS))


def test_mini_batch_mean_is_nielsens_update():
    """Nielsen's rule: w -= eta/len(batch) * (sum of the batch's per-sample gradients), batch after batch."""
    model, reference = line(), line()
    fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model, 0.5), epochs=1, batch_size=2, shuffle=False,
        progress=False)
    params = flat(reference)
    for begin in range(0, len(INPUTS), 2):  # batches of 2, 2 and 1
        x, y = INPUTS[begin:begin + 2], TARGETS[begin:begin + 2]
        reference.set_weights([params[:2, None]], [params[2:]])
        params = params - 0.5 / len(x) * per_sample_gradients(reference, x, y).sum(axis=0)
    np.testing.assert_allclose(flat(model), params, rtol=1e-12)


def test_epoch_loss_of_mini_batches_is_over_the_whole_epoch():
    model = line()
    history = fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model, 1e-9), epochs=1, batch_size=2,
                  progress=False)
    (w,), (b,) = line().get_weights()
    expected = np.mean(0.5 * (INPUTS @ w[:, 0] + b[0] - TARGETS[:, 0]) ** 2)  # lr ~ 0: weights barely move
    assert history.losses[0] == pytest.approx(expected, rel=1e-6)
    assert history[0].steps == 3


# -- shuffling ---------------------------------------------------------------------------


def recording_loss(seen: list[float]):
    def loss(output, target):
        seen.append(target[0])
        return nn.quadratic(output, target)
    return loss


def sample_orders(seed: int, shuffle: bool = True, batch_size: int | None = 1, epochs: int = 3):
    seen: list[float] = []
    targets = np.arange(len(INPUTS), dtype=float)[:, None]
    model = line()
    fit(model, INPUTS, targets, recording_loss(seen), sgd(model, 1e-3), epochs=epochs, batch_size=batch_size,
        shuffle=shuffle, seed=seed, progress=False)
    return [seen[i:i + len(INPUTS)] for i in range(0, len(seen), len(INPUTS))], flat(model)


def test_shuffling_is_a_new_permutation_each_epoch_and_deterministic_from_the_seed():
    orders, weights = sample_orders(seed=7)
    again, weights_again = sample_orders(seed=7)
    other, _ = sample_orders(seed=8)
    assert orders == again and np.array_equal(weights, weights_again)
    assert orders != other
    assert all(sorted(order) == [0, 1, 2, 3, 4] for order in orders)
    assert len({tuple(order) for order in orders}) > 1


def test_no_shuffle_and_full_batch_keep_the_given_order():
    assert sample_orders(seed=7, shuffle=False)[0] == [[0, 1, 2, 3, 4]] * 3
    assert sample_orders(seed=7, batch_size=None)[0] == [[0, 1, 2, 3, 4]] * 3


def test_fit_leaves_numpys_global_random_state_alone():
    np.random.seed(5)
    expected = np.random.random()
    np.random.seed(5)
    sample_orders(seed=1)
    assert np.random.random() == expected


# -- metrics and the evaluate hook -------------------------------------------------------------


def test_metrics_see_the_epochs_outputs_in_sample_order():
    model = nn.MLP(2, [3], activation="linear", seed=1)
    labels = np.array([0, 1, 2, 1, 0])
    calls = []

    def check(outputs, targets):
        calls.append((outputs.copy(), targets.copy()))
        return 0.25

    history = fit(model, INPUTS, labels, nn.cross_entropy, sgd(model, 1e-12), epochs=2, batch_size=2, seed=3,
                  metrics={"check": check, "accuracy": nn.accuracy}, progress=False)
    outputs, targets = calls[0]
    assert np.array_equal(targets, labels)
    np.testing.assert_allclose(outputs, predict(model, INPUTS), rtol=1e-9)  # lr ~ 0: same model
    assert history.metric("check") == [0.25, 0.25]
    assert history[0].metrics["accuracy"] == nn.accuracy(outputs, labels)


def test_evaluate_hook_results_join_the_history():
    model = line()
    calls = []

    def evaluate(m, epoch):
        calls.append(epoch)
        return {"double": 2.0 * epoch}

    history = fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model), epochs=3, evaluate=evaluate,
                  progress=False)
    assert calls == [1, 2, 3]
    assert history.metric("double") == [2.0, 4.0, 6.0]


def test_stop_training_from_the_hook_stops_early():
    model = line()

    def evaluate(m, epoch):
        if epoch == 4:
            raise StopTraining("good enough")

    history = fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model), epochs=50, evaluate=evaluate,
                  progress=False)
    assert len(history) == 4 and history.stopped_early and history.stop_reason == "good enough"
    assert not history.interrupted


# -- Ctrl-C -------------------------------------------------------------------------------------


def interrupting_loss(after_calls: int, action):
    calls = [0]

    def loss(output, target):
        calls[0] += 1
        if calls[0] == after_calls:
            action()
        return nn.quadratic(output, target)
    return loss


def raise_interrupt():
    raise KeyboardInterrupt


def test_keyboard_interrupt_inside_a_step_keeps_the_model_and_history(capsys):
    model = line()
    # 5 samples per full-batch step: the 13th loss call is inside step 3, which is dropped.
    history = fit(model, INPUTS, TARGETS, interrupting_loss(13, raise_interrupt), sgd(model), epochs=10,
                  progress=False)
    assert history.interrupted and len(history) == 2
    reference = line()
    fit(reference, INPUTS, TARGETS, nn.quadratic, sgd(reference), epochs=2, progress=False)
    np.testing.assert_array_equal(flat(model), flat(reference))
    assert "interrupted" in capsys.readouterr().err


def test_keyboard_interrupt_mid_epoch_keeps_a_partial_epoch():
    model = line()
    history = fit(model, INPUTS, TARGETS, interrupting_loss(4, raise_interrupt), sgd(model), epochs=5,
                  batch_size=1, shuffle=False, progress=False)
    assert history.interrupted and len(history) == 1
    assert history[0].steps == 3 and not history[0].complete


def test_ctrl_c_signal_stops_after_the_current_step(capsys):
    model = line()
    ctrl_c = lambda: os.kill(os.getpid(), signal.SIGINT)  # noqa: E731
    history = fit(model, INPUTS, TARGETS, interrupting_loss(13, ctrl_c), sgd(model), epochs=10,
                  progress=False)
    assert history.interrupted and len(history) == 3  # step 3 was finished, then training stopped
    reference = line()
    fit(reference, INPUTS, TARGETS, nn.quadratic, sgd(reference), epochs=3, progress=False)
    np.testing.assert_array_equal(flat(model), flat(reference))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    assert "stopping after this step" in capsys.readouterr().err


# -- inputs as given ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["scalar", "compiled"])
def test_float32_inputs_train_exactly_as_their_float64_copy(mode):
    # fit takes float arrays without a copy; every float32 is a float64, so the numbers are the same.
    inputs = INPUTS.astype(np.float32)
    models = {}
    for dtype_inputs in (inputs, inputs.astype(np.float64)):
        model = line()
        history = fit(model, dtype_inputs, TARGETS, nn.quadratic, sgd(model), epochs=3, batch_size=2,
                      mode=mode, progress=False, metrics={"mean": lambda out, want: float(out.mean())})
        models[dtype_inputs.dtype.name] = (flat(model).tolist(), history.losses, history.metric("mean"))
    assert models["float32"] == models["float64"]
    predictions = [predict(line(), given, mode=mode).tolist() for given in (inputs, inputs.astype(float))]
    assert predictions[0] == predictions[1]


def test_inputs_whose_sum_overflows_are_finite_and_an_inf_anywhere_is_named():
    model = nn.MLP(2, [1], activation="linear")
    big = np.full((5, 2), 3e38, dtype=np.float32)  # their float32 sum overflows; each one is finite
    fit(model, big, TARGETS, nn.quadratic, sgd(model, 1e-90), epochs=0, progress=False)
    big[3, 1] = np.inf
    with pytest.raises(ValueError, match="finite numbers; sample 3 is"):
        fit(model, big, TARGETS, nn.quadratic, sgd(model), epochs=1, progress=False)


# -- progress ----------------------------------------------------------------------------------------


def test_progress_is_off_when_stderr_is_not_a_terminal(capsys):
    model = line()
    fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model), epochs=3)  # progress=None: auto
    assert capsys.readouterr().err == ""


def test_progress_on_names_the_mode_and_shows_the_loss(capsys):
    model = line()
    fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model), epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "scalar mode" in err and "loss=" in err and "3/3" in err


def test_progress_counts_every_step_of_a_long_epoch(capsys):
    # The bar is redrawn at most every 0.1 s; the steps in between must still be counted.
    model = line()
    fit(model, np.tile(INPUTS, (40, 1)), np.tile(TARGETS, (40, 1)), nn.quadratic, sgd(model, 0.01),
        epochs=2, batch_size=1, mode="compiled", progress=True)
    err = capsys.readouterr().err
    assert "400/400" in err and "loss=" in err


def test_scalar_predict_shows_a_bar_counting_every_sample(capsys):
    model = line()
    outputs = predict(model, np.tile(INPUTS, (50, 1)), progress=True)
    err = capsys.readouterr().err
    assert "predicting" in err and "250/250" in err and len(outputs) == 250
    predict(model, INPUTS)  # progress=None: only on a terminal
    assert capsys.readouterr().err == ""


# -- errors ------------------------------------------------------------------------------------------


def test_an_unknown_mode_is_refused_with_the_choices():
    model = line()
    with pytest.raises(ValueError, match="mode must be one of 'scalar', 'compiled', got 'fast'"):
        fit(model, INPUTS, TARGETS, nn.quadratic, sgd(model), epochs=1, mode="fast")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"targets": TARGETS[:3]}, "5 input samples but 3 targets"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"reduction": "avg"}, "reduction must be one of 'mean', 'sum'"),
        ({"epochs": -1}, "epochs must be a whole number >= 0"),
        ({"inputs": np.array([[1.0, np.nan]])}, "finite.*sample 0"),
        ({"inputs": np.zeros((0, 2))}, "at least one sample"),
    ],
)
def test_bad_arguments_are_named(changes, message):
    model = line()
    arguments = {"inputs": INPUTS, "targets": TARGETS, "epochs": 1, **changes}
    if "inputs" in changes and "targets" not in changes:
        arguments["targets"] = TARGETS[: len(arguments["inputs"])]
    with pytest.raises(ValueError, match=message):
        fit(model, arguments.pop("inputs"), arguments.pop("targets"), nn.quadratic, sgd(model), **arguments)


def test_bad_inputs_name_the_function_they_were_given_to():
    model = nn.MLP(2, [1])
    with pytest.raises(ValueError, match=r"predict: inputs must be shaped \(samples, features\)"):
        predict(model, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="fit: inputs must be numbers shaped"):
        fit(model, [[1.0, 2.0], [3.0]], [0.0, 1.0], nn.quadratic, sgd(model), epochs=1)


def test_predict_gives_one_row_per_sample_and_records_nothing():
    model = nn.MLP(2, [3, 2], seed=0)
    outputs = predict(model, INPUTS)
    assert outputs.shape == (5, 2)
    np.testing.assert_allclose(outputs[1], [v.data for v in model(INPUTS[1].tolist())])
    assert all(p.grad == 0.0 for p in model.parameters())


def test_fit_takes_each_epochs_order_from_the_caller():
    rng = np.random.default_rng(5)
    inputs, targets = rng.standard_normal((6, 2)), rng.standard_normal((6, 1))
    orders = {1: [3, 1, 0, 5, 4, 2], 2: [5, 4, 3, 2, 1, 0]}
    results = []
    for mode in ("scalar", "compiled"):
        model = nn.MLP(2, [3, 1], seed=0)
        nn.fit(model, inputs, targets, nn.quadratic, nn.SGD(model, lr=0.1), epochs=2, batch_size=2,
               progress=False, order=orders.__getitem__, mode=mode)
        results.append(model.get_weights()[0][0])
    # By hand: the same mini-batches, in the given order.
    model = nn.MLP(2, [3, 1], seed=0)
    optimizer = nn.SGD(model, lr=0.1)
    for epoch in (1, 2):
        for start in range(0, 6, 2):
            chosen = orders[epoch][start:start + 2]
            optimizer.zero_grad()
            batch = [nn.quadratic(model(inputs[i].tolist()), targets[i].tolist()) for i in chosen]
            (autodiff.sum(batch) / 2).backward()
            optimizer.step()
    np.testing.assert_allclose(results[0], model.get_weights()[0][0], rtol=1e-12)
    np.testing.assert_allclose(results[1], model.get_weights()[0][0], rtol=1e-12)


@pytest.mark.parametrize("given", [[0, 1, 2, 3, 4, 4], [0, 1, 2], [0.0, 1, 2, 3, 4, 5]])
def test_fit_refuses_an_order_that_is_not_a_permutation(given):
    model = nn.MLP(2, [1], seed=0)
    with pytest.raises(ValueError, match=r"fit: order\(1\) must give a permutation of range\(6\)"):
        nn.fit(model, np.zeros((6, 2)), np.zeros(6), nn.quadratic, nn.SGD(model, lr=0.1), epochs=1,
               batch_size=2, progress=False, order=lambda epoch: given)
