"""Pictures for the examples: matplotlib imported only when a picture is asked for."""

from __future__ import annotations

import argparse
import os
from typing import Any

from autodiff.files import replaced_atomically


def add_arguments(parser: argparse.ArgumentParser, picture: str, progress: bool = True) -> None:
    """The options every example shares: ``--plot PATH`` (what ``picture`` says) and ``--progress``."""
    parser.add_argument("--plot", metavar="PATH", help=f"draw {picture} to PATH (.png/.svg, with matplotlib)")
    if progress:
        parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                            help="show a progress bar (default: only on a terminal)")


def pyplot() -> Any:
    """matplotlib.pyplot with a file-only backend, or a clear exit if matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit(
            "--plot needs matplotlib, which is not installed: pip install matplotlib "
            "(or pip install -e '.[plot]' in this repository)"
        ) from None
    matplotlib.use("Agg")  # draw to files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def save(figure: Any, path: str) -> str:
    """Write ``figure`` to ``path`` (format from the suffix) atomically; return the path."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SystemExit(f"--plot {path}: the folder {folder} does not exist")
    suffix = os.path.splitext(path)[1]
    # No timestamps or software names in the file: the same run gives the same bytes.
    metadata = {"Software": None} if suffix.lower() == ".png" else {"Date": None}
    with replaced_atomically(path) as file:
        figure.savefig(file, format=suffix[1:] or "png", dpi=100, metadata=metadata)
    pyplot().close(figure)
    return path
