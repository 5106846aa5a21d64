"""Command line: ``python -m autodiff draw "tanh(x*w + b)" x=2 w=-3 b=6.88 -o graph.svg``.

Computes the expression forward and backward, prints the value and every
input's gradient, and on request writes a drawing (``-o``, SVG or DOT by the
file's suffix), prints the stepper's records (``--steps``) or explains the
chain rule for one input (``--explain x``).  Bad expressions and arguments
exit with status 2 and a message that points at the problem.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import graphviz

from .drawing import draw
from .errors import AutodiffError
from .explaining import explain
from .expression import ExpressionError, evaluate, functions
from .files import replaced_atomically
from .naming import number
from .stepping import steps

USAGE_ERROR = 2


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m autodiff``."""
    top = argparse.ArgumentParser(prog="python -m autodiff", description="Draw and explain gradients.")
    commands = top.add_subparsers(dest="command", required=True)
    sub = commands.add_parser(
        "draw", help="compute an expression forward and backward; draw, step or explain it",
        description=f"Functions: {', '.join(sorted(functions()))}. Operators: + - * / ** and unary -.",
    )
    sub.add_argument("expression", help='e.g. "tanh(x*w + b)"')
    sub.add_argument("values", nargs="*", metavar="NAME=NUMBER", help="a value for each variable")
    sub.add_argument("-o", "--output", type=Path, help="write the drawing (.svg; .dot or .gv: source)")
    sub.add_argument("--steps", action="store_true", help="print the backward pass one node at a time")
    sub.add_argument("--explain", metavar="NAME", help="print d(expression)/d(NAME) as a sum over paths")
    sub.add_argument("--edge-labels", action="store_true", help="label edges with local partials")
    sub.add_argument("--params", default="", metavar="A,B", help="variables to colour as parameters")
    sub.add_argument("--rankdir", choices=("LR", "TB"), default="LR", help="drawing direction")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = parser().parse_args(argv)
    try:
        return _draw(args)
    except AutodiffError as error:  # a bad expression, a value outside a domain, an overflow
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except graphviz.ExecutableNotFound:
        print("error: Graphviz's `dot` program is missing (apt-get install graphviz)", file=sys.stderr)
        return 1


def _draw(args: argparse.Namespace) -> int:
    variables: dict[str, float] = {}
    for text in args.values:
        name, value = _assignment(text, args.expression)
        if name in variables:
            raise ExpressionError(f"{name} is given twice ({name}={number(variables[name])} and {text})",
                                  args.expression, None)
        variables[name] = value
    root, leaves = evaluate(args.expression, variables)
    params = [name for name in args.params.split(",") if name]
    unknown = [name for name in params + ([args.explain] if args.explain else []) if name not in leaves]
    if unknown:
        raise ExpressionError(f"{unknown[0]!r} is not a variable of the expression "
                              f"(variables: {', '.join(leaves)})", args.expression, None)
    if args.steps:
        for record in steps(root):
            print(record)
    else:
        root.backward()
    print(f"{args.expression} = {number(root.data)}")
    for name, leaf in leaves.items():
        print(f"  d/d{name} = {number(leaf.grad)}")
    if args.explain:
        print(explain(root, leaves[args.explain]))
    if args.output is not None:
        graph = draw(root, params=[leaves[name] for name in params], edge_labels=args.edge_labels,
                     rankdir=args.rankdir)
        source = args.output.suffix.lower() in (".dot", ".gv")
        try:
            with replaced_atomically(args.output) as file:
                file.write(graph.source.encode() if source else graph.pipe(format="svg"))
        except OSError as error:
            print(f"error: cannot write {args.output}: {error}", file=sys.stderr)
            return 1
        print(f"wrote {args.output}")
    return 0


def _assignment(text: str, expression: str) -> tuple[str, float]:
    name, equals, value = text.partition("=")
    if not equals or not name.isidentifier():
        raise ExpressionError(f"{text!r} is not NAME=NUMBER (e.g. x=2)", expression, None)
    try:
        return name, float(value)
    except ValueError:
        raise ExpressionError(f"{text!r}: {value!r} is not a number", expression, None) from None


if __name__ == "__main__":
    sys.exit(main())
