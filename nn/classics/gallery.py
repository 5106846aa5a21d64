"""The gallery's parts: where a result was published, one number beside the engine's, an entry's report.

A :class:`Figure` holds one published number (or a row of them) beside the
engine's and says how they are compared:

- exactly (``repr`` equal) when the source printed the full float;
- *as printed*: the engine's number formatted the way the source printed it
  (Python 2's ``str`` shows 12 significant digits, NumPy's arrays 8 decimals)
  must give the published text, character for character;
- within a relative tolerance, with the reason it is not zero;
- within a factor (a band from published / factor to published * factor),
  for figures of unseeded runs whose spread is a multiple, not a fraction.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Number = float | int
Published = Number | str


class Unavailable(RuntimeError):
    """An entry cannot run here (its data file cannot be had); the message says what to do.

    ``required_on_ci``: whether a skip fails under ``CI=true``.  A file CI is
    given (the line fit's, through ``$AUTODIFF_DATA_MIRROR``) must be there;
    MNIST is not fetched on CI, for this gallery no more than for the MNIST
    demo's tests, so the Nielsen entries skip there.
    """

    def __init__(self, message: str, required_on_ci: bool = True) -> None:
        super().__init__(message)
        self.required_on_ci = required_on_ci


@dataclass(frozen=True)
class Source:
    """Where a result was published: repository, path, commit, and the licences that apply."""

    title: str
    repository: str
    path: str
    commit: str | None
    licence: str
    data: str  # where the data comes from and under which licence

    def lines(self) -> list[str]:
        """How the report prints it."""
        at = f" at commit {self.commit}" if self.commit else ""
        return [f"source: {self.title}", f"  {self.repository}: {self.path}{at}",
                f"  licence: {self.licence}", f"  data: {self.data}"]


@dataclass(frozen=True)
class Figure:
    """One published number, or a row of them, beside the engine's.

    ``printed`` is the format the source printed with (e.g. ``".12g"``): then
    ``published`` is the printed text and the engine's number must print the
    same.  Otherwise ``published`` is a number, equal to the engine's exactly
    when ``rel`` is 0, else within ``rel`` relative to it (or, with ``factor``,
    between published / factor and published * factor); ``why`` says why a
    tolerance is not zero.
    """

    label: str
    engine: Number | tuple[Number, ...]
    published: Published | tuple[Published, ...]
    printed: str | None = None
    rel: float = 0.0
    factor: float = 0.0
    why: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.engine, tuple) != isinstance(self.published, tuple):
            raise TypeError(f"{self.label}: engine and published must both be rows or both be numbers")
        if isinstance(self.engine, tuple) and len(self.engine) != len(self.published):
            raise ValueError(f"{self.label}: {len(self.engine)} engine numbers, "
                             f"{len(self.published)} published")
        if (self.printed is not None or self.rel or self.factor) and not self.why:
            raise ValueError(f"{self.label}: a tolerance that is not zero needs its reason")

    @property
    def ok(self) -> bool:
        """Whether the engine's number(s) match the published one(s) under the tolerance."""
        pairs = zip(self.engine, self.published) if isinstance(self.engine, tuple) else [
            (self.engine, self.published)]
        return all(self._matches(e, p) for e, p in pairs)

    def _matches(self, engine: Number, published: Published) -> bool:
        if self.printed is not None:
            return format(engine, self.printed) == published
        if self.rel:
            return math.isfinite(engine) and abs(engine - published) <= self.rel * abs(published)
        if self.factor:
            return published / self.factor <= engine <= published * self.factor
        return engine == published

    @property
    def tolerance(self) -> str:
        """The comparison in a few words."""
        if self.printed is not None:
            return f"as printed ({self.printed})"
        if self.rel:
            return f"relative {self.rel:g}"
        if self.factor:
            return f"within a factor {self.factor:g}"
        return "exact"

    def as_dict(self) -> dict[str, Any]:
        """The figure for ``--json``."""
        return {"label": self.label, "engine": _plain(self.engine), "published": _plain(self.published),
                "tolerance": self.tolerance, "why": self.why, "ok": self.ok}


@dataclass
class Report:
    """What an entry's run produced: its figures and notes (lines printed after them)."""

    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *figures: Figure) -> None:
        """Append figures."""
        self.figures.extend(figures)


@dataclass(frozen=True)
class Entry:
    """One published result: its name (the command line's), what it is, where from, how to reproduce it.

    ``run(quick)`` trains or evaluates through the engine and returns a
    :class:`Report`; ``quick`` asks for the first part only (the test suite's
    default run), and ``quick_part`` says which part that is.  An entry whose
    default run is a part of a longer one (the seeded Nielsen runs) has a
    ``full_part`` and is called ``run(quick, full)``.
    """

    name: str
    title: str
    sources: tuple[Source, ...]
    run: Callable[..., Report]
    quick_part: str
    full_part: str | None = None


