"""Losses: values against NumPy formulas, gradients by gradcheck, stability at +-1000, accuracy."""

import math

import numpy as np
import pytest

import autodiff
import nn
from autodiff import DomainError, Value
from autodiff.testing import gradcheck

rng = np.random.default_rng(0)
Z = rng.standard_normal(4) * 2
A = rng.random(3)
Y = rng.random(3)


def np_log_softmax(z):
    z = np.asarray(z, dtype=float)
    return z - z.max() - np.log(np.exp(z - z.max()).sum())


# -- values ------------------------------------------------------------------------------


def test_values_against_numpy():
    a = [Value(v) for v in A]
    assert nn.quadratic(a, Y).data == pytest.approx(0.5 * np.sum((Y - A) ** 2), rel=1e-14)
    assert nn.mse(a, Y).data == pytest.approx(np.mean((Y - A) ** 2), rel=1e-14)
    z = [Value(v) for v in Z]
    np.testing.assert_allclose([p.data for p in nn.softmax(z)], np.exp(Z) / np.exp(Z).sum(), rtol=1e-14)
    np.testing.assert_allclose([v.data for v in nn.log_softmax(z)], np_log_softmax(Z), rtol=1e-14)
    assert nn.cross_entropy(z, 2).data == pytest.approx(-np_log_softmax(Z)[2], rel=1e-14)
    soft = np.array([0.1, 0.0, 0.6, 0.3])
    assert nn.cross_entropy(z, soft).data == pytest.approx(-np.sum(soft * np_log_softmax(Z)), rel=1e-14)
    probs = nn.softmax(z)
    assert nn.nll(probs, 1).data == pytest.approx(-np_log_softmax(Z)[1], rel=1e-12)
    assert nn.nll(probs, np.eye(4)[3]).data == pytest.approx(-np_log_softmax(Z)[3], rel=1e-12)
    p, t = 0.3, 0.8
    expected = -(t * math.log(p) + (1 - t) * math.log(1 - p))
    assert nn.binary_cross_entropy(Value(p), t).data == pytest.approx(expected, rel=1e-14)
    logit = math.log(p / (1 - p))
    assert nn.binary_cross_entropy_with_logits(Value(logit), t).data == pytest.approx(expected, rel=1e-12)


def test_losses_accept_a_single_value_and_numpy_targets():
    assert nn.quadratic(Value(3.0), 1.0).data == 2.0
    assert nn.mse([Value(1.0), Value(2.0)], np.array([1.0, 0.0])).data == 2.0


# -- gradients ---------------------------------------------------------------------------

GRADCHECKS = {
    "quadratic": (lambda *a: nn.quadratic(list(a), Y), A),
    "mse": (lambda *a: nn.mse(list(a), Y), A),
    "softmax[1]": (lambda *z: nn.softmax(list(z))[1], Z),
    "log_softmax[0]": (lambda *z: nn.log_softmax(list(z))[0], Z),
    "cross_entropy index": (lambda *z: nn.cross_entropy(list(z), 3), Z),
    "cross_entropy soft": (lambda *z: nn.cross_entropy(list(z), [0.25, 0.25, 0.5, 0.0]), Z),
    "nll": (lambda *p: nn.nll(list(p), 2), A),
    "binary_cross_entropy": (lambda p: nn.binary_cross_entropy(p, 0.3), [0.6]),
    "bce_with_logits at 0": (lambda z: nn.binary_cross_entropy_with_logits(z, 0.3), [0.0]),
    "bce_with_logits positive": (lambda z: nn.binary_cross_entropy_with_logits(z, 0.3), [2.5]),
    "bce_with_logits negative": (lambda z: nn.binary_cross_entropy_with_logits(z, 0.3), [-2.5]),
}


@pytest.mark.parametrize("name", GRADCHECKS)
def test_gradients_by_gradcheck(name):
    f, inputs = GRADCHECKS[name]
    assert gradcheck(f, list(inputs))


def test_cross_entropy_gradient_is_softmax_minus_target():
    z = [Value(v) for v in Z]
    nn.cross_entropy(z, 1).backward()
    expected = np.exp(np_log_softmax(Z)) - np.eye(4)[1]
    np.testing.assert_allclose([v.grad for v in z], expected, rtol=1e-12, atol=1e-15)


def test_bce_with_logits_gradient_at_zero_is_half_minus_target():
    z = Value(0.0)
    nn.binary_cross_entropy_with_logits(z, 1.0).backward()
    assert z.grad == -0.5


# -- stability ---------------------------------------------------------------------------


def finite_loss_and_grads(loss, inputs):
    loss.backward()
    return math.isfinite(loss.data) and all(math.isfinite(v.grad) for v in inputs)


@pytest.mark.parametrize("big", [1000.0, -1000.0])
def test_stable_at_plus_minus_1000(big):
    z = [Value(big), Value(-big), Value(0.0)]
    for target in (0, 1, 2, [0.5, 0.5, 0.0]):
        for v in z:
            v.grad = 0.0
        assert finite_loss_and_grads(nn.cross_entropy(z, target), z)
    assert [round(p.data, 12) for p in nn.softmax(z)] == ([1.0, 0.0, 0.0] if big > 0 else [0.0, 1.0, 0.0])
    assert nn.log_softmax(z)[1].data == pytest.approx(-2 * big if big > 0 else 0.0)
    for t in (0.0, 0.5, 1.0):
        logit = Value(big)
        loss = nn.binary_cross_entropy_with_logits(logit, t)
        assert finite_loss_and_grads(loss, [logit])
        assert logit.grad == pytest.approx((1.0 if big > 0 else 0.0) - t)


