"""Graphviz's layout is bounded in time, and never outlives the process that asked for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autodiff import Value
from autodiff.drawing import LayoutTooSlow, draw, render

SLOW = """
import sys
from autodiff import Value
from autodiff.drawing import draw, render
x = Value(0.5, label="x")
y = (x * 1.0).tanh()
for i in range(2, {terms}):
    y = y + (x * float(i)).tanh()
print("drawing", flush=True)
render(draw(y, max_nodes=5000), "svg", seconds={seconds})
"""


def fan_out(terms: int = 120) -> Value:
    """x into many tanh nodes, added up in a chain: a few hundred nodes that dot takes minutes over."""
    x = Value(0.5, label="x")
    y = (x * 1.0).tanh()
    for i in range(2, terms):
        y = y + (x * float(i)).tanh()
    return y


def dot_children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            name = (entry / "comm").read_text().strip()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and name == "dot":
            children.append(int(entry.name))
    return children


def test_a_layout_past_its_time_limit_is_stopped_with_what_to_do():
    start = time.perf_counter()
    with pytest.raises(LayoutTooSlow, match=r"after 0.5 s and was stopped: use collapse=True .* between="):
        render(draw(fan_out(), max_nodes=5000), "svg", seconds=0.5)
    assert time.perf_counter() - start < 30
    assert dot_children(os.getpid()) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find dot")
def test_dot_ends_with_a_killed_caller():
    caller = subprocess.Popen([sys.executable, "-c", SLOW.format(terms=120, seconds=600)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert caller.stdout.readline() == "drawing\n"
        deadline = time.monotonic() + 60
        while not (children := dot_children(caller.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert children, "dot never started"
        os.kill(caller.pid, signal.SIGKILL)
        caller.wait()
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() and _running(pid) for pid in children):
            assert time.monotonic() < deadline, "dot outlived its caller"
            time.sleep(0.05)
    finally:
        if caller.poll() is None:
            caller.kill()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_notebook_picture_and_pipe_are_bounded_too(monkeypatch):
    import autodiff.drawing

    graph = draw(fan_out(), max_nodes=5000)
    monkeypatch.setattr(autodiff.drawing, "LAYOUT_SECONDS", 0.5)
    with pytest.raises(LayoutTooSlow):
        graph._repr_mimebundle_()  # what Jupyter calls to show a drawing
    with pytest.raises(LayoutTooSlow):
        graph.pipe(format="svg")
    small = draw(Value(2.0, label="x") * 3)
    assert small._repr_mimebundle_()["image/svg+xml"].startswith("<?xml")
    assert small.pipe(format="svg", encoding="utf-8").startswith("<?xml")
    assert dot_children(os.getpid()) == []
