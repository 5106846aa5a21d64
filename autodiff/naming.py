"""What every view calls a node: names, definitions, formulas and message phrases.

The stepper, explanations, drawings, the page and error messages all name
nodes here, so a node is called the same everywhere.  A label is used as is; a
constant is its number; an unlabelled result is written from its operands'
names (``x * w + b``, ``tanh(n)``, ``a - 1``, ``x / y``: a subtraction and a
division read as written, though recorded as ``x + (-y)`` and ``x * y**-1``) while that stays short, else
``op#position``; an unlabelled leaf is ``leaf#position``.  How tightly each
operation binds comes from the primitive table.

This module reads nodes only through their public protocol (``data``,
``parents``, ``primitive``, ``label``, ``is_constant``, ``is_leaf``).

>>> from autodiff import Value
>>> from autodiff.graph import topological_order
>>> a, b = Value(2.0, label="a"), Value(3.0, label="b")
>>> y = (a - 1) * (a - b)
>>> names = node_names(topological_order(y))
>>> names[id(y)]
'(a - 1) * (a - b)'
"""

from __future__ import annotations

import ast
import numbers
from collections.abc import Sequence
from typing import Any

from .errors import GraphError
from .node import Node
from .primitives import ADD, ATOM, CONSTANT, MUL, NEG, POW, UNARY, Primitive, parse_expression

#: Automatic names longer than this fall back to ``op#position``.
NAME_LENGTH = 24
#: An n-ary node with more inputs than this is described by their count and the first few.
SHOWN_INPUTS = 4


def printed(x: Any) -> str:
    """A number as printed in explanations, records and reprs: 6 significant digits (and no -0).

    A recorded Value (a gradient made with ``create_graph``) is shown by its
    number, a ``grad`` of None ("no gradient yet") as None.
    """
    if not isinstance(x, numbers.Real):  # a Value (NumPy's scalars have a .data of their own)
        x = getattr(x, "data", x)
    if x is None:
        return "None"
    return f"{float(x) + 0.0:.6g}"


def describe(node: Node) -> str:
    """A short phrase naming a node in a message: its label, or what kind of node it is."""
    op = node.primitive
    if node.label is not None:
        return repr(node.label) if op is None else f"{node.label!r} ({op.name})"
    if op is CONSTANT:
        return f"the constant {node.data!r}"
    if op is not None:
        return f"the result of {op.name}"
    return "an unlabelled leaf"


def operands(op: Primitive, parents: Sequence[Any]) -> str:
    """'x = 2.0 ('a'), y = 0.0 (the constant 0.0)' for the operands of one node.

    A node with many operands (an n-ary sum) is summarised: its count, then the first few.
    """
    shown = ", ".join(
        f"{op.input_name(i)} = {p.data!r} ({describe(p)})" for i, p in enumerate(parents[:SHOWN_INPUTS])
    )
    if len(parents) <= SHOWN_INPUTS:
        return shown
    return f"{len(parents)} inputs ({shown}, ...)"


def kind(node: Node) -> str:
    """The op's name for a result, 'const' for a constant, 'leaf' for a leaf."""
    return "leaf" if node.primitive is None else node.primitive.name


# -- names for a whole graph -----------------------------------------------------


def node_names(order: Sequence[Any], length: int = NAME_LENGTH, scoped: bool = False) -> dict[int, str]:
    """A readable, unique-enough name for every node of a topological order, by id.

    Automatic names longer than ``length`` become ``op#position`` or, with
    ``scoped``, the name of the module that made the node (``layers.1.neurons.0``).
    """
    names: dict[int, str] = {}
    for position, node in enumerate(order):
        op = node.primitive
        if node.label is not None:
            text = node.label
        elif op is CONSTANT:
            text = printed(node.data)
        elif op is None:
            text = f"leaf#{position}"
        else:
            text = _composed(node, names)
            if len(text) > length:
                text = str(node.scope) if scoped and node.scope else f"{op.name}#{position}"
        names[id(node)] = text
    return names


def _binding(node: Node, name: str) -> int:
    """How tightly a node's name (as :func:`node_names` made it) holds together."""
    op = node.primitive
    if node.label is not None:
        return ATOM if " " not in name else 0
    if op is CONSTANT:
        return ATOM if node.data >= 0 else UNARY
    if op is None or name.startswith(f"{op.name}#"):  # leaf#3, tanh#9: one word
        return ATOM
    return op.precedence


def _subtracted(node: Node) -> tuple[Node, str | None]:
    """For x + (-y) or x + (negative constant): the thing subtracted, as a node or a number."""
    right = node.parents[1]
    if right.is_constant and right.data < 0:
        return None, printed(-right.data)
    if right.primitive is NEG and right.label is None:
        return right.parents[0], None
    return None, None


def _divisor(node: Node) -> Node | None:
    """For x * y**-1 (how ``x / y`` is recorded): y, so the node reads as the quotient it was written as."""
    right = node.parents[1]
    if right.primitive is POW and right.label is None:
        exponent = right.parents[1]
        if exponent.is_constant and exponent.data == -1.0:
            return right.parents[0]
    return None


