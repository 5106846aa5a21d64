"""The learner's engine runs in a child process, every call bounded in time and memory.

:class:`Worker` starts a child Python that imports the engine (within
``import_timeout`` seconds), limits its own address space, and then answers
calls to the functions of :mod:`autodiff.conformance.calls`, one at a time.
Each call comes back as an :class:`Outcome`: the function's result, the
exception it raised, or what became of the child: no answer within the call's
time limit (the child is killed), or a dead interpreter (a segfault, a C stack
overflow, ``os._exit``).  The next call starts a fresh child.  Whatever the
engine does, the kit gets an answer and goes on.

The child is isolation against accidents, not a sandbox: it runs with the
user's permissions and can read and write what they can.

Requests go to the child pickled over its standard input (the child trusts
the kit); answers come back over its standard output as JSON, never pickles,
so an engine cannot make the kit run code by what it returns, and an answer
larger than :data:`MAX_ANSWER_BYTES` is refused before it is read.  The child
moves both streams to private descriptors first and points 0 and 1 at
``/dev/null``, so an engine that prints or reads input cannot garble them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

#: Seconds the child may take to start and import the engine.
IMPORT_TIMEOUT = 20.0
#: Bytes of address space the child may use beyond what it has once the engine is imported.
MEMORY_HEADROOM = 1 << 30

#: The largest answer the kit reads from the child (the biggest, a program's numbers, is a few kB).
MAX_ANSWER_BYTES = 16 << 20

_HEADER = struct.Struct("!I")


@dataclass(frozen=True)
class Outcome:
    """What one call into the engine gave.

    ``kind`` is ``"ok"`` (``value`` is the result), ``"raised"`` (``error`` is
    ``"TypeName: message"``, ``line`` the code that raised, if known),
    ``"timeout"`` or ``"crashed"`` (``error`` says how).
    """

    kind: str
    value: Any = None
    error: str = ""
    line: str | None = None
    exception: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    def describe(self) -> str:
        """The outcome in words, for a report: ``v2 = v1.exp() raised OverflowError: math range error``."""
        if self.kind == "ok":
            return "finished"
        where = f"{self.line} " if self.line else ""
        if self.kind == "raised":
            return f"{where}raised {self.error}"
        return self.error


class TargetError(Exception):
    """The engine cannot be imported, or its Value cannot be made from a number (the kit exits with 2)."""


class Worker:
    """A child process running the engine ``target`` (``module:Class`` or ``path/file.py:Class``)."""

    def __init__(self, target: str, import_timeout: float = IMPORT_TIMEOUT,
                 memory_headroom: int = MEMORY_HEADROOM) -> None:
        self.target = target
        self.import_timeout = import_timeout
        self.memory_headroom = memory_headroom
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None

    def call(self, function: str, *args: Any, timeout: float = 5.0) -> Outcome:
        """Run ``calls.<function>(EngineClass, *args)`` in the child, within ``timeout`` seconds."""
        if self._process is None:
            self._start()
        assert self._process is not None
        try:
            self._send((function, args))
            answer = self._receive(timeout)
        except _Timeout:
            self._kill()
            return Outcome("timeout", error=f"no answer within {timeout:g} s (a hang or an endless loop?)")
        except _Dead as dead:
            return Outcome("crashed", error=str(dead))
        return answer

    def start(self) -> None:
        """Start the child and import the engine now (else the first call does): TargetError if it fails."""
        if self._process is None:
            self._start()

    def close(self) -> None:
        """End the child (the one this worker started)."""
        if self._process is not None:
            self._kill()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the parent's side ---------------------------------------------------------

    def _start(self) -> None:
        env = dict(os.environ)
        # One thread for BLAS libraries the engine may import: less memory, nothing to oversubscribe.
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from autodiff.conformance.runner import serve; serve()",
             self.target, str(self.memory_headroom)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        self.restarts += 1
        try:
            answer = self._receive(self.import_timeout)
        except _Timeout:
            self._kill()
            raise TargetError(f"importing {self.target} took longer than {self.import_timeout:g} s") from None
        except _Dead as dead:
            self._process = None
            raise TargetError(f"importing {self.target}: {dead}") from None
        if not answer.ok:
            self._kill()
            raise TargetError(answer.error)

    def _send(self, message: Any) -> None:
        assert self._process is not None and self._process.stdin is not None
        body = pickle.dumps(message)
        try:
            self._process.stdin.write(_HEADER.pack(len(body)) + body)
            self._process.stdin.flush()
        except BrokenPipeError:
            raise _Dead(self._death()) from None

    def _receive(self, timeout: float) -> Outcome:
        deadline = time.monotonic() + timeout
        (length,) = _HEADER.unpack(self._read(_HEADER.size, deadline))
        if length > MAX_ANSWER_BYTES:
            self._kill()
            return Outcome("crashed", error=f"the engine's process sent an answer of {length:,} bytes, more "
                                            f"than the {MAX_ANSWER_BYTES:,} the kit reads")
        outcome = _outcome(self._read(length, deadline))
        if outcome.kind == "crashed":  # the child can no longer be trusted: the next call starts anew
            self._kill()
        return outcome

    def _read(self, size: int, deadline: float) -> bytes:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        chunks, left = [], size
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise _Timeout
            chunk = os.read(fd, left)
            if not chunk:
                raise _Dead(self._death())
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _death(self) -> str:
        assert self._process is not None
        code = self._process.wait()
        self._process = None
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            what = {"SIGSEGV": "a segmentation fault: a C stack overflow from deep recursion, or "
                               "memory exhausted", "SIGKILL": "killed, perhaps out of memory"}.get(name, name)
            return f"the Python interpreter running the engine died ({name}: {what})"
        return f"the Python interpreter running the engine exited with code {code}"

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()


class _Timeout(Exception):
    pass


class _Dead(Exception):
    pass


# -- the child's side ------------------------------------------------------------------


def serve() -> None:
    """The child's main loop: import the engine, limit memory, answer calls until stdin closes."""
    requests = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    target, headroom = sys.argv[1], int(sys.argv[2])
    from . import calls

    try:
        engine = calls.load(target)
    except BaseException as error:  # noqa: BLE001 - any failure to load is the kit's exit code 2
        _answer(answers, Outcome("raised", error=_exception_text(error), exception=type(error).__name__))
        return
    _limit_memory(headroom)
    _answer(answers, Outcome("ok"))
    while True:
        header = requests.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        function, args = pickle.loads(requests.read(_HEADER.unpack(header)[0]))
        _answer(answers, _run(getattr(calls, function), engine, args))


