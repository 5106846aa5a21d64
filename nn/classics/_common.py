"""Small helpers the entries share."""

from __future__ import annotations

from typing import Any

from autodiff import Value

#: Python 2's ``str(float)`` (and ``print``) shows 12 significant digits.
PY2_STR = ".12g"
PY2_WHY = "the source printed the number with Python 2's str(), 12 significant digits"


def single(output: Any) -> Value:
    """The one output of a one-output model, whether it comes as a Value or as a one-element list."""
    if isinstance(output, Value):
        return output
    (value,) = output
    return value
