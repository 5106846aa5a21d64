"""Every error autodiff raises: the right class, and a message naming the op, the values and the labels."""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest

import autodiff
from autodiff import (
    AutodiffError,
    DivisionByZeroError,
    DomainError,
    GraphError,
    NonFiniteError,
    StaleGraphError,
    Value,
    topological_order,
)


def test_error_classes_extend_the_builtin_ones():
    assert issubclass(DomainError, ValueError) and issubclass(DomainError, ArithmeticError)
    assert issubclass(DivisionByZeroError, ZeroDivisionError) and issubclass(DivisionByZeroError, DomainError)
    assert issubclass(NonFiniteError, ArithmeticError)
    assert issubclass(StaleGraphError, RuntimeError)
    assert issubclass(GraphError, ValueError)
    for error in (DomainError, DivisionByZeroError, NonFiniteError, StaleGraphError, GraphError):
        assert issubclass(error, AutodiffError)


def _message(error_class, action):
    with pytest.raises(error_class) as info:
        action()
    return str(info.value)


@pytest.mark.parametrize("x", [0.0, -2.0, -1e-300])
def test_log_outside_its_domain(x):
    message = _message(DomainError, lambda: Value(x, label="p").log())
    assert "log" in message and repr(x) in message and "'p'" in message and "x > 0" in message


@pytest.mark.parametrize("divisor", [Value(0.0, label="d"), 0, 0.0, np.float64(0.0), -0.0])
def test_division_by_zero(divisor):
    message = _message(DivisionByZeroError, lambda: Value(3.0, label="n") / divisor)
    assert "division by zero" in message and "'n'" in message
    if isinstance(divisor, Value):
        assert "'d'" in message


@pytest.mark.parametrize("numerator", [1, 2.5, np.float32(1.0), Value(1.0, label="one")])
def test_division_of_anything_by_a_zero_value(numerator):
    message = _message(DivisionByZeroError, lambda: numerator / Value(0.0, label="d"))
    assert "division by zero" in message and "'d'" in message and "0.0" in message


def test_division_by_zero_is_a_zero_division_error():
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / Value(0.0)


def test_zero_to_a_positive_value_power_is_zero_with_no_slope_by_the_exponent():
    y = Value(2.0, label="y")
    z = Value(0.0) ** y
    z.backward()
    assert z.data == 0.0 and y.grad == 0.0


@pytest.mark.parametrize("base", [-2.0])
def test_non_positive_base_to_a_value_power(base):
    message = _message(DomainError, lambda: Value(base, label="b") ** Value(2.0, label="e"))
    assert "pow" in message and "'b'" in message and "'e'" in message and repr(base) in message
    with pytest.raises(DomainError, match="pow"):
        base ** Value(2.0)
    with pytest.raises(DomainError, match="pow"):
        0.0 ** Value(-1.0)


def test_negative_base_to_a_constant_integer_power_is_fine():
    x = Value(-2.0)
    y = x**3
    y.backward()
    assert (y.data, x.grad) == (-8.0, 12.0)


def test_negative_base_to_a_fractional_constant_power():
    message = _message(DomainError, lambda: Value(-2.0, label="b") ** 0.5)
    assert "pow" in message and "'b'" in message and "0.5" in message


@pytest.mark.parametrize("exponent", [-1, -2.5])
def test_zero_to_a_negative_power(exponent):
    message = _message(DivisionByZeroError, lambda: Value(0.0, label="z") ** exponent)
    assert "pow" in message and "'z'" in message and repr(float(exponent)) in message


@pytest.mark.parametrize(("action", "op"), [
    (lambda: Value(710.0, label="big").exp(), "exp"),
    (lambda: Value(1e200, label="big") * Value(1e200), "mul"),
    (lambda: Value(1e308, label="big") + Value(1e308), "add"),
    (lambda: Value(10.0, label="big") ** 400, "pow"),
    (lambda: Value(1e-200, label="big") ** -2, "pow"),
])
def test_overflow(action, op):
    message = _message(NonFiniteError, action)
    assert op in message and "'big'" in message


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, np.float64("nan")])
def test_non_finite_numbers_are_refused(bad):
    x = Value(1.0, label="x")
    for action in (lambda: Value(bad), lambda: x + bad, lambda: bad * x, lambda: x - bad, lambda: x / bad,
                   lambda: x**bad, lambda: bad**x, lambda: x < bad):
        with pytest.raises(NonFiniteError, match="finite"):
            action()
    with pytest.raises(NonFiniteError, match="'x'"):
        x.data = bad
    assert x.data == 1.0


OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]


NOT_NUMBERS = [True, None, "2", 1j, [1.0], np.bool_(True)]


@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
def test_a_value_with_an_array_is_an_array_of_values(op):
    # NumPy code runs on Values (autodiff.arrays): the array's elements each meet the Value, recorded.
    x = Value(2.0, label="x")
    for result, expected in ((op(x, np.array([1.0, 4.0])), [op(2.0, 1.0), op(2.0, 4.0)]),
                             (op(np.array([1.0, 4.0]), x), [op(1.0, 2.0), op(4.0, 2.0)])):
        assert result.dtype == object and result.shape == (2,)
        assert all(isinstance(v, Value) and v.parents for v in result)
        assert [v.data for v in result] == pytest.approx(expected)
    zero_d = op(x, np.array(3.0))
    assert isinstance(zero_d, Value) and zero_d.data == pytest.approx(op(2.0, 3.0))


def test_numpy_functions_on_a_value_record_or_name_what_to_write():
    x = Value(0.5, label="x")
    assert np.exp(x).op == "exp" and np.add(2, x).op == "add" and np.maximum(0, x).op == "max"
    (np.tanh(x) * np.float64(2.0)).backward()
    assert x.grad == pytest.approx(2 * (1 - np.tanh(0.5) ** 2))
    with pytest.raises(TypeError, match=r"np.sinh has no recorded counterpart.*x.exp\(\)"):
        np.sinh(x)
    with pytest.raises(TypeError, match="np.ceil has no recorded counterpart.*flat"):
        np.ceil(x)


def test_numpy_functions_of_the_new_primitives_call_them():
    # NumPy's names: np.arcsin(v) is v.arcsin(), on one Value and on object arrays of Values.
    x, y = Value(0.5, label="x"), Value(-2.0, label="y")
    for function in (np.tan, np.arcsin, np.arccos, np.arctan, np.sign, np.floor):
        assert function(x).op == function.__name__ and function(x).data == pytest.approx(function(0.5))
    assert np.arctan2(x, y).op == "arctan2" and np.arctan2(x, y).data == pytest.approx(np.arctan2(0.5, -2.0))
    assert np.remainder(y, 0.75).op == "mod" and np.mod(y, 0.75).data == pytest.approx(-2.0 % 0.75)
    values = np.array([x, y], dtype=object)
    angles = np.arctan2(values, 1.0)
    assert [v.op for v in angles] == ["arctan2", "arctan2"]
    assert [v.data for v in np.arcsin(values * 0.25)] == pytest.approx(np.arcsin([0.125, -0.5]))
    (values % 0.75).sum().backward()
    assert (x.grad, y.grad) == (1.0, 1.0)


def test_var_and_std_of_values_record():
    xs = np.array([Value(1.0), Value(2.0), Value(4.0)], dtype=object)
    var, std = np.var(xs), np.std(xs)
    assert isinstance(var, Value) and var.data == pytest.approx(np.var([1.0, 2.0, 4.0]))
    std.backward()
    assert [v.grad for v in xs] == pytest.approx(list((np.array([1.0, 2.0, 4.0]) - 7 / 3) / (3 * std.data)))


@pytest.mark.parametrize("bad", NOT_NUMBERS)
@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
def test_non_numbers_are_type_errors_naming_the_type(op, bad):
    x = Value(2.0)
    name = type(bad).__name__
    if isinstance(bad, np.bool_):
        name = "bool"
    with pytest.raises(TypeError, match=name):
        op(x, bad)
    with pytest.raises(TypeError, match=name):
        op(bad, x)


@pytest.mark.parametrize("bad", NOT_NUMBERS)
def test_maximum_with_a_non_number_is_a_type_error(bad):
    name = "bool" if isinstance(bad, np.bool_) else type(bad).__name__
    with pytest.raises(TypeError, match=name):
        Value(1.0).maximum(bad)