def _composed(node: Node, names: dict[int, str]) -> str:
    """The expression that computed a node, in its operands' names, bracketed as Python would need."""
    op, parents = node.primitive, node.parents
    strength = op.precedence

    def operand(parent: Node, tighter: bool = False) -> str:
        name = names[id(parent)]
        binding = _binding(parent, name)
        weak = binding < strength or (tighter and binding == strength)
        return f"({name})" if weak else name

    if op is ADD:
        subtracted, text = _subtracted(node)
        if subtracted is not None:
            return f"{operand(parents[0])} - {operand(subtracted, tighter=True)}"
        if text is not None:
            return f"{operand(parents[0])} - {text}"
    if op is MUL and (divisor := _divisor(node)) is not None:
        return f"{operand(parents[0])} / {operand(divisor, tighter=True)}"
    if op.precedence == ATOM or op.arity not in (1, 2):
        return f"{op.name}({', '.join(names[id(p)] for p in parents)})"
    if op.arity == 1:
        return f"{op.symbol}{operand(parents[0])}"
    right_associative = op.symbol == "**"
    return (f"{operand(parents[0], tighter=right_associative)} {op.symbol} "
            f"{operand(parents[1], tighter=not right_associative)}")


def title(order: Sequence[Any], length: int = 72) -> str:
    """What a view's title calls the root of ``order`` (its last node): its label or its expression.

    Never an internal ``op#position``: an expression too long for a title is
    named by its operation and the size of its graph.
    """
    root = order[-1]
    name = node_names(order, length, scoped=True)[id(root)]
    if "#" not in name or root.label is not None:
        return name
    return f"the {root.primitive.name} at the end of a graph of {len(order)} nodes"


def definition(node: Node, names: dict[int, str]) -> str:
    """How a node was computed, in its operands' names: ``tanh(n)``, ``sum(784 inputs)``."""
    op = node.primitive
    if op is None or op is CONSTANT:
        return names[id(node)]
    if len(node.parents) > SHOWN_INPUTS and op.arity is None:
        return f"{op.name}({len(node.parents)} inputs)"
    return _composed(node, names)


def find_node(order: Sequence[Node], target: Node | str, what: str = "node",
              names: dict[int, str] | None = None) -> Node:
    """``target`` itself if it is in ``order``, or the one node with that label (or printed name)."""
    if isinstance(target, str):
        found = [node for node in order if node.label == target]
        if not found and names is not None:
            found = [node for node in order if names[id(node)] == target]
        if len(found) == 1:
            return found[0]
        if not found:
            raise GraphError(f"no {what} labelled or named {target!r} in this graph")
        raise GraphError(f"{len(found)} nodes are called {target!r}; pass the Value itself")
    if not any(node is target for node in order):
        raise GraphError(f"the {what} {target!r} is not part of this graph: the root does not depend on it, "
                         "so there is no path through it (pass a node the root was computed from)")
    return target


# -- local partials as formulas -------------------------------------------------


def partial_formula(node: Node, index: int, names: dict[int, str]) -> str:
    """The table's formula for d(node)/d(operand ``index``), in the graph's own names.

    Inputs x, y (x0, x1...) and ``out`` are replaced by the nodes' names and
    constants by their numbers, then constant parts are folded:
    ``y * x**(y-1)`` for ``d ** 2`` becomes ``2 * d``.
    """
    op, parents = node.primitive, node.parents
    tree = parse_expression(op.formula(index))
    # Only the names the formula uses: a sum of 8,000 inputs would otherwise map 8,000 names per edge.
    position = {op.input_name(i): i for i in range(len(parents))} if op.arity is not None else {}
    symbols = {}
    for used in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}:
        i = position.get(used, int(used[1:]) if op.arity is None and used[1:].isdigit() else None)
        if used == "out":
            symbols[used] = node
        elif i is not None and i < len(parents) and op.input_name(i) == used:
            symbols[used] = parents[i]
    body = _Fold(symbols, names).visit(tree).body
    if isinstance(body, ast.Name) and body.id.startswith("("):
        return body.id[1:-1]  # a lone name needs no brackets of its own
    return ast.unparse(body)


class _Fold(ast.NodeTransformer):
    """Substitute names into a (trusted) table formula and simplify constant arithmetic."""

    def __init__(self, symbols: dict[str, Any], names: dict[int, str]) -> None:
        self.symbols, self.names = symbols, names

    def visit_Name(self, name: ast.Name) -> ast.AST:
        node = self.symbols.get(name.id)
        if node is None:
            return name
        if node.is_constant:
            return ast.Constant(_plain(node.data))
        text = self.names[id(node)]
        return ast.Name(text if " " not in text else f"({text})")

    def visit_BinOp(self, binop: ast.BinOp) -> ast.AST:
        self.generic_visit(binop)
        left, right = binop.left, binop.right
        if isinstance(left, ast.Constant) and isinstance(right, ast.Constant):
            try:
                return ast.Constant(_plain(_ARITHMETIC[type(binop.op)](left.value, right.value)))
            except (KeyError, ArithmeticError, ValueError, TypeError):
                return binop
        if _is(right, 1) and isinstance(binop.op, (ast.Pow, ast.Mult, ast.Div)):
            return left
        if _is(left, 1) and isinstance(binop.op, ast.Mult):
            return right
        return binop


_ARITHMETIC = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: float(a) ** b,
}


def _is(tree: ast.AST, value: float) -> bool:
    return isinstance(tree, ast.Constant) and tree.value == value


def _plain(x: float) -> float | int:
    """2.0 prints as 2 in a formula."""
    return int(x) if float(x).is_integer() and abs(x) < 1e15 else x
