"""``.grad`` as a user may set it: None means "no gradient yet"; anything else must be a finite number.

Every write of a pass is all or nothing: the new gradients are computed and
checked before the first is written.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff
import nn
from autodiff import NonFiniteError, Value
from autodiff.compiled import compile as compile_program


def _three():
    return Value(2.0, label="a"), Value(3.0, label="b"), Value(5.0, label="c")


def test_a_none_gradient_counts_as_zero_and_nothing_is_half_written():
    a, b, c = _three()
    b.grad = None  # the PyTorch habit of resetting a gradient
    (a * b + c).backward()
    assert (a.grad, b.grad, c.grad) == (3.0, 2.0, 1.0)
    (a * b + c).backward()  # a second pass exactly doubles: nothing was written twice
    assert (a.grad, b.grad, c.grad) == (6.0, 4.0, 2.0)


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_none_gradient_in_the_other_passes(create_graph):
    a, b, c = _three()
    a.grad = None
    (a * b + c).backward(create_graph=create_graph)
    assert a.grad == 3.0 if not create_graph else a.grad.data == 3.0
    stepper = autodiff.steps(a * b + c)
    b.grad = None
    while not stepper.done:
        str(stepper.step())  # the records print with a None grad before the pass
    assert b.grad == 2.0  # the stepper sweeps floats


def test_an_overflowing_sum_with_an_old_gradient_writes_nothing():
    a, b, c = _three()
    c.grad, a.grad = 7.0, 1e308  # c is written before a if the write is a loop that stops midway
    with pytest.raises(NonFiniteError, match=r"of 'a' overflows: its .grad 1e\+308 plus this pass's"):
        (c + a + b).backward(gradient=1e308)  # every part is finite; only a's sum is not
    assert (a.grad, b.grad, c.grad) == (1e308, 0.0, 7.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_a_non_finite_gradient_is_refused_at_assignment(bad):
    a = Value(1.0, label="a")
    with pytest.raises(NonFiniteError, match="cannot assign .* to .grad of 'a': a gradient must be finite"):
        a.grad = bad
    assert a.grad == 0.0


@pytest.mark.parametrize("bad", ["1.0", True, [1.0], 1j])
def test_a_gradient_that_is_not_a_number_is_refused_at_assignment(bad):
    a = Value(1.0, label="a")
    with pytest.raises(TypeError, match="to .grad of 'a': a gradient is a finite real number"):
        a.grad = bad
    assert a.grad == 0.0


def test_numbers_values_and_none_are_accepted():
    a = Value(1.0)
    for good, stored in [(2, 2.0), (np.float32(0.5), 0.5), (None, None), (-0.0, -0.0)]:
        a.grad = good
        assert a.grad == stored and (stored is None or type(a.grad) is float)
    g = Value(4.0)
    a.grad = g
    assert a.grad is g
    assert repr(Value(1.0)) == "Value(data=1.0, grad=0.0)"
    a.grad = None
    assert "grad=None" in repr(a)


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.5, momentum=0.9),
                                  lambda ps: nn.Adam(ps, lr=0.1)])
def test_optimizers_skip_a_parameter_with_no_gradient(make):
    ps = [Value(1.0, label="p0"), Value(2.0, label="p1")]
    optimizer = make(ps)
    ps[0].grad, ps[1].grad = 1.0, 1.0
    optimizer.step()
    kept = ps[1].data, dict(optimizer.state["p1"])
    ps[0].grad, ps[1].grad = 1.0, None
    optimizer.step()
    assert ps[1].data == kept[0] and optimizer.state["p1"] == kept[1]
    assert ps[0].data != 1.0
    optimizer.zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0]  # zero_grad keeps 0.0, as before


def test_compiled_loss_and_grad_counts_none_as_zero():
    w = Value(2.0, label="w")
    program = compile_program(lambda x: w * x[0], ([1.0],), params=[w])
    w.grad = None
    program.loss_and_grad(np.array([[3.0], [5.0]]), reduction="sum")
    assert w.grad == 8.0


def test_a_module_reports_a_none_gradient_as_zero():
    layer = nn.Layer(2, 1)
    layer.parameters()[0].grad = None
    w, b = layer.get_gradients()
    assert w.dtype == float and w[0, 0] == 0.0
