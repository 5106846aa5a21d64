"""A safe parser for formulas such as ``tanh(x*w + b)``, over the primitive table.

Text from a command line is parsed with Python's :mod:`ast` and then walked:
only numbers, variable names, ``+ - * / ** %``, unary ``-`` and ``+`` and calls to
the primitives of the table that are written as calls (``tanh``, ``sin``,
``max``, ``arctan2(y, x)``, ``sum`` with any number of arguments, and any primitive you register)
are accepted.  Nothing is ever passed to ``eval``.
Errors show the expression with a caret under the problem.

>>> root, leaves = evaluate("tanh(x*w + b)", {"x": 2, "w": -3, "b": 6.8813735870195432})
>>> round(root.data, 4), leaves["w"]
(0.7071, Value(data=-3.0, grad=0.0, label='w'))
>>> evaluate("x + y", {"x": 1})
Traceback (most recent call last):
    ...
autodiff.expression.ExpressionError: unknown name 'y'; give it a value as y=NUMBER
  x + y
      ^
"""

from __future__ import annotations

import ast
import math
import numbers
import operator
from collections.abc import Callable, Mapping
from typing import Any

from .errors import AutodiffError
from .primitives import ATOM, Primitive, operations, parse_expression
from .value import Value, apply

#: Longest expression accepted (deeper input only tests the parser's stack).
MAX_LENGTH = 2000

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
}


def functions() -> dict[str, Primitive]:
    """The callable names: every primitive users write (no helper) that is written as a call."""
    return {name: op for name, op in operations().items() if op.precedence == ATOM}


class ExpressionError(AutodiffError, ValueError):
    """An expression that cannot be parsed or computed; the message points at the place."""

    def __init__(self, message: str, text: str, column: int | None, end: int | None = None) -> None:
        self.text, self.column = text, column
        if column is not None and "\n" not in text:
            width = max(1, (end or column + 1) - column)
            message += f"\n  {text}\n  {' ' * column}{'^' * width}"
        super().__init__(message)


def evaluate(text: str, variables: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
    """Parse ``text`` and compute it on Value leaves labelled by the variable names.

    Returns the root and the leaves by name.  Every variable must be used (an
    unused one is usually a typo) and every name must have a value.
    """
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression has {len(text)} characters (limit {MAX_LENGTH})", text, None)
    try:
        tree = parse_expression(text.strip())
    except SyntaxError as error:
        column = None if error.offset is None else error.offset - 1 + (len(text) - len(text.lstrip()))
        raise ExpressionError(f"not a valid expression: {error.msg}", text, column) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply", text, None) from None
    calls = functions()
    clashes = sorted(set(variables) & set(calls))
    if clashes:
        raise ExpressionError(f"{clashes[0]!r} is a function name; rename the variable", text, None)
    leaves = {name: Value(_as_float(value, name, text), label=name) for name, value in variables.items()}
    used: set[str] = set()
    offset = len(text) - len(text.lstrip())
    try:
        root = _Evaluator(text, offset, leaves, calls, used).visit(tree.body)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply", text, None) from None
    unused = [name for name in variables if name not in used]
    if unused:
        raise ExpressionError(f"{unused[0]}={variables[unused[0]]} is given but the expression does not use "
                              f"{unused[0]!r}", text, None)
    if not isinstance(root, Value):
        raise ExpressionError("the expression has no variables: nothing to differentiate", text, None)
    return root, leaves


def _as_float(value: Any, name: str, text: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ExpressionError(f"{name}={value!r}: the value must be a finite number", text, None)
    return float(value)


class _Evaluator:
    """Walk a parsed expression, allowing only the whitelisted kinds of node."""

    def __init__(self, text: str, offset: int, leaves: dict[str, Value],
                 calls: dict[str, Primitive], used: set[str]) -> None:
        self.text, self.offset, self.leaves, self.calls, self.used = text, offset, leaves, calls, used

    def fail(self, message: str, node: ast.AST) -> ExpressionError:
        start = getattr(node, "col_offset", None)
        end = getattr(node, "end_col_offset", None)
        if start is not None:
            start += self.offset
            end = None if end is None else end + self.offset
        return ExpressionError(message, self.text, start, end)

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise self.fail(
                f"{_describe(node)} is not allowed; use numbers, names, + - * / ** %, unary -, and calls to "
                f"{', '.join(sorted(self.calls))}", node)
        try:
            return method(node)
        except ExpressionError:
            raise
        except OverflowError:
            raise self.fail("this part overflows a float", node) from None
        except (AutodiffError, ArithmeticError, ValueError) as error:
            raise self.fail(f"cannot compute this part: {error}", node) from None

    def visit_Constant(self, node: ast.Constant) -> float:
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise self.fail(f"{node.value!r} is not a number", node)
        return float(node.value)

    def visit_Name(self, node: ast.Name) -> Value:
        if node.id in self.leaves:
            self.used.add(node.id)
            return self.leaves[node.id]
        if node.id in self.calls:
            raise self.fail(f"{node.id!r} is a function: call it, as in {node.id}(x)", node)
        raise self.fail(f"unknown name {node.id!r}; give it a value as {node.id}=NUMBER", node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        apply = _BINARY.get(type(node.op))
        if apply is None:
            raise self.fail(f"the operator {type(node.op).__name__} is not allowed; use + - * / ** %", node)
        result = apply(self.visit(node.left), self.visit(node.right))
        number = result.data if isinstance(result, Value) else result
        if not isinstance(result, (Value, float)) or not math.isfinite(number):
            raise self.fail(f"this gives {result!r}, not a finite real number", node)
        return result

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.USub):
            return -self.visit(node.operand)
        if isinstance(node.op, ast.UAdd):
            return self.visit(node.operand)
        raise self.fail(f"the operator {type(node.op).__name__} is not allowed; use unary - or +", node)

    def visit_Call(self, node: ast.Call) -> Value | float:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in self.calls:
            known = ", ".join(sorted(self.calls))
            what = f"unknown function {name!r}" if name else "only named functions can be called"
            raise self.fail(f"{what}; the functions are {known}", node.func)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"{name}() takes plain positional arguments", node)
        args = [self.visit(a) for a in node.args]
        op = self.calls[name]
        if op.arity is not None and len(args) != op.arity:
            plural = "argument" if op.arity == 1 else "arguments"
            raise self.fail(f"{name}() takes exactly {op.arity} {plural}, got {len(args)}", node)
        if not args:
            raise self.fail(f"{name}() needs at least one argument", node)
        result = apply(op, *args)
        if not any(isinstance(a, Value) for a in args):  # only numbers: stays a number
            return result.data  # computed through the engine, so a domain error reads as for Values
        return result


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Compare: "a comparison",
        ast.BoolOp: "'and'/'or'", ast.IfExp: "'if ... else'", ast.Lambda: "lambda",
        ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set",
        ast.JoinedStr: "an f-string", ast.NamedExpr: "':='",
    }
    return kinds.get(type(node), f"{type(node).__name__} syntax")