def _run(function: Any, engine: Any, args: tuple[Any, ...]) -> Outcome:
    try:
        return Outcome("ok", value=function(engine, *args))
    except BaseException as error:  # noqa: BLE001 - RecursionError, MemoryError, SystemExit: all reported
        from .programs import ProgramError

        line = None
        if isinstance(error, ProgramError):
            line, error = error.line, error.error
        return Outcome("raised", error=_exception_text(error), line=line, exception=type(error).__name__)


def _exception_text(error: BaseException) -> str:
    text = str(error)
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _answer(stream: Any, outcome: Outcome) -> None:
    try:
        body = json.dumps(dataclasses.asdict(outcome)).encode()
    except (TypeError, ValueError) as error:  # plain numbers, strings and lists only: the rest is an error
        failed = Outcome("raised", error=f"the result cannot be sent back: {error}",
                         exception=type(error).__name__)
        body = json.dumps(dataclasses.asdict(failed)).encode()
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def _outcome(body: bytes) -> Outcome:
    """Read an answer as data: the child runs the learner's code, so nothing it sends is executed."""
    try:
        fields = json.loads(body)
        outcome = Outcome(**fields)
        if outcome.kind not in ("ok", "raised") or not all(
                isinstance(getattr(outcome, name), str) for name in ("error", "exception")):
            raise TypeError("not an answer of the kit's child")
    except (ValueError, TypeError) as error:  # json's errors are ValueErrors; wrong fields TypeErrors
        return Outcome("crashed", error=f"the engine's process sent an answer the kit cannot read ({error})")
    return outcome


def _limit_memory(headroom: int) -> None:
    try:
        import resource
    except ImportError:  # not on this platform: the time limit still holds
        return
    used = _address_space()
    if used is None:
        return
    limit = used + headroom
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file in the user's folder


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None
