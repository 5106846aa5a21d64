"""check_backprop: hand-written NumPy gradients compared with the engine's, and the mistakes named."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from autodiff import Value
from autodiff.arrays import data, grads, values
from autodiff.testing import check_backprop

RNG = np.random.RandomState(3)
X = RNG.randn(5, 3)
Y = RNG.rand(5, 2)
W1, B1, W2 = RNG.randn(3, 4), RNG.randn(4), RNG.randn(4, 2)
PARAMS = {"W1": W1, "b1": B1, "W2": W2}


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward(W1, b1, W2):
    z1 = X @ W1 + b1
    a1 = np.tanh(z1)
    z2 = a1 @ W2
    a2 = sigmoid(z2)
    return ((a2 - Y) ** 2).sum() / 2, {"z1": z1, "a1": a1, "z2": z2}


def by_hand(W2=W2, output_factor=True):
    z1 = X @ W1 + B1
    a1 = np.tanh(z1)
    a2 = sigmoid(a1 @ W2)
    d2 = (a2 - Y) * (a2 * (1 - a2) if output_factor else 1)
    d1 = d2 @ W2.T * (1 - a1**2)
    return {"z2": d2, "W2": a1.T @ d2, "z1": d1, "W1": X.T @ d1, "b1": d1.sum(axis=0)}


RIGHT = by_hand()


def test_right_gradients_pass_in_the_order_given():
    report = check_backprop(forward, PARAMS, RIGHT)
    assert report.ok
    assert [row.name for row in report.rows] == list(RIGHT)
    assert all(row.status in ("exact", "close") for row in report.rows)
    assert "all gradients match" in str(report)
    assert report["W1"].engine.shape == (3, 4)


def test_a_wrong_element_is_found_and_the_report_reads_well():
    wrong = dict(RIGHT, W1=RIGHT["W1"].copy())
    wrong["W1"][1, 2] += 1e-3
    report = check_backprop(forward, PARAMS, wrong)
    row = report["W1"]
    assert not report.ok and row.status == "wrong" and row.index == (1, 2)
    assert row.max_difference == pytest.approx(1e-3, rel=1e-6)
    assert "✗ W1" in str(report) and "wrong at [1, 2]" in str(report)
    assert row.explanation is not None and row.explanation.agrees
    assert "<table>" in report._repr_html_()


def test_a_difference_within_the_tolerance_is_close_and_beyond_it_wrong():
    scale = np.abs(RIGHT["W2"]).max()
    nudged = dict(RIGHT, W2=RIGHT["W2"] + 1e-10 * scale * 0.5)
    assert check_backprop(forward, PARAMS, nudged)["W2"].status == "close"
    nudged = dict(RIGHT, W2=RIGHT["W2"] + 1e-7 * scale)
    assert check_backprop(forward, PARAMS, nudged)["W2"].status == "wrong"


def test_float32_gradients_get_a_float32_tolerance():
    assert check_backprop(forward, PARAMS, {"W2": RIGHT["W2"].astype(np.float32)}).ok


def test_nan_in_your_gradient_is_a_wrong_row_naming_the_index():
    bad = RIGHT["W2"].copy()
    bad[2, 1] = np.nan
    row = check_backprop(forward, PARAMS, {"W2": bad})["W2"]
    assert row.status == "wrong" and row.index == (2, 1) and "nan" in row.diagnosis


def test_shapes_transposed_and_reshaped():
    report = check_backprop(forward, PARAMS, {"W1": RIGHT["W1"].T, "b1": RIGHT["b1"].reshape(4, 1)})
    assert report["W1"].status == "shape" and report["W1"].diagnosis.startswith("transposed")
    assert report["b1"].status == "shape" and "reshape yours to (4,)" in report["b1"].diagnosis
    square = {"A": RNG.randn(3, 3)}
    M = RNG.randn(3, 3)
    row = check_backprop(lambda A: (A @ M).sum() * 1.0 + (A * A).sum(), square,
                         {"A": (np.ones((3, 3)) @ M.T + 2 * square["A"]).T})["A"]
    assert row.status == "wrong" and row.diagnosis.startswith("transposed")


@pytest.mark.parametrize("factor, words", [
    (-1.0, "sign: your gradient is the negative"),
    (2.0, "2 × the engine's"),
    (0.5, "1/2 × the engine's"),
    (5.0, "5 is the length of axis 0 of z1"),
    (-0.2, "-1/5 × the engine's"),
])
def test_a_scalar_factor_is_named(factor, words):
    row = check_backprop(forward, PARAMS, {"W2": factor * RIGHT["W2"]})["W2"]
    assert row.status == "wrong" and words in row.diagnosis


def test_a_factor_that_is_not_simple_is_not_guessed():
    row = check_backprop(forward, PARAMS, {"W2": 1.37 * RIGHT["W2"]})["W2"]
    assert row.diagnosis.startswith("no single mistake")


def test_the_mean_of_the_cost_is_a_candidate_count():
    xs = np.linspace(0.0, 1.0, 7)

    def mse(m):
        return ((m * xs - 1.0) ** 2).mean()

    right = 2 * ((0.3 * xs - 1.0) * xs).mean()
    assert check_backprop(mse, {"m": 0.3}, {"m": right}).ok
    row = check_backprop(mse, {"m": 0.3}, {"m": right * 7})["m"]
    assert "1/7 (a mean over 7 values)" in row.diagnosis


def test_a_missing_element_wise_factor_is_named_after_your_intermediates():
    report = check_backprop(forward, PARAMS, by_hand(output_factor=False))
    assert report["z2"].diagnosis.startswith("missing factor σ'")
    # everything further from the cost follows from z2 (fix that first)
    for name in ("W2", "z1", "W1", "b1"):
        assert "follows from z" in report[name].diagnosis, (name, report[name].diagnosis)


def test_an_extra_element_wise_factor_is_named():
    mine = dict(RIGHT)
    a1 = np.tanh(X @ W1 + B1)
    mine["z1"] = RIGHT["z1"] * (1 - a1**2)  # tanh' applied twice
    row = check_backprop(forward, PARAMS, {"z1": mine["z1"]})["z1"]
    assert row.diagnosis.startswith("extra factor d a1/d z1"), row.diagnosis


def test_a_factor_missing_inside_the_sum_over_samples_is_found_by_a_counterfactual_sweep():
    z1 = X @ W1 + B1
    a1 = np.tanh(z1)
    a2 = sigmoid(a1 @ W2)
    d2 = (a2 - Y) * a2 * (1 - a2)
    d1_without_tanh = d2 @ W2.T                     # tanh' forgotten
    row = check_backprop(forward, PARAMS, {"W1": X.T @ d1_without_tanh})["W1"]
    assert row.diagnosis.startswith("missing factor d a1/d z1"), row.diagnosis
    d1_negated = -(d2 @ W2.T) * (1 - a1**2)        # a factor that scales every path: a sign of the row
    row = check_backprop(forward, PARAMS, {"W1": X.T @ d1_negated})["W1"]
    assert row.diagnosis.startswith("sign"), row.diagnosis


def test_gradients_from_updated_weights_are_recognised_with_the_learning_rate():
    rate = 0.1
    stepped = W2 - rate * RIGHT["W2"]
    late = by_hand(W2=stepped)["W1"]               # W1's gradient after W2 was stepped
    row = check_backprop(forward, PARAMS, {"W1": late}, learning_rate=rate)["W1"]
    assert row.diagnosis.startswith("computed from updated weights"), row.diagnosis
    assert "W2 - η·dW2" in row.diagnosis
    row = check_backprop(forward, PARAMS, {"W1": late})["W1"]
    assert not row.diagnosis.startswith("computed from updated weights")


def test_masked_elements_are_not_comparable_instead_of_failing():
    def relu_net(W1):
        z = X @ W1
        a = np.maximum(0, z)          # NumPy keeps the Value or the plain 0
        return (a * a).sum(), {"z": z, "a": a}

    z = X @ W1
    active = z > 0
    report = check_backprop(relu_net, {"W1": W1}, {"a": 2 * z * active, "W1": X.T @ (2 * z * active)})
    assert report.ok, report
    assert report["a"].not_comparable == int((~active).sum()) > 0
    assert "not comparable at" in report["a"].summary()


def test_lists_of_arrays_are_rows_per_array():
    weights = [W1, W2]

    def net(weights):
        return ((np.tanh(X @ weights[0]) @ weights[1]) ** 2).sum()

    a1 = np.tanh(X @ W1)
    out = a1 @ W2
    right = [X.T @ ((2 * out @ W2.T) * (1 - a1**2)), a1.T @ (2 * out)]
    report = check_backprop(net, {"weights": weights}, {"weights": right})
    assert [row.name for row in report.rows] == ["weights[0]", "weights[1]"] and report.ok
    with pytest.raises(ValueError, match="has 1 arrays"):
        check_backprop(net, {"weights": weights}, {"weights": right[:1]})


def test_bad_calls_raise_with_what_to_do():
    with pytest.raises(KeyError, match="did you mean 'W1'"):
        check_backprop(forward, PARAMS, {"w1": RIGHT["W1"]})
    with pytest.raises(TypeError, match="scalar cost"):
        check_backprop(lambda W1, b1, W2: X @ W1, PARAMS, {"W1": RIGHT["W1"]})
    with pytest.raises(TypeError, match="does not depend on the arrays"):
        check_backprop(lambda W1, b1, W2: 3.0, PARAMS, {"W1": RIGHT["W1"]})
    bad = W1.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"arrays\['W1'\] holds nan at \[0, 1\]"):
        check_backprop(forward, dict(PARAMS, W1=bad), RIGHT)


def test_numpy_functions_without_a_value_form_are_translated():
    with pytest.raises(TypeError, match="np.sinh has no recorded counterpart.*x.exp"):
        check_backprop(lambda W1: np.sinh(X @ W1).sum(), {"W1": W1}, {"W1": W1})
    with pytest.raises(TypeError, match="plain int inside an array of Values"):
        check_backprop(lambda W1: np.exp(np.maximum(0, X @ W1)).sum(), {"W1": W1}, {"W1": W1})


def test_the_forward_pass_is_bounded_in_nodes_and_time_and_the_thread_stays_usable():
    big = RNG.randn(200, 200)
    with pytest.raises(RuntimeError, match=r"after [\d,]+ nodes.*max_nodes=50,000.*check a sample"):
        check_backprop(lambda A: (A @ A).sum(), {"A": big}, {"A": big}, max_nodes=50_000)

    def slow(A):
        time.sleep(0.5)
        return (A * A).sum()

    with pytest.raises(RuntimeError, match="time_limit=0.2 s"):
        check_backprop(slow, {"A": big[:2, :2]}, {"A": big[:2, :2]}, time_limit=0.2)
    def swallowing(A):  # a forward that catches every Exception still stops
        total = A[0, 0]
        while True:
            try:
                total = total * 1.0 + A[0, 1]
            except Exception:  # noqa: BLE001 - the learner's habit under test
                pass

    with pytest.raises(RuntimeError, match="max_nodes=20,000"):
        check_backprop(swallowing, {"A": big[:2, :2]}, {"A": big[:2, :2]}, max_nodes=20_000)
    # no stray exception is left for this thread: it keeps running Python code
    time.sleep(0.3)
    assert sum(range(200_000)) > 0 and threading.active_count() >= 1


def test_values_labels_and_reading_back():
    W = values(np.arange(6.0).reshape(2, 3), "W")
    assert W[1, 2].label == "W[1, 2]" and W.dtype == object
    nested = values([np.ones(2), np.zeros((1, 1))], "weights")
    assert nested[1][0, 0].label == "weights[1][0, 0]"
    assert values(2.5, "m").label == "m"
    (W * W).sum().backward()
    assert grads(W).tolist() == (2 * np.arange(6.0).reshape(2, 3)).tolist()
    assert data(W).dtype == float and data(nested)[0].tolist() == [1.0, 1.0]
    mixed = np.maximum(0, W - 2)
    with pytest.raises(TypeError, match="missing=0.0"):
        grads(mixed)
    assert grads(mixed, missing=0.0).shape == (2, 3)
    with pytest.raises(TypeError, match="real numbers"):
        values(np.array([True, False]), "flags")
    with pytest.raises(TypeError, match="got a Value"):
        values(Value(1.0), "v")


def test_numpy_never_turns_a_value_into_a_float():
    W = values(np.ones(3), "W")
    with pytest.raises(TypeError, match="cannot become a plain float"):
        np.asarray(W, dtype=float)


def test_the_tutorials_numpy_operations_run_on_values_with_right_gradients():
    A0 = RNG.rand(3, 4) + 0.5
    B0 = RNG.randn(4, 2)

    def f(A, B):
        stacked = np.vstack([A, A[:1] * 2.0])                 # vstack, indexing, broadcasting
        scaled = stacked.T.reshape(4, 4) / np.sqrt(np.abs(stacked).sum(axis=0, keepdims=True).T)
        spread = np.var(scaled) + np.std(scaled[0])
        return (np.log(scaled + 3.0) @ np.tanh(B)).mean() + spread - np.exp(B).sum() ** 0.5

    cost = f(values(A0, "A"), values(B0, "B"))
    assert cost.data == pytest.approx(f(A0, B0), rel=1e-12)

    def numeric(name, array):
        out = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            up, down = array.copy(), array.copy()
            up[index] += 1e-6
            down[index] -= 1e-6
            args = {"A": A0, "B": B0}
            out[index] = (f(**dict(args, **{name: up})) - f(**dict(args, **{name: down}))) / 2e-6
        return out

    report = check_backprop(f, {"A": A0, "B": B0}, {"A": numeric("A", A0), "B": numeric("B", B0)})
    for row in report.rows:  # central differences agree to about 1e-8, not to 1e-9 of the largest
        assert row.max_difference < 1e-6 * max(1.0, np.abs(row.engine).max()), row
