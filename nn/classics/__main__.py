"""``python -m nn.classics list | run NAME | check [NAME] [--json FILE] [--quick | --full]``."""

from __future__ import annotations

import argparse
import sys

from . import ENTRIES, entry, run
from .gallery import Result, render, write_json


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m nn.classics",
        description="Published backpropagation results reproduced through the engine, with provenance.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the entries, one per line: name, then what it reproduces")
    one = commands.add_parser("run", help="run one entry and print its full report")
    one.add_argument("name", help="an entry's name (see list)")
    one.add_argument("--quick", action="store_true", help="only the entry's short part")
    one.add_argument("--full", action="store_true", help="all of an entry whose default run is a part "
                     "(the seeded Nielsen runs: 30 epochs instead of 3)")
    check = commands.add_parser("check", help="run entries and exit with status 1 on any mismatch")
    check.add_argument("name", nargs="?", help="one entry (default: all)")
    check.add_argument("--json", metavar="FILE", help="also write every figure and verdict to FILE as JSON")
    check.add_argument("--quick", action="store_true", help="only each entry's short part")
    check.add_argument("--full", action="store_true", help="all of each entry (the seeded Nielsen runs: 30 "
                       "epochs instead of 3)")
    args = parser.parse_args(argv)
    if args.command == "list":
        for item in ENTRIES.values():
            print(f"{item.name}  {item.title}")
        return 0
    name = getattr(args, "name", None)
    if name is not None and name not in ENTRIES:
        parser.error(f"no classic called {name!r}; the entries are: {', '.join(ENTRIES)}")
    if args.command == "run":
        result = run(name, args.quick, args.full)
        print(render(result))
        return _status([result])
    results = []
    for item in [entry(name)] if name else ENTRIES.values():
        result = run(item.name, args.quick, args.full)
        print(render(result) if not result.passed else _summary(result), flush=True)
        results.append(result)
    if args.json:
        print(f"wrote {write_json(results, args.json)}")
    status = _status(results)
    print("check: " + ("every figure matches" if status == 0 else "FAILED (see above)"))
    return status


def _summary(result: Result) -> str:
    figures = len(result.report.figures) if result.report else 0
    return f"{result.entry.name}: {figures} figures match ({result.seconds:.1f} s)"


def _status(results: list[Result]) -> int:
    """1 if any figure mismatches, or an entry was skipped under CI; else 0."""
    for result in results:
        if result.skip_fails:
            print(f"{result.entry.name}: skipped under CI=true counts as a failure", file=sys.stderr)
            return 1
        if result.report is not None and not result.passed:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
