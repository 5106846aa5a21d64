"""Threads: per-pass gradients, per-thread recording, and the serial answer under any interleaving."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading

import pytest

import autodiff
from autodiff import Value, no_grad, scope, steps


@pytest.fixture(autouse=True)
def _switch_often():
    # Switch threads every microsecond, so passes really interleave.
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _loss(params: list[Value], xs: list[float]) -> Value:
    # Shared sub-expressions and fan-out, so a pass has state on many nodes at once.
    hidden = [autodiff.sum(p * x for p, x in zip(params, xs)).tanh() for _ in range(3)]
    return autodiff.sum(h * h for h in hidden) + params[0] * hidden[0]


def _run_threads(work, count: int) -> None:
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except BaseException as error:  # reported below, so a failing thread fails the test
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


DATA = [[0.1 * (i + 1), -0.2 * i, 0.3, 0.05 * i * i] for i in range(4)]


def test_threads_backpropagating_graphs_that_share_parameters_get_the_serial_answer():
    values = [0.5, -0.4, 0.3, 0.2]
    serial = [Value(v) for v in values]
    for _ in range(25):
        for xs in DATA:
            _loss(serial, xs).backward()
    shared = [Value(v) for v in values]

    def work(i: int) -> None:
        for _ in range(25):
            _loss(shared, DATA[i]).backward()

    _run_threads(work, len(DATA))
    for p, q in zip(shared, serial):
        assert p.grad == pytest.approx(q.grad, rel=1e-12)


def test_threads_with_separate_graphs_each_get_their_own_answer():
    expected = []
    for xs in DATA:
        params = [Value(0.5), Value(-0.4), Value(0.3), Value(0.2)]
        _loss(params, xs).backward()
        expected.append([p.grad for p in params])
    results: dict[int, list[float]] = {}

    def work(i: int) -> None:
        for _ in range(20):
            params = [Value(0.5), Value(-0.4), Value(0.3), Value(0.2)]
            _loss(params, DATA[i]).backward()
            assert [p.grad for p in params] == expected[i]
        results[i] = [p.grad for p in params]

    _run_threads(work, len(DATA))
    assert [results[i] for i in range(len(DATA))] == expected


def test_one_threads_no_grad_does_not_stop_another_from_recording():
    inside, outside_done = threading.Event(), threading.Event()
    grads: list[float] = []

    def quiet(_: int) -> None:
        with no_grad():
            inside.set()
            outside_done.wait(5)
            assert (Value(2.0) * Value(3.0)).parents == ()

    def loud(_: int) -> None:
        inside.wait(5)
        x = Value(3.0)
        (x * x).backward()
        grads.append(x.grad)
        outside_done.set()

    _run_threads(lambda i: (quiet, loud)[i](i), 2)
    assert grads == [6.0]
    assert (Value(1.0) * 2).parents != ()  # recording is on again in this thread


def test_overlapping_no_grad_and_scope_blocks_in_two_threads_restore_each_threads_state():
    barrier = threading.Barrier(2)

    def work(i: int) -> None:
        for _ in range(50):
            with no_grad(), scope(f"t{i}"):
                barrier.wait(5)
                made = Value(1.0) * 2
                assert made.parents == () and made.scope == f"t{i}"
            barrier.wait(5)
            made = Value(1.0) * 2
            assert made.parents != () and made.scope is None

    _run_threads(work, 2)


def test_a_half_stepped_graph_and_a_backward_in_another_thread_do_not_mix():
    params = [Value(0.5), Value(-0.4), Value(0.3), Value(0.2)]
    loss = _loss(params, DATA[1])
    stepper = steps(loss)
    stepper.run_to(stepper.order[len(stepper.order) // 2])

    _run_threads(lambda i: loss.backward(), 3)
    after_threads = [p.grad for p in params]
    stepper.run()
    reference = [Value(0.5), Value(-0.4), Value(0.3), Value(0.2)]
    _loss(reference, DATA[1]).backward()
    for p, r, t in zip(params, reference, after_threads):
        assert t == pytest.approx(3 * r.grad, rel=1e-12)
        assert p.grad == pytest.approx(4 * r.grad, rel=1e-12)


def test_a_suspended_generator_inside_no_grad_does_not_stop_its_consumer_recording():
    def batches():  # a common data-loading habit: the whole generator body under no_grad
        with no_grad():
            for i in range(3):
                yield Value(float(i)) * 2

    loader = batches()
    first = next(loader)
    assert first.parents == ()  # inside the generator nothing is recorded
    loss = first * Value(3.0)  # the consumer's own arithmetic, while the generator is suspended
    assert len(loss.parents) == 2
    assert next(loader).parents == ()  # resumed, the generator's block is in effect again
    loader.close()
    assert len((Value(1.0) * 2).parents) == 2


def test_a_generator_closed_by_the_collector_ends_only_its_own_scope():
    def scoped():
        with scope("inner"):
            yield

    suspended = scoped()
    next(suspended)
    with scope("outer"):
        del suspended  # closes it here, inside another block: that block must stay open
        gc.collect()
        assert (Value(1.0) * 2).scope == "outer"
    assert (Value(1.0) * 2).scope is None


def test_a_coroutine_awaiting_inside_no_grad_does_not_stop_other_tasks_recording():
    async def quiet() -> tuple:
        with no_grad():
            await asyncio.sleep(0.01)
            return (Value(1.0) * 2).parents

    async def busy() -> int:
        await asyncio.sleep(0.001)  # runs while quiet() waits inside its block
        return len((Value(1.0) * 2).parents)

    async def both() -> list:
        return await asyncio.gather(quiet(), busy())

    assert asyncio.run(both()) == [(), 2]
