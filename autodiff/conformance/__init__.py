"""Test your own engine: a conformance kit for micrograd-style engines.

Point it at a learner's ``Value`` class and it runs the engine in a child
process (every call bounded in time and memory), discovers which operations
it has, and checks it against this project's engine: micrograd's own tests,
shared operands and diamonds, each operation's local rule, random programs
shrunk to the smallest that disagrees (with the first node whose local rule
disagrees, and the mistake of :mod:`autodiff.testing.mistakes` that explains
the numbers), deep chains, a second backward and large inputs.

From the shell::

    python -m autodiff.conformance micrograd.engine:Value [--json FILE] [--seed N]

From pytest, in a test file of your own (nothing loads into other sessions)::

    from autodiff.conformance import conformance_tests

    test_my_engine = conformance_tests("my_engine.py:Value")

The engine runs with your permissions: the child process guards against
accidents (hangs, deep recursion, memory blow-ups, crashes), it is not a
sandbox for hostile code.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["CHECK_NAMES", "DEFAULT_SEED", "CheckResult", "Report", "TargetError", "conformance_tests", "run"]

# Loaded on first use: the child process that runs an engine imports this package's
# runner and must not pay for Hypothesis, which only the parent needs.
_HOMES = {"CHECK_NAMES": "checks", "DEFAULT_SEED": "checks", "CheckResult": "report", "Report": "report",
          "TargetError": "runner", "conformance_tests": "running", "run": "running"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
