"""Holding SIGINT and SIGTERM back while something must happen whole (an optimizer step).

A signal that arrives inside :func:`deferred` is recorded and handed to the
handler that was in force as soon as the block ends, so the block is never cut
in half.  Handlers that care (``nn.fit``'s) can ask :func:`redelivered`
whether they are being called late, after the block completed.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_redelivering = threading.local()


def redelivered() -> bool:
    """True inside a handler called by :func:`deferred` after its block completed."""
    return getattr(_redelivering, "active", False)


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM wait; after it, each one that arrived is delivered."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals in Python
        return
    arrived: list[int] = []
    # getsignal gives None for a handler set outside Python: leave that one alone.
    previous = {s: h for s in SIGNALS if (h := signal.getsignal(s)) is not None}
    for signum in previous:
        signal.signal(signum, lambda signum, frame: arrived.append(signum))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        # Each signal in order, at most twice: a second Ctrl-C means "stop at once" to nn.fit.
        for signum in [s for i, s in enumerate(arrived) if arrived[:i].count(s) < 2]:
            _deliver(signum, previous[signum])


def _deliver(signum: int, handler: Any) -> None:
    if callable(handler):
        _redelivering.active = True
        try:
            handler(signum, None)
        finally:
            _redelivering.active = False
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)  # the default action (for SIGTERM: end the process), now that it is safe
