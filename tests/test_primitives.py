"""The primitive table: forward rules and local partials, on floats, arrays and Values.

Every test here enumerates :data:`PRIMITIVES`; ``REFERENCE`` holds independent,
hand-written formulas for each entry, and a test fails if an entry has none, so
adding a primitive means adding its reference here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodiff import PRIMITIVES, Value
from autodiff.primitives import CONSTANT, Primitive, register
from autodiff.testing.strategies import arguments


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def _angle(x: float, y: float) -> float:
    """The angle of the point (x, y) from its sine and cosine, each where it is accurate."""
    r = math.hypot(x, y)
    if abs(y) <= abs(x):
        small = math.asin(abs(y) / r)
        return math.copysign(small if x > 0 else math.pi - small, y)
    return math.copysign(math.acos(x / r), y)


# name -> (forward, (d/dx0, d/dx1, ...)); n-ary entries give one partial for every input.
REFERENCE = {
    "add": (lambda x, y: x + y, (lambda x, y: 1.0, lambda x, y: 1.0)),
    "mul": (lambda x, y: x * y, (lambda x, y: y, lambda x, y: x)),
    "neg": (lambda x: -x, (lambda x: -1.0,)),
    "pow": (math.pow, (lambda x, y: y * math.pow(x, y - 1), lambda x, y: math.pow(x, y) * math.log(x))),
    "exp": (math.exp, (math.exp,)),
    "log": (math.log, (lambda x: 1.0 / x,)),
    "tanh": (math.tanh, (lambda x: 1.0 / math.cosh(x) ** 2,)),
    "sigmoid": (_sigmoid, (lambda x: math.exp(-x) / (1.0 + math.exp(-x)) ** 2,)),
    "relu": (lambda x: max(x, 0.0), (lambda x: float(x > 0),)),
    "max": (lambda x, y: x if x >= y else y, (lambda x, y: float(x >= y), lambda x, y: float(y > x))),
    "sum": (lambda *xs: math.fsum(xs), (lambda *xs: 1.0,)),
    "sin": (math.sin, (math.cos,)),
    "cos": (math.cos, (lambda x: -math.sin(x),)),
    "abs": (math.fabs, (lambda x: math.copysign(1.0, x) if x else 0.0,)),
    "sqrt": (math.sqrt, (lambda x: 1.0 / (2.0 * math.sqrt(x)),)),
    "log1p": (lambda x: math.log(1.0 + x) if abs(x) > 1e-4 else x - x * x / 2 + x**3 / 3,
              (lambda x: 1.0 / (1.0 + x),)),
    "tan": (lambda x: math.sin(x) / math.cos(x), (lambda x: 1.0 / math.cos(x) ** 2,)),
    "arcsin": (lambda x: math.atan(x / math.sqrt(1.0 - x * x)), (lambda x: (1.0 - x * x) ** -0.5,)),
    "arccos": (lambda x: math.pi / 2 - math.atan(x / math.sqrt(1.0 - x * x)),
               (lambda x: -((1.0 - x * x) ** -0.5),)),
    "arctan": (lambda x: math.asin(x / math.hypot(1.0, x)) if abs(x) <= 1
               else math.copysign(math.acos(1.0 / math.hypot(1.0, x)), x), (lambda x: 1.0 / (1.0 + x * x),)),
    # arctan2(y, x) in NumPy's order: the angle of the point (x=second, y=first), from its cosine and sine.
    "arctan2": (lambda y, x: _angle(x, y),
                (lambda y, x: x / math.hypot(x, y) ** 2, lambda y, x: -y / math.hypot(x, y) ** 2)),
    "sign": (lambda x: (x > 0) - (x < 0) + 0.0, (lambda x: 0.0,)),
    "floor": (lambda x: float(int(x // 1)), (lambda x: 0.0,)),
    # x % y = x - y * n with n the whole number of times y fits in x, rounded down.
    "mod": (lambda x, y: x - y * math.floor(x / y),
            (lambda x, y: 1.0, lambda x, y: -float(math.floor(x / y)))),
    # The helpers gradient graphs record: relu's slope, max's by x, pow's select before its log.
    "step": (lambda x: float(x > 0), (lambda x: 0.0,)),
    "at_least": (lambda x, y: float(x >= y), (lambda x, y: 0.0, lambda x, y: 0.0)),
    "one_if_zero": (lambda x: x or 1.0, (lambda x: float(x != 0),)),
}

# Hand-picked points, including the edges of each domain that tests should reach.
POINTS = {
    "add": [(1.0, 2.0), (-3.5, 0.0), (1e10, -1e-10)],
    "mul": [(2.0, 3.0), (-1.5, 0.0), (0.1, -7.0)],
    "neg": [(0.0,), (2.5,), (-1e300,)],
    "pow": [(2.0, 3.0), (0.5, -2.0), (4.0, 0.5), (9.0, -1.5), (1.0, 7.0), (3.0, 0.0)],
    "exp": [(0.0,), (1.0,), (-30.0,), (700.0,)],
    "log": [(1.0,), (0.5,), (1e-300,), (1e300,)],
    "tanh": [(0.0,), (0.7,), (-3.0,), (20.0,)],
    "sigmoid": [(0.0,), (2.0,), (-5.0,), (30.0,)],
    "relu": [(2.0,), (-2.0,), (1e-300,), (-1e-300,)],
    "max": [(1.0, 2.0), (3.0, -1.0), (2.0, 2.0), (-0.0, 0.0)],  # a tie's partial goes to x
    "sum": [(1.0,), (1.0, 2.0, 3.0), (0.5, -0.5, 1e-3, 7.0)],
    "sin": [(0.0,), (1.0,), (-2.5,), (100.0,)],
    "cos": [(0.0,), (1.0,), (-2.5,), (100.0,)],
    "abs": [(2.0,), (-3.0,), (0.0,), (-1e-300,)],  # the partial at 0 is 0
    "sqrt": [(1.0,), (4.0,), (1e-300,), (2.0,)],
    "log1p": [(0.0,), (1e-10,), (-0.5,), (3.0,)],
    "tan": [(0.0,), (1.0,), (-1.2,), (4.0,)],
    "arcsin": [(0.0,), (0.5,), (-0.99,), (1e-300,)],
    "arccos": [(0.0,), (0.5,), (-0.99,), (0.3,)],
    "arctan": [(0.0,), (1.0,), (-50.0,), (1e10,)],
    "arctan2": [(1.0, 1.0), (1.0, -2.0), (-3.0, -0.5), (2.0, 0.0), (0.0, 5.0)],
    "sign": [(2.0,), (-3.0,), (0.0,), (-1e-300,)],  # a step: the partial is 0 everywhere, also at 0
    "floor": [(2.5,), (-0.5,), (3.0,), (-1e-300,)],
    "mod": [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (0.25, 0.5), (1e-3, 3.0)],
    "step": [(2.0,), (-3.0,), (0.0,), (1e-300,)],  # 0 at 0, as relu's slope
    "at_least": [(1.0, 2.0), (3.0, -1.0), (2.0, 2.0), (-0.0, 0.0)],  # ties give 1, as max's slope by x
    "one_if_zero": [(2.0,), (-3.0,), (0.0,), (-0.0,), (1e-300,)],
}

# Points where only the partial by x is defined (backward never asks for d/dy there:
# y is a constant, since a Value exponent needs a positive base).
BASE_ONLY_POINTS = [(-2.0, 3.0), (-0.5, -2.0), (0.0, 2.0), (-3.0, 0.0)]


def _point_cases():
    return [pytest.param(name, args, id=f"{name}{args}")
            for name, points in POINTS.items() for args in points]


def test_every_primitive_has_reference_formulas():
    assert set(PRIMITIVES) == set(REFERENCE) == set(POINTS)


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_table_entry_is_consistent(name):
    op = PRIMITIVES[name]
    assert op.name == name and op.symbol
    width = 1 if op.arity is None else op.arity
    assert len(op.partials) == len(op.formulas) == width
    assert all(isinstance(op.formula(i), str) and op.formula(i) for i in range(width))
    assert isinstance(op.domain, str) and op.domain
    assert repr(op) == f"<primitive {name}>"


def test_constant_is_not_in_the_table():
    assert CONSTANT.name == "const" and "const" not in PRIMITIVES and CONSTANT not in PRIMITIVES.values()


def test_register_refuses_to_replace_a_built_in_primitive():
    duplicate = Primitive(name="mul", symbol="*", arity=2, forward=lambda x, y: x * y,
                          array_forward=np.multiply,
                          partials=(lambda a, out, m: a[1], lambda a, out, m: a[0]), formulas=("y", "x"))
    for replace in (False, True):
        with pytest.raises(ValueError, match="'mul' is a built-in primitive"):
            register(duplicate, replace=replace)
    assert PRIMITIVES["mul"] is not duplicate


def test_register_replaces_a_users_primitive_only_when_asked():
    def cube(partial):
        return Primitive(name="test_cube", symbol="cube", arity=1, forward=lambda x: x**3,
                         array_forward=lambda x: x**3, partials=(partial,), formulas=("3 * x**2",))

    wrong, right = cube(lambda a, out, m: 2 * a[0] ** 2), cube(lambda a, out, m: 3 * a[0] ** 2)
    try:
        register(wrong)
        with pytest.raises(ValueError, match="replace=True"):
            register(right)
        assert PRIMITIVES["test_cube"] is wrong
        register(right, replace=True)
        assert PRIMITIVES["test_cube"] is right
    finally:
        PRIMITIVES.pop("test_cube", None)


def test_a_primitive_with_partials_that_do_not_match_the_arity_cannot_be_made():
    with pytest.raises(ValueError, match="partials has 1 entries for 2 inputs; give a tuple of one function"):
        Primitive(name="test_bad", symbol="b", arity=2, forward=lambda x, y: x, array_forward=np.add,
                  partials=(lambda a, out, m: 1.0,), formulas=("1", "0"))
    assert "test_bad" not in PRIMITIVES


#: The functions a formula may call, as the table's formulas are written.
FORMULA_NAMES = {"log": math.log, "exp": math.exp, "sin": math.sin, "cos": math.cos, "sqrt": math.sqrt,
                 "floor": math.floor, "sign": lambda x: math.copysign(1.0, x) if x else 0.0}


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
@given(data=st.data())
def test_every_formula_text_computes_its_partial(name, data):
    # The formula is what the stepper and explanations print: it must say what the partial computes.
    op, args, out = _drawn_point(name, data)
    for i in range(len(args)):
        names = {op.input_name(k): a for k, a in enumerate(args)} | {"out": out} | FORMULA_NAMES
        if op.arity is None:
            names["x"] = args[i]
        from_text = eval(op.formula(i), {"__builtins__": {}}, names)  # noqa: S307 - the table's own text
        assert from_text == pytest.approx(op.partial(i, args, out), rel=1e-12, abs=1e-300), op.formula(i)


def _drawn_point(name, data):
    """A primitive, safe arguments for it drawn by Hypothesis, and its output there."""
    op = PRIMITIVES[name]
    args = data.draw(arguments(op), label="args")
    return op, args, op.forward(*args)


def _check_against_reference(name, args, indices):
    op = PRIMITIVES[name]
    forward, partials = REFERENCE[name]
    out = op.forward(*args)
    assert type(out) is float
    assert out == pytest.approx(forward(*args), rel=1e-14, abs=1e-300)
    for i in indices:
        expected = partials[0 if op.arity is None else i](*args)
        # Absolute slack for partials written in terms of out (1 - out**2 at tanh(20) cancels).
        assert op.partial(i, args, out) == pytest.approx(expected, rel=1e-12, abs=1e-15), (name, i, args)


@pytest.mark.parametrize(("name", "args"), _point_cases())
def test_forward_and_partials_at_chosen_points(name, args):
    _check_against_reference(name, args, range(len(args)))


@pytest.mark.parametrize("args", BASE_ONLY_POINTS)
def test_pow_partial_by_base_for_non_positive_bases(args):
    _check_against_reference("pow", args, [0])


#: pow's partial by the base where a branch would be tempting: a zero base (y = 0, 1, 2, 3),
#: negative bases with whole exponents, a zero exponent; the exact answers.
POW_BY_BASE = [((0.0, 0.0), 0.0), ((0.0, 1.0), 1.0), ((0.0, 2.0), 0.0), ((0.0, 3.0), 0.0),
               ((-2.0, 3.0), 12.0), ((-2.0, 2.0), -4.0), ((-0.5, -2.0), 16.0), ((-3.0, 0.0), 0.0),
               ((5.0, 0.0), 0.0), ((4.0, 0.5), 0.25)]


@pytest.mark.parametrize(("args", "expected"), POW_BY_BASE)
def test_pow_partial_by_base_is_one_rule_exact_on_floats_arrays_and_values(args, expected):
    pow_ = PRIMITIVES["pow"]
    x, y = args
    out = pow_.forward(x, y)
    assert pow_.partial(0, args, out) == expected
    arrays = np.array([x, 1.5]), np.array([y, 2.0])
    assert pow_.partial(0, arrays, np.array([out, 2.25])).tolist() == [expected, 3.0]
    recorded = pow_.partial(0, (Value(x), y), Value(out))  # x ** 2: the exponent a constant
    assert (recorded.data if isinstance(recorded, Value) else recorded) == expected
    if x > 0:  # x ** w: a recorded exponent needs a positive base
        assert pow_.partial(0, (Value(x), Value(y)), Value(out)).data == expected


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
@given(data=st.data())
def test_forward_and_partials_at_drawn_points(name, data):
    args = data.draw(arguments(PRIMITIVES[name]), label="args")
    _check_against_reference(name, args, range(len(args)))


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
@given(data=st.data())
def test_partials_match_central_differences_of_forward(name, data):
    # Reads nothing but the table: a new entry is checked the moment it is added.
    op, args, out = _drawn_point(name, data)
    h = 1e-6
    for i in range(len(args)):
        up, down = list(args), list(args)
        up[i] += h
        down[i] -= h
        numeric = (op.forward(*up) - op.forward(*down)) / (up[i] - down[i])
        assert op.partial(i, args, out) == pytest.approx(numeric, rel=1e-5, abs=1e-6), (i, args)


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
@given(data=st.data())
def test_array_form_agrees_with_float_form_elementwise(name, data):
    op = PRIMITIVES[name]
    first = data.draw(arguments(op), label="first")
    rows = [first] + data.draw(st.lists(arguments(op).filter(lambda a: len(a) == len(first)), max_size=5))
    columns = [np.array(column) for column in zip(*rows)]
    out = op.array_forward(*columns)
    assert out.shape == (len(rows),)
    expected = [op.forward(*row) for row in rows]
    np.testing.assert_allclose(out, expected, rtol=1e-14, atol=0)
    for i in range(len(first)):
        partial = np.broadcast_to(op.partial(i, columns, out), out.shape)
        expected = [op.partial(i, row, op.forward(*row)) for row in rows]
        np.testing.assert_allclose(partial, expected, rtol=1e-13, atol=0, err_msg=f"partial {i}")


def test_pow_array_form_with_negative_bases():
    op = PRIMITIVES["pow"]
    x, y = np.array([-2.0, -0.5, 3.0]), np.array([3.0, -2.0, 0.5])
    out = op.array_forward(x, y)
    np.testing.assert_allclose(out, [op.forward(a, b) for a, b in zip(x, y)], rtol=1e-15)
    np.testing.assert_allclose(op.partial(0, (x, y), out), [op.partial(0, (a, b), op.forward(a, b))
                                                            for a, b in zip(x, y)], rtol=1e-15)


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
@given(data=st.data())
def test_partials_on_values_equal_partials_on_floats(name, data):
    # The same rule, run on Values, is what higher-order derivatives differentiate.
    op, args, out = _drawn_point(name, data)
    for i in range(len(args)):
        symbolic = op.partial(i, [Value(a) for a in args], Value(out))
        number = symbolic.data if isinstance(symbolic, Value) else symbolic
        assert number == pytest.approx(op.partial(i, args, out), rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("x", [1000.0, -1000.0, 710.0, -745.5, 1e308, -1e308])
def test_sigmoid_and_tanh_are_exact_at_large_inputs(x):
    sigmoid, tanh = PRIMITIVES["sigmoid"], PRIMITIVES["tanh"]
    assert sigmoid.forward(x) == (1.0 if x > 0 else 0.0)
    assert tanh.forward(x) == math.copysign(1.0, x)
    big = np.array([x, -x])
    with np.errstate(over="raise", invalid="raise"):  # no overflow in the array form either
        np.testing.assert_array_equal(sigmoid.array_forward(big), [sigmoid.forward(x), sigmoid.forward(-x)])
    assert sigmoid.partial(0, (x,), sigmoid.forward(x)) == 0.0
    assert tanh.partial(0, (x,), tanh.forward(x)) == 0.0


def test_sigmoid_is_accurate_for_very_negative_inputs():
    # 1 - sigmoid(-x) would round to 0; the stable form keeps the tiny value.
    assert PRIMITIVES["sigmoid"].forward(-700.0) == pytest.approx(math.exp(-700.0), rel=1e-14)


def test_relu_partial_at_zero_is_zero():
    relu = PRIMITIVES["relu"]
    assert relu.forward(0.0) == 0.0 and relu.partial(0, (0.0,), 0.0) == 0.0
    np.testing.assert_array_equal(relu.partial(0, (np.array([-1.0, 0.0, 2.0]),), None), [0.0, 0.0, 1.0])


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_safe_points_are_inside_the_domain(name):
    op = PRIMITIVES[name]
    safe = [args for args in POINTS[name] if op.safe(args)]
    assert safe, f"no chosen point of {name} is safe: the check below would test nothing"
    for args in safe:
        op.forward(*args)  # must not raise
