"""Phrases that name nodes in error messages and printed explanations."""

from __future__ import annotations

from typing import Any

from .primitives import CONSTANT, Primitive

#: How the inputs of a primitive are called in formulas and messages.
INPUT_NAMES = "xyzuvw"


def number(x: float) -> str:
    """A number as printed in explanations, records and reprs: 6 significant digits (and no -0)."""
    return f"{x + 0.0:.6g}"


def input_name(op: Primitive, i: int) -> str:
    """Name of input i of ``op`` as its formulas use it (x, y; x0, x1... for n-ary)."""
    return f"x{i}" if op.arity is None else INPUT_NAMES[i]


def describe(node: Any) -> str:
    """A short phrase naming a node: its label, or what kind of node it is."""
    if node.label is not None:
        return repr(node.label) if node._op is None else f"{node.label!r} ({node._op.name})"
    if node._op is CONSTANT:
        return f"the constant {node._data!r}"
    if node._op is not None:
        return f"the result of {node._op.name}"
    return "an unlabelled input"


#: An n-ary node with more inputs than this is described by their count and the first few.
SHOWN_INPUTS = 4


def operands(op: Primitive, parents: tuple[Any, ...]) -> str:
    """'x = 2.0 ('a'), y = 0.0 (the constant 0.0)' for the inputs of one node.

    A node with many inputs (an n-ary sum) is summarised: its count, then the first few.
    """
    shown = ", ".join(
        f"{input_name(op, i)} = {p._data!r} ({describe(p)})" for i, p in enumerate(parents[:SHOWN_INPUTS])
    )
    if len(parents) <= SHOWN_INPUTS:
        return shown
    return f"{len(parents)} inputs ({shown}, ...)"
