"""The page's picture: an SVG of the graph made for a projector, laid out by :mod:`autodiff.layout`.

Each value is one box: its name, ``data`` and ``grad`` stacked, with the
operation that made it as a badge on the side its inputs come in (the op node
of a Graphviz drawing, folded into the box), so a chain of twelve operations
needs twelve boxes, not twenty-four.  Constants are not drawn: their numbers
are in the names (``(a3 - 1) ** 2``) and no gradient flows to them.  Roles
have the colours of :data:`autodiff.drawing.COLOURS` (a colour-blind-safe
palette) and a shape each, so they read on a washed-out projector and in grey.
Each edge carries its local partial, as in ``draw(edge_labels=True)``.  What
to draw (collapsed modules, ``between``, roles) comes from the same plan as
:func:`autodiff.draw`, so the options mean the same.  With ``cluster``, each
module is a titled frame laid out as one block (frames nest, never overlap),
and a name inside a frame drops the module's name the frame already shows
(``w.0`` in the frame ``layers.0.neurons.1``; the whole name is its tooltip).

Elements have ids the page's script finds: ``n3`` (the value at topological
position 3), ``g0`` (a collapsed module), ``e3_1`` (the edge from operand 1 of
``n3``); a value's grad is its ``text.grad``, an edge's flow its ``text.flow``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from html import escape

from .drawing import COLOURS, ROLE_NAMES, _op_summary, _Plan
from .layout import Placed, nest, place
from .naming import printed
from .node import Node

#: Text size in the picture's own units; the page never shows it smaller than 14 px (see MIN_SCALE).
FONT = 16
LINE = 20
PAD = 10
#: The op badge's text is a little smaller, but never under 14 px on the page either.
BADGE_FONT = 16
#: The page's script refuses to fit the picture below this scale (text 14 px): it scrolls (pans) instead.
MIN_SCALE = 14 / FONT
#: A screen's shape the layout wraps rows for: the picture's part of a 16:9 page.
ASPECT = 1240 / 470
#: How a table symbol reads in a badge.
BADGES = {"*": "×", "-": "−", "**": "^"}
#: Shapes by role, so that roles read without colour: corners square or round, borders single or double.
SQUARE = {"input", "parameter"}

# Average advance widths of Helvetica/Arial, in ems, for sizing boxes before a browser measures them.
_NARROW = set("ijlft.,:;'|!()[] ")
_WIDE = set("mwMW@%")


@dataclass
class Box:
    """One drawn thing: a value (``node`` set) or a collapsed module; its text lines and size."""

    id: str
    role: str
    lines: list[str]
    badge: str | None = None
    scope: str | None = None
    full: str = ""  # the whole name, when the first line shortens it inside a module's frame

    @property
    def size(self) -> tuple[float, float]:
        widest = max(_width(line, bold=(k == 0)) for k, line in enumerate(self.lines))
        return widest + 2 * PAD + (8 if self.badge else 0), LINE * len(self.lines) + PAD


@dataclass
class Edge:
    id: str | None
    source: str
    target: str
    label: str = ""
    tooltip: str = ""


def text_width(text: str, size: float = FONT, bold: bool = False) -> float:
    """About how wide ``text`` is in Helvetica/Arial at ``size`` (a little generous, never short)."""
    return _width(text, bold) * size / FONT


def _width(text: str, bold: bool = False) -> float:
    ems = sum(0.3 if c in _NARROW else 0.86 if c in _WIDE else 0.68 if c.isupper() else 0.58 for c in text)
    return ems * FONT * (1.08 if bold else 1.0)


@dataclass
class Arranged:
    """A plan laid out: its boxes and edges, where they go, and which box shows each value (by id)."""

    boxes: list[Box]
    edges: list[Edge]
    laid: Placed
    shown: dict[int, str]
    along: bool  # ranks left to right (else top to bottom)


def build(plan: _Plan, grad_text: Callable[[Node], str], partials: dict[str, tuple[str, str]],
          edge_labels: bool, cluster: bool, rankdir: str) -> tuple[str, dict[int, str]]:
    """The SVG of a plan and, for every value of the graph, the id of what shows it (its box or module).

    ``grad_text(node)`` is a value's third line; ``partials`` maps an edge id
    to its local partial and formula.
    """
    arranged = arrange(plan, grad_text, partials, edge_labels, cluster, rankdir)
    return svg(arranged.boxes, arranged.edges, arranged.laid, arranged.along), arranged.shown


def arrange(plan: _Plan, grad_text: Callable[[Node], str], partials: dict[str, tuple[str, str]],
            edge_labels: bool, cluster: bool, rankdir: str) -> Arranged:
    """The boxes and edges of a plan, laid out for a screen (as :func:`build` draws them)."""
    boxes, shown = _boxes(plan, grad_text, cluster)
    edges = _edges(plan, partials if edge_labels else {})
    sizes = {box.id: box.size for box in boxes}
    root_id = shown[id(plan.order[-1])]
    along = rankdir == "LR"
    turned = {k: s if along else s[::-1] for k, s in sizes.items()}
    links = [(e.source, e.target) for e in edges]
    aspect = ASPECT if along else 1 / ASPECT
    if cluster:  # a frame's title goes above what it holds (on the left while turned)
        top = (FRAME_PAD, FRAME_TOP) if along else (FRAME_TOP, FRAME_PAD)
        modules = {box.id: plan.chains.get(box.scope, ()) for box in boxes if box.scope}
        laid = nest(turned, links, root_id, aspect, modules, (*top, FRAME_PAD, FRAME_PAD))
    else:
        laid = place(turned, links, root_id, aspect)
    if not along:
        laid = _transposed(laid, sizes)
    return Arranged(boxes, edges, laid, shown, along)


def _boxes(plan: _Plan, grad_text: Callable[[Node], str], cluster: bool) -> tuple[list[Box], dict[int, str]]:
    boxes: list[Box] = []
    shown: dict[int, str] = {}
    members: dict[str, list[Node]] = {key: [] for key in plan.groups}
    for node in plan.order:
        key = plan.group.get(id(node))
        if key is not None:
            members[key].append(node)
            shown[id(node)] = f"g{plan.groups[key]}"
    for key, index in plan.groups.items():
        role = "input" if key == "inputs" else "module"
        chain = plan.chains.get(key, ())
        scope = chain[-2] if len(chain) > 1 else None
        name = _within(key, scope) if cluster else key
        boxes.append(Box(f"g{index}", role, [name, f"{len(members[key])} nodes",
                                              _op_summary(members[key], plan.roles)], scope=scope, full=key))
    for node in plan.kept:
        if node.is_constant:
            continue
        box_id = f"n{plan.position[id(node)]}"
        shown[id(node)] = box_id
        symbol = node.primitive.symbol if node.parents else None
        name, scope = plan.names[id(node)], plan.scopes[id(node)]
        lines = [_within(name, scope) if cluster else name, f"data {printed(node.data)}", grad_text(node)]
        boxes.append(Box(box_id, plan.roles[id(node)], lines, BADGES.get(symbol, symbol), scope, name))
    # Boxes in topological order (the layout ranks along it): a module where its first member was.
    first = {}
    for k, node in enumerate(plan.order):
        first.setdefault(shown.get(id(node)), k)
    boxes.sort(key=lambda box: first[box.id])
    return boxes, shown


def _within(name: str, scope: str | None) -> str:
    """A name as it reads inside the frame of ``scope``: without the module's name the frame shows."""
    prefix = f"{scope}."
    return name[len(prefix):] if scope and name.startswith(prefix) and len(name) > len(prefix) else name


