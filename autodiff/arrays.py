"""NumPy code on Values: lift arrays into object arrays of leaf Values, and read them back.

A learner's NumPy forward pass (``z1 = X @ W1 + b1``, ``np.exp``, ``.sum(axis=1)``,
broadcasting, indexing, ``np.vstack``) runs unchanged on object arrays of
Values: NumPy's loops over object arrays call each element's ``+``, ``*``,
``exp``..., so every element is recorded, and after ``backward`` every
element of every intermediate knows its gradient.

>>> import numpy as np
>>> W = values(np.array([[1.0, 2.0], [3.0, 4.0]]), "W")
>>> x = np.array([1.0, -1.0])
>>> loss = np.tanh(W @ x).sum()
>>> loss.backward()
>>> W[0, 1]
Value(data=2.0, grad=-0.419974, label='W[0, 1]')
>>> grads(W).shape, data(W).tolist()
((2, 2), [[1.0, 2.0], [3.0, 4.0]])

Where NumPy replaces an element by a plain number (the 0 of ``np.maximum(0,
z)``, ``np.clip``, ``np.where(c, z, 0)``), that element has no node: it is a
constant, and it has no gradient to compare (``grads(A, missing=0.0)`` reads
such arrays).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .value import Value


def values(array: Any, name: str) -> Any:
    """Leaf Values holding the numbers of ``array``, labelled by name and index (``W1[0, 2]``).

    ``array`` may be an ndarray (the result is an object array of its shape),
    a number (one Value labelled ``name``) or a list or tuple of arrays, such
    as Nielsen's ``weights`` (a list of object arrays, labelled
    ``weights[0][1, 2]``).
    """
    if isinstance(array, (list, tuple)):
        return [values(part, f"{name}[{i}]") for i, part in enumerate(array)]
    if isinstance(array, Value):
        raise TypeError(f"values(..., {name!r}) got a Value; pass a number or an array of numbers")
    if np.ndim(array) == 0 and not isinstance(array, np.ndarray):
        return Value(array, label=name)
    numbers = np.asarray(array)
    if numbers.dtype == object or not (np.issubdtype(numbers.dtype, np.number) or numbers.dtype == bool):
        raise TypeError(f"values(..., {name!r}) needs an array of numbers, not of dtype {numbers.dtype}")
    if numbers.dtype == bool or np.iscomplexobj(numbers):
        raise TypeError(f"values(..., {name!r}) needs real numbers, not {numbers.dtype}")
    lifted = np.empty(numbers.shape, dtype=object)
    for index, number in np.ndenumerate(numbers.astype(float)):
        lifted[index] = Value(float(number), label=f"{name}[{_index(index)}]" if index else name)
    return lifted


def data(array: Any) -> Any:
    """The numbers of an object array of Values as a float array of its shape (lists stay lists)."""
    return _read(array, "data", None)


def grads(array: Any, missing: float | None = None) -> Any:
    """The gradients of an object array of Values as a float array of its shape (lists stay lists).

    An element that is a plain number (NumPy computed it without Values) has
    no gradient: that is an error, unless ``missing`` gives the number to put
    there instead.
    """
    return _read(array, "grad", missing)


def is_value(array: Any) -> np.ndarray:
    """A boolean array of ``array``'s shape: True where the element is a Value (it has a node)."""
    return np.vectorize(lambda x: isinstance(x, Value), otypes=[bool])(np.asarray(array, dtype=object))


def _read(array: Any, field: str, missing: float | None) -> Any:
    if isinstance(array, (list, tuple)) and not _is_flat(array):
        return [_read(part, field, missing) for part in array]
    if isinstance(array, Value):
        return _as_float(getattr(array, field), field)
    boxed = np.asarray(array, dtype=object)
    out = np.empty(boxed.shape, dtype=float)
    for index, element in np.ndenumerate(boxed):
        if isinstance(element, Value):
            out[index] = _as_float(getattr(element, field), field)
        elif field == "data" and _is_number(element):
            out[index] = element
        elif missing is not None:
            out[index] = missing
        else:
            raise TypeError(
                f"element [{_index(index)}] is {element!r}, not a Value: it has no {field}. "
                "NumPy computed it without Values (np.maximum(0, z), np.clip, np.where); "
                f"pass missing=0.0 to read it as {field} 0"
            )
    return out


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.number)) and not isinstance(x, (bool, np.bool_))


def _as_float(x: Any, field: str) -> float:
    """A gradient recorded as a Value (create_graph) is read by its number."""
    return x.data if isinstance(x, Value) else float(x)


def _is_flat(array: Sequence[Any]) -> bool:
    """A list of Values or numbers (one array), not a list of arrays."""
    return all(not isinstance(x, (list, tuple, np.ndarray)) for x in array)


def _index(index: tuple[int, ...]) -> str:
    return ", ".join(map(str, index))
