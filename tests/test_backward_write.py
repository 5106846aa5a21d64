"""What backward writes into ``.grad``: every leaf and computed node, all or nothing; constants never.

The float pass and the general sweep (create_graph, the stepper) write the same nodes.
"""

from __future__ import annotations

import pytest

import autodiff
from autodiff import NonFiniteError, Value


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_constant_keeps_its_grad_and_every_other_node_gets_one(create_graph):
    x = Value(3.0, label="x")
    y = x * 2.0
    y.label = "y"
    z = y + 1.0
    constants = [p for p in (*y.parents, *z.parents) if p.is_constant]
    assert len(constants) == 2
    constants[0].grad = None  # "no gradient yet": a pass that wrote constants would make it 0.0
    z.backward(create_graph=create_graph)
    assert constants[0].grad is None and constants[1].grad == 0.0
    grads = [g.data if isinstance(g, Value) else g for g in (x.grad, y.grad, z.grad)]
    assert grads == [2.0, 1.0, 1.0]


def test_the_stepper_writes_what_backward_writes():
    x = Value(3.0, label="x")
    z = (x * 2.0).tanh()
    constant = next(p for p in z.parents[0].parents if p.is_constant)
    constant.grad = None
    autodiff.steps(z).run()
    assert constant.grad is None and x.grad == pytest.approx(2.0 * (1 - z.data**2))


def test_a_float_pass_onto_recorded_gradients_adds_to_them():
    x = Value(3.0, label="x")
    (x * x).backward(create_graph=True)  # x.grad is the Value 2x
    (x * x).backward()  # a float pass adds 6.0 to it: a recorded sum
    assert isinstance(x.grad, Value) and x.grad.data == 12.0


def test_an_overflow_onto_recorded_gradients_writes_nothing():
    x, w = Value(1e308, label="x"), Value(1.0, label="w")
    (x * w).backward(create_graph=True)  # x.grad is the Value w (1.0), w.grad the Value x (1e308)
    before = (x.grad, w.grad)
    with pytest.raises(NonFiniteError, match="gave inf"):
        (x * w).backward()  # w's 1e308 + 1e308 overflows (the recorded sum says so)
    assert (x.grad, w.grad) == before