def test_cross_entropy_at_1000_has_exact_gradient():
    z = [Value(1000.0), Value(-1000.0)]
    loss = nn.cross_entropy(z, 1)
    loss.backward()
    assert loss.data == 2000.0
    assert [v.grad for v in z] == [1.0, -1.0]


def test_nll_and_bce_of_certain_wrong_answers_say_so():
    probs = nn.softmax([Value(1000.0), Value(-1000.0)])
    with pytest.raises(DomainError, match="probability of class 1 is 0.0.*cross_entropy"):
        nn.nll(probs, 1)
    with pytest.raises(DomainError, match="with_logits"):
        nn.binary_cross_entropy(Value(0.0), 1.0)
    # The zero-weight term is left out, not computed as 0 * log 0.
    assert nn.binary_cross_entropy(Value(1.0), 1.0).data == 0.0
    # A number outside [0, 1] is no probability: refused, not turned into a negative loss.
    with pytest.raises(DomainError, match=r"p = 1.5 is not a probability in \[0, 1\].*with_logits"):
        nn.binary_cross_entropy(Value(1.5), 1.0)


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: nn.quadratic([Value(1.0)], [1.0, 2.0]), ValueError, "quadratic: 1 outputs but 2 targets"),
        (lambda: nn.cross_entropy([Value(1.0)] * 3, 3), ValueError, "class index 3 is out of range for 3"),
        (lambda: nn.cross_entropy([Value(1.0)] * 3, [1.0, 0.0]), ValueError, "2 entries but there are 3"),
        (lambda: nn.cross_entropy([Value(1.0)] * 3, 1.0), TypeError, "class index or one value per class"),
        (lambda: nn.cross_entropy([Value(1.0)] * 2, [0, 0]), ValueError, "all zeros"),
        (lambda: nn.binary_cross_entropy(Value(0.5), 2.0), ValueError, r"target must lie in \[0, 1\]"),
        (lambda: nn.softmax([]), ValueError, "got no values"),
        (lambda: nn.mse([Value(1.0)], [math.nan]), ValueError, "non-finite"),
        (lambda: nn.mse([Value(1.0)], ["a"]), TypeError, "expected a number or a Value"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


# -- accuracy ----------------------------------------------------------------------------


def test_accuracy_on_values_arrays_and_one_hot_labels():
    rows = [[Value(a), Value(1 - a)] for a in (0.1, 0.8, 0.3, 0.5)]
    assert nn.accuracy(rows, [1, 0, 0, 0]) == 0.75  # the tie goes to the first class
    assert nn.accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.eye(2)[[1, 1]]) == 0.5
    assert nn.accuracy([[0.7], [0.2], [Value(0.6)]], [1, 0, 0]) == pytest.approx(2 / 3)


@pytest.mark.parametrize("columns", [1, 3])
def test_accuracy_of_arrays_is_the_row_by_row_score(columns):
    # Arrays take a one-pass path; lists of rows the general one: both must score alike, ties included.
    rng = np.random.default_rng(0)
    predictions = rng.integers(0, 3, (200, columns)) / 2.0  # many ties and exact 0.5 probabilities
    labels = rng.integers(0, max(columns, 2), 200)
    expected = nn.accuracy(predictions.tolist(), labels.tolist())
    assert nn.accuracy(predictions, labels) == expected
    assert nn.accuracy(predictions, np.eye(max(columns, 2))[labels]) == expected
    if columns == 1:
        assert nn.accuracy(predictions[:, 0], labels) == expected
    assert 0.2 < expected < 0.8


def test_accuracy_of_arrays_keeps_the_general_errors():
    with pytest.raises(ValueError, match="3 predictions but 2 labels"):
        nn.accuracy(np.zeros((3, 2)), np.array([0, 1]))
    with pytest.raises(TypeError, match="class index or a one-hot row"):
        nn.accuracy(np.zeros((2, 2)), np.array([0.0, 1.0]))


def test_accuracy_errors():
    with pytest.raises(ValueError, match="2 predictions but 1 labels"):
        nn.accuracy([[0.1, 0.9], [0.8, 0.2]], [1])
    with pytest.raises(ValueError, match="no predictions"):
        nn.accuracy([], [])
    with pytest.raises(TypeError, match="class index or a one-hot row"):
        nn.accuracy([[0.1, 0.9]], [0.5])


def test_batch_losses_sum_through_autodiff_sum():
    model = nn.MLP(2, [2], output_activation="linear")
    loss = autodiff.sum([nn.cross_entropy(model(x), t) for x, t in [([1.0, 0.0], 0), ([0.0, 1.0], 1)]])
    loss.backward()
    assert math.isfinite(loss.data) and any(p.grad != 0 for p in model.parameters())
