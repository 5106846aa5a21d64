"""The library runs its own BLAS products on one thread, and gives the user's setting back after."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController

import nn
from autodiff import Value
from autodiff.compiled import Program, blas
from autodiff.compiled import compile as compile_program

CONTROLLER = ThreadpoolController()


def blas_threads() -> int:
    return CONTROLLER.select(user_api="blas").info()[0]["num_threads"]


@pytest.fixture
def two_threads():
    if not CONTROLLER.select(user_api="blas").info():
        pytest.skip("NumPy has no BLAS library threadpoolctl knows")
    with CONTROLLER.limit(limits=2, user_api="blas"):  # the user's setting
        if blas_threads() != 2:
            pytest.skip("this BLAS cannot run two threads")
        yield


def test_fit_and_its_evaluate_run_on_one_blas_thread(two_threads):
    seen = []
    model = nn.MLP(2, [3, 1])
    x, y = np.random.default_rng(0).normal(size=(8, 2)), np.zeros((8, 1))
    nn.fit(model, x, y, nn.quadratic, nn.SGD(model.parameters(), lr=0.1), epochs=2, batch_size=4,
           mode="compiled", progress=False, evaluate=lambda m, e: seen.append(blas_threads()))
    assert seen == [1, 1]
    assert blas_threads() == 2  # given back


def test_program_calls_run_on_one_blas_thread(two_threads, monkeypatch):
    seen = []
    for name in ("_run_forward", "_run_gradient"):
        original = getattr(Program, name)
        monkeypatch.setattr(Program, name, lambda *a, run=original: (seen.append(blas_threads()), run(*a))[1])
    w = Value(0.5, label="w")
    program = compile_program(lambda x: (w * x[0]).tanh(), ([1.0],), params=[w])
    X = np.array([[1.0], [2.0]])
    program.forward(X)
    program.value_and_grad(X)
    program.loss_and_grad(X)
    program.batches(X).value_and_grad(np.array([0, 1]))
    nn.predict(nn.MLP(1, [1]), X, mode="compiled")
    assert seen and set(seen) == {1} and blas_threads() == 2


def test_the_limit_is_process_wide_and_set_only_by_the_main_thread(two_threads):
    seen = []

    def work():
        with blas.limited():
            seen.append(blas_threads())

    with blas.limited():  # the main thread's call: other threads' products run with its limit
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    worker = threading.Thread(target=work)  # alone, another thread's call leaves the setting alone
    worker.start()
    worker.join()
    assert seen == [1, 2] and blas_threads() == 2


def test_nested_calls_give_the_setting_back_once(two_threads):
    with blas.limited():
        with blas.limited():
            assert blas_threads() == 1
        assert blas_threads() == 1
    assert blas_threads() == 2


def test_threads_none_leaves_blas_alone(two_threads, monkeypatch):
    monkeypatch.setattr(blas, "THREADS", None)
    with blas.limited():
        assert blas_threads() == 2


def test_an_error_gives_the_setting_back(two_threads):
    with pytest.raises(KeyError), blas.limited():
        raise KeyError("any error")
    assert blas_threads() == 2
