"""Loss landscapes: a loss over two coordinates, its contours, and the paths optimizers take on it.

A :class:`Landscape` is a loss written as a function of two Values (two of a
model's parameters, or two directions through all of them), with the data as
constants.  It is compiled (:func:`autodiff.compile`) into a program whose
per-row inputs are the two coordinates and whose output is the loss; for
descents, a second program also outputs the loss's two partial derivatives,
recorded by the engine's own reverse sweep (:func:`autodiff.backward.gradients`)
and replayed like any other nodes.  Then:

- :meth:`Landscape.surface` evaluates the loss at every point of a grid in
  one batched replay, one row per point;
- :meth:`Landscape.descend` runs one of ``nn``'s optimizers from a start
  point, each step's loss and gradient read from the second program;
- :meth:`Landscape.hessian` differentiates twice at a point, whose condition
  number says how long and narrow the valley is;
- :func:`plot` draws contours and paths (matplotlib, the ``plot`` extra).

>>> import nn
>>> from nn import landscape
>>> fit = landscape.Landscape(lambda p: (p[0] - 1) ** 2 + 10 * p[1] ** 2, names=("u", "v"))
>>> grid = fit.surface((-1, 3, 5), (-1, 1, 3))
>>> grid.losses.shape, float(grid.losses.min())
((3, 5), 0.0)
>>> path = fit.descend(lambda p: nn.SGD(p, lr=0.05), start=(3.0, 1.0), steps=200)
>>> path.points[-1].round(6).tolist(), round(fit.condition((1.0, 0.0)), 6)
([1.0, 0.0], 10.0)

``python -m nn.landscape line-fit -o landscape.png`` draws the valley of the
gradient-descent line fit (see docs/linear_regression.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

import autodiff
from autodiff import Value
from autodiff.backward import gradients
from autodiff.compiled import Program

from ..module import Module
from ..optim import Optimizer

#: A loss as a function of its two coordinates.
Loss2D = Callable[[list[Value]], Value]
#: An axis of a grid: (first, last, number of points).
Axis = tuple[float, float, int]


@dataclass(frozen=True)
class Surface:
    """The loss at every point of a grid: ``losses[i, j]`` is at ``(xs[j], ys[i])``."""

    names: tuple[str, str]
    xs: np.ndarray
    ys: np.ndarray
    losses: np.ndarray


@dataclass(frozen=True)
class Path:
    """Where an optimizer went: the start and the point after each step, and the loss at each."""

    label: str
    points: np.ndarray  # (steps + 1, 2)
    losses: np.ndarray  # (steps + 1,)


class Landscape:
    """A loss over two coordinates, compiled for grids and for steps; see the module's docstring.

    ``loss`` takes a list of two Values and returns the loss as one Value,
    computed with Values only (the data as plain numbers); ``names`` label the
    coordinates; ``example`` is a point where the loss is defined, traced once.
    """

    def __init__(self, loss: Loss2D, names: tuple[str, str] = ("x", "y"),
                 example: Sequence[float] = (0.0, 0.0)) -> None:
        self.loss, self.names = loss, (str(names[0]), str(names[1]))
        self.example = _point(example, "example")
        #: The loss at each row's point: what :meth:`surface` replays over a whole grid.
        self.program = autodiff.compile(_only(loss), [self.example])
        self._stepping: Program | None = None  # with the gradient; made by the first step

    def surface(self, xs: Axis | Sequence[float], ys: Axis | Sequence[float]) -> Surface:
        """The loss on the grid ``xs`` by ``ys``, in one replay.

        Each axis is a tuple ``(first, last, count)`` (evenly spaced) or a
        list or array of increasing coordinates.
        """
        xs, ys = _axis(xs, self.names[0]), _axis(ys, self.names[1])
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        losses = self.program.forward(grid)
        return Surface(self.names, xs, ys, losses.reshape(len(ys), len(xs)))

    def value_and_grad(self, point: Sequence[float]) -> tuple[float, np.ndarray]:
        """The loss and its two partial derivatives at ``point``."""
        if self._stepping is None:
            self._stepping = autodiff.compile(_with_gradient(self.loss), [self.example])
        (row,) = self._stepping.forward(np.array([_point(point, "point")]))
        return float(row[0]), row[1:].copy()

    def descend(self, optimizer: Callable[[list[Value]], Optimizer], start: Sequence[float], steps: int,
                label: str | None = None) -> Path:
        """The path of ``optimizer(coordinates)`` (e.g. ``lambda p: nn.Adam(p, lr=0.1)``) from ``start``.

        The optimizer is made on two Values labelled with the coordinates'
        names; each step takes the gradient at the current point and applies
        the optimizer's rule (:meth:`nn.Optimizer.update`).
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"descend: steps must be a whole number >= 0, got {steps!r}")
        theta = np.array(_point(start, "start"))
        chosen = optimizer([Value(float(v), label=name) for v, name in zip(theta, self.names)])
        points, losses = [theta], []
        for _ in range(steps):
            loss, grad = self.value_and_grad(theta)
            losses.append(loss)
            theta = chosen.update(theta, grad)
            points.append(theta)
        losses.append(self.value_and_grad(theta)[0])
        return Path(label or describe(chosen), np.array(points), np.array(losses))

    def hessian(self, point: Sequence[float]) -> np.ndarray:
        """The 2 x 2 matrix of second derivatives at ``point``: the reverse sweep run twice, on Values."""
        coordinates = [Value(v) for v in _point(point, "point")]
        first = gradients(self.loss(coordinates), coordinates)
        rows = [[_number(d) for d in gradients(g, coordinates)] if isinstance(g, Value) else [0.0, 0.0]
                for g in first]
        return np.array(rows)

    def condition(self, point: Sequence[float]) -> float:
        """The Hessian's condition number at ``point``: its largest eigenvalue over its smallest.

        Gradient descent with the largest stable learning rate (2 / largest)
        still needs about this many steps to cross the valley along its floor.
        Infinite when the Hessian is not positive definite (not a minimum's bowl).
        """
        eigenvalues = np.linalg.eigvalsh(self.hessian(point))
        return float(eigenvalues[-1] / eigenvalues[0]) if eigenvalues[0] > 0 else math.inf