def _edges(plan: _Plan, partials: dict[str, tuple[str, str]]) -> list[Edge]:
    """Operand to result for values drawn; edges from or into modules merged, with counts."""
    drawn = {id(node) for node in plan.kept if not node.is_constant}
    edges, merged = [], Counter()

    def source_of(parent: Node) -> str | None:
        if id(parent) in drawn:
            return f"n{plan.position[id(parent)]}"
        key = plan.group.get(id(parent))
        return None if key is None else f"g{plan.groups[key]}"

    for node in plan.order:
        if not node.parents:
            continue
        key = plan.group.get(id(node))
        target = f"g{plan.groups[key]}" if key is not None else f"n{plan.position[id(node)]}"
        if key is None and id(node) not in drawn:
            continue
        for index, parent in enumerate(node.parents):
            source = source_of(parent)
            if source is None or source == target:
                continue
            if source.startswith("g") or target.startswith("g"):
                merged[(source, target)] += 1
                continue
            edge_id = f"e{plan.position[id(node)]}_{index}"
            label, tooltip = partials.get(edge_id, ("", ""))
            edges.append(Edge(edge_id, source, target, label, tooltip))
    edges += [Edge(None, s, t, f"×{count}" if count > 1 else "") for (s, t), count in merged.items()]
    return edges


def _transposed(laid: Placed, sizes: dict[Hashable, tuple[float, float]]) -> Placed:
    """A layout made with rows and columns swapped, turned back: ranks run top to bottom."""
    corners = {k: (y, x) for k, (x, y) in laid.corners.items()}
    frames = {k: (y, x, h, w) for k, (x, y, w, h) in laid.frames.items()}
    return Placed(corners, sizes, laid.height, laid.width, laid.rows, laid.row_of, laid.row_tops, frames)