@pytest.mark.parametrize("bad", [True, None, "2", 1j, np.array([1.0]), Value(1.0)])
def test_value_data_must_be_a_real_number(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


@pytest.mark.parametrize("number", [np.float64(1.5), np.float32(1.5), np.int64(2), np.int8(2), 3, 1.5])
@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
def test_numpy_scalars_are_numbers(op, number):
    x = Value(2.0)
    assert op(x, number).data == pytest.approx(op(2.0, float(number)))
    assert op(number, x).data == pytest.approx(op(float(number), 2.0))


@pytest.mark.parametrize("x", [1000.0, -1000.0])
def test_sigmoid_and_tanh_at_large_inputs_are_exact(x):
    v = Value(x)
    s, t = v.sigmoid(), v.tanh()
    assert s.data == (1.0 if x > 0 else 0.0) and t.data == math.copysign(1.0, x)
    (s + t).backward()
    assert v.grad == 0.0


def test_non_finite_gradient_names_the_op():
    a, b = Value(1e300, label="a"), Value(1e-300, label="b")
    out = (a * b) * 1e10  # fine forward; d out / d b = a * 1e10 overflows
    message = _message(NonFiniteError, out.backward)
    assert "mul" in message and "not finite" in message and "'a'" in message and "'b'" in message
    assert all(node.grad == 0.0 for node in topological_order(out))


def test_undefined_partial_in_backward_names_the_op_and_keeps_grads():
    x, w = Value(0.0, label="x"), Value(2.0, label="w")
    out = w * w + x**0.5  # sqrt is fine at 0, its derivative is not
    nodes = topological_order(out)
    for i, node in enumerate(nodes):
        node.grad = float(i)
    message = _message(DomainError, out.backward)
    assert "pow" in message and "'x'" in message and "0.5" in message
    assert [node.grad for node in nodes] == [float(i) for i in range(len(nodes))]


def test_x_to_the_power_zero_has_derivative_zero_at_zero():
    # x**0 is 1 for every x (Python's 0.0**0 == 1.0), so its derivative is 0 everywhere.
    x = Value(0.0)
    y = x**0
    y.backward()
    assert (y.data, x.grad) == (1.0, 0.0)


def test_comparison_with_a_non_number():
    with pytest.raises(TypeError, match="NoneType"):
        _ = Value(1.0) < None


def test_a_partial_that_overflows_is_non_finite_not_undefined():
    x = Value(0.1, label="x")
    out = x**-308  # 1e308 fits; its partial -308 * 0.1 ** -309 does not
    with pytest.raises(NonFiniteError) as info:
        out.backward()
    assert not isinstance(info.value, DomainError)  # x = 0.1 is inside pow's domain
    message = str(info.value)
    assert "pow" in message and "overflows" in message and "'x'" in message and "y * x**(y-1)" in message
    assert x.grad == 0.0


def test_an_n_ary_node_names_its_inputs_and_summarises_many():
    a, b = Value(1e308, label="a"), Value(1e308, label="b")
    message = _message(NonFiniteError, lambda: autodiff.sum([a, b]))
    assert "sum" in message and "x0 = 1e+308 ('a')" in message and "x1 = 1e+308 ('b')" in message
    many = [Value(1e308, label=f"v{i}") for i in range(10)]
    message = _message(NonFiniteError, lambda: autodiff.sum(many))
    assert "10 inputs (x0 = 1e+308 ('v0')" in message and "'v3'" in message and "'v4'" not in message


def test_a_root_that_is_not_a_value_is_named():
    for root in (3.0, [Value(1.0), Value(2.0)]):
        with pytest.raises(GraphError, match=f"root must be a Value .*not {type(root).__name__}"):
            topological_order(root)
    with pytest.raises(GraphError, match="not list"):
        autodiff.draw([Value(1.0)])


def test_dividing_by_a_subnormal_number_says_why_it_overflows():
    message = _message(NonFiniteError, lambda: Value(1e-300, label="p") / 1e-320)
    assert "'p'" in message and "1e-320" in message and "1/y does not fit" in message
