"""Pictures with matplotlib (the ``plot`` extra), imported only when a picture is asked for.

Every picture ``nn`` draws goes through these two functions: matplotlib is
loaded with a file-only backend, or the caller learns which extra to install;
files are written atomically and carry no timestamp, so the same numbers give
the same bytes.
"""

from __future__ import annotations

import os
from typing import Any

from autodiff.files import replaced_atomically

INSTALL = "pip install 'scalar-autodiff[plot]' (or pip install -e '.[plot]' in the repository)"


def pyplot(what: str) -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend; ``what`` names the picture in the error."""
    try:
        import matplotlib  # noqa: PLC0415 - optional, and slow to import
    except ImportError:
        raise ModuleNotFoundError(f"{what} needs matplotlib, which is not installed: {INSTALL}") from None
    matplotlib.use("Agg")  # draw to files only: no display needed
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def save(figure: Any, path: str | os.PathLike[str]) -> str:
    """Write ``figure`` to ``path`` (PNG, SVG or PDF by its suffix, PNG without one), then close it."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower().lstrip(".") or "png"
    metadata = {"Software": None} if suffix == "png" else {"Date": None} if suffix in ("svg", "pdf") else {}
    import matplotlib.pyplot as plt  # noqa: PLC0415 - loaded by pyplot() already

    try:
        # A fixed salt makes the SVG's element ids the same from run to run (they are random otherwise).
        with plt.rc_context({"svg.hashsalt": "scalar-autodiff"}), replaced_atomically(path) as file:
            figure.savefig(file, format=suffix, dpi=100, metadata=metadata)
    finally:
        plt.close(figure)
    return path
