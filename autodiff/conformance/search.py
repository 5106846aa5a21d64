"""Hypothesis, run the kit's way: the same search and the same smallest example on every run, no files.

A verdict must not depend on the machine, the folder or what ran before, so
the search is derandomized from the kit's seed, keeps no example database,
has no deadline (a slow engine is not a failing one), prints nothing, and
reports one bug (the smallest).  Two more things Hypothesis does by default
are switched off for the duration of a search, because they would make the
example depend on the surroundings: it mixes into its draws the number
literals of every module it finds outside site-packages (with an editable
install that includes this project, and under pytest the user's own tests),
and it caches them in a ``.hypothesis/`` folder in the current directory,
which must never appear in a student's folder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import configuration as _configuration
from hypothesis import seed as _seed
from hypothesis import strategies as st


def search(strategy: st.SearchStrategy[Any], test: Callable[[Any], None], seed: int,
           max_examples: int) -> None:
    """Run ``test`` on examples of ``strategy``; re-raise the smallest example's exception, if any."""
    run = given(strategy)(test)
    run = _seed(seed)(run)
    run = settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                   verbosity=Verbosity.quiet, report_multiple_bugs=False, print_blob=False,
                   phases=(Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))(run)
    with _no_local_constants(), _storage_elsewhere():
        run()


@contextmanager
def _no_local_constants() -> Iterator[None]:
    # Hypothesis reads the local modules' literals through this one function; while the search
    # runs, it sees none. If a future Hypothesis moves it, the search still runs (less isolated).
    from hypothesis.internal.conjecture import providers

    original = getattr(providers, "_get_local_constants", None)
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    if original is None or cache is None:
        yield
        return
    providers._get_local_constants = lambda: providers.Constants()
    cache.clear()  # the allowed constants per kind of draw, with the local ones mixed in
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.clear()


@contextmanager
def _storage_elsewhere() -> Iterator[None]:
    previous = getattr(_configuration, "__hypothesis_home_directory", None)
    with tempfile.TemporaryDirectory(prefix="autodiff-conformance-") as private:
        _configuration.set_hypothesis_home_dir(private)
        try:
            yield
        finally:
            _configuration.set_hypothesis_home_dir(previous)