# -- SVG ----------------------------------------------------------------------------------

MARGIN = 26
#: Room between a module's frame and what it holds; the top margin holds the frame's title.
FRAME_PAD = 10
FRAME_TOP = LINE + 8


def svg(boxes: list[Box], edges: list[Edge], laid: Placed, along: bool) -> str:
    """The picture as SVG: module frames (laid out with ``cluster``), then edges, then boxes on top."""
    width, height = laid.width + 2 * MARGIN, laid.height + 2 * MARGIN
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{-MARGIN} {-MARGIN} {width:.0f} '
             f'{height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="{FONT}" role="img">',
             _DEFS]
    parts += _frames(laid)
    parts += [_edge(edge, way, middle) for edge, (way, middle) in zip(edges, routes(edges, laid, along))]
    parts += [_box(box, laid, along) for box in boxes]
    parts.append("</svg>")
    return "\n".join(parts)


_DEFS = """<defs>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10"
 markerHeight="10" orient="auto">
<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>
<marker id="arrow-active" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="14"
 markerHeight="14" orient="auto">
<path d="M0,0 L10,5 L0,10 z" fill="#000"/></marker>
</defs>"""


def _arrivals(edges: list[Edge], laid: Placed, along: bool) -> dict[int, float]:
    """Where each edge meets its target, spread along the target's side in the order of their sources."""
    into: dict[str, list[int]] = {}
    for k, edge in enumerate(edges):
        into.setdefault(edge.target, []).append(k)
    axis = 1 if along else 0
    spots = {}
    for target, ks in into.items():
        ks.sort(key=lambda k: (laid.row_of.get(edges[k].source, 0), laid.centre(edges[k].source)[axis]))
        start, extent = laid.corners[target][axis], laid.sizes[target][axis]
        for n, k in enumerate(ks):
            spots[k] = start + extent * (n + 1) / (len(ks) + 1)
    return spots


#: A point of the picture, and an edge's way: a start point, then three points per cubic Bézier piece.
Point = tuple[float, float]


def routes(edges: list[Edge], laid: Placed, along: bool) -> list[tuple[list[Point], Point]]:
    """Each edge's way from its source to its target and where its numbers go (the page and the slides')."""
    arrivals = _arrivals(edges, laid, along)
    return [_route(edge, laid, arrivals[k], along) for k, edge in enumerate(edges)]


def _route(edge: Edge, laid: Placed, spot: float, along: bool) -> tuple[list[Point], Point]:
    (sx, sy), (sw, sh) = laid.corners[edge.source], laid.sizes[edge.source]
    tx, ty = laid.corners[edge.target]
    if along:
        start, end = (sx + sw, sy + sh / 2), (tx - 2, spot)
    else:
        start, end = (sx + sw / 2, sy + sh), (spot, ty - 2)
    same_row = laid.row_of.get(edge.source) == laid.row_of.get(edge.target)
    forward = (end[0] > start[0] + 8) if along else (end[1] > start[1] + 8)
    if same_row and forward:
        return _curve(start, end, along)
    return _detour(start, end, laid.row_tops[laid.row_of[edge.target]] - 20, along)


def _edge(edge: Edge, way: list[Point], middle: Point) -> str:
    attrs = f' id="{edge.id}"' if edge.id else ""
    title = f"<title>{escape(edge.tooltip)}</title>" if edge.tooltip else ""
    label = ""
    if edge.label:
        label = (f'<text class="partial" x="{middle[0]:.1f}" y="{middle[1] - 5:.1f}" text-anchor="middle">'
                 f"{escape(edge.label)}</text>")
    flow = (f'<text class="flow" x="{middle[0]:.1f}" y="{middle[1] + FONT + 1:.1f}" '
            'text-anchor="middle"></text>' if edge.id else "")
    (x0, y0), rest = way[0], way[1:]
    pieces = " ".join("C" + " ".join(f"{x:.1f},{y:.1f}" for x, y in rest[k:k + 3])
                      for k in range(0, len(rest), 3))
    return f'<g class="edge"{attrs}>{title}<path d="M{x0:.1f},{y0:.1f} {pieces}"/>{label}{flow}</g>'


def _curve(start: Point, end: Point, along: bool) -> tuple[list[Point], Point]:
    (x0, y0), (x1, y1) = start, end
    if along:
        d = (x1 - x0) / 2
        way = [start, (x0 + d, y0), (x1 - d, y1), end]
    else:
        d = (y1 - y0) / 2
        way = [start, (x0, y0 + d), (x1, y1 - d), end]
    return way, ((x0 + x1) / 2, (y0 + y1) / 2)