@dataclass
class Result:
    """An entry's report with its running time, or why it was skipped."""

    entry: Entry
    report: Report | None
    seconds: float
    skipped: str | None = None
    quick: bool = False
    full: bool = False
    required_on_ci: bool = True  # whether a skip fails under CI=true (see Unavailable)

    @property
    def skip_fails(self) -> bool:
        """True if the entry was skipped and that counts as a failure here (under ``CI=true``)."""
        return self.report is None and self.required_on_ci and skip_fails()

    @property
    def passed(self) -> bool:
        """True when every figure matches (a skipped entry has none: see :func:`failed`)."""
        return self.report is not None and all(f.ok for f in self.report.figures)

    @property
    def mismatches(self) -> list[Figure]:
        """The figures that do not match."""
        return [] if self.report is None else [f for f in self.report.figures if not f.ok]

    def as_dict(self) -> dict[str, Any]:
        """The result for ``--json``."""
        return {"name": self.entry.name, "title": self.entry.title, "quick": self.quick, "full": self.full,
                "passed": self.passed, "skipped": self.skipped, "seconds": round(self.seconds, 3),
                "sources": [vars(s) for s in self.entry.sources],
                "figures": [] if self.report is None else [f.as_dict() for f in self.report.figures],
                "notes": [] if self.report is None else self.report.notes}


def run_entry(entry: Entry, quick: bool = False, full: bool = False) -> Result:
    """Run one entry; an :class:`Unavailable` entry is skipped with its message.

    ``full`` asks an entry with a ``full_part`` for all of it; the others' default run is already whole.
    """
    full = full and entry.full_part is not None and not quick
    start = time.perf_counter()
    try:
        report = entry.run(quick, full) if entry.full_part is not None else entry.run(quick)
    except Unavailable as missing:
        return Result(entry, None, time.perf_counter() - start, skipped=str(missing), quick=quick, full=full,
                      required_on_ci=missing.required_on_ci)
    return Result(entry, report, time.perf_counter() - start, quick=quick, full=full)


def skip_fails() -> bool:
    """Under CI (``CI=true``) an entry that cannot run is a failure, not a skip."""
    return os.environ.get("CI", "").lower() == "true"


def render(result: Result) -> str:
    """The report as text: title, sources, one block per figure, notes, the verdict."""
    entry = result.entry
    lines = [f"{entry.name}: {entry.title}"]
    for source in entry.sources:
        lines.extend("  " + line for line in source.lines())
    if result.quick:
        lines.append(f"  (quick run: {entry.quick_part})")
    elif entry.full_part is not None:
        lines.append(f"  ({'full run' if result.full else 'default run; --full for'}: {entry.full_part})")
    if result.report is None:
        lines.append(f"  SKIPPED: {result.skipped}")
        return "\n".join(lines)
    reasons: dict[str, int] = {}
    for figure in result.report.figures:
        mark = "ok  " if figure.ok else "MISMATCH"
        lines.append(f"  {mark} {figure.label}  [{figure.tolerance}"
                     + (f", see note {_reason_number(reasons, figure.why)}]" if figure.why else "]"))
        lines.append(f"         engine:    {_show(figure.engine)}")
        lines.append(f"         published: {_show(figure.published)}")
    for why, number in reasons.items():
        lines.append(f"  note {number}: {why}")
    lines.extend("  " + note for note in result.report.notes)
    verdict = "all match" if result.passed else f"{len(result.mismatches)} MISMATCH(ES)"
    lines.append(f"  {len(result.report.figures)} figures, {verdict} ({result.seconds:.1f} s)")
    return "\n".join(lines)


def write_json(results: Sequence[Result], path: str | os.PathLike) -> Path:
    """Write the results as JSON (atomically) and return the path."""
    from autodiff.files import replaced_atomically  # noqa: PLC0415 - only --json needs it

    document = {"passed": all(r.passed or (r.skipped and not r.skip_fails) for r in results),
                "entries": [r.as_dict() for r in results]}
    with replaced_atomically(path, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=1)
        file.write("\n")
    return Path(path)


def _reason_number(reasons: dict[str, int], why: str) -> int:
    return reasons.setdefault(why, len(reasons) + 1)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    if isinstance(value, str):
        return value
    return repr(float(value)) if isinstance(value, float) else repr(value)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return float(value)
    return int(value) if isinstance(value, int) else value
