"""Higher derivatives by composing autodiff.grad, against analytic formulas for every primitive."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff
from autodiff import PRIMITIVES, GraphError, Value, grad
from autodiff.testing import gradcheck
from autodiff.testing.strategies import graphs


def _sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def _tanh3(x):
    t = math.tanh(x)
    return -2 * (1 - t * t) * (1 - 3 * t * t)


# name -> (f, f', f'', f''') for the one-input primitives.
UNARY = {
    "neg": (lambda x: -x, lambda x: -1.0, lambda x: 0.0, lambda x: 0.0),
    "exp": (lambda x: x.exp(), math.exp, math.exp, math.exp),
    "log": (lambda x: x.log(), lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3),
    "tanh": (lambda x: x.tanh(), lambda x: 1 - math.tanh(x) ** 2,
             lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2), _tanh3),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: _sig(x) * (1 - _sig(x)),
                lambda x: _sig(x) * (1 - _sig(x)) * (1 - 2 * _sig(x)),
                lambda x: _sig(x) * (1 - _sig(x)) * (1 - 6 * _sig(x) + 6 * _sig(x) ** 2)),
    "relu": (lambda x: x.relu(), lambda x: float(x > 0), lambda x: 0.0, lambda x: 0.0),
    "sin": (lambda x: x.sin(), math.cos, lambda x: -math.sin(x), lambda x: -math.cos(x)),
    "cos": (lambda x: x.cos(), lambda x: -math.sin(x), lambda x: -math.cos(x), math.sin),
    "abs": (lambda x: abs(x), lambda x: math.copysign(1.0, x), lambda x: 0.0, lambda x: 0.0),
    "sqrt": (lambda x: x.sqrt(), lambda x: 0.5 / math.sqrt(x), lambda x: -0.25 * x ** -1.5,
             lambda x: 0.375 * x ** -2.5),
    "log1p": (lambda x: x.log1p(), lambda x: 1 / (1 + x), lambda x: -1 / (1 + x) ** 2,
              lambda x: 2 / (1 + x) ** 3),
    "tan": (lambda x: x.tan(), lambda x: 1 / math.cos(x) ** 2, lambda x: 2 * math.sin(x) / math.cos(x) ** 3,
            lambda x: (2 + 4 * math.sin(x) ** 2) / math.cos(x) ** 4),
    "arcsin": (lambda x: x.arcsin(), lambda x: (1 - x * x) ** -0.5, lambda x: x * (1 - x * x) ** -1.5,
               lambda x: (1 + 2 * x * x) * (1 - x * x) ** -2.5),
    "arccos": (lambda x: x.arccos(), lambda x: -((1 - x * x) ** -0.5), lambda x: -x * (1 - x * x) ** -1.5,
               lambda x: -(1 + 2 * x * x) * (1 - x * x) ** -2.5),
    "arctan": (lambda x: x.arctan(), lambda x: 1 / (1 + x * x), lambda x: -2 * x / (1 + x * x) ** 2,
               lambda x: (6 * x * x - 2) / (1 + x * x) ** 3),
    # Steps: flat wherever they are differentiable, so every derivative is 0 (also through Values).
    "sign": (lambda x: x.sign(), lambda x: 0.0, lambda x: 0.0, lambda x: 0.0),
    "floor": (lambda x: x.floor(), lambda x: 0.0, lambda x: 0.0, lambda x: 0.0),
    # Helpers (no Value method: partials record them): relu's step, pow's select before its log.
    "step": (lambda x: autodiff.apply(PRIMITIVES["step"], x), lambda x: 0.0, lambda x: 0.0, lambda x: 0.0),
    "one_if_zero": (lambda x: autodiff.apply(PRIMITIVES["one_if_zero"], x),
                    lambda x: 1.0, lambda x: 0.0, lambda x: 0.0),
}
UNARY_POINTS = {"log": [0.3, 1.0, 2.5], "sqrt": [0.3, 1.0, 2.5], "log1p": [-0.5, 0.4, 2.0],
                "arcsin": [-0.5, 0.2, 0.7], "arccos": [-0.5, 0.2, 0.7], "tan": [-1.2, 0.3, 1.0]}
DEFAULT_POINTS = [-1.5, -0.2, 0.4, 2.0]

# Two-input primitives and sum: (f(x, y), [(argnums, expected(x, y)) ...]), where argnums
# lists the inputs differentiated by, innermost first: (0, 1) is d/dy of d/dx.
BINARY = {
    "add": (lambda x, y: x + y, [((0,), lambda x, y: 1.0), ((0, 0), lambda x, y: 0.0),
                                 ((1, 0), lambda x, y: 0.0), ((0, 1, 1), lambda x, y: 0.0)]),
    "mul": (lambda x, y: x * y, [((0,), lambda x, y: y), ((1,), lambda x, y: x), ((0, 0), lambda x, y: 0.0),
                                 ((0, 1), lambda x, y: 1.0), ((1, 0, 1), lambda x, y: 0.0)]),
    "pow": (lambda x, y: x**y, [
        ((1,), lambda x, y: x**y * math.log(x)),
        ((1, 1), lambda x, y: x**y * math.log(x) ** 2),
        ((1, 1, 1), lambda x, y: x**y * math.log(x) ** 3),
        ((0, 0), lambda x, y: y * (y - 1) * x ** (y - 2)),
        ((0, 1), lambda x, y: x ** (y - 1) * (1 + y * math.log(x))),
        ((1, 0), lambda x, y: x ** (y - 1) * (1 + y * math.log(x))),
        ((0, 0, 0), lambda x, y: y * (y - 1) * (y - 2) * x ** (y - 3)),
    ]),
    "max": (lambda x, y: x.maximum(y), [
        ((0,), lambda x, y: float(x >= y)),
        ((1,), lambda x, y: float(y > x)),
        ((0, 0), lambda x, y: 0.0),
        ((1, 0), lambda x, y: 0.0),
        ((1, 1, 1), lambda x, y: 0.0),
    ]),
    "sum": (lambda x, y: autodiff.sum([x, y, x * x, 3.0]), [
        ((0,), lambda x, y: 1 + 2 * x),
        ((0, 0), lambda x, y: 2.0),
        ((0, 1), lambda x, y: 0.0),
        ((0, 0, 0), lambda x, y: 0.0),
    ]),
    "at_least": (lambda x, y: autodiff.apply(PRIMITIVES["at_least"], x, y), [
        ((0,), lambda x, y: 0.0),
        ((1,), lambda x, y: 0.0),
        ((0, 1), lambda x, y: 0.0),
    ]),
    # arctan2(x, y) is the angle of the point (y, x); with r2 = x**2 + y**2:
    "arctan2": (lambda x, y: x.arctan2(y), [
        ((0,), lambda x, y: y / (x * x + y * y)),
        ((1,), lambda x, y: -x / (x * x + y * y)),
        ((0, 0), lambda x, y: -2 * x * y / (x * x + y * y) ** 2),
        ((0, 1), lambda x, y: (x * x - y * y) / (x * x + y * y) ** 2),
        ((1, 1), lambda x, y: 2 * x * y / (x * x + y * y) ** 2),
        ((0, 0, 0), lambda x, y: (6 * x * x * y - 2 * y**3) / (x * x + y * y) ** 3),
    ]),
    # x % y = x - y * floor(x / y): d/dy is -floor(x / y), through a recorded floor (partial 0).
    "mod": (lambda x, y: x % y, [
        ((0,), lambda x, y: 1.0),
        ((1,), lambda x, y: -float(math.floor(x / y))),
        ((0, 0), lambda x, y: 0.0),
        ((1, 1), lambda x, y: 0.0),
        ((1, 0), lambda x, y: 0.0),
        ((0, 1, 1), lambda x, y: 0.0),
    ]),
}
BINARY_POINTS = [(0.5, 1.5), (2.0, -0.7), (1.3, 3.0)]


def test_every_primitive_has_higher_order_cases():
    assert set(PRIMITIVES) == set(UNARY) | set(BINARY)


def _derivative(f, argnums):
    for argnum in argnums:
        f = grad(f, argnum)
    return f


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("order", [1, 2, 3])
def test_unary_derivatives(name, order):
    f, *expected = UNARY[name]
    for x in UNARY_POINTS.get(name, DEFAULT_POINTS):
        got = _derivative(f, [0] * order)(x)
        assert type(got) is float
        assert got == pytest.approx(expected[order - 1](x), rel=1e-12, abs=1e-14), (name, order, x)


def _binary_cases():
    return [pytest.param(name, argnums, expected, id=f"{name}-d{''.join(map(str, argnums))}")
            for name, (_, cases) in BINARY.items() for argnums, expected in cases]


@pytest.mark.parametrize(("name", "argnums", "expected"), _binary_cases())
def test_binary_derivatives(name, argnums, expected):
    f = BINARY[name][0]
    for x, y in BINARY_POINTS:
        got = _derivative(f, argnums)(x, y)
        assert got == pytest.approx(expected(x, y), rel=1e-12, abs=1e-14), (name, argnums, x, y)


# Integer powers are defined for negative x; at x = 0 the third derivative needs n >= 3.
POWER_CASES = [(n, x) for n in (2.0, 3.0, -1.0, -2.0, 0.5) for x in (0.7, 2.0, -1.5, 0.0)
               if not (x < 0 and not n.is_integer() or x == 0 and n < 3)]


@pytest.mark.parametrize(("n", "x"), POWER_CASES)
def test_derivatives_of_x_to_a_constant_power(n, x):
    f = lambda v: v**n
    expected = [n * x ** (n - 1), n * (n - 1) * x ** (n - 2), n * (n - 1) * (n - 2) * x ** (n - 3)]
    for order in (1, 2, 3):
        assert _derivative(f, [0] * order)(x) == pytest.approx(expected[order - 1], rel=1e-12), order


def test_second_derivative_of_a_composition():
    f = lambda x: (x * x).tanh().exp()  # f' = 2x (1 - t²) e^t with t = tanh(x²)

    def f1(x):
        t = math.tanh(x * x)
        return 2 * x * (1 - t * t) * math.exp(t)

    h = 1e-5
    assert grad(f)(0.8) == pytest.approx(f1(0.8), rel=1e-13)
    assert grad(grad(f))(0.8) == pytest.approx((f1(0.8 + h) - f1(0.8 - h)) / (2 * h), rel=1e-8)


@given(graphs(max_inputs=3, max_nodes=6), st.data())
def test_second_derivatives_match_central_differences_on_random_graphs(graph, data):
    # The derivative by one input is itself a recorded function: check its gradient.
    i = data.draw(st.integers(0, len(graph.values) - 1), label="differentiate by input")
    first = grad(graph, i)
    assert gradcheck(first, graph.values, rtol=1e-4, atol=1e-6)


@given(graphs(max_inputs=3, max_nodes=8), st.data())
def test_grad_agrees_with_backward(graph, data):
    inputs, out = graph.build()
    out.backward()
    i = data.draw(st.integers(0, len(graph.values) - 1), label="input")
    assert grad(graph, i)(*graph.values) == pytest.approx(inputs[i].grad, rel=1e-14, abs=1e-300)


def test_grad_leaves_grad_fields_alone():
    x = Value(3.0)
    d = grad(lambda v: v * v * v)(x)
    assert isinstance(d, Value) and d.data == 27.0
    assert x.grad == 0.0 and d.grad == 0.0


def test_grad_of_a_function_that_ignores_its_input_is_zero():
    assert grad(lambda x, y: y * y, 0)(1.0, 2.0) == 0.0
    assert grad(grad(lambda x: x * 2.0))(5.0) == 0.0


def test_grad_errors():
    with pytest.raises(GraphError, match="returned str"):
        grad(lambda x: "3")(1.0)
    assert grad(lambda x: 3.0)(1.0) == 0.0  # a constant function's derivative
    with pytest.raises(TypeError, match="argnum=2"):
        grad(lambda x, y: x * y, 2)(1.0, 2.0)


def test_grad_keeps_a_value_captured_from_an_enclosing_grad():
    # HIPS/autograd's enclosing-scope case: the inner derivative is x, a Value of the outer grad.
    fun = lambda x: x * grad(lambda y: x * y)(2.0)  # noqa: E731
    assert grad(fun)(1.0) == 2.0
    assert grad(grad(lambda x: 1.0))(2.0) == 0.0


def test_third_derivative_of_sine():
    assert grad(grad(grad(lambda v: v.sin())))(1.0) == pytest.approx(-math.cos(1.0), rel=1e-15)


@pytest.mark.parametrize("x", [-2.0, -0.5, 0.0])
def test_first_derivatives_by_grad_at_non_positive_inputs(x):
    # x**2 and division are defined for x <= 0 (division away from 0); so are their derivatives.
    assert grad(lambda v: v**2)(x) == 2 * x
    assert grad(lambda v: v**3 / 3)(x) == pytest.approx(x * x, rel=1e-15)
    if x != 0.0:
        assert grad(lambda v: 1 / v)(x) == pytest.approx(-1 / x**2, rel=1e-15)


def test_grad_inside_no_grad_is_an_error_not_a_zero():
    with autodiff.no_grad(), pytest.raises(GraphError, match="inside no_grad"):
        grad(lambda x: x * x)(3.0)
    assert grad(lambda x: x * x)(3.0) == 6.0  # recording is back on after the block


def test_a_users_partial_written_with_math_cos_is_refused_not_differentiated_to_zero():
    import autodiff
    from autodiff import Primitive, apply, register

    wrong = Primitive(name="test_sin_math", symbol="s", arity=1, forward=math.sin, array_forward=math.sin,
                      partials=(lambda a, out, m: math.cos(a[0]),), formulas=("cos(x)",))
    right = Primitive(name="test_sin_m", symbol="s", arity=1, forward=math.sin, array_forward=math.sin,
                      partials=(lambda a, out, m: m.cos(a[0]),), formulas=("cos(x)",))
    register(wrong)
    register(right)
    try:
        x = autodiff.Value(1.0)
        apply(wrong, x).backward()  # on floats the rule works
        assert x.grad == pytest.approx(math.cos(1.0))
        with pytest.raises(TypeError, match=r"m\.cos\(x\).*never math\.cos"):
            grad(grad(lambda v: apply(wrong, v)))(1.0)  # used to give 0.0 silently
        assert grad(grad(lambda v: apply(right, v)))(1.0) == pytest.approx(-math.sin(1.0), rel=1e-15)
    finally:
        del autodiff.PRIMITIVES["test_sin_math"], autodiff.PRIMITIVES["test_sin_m"]


# Scalar tests in the style other projects' suites use (HIPS/autograd's test_scalar_ops): NumPy's own
# functions on the argument, differentiated once and twice, against central differences.
NUMPY_SCALAR_CASES = [
    (np.tan, (0.4,)), (np.arcsin, (0.3,)), (np.arccos, (-0.6,)), (np.arctan, (1.7,)),
    (np.arctan2, (0.6, -1.4)), (np.arctan2, (-2.0, 0.5)), (np.sign, (-1.3,)), (np.floor, (2.4,)),
    (np.mod, (5.3, 1.7)), (np.mod, (-5.3, 1.7)), (np.remainder, (5.3, -1.7)),
]


def _central(f, args, i, h=1e-6):
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


@pytest.mark.parametrize(("function", "args"), NUMPY_SCALAR_CASES,
                         ids=[f"{f.__name__}{a}" for f, a in NUMPY_SCALAR_CASES])
def test_numpy_scalar_functions_differentiate_twice(function, args):
    for i in range(len(args)):
        first = grad(function, i)
        assert first(*args) == pytest.approx(_central(lambda *a: float(function(*a)), args, i), abs=1e-7)
        for j in range(len(args)):
            second = grad(first, j)
            assert second(*args) == pytest.approx(_central(first, args, j, h=1e-5), rel=1e-5, abs=1e-6)
