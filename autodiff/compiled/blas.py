"""How many threads NumPy's BLAS may use for the library's own products.

Compiled mode multiplies small matrices (784×30 by a batch of 10): one BLAS
thread does that faster than several even on an idle machine, and on a busy
one several threads wait for each other's cores, which made an MNIST epoch
5-7 times slower (docs/compiled.md has the figures).  So the library limits
BLAS to :data:`THREADS` threads around its own work: each ``Program`` call
and each ``nn.fit`` or ``nn.predict`` call (once for the whole call, not per
step), through the libraries a :class:`threadpoolctl.ThreadpoolController`
found once (``threadpool_limits()`` inspects the loaded libraries at every
call, hundreds of microseconds; this costs two C calls when the limit is in
place already).  The user's setting comes back when the outermost such call
returns.

The limit is process-wide while it is active: another thread's NumPy products
run with it too during that time.  Only calls from the main thread set it:
OpenBLAS (NumPy's wheels) ignores a change made from another thread once the
main thread has made one, so a limit set there could not be relied on, nor the
user's setting restored; calls from other threads run with the process's
setting.  Set ``THREADS = None`` to leave BLAS alone.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

#: BLAS threads during the library's calls (None: leave the user's setting alone).
THREADS: int | None = 1

_MAIN = threading.main_thread()
_active = 0  # library calls running now in the main thread (nested)
_restore: list[tuple[Any, int]] = []  # the user's settings, given back when the outermost call returns


@functools.cache
def _libraries() -> tuple[Any, ...]:
    """The BLAS libraries NumPy loaded, found once per process (NumPy is loaded by then)."""
    import numpy  # noqa: F401 - threadpoolctl lists the libraries loaded when it looks
    from threadpoolctl import ThreadpoolController

    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


def _enter() -> None:
    global _active, _restore
    if threading.current_thread() is not _MAIN:
        return
    if _active == 0 and THREADS is not None:
        # Read first, set only what differs: two C calls when the limit is already in place.
        _restore = [(lib, n) for lib in _libraries() if (n := lib.get_num_threads()) != THREADS]
        for lib, _ in _restore:
            lib.set_num_threads(THREADS)
    _active += 1


def _leave() -> None:
    global _active, _restore
    if threading.current_thread() is not _MAIN:
        return
    _active -= 1
    if _active == 0:
        for lib, threads in _restore:
            lib.set_num_threads(threads)
        _restore = []


@contextmanager
def limited() -> Iterator[None]:
    """BLAS limited to :data:`THREADS` threads in the block (nested blocks share one limit)."""
    _enter()
    try:
        yield
    finally:
        _leave()


F = TypeVar("F", bound=Callable[..., Any])


def limits_blas(method: F) -> F:
    """Run ``method`` within :func:`limited` (written out: this wraps every compiled step)."""

    @functools.wraps(method)
    def limited_method(*args: Any, **kwargs: Any) -> Any:
        _enter()
        try:
            return method(*args, **kwargs)
        finally:
            _leave()

    return limited_method  # type: ignore[return-value]
