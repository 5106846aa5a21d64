"""A straight line y = m x + b fitted by gradient descent through the engine.

The line fit at the end of the tutorial "Back Propagation Calculus in Neural
Network" (the one with the 3Blue1Brown chain): a two-column CSV of points, m = b = 0 at the start, the mean
squared error (1/N) sum (y - (m x + b))**2, learning rate 0.0001 and 1000
full-batch steps.  The tutorial writes the two partial derivatives by hand,

    dE/db = -(2/N) sum (y - (m x + b))      dE/dm = -(2/N) sum x (y - (m x + b))

here the engine finds them: the line is a one-neuron linear layer
(m is its weight, b its bias) and ``nn.fit`` runs the steps.  Beside it the
script prints the least-squares line (closed form), which gradient descent
approaches: with this learning rate the slope settles within a few steps,
the intercept only crawls.

    python examples/linear_regression.py                      # the shipped data/points.csv
    python examples/linear_regression.py --data my.csv --plot line.png
    python examples/linear_regression.py --generate 200 --seed 3
    python examples/linear_regression.py --original           # the line fit's own data.csv, fetched
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import _plot
import numpy as np

import nn
from nn import datasets
from nn.train import History, fit

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "points.csv")


def squared_error(points: np.ndarray, m: float, b: float) -> float:
    """The tutorial's error of a line: the mean of (y - (m x + b))**2 over the points."""
    x, y = points[:, 0], points[:, 1]
    return float(np.mean((y - (m * x + b)) ** 2))


def least_squares(points: np.ndarray) -> tuple[float, float]:
    """(m, b) of the line with the least squared error, in closed form."""
    design = np.column_stack([points[:, 0], np.ones(len(points))])
    (m, b), *_ = np.linalg.lstsq(design, points[:, 1], rcond=None)
    return float(m), float(b)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line's options (``argv`` None: ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description="The gradient-descent line fit of the tutorial \"Back Propagation Calculus in Neural "
        "Network\": fit y = m x + b through the engine (mean squared error, full batch), beside the "
        "closed-form least-squares line.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", metavar="CSV", default=DATA,
                        help="two-column CSV of x,y points (default: examples/data/points.csv, "
                        "made by datasets.linear_points(100, seed=0))")
    source.add_argument("--original", action="store_true",
                        help="the line fit's own data.csv (mattnedrich/GradientDescentExample, MIT), fetched "
                        "into the data cache on first use and checked against its SHA-256, or taken from the "
                        "folder $AUTODIFF_DATA_MIRROR names")
    source.add_argument("--generate", metavar="N", type=int,
                        help="use N points from datasets.linear_points(N, seed=SEED) instead of a CSV")
    parser.add_argument("--seed", type=int, default=0, help="seed for --generate (default 0)")
    parser.add_argument("--lr", type=float, default=1e-4,
                        help="learning rate (default 0.0001, the tutorial's)")
    parser.add_argument("--iterations", type=int, default=1000, help="full-batch steps (default 1000)")
    _plot.add_arguments(parser, "the points, both lines and the error curve")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Fit the line, print the tutorial's report and the least-squares line; return the numbers."""
    args = parse_args(argv)
    if args.original:
        points, source = _original_points(), "the line fit's original data.csv"
    elif args.generate is not None:
        points = datasets.linear_points(args.generate, seed=args.seed)
        source = f"nn.datasets.linear_points({args.generate}, seed={args.seed})"
    else:
        points, source = datasets.load_csv_points(args.data), os.path.relpath(args.data)
    model = nn.MLP(1, [1], activation="linear")
    model.set_weights([np.zeros((1, 1))], [np.zeros(1)])  # m = b = 0, as in the tutorial
    start_error = squared_error(points, 0.0, 0.0)
    print(f"{len(points)} points from {source}")
    print(f"Starting gradient descent at b = 0, m = 0, error = {start_error}")

    optimizer = nn.SGD(model.parameters(), lr=args.lr)
    start = time.perf_counter()
    history = fit(model, points[:, :1], points[:, 1:], nn.mse, optimizer, epochs=args.iterations,
                  reduction="mean", progress=args.progress)
    seconds = time.perf_counter() - start
    (weight,), (bias,) = model.get_weights()
    m, b = float(weight[0, 0]), float(bias[0])
    end_error = squared_error(points, m, b)
    best_m, best_b = least_squares(points)
    best_error = squared_error(points, best_m, best_b)
    print(f"After {len(history)} iterations b = {b}, m = {m}, error = {end_error}")
    print(f"Least squares (closed form):  b = {best_b}, m = {best_m}, error = {best_error}")
    print(f"({seconds:.2f} s through the engine, {history.mode} mode)")
    if args.plot:
        print(f"picture: {plot(points, (m, b), (best_m, best_b), history, args.plot)}")
    return {"m": m, "b": b, "start_error": start_error, "end_error": end_error,
            "least_squares": (best_m, best_b), "least_squares_error": best_error,
            "history": history, "seconds": seconds, "points": points}


def _original_points() -> np.ndarray:
    """The line fit's original 100 points (nn.resources), or exit with the fetcher's explanation."""
    from nn.fetching import FetchError  # noqa: PLC0415 - only --original fetches
    from nn.resources import fetch_resource  # noqa: PLC0415

    try:
        return datasets.load_csv_points(fetch_resource("line-fit"))
    except FetchError as error:
        raise SystemExit(f"linear_regression.py: --original: {error}") from None


def plot(points: np.ndarray, fitted: tuple[float, float], best: tuple[float, float], history: History,
         path: str) -> str:
    """The points with the descended and the least-squares lines, and the error per step."""
    plt = _plot.pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.scatter(points[:, 0], points[:, 1], s=12, alpha=0.6, label="points")
    xs = np.linspace(points[:, 0].min(), points[:, 0].max(), 2)
    for (m, b), style, name in ((fitted, "-", "gradient descent"), (best, "--", "least squares")):
        left.plot(xs, m * xs + b, style, label=f"{name}: y = {m:.3f} x + {b:.3f}")
    left.set(xlabel="x", ylabel="y", title="y = m x + b")
    left.legend(fontsize="small")
    right.plot(range(1, len(history) + 1), history.losses)
    right.set(xlabel="step (log scale)", ylabel="mean squared error", title="error while training")
    right.set_xscale("log")
    right.set_yscale("log")
    figure.tight_layout()
    return _plot.save(figure, path)


if __name__ == "__main__":
    main()
