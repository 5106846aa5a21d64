"""Where the page puts each box: a layered layout wrapped into rows, to fit a projector's screen.

Graphviz lays a chain of twelve operations out as one row twelve boxes long;
on a 16:9 screen that row is either cut off or shrunk until its text cannot
be read from the back of a room.  This layout gives every box a column (the
longest path from it to the root, so the root is last and every edge points
forward), puts each leaf just before its first consumer, orders the boxes of a
column by their neighbours (the barycentre heuristic, with boxes of one module
kept together), and then wraps the columns into as many rows as make the
picture fit a screen's shape at the largest scale, as text wraps into lines.

With modules (:func:`nest`), each module is laid out on its own first, as
one block that its frame goes around, and the block then takes its place in
the module around it like any box: frames nest and never overlap.

It knows nothing of Values: boxes are keys with sizes, edges are pairs of keys.

>>> boxes = {k: (100.0, 60.0) for k in "abcd"}
>>> place(boxes, [("a", "b"), ("b", "c"), ("c", "d")], "d", aspect=16 / 9).rows
2
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

#: Space between columns (room for an edge's number), between boxes of a column, and between rows.
COLUMN_GAP = 84.0
BOX_GAP = 14.0
ROW_GAP = 40.0
#: Order sweeps of the barycentre heuristic: enough for graphs a lecture shows.
SWEEPS = 4


@dataclass
class Placed:
    """A layout: each box's top-left corner, the picture's size and how many rows it wrapped into."""

    corners: dict[Hashable, tuple[float, float]]
    sizes: dict[Hashable, tuple[float, float]]
    width: float
    height: float
    rows: int
    row_of: dict[Hashable, int] = field(default_factory=dict)
    row_tops: list[float] = field(default_factory=list)  # the y where each row starts
    #: With :func:`nest`: each module's frame (its levels, outermost first) as (x, y, width, height).
    frames: dict[tuple[str, ...], tuple[float, float, float, float]] = field(default_factory=dict)

    def centre(self, key: Hashable) -> tuple[float, float]:
        (x, y), (w, h) = self.corners[key], self.sizes[key]
        return x + w / 2, y + h / 2


def place(sizes: dict[Hashable, tuple[float, float]], edges: Sequence[tuple[Hashable, Hashable]],
          root: Hashable, aspect: float | None, groups: dict[Hashable, Hashable] | None = None) -> Placed:
    """Lay out boxes (key -> (width, height)) joined by edges (source, target) for a screen of ``aspect``.

    ``sizes`` lists the boxes, in the order ties are broken in; ``groups``
    (key -> module) keeps the boxes of a module together within a column.
    ``aspect=None`` never wraps: one row.
    """
    keys = _topological(list(sizes), edges)
    columns = _columns(keys, edges, root)
    order = _ordered(keys, edges, columns, groups or {})
    # How many edges a row break before each column would cut: rows break where few edges cross.
    crossings = [0] * (len(order) + 1)
    for source, target in edges:
        low, high = sorted((columns[source], columns[target]))
        for c in range(low + 1, high + 1):
            crossings[c] += 1
    return _wrapped(order, sizes, aspect, crossings)


def _topological(keys: list[Hashable], edges: Sequence[tuple[Hashable, Hashable]]) -> list[Hashable]:
    """The boxes with every source before its targets, else in the given order.

    Collapsed modules can form a cycle (a module used twice, before and after
    another); then the earliest box left goes next and its other edges count as back edges.
    """
    position = {key: k for k, key in enumerate(keys)}
    waiting = {key: 0 for key in keys}
    targets: dict[Hashable, list[Hashable]] = {key: [] for key in keys}
    for source, target in edges:
        waiting[target] += 1
        targets[source].append(target)
    order: list[Hashable] = []
    placed: set[Hashable] = set()
    ready = sorted((key for key in keys if waiting[key] == 0), key=position.__getitem__)
    while len(order) < len(keys):
        if not ready:  # a cycle: go on from the earliest box not placed yet
            ready = [min((key for key in keys if key not in placed), key=position.__getitem__)]
        key = ready.pop(0)
        if key in placed:
            continue
        order.append(key)
        placed.add(key)
        for target in targets[key]:
            waiting[target] -= 1
            if waiting[target] == 0 and target not in placed:
                ready.append(target)
        ready.sort(key=position.__getitem__)
    return order


def _columns(keys: list[Hashable], edges: Sequence[tuple[Hashable, Hashable]], root: Hashable) -> dict:
    """Each box's column: the longest path to the root counted from the right; leaves beside a consumer."""
    position = {key: k for k, key in enumerate(keys)}
    consumers: dict[Hashable, list[Hashable]] = {key: [] for key in keys}
    has_source = set()
    for source, target in edges:
        if position[source] < position[target]:  # a back edge (a module used twice) does not rank
            consumers[source].append(target)
            has_source.add(target)
    rank: dict[Hashable, int] = {}
    for key in reversed(keys):
        ranks = [rank[c] for c in consumers[key]]
        if key is root or not ranks:
            rank[key] = 0
        elif key in has_source:
            rank[key] = max(ranks) + 1
        else:  # a leaf: just before its nearest consumer, not at the far left
            rank[key] = min(ranks) + 1
    deepest = max(rank.values())
    return {key: deepest - r for key, r in rank.items()}


