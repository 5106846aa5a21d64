"""Graph walks only read: they write nothing into nodes and take no lock (autodiff.graph)."""

from __future__ import annotations

import threading

import pytest

import autodiff
from autodiff import Value
from autodiff.backward import _lock
from autodiff.graph import topological_order


def _graph() -> Value:
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    h = (x * w + 1.0).tanh()
    return h * h + x


def test_walks_and_views_that_read_write_no_marks():
    root = _graph()
    nodes = topological_order(root)
    before = {node: getattr(node, "_mark", None) for node in nodes}
    topological_order(root)
    autodiff.explain(root, nodes[0])
    str(autodiff.steps(root).step())
    assert {node: getattr(node, "_mark", None) for node in nodes} == before


def test_a_walk_runs_while_another_thread_holds_the_backward_lock():
    root = _graph()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        done: list[int] = []
        walker = threading.Thread(target=lambda: done.append(len(topological_order(root))))
        walker.start()
        walker.join(5)
        assert done == [len(topological_order(root))], "the walk waited for the backward lock"
    finally:
        release.set()
        holder.join()


def test_a_root_that_is_not_a_node_is_named():
    with pytest.raises(autodiff.GraphError, match="the root must be a Value"):
        topological_order([Value(1.0)])
