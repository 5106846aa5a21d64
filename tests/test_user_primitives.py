"""A primitive of your own: the contract checked once where it is made, and what its rules return
checked where they run, so every tool gives the right number or a clear error (issue 22, items 1, 2, 7, 8).
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from autodiff import (
    PRIMITIVES,
    NonFiniteError,
    Primitive,
    RuleError,
    Value,
    apply,
    draw,
    explain,
    grad,
    jvp,
    register,
    steps,
)
from autodiff.expression import evaluate
from autodiff.naming import printed


def unary(partial=None, forward=None, name="test_op", **fields):
    """A one-input primitive: by default x**3 with its right partial."""
    return Primitive(
        name=name, symbol=name, arity=1,
        forward=forward or (lambda x: x**3), array_forward=lambda x: x**3,
        partials=(partial or (lambda a, out, m: 3 * a[0] ** 2),), formulas=("3 * x**2",), **fields)


# -- the contract, checked where a Primitive is made --------------------------------------------


@pytest.mark.parametrize(("fields", "message"), [
    ({"arity": 2, "partials": (lambda a, out, m: 1.0,), "formulas": ("1", "1")},
     "partials has 1 entries for 2 inputs"),
    ({"arity": 2, "partials": (lambda a, out, m: 1.0,) * 2}, "formulas has 1 entries for 2 inputs"),
    ({"arity": 1, "partials": ()}, "partials has 0 entries for 1 inputs"),
    ({"name": None}, "name must be a non-empty string"),
    ({"name": 42}, "name must be a non-empty string"),
    ({"name": " "}, "name must be a non-empty string"),
    ({"name": "a\nb"}, "printable characters"),
    ({"symbol": None}, "symbol=None must be a non-empty string"),
    ({"arity": 0, "partials": (), "formulas": ()}, "arity=0 must be how many inputs"),
    ({"arity": True}, "arity=True must be how many inputs"),
    ({"formulas": ("3 * x**",)}, r"formulas\[0\] = '3 \* x\*\*' is not a Python expression"),
    ({"formulas": (None,)}, r"formulas\[0\] must be a string"),
    ({"partials": ("3 * x**2",)}, r"partials\[0\] must be a function"),
    ({"forward": 3.0}, "forward must be a function"),
    ({"precedence": 7}, "precedence=7 must be one of"),
    ({"domain": None}, "domain must be words"),
])
def test_a_primitive_that_breaks_the_contract_cannot_be_made(fields, message):
    base = {"name": "test_bad", "symbol": "b", "arity": 1, "forward": lambda *xs: 0.0,
            "array_forward": np.negative, "partials": (lambda a, out, m: 1.0,), "formulas": ("1",)}
    with pytest.raises((TypeError, ValueError), match=message):
        Primitive(**{**base, **fields})


def test_apply_can_no_longer_run_a_primitive_backward_would_index_past():
    # Before: apply() ran it and backward() failed with a bare IndexError / unpacking ValueError.
    with pytest.raises(ValueError, match="partials has 1 entries for 2 inputs"):
        Primitive(name="test_half", symbol="h", arity=2, forward=lambda x, y: x * y,
                  array_forward=np.multiply, partials=(lambda a, out, m: a[1],), formulas=("y", "x"))


def test_lists_are_accepted_as_tuples():
    op = Primitive(name="test_listed", symbol="l", arity=1, forward=lambda x: 2 * x,
                   array_forward=lambda x: 2 * x, partials=[lambda a, out, m: 2.0], formulas=["2"])
    assert op.partials[0]((1.0,), 2.0, None) == 2.0 and op.formulas == ("2",)


def test_a_domain_error_of_a_primitive_without_a_domain_does_not_contradict_itself():
    mylog = Primitive(name="mylog", symbol="mylog", arity=1, forward=math.log, array_forward=np.log,
                      partials=(lambda a, out, m: 1.0 / a[0],), formulas=("1/x",))
    with pytest.raises(ValueError, match="mylog is undefined for x = -1.0") as caught:
        apply(mylog, Value(-1.0))
    assert "all real numbers" not in str(caught.value)
    assert "mylog gives no domain (Primitive(..., domain='...')" in str(caught.value)
    told = unary(forward=math.log, name="mylog2", domain="x > 0")
    with pytest.raises(ValueError, match="mylog2 needs x > 0"):
        apply(told, Value(-1.0))


def test_registering_while_another_thread_reads_the_table_is_safe():
    stop, errors = threading.Event(), []

    def read():
        while not stop.is_set():
            try:
                evaluate("tanh(x) + sin(x)", {"x": 0.5})
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                errors.append(error)
                return

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for k in range(2000):
            register(unary(name=f"test_many_{k}"))
    finally:
        stop.set()
        for thread in readers:
            thread.join()
        for k in range(2000):
            PRIMITIVES.pop(f"test_many_{k}", None)
    assert errors == []


# -- what forward returns ------------------------------------------------------------------


@pytest.mark.parametrize(("result", "error", "message"), [
    (1 + 2j, RuleError, "returned complex"),
    (np.array([2.0]), RuleError, r"returned a NumPy array of shape \(1,\)"),
    (True, RuleError, "returned bool"),
    ("2.0", RuleError, "returned str"),
    (None, RuleError, "returned NoneType"),
    (10**400, NonFiniteError, "does not fit in a float"),
])
def test_a_forward_rule_must_return_a_real_number(result, error, message):
    op = unary(forward=lambda x: result, name="test_forward")
    with pytest.raises(error, match=message):
        apply(op, Value(2.0))


def test_numbers_of_numpy_are_printed_as_numbers():
    # Before: naming.number read np.float32's own .data (a memoryview) and crashed.
    assert printed(np.float32(1.5)) == "1.5" and printed(np.int64(3)) == "3" and printed(Value(2.0)) == "2"


def test_a_forward_rule_returning_a_numpy_float_gives_a_float_node():
    node = apply(unary(forward=lambda x: np.float32(x) * np.float32(2), name="test_f32"), Value(1.5))
    assert type(node.data) is float and node.data == 3.0
    assert repr(node) == "Value(data=3.0, grad=0.0, op='test_f32')"


# -- what a partial returns, on every path ---------------------------------------------------


def _with(op):
    return lambda x: apply(op, x) * 2.0


def _tools(op):
    """Every tool that reads a partial, run on a graph through ``op`` at x = 2."""
    f = _with(op)

    def graph():
        x = Value(2.0, label="x")
        return f(x), x

    def backward():
        graph()[0].backward()

    def stepper():
        list(steps(graph()[0]))

    def explanation():
        y, x = graph()
        explain(y, x)

    def drawing():
        draw(graph()[0], edge_labels=True)

    return {
        "backward": backward, "grad": lambda: grad(f)(2.0), "grad of grad": lambda: grad(grad(f))(2.0),
        "steps": stepper, "jvp": lambda: jvp(f, (2.0,), (1.0,)), "explain": explanation, "draw": drawing,
    }


TOOLS = ["backward", "grad", "grad of grad", "steps", "jvp", "explain", "draw"]


@pytest.mark.parametrize("tool", TOOLS)
def test_a_partial_that_returns_none_is_an_error_on_every_path(tool):
    # Before: 0.0 from grad, the stepper, jvp and explain (None read as a constant operand).
    op = unary(partial=lambda a, out, m: None, name="test_none")
    with pytest.raises(RuleError, match=r"the partial of test_none by x \(3 \* x\*\*2\) returned None: a "
                                        "forgotten `return`"):
        _tools(op)[tool]()


@pytest.mark.parametrize(("result", "what"), [
    ("3", "returned str"), ([3.0], "returned list"), (np.array([1.0, 2.0]), "returned a NumPy array"),
    (3 + 0j, "returned complex"), (True, "returned bool"),
])
@pytest.mark.parametrize("tool", TOOLS)
def test_a_partial_of_the_wrong_type_is_an_error_on_every_path(tool, result, what):
    op = unary(partial=lambda a, out, m: result, name="test_wrong")
    with pytest.raises(RuleError, match=f"the partial of test_wrong by x .* {what}"):
        _tools(op)[tool]()


@pytest.mark.parametrize("tool", TOOLS)
def test_a_partial_too_big_for_a_float_is_an_error_on_every_path(tool):
    op = unary(partial=lambda a, out, m: 10**400, name="test_huge")
    with pytest.raises(NonFiniteError, match="test_huge"):
        _tools(op)[tool]()


@pytest.mark.parametrize("tool", ["backward", "steps", "jvp", "explain", "draw"])
def test_a_partial_that_returns_a_value_on_floats_is_an_error(tool):
    op = unary(partial=lambda a, out, m: Value(3.0), name="test_value")
    with pytest.raises(RuleError, match="returned Value .* on floats it must return a real number"):
        _tools(op)[tool]()


def test_a_partial_may_return_any_real_number():
    op = unary(partial=lambda a, out, m: np.float32(12.0) if isinstance(a[0], float) else 3 * a[0] ** 2,
               name="test_np_partial")
    x = Value(2.0)
    apply(op, x).backward()
    assert x.grad == 12.0 and type(x.grad) is float
    whole = unary(partial=lambda a, out, m: 12, name="test_int_partial")
    assert grad(_with(whole))(2.0) == 24.0 and jvp(_with(whole), (2.0,), (1.0,)) == (16.0, 24.0)
