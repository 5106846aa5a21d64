"""The classics, reproduced: published backpropagation results beside the engine's numbers.

Each entry trains or evaluates, through the engine's generic chain rule, a
network or expression whose numbers a tutorial, a course or a book
published, and compares every figure, with its provenance and tolerance::

    python -m nn.classics list              # the entries, one per line, name first
    python -m nn.classics run micrograd     # one entry's full report
    python -m nn.classics check             # every entry; exit status 1 on any mismatch
    python -m nn.classics check clouds --json clouds.json
    python -m nn.classics check nielsen-weight-init-30 --full   # all 30 epochs of the seeded runs

>>> from nn import classics
>>> classics.names()[:3]
['iamtrask', 'clouds', 'line-fit']
>>> result = classics.run("cs231n")
>>> result.passed, len(result.report.figures)
(True, 9)
"""

from __future__ import annotations

from . import chain, clouds, cs231n, iamtrask, line_fit, micrograd, nielsen
from .gallery import Entry, Figure, Report, Result, Source, Unavailable, render, run_entry

#: The entries in the order ``list`` prints them.
ENTRIES: dict[str, Entry] = {entry.name: entry for entry in (
    iamtrask.ENTRY, clouds.ENTRY, line_fit.ENTRY, micrograd.MICROGRAD, micrograd.MICROGRAD_DEMO, cs231n.ENTRY,
    nielsen.WEIGHT_INIT_30, nielsen.WEIGHT_INIT_100, nielsen.HEADLINE_ENTRY, nielsen.CHAPTER_5_ENTRY,
    chain.ENTRY,
)}


def names() -> list[str]:
    """The entries' names."""
    return list(ENTRIES)


def entry(name: str) -> Entry:
    """The entry called ``name``; a KeyError names the entries there are."""
    try:
        return ENTRIES[name]
    except KeyError:
        raise KeyError(f"no classic called {name!r}; the entries are: {', '.join(ENTRIES)}") from None


def run(name: str, quick: bool = False, full: bool = False) -> Result:
    """Run one entry; return its :class:`Result` (``quick``: the entry's short part; ``full``: all of it)."""
    return run_entry(entry(name), quick, full)


__all__ = ["ENTRIES", "Entry", "Figure", "Report", "Result", "Source", "Unavailable", "entry", "names",
           "render",
           "run", "run_entry"]
