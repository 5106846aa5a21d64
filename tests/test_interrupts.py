"""Signals during training: a step is applied whole or not at all, and what fit reports is true."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import nn
from autodiff import Value
from nn.train import fit

INPUTS = np.random.default_rng(0).normal(size=(6, 3))
TARGETS = np.random.default_rng(1).normal(size=(6, 2))


def model() -> nn.MLP:
    return nn.MLP(3, [8, 2], seed=4)


def flat(net: nn.MLP) -> np.ndarray:
    return np.array([p.data for p in net.parameters()])


def trained(epochs: int, optimizer: type = nn.SGD) -> np.ndarray:
    net = model()
    fit(net, INPUTS, TARGETS, nn.quadratic, optimizer(net, lr=0.05), epochs=epochs, progress=False)
    return flat(net)


def signal_during_the_step(monkeypatch, net: nn.MLP, step: int, at: tuple[int, ...], signum: int) -> None:
    """Send ``signum`` to this process while the optimizer sets parameter ``at[k]`` in step ``step``."""
    count = len(net.parameters())
    ids, sets = {id(p) for p in net.parameters()}, [0]
    real = Value.data

    def setter(self: Value, value: float) -> None:
        if id(self) in ids:
            sets[0] += 1
            if sets[0] - (step - 1) * count in at:
                os.kill(os.getpid(), signum)
        real.fset(self, value)

    monkeypatch.setattr(Value, "data", property(real.fget, setter))


@pytest.mark.parametrize("optimizer", [nn.SGD, nn.Adam])
def test_a_double_ctrl_c_inside_the_step_applies_it_whole(monkeypatch, capsys, optimizer):
    net = model()
    signal_during_the_step(monkeypatch, net, step=3, at=(5, 40), signum=signal.SIGINT)
    history = fit(net, INPUTS, TARGETS, nn.quadratic, optimizer(net, lr=0.05), epochs=10, progress=False)
    monkeypatch.undo()
    # The step during which both Ctrl-Cs came was applied to all 50 parameters, and is counted.
    assert history.interrupted and len(history) == 3 and history[-1].complete
    np.testing.assert_array_equal(flat(net), trained(3, optimizer))
    err = capsys.readouterr().err
    assert "stopping after this step" in err and "the history has 3 epochs." in err


def test_sigterm_during_training_stops_after_the_step(monkeypatch, capsys):
    net = model()
    signal_during_the_step(monkeypatch, net, step=2, at=(10,), signum=signal.SIGTERM)
    history = fit(net, INPUTS, TARGETS, nn.quadratic, nn.SGD(net, lr=0.05), epochs=10, progress=False)
    monkeypatch.undo()
    assert history.interrupted and len(history) == 2
    np.testing.assert_array_equal(flat(net), trained(2))
    assert "SIGTERM: stopping after this step" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


def test_ctrl_c_outside_fit_waits_for_the_step_to_finish(monkeypatch):
    net = model()
    optimizer = nn.SGD(net, lr=0.05)
    for p in net.parameters():
        p.grad = 1.0
    before = flat(net)
    signal_during_the_step(monkeypatch, net, step=1, at=(7,), signum=signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        optimizer.step()
    monkeypatch.undo()
    np.testing.assert_array_equal(flat(net), before - 0.05)  # every parameter moved, then the interrupt
    assert optimizer.steps == 1


# -- fit's arguments -----------------------------------------------------------------------------


def test_a_loss_returning_a_number_is_refused():
    net = model()
    with pytest.raises(TypeError, match="the loss <lambda> returned a float, not a Value"):
        fit(net, INPUTS, TARGETS, lambda out, target: 0.5, nn.SGD(net, lr=0.1), epochs=1, progress=False)


@pytest.mark.parametrize("mode", ["scalar", "compiled"])
def test_an_optimizer_of_another_model_is_refused(mode):
    net, other = model(), model()
    with pytest.raises(ValueError, match="the optimizer holds 50 of 50 parameters that are not this model's"):
        fit(net, INPUTS, TARGETS, nn.quadratic, nn.SGD(other, lr=0.1), epochs=1, progress=False, mode=mode)
