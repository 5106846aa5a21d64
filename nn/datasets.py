"""Small data sets: the ones the tutorials' networks were trained on, made or read here.

Everything is a NumPy array: inputs shaped (samples, features), class labels as
integers, and targets shaped (samples, outputs).  Generators take a ``seed`` and
draw from their own ``numpy.random.Generator``, so the same call always gives
the same numbers and never disturbs NumPy's global random state.

>>> inputs, targets = xor()
>>> inputs.shape, targets.ravel().tolist()
((4, 3), [0.0, 1.0, 1.0, 0.0])
>>> one_hot([0, 2, 1])
array([[1., 0., 0.],
       [0., 0., 1.],
       [0., 1., 0.]])
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from autodiff.files import replaced_atomically

from ._checks import is_whole

#: Centres of the three clouds of the Gaussian-clouds data set, one per class.
CLOUD_CENTRES = ((0.0, -2.0), (2.0, 2.0), (-2.0, 2.0))


class DataError(ValueError):
    """A data file or array that cannot be used, with the file, line and reason."""


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four samples of the XOR-like problem (three inputs, the third always 1).

    The target is 1 when exactly one of the first two inputs is 1; the constant
    third input plays the part of a bias in a network built without biases.
    Returns ``(inputs, targets)`` shaped (4, 3) and (4, 1).
    """
    inputs = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
    targets = np.array([[0], [1], [1], [0]], dtype=float)
    return inputs, targets


def gaussian_clouds(n_per_class: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three round Gaussian clouds in the plane, one class each.

    Unit variance around the centres (0, -2), (2, 2) and (-2, 2) for the labels
    0, 1 and 2; ``n_per_class`` points each, class by class.  Returns
    ``(points, labels)`` shaped (3 * n_per_class, 2) and (3 * n_per_class,).

    >>> points, labels = gaussian_clouds(4, seed=1)
    >>> points.shape, labels.tolist()
    ((12, 2), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    """
    _check_count(n_per_class, "n_per_class")
    rng = np.random.default_rng(seed)
    points = np.vstack([rng.standard_normal((n_per_class, 2)) + centre for centre in CLOUD_CENTRES])
    labels = np.repeat(np.arange(len(CLOUD_CENTRES)), n_per_class)
    return points, labels


def linear_points(
    n: int = 100,
    seed: int = 0,
    slope: float = 1.4,
    intercept: float = 5.0,
    noise: float = 10.0,
    x_range: tuple[float, float] = (20.0, 80.0),
) -> np.ndarray:
    """``n`` points (x, y) scattered around the line y = slope * x + intercept.

    x is uniform over ``x_range`` and y has Gaussian noise of standard deviation
    ``noise``.  Returns an array shaped (n, 2): the layout of a two-column CSV.

    >>> linear_points(3, seed=0).shape
    (3, 2)
    """
    _check_count(n, "n")
    rng = np.random.default_rng(seed)
    x = rng.uniform(*x_range, size=n)
    y = slope * x + intercept + noise * rng.standard_normal(n)
    return np.column_stack([x, y])


def load_csv_points(path: str | os.PathLike) -> np.ndarray:
    """Read a two-column CSV of numbers ``x,y`` into an array shaped (n, 2).

    Blank lines and lines starting with ``#`` are skipped, and so is a first
    line with no number in it (a header such as ``x,y``).  Anything else that
    is not two finite numbers raises :class:`DataError` naming the file, the
    line and what is wrong with it.
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except FileNotFoundError:
        raise DataError(f"{name}: no such file") from None
    except UnicodeDecodeError as error:
        raise DataError(f"{name}: not a text file ({error.reason} at byte {error.start})") from None
    rows: list[list[float]] = []
    header_allowed = True
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = [field.strip() for field in text.split(",")]
        if header_allowed and not any(map(_is_number, fields)):
            header_allowed = False
            continue
        header_allowed = False
        rows.append(_parse_row(fields, name, number))
    if not rows:
        raise DataError(f"{name}: no data rows (expected lines of the form x,y)")
    return np.array(rows, dtype=float)


def one_hot(labels: Sequence[int] | np.ndarray, classes: int | None = None) -> np.ndarray:
    """Class labels 0..classes-1 as rows of an identity matrix, shaped (n, classes).

    ``classes`` defaults to the largest label plus one.
    """
    array = np.asarray(labels)
    if array.ndim != 1:
        raise DataError(f"one_hot: labels must be one-dimensional, got shape {array.shape}")
    if array.size and not np.all(np.equal(np.mod(array, 1), 0)):
        raise DataError(f"one_hot: labels must be whole numbers, got {array[np.mod(array, 1) != 0][0]!r}")
    array = array.astype(int)
    if array.size and array.min() < 0:
        raise DataError(f"one_hot: labels must be >= 0, got {array.min()}")
    if classes is None:
        classes = int(array.max()) + 1 if array.size else 0
    if array.size and array.max() >= classes:
        raise DataError(f"one_hot: label {array.max()} does not fit in {classes} classes")
    encoded = np.zeros((array.size, classes))
    encoded[np.arange(array.size), array] = 1.0
    return encoded


def save_csv_points(points: np.ndarray, path: str | os.PathLike, decimals: int = 6) -> None:
    """Write an (n, 2) array as a CSV with a header ``x,y``, numbers rounded to ``decimals``.

    The write is atomic (a temporary file, then a rename): a failure never
    leaves a half-written file behind.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise DataError(f"save_csv_points: expected an array shaped (n, 2), got {points.shape}")
    if not np.all(np.isfinite(points)):
        row = int(np.argwhere(~np.isfinite(points))[0][0])
        raise DataError(f"save_csv_points: row {row} is {points[row].tolist()}: every number must be finite "
                        "(load_csv_points would refuse the file)")
    with replaced_atomically(path, "w", encoding="utf-8") as file:
        file.write("x,y\n")
        file.writelines(f"{x:.{decimals}f},{y:.{decimals}f}\n" for x, y in points.tolist())


# -- helpers -------------------------------------------------------------------


def _parse_row(fields: list[str], name: str, number: int) -> list[float]:
    if len(fields) != 2:
        raise DataError(f"{name}, line {number}: expected 2 comma-separated numbers, got {len(fields)}")
    values = []
    for column, field in enumerate(fields, start=1):
        try:
            value = float(field)
        except ValueError:
            raise DataError(f"{name}, line {number}, column {column}: {field!r} is not a number") from None
        if not math.isfinite(value):
            raise DataError(f"{name}, line {number}, column {column}: {field!r} is not a finite number")
        values.append(value)
    return values


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _check_count(n: int, name: str) -> None:
    if not is_whole(n, 1):
        raise ValueError(f"{name} must be a positive whole number, got {n!r}")
