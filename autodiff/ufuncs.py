"""NumPy functions on a Value: ``np.exp(v)`` is ``v.exp()``, ``np.add(v, 2)`` is ``v + 2``.

NumPy hands a call with a Value among its inputs to ``Value.__array_ufunc__``,
which passes it here.  With Values and numbers only, the result is one Value
(the operator or the Value method of the function's name, recorded); with an
array among the inputs, each Value joins NumPy's loop over an object array and
the result is an object array of Values.  A function with no recorded
counterpart is a TypeError that says what to write instead, and so is NumPy's
own error when such a function meets an object array of Values.

This module reads no node: it is given the node type and the function that
makes an operand a node (a number becomes a constant), so the graph layer can
use it without a cycle.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np

#: NumPy ufuncs that are Python operators on Values; every other ufunc calls the Value method of
#: its own name (np.exp -> Value.exp, np.maximum -> Value.maximum), as NumPy's object loops do.
_OPERATORS: dict[Any, Callable[..., Any]] = {
    np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul,
    np.true_divide: operator.truediv, np.power: operator.pow, np.float_power: operator.pow,
    np.remainder: operator.mod,
    np.negative: operator.neg, np.positive: lambda x: x, np.absolute: abs,
    np.square: lambda x: x * x, np.reciprocal: lambda x: 1.0 / x, np.conjugate: lambda x: x,
    np.greater: operator.gt, np.greater_equal: operator.ge, np.less: operator.lt, np.less_equal: operator.le,
}

#: What to write instead of a NumPy function that has no recorded counterpart.
_INSTEAD = {
    "sinh": "(x.exp() - (-x).exp()) / 2", "cosh": "(x.exp() + (-x).exp()) / 2",
    "arcsinh": "(x + (x * x + 1).sqrt()).log()", "expm1": "x.exp() - 1", "exp2": "2 ** x",
    "log2": "x.log() / math.log(2)", "log10": "x.log() / math.log(10)", "cbrt": "x ** (1/3) (for x > 0)",
    "logaddexp": "autodiff's stable log-sum-exp, e.g. m + ((x - m).exp() + (y - m).exp()).log() "
                 "with m = x.maximum(y)",
    "equal": "a comparison of numbers: x.data == y.data", "not_equal": "x.data != y.data",
    "isfinite": "math.isfinite(x.data)", "isnan": "math.isnan(x.data)",
}
_FLAT = ("ceil", "rint", "trunc", "round", "floor_divide", "fmod", "heaviside")


def call_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any],
               node_type: type, operand: Callable[[Any, str], Any]) -> Any:
    """``ufunc`` (called as ``method``) on ``inputs``, some of them nodes of ``node_type``.

    ``operand(x, name)`` makes ``x`` a node: a number becomes a constant, so
    ``np.arctan2(1.0, v)`` is ``arctan2`` of a constant and ``v``.
    """
    # NumPy scalars become plain numbers: inside an object loop they would call NumPy again.
    inputs = tuple(x.item() if isinstance(x, np.generic) else x for x in inputs)
    if method == "__call__" and not kwargs and not any(isinstance(x, np.ndarray) for x in inputs):
        rule = _OPERATORS.get(ufunc)
        if rule is not None:
            return rule(*inputs)
        function = getattr(node_type, ufunc.__name__, None)
        if function is None:
            raise TypeError(_no_counterpart(ufunc.__name__))
        return function(operand(inputs[0], ufunc.__name__), *inputs[1:])
    boxed = []
    for x in inputs:
        if isinstance(x, node_type):  # in a 0-d object array, so NumPy's object loop takes it as it is
            x, box = np.empty((), dtype=object), x
            x[()] = box
        boxed.append(x)
    try:
        return getattr(ufunc, method)(*boxed, **kwargs)
    except TypeError as error:
        raise TypeError(translate_numpy_error(error)) from None


def _no_counterpart(name: str) -> str:
    if name in _INSTEAD:
        instead = f"write {_INSTEAD[name]}"
    elif name in _FLAT:
        instead = (f"{name} is flat almost everywhere (its derivative is 0), so compute it on x.data "
                   "as a constant if that is what you mean")
    else:
        instead = ("write it with the recorded operations (+ - * / ** %, exp, log, sqrt, sin, cos, tan, "
                   "arcsin, arccos, arctan, arctan2, tanh, sigmoid, relu, abs, sign, floor, maximum)")
    return f"np.{name} has no recorded counterpart on Values: {instead}"


def translate_numpy_error(error: Exception) -> str:
    """NumPy's message for a function an object array of Values cannot take, said in our words.

    NumPy runs a function over an object array by calling the method of the
    function's name on each element ("no callable exp method"): say which
    element failed and what to write instead.
    """
    text = str(error)
    found = re.search(r"argument \d+ of type (\w+) which has no callable (\w+) method", text)
    if found is None:
        return text
    kind, name = found.groups()
    if kind == "Value":
        return _no_counterpart(name)
    return (
        f"np.{name} met a plain {kind} inside an array of Values: an element NumPy computed without "
        "Values (such as the 0 of np.maximum(0, z), np.clip or np.where(c, z, 0)) has no node and no "
        f"{name} method. Keep every element a Value, e.g. np.vectorize(lambda v: v.relu())(z) for the "
        f"ReLU, or apply np.{name} before masking"
    )
