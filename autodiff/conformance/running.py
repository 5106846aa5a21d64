"""Running the kit: every check on one engine (:func:`run`), and the pytest factory."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from .checks import CHECK_NAMES, CHECKS, DEFAULT_SEED, MAX_EXAMPLES, Kit
from .report import CheckResult, Report
from .runner import TargetError, Worker
from .shape import discover


def run(target: str, seed: int = DEFAULT_SEED, max_examples: int = MAX_EXAMPLES,
        progress: Callable[[CheckResult], Any] | None = None, only: Collection[str] | None = None) -> Report:
    """Run every check on the engine ``target`` (``module:Class`` or ``path/to/file.py:Class``).

    Raises :class:`TargetError` when the engine cannot be imported (within a
    time limit) or ``Class(2.0)`` fails.  ``progress`` is called with each
    result as it comes; ``only`` names the checks to run (default all).  The
    same engine and seed give the same report.
    """
    unknown = sorted(set(only or ()) - set(CHECK_NAMES))
    if unknown:
        raise ValueError(f"no checks named {unknown}; the checks are {list(CHECK_NAMES)}")
    class_name = target.rpartition(":")[2]
    with Worker(target) as worker:
        worker.start()
        shape = discover(worker, class_name)
        kit = Kit(worker, shape, seed, max_examples)
        results = []
        for name, check in CHECKS:
            if only is not None and name not in only:
                continue
            result = _checked(name, check, kit)
            results.append(result)
            if progress is not None:
                progress(result)
    semantics = (["backward() needs root.grad = 1 set first"] if shape.seed_by_hand else []) + kit.semantics
    return Report(target, results, semantics, shape.summary(), seed)


def _checked(name: str, check: Callable[[Kit], CheckResult], kit: Kit) -> CheckResult:
    if kit.shape.unusable:
        return CheckResult(name, "fail", f"cannot test: {kit.shape.unusable}")
    try:
        return check(kit)
    except Exception as error:  # noqa: BLE001 - a fault of the kit is reported as an error, never hidden
        return CheckResult(name, "error", f"the kit itself failed: {type(error).__name__}: {error}")


def conformance_tests(target: str, seed: int = DEFAULT_SEED) -> Callable[[str], None]:
    """A pytest test, one case per check, for the engine ``target``; assign it to a ``test_`` name.

    The kit runs once, when the first case runs; each case then passes,
    fails with the check's detail and smallest example, or is skipped with
    the reason (an operation the engine does not have).
    """
    import pytest

    runs: dict[str, Any] = {}

    def report() -> Report:
        if "report" not in runs:
            try:
                runs["report"] = run(target, seed)
            except TargetError as error:
                runs["report"] = error
        if isinstance(runs["report"], TargetError):
            pytest.fail(f"cannot test {target}: {runs['report']}", pytrace=False)
        return runs["report"]

    @pytest.mark.parametrize("check", CHECK_NAMES)
    def test_conformance(check: str) -> None:
        result = report()[check]
        if result.status == "skip":
            pytest.skip(result.detail)
        if result.status != "pass":
            example = f"\nsmallest failing program:\n{result.example}" if result.example else ""
            pytest.fail(f"{check}: {result.status}\n{result.detail}{example}", pytrace=False)

    test_conformance.__doc__ = f"The conformance kit's checks on {target}."
    return test_conformance
