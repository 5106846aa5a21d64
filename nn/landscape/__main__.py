"""``python -m nn.landscape line-fit [-o PICTURE] [--steps N] [--grid N]``: a landscape and its numbers."""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from . import bounds, plot


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
        try:
            print(f"picture: {plot(surface, paths, args.output, title, [('least squares', best)], least)}")
        except ModuleNotFoundError as error:  # matplotlib is the plot extra: say so, without a traceback
            raise SystemExit(f"python -m nn.landscape: {error}") from None


SCENES = {"line-fit": line_fit}


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
