"""``python -m autodiff.conformance TARGET [--json FILE] [--seed N]``: test an engine, print the verdict.

Exit codes: 0 when no check fails or errs, 1 when one does, 2 when TARGET
cannot be imported or its Value cannot be made from a number.
"""

from __future__ import annotations

import argparse
import sys

from . import DEFAULT_SEED, TargetError, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autodiff.conformance",
        description="Test a micrograd-style engine against this project's: random programs shrunk to the "
                    "smallest that disagrees, micrograd's own tests, local rules, deep chains, a second "
                    "backward, large inputs. The engine runs in a child process; it is not a sandbox.")
    parser.add_argument("target", metavar="TARGET",
                        help="the engine's Value class: MODULE:CLASS (micrograd.engine:Value) or "
                             "path/to/file.py:CLASS")
    parser.add_argument("--json", metavar="FILE", help="also write the verdict as JSON to FILE")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"seed of the random programs (default {DEFAULT_SEED}: the same verdict every "
                             "run)")
    args = parser.parse_args(argv)
    try:
        report = run(args.target, seed=args.seed)
    except TargetError as error:
        print(f"cannot test {args.target}: {error}", file=sys.stderr)
        return 2
    print(report.text())
    if args.json:
        report.write_json(args.json)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
