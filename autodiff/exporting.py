"""A backward pass as slides: one PNG per step at 1280x720 through Graphviz, and a PDF handout.

Each slide is the page's picture (:mod:`autodiff.picture`: the same boxes, the
same layout wrapped into rows, the same roles, edge numbers that are local
partials) at one step of the pass: the current node in a thick black frame,
the gradients so far, what flowed along the current step's edges, and the
step's chain-rule lines under the graph.  Graphviz draws it with the
positions the layout chose (``neato -n2``), so a slide needs no browser.
:func:`handout` puts the slides into one PDF, a page per step with the full
record under the picture, through matplotlib's ``PdfPages`` (the ``plot``
extra: ``pip install "scalar-autodiff[plot]"``).

>>> from autodiff import Value
>>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
>>> y = x * w; y.label = "y"
>>> print(slide_source(y, 1).splitlines()[0])
digraph "step 1 of 3" {
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from . import picture
from .drawing import COLOURS
from .files import replaced_atomically
from .node import Node
from .playing import START, Walkthrough, walkthrough

#: A slide's size: a projector's 1280x720 pixels, at Graphviz's 96 dots per inch.
WIDTH, HEIGHT, DPI = 1280, 720, 96
#: Points per picture unit (a CSS pixel is 3/4 of a point).
POINT = 0.75
#: An arrowhead's length, in picture units: an edge's spline ends that far before its target.
ARROW = 9.0


def slides(root: Node, folder: str | os.PathLike[str], **options: Any) -> list[Path]:
    """Write ``step_00.png`` (the start) to ``step_NN.png`` (the end) into ``folder``; return the paths.

    ``options`` are :func:`autodiff.play`'s drawing options (``params``,
    ``collapse``, ``between``...).  Every ``.grad`` is left as it was.
    """
    walk = walkthrough(root, **options)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    digits = max(2, len(str(len(walk.frames))))
    paths = []
    for step in range(len(walk.frames) + 1):
        path = folder / f"step_{step:0{digits}d}.png"
        with replaced_atomically(path) as file:
            file.write(_png(walk, step))
        paths.append(path)
    return paths


def handout(root: Node, path: str | os.PathLike[str], **options: Any) -> Path:
    """One PDF: a page per step (the slide, then the step's full record); options as for :func:`slides`."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.image
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_pdf import PdfPages
    except ImportError:
        raise ImportError('a handout needs matplotlib: pip install "scalar-autodiff[plot]" '
                          "(or pip install matplotlib); slides() writes the PNGs without it") from None
    walk = walkthrough(root, **options)
    path = Path(path)
    with replaced_atomically(path) as file, PdfPages(file) as pdf:
        for step in range(len(walk.frames) + 1):
            figure = plt.figure(figsize=(11.69, 8.27))  # A4, landscape
            image = figure.add_axes((0.03, 0.3, 0.94, 0.67))
            image.imshow(matplotlib.image.imread(io.BytesIO(_png(walk, step)), format="png"))
            image.axis("off")
            figure.text(0.04, 0.27, _record(walk, step), family="monospace", fontsize=9, va="top", wrap=True)
            pdf.savefig(figure)
            plt.close(figure)
    return path


def slide_source(root: Node, step: int, **options: Any) -> str:
    """The Graphviz source of the slide after ``step`` steps (0: the start)."""
    return _dot(walkthrough(root, **options), step)


def _png(walk: Walkthrough, step: int) -> bytes:
    import graphviz

    # Module frames contain boxes, so neato warns that it draws straight edges, not splines: expected.
    quiet = bool(walk.arranged.laid.frames)
    return graphviz.Source(_dot(walk, step), engine="neato").pipe(format="png", neato_no_op=2, quiet=quiet)


def _record(walk: Walkthrough, step: int) -> str:
    return START.format(root=walk.name) if step == 0 else walk.frames[step - 1]["record"]


def _state(walk: Walkthrough, step: int) -> tuple[dict[str, str], set[str]]:
    """Every drawn value's gradient so far after ``step`` steps, and the values whose gradient is complete."""
    grads, complete = dict(walk.first), set()
    for frame in walk.frames[:step]:
        grads.update({node_id: after for node_id, _, after in frame["grads"]})
        complete.add(frame["complete"])
    return grads, complete


def _dot(walk: Walkthrough, step: int) -> str:
    shape = walk.arranged
    laid, frame = shape.laid, walk.frames[step - 1] if step else None
    grads, complete = _state(walk, step)
    flows = dict(frame["edges"]) if frame else {}
    caption = "\n".join(frame["chain"]) if frame else START.format(root=walk.name)
    status = f"step {step} of {len(walk.frames)}"
    top = laid.height + 2 * picture.MARGIN  # Graphviz's y grows upwards: flip
    heading = f"The backward pass of {walk.heading}: {status}"
    # The slide is exactly 1280x720: a viewport of that size, zoomed so the picture and its caption fit.
    width = (laid.width + 2 * picture.MARGIN) * POINT
    height = top * POINT + 16 * 1.25 * (caption.count("\n") + 2) + 10
    zoom = min(WIDTH * 72 / DPI / width, HEIGHT * 72 / DPI / height)
    # Graphviz moves the drawing so that its lower left corner is (0, 0); two invisible points at the
    # picture's corners make that corner the picture's own, so the centre is known before Graphviz runs.
    centre = f"{width / 2:.1f},{top * POINT - height / 2:.1f}"
    viewport = f"{WIDTH * 72 / DPI:.0f},{HEIGHT * 72 / DPI:.0f},{zoom:.4f},{centre}"
    lines = [f'digraph "{status}" {{',
             f'graph [dpi={DPI} viewport="{viewport}" '
             f'splines=true outputorder=edgesfirst fontname="Helvetica" fontsize=16 labelloc=b labeljust=l '
             f'label="{_quote(heading)}\\l{_quote(caption, newline=chr(92) + "l")}\\l"]',
             'node [fontname="Helvetica" fontsize=12 style="filled" penwidth=1.2 color="#333333" '
             'margin="0.05,0.03"]',
             'edge [fontname="Helvetica" fontsize=12 color="#666666" arrowsize=0.8]']
    for k, corner in enumerate([(-picture.MARGIN, -picture.MARGIN),
                                (laid.width + picture.MARGIN, laid.height + picture.MARGIN)]):
        lines.append(f'"corner{k}" [pos="{_point(corner, top)}!" shape=point style=invis width=0 height=0]')
    for k, (levels, (x, y, w, h)) in enumerate(sorted(laid.frames.items(), key=lambda item: len(item[0]))):
        # A module's frame (with cluster=True): an unfilled node behind the boxes, drawn first.
        attrs = {"pos": f"{(x + w / 2) * POINT:.1f},{(top - y - h / 2) * POINT:.1f}!", "shape": "box",
                 "width": f"{w / 96:.3f}", "height": f"{h / 96:.3f}", "fixedsize": "true", "labelloc": "t",
                 "labeljust": "r",
                 "style": "dashed,rounded", "color": "#777777", "fontname": "Helvetica-Oblique",
                 "label": picture.frame_title(levels)}
        lines.append(f'"frame{k}" [{_attrs(attrs)}]')
    for box in shape.boxes:
        (x, y), (w, h) = laid.corners[box.id], laid.sizes[box.id]
        attrs = {"pos": f"{(x + w / 2) * POINT:.1f},{(top - y - h / 2) * POINT:.1f}!",
                 "width": f"{w / 96:.3f}", "height": f"{h / 96:.3f}", "fillcolor": COLOURS[box.role],
                 "label": _label(box, grads, box.id in complete)}
        attrs.update(_role_shape(box.role))
        current = frame is not None and box.id == frame["node"]
        if current:
            attrs.update(penwidth="5", color="#000000")
        lines.append(f'"{box.id}" [{_attrs(attrs)}]')
        if box.badge:  # the op, in a circle on the side the inputs come in, as on the page
            spot = (x, y + h / 2) if shape.along else (x + w / 2, y)
            lines.append(f'"{box.id}_op" [{_attrs(_badge(box.badge, current, _point(spot, top)))}]')
    for edge, (way, middle) in zip(shape.edges, picture.routes(shape.edges, laid, shape.along)):
        attrs = {"label": edge.label} if edge.label else {}
        if edge.id in flows:
            attrs = {"label": f"{edge.label}\n{flows[edge.id]}", "penwidth": "3", "color": "#000000",
                     "fontname": "Helvetica-Bold"}
        # The page's own way for the edge and place for its numbers, so that a slide looks like the page.
        shift = 8 if edge.id in flows else 0  # two lines: the partial above the edge, what flowed under it
        attrs.update(pos=_spline(way, top), lp=_point((middle[0], middle[1] + shift), top))
        lines.append(f'"{edge.source}" -> "{edge.target}" [{_attrs(attrs)}]')
    lines.append("}")
    return "\n".join(lines)


def _point(point: picture.Point, top: float) -> str:
    """A picture's point as Graphviz's, in points with y growing upwards."""
    return f"{point[0] * POINT:.1f},{(top - point[1]) * POINT:.1f}"


def _spline(way: list[picture.Point], top: float) -> str:
    """An edge's way as a Graphviz spline: its end moved back by the arrowhead, which Graphviz draws to it."""
    *rest, (xe, ye) = way
    (xc, yc) = rest[-1]
    length = max(1e-9, ((xe - xc) ** 2 + (ye - yc) ** 2) ** 0.5)
    back = min(ARROW, length / 2)
    end = (xe - (xe - xc) * back / length, ye - (ye - yc) * back / length)
    return f"e,{_point((xe, ye), top)} " + " ".join(_point(p, top) for p in [*rest, end])


def _label(box: picture.Box, grads: dict[str, str], complete: bool) -> str:
    """The box's lines as an HTML-like label: name (and op) in bold, data, grad (bold once complete)."""
    name = _html(box.lines[0])
    rows = [f"<B>{name}</B>"] + [_html(line) for line in box.lines[1:]]
    if box.id in grads:
        grad = _html(f"grad {grads[box.id]}")
        rows[2] = f"<B>{grad}</B>" if complete else f"<I>{grad}</I>"
    return "<" + "<BR/>".join(rows) + ">"


def _badge(symbol: str, current: bool, spot: str) -> dict[str, str]:
    """A box's op badge: a small circle (black, white text, on the current step's box)."""
    return {"pos": f"{spot}!", "shape": "circle", "width": "0.23", "fixedsize": "true", "penwidth": "1.2",
            "fontname": "Helvetica-Bold", "fillcolor": "#000000" if current else "#ffffff",
            "fontcolor": "#ffffff" if current else "#000000", "label": symbol}


def _role_shape(role: str) -> dict[str, str]:
    """Roles by shape as on the page: square leaves, double-bordered parameters, a thick loss, a folder."""
    if role == "module":
        return {"shape": "folder"}
    if role == "parameter":
        return {"shape": "box", "peripheries": "2"}
    if role == "input":
        return {"shape": "box"}
    return {"shape": "box", "style": "rounded,filled", **({"penwidth": "3"} if role == "output" else {})}


def _attrs(attrs: dict[str, str]) -> str:
    return " ".join(f"{key}={value}" if key == "label" and value.startswith("<")  # an HTML-like label
                    else f'{key}="{_quote(value)}"' for key, value in attrs.items())


def _quote(text: str, newline: str = "\\n") -> str:
    """Text inside a DOT string; line breaks centred (\\n) or, for the caption, left-aligned (\\l)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", newline)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