def _ordered(keys: list[Hashable], edges: Sequence[tuple[Hashable, Hashable]], columns: dict,
             groups: dict[Hashable, Hashable]) -> list[list[Hashable]]:
    """The boxes of each column, top to bottom, so that edges cross little and modules stay together."""
    table: list[list[Hashable]] = [[] for _ in range(max(columns.values()) + 1)]
    for key in keys:
        table[columns[key]].append(key)
    neighbours: dict[Hashable, list[Hashable]] = {key: [] for key in keys}
    for source, target in edges:
        neighbours[source].append(target)
        neighbours[target].append(source)
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        slots = {key: k / max(1, len(col)) for col in table for k, key in enumerate(col)}
        for c in (range(1, len(table)) if forward else range(len(table) - 2, -1, -1)):
            beside = c - 1 if forward else c + 1
            table[c] = _sorted(table[c], neighbours, columns, beside, slots, groups)
            slots.update({key: k / max(1, len(table[c])) for k, key in enumerate(table[c])})
    return table


def _sorted(column: list[Hashable], neighbours: dict, columns: dict, beside: int, slots: dict,
            groups: dict) -> list[Hashable]:
    def centre(key: Hashable) -> float:
        near = [slots[n] for n in neighbours[key] if columns[n] == beside]
        return sum(near) / len(near) if near else slots[key]

    centres = {key: centre(key) for key in column}
    by_group: dict[Hashable, list[float]] = {}
    for key in column:
        by_group.setdefault(groups.get(key), []).append(centres[key])
    group_centre = {g: sum(v) / len(v) for g, v in by_group.items()}
    # sorted() is stable: ties keep the order of the last sweep.
    return sorted(column, key=lambda key: (group_centre[groups.get(key)], centres[key]))


def _wrapped(table: list[list[Hashable]], sizes: dict, aspect: float | None, crossings: list[int]) -> Placed:
    """Columns cut into rows (each row's columns side by side), as many rows as fit ``aspect`` best."""
    widths = [max(sizes[key][0] for key in col) for col in table]
    heights = [sum(sizes[key][1] for key in col) + BOX_GAP * (len(col) - 1) for col in table]
    best = None
    for rows in range(1, 2 if aspect is None else len(table) + 1):
        cuts = _cuts(widths, rows, crossings)
        row_widths = [sum(widths[a:b]) + COLUMN_GAP * (b - a - 1) for a, b in cuts]
        row_heights = [max(heights[a:b]) for a, b in cuts]
        width, height = max(row_widths), sum(row_heights) + ROW_GAP * (len(cuts) - 1)
        scale = 1 / height if aspect is None else min(aspect / width, 1 / height)  # fills the screen
        if best is None or scale > best[0] * 1.0001:
            best = (scale, cuts, row_heights, width, height)
    _, cuts, row_heights, width, height = best
    corners, row_of, tops = {}, {}, []
    top = 0.0
    for row, ((a, b), row_height) in enumerate(zip(cuts, row_heights)):
        tops.append(top)
        x = 0.0
        for c in range(a, b):
            y = top + (row_height - heights[c]) / 2  # a column centred in its row
            for key in table[c]:
                w, h = sizes[key]
                corners[key] = (x + (widths[c] - w) / 2, y)
                row_of[key] = row
                y += h + BOX_GAP
            x += widths[c] + COLUMN_GAP
        top += row_height + ROW_GAP
    return Placed(corners, dict(sizes), width, height, len(cuts), row_of, tops)


