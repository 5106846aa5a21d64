"""``python -m nn.landscape line-fit|xor [-o PICTURE] [--steps N] [--grid N]``: a landscape, its numbers."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import numpy as np

from . import bounds, from_model, plot, towards


def line_fit(args: argparse.Namespace) -> None:
    """The line fit's valley: why 1000 steps end at b = 0.09 when the best line has b = 7.99."""
    from ..classics import Unavailable, line_fit  # noqa: PLC0415 - the gallery fetches the data

    try:
        data = line_fit.points()
    except Unavailable as error:
        raise SystemExit(f"python -m nn.landscape line-fit: {error}") from None
    valley = line_fit.valley(data)
    best = line_fit.least_squares(data)
    small, large = np.linalg.eigvalsh(valley.hessian(best))
    rate = line_fit.LEARNING_RATE
    print(f"the line fit's error E(m, b) over its {len(data)} points")
    least = valley.value_and_grad(best)[0]
    print(f"least squares: m = {best[0]!r}, b = {best[1]!r}, error = {least!r}")
    print(f"Hessian of E: eigenvalues {small:.6g} and {large:.6g}, condition number {large / small:.6g}")
    print(f"  steps are stable below lr = 2/{large:.6g} = {2 / large:.3g}; at lr = {rate:g} each step "
          f"shrinks the distance along the valley's floor by a factor 1 - {rate * small:.3g}: "
          f"{1 / -math.log1p(-rate * small):,.0f} steps per factor e")
    paths = [valley.descend(make, (0.0, 0.0), args.steps, label=name)
             for name, make in line_fit.OPTIMIZERS.items()]
    for path in paths:
        (m, b), error = path.points[-1].tolist(), float(path.losses[-1])
        print(f"{path.label}: after {args.steps} steps m = {m!r}, b = {b!r}, error = {error!r}")
    if args.output:
        (x0, x1), (y0, y1) = bounds(*(path.points for path in paths), best)
        surface = valley.surface((x0, x1, args.grid), (y0, y1, args.grid))
        title = f"the line fit's error: a valley with condition number {large / small:,.0f}"
        _draw(surface, paths, args.output, title, [("least squares", best)], least)


def xor(args: argparse.Namespace) -> None:
    """Alex Punnen's XOR network: the plane through its starting weights and the weights it learns."""
    import nn  # noqa: PLC0415
    from nn import datasets  # noqa: PLC0415

    inputs, targets = datasets.xor()
    model = nn.MLP(3, [4, 1], activation="sigmoid", bias=False)
    legacy = np.random.RandomState(1)  # the chapter's np.random.seed(1), then random((3, 4)), random((4, 1))
    model.set_weights([legacy.random((3, 4)), legacy.random((4, 1))])
    start = [p.data for p in model.parameters()]
    history = nn.fit(model, inputs, targets, nn.quadratic, nn.SGD(model, lr=1.0), epochs=args.steps,
                     reduction="sum", progress=False, mode="compiled")
    print(f"the chapter's run: {args.steps} steps of SGD (lr 1) on all 16 weights, cost "
          f"{history.losses[0]!r} -> {history.losses[-1]!r}")
    view = from_model(model, inputs, targets, nn.quadratic, axes=towards(model, start), reduction="sum",
                      names=("to the starting weights", "random, orthogonal"))
    print("the plane through the learned weights (0, 0) and the starting ones (1, 0); from (1, 0) in it:")
    # A step of 1 in the plane moves every weight by the whole way from start to end (|d|^2 = 264 here),
    # so the chapter's lr 1 would jump off the page: the learning rates are the plane's.
    optimizers = {"SGD, lr 0.03": lambda p: nn.SGD(p, lr=0.03),
                  "momentum 0.9, lr 0.03": lambda p: nn.SGD(p, lr=0.03, momentum=0.9),
                  "Adam, lr 0.05": lambda p: nn.Adam(p, lr=0.05)}
    paths = [view.descend(make, (1.0, 0.0), args.steps, label=name) for name, make in optimizers.items()]
    for path in paths:
        (s, t), cost = path.points[-1].tolist(), float(path.losses[-1])
        print(f"{path.label}: after {args.steps} steps at ({s:.4f}, {t:.4f}), cost {cost!r}")
    if args.output:
        (x0, x1), (y0, y1) = bounds(*(path.points for path in paths), (0.0, 0.0), (-0.5, -0.5), (1.5, 0.5))
        surface = view.surface((x0, x1, args.grid), (y0, y1, args.grid))
        _draw(surface, paths, args.output, "Alex Punnen's XOR network: the plane through its start and end",
              [("learned weights", (0.0, 0.0))], None)


def _draw(surface: Any, paths: list, output: str, title: str, marks: list, least: float | None) -> None:
    """The picture, or a one-line message when matplotlib (the plot extra) is missing."""
    try:
        print(f"picture: {plot(surface, paths, output, title, marks, least)}")
    except ModuleNotFoundError as error:
        raise SystemExit(f"python -m nn.landscape: {error}") from None


SCENES = {"line-fit": line_fit, "xor": xor}


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m nn.landscape",
        description="A loss over two parameters, evaluated on a grid in one compiled replay, with the paths "
                    "of gradient descent, momentum and Adam from the same start.")
    parser.add_argument("scene", choices=list(SCENES), help="which landscape")
    parser.add_argument("-o", "--output", metavar="PICTURE", help="draw it to PICTURE (.png or .svg; needs "
                        "matplotlib, the plot extra)")
    parser.add_argument("--steps", type=int, default=1000, help="steps of each optimizer (default 1000)")
    parser.add_argument("--grid", type=int, default=201, help="grid points along each axis (default 201)")
    args = parser.parse_args(argv)
    if args.steps < 0 or args.grid < 2:
        parser.error("--steps must be >= 0 and --grid >= 2")
    SCENES[args.scene](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
