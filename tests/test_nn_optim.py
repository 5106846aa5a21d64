"""Optimizers: exact SGD arithmetic, momentum and Adam against NumPy, state, zero_grad, checked steps."""

import math

import numpy as np
import pytest

import nn
from autodiff import NonFiniteError, Value

GRADS = np.array([[0.5, -2.0, 0.0], [0.25, 1.0, -3.0], [-1.5, 0.125, 4.0], [2.0, 2.0, 2.0]])
START = np.array([1.0, -0.5, 3.0])


def params():
    return [Value(float(v), label=f"p{i}") for i, v in enumerate(START)]


def run(optimizer, ps):
    """Apply the rows of GRADS as successive gradients; return the parameter values after each step."""
    history = []
    for g in GRADS:
        for p, gi in zip(ps, g):
            p.grad = float(gi)
        optimizer.step()
        history.append([p.data for p in ps])
    return np.array(history)


def test_sgd_step_is_exact_arithmetic():
    ps = params()
    optimizer = nn.SGD(ps, lr=0.1)
    for p, g in zip(ps, GRADS[0]):
        p.grad = float(g)
    optimizer.step()
    assert [p.data for p in ps] == [float(s - 0.1 * g) for s, g in zip(START, GRADS[0])]


def test_sgd_momentum_against_numpy():
    ps = params()
    got = run(nn.SGD(ps, lr=0.05, momentum=0.9), ps)
    p, v, expected = START.copy(), np.zeros(3), []
    for g in GRADS:
        v = 0.9 * v + g
        p = p - 0.05 * v
        expected.append(p)
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-15)


def test_adam_against_numpy():
    ps = params()
    got = run(nn.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6), ps)
    p, m, v, expected = START.copy(), np.zeros(3), np.zeros(3), []
    for t, g in enumerate(GRADS, start=1):
        m = 0.8 * m + 0.2 * g
        v = 0.99 * v + 0.01 * g**2
        p = p - 0.01 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-6)
        expected.append(p)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


def test_state_is_keyed_by_name_and_inspectable():
    ps = params()
    optimizer = nn.SGD(ps, lr=0.1, momentum=0.5)
    run(optimizer, ps)
    assert sorted(optimizer.state) == ["p0", "p1", "p2"]
    expected = 0.0
    for g in GRADS[:, 1]:
        expected = 0.5 * expected + g
    assert optimizer.state["p1"]["momentum_buffer"] == pytest.approx(expected, rel=1e-15)
    adam = nn.Adam(ps)
    run(adam, ps)
    assert adam.steps == len(GRADS) and set(adam.state["p2"]) == {"m", "v"}


def test_state_of_a_model_is_keyed_by_parameter_names():
    model = nn.MLP(2, [1])
    optimizer = nn.SGD(model, lr=0.1, momentum=0.9)  # a Module is accepted too
    nn.quadratic(model([1.0, 1.0]), [0.0]).backward()
    optimizer.step()
    assert sorted(optimizer.state) == sorted(name for name, _ in model.named_parameters())


def test_state_falls_back_to_positions_without_distinct_labels():
    ps = [Value(1.0), Value(2.0, label="same"), Value(3.0, label="same")]
    optimizer = nn.SGD(ps, lr=0.1, momentum=0.9)
    for p in ps:
        p.grad = 1.0
    optimizer.step()
    assert sorted(optimizer.state) == [0, 1, 2]


def test_zero_grad_and_lr_can_change():
    ps = params()
    optimizer = nn.SGD(ps, lr=0.1)
    for p in ps:
        p.grad = 1.0
    optimizer.zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0, 0.0]
    optimizer.lr = 0.5
    ps[0].grad = 1.0
    optimizer.step()
    assert ps[0].data == START[0] - 0.5