def _cuts(widths: list[float], rows: int, crossings: list[int]) -> list[tuple[int, int]]:
    """Split columns into at most ``rows`` runs of about equal width, breaking where few edges cross.

    Each break goes where the running width passes a row's share, or one
    column either side of that if fewer edges cross there (an edge that
    wraps to the next row is harder to follow than one that stays).
    """
    total = sum(widths) + COLUMN_GAP * (len(widths) - 1)
    share = total / rows
    edges = [0.0]  # the x where each column starts, all in one row
    for w in widths:
        edges.append(edges[-1] + w + COLUMN_GAP)
    breaks: list[int] = []
    for k in range(1, rows):
        ideal = min(range(1, len(widths)), key=lambda c: abs(edges[c] - k * share), default=None)
        if ideal is None:
            break
        near = [c for c in (ideal - 1, ideal, ideal + 1)
                if 0 < c < len(widths) and (not breaks or c > breaks[-1])]
        if near:
            breaks.append(min(near, key=lambda c: (crossings[c], abs(edges[c] - k * share))))
    bounds = [0, *breaks, len(widths)]
    return [(a, b) for a, b in zip(bounds, bounds[1:])]


def nest(sizes: dict[Hashable, tuple[float, float]], edges: Sequence[tuple[Hashable, Hashable]],
         root: Hashable, aspect: float, modules: dict[Hashable, tuple[str, ...]],
         margins: tuple[float, float, float, float]) -> Placed:
    """:func:`place` with each module laid out as one block (its frame around it) inside the module around it.

    ``modules`` gives each box's modules, outermost first (empty: none);
    ``margins`` (left, top, right, bottom) is the room between a frame and
    what it holds (its title goes in the top margin).  Only the outermost
    picture wraps into rows: a module's block is one row, so that it reads as
    one piece.  ``frames`` of the result has every module's frame.
    """
    left, top, right, bottom = margins

    def block(levels: tuple[str, ...]) -> tuple[Placed, dict[Hashable, tuple[float, float]]]:
        """The layout of one module's contents, and where each box in it goes, relative to its corner."""
        depth = len(levels)
        inside = [key for key in sizes if modules.get(key, ())[:depth] == levels]
        item = {key: key if len(modules.get(key, ())) == depth else _Frame(modules[key][: depth + 1])
                for key in inside}
        inner = {frame: block(frame.levels) for frame in dict.fromkeys(i for i in item.values()
                                                                         if isinstance(i, _Frame))}
        items = {}
        for key in inside:
            i = item[key]
            if isinstance(i, _Frame):
                laid = inner[i][0]
                items.setdefault(i, (laid.width + left + right, laid.height + top + bottom))
            else:
                items[i] = sizes[key]
        links = list(dict.fromkeys((item[s], item[t]) for s, t in edges
                                   if s in item and t in item and item[s] != item[t]))
        laid = place(items, links, item.get(root), aspect if depth == 0 else None)
        where = {}
        for key in inside:
            x, y = laid.corners[item[key]]
            if isinstance(item[key], _Frame):
                dx, dy = inner[item[key]][1][key]
                x, y = x + left + dx, y + top + dy
            where[key] = (x, y)
        frames = {}
        for frame, (sub, _) in inner.items():
            (x, y), (w, h) = laid.corners[frame], items[frame]
            frames[frame.levels] = (x, y, w, h)
            for levels_in, (fx, fy, fw, fh) in sub.frames.items():
                frames[levels_in] = (x + left + fx, y + top + fy, fw, fh)
        laid.frames = frames
        return laid, where

    outer, where = block(())
    row_of = {key: outer.row_of[key if len(modules.get(key, ())) == 0 else _Frame(modules[key][:1])]
              for key in sizes}
    return Placed(where, dict(sizes), outer.width, outer.height, outer.rows, row_of, outer.row_tops,
                  outer.frames)


@dataclass(frozen=True)
class _Frame:
    """A module as one item of the module around it."""

    levels: tuple[str, ...]
