"""Command line: ``python -m autodiff draw "tanh(x*w + b)" x=2 w=-3 b=6.88 -o graph.svg``.

``draw`` computes the expression forward and backward, prints the value and
every input's gradient, and on request writes a drawing (``-o``, in the format
the file's suffix names: .svg, .png, .pdf, or .dot/.gv for the source), prints
the stepper's records (``--steps``) or explains the chain rule for one input
(``--explain x``).  ``play`` writes a self-contained HTML page that steps the
backward pass forward and back over the drawing (``-o backprop.html``).  Bad
expressions and arguments exit with status 2 and a message that points at the
problem.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import graphviz

from .drawing import FORMATS, TooBigToDraw, draw
from .errors import AutodiffError
from .explaining import explain
from .exporting import handout, slides
from .expression import ExpressionError, evaluate, functions
from .naming import printed
from .playing import MAX_NODES, play
from .stepping import steps
from .value import Value

USAGE_ERROR = 2
DASH_HINT = ('an expression that starts with "-" is read as an option: put it '
             'after --, e.g. python -m autodiff draw -- "-x*y" x=2 y=3')


class _Parser(argparse.ArgumentParser):
    """argparse, plus a hint when an expression starting with "-" was taken for an option."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        if "unrecognized arguments: -" in message or "required: expression" in message:
            message += f"\n  ({DASH_HINT})"
        super().error(message)


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m autodiff``."""
    top = _Parser(prog="python -m autodiff", description="Draw, step and explain gradients.",
                  epilog=DASH_HINT[0].upper() + DASH_HINT[1:] + ".")
    commands = top.add_subparsers(dest="command", required=True)
    functions_text = f"Functions: {', '.join(sorted(functions()))}. Operators: + - * / ** % and unary -."
    sub = commands.add_parser(
        "draw", help="compute an expression forward and backward; draw, step or explain it",
        description=functions_text,
    )
    _expression_arguments(sub, max_nodes=500)
    sub.add_argument("-o", "--output", type=Path,
                     help=f"write the drawing; the suffix picks the format ({', '.join(FORMATS)})")
    sub.add_argument("--steps", action="store_true", help="print the backward pass one node at a time")
    sub.add_argument("--explain", metavar="NAME", help="print d(expression)/d(NAME) as a sum over paths")
    _drawing_arguments(sub, edge_labels=False)
    page = commands.add_parser(
        "play", help="write an HTML page that plays the backward pass step by step, forward and back",
        description="Writes one self-contained HTML file (no network needed): Next / Back / Play / Reset "
        "buttons and the arrow keys step the backward pass over the drawing. " + functions_text,
    )
    _expression_arguments(page, max_nodes=MAX_NODES)
    _drawing_arguments(page, edge_labels=True)
    page.add_argument("-o", "--output", type=Path, default=Path("backprop.html"),
                      help="the page to write (default: backprop.html)")
    page.add_argument("--slides", type=Path, metavar="FOLDER",
                      help="also write one 1280x720 PNG per step into FOLDER (through Graphviz)")
    page.add_argument("--handout", type=Path, metavar="FILE.pdf",
                      help="also write a PDF handout, a page per step (needs matplotlib)")
    page.add_argument("--guess", action="store_true",
                      help="open the page guessing first: each gradient asked before it is shown (g toggles)")
    return top


def _expression_arguments(sub: argparse.ArgumentParser, max_nodes: int) -> None:
    sub.add_argument("expression", help='e.g. "tanh(x*w + b)"')
    sub.add_argument("values", nargs="*", metavar="NAME=NUMBER", help="a value for each variable")
    sub.add_argument("--name", metavar="NAME", help="name the result, so records read d(NAME)/d(x)")
    sub.add_argument("--params", default="", metavar="A,B", help="variables to colour as parameters")
    sub.add_argument("--rankdir", choices=("LR", "TB"), default="LR", help="drawing direction")
    sub.add_argument("--max-nodes", type=int, default=max_nodes, metavar="N",
                     help=f"refuse drawings of more than N nodes (default {max_nodes})")


def _drawing_arguments(sub: argparse.ArgumentParser, edge_labels: bool) -> None:
    """The drawing options of draw() and play(), the same for both commands."""
    sub.add_argument("--edge-labels", action=argparse.BooleanOptionalAction, default=edge_labels,
                     help="label each edge with its local partial (default: "
                     f"{'on' if edge_labels else 'off'})")
    sub.add_argument("--cluster", action="store_true", help="draw a box around the nodes of each module")
    sub.add_argument("--collapse", nargs="?", const=True, default=False, type=int, metavar="N",
                     help="draw each module as one node (N: only the first N module levels)")
    sub.add_argument("--between", metavar="NAME",
                     help="draw only the paths from the variable NAME to the result")
    sub.add_argument("--legend", action=argparse.BooleanOptionalAction, default=True,
                     help="name the roles' colours (default: on)")


def _drawing_options(args: argparse.Namespace, leaves: dict[str, Value], params: list[Value]) -> dict:
    """The options draw() and play() share, from the command line."""
    if args.between is not None and args.between not in leaves:
        raise _not_a_variable(args.between, leaves, args.expression)
    return {"params": params, "edge_labels": args.edge_labels, "rankdir": args.rankdir,
            "cluster": args.cluster, "collapse": args.collapse,
            "between": None if args.between is None else leaves[args.between],
            "max_nodes": args.max_nodes, "legend": args.legend}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = parser().parse_args(argv)
    try:
        return _play(args) if args.command == "play" else _draw(args)
    except TooBigToDraw as error:
        print(f"error: this drawing would have {error.size} nodes (--max-nodes {error.max_nodes}); Graphviz "
              f"would take long and the picture would be hard to read. Draw less (--collapse, or --between "
              f"NAME for the paths from one variable), pass --max-nodes {error.size} to draw it anyway, or "
              "drop --output to print the gradients only.", file=sys.stderr)
        return USAGE_ERROR
    except AutodiffError as error:  # a bad expression, a value outside a domain, an overflow
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except graphviz.ExecutableNotFound:
        print("error: Graphviz's `dot` program is missing (apt-get install graphviz)", file=sys.stderr)
        return 1
    except ImportError as error:  # the handout's matplotlib
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: cannot write {args.output}: {error}", file=sys.stderr)
        return 1


def _draw(args: argparse.Namespace) -> int:
    if args.output is not None and args.output.suffix.lower() not in FORMATS:
        raise ExpressionError(f"-o {args.output}: cannot tell the format from the suffix "
                              f"{args.output.suffix or '(none)'}; use one of {', '.join(FORMATS)}",
                              args.expression, None)
    root, leaves, params = _compute(args)
    if args.explain and args.explain not in leaves:
        raise _not_a_variable(args.explain, leaves, args.expression)
    if args.steps:
        for record in steps(root):
            print(record)
    else:
        root.backward()
    print(f"{args.expression} = {printed(root.data)}")
    for name, leaf in leaves.items():
        print(f"  d/d{name} = {printed(leaf.grad)}")
    if args.explain:
        print(explain(root, leaves[args.explain]))
    if args.output is not None:
        draw(root, args.output, **_drawing_options(args, leaves, params))
        print(f"wrote {args.output}")
    return 0


def _play(args: argparse.Namespace) -> int:
    root, leaves, params = _compute(args)
    options = _drawing_options(args, leaves, params)
    page = play(root, args.output, guess=args.guess, **options)
    print(f"{args.expression} = {printed(root.data)}; {page.steps} steps")
    print(f"wrote {args.output} (open it in a browser: → next, ← back, space plays)")
    del options["legend"]  # the slides name roles by shape and colour as the page does, without a legend
    if args.slides is not None:
        written = slides(root, args.slides, **options)
        print(f"wrote {len(written)} slides into {args.slides} ({written[0].name} … {written[-1].name})")
    if args.handout is not None:
        handout(root, args.handout, **options)
        print(f"wrote {args.handout}")
    return 0


def _compute(args: argparse.Namespace) -> tuple[Value, dict[str, Value], list[Value]]:
    """The expression on its variables, the leaves by name and the parameters; the result named."""
    variables: dict[str, float] = {}
    for text in args.values:
        name, value = _assignment(text, args.expression)
        if name in variables:
            raise ExpressionError(f"{name} is given twice ({name}={printed(variables[name])} and {text})",
                                  args.expression, None)
        variables[name] = value
    root, leaves = evaluate(args.expression, variables)
    params = [name for name in args.params.split(",") if name]
    for name in params:
        if name not in leaves:
            raise _not_a_variable(name, leaves, args.expression)
    if args.name is not None:
        _name_result(root, args.name, leaves, args.expression)
    return root, leaves, [leaves[name] for name in params]


def _name_result(root: Value, name: str, leaves: dict[str, Value], expression: str) -> None:
    if not name.strip():
        raise ExpressionError("--name needs a name, e.g. --name loss", expression, None)
    if name in leaves:
        raise ExpressionError(f"--name {name}: {name} is already a variable; choose another name",
                              expression, None)
    if root.is_leaf:
        raise ExpressionError(f"--name {name}: the expression is just the variable {root.label}, "
                              "which keeps its name", expression, None)
    root.label = name


def _not_a_variable(name: str, leaves: dict[str, Value], expression: str) -> ExpressionError:
    return ExpressionError(f"{name!r} is not a variable of the expression (variables: {', '.join(leaves)})",
                           expression, None)


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
