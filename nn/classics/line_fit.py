"""The gradient-descent line fit (mattnedrich/GradientDescentExample) through the engine.

The example fits y = m x + b to the 100 points of its ``data.csv``: m = b = 0
at the start, the mean squared error (1/N) sum (y - (m x + b))^2, learning
rate 0.0001, 1000 full-batch steps.  Its README shows the output of a run
(Python 2, so 12 significant digits).  Here the line is a one-neuron linear
layer (m its weight, b its bias) trained by ``nn.fit`` on ``nn.mse``.

The data file is not part of this project: it is fetched from its original
repository, pinned by its SHA-256, into the data cache (:mod:`nn.resources`),
or taken from the folder ``$AUTODIFF_DATA_MIRROR`` names.
"""

from __future__ import annotations

import numpy as np

import nn
from nn import datasets

from ..fetching import MIRROR_VARIABLE, FetchError
from ..landscape import Landscape, from_model
from ..resources import RESOURCES, fetch_resource
from ._common import PY2_STR, PY2_WHY
from .gallery import Entry, Figure, Report, Source, Unavailable

RESOURCE = RESOURCES["line-fit"]
SOURCE = Source(
    title="Matt Nedrich, \"Gradient Descent Example for Linear Regression\" (the data of the "
          "gradient-descent line fit)",
    repository="mattnedrich/GradientDescentExample", path="readme.md (output) and data.csv",
    commit="a13134d5ba83bc47d33629315071afc8d32fe072", licence="MIT",
    data=f"data.csv, MIT, fetched on demand (sha256 {RESOURCE.file.digest}); never part of this project")

LEARNING_RATE, STEPS = 0.0001, 1000
#: The README's run: "Starting gradient descent at b = 0, m = 0, error = ..." and "After 1000 iterations ...".
START_ERROR = "5565.10783448"
AFTER = {"b": "0.0889365199374", "m": "1.47774408519", "error": "112.614810116"}


def points() -> np.ndarray:
    """The example's 100 points, from the cache, the mirror folder or the network; Unavailable if none."""
    try:
        path = fetch_resource("line-fit")
    except FetchError as error:
        raise Unavailable(f"the line-fit data could not be had: set {MIRROR_VARIABLE} to a folder holding "
                          f"{RESOURCE.file.mirror_name}, or allow network access.\n{error}") from None
    return datasets.load_csv_points(path)


def error(data: np.ndarray, m: float, b: float) -> float:
    """The example's error of a line: the mean of (y - (m x + b))^2 over the points."""
    return float(np.mean((data[:, 1] - (m * data[:, 0] + b)) ** 2))


def model_at_zero() -> nn.MLP:
    """The line as the entry trains it: a one-neuron linear layer, m its weight and b its bias, both 0."""
    model = nn.MLP(1, [1], activation="linear")
    model.set_weights([np.zeros((1, 1))], [np.zeros(1)])
    return model


def least_squares(data: np.ndarray) -> tuple[float, float]:
    """(m, b) of the line with the least error, in closed form (the bottom of the valley)."""
    design = np.column_stack([data[:, 0], np.ones(len(data))])
    (m, b), *_ = np.linalg.lstsq(design, data[:, 1], rcond=None)
    return float(m), float(b)


def valley(data: np.ndarray) -> Landscape:
    """The example's error over (m, b): the entry's model and loss, with m and b as the two coordinates."""
    model = model_at_zero()
    weight, bias = model.parameters()
    return from_model(model, data[:, :1], data[:, 1:], nn.mse, axes=(weight, bias), names=("m", "b"))


#: The optimizers the landscape compares, from m = b = 0 for the example's 1000 steps: its own
#: gradient descent, the same with momentum, and Adam (whose per-coordinate step ignores the scale).
OPTIMIZERS = {
    "gradient descent (the example)": lambda p: nn.SGD(p, lr=LEARNING_RATE),
    "momentum 0.9": lambda p: nn.SGD(p, lr=LEARNING_RATE, momentum=0.9),
    "Adam, lr 0.1": lambda p: nn.Adam(p, lr=0.1),
}


def run(quick: bool) -> Report:
    """The 1000 steps (quick is the same: they take a fraction of a second in compiled mode)."""
    data = points()
    model = model_at_zero()
    history = nn.fit(model, data[:, :1], data[:, 1:], nn.mse, nn.SGD(model.parameters(), lr=LEARNING_RATE),
                     epochs=STEPS, reduction="mean", progress=False, mode="compiled")
    (weight,), (bias,) = model.get_weights()
    m, b = float(weight[0, 0]), float(bias[0])
    report = Report()
    report.add(Figure("error at b = 0, m = 0 (the first step's loss)", history.losses[0], START_ERROR,
                      printed=PY2_STR, why=PY2_WHY),
               Figure("after 1000 iterations: b", b, AFTER["b"], printed=PY2_STR, why=PY2_WHY),
               Figure("after 1000 iterations: m", m, AFTER["m"], printed=PY2_STR, why=PY2_WHY),
               Figure("after 1000 iterations: error", error(data, m, b), AFTER["error"], printed=PY2_STR,
                      why=PY2_WHY))
    return report


ENTRY = Entry(
    name="line-fit",
    title="the gradient-descent line fit: the error before and b, m and the error after 1000 steps",
    sources=(SOURCE,), run=run, quick_part="all of it (1000 compiled steps take a fraction of a second)")
