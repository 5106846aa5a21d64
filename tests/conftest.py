"""Test configuration shared by the whole suite.

Hypothesis runs under the ``ci`` profile by default: derandomized (the same
examples on every run, so a failure in CI is a failure on every machine), no
per-example deadline (timings on shared machines are noise) and few enough
examples that the suite stays fast.  Set ``HYPOTHESIS_PROFILE=random`` to
explore new examples locally (more of them, a fresh seed every run, failures
saved in the example database and replayed first next time).
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from hypothesis import settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=60, database=None, print_blob=True
)
settings.register_profile("random", deadline=None, max_examples=300, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


@pytest.fixture
def example(monkeypatch):
    """Load examples/NAME.py as a module (the examples folder on sys.path, as when run as a script)."""
    monkeypatch.syspath_prepend(EXAMPLES)

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