def from_model(model: Module, inputs: Any, targets: Any, loss: Callable[[Any, Any], Value],
               axes: tuple[Any, Any] | None = None, seed: int = 0, reduction: str = "mean",
               names: tuple[str, str] | None = None) -> Landscape:
    """The landscape of ``model``'s loss on a data set, over two axes through its parameters.

    ``axes`` are two of the model's parameter Values (the loss over those
    two, every other parameter as it is now; the coordinates are the
    parameters' values) or two direction vectors, one number per parameter
    (the coordinates (s, t) stand for theta + s d1 + t d2, theta the
    parameters now, so (0, 0) is the model as it is).  None: two random
    directions from ``seed`` (see :func:`random_directions`).  The loss is
    the ``reduction`` of ``loss(model(x), target)`` over all the samples.
    ``names`` label the coordinates (default: the parameters' labels, or
    "direction 1" and "direction 2").
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"from_model: reduction must be 'mean' or 'sum', got {reduction!r}")
    params = model.parameters()
    theta = np.array([p.data for p in params])
    rows = np.asarray(inputs, dtype=float).tolist()
    wanted = [_target(t) for t in np.asarray(targets).tolist()]
    if len(rows) != len(wanted):
        raise ValueError(f"from_model: {len(rows)} inputs but {len(wanted)} targets")
    axes = random_directions(model, seed) if axes is None else axes
    origin, first, second, default_names, example = _axes(params, theta, axes)

    def loss_at(coordinates: list[Value]) -> Value:
        s, t = coordinates
        moved = [_moved(o, a, b, s, t) for o, a, b in zip(origin, first, second)]
        with _parameters_replaced(model, moved):
            total = autodiff.sum([loss(model(x), y) for x, y in zip(rows, wanted)])
        return total / len(rows) if reduction == "mean" else total

    return Landscape(loss_at, names or default_names, example)


def random_directions(model: Module, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two orthogonal random directions through ``model``'s parameters, each as long as the parameters.

    Scaled so that a step of 1 along either is as large as the parameter
    vector itself, which makes plots of different models comparable.
    """
    theta = np.array([p.data for p in model.parameters()])
    size = np.linalg.norm(theta) or 1.0
    generator = np.random.default_rng(seed)
    first = generator.standard_normal(len(theta))
    second = generator.standard_normal(len(theta))
    second -= first * (second @ first) / (first @ first)  # Gram-Schmidt: the axes are orthogonal
    return first * size / np.linalg.norm(first), second * size / np.linalg.norm(second)


