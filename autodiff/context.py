"""The recording context: what a node made now gets, per thread.

Whether operations record (:func:`no_grad`), the scope new nodes get
(:func:`scope`) and whether they remember where they were made
(:func:`anomaly`, the creation sites errors name) are settings of the thread
that makes the node: one thread's ``no_grad()`` never stops another thread
from recording.  A block opened in a generator or coroutine counts only while
it runs.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NamedTuple

from .node import Node


class Scope(str):
    """The name of a :func:`scope` block, which knows the block it was opened in (``outer``).

    It is the string itself (``node.scope == "layers.0.neurons.3"``), and
    :meth:`levels` gives the names of the nested blocks, so views can group
    nodes by module without parsing names.
    """

    outer: Scope | None

    def __new__(cls, name: str, outer: Scope | None = None) -> Scope:
        self = super().__new__(cls, name)
        self.outer = outer
        return self

    def levels(self) -> tuple[str, ...]:
        """The names of the enclosing blocks and this one, outermost first (unnamed blocks left out)."""
        names: list[str] = []
        block: Scope | None = self
        while block is not None:
            if block:
                names.append(str(block))
            block = block.outer
        return tuple(reversed(names))


class State(NamedTuple):
    """What new nodes get in one thread: recording on or off, a scope, anomaly mode."""

    recording: bool
    scope: str | None
    anomaly: bool


_DEFAULTS = State(True, None, os.environ.get("AUTODIFF_ANOMALY", "") not in ("", "0"))
#: Code flags of frames that can be suspended in the middle of a ``with`` block.
_SUSPENDABLE = 0x20 | 0x80 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR


class _Block(NamedTuple):
    """One open no_grad/scope/anomaly block: the setting it changes, and the frame that opened it."""

    setting: str
    value: Any
    owner: Any  # a generator's or coroutine's frame, or None for an ordinary one

    def in_effect(self) -> bool:
        # A suspended (or finished) generator's frame has no caller: its block waits for it to resume.
        return self.owner is None or self.owner.f_back is not None


class _Thread:
    """One thread's recording context: its open blocks, innermost last, and what they add up to."""

    __slots__ = ("blocks", "state", "in_generators")

    def __init__(self) -> None:
        self.blocks: list[_Block] = []
        self.state = _DEFAULTS
        self.in_generators = 0

    def current(self) -> State:
        """The state new nodes get now: blocks of suspended generators do not count."""
        if not self.in_generators:
            return self.state
        return _fold(block for block in self.blocks if block.in_effect())

    def open(self, block: _Block) -> None:
        self.blocks.append(block)
        self.in_generators += block.owner is not None
        self.state = _fold(self.blocks)

    def close(self, block: _Block) -> None:
        # Not always the innermost: a generator closed by the garbage collector ends its block anywhere.
        for i in range(len(self.blocks) - 1, -1, -1):
            if self.blocks[i] is block:
                del self.blocks[i]
                self.in_generators -= block.owner is not None
                self.state = _fold(self.blocks)
                return


def _fold(blocks: Iterable[_Block]) -> State:
    state = _DEFAULTS
    for block in blocks:
        state = state._replace(**{block.setting: block.value})
    return state


class _Context(threading.local):
    """Each thread's context (``threading.local`` runs ``__init__`` once in every thread)."""

    def __init__(self) -> None:
        self.thread = _Thread()


_context = _Context()


class _Counter:
    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        self.count = count


#: How many no_grad/scope/anomaly blocks are open in all threads, in ``.count``.  While none is
#: (and anomaly mode is off), every thread has the defaults, so building a node never has to
#: look up its thread's context: the common case costs one attribute read.
OPEN_BLOCKS = _Counter(1 if _DEFAULTS.anomaly else 0)
_blocks_lock = threading.Lock()


def current() -> State:
    """What a node made now in this thread gets: (recording, scope, anomaly)."""
    return _context.thread.current()


def recording() -> bool:
    """Whether operations in this thread are recorded (False inside :func:`no_grad`)."""
    return current().recording


def anomaly_mode() -> bool:
    """Whether nodes made in this thread record where they were made (see :func:`anomaly`)."""
    return current().anomaly


@contextmanager
def _block(setting: str, value: Any) -> Iterator[None]:
    """Set one field of this thread's context for the block, and restore it after."""
    frame = sys._getframe(2)  # the frame whose `with` opened the block (under contextlib's __enter__)
    block = _Block(setting, value, frame if frame.f_code.co_flags & _SUSPENDABLE else None)
    thread = _context.thread  # the block ends in this thread's context even if its generator ends elsewhere
    with _blocks_lock:
        OPEN_BLOCKS.count += 1
    thread.open(block)
    try:
        yield
    finally:
        thread.close(block)
        with _blocks_lock:
            OPEN_BLOCKS.count -= 1


def no_grad() -> AbstractContextManager[None]:
    """Within this block, in this thread, operations return plain leaves: nothing is recorded.

    >>> from autodiff import Value
    >>> x = Value(3.0)
    >>> with no_grad():
    ...     y = x * x
    >>> y.data, y.parents
    (9.0, ())
    """
    return _block("recording", False)


def scope(name: str | None) -> AbstractContextManager[None]:
    """Values created within this block, in this thread, record ``name`` as their ``scope``.

    nn modules use it so that every node a layer creates carries the layer's
    name (``layers.0.neurons.3``), which drawings can group by.  Blocks nest:
    the scope knows the blocks around it.

    >>> from autodiff import Value
    >>> with scope("layer1"), scope("layer1.neuron0"):
    ...     y = Value(2.0) * 3
    >>> y.scope, y.scope.levels()
    ('layer1.neuron0', ('layer1', 'layer1.neuron0'))
    """
    outer = current().scope
    return _block("scope", None if name is None else Scope(name, outer if isinstance(outer, Scope) else None))


def anomaly(on: bool = True) -> AbstractContextManager[None]:
    """Within this block, in this thread, every node records where it was made.

    Errors then name the line of your code that made the failing node
    (``AUTODIFF_ANOMALY=1`` in the environment turns it on everywhere).  It
    costs a look at the call stack per node, so it is off by default.

    >>> from autodiff import Value
    >>> with anomaly():
    ...     y = Value(2.0) * 3
    >>> y.site.split(" in ")[0].endswith(":2")
    True
    """
    return _block("anomaly", on)


# -- creation sites ----------------------------------------------------------


#: Frames in these folders are the library's own; a creation site is the first frame outside them.
_LIBRARY = tuple(os.path.dirname(os.path.abspath(m)) + os.sep for m in (__file__, os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "nn", "__init__.py")))


def site() -> str:
    """file:line in function of the first caller outside autodiff and nn."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY):
        frame = frame.f_back
    if frame is None:
        return "an unknown place"
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"


def blame(error: Exception) -> Exception:
    """In anomaly mode, add to an error raised while making a node where that node was being made."""
    if OPEN_BLOCKS.count and current().anomaly:
        error.args = (f"{error.args[0]} [made at {site()}]", *error.args[1:])
    return error


def located(error: Exception, node: Node) -> Exception:
    """Add to an error about a node where the node was made, if anomaly mode recorded it."""
    made_at = getattr(node, "_site", None)
    if made_at is not None:
        error.args = (f"{error.args[0]} [node made at {made_at}]", *error.args[1:])
    return error
