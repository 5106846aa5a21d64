"""The verdict of a run: one result per check, as text for a person and as JSON for a script.

The check names are an API (teachers' scripts parse them); the JSON is
``{"engine": str, "semantics": [str], "checks": [{"name", "status", "detail",
"example"}]}`` with ``status`` one of ``pass``, ``fail``, ``skip`` or
``error`` and ``example`` the smallest failing program in the learner's API
(or null).  The exit code is 0 when nothing fails or errs, else 1.

>>> report = Report("student:Value", [CheckResult("diamond", "pass"),
...                                   CheckResult("deep chain 1,500", "fail", "RecursionError")])
>>> report.exit_code, [c.name for c in report.failures]
(1, ['deep chain 1,500'])
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("pass", "fail", "skip", "error")


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict: ``status`` in :data:`STATUSES`, ``detail`` in words, ``example`` as code."""

    name: str
    status: str
    detail: str = ""
    example: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")


@dataclass
class Report:
    """Every check's result for the engine ``engine`` (the TARGET as given)."""

    engine: str
    checks: list[CheckResult]
    semantics: list[str] = field(default_factory=list)
    shape: list[str] = field(default_factory=list)
    seed: int | None = None

    @property
    def failures(self) -> list[CheckResult]:
        """The checks that failed or erred."""
        return [c for c in self.checks if c.status in ("fail", "error")]

    @property
    def exit_code(self) -> int:
        """0 when no check fails or errs, else 1."""
        return 1 if self.failures else 0

    def __getitem__(self, name: str) -> CheckResult:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no check named {name!r}; the checks are {[c.name for c in self.checks]}")

    def to_json(self) -> dict[str, Any]:
        """The report as the JSON object ``--json`` writes."""
        return {"engine": self.engine, "semantics": list(self.semantics),
                "checks": [asdict(check) for check in self.checks]}

    def write_json(self, path: str) -> None:
        """Write :meth:`to_json` to ``path`` (whole or not at all: a temporary file renamed)."""
        from ..files import replaced_atomically

        with replaced_atomically(path, "w", encoding="utf-8") as out:
            out.write(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")

    def text(self) -> str:
        """The report for a person: the engine's shape, one line per check, then each failure in full."""
        seed = f" (seed {self.seed})" if self.seed is not None else ""
        lines = [f"Conformance of {self.engine}{seed}", ""]
        lines += [f"  {line}" for line in self.shape]
        lines.append("")
        width = max(len(c.name) for c in self.checks)
        for check in self.checks:
            first = check.detail.split("\n", 1)[0]
            lines.append(f"{check.status.upper():5} {check.name.ljust(width)}  {_short(first)}".rstrip())
        for check in self.failures:
            lines += ["", f"--- {check.name}: {check.status}"]
            lines += [line if line.startswith("    ") else textwrap.fill(line, 100, initial_indent="  ",
                                                                        subsequent_indent="  ")
                      for line in check.detail.split("\n")]
            if check.example and check.example not in check.detail:
                lines += ["  the program:", textwrap.indent(check.example, "    ")]
        counts = {s: sum(c.status == s for c in self.checks) for s in STATUSES}
        lines += ["", ", ".join(f"{n} {s}" for s, n in counts.items() if n) + f": exit {self.exit_code}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _short(text: str, width: int = 100) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