def towards(model: Module, point: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two directions spanning the plane through ``model``'s parameters and ``point``.

    The first goes from the parameters to ``point`` (another parameter vector,
    say where training started), so the coordinates (1, 0) are ``point``; the
    second is random, orthogonal to it and as long.
    """
    theta = np.array([p.data for p in model.parameters()])
    point = np.asarray(point, dtype=float).reshape(-1)
    if point.shape != theta.shape or not np.all(np.isfinite(point)) or np.array_equal(point, theta):
        raise ValueError(f"towards: point must be another vector of the model's {len(theta)} parameters, "
                         f"finite and not the parameters themselves; got {len(point)} numbers")
    first = point - theta
    second = np.random.default_rng(seed).standard_normal(len(theta))
    second -= first * (second @ first) / (first @ first)
    return first, second * np.linalg.norm(first) / np.linalg.norm(second)


def plot(surface: Surface, paths: Sequence[Path], path: str, title: str = "",
         marks: Sequence[tuple[str, Sequence[float]]] = (), least: float | None = None) -> str:
    """Contours of ``surface`` with each optimizer's path and named ``marks``, and the loss per step.

    Both panels show the loss above ``least`` (the least loss, when known;
    else the least value on the grid or the paths), on a log scale, so that a
    valley's nearly flat floor still shows its slope and the paths' last
    steps their distance from the bottom.  Written to ``path`` (PNG or SVG by
    its suffix); returns ``path``.
    """
    from ..plotting import pyplot, save  # noqa: PLC0415 - matplotlib only for a picture

    plt = pyplot("nn.landscape.plot")
    from matplotlib.colors import LogNorm  # noqa: PLC0415

    seen = min([float(surface.losses.min()), *(float(line.losses.min()) for line in paths)])
    offset = seen if least is None else min(float(least), seen)
    excess = surface.losses - offset
    top = float(excess.max())
    floor = max(float(excess[excess > 0].min(initial=top)), top * 1e-7) if top > 0 else 1.0
    levels = np.geomspace(floor, max(top, floor * 10), 30)
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [3, 2]})
    shade = left.contourf(surface.xs, surface.ys, np.maximum(excess, floor), levels=levels, cmap="viridis",
                          norm=LogNorm(vmin=levels[0], vmax=levels[-1]), extend="both")
    left.contour(surface.xs, surface.ys, excess, levels=levels, colors="white", linewidths=0.3, alpha=0.5)
    above = f"loss - {offset:.6g}" + (" (the least loss)" if least is not None else "")
    figure.colorbar(shade, ax=left, format="%.3g", label=above)
    for number, line in enumerate(paths):  # earlier paths wider, so that one running over another shows
        width = 1.5 + 2.5 * (len(paths) - 1 - number)
        left.plot(line.points[:, 0], line.points[:, 1], linewidth=width, color=f"C{number}")
        right.plot(np.arange(len(line.losses)), np.maximum(line.losses - offset, floor), color=f"C{number}",
                   label=f"{line.label}: {line.losses[-1]:.6g}")
    if paths:
        left.plot(*paths[0].points[0], "o", color="white", markeredgecolor="black", label="start")
    for name, point in marks:
        left.plot(*point, "*", markersize=15, color="red", markeredgecolor="black", label=name)
    left.set(xlabel=surface.names[0], ylabel=surface.names[1], title=title or "the loss landscape",
             xlim=(surface.xs[0], surface.xs[-1]), ylim=(surface.ys[0], surface.ys[-1]))
    left.legend(fontsize="small", loc="best")  # the paths are named on the right
    right.set(xscale="symlog", yscale="log", xlabel="step (log scale after 1)", ylabel=f"{above} (log scale)",
              title="loss per step, and after the last",
              xlim=(0, max((len(line.losses) - 1 for line in paths), default=1)))
    right.legend(fontsize="small")
    figure.tight_layout()
    return save(figure, path)


def bounds(*points: Any, margin: float = 0.1) -> tuple[tuple[float, float], tuple[float, float]]:
    """The ranges of x and y around all ``points`` (arrays of (x, y) rows), widened by ``margin`` each way."""
    array = np.vstack([np.asarray(p, dtype=float).reshape(-1, 2) for p in points])
    low, high = array.min(axis=0), array.max(axis=0)
    pad = np.maximum((high - low) * margin, 1e-3 * np.maximum(np.abs(high), 1.0))
    (x0, y0), (x1, y1) = (low - pad).tolist(), (high + pad).tolist()
    return (x0, x1), (y0, y1)


def describe(optimizer: Optimizer) -> str:
    """An optimizer and its settings in a few words, for a legend: ``SGD (lr=0.0001, momentum=0.9)``."""
    settings = [f"lr={optimizer.lr:g}"]
    if getattr(optimizer, "momentum", 0.0):
        settings.append(f"momentum={optimizer.momentum:g}")
    return f"{type(optimizer).__name__} ({', '.join(settings)})"


# -- helpers ----------------------------------------------------------------------


def _only(loss: Loss2D) -> Loss2D:
    """The loss, checked to return one Value (a plain number would be a flat landscape, a mistake)."""

    def checked(coordinates: list[Value]) -> Value:
        value = loss(list(coordinates))
        if not isinstance(value, Value):
            raise TypeError(f"a landscape's loss must return one Value computed from the coordinates, "
                            f"got {type(value).__name__}")
        return value

    checked.__name__ = getattr(loss, "__name__", "loss")
    return checked


def _with_gradient(loss: Loss2D) -> Callable[[list[Value]], list[Value]]:
    """The loss and its two partial derivatives, as three outputs."""
    checked = _only(loss)

    def loss_and_gradient(coordinates: list[Value]) -> list[Value]:
        value = checked(coordinates)
        return [value, *(g if isinstance(g, Value) else Value(g) for g in gradients(value, coordinates))]

    loss_and_gradient.__name__ = getattr(loss, "__name__", "loss")
    return loss_and_gradient


def _point(point: Sequence[float], what: str) -> list[float]:
    numbers = [float(v) for v in point]
    if len(numbers) != 2 or not all(math.isfinite(v) for v in numbers):
        raise ValueError(f"{what} must be two finite numbers (the two coordinates), got {point!r}")
    return numbers


def _axis(axis: Axis | Sequence[float], name: str) -> np.ndarray:
    """An axis given as a tuple (first, last, count) or as a list or array of its coordinates, checked."""
    if isinstance(axis, tuple):
        if len(axis) != 3 or not float(axis[2]).is_integer():
            raise ValueError(f"the {name} axis as a tuple is (first, last, count), got {axis!r}; give the "
                             "coordinates themselves as a list or an array")
        first, last, count = axis
        values = np.linspace(float(first), float(last), int(count))
    else:
        values = np.asarray(axis, dtype=float)
    if values.ndim != 1 or len(values) < 2 or not np.all(np.isfinite(values)) or np.any(np.diff(values) <= 0):
        raise ValueError(f"the {name} axis must be (first, last, count) or at least two increasing finite "
                         f"numbers, got {axis!r:.80}")
    return values


def _number(x: Any) -> float:
    return float(x.data) if isinstance(x, Value) else float(x)


def _target(target: Any) -> Any:
    """A target as losses take it: a row as a list of floats, a class index as an int."""
    if isinstance(target, list):
        return [float(v) for v in target]
    return target if isinstance(target, int) else float(target)


def _axes(params: list[Value], theta: np.ndarray,
          axes: tuple[Any, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, str], list[float]]:
    """Origin, the two direction vectors, the coordinates' names and the point the model is at now."""
    if len(axes) != 2:
        raise ValueError(f"from_model: axes must be two parameters or two directions, got {len(axes)}")
    if all(isinstance(a, Value) for a in axes):
        where = {id(p): i for i, p in enumerate(params)}
        missing = [a for a in axes if id(a) not in where]
        if missing or axes[0] is axes[1]:
            raise ValueError("from_model: the two axes must be two different parameters of the model "
                             f"(model.parameters()), got {axes[0]!r} and {axes[1]!r}")
        i, j = where[id(axes[0])], where[id(axes[1])]
        first, second = np.zeros(len(theta)), np.zeros(len(theta))
        first[i] = second[j] = 1.0
        origin = theta.copy()
        origin[[i, j]] = 0.0
        names = (axes[0].label or f"parameter {i}", axes[1].label or f"parameter {j}")
        return origin, first, second, names, [theta[i], theta[j]]
    first, second = (np.asarray(a, dtype=float) for a in axes)
    if first.shape != theta.shape or second.shape != theta.shape:
        raise ValueError(f"from_model: a direction needs one number per parameter ({len(theta)}), got shapes "
                         f"{first.shape} and {second.shape}")
    return theta, first, second, ("direction 1", "direction 2"), [0.0, 0.0]


def _moved(origin: float, a: float, b: float, s: Value, t: Value) -> Value:
    """origin + a s + b t as a Value, with no node for a zero term (a parameter axis is s itself)."""
    parts = [Value(origin)] if origin != 0.0 else []
    for step, coordinate in ((a, s), (b, t)):
        if step != 0.0:
            parts.append(coordinate if step == 1.0 else coordinate * step)
    if not parts:
        return Value(0.0)
    return parts[0] if len(parts) == 1 else autodiff.sum(parts)


@contextmanager
def _parameters_replaced(model: Module, values: list[Value]) -> Iterator[None]:
    """Inside, the model computes with ``values`` in place of its parameters (in ``parameters()`` order)."""
    slots = [_slot(model, name) for name, _ in model.named_parameters()]
    old = [_get(holder, key) for holder, key in slots]
    try:
        for (holder, key), value in zip(slots, values):
            _set(holder, key, value)
        yield
    finally:
        for (holder, key), value in zip(slots, old):
            _set(holder, key, value)


def _slot(model: Module, name: str) -> tuple[Any, str]:
    """The object holding the parameter called ``name`` (``layers.0.neurons.3.w.17``) and its key there."""
    *path, key = name.split(".")
    holder: Any = model
    for part in path:
        holder = holder[int(part)] if part.isdigit() else getattr(holder, part)
    return holder, key


def _get(holder: Any, key: str) -> Any:
    return holder[int(key)] if key.isdigit() else getattr(holder, key)


def _set(holder: Any, key: str, value: Any) -> None:
    if key.isdigit():
        holder[int(key)] = value
    else:
        setattr(holder, key, value)
