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


#: A Value's private slots, and the modules of the graph layer that may read them (backward's
#: float pass is the layer's fast path).
SLOTS = {"_data", "_grad", "_x", "_y", "_many", "_op", "_created", "_mark", "_up", "_assigned", "_site"}
GRAPH_LAYER = {"value.py", "graph.py", "context.py", "backward.py"}


def test_only_the_graph_layer_reads_a_nodes_private_slots():
    import ast
    from pathlib import Path

    root = Path(autodiff.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.parent == root and path.name in GRAPH_LAYER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}  # methods: no slot
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Attribute) and id(node) not in called:
                name = None if getattr(node.value, "id", "") == "self" else node.attr
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr" and node.args[1:]:
                name = getattr(node.args[1], "value", None)
            if name in SLOTS:
                found.append(f"{path.relative_to(root.parent)}:{node.lineno} reads {name}")
    assert not found, "\n".join(found)


def test_a_value_is_a_node():
    from autodiff.node import Node

    assert isinstance(Value(1.0), Node) and not isinstance(1.0, Node)
    fields = [name for name in dir(Node) if not name.startswith("_")] + ["label", "scope"]
    x = Value(2.0, label="x") * 3.0
    assert all(hasattr(x, name) for name in fields)