def test_non_finite_gradient_changes_nothing():
    ps = params()
    optimizer = nn.Adam(ps, lr=0.1)
    ps[0].grad = 1.0
    with pytest.raises(NonFiniteError, match=r"cannot assign inf to .grad of 'p2'"):
        ps[2].grad = math.inf  # refused where it happens, so step() never sees it
    with pytest.raises(NonFiniteError, match=r"gradient of parameter 'p2' is inf; nothing was updated"):
        optimizer.update(START.copy(), np.array([1.0, 0.0, math.inf]))
    assert [p.data for p in ps] == START.tolist()
    assert optimizer.state == {} and optimizer.steps == 0


def test_overflowing_update_changes_nothing():
    ps = [Value(1.0, label="a"), Value(1e308, label="b")]
    optimizer = nn.SGD(ps, lr=1e10)
    ps[0].grad, ps[1].grad = 1.0, -1e300
    with pytest.raises(NonFiniteError, match="new value of parameter 'b'"):
        optimizer.step()
    assert ps[0].data == 1.0


@pytest.mark.parametrize("build", [lambda ps: nn.SGD(ps, lr=0.3), lambda ps: nn.SGD(ps, lr=0.3, momentum=0.5),
                                   lambda ps: nn.Adam(ps, lr=0.1)])
def test_update_into_out_gives_the_same_numbers_and_leaves_theta(build):
    theta, grad = START.copy(), np.array([0.5, -2.0, 1e-3])
    fresh, reused = build(params()), build(params())
    out = np.full(3, np.nan)
    for _ in range(3):  # steps after the first read the buffers the first one made
        expected = fresh.update(theta, grad)
        got = reused.update(theta, grad, out=out)
        assert got is out and got.tolist() == expected.tolist()
    assert theta.tolist() == START.tolist() and reused.steps == 3


def test_refused_update_into_out_leaves_theta_and_the_state():
    optimizer = nn.SGD(params(), lr=0.1, momentum=0.9)
    theta, out = START.copy(), np.empty(3)
    with pytest.raises(NonFiniteError, match="gradient of parameter 'p1' is nan"):
        optimizer.update(theta, np.array([1.0, math.nan, 0.0]), out=out)
    assert theta.tolist() == START.tolist() and optimizer.steps == 0 and optimizer.buffers == {}


@pytest.mark.parametrize("out, message", [(np.empty(2), "float vector shaped like theta"),
                                          (np.empty(3, dtype=np.float32), "float vector shaped like theta"),
                                          (None, "must not share memory with theta")])
def test_update_refuses_an_unfit_out(out, message):
    theta = START.copy()
    with pytest.raises(ValueError, match=message):
        nn.SGD(params(), lr=0.1).update(theta, np.ones(3), out=theta if out is None else out)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: nn.SGD(params(), lr=0.0), "lr must be a positive finite number"),
        (lambda: nn.SGD(params(), lr=0.1, momentum=1.0), r"momentum must be a number in \[0, 1\)"),
        (lambda: nn.Adam(params(), betas=(0.9, -0.1)), r"betas\[1\]"),
        (lambda: nn.Adam(params(), eps=0), "eps must be a positive"),
        (lambda: nn.SGD([], lr=0.1), "no parameters"),
    ],
)
def test_bad_hyperparameters(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_non_value_parameter_is_rejected():
    with pytest.raises(TypeError, match="parameter 1 is a float, not a Value"):
        nn.SGD([Value(1.0), 2.0], lr=0.1)


def test_training_reduces_the_loss():
    model = nn.MLP(2, [4, 1], activation="tanh", seed=1)
    data = [([0.0, 0.0], 0.0), ([0.0, 1.0], 1.0), ([1.0, 0.0], 1.0), ([1.0, 1.0], 0.0)]
    for optimizer in (nn.SGD(model, lr=0.5, momentum=0.5), nn.Adam(model, lr=0.05)):
        losses = []
        for _ in range(30):
            optimizer.zero_grad()
            loss = sum(nn.quadratic(model(x), [y]) for x, y in data)
            loss.backward()
            optimizer.step()
            losses.append(loss.data)
        assert losses[-1] < losses[0]
