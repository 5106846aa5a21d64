"""Anomaly mode: nodes remember the line of user code that made them, and errors name it."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import autodiff
import nn
from autodiff import (
    DivisionByZeroError,
    DomainError,
    NonFiniteError,
    StaleGraphError,
    Value,
    anomaly,
    replay,
)
from autodiff.value import anomaly_mode

ROOT = Path(__file__).resolve().parents[1]


def _here(offset: int = 1) -> str:
    """'this file:the caller's line + offset in the caller's function', as a site reads."""
    caller = inspect.currentframe().f_back
    return f"{__file__}:{caller.f_lineno + offset} in {caller.f_code.co_name}"


def test_nodes_record_their_site_only_in_anomaly_mode():
    x = Value(2.0)
    y = x * 3
    assert (x.site, y.site) == (None, None)
    with anomaly():
        where, next_line = _here(), _here(2)
        z = y.tanh()
        leaf = Value(1.0)
    assert (z.site, leaf.site) == (where, next_line)
    assert not anomaly_mode()
    with anomaly(), anomaly(False):
        assert Value(1.0).site is None


def test_the_site_is_the_first_frame_outside_autodiff_and_nn():
    layer = nn.Layer(2, 1, seed=0)
    with anomaly():
        where = _here()
        loss = nn.quadratic([Value(0.5)], [1.0])
    assert loss.site == where  # made inside nn.losses, blamed on this line
    with anomaly():
        where = _here()
        out = layer([Value(1.0), Value(2.0)])
    assert (out[0] if isinstance(out, list) else out).site == where


@pytest.mark.parametrize(("make", "error"), [
    (lambda x: x.log(), DomainError),
    (lambda x: x.sqrt(), DomainError),
    (lambda x: x ** Value(0.5), DomainError),
    (lambda x: Value(1.0) / (x + 2), DivisionByZeroError),
    (lambda x: x / 0, DivisionByZeroError),
    (lambda x: x * float("nan"), NonFiniteError),
    (lambda x: (-x * 800).exp(), NonFiniteError),
    (lambda x: Value(1e300) * (-x * 1e300), NonFiniteError),
])
def test_errors_while_making_a_node_name_the_line_that_called(make, error):
    x = Value(-2.0, label="x")
    with pytest.raises(error) as outside:
        make(x)
    assert "made at" not in str(outside.value)
    with anomaly(), pytest.raises(error) as inside:
        make(x)
    message = str(inside.value)
    assert message.startswith(str(outside.value))  # the same message, with the place added
    assert message.endswith(f"[made at {__file__}:{make.__code__.co_firstlineno} in <lambda>]")


def test_log_of_a_negative_number_names_the_calling_line():
    x = Value(-0.0213, label="p")
    with anomaly(), pytest.raises(DomainError) as info:
        where = _here()
        x.log()
    assert str(info.value) == f"log is undefined for x = -0.0213 ('p'); log needs x > 0 [made at {where}]"


def test_backward_domain_errors_name_where_the_node_was_made():
    x = Value(0.0, label="x")
    with anomaly():
        where = _here()
        root = x.sqrt()  # defined at 0, but its slope there is infinite
    with pytest.raises(DomainError) as info:
        root.backward()
    assert "backward through sqrt" in str(info.value)
    assert str(info.value).endswith(f"[node made at {where}]")


def test_backward_overflow_names_where_the_node_was_made():
    a, b = Value(1e300, label="a"), Value(1e-300, label="b")
    with anomaly():
        where = _here()
        c = a * b
    d = c * 1e300  # d(d)/d(b) = a * 1e300 overflows, in the step through c
    with pytest.raises(NonFiniteError) as info:
        d.backward()
    assert "backward through mul" in str(info.value)
    assert str(info.value).endswith(f"[node made at {where}]")
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_stale_graph_error_names_where_the_stale_node_was_made():
    u = Value(2.0, label="u")
    with anomaly():
        where = _here()
        v = u * u
    u.data = 5.0
    with pytest.raises(StaleGraphError) as info:
        v.backward()
    assert "'u' was assigned" in str(info.value)
    assert str(info.value).endswith(f"[node made at {where}]")


def test_replay_errors_name_where_the_node_was_made():
    x = Value(2.0, label="x")
    with anomaly():
        where = _here()
        y = (x - 1).log()
    with pytest.raises(DomainError) as info:
        replay(y, {x: 0.5})
    assert "replaying" in str(info.value) and str(info.value).endswith(f"[node made at {where}]")


def test_anomaly_mode_is_per_thread():
    inside, made, done = threading.Event(), threading.Event(), threading.Event()
    other: list[Value] = []

    def elsewhere() -> None:
        inside.wait(5)
        other.append(Value(1.0) * 2)  # made while the main thread is in anomaly mode
        try:
            (other[0] - 5).log()
        except DomainError as error:
            other.append(error)
        made.set()
        done.wait(5)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    with anomaly():
        inside.set()
        assert made.wait(5)
        mine = Value(1.0) * 2
    done.set()
    thread.join(5)
    assert mine.site is not None
    assert other[0].site is None
    assert "made at" not in str(other[1])


@pytest.mark.parametrize(("setting", "recorded"), [("1", True), ("0", False), ("", False)])
def test_the_environment_variable_turns_anomaly_mode_on(setting, recorded):
    code = "from autodiff import Value\nprint((Value(1.0) * 2).site)\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AUTODIFF_ANOMALY": setting}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert (result.stdout.strip() == "<string>:2 in <module>") is recorded


def test_compiled_mode_errors_name_where_the_failing_node_was_made():
    import numpy as np

    w = autodiff.Value(0.5, label="w")
    with autodiff.anomaly():
        program = autodiff.compile(lambda x: (x[0] * w).log(), np.array([[1.0], [2.0]]), [w])  # here
    made_here = r"log is undefined.*\[node made at .*test_anomaly\.py:\d+"
    with pytest.raises(autodiff.DomainError, match=made_here):
        program.forward(np.array([[1.0], [-2.0]]))
    plain = autodiff.compile(lambda x: (x[0] * w).log(), np.array([[1.0], [2.0]]), [w])
    with pytest.raises(autodiff.DomainError) as caught:
        plain.forward(np.array([[1.0], [-2.0]]))
    assert "made at" not in str(caught.value)  # anomaly mode off: no site recorded, none named


def test_the_stepper_and_drawings_show_where_a_node_was_made():
    from autodiff.drawing import draw

    x = Value(2.0, label="x")
    with anomaly():
        y = x * x  # made here
    y.label = "y"
    record = autodiff.steps(y).step()
    assert "made at " in str(record) and "test_anomaly.py" in str(record)
    assert 'tooltip="made at ' in draw(y).source