def _detour(start: Point, end: Point, gap: float, along: bool) -> tuple[list[Point], Point]:
    """An edge to an earlier place (the next row): out, into the gap above the target's row, along it, in."""
    (x0, y0), (x1, y1) = start, end
    r = 24.0
    if along:
        out, back = (x0, gap), (x1, gap)
        way = [start, (x0 + r, y0), (x0 + r, gap), out, *_straight(out, back),
               (x1 - r, gap), (x1 - r, y1), end]
        return way, ((x0 + x1) / 2, gap)
    out, back = (gap, y0), (gap, y1)
    way = [start, (x0, y0 + r), (gap, y0 + r), out, *_straight(out, back),
           (gap, y1 - r), (x1, y1 - r), end]
    return way, (gap, (y0 + y1) / 2)


def _straight(a: Point, b: Point) -> list[Point]:
    """A straight line as one Bézier piece from ``a``: its two control points on the line, then ``b``."""
    (ax, ay), (bx, by) = a, b
    return [(ax + (bx - ax) / 3, ay + (by - ay) / 3), (ax + 2 * (bx - ax) / 3, ay + 2 * (by - ay) / 3), b]


def _box(box: Box, laid: Placed, along: bool) -> str:
    (x, y), (w, h) = laid.corners[box.id], laid.sizes[box.id]
    fill = COLOURS[box.role]
    shape = _shape(box.role, x, y, w, h, fill)
    texts = []
    for k, line in enumerate(box.lines):
        cls = ("name", "data", "grad")[k] if box.role != "module" else ("name", "size", "ops")[k]
        texts.append(f'<text class="{cls}" x="{x + w / 2 + (4 if box.badge else 0):.1f}" '
                     f'y="{y + PAD / 2 + LINE * k + 15:.1f}" text-anchor="middle">{escape(line)}</text>')
    badge = ""
    if box.badge:
        bw = max(22.0, text_width(box.badge, BADGE_FONT) + 10)
        bx, by = (x - bw / 2, y + h / 2 - 11) if along else (x + w / 2 - bw / 2, y - 11)
        badge = (f'<g class="badge"><rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="22" rx="11"/>'
                 f'<text x="{bx + bw / 2:.1f}" y="{by + 16:.1f}" text-anchor="middle">'
                 f"{escape(box.badge)}</text></g>")
    title = f"<title>{escape(ROLE_NAMES[box.role])}: {escape(box.full or box.lines[0])}</title>"
    return f'<g class="node role-{box.role}" id="{box.id}">{title}{shape}{"".join(texts)}{badge}</g>'


def _shape(role: str, x: float, y: float, w: float, h: float, fill: str) -> str:
    """Square corners for leaves (a double border for parameters), round for results, a tab for modules."""
    if role == "module":
        return (f'<path class="shape" fill="{fill}" d="M{x:.1f},{y + 6:.1f} h{w * 0.35:.1f} l6,-6 '
                f'h{w * 0.65 - 6:.1f} v{h:.1f} h{-w:.1f} z"/>')
    rx = 0 if role in SQUARE else 10
    shape = (f'<rect class="shape" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx}" '
             f'fill="{fill}"/>')
    if role == "parameter":
        shape += (f'<rect class="inner" x="{x + 4:.1f}" y="{y + 4:.1f}" width="{w - 8:.1f}" '
                  f'height="{h - 8:.1f}" fill="none"/>')
    return shape


def _frames(laid: Placed) -> list[str]:
    """A dashed frame around each module, outermost first, its name (within the frame around it) on top.

    The name goes to the right: in a picture running left to right, edges come into a frame from the left.
    """
    out = []
    for levels, (x, y, w, h) in sorted(laid.frames.items(), key=lambda item: len(item[0])):
        title = escape(frame_title(levels))
        out.append(f'<g class="cluster"><title>{escape(levels[-1])}</title>'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="8"/>'
                   f'<text x="{x + w - FRAME_PAD:.1f}" y="{y + LINE - 2:.1f}" text-anchor="end">'
                   f"{title}</text></g>")
    return out


def frame_title(levels: tuple[str, ...]) -> str:
    """A module frame's title: its name within the frame around it (``neurons.1`` inside ``layers.0``)."""
    return _within(levels[-1], levels[-2]) if len(levels) > 1 else levels[-1]


def legend(roles: list[str]) -> str:
    """The roles drawn, as HTML: a little box of each role's colour and shape, and its name."""
    items = []
    for role in roles:
        shape = _shape(role, 1, 1, 30, 18, COLOURS[role]).replace("h18.0", "h18")
        items.append(f'<span class="key"><svg width="32" height="20" viewBox="0 0 32 20" class="role-{role}">'
                     f"{shape}</svg>{escape(ROLE_NAMES[role])}</span>")
    return "".join(items)
