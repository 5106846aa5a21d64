"""The right number or a clear refusal on every path: compiled mode from threads, primitives that share
a name, pow with a Value exponent, the careful path, jvp and explain (issue 22, items 4, 5, 6, 7, 9).
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

import nn
from autodiff import DomainError, NonFiniteError, Primitive, Value, apply, explain, grad, jvp, register
from autodiff.compiled import compile  # noqa: A004 - the project's name
from autodiff.primitives import PRIMITIVES


def _in_threads(calls, threads=4):
    """Run each call of ``calls`` (a list per thread) in its own thread; their results, in order."""
    results: list[list] = [[] for _ in calls]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def run(k):
        barrier.wait()
        try:
            results[k] = [call() for call in calls[k]]
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    return results


def _layer_program():
    rng = np.random.default_rng(0)
    w = [Value(float(v)) for v in rng.normal(size=12)]

    def loss(x, y):
        hidden = [(w[3 * j] * x[0] + w[3 * j + 1] * x[1] + w[3 * j + 2]).tanh() for j in range(3)]
        out = hidden[0] * w[9] + hidden[1] * w[10] + hidden[2] * w[11]
        return (out - y[0]) ** 2

    return compile(loss, ([0.5, -0.2], [1.0]), w), rng


def test_one_program_called_from_several_threads_gives_the_single_threaded_answers():
    # Before: the generated code wrote every call into one set of buffers (182 of 800 calls wrong).
    program, rng = _layer_program()
    theta = program.read_params()
    batches = [(rng.normal(size=(10, 2)), rng.normal(size=(10, 1))) for _ in range(4)]
    alone = [(program.forward(*b, params=theta), program.value_and_grad(*b, params=theta)) for b in batches]
    calls = [[(lambda b=b: (program.forward(*b, params=theta), program.value_and_grad(*b, params=theta)))
              for _ in range(60)] for b in batches]
    for k, results in enumerate(_in_threads(calls)):
        for outputs, (loss, gradient) in results:
            np.testing.assert_array_equal(outputs, alone[k][0])
            assert loss == alone[k][1][0]
            np.testing.assert_array_equal(gradient, alone[k][1][1])


def test_batches_and_predict_from_several_threads_give_the_single_threaded_answers():
    program, rng = _layer_program()
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(40, 1))
    steps, theta = program.batches(X, Y), program.read_params()
    rows = [np.arange(10 * k, 10 * k + 10) for k in range(4)]
    alone = [steps.value_and_grad(r, params=theta)[1].copy() for r in rows]
    calls = [[(lambda r=r: steps.value_and_grad(r, params=theta)[1]) for _ in range(40)] for r in rows]
    for k, results in enumerate(_in_threads(calls)):
        for gradient in results:
            np.testing.assert_array_equal(gradient, alone[k])

    model = nn.MLP(3, [8, 2], seed=1)
    inputs = [np.random.default_rng(k).normal(size=(10, 3)) for k in range(4)]
    expected = [nn.predict(model, x, mode="compiled") for x in inputs]
    calls = [[(lambda x=x: nn.predict(model, x, mode="compiled")) for _ in range(40)] for x in inputs]
    for k, results in enumerate(_in_threads(calls)):
        for outputs in results:
            np.testing.assert_array_equal(outputs, expected[k])


def _square(name, factor):
    return Primitive(name=name, symbol=name, arity=1, forward=lambda x: x * x, array_forward=lambda x: x * x,
                     partials=(lambda a, out, m: factor * a[0],), formulas=(f"{factor} * x",))


def test_compiled_mode_keeps_apart_two_primitives_that_share_a_name():
    # Before: grouped by name, both ran with the first one's partial: 4.0 against the scalar 2.5.
    right, half = _square("twin", 2.0), _square("twin", 0.5)
    w = Value(1.0)

    def loss(x):
        return apply(right, w * x[0]) + apply(half, w * x[0])

    program = compile(loss, [1.0], [w])
    loss([Value(1.0)]).backward()
    assert w.grad == 2.5
    assert program.value_and_grad(np.array([[1.0]]), reduction="sum")[1].tolist() == [2.5]


def test_compiled_mode_after_a_replaced_registration_keeps_the_old_primitive_of_an_old_graph():
    old = register(Primitive(name="test_replaced", symbol="r", arity=1, forward=lambda x: 2 * x,
                             array_forward=lambda x: 2 * x, partials=(lambda a, out, m: 2.0,),
                             formulas=("2",)))
    try:
        new = register(Primitive(name="test_replaced", symbol="r", arity=1, forward=lambda x: 3 * x,
                                 array_forward=lambda x: 3 * x, partials=(lambda a, out, m: 3.0,),
                                 formulas=("3",)), replace=True)
        w = Value(1.0)
        program = compile(lambda x: apply(old, w * x[0]) + apply(new, w * x[0]), [1.0], [w])
        loss, gradient = program.value_and_grad(np.array([[2.0]]), reduction="sum")
        assert (loss, gradient.tolist()) == (10.0, [10.0])
    finally:
        PRIMITIVES.pop("test_replaced", None)


def test_compiled_pow_with_a_value_exponent_refuses_what_the_scalar_engine_refuses():
    # Before: (1.0, d/dp = 0.0) at x = 0, p = 0, where the scalar engine raises DomainError.
    p = Value(0.5, label="p")
    program = compile(lambda x: x[0] ** p, [1.0], [p])
    with pytest.raises(DomainError, match="pow"):
        Value(0.0) ** Value(0.0)
    for x, exponent in [(0.0, 0.0), (0.0, -1.0), (-2.0, 2.0)]:
        with pytest.raises(DomainError, match=r"pow: x\[0\] = .* raised to a Value power .*base must be > 0"):
            program.value_and_grad(np.array([[1.0], [x]]), params=[exponent])
        with pytest.raises(DomainError, match="raised to a Value power"):
            program.forward(np.array([[x]]), params=[exponent])
    assert program.forward(np.array([[0.0]]), params=[2.0]).tolist() == [0.0]  # 0 ** positive is fine
    # A constant exponent keeps every base NumPy allows.
    assert compile(lambda x: x[0] ** 2, [1.0]).forward(np.array([[-3.0]])).tolist() == [9.0]


def test_the_careful_path_names_an_overflow_whose_other_operand_is_a_shared_row():
    # Before: a raw IndexError from the careful path when the other operand is a parameter's row.
    a, b = Value(1.0), Value(1.0)
    program = compile(lambda x: (x[0] * a) ** 3 + (x[0] * b) ** 3, [1.0], [a, b])
    with pytest.raises(NonFiniteError, match="overflowed"):
        program.forward([[1.0]], params=[1.0, 1e200])
    with pytest.raises(NonFiniteError, match="overflowed"):
        program.value_and_grad(np.array([[1.0], [2.0]]), params=[1.0, 1e200])


def test_a_diverging_compiled_fit_ends_in_a_clear_error():
    # Before: a raw IndexError for some seeds (the overflowing square's exponent is a shared row).
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(64, 3)) * 3, rng.normal(size=(64, 4))
    for seed in range(12):
        model = nn.MLP(3, [4], activation="linear", seed=seed)
        with pytest.raises(NonFiniteError, match="overflowed to inf for"):
            nn.fit(model, X, Y, loss=nn.mse, optimizer=nn.SGD(model.parameters(), lr=3.0), epochs=30,
                   batch_size=8, mode="compiled", seed=seed, progress=False)


def test_a_constant_partial_of_inf_is_not_written_into_the_generated_source():
    # Before: NameError: name 'inf' is not defined, in <compiled plan>.
    steep = Primitive(name="test_steep", symbol="s", arity=1, forward=lambda x: x, array_forward=lambda x: x,
                      partials=(lambda a, out, m: math.inf,), formulas=("inf",))
    w = Value(1.0)
    # Compiled mode records the gradients with the engine's own sweep, which refuses it at once.
    with pytest.raises(NonFiniteError):
        compile(lambda x: apply(steep, w * x[0]), [1.0], [w])
    with pytest.raises(NonFiniteError):
        apply(steep, w * 1.0).backward()


def test_a_partial_that_returns_none_is_refused_in_compiled_mode_too():
    forgot = Primitive(name="test_forgot", symbol="f", arity=1, forward=lambda x: x * x,
                       array_forward=lambda x: x * x, partials=(lambda a, out, m: None,), formulas=("2 * x",))
    w = Value(1.0)
    with pytest.raises(TypeError, match="returned None: a forgotten `return`"):
        compile(lambda x: apply(forgot, w * x[0]), [1.0], [w])


# -- jvp and explain refuse what backward refuses -------------------------------------------


def test_jvp_refuses_a_tangent_that_is_not_finite():
    # Before: (-736.8, inf).
    with pytest.raises(NonFiniteError, match=r"jvp through log: local partial inf times tangent 1.0"):
        jvp(lambda x: x.log(), (1e-320,), (1.0,))
    with pytest.raises(NonFiniteError, match="jvp through log"):
        jvp(lambda x: x.log() * 0.0, (1e-320,), (1.0,))
    with pytest.raises(NonFiniteError):
        grad(lambda x: x.log())(1e-320)
    assert jvp(lambda x: x.log(), (1e-300,), (1.0,))[1] == pytest.approx(1e300)


def test_explain_refuses_a_sum_over_paths_that_is_not_finite():
    # Before: "= nan", where backward raises NonFiniteError.
    x = Value(1e-320, label="x")
    y = x.log() * 0.0
    with pytest.raises(NonFiniteError, match="backward through log: local partial inf times upstream"):
        y.backward()
    with pytest.raises(NonFiniteError, match="backward through log: local partial inf times upstream"):
        explain(y, x)


@pytest.mark.parametrize(("array_forward", "what"), [
    (lambda x: x * x + 0j, "of complex128"),
    (lambda x: (x * x)[..., :1], r"of shape \(2, 1\) of float64 for inputs of shape \(2, 2\)"),
    (lambda x: None, "NoneType None"),
    (lambda x: [1.0], "list"),
])
def test_a_users_array_forward_of_the_wrong_kind_or_shape_is_refused(array_forward, what):
    # Before: one sample's number broadcast over the batch ([5, 5] for [5, 25]) or the imaginary part
    # dropped, silently; None gave "undefined" and a list a TraceError about assigning .data.
    square = Primitive(name="test_sq", symbol="sq", arity=1, forward=lambda x: x * x,
                       array_forward=array_forward, partials=(lambda a, out, m: 2 * a[0],),
                       formulas=("2 * x",))
    w = Value(1.0)

    def run():
        program = compile(lambda x: apply(square, w * x[0]) + apply(square, w * x[1]), [1.0, 2.0], [w])
        return program.forward(np.array([[1.0, 2.0], [3.0, 4.0]]))

    with pytest.raises(TypeError, match=f"test_sq's array_forward returned .*{what}"):
        run()
