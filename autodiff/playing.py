"""A backward pass that plays in a browser: one self-contained HTML page, made for a lecture hall.

:func:`play` steps a :class:`~autodiff.stepping.Stepper` over the graph from
start to end, keeps what each step did (its record, the gradients so far it
changed, what flowed along each edge, its chain-rule line) and writes that
beside a picture of the graph (:mod:`autodiff.picture`, laid out to fit a
projector's screen with text at least 14 px) into one HTML file with its
script and styles inline: no server, no network, no CDN.  The page has Next /
Back / Play / Reset buttons, an adjustable play speed, zoom and pan, keyboard
shortcuts for a presenter's remote (→ / PageDown, ← / PageUp, space, Home,
End) and a presenter mode (``p``: large type, the current step's chain-rule
line big under the graph).  An edge's number is its local partial, as in
every view; the current step's edges also show what flowed along them.  Every
number on the page is the stepper's own, formatted as the records format it:
the page computes nothing.

>>> from autodiff import Value
>>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
>>> y = x * w; y.label = "y"
>>> page = play(y)
>>> page
<Page: the backward pass of 'y' in 3 steps (play(root, path) or page.save(path) writes it)>
>>> '<button id="next"' in page.html and "http" not in page.html.replace("http://www.w3.org", "")
True
>>> x.grad                   # making the page leaves every .grad as it was
0.0
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import guessing, picture
from .drawing import Grouping, TooBigToDraw, _plan, _roles_drawn, check_max_nodes
from .errors import GraphError
from .exercises import Exercise
from .files import replaced_atomically
from .naming import printed, title
from .node import Node
from .stepping import Stepper, StepRecord
from .value import Value

#: Pages are for graphs a lecture can follow; bigger ones are refused like big drawings.
MAX_NODES = 300
#: What the page shows before the first step.
START = "Start: the sweep begins at {root} with d({root})/d({root}) = 1.  Press Next (→) for the first step."
END = "Done: every gradient is complete, and the stepper added them to .grad as backward() would."
#: Chain-rule lines shown per step in presenter mode (an n-ary sum may have hundreds of inputs).
CHAIN_LINES = 4


@dataclass(frozen=True)
class Page:
    """One HTML page that plays a backward pass; ``html`` is its text."""

    html: str
    root: str
    steps: int

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` (atomically); returns the path."""
        path = Path(path)
        with replaced_atomically(path, "w", encoding="utf-8") as file:
            file.write(self.html)
        return path

    def __repr__(self) -> str:
        return (f"<Page: the backward pass of {self.root!r} in {self.steps} steps "
                "(play(root, path) or page.save(path) writes it)>")

    def _repr_html_(self) -> str:
        """In a notebook: the page itself, in a frame of its own so its script and styles stay apart."""
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
                'style="width: 100%; height: 640px; border: 1px solid #ccc"></iframe>')


def play(
    root: Node,
    path: str | os.PathLike[str] | None = None,
    *,
    params: Iterable[Node] | None = None,
    edge_labels: bool = True,
    rankdir: str = "LR",
    cluster: bool = False,
    collapse: bool | int = False,
    between: Any = None,
    group: Grouping | None = None,
    max_nodes: int = MAX_NODES,
    legend: bool = True,
    guess: bool = False,
) -> Page:
    """A page that plays the backward pass of ``root`` (a Value, or a Stepper: the page starts where it is).

    With ``path`` the page is also written there.  The drawing options are
    :func:`autodiff.draw`'s, with the same meanings (``edge_labels``: each
    edge's local partial, on by default here; ``collapse``: a module as one
    box, whose steps highlight it); a Stepper's ``params`` are used unless
    ``params`` is given.  Every ``.grad`` is left as it was: the page is made
    by a stepper of its own, stepped to the end and reset.

    The page's "guess first" switch (``g``) asks each gradient before showing
    it (:mod:`autodiff.guessing`); ``guess=True`` starts the page with it on
    (and allows it on graphs of up to 300 values instead of 100).
    """
    if not isinstance(root, (Stepper, Value)):
        raise GraphError(f"play() needs a Value or a Stepper, not {type(root).__name__}")
    walk = walkthrough(root, params=params, edge_labels=edge_labels, rankdir=rankdir, cluster=cluster,
                       collapse=collapse, between=between, group=group, max_nodes=max_nodes)
    shape = walk.arranged
    svg = picture.svg(shape.boxes, shape.edges, shape.laid, shape.along)
    keys = picture.legend([role for role in _roles_drawn(walk.plan) if role != "constant"]) if legend else ""
    ids = {id(node): f"n{position}" for position, node in enumerate(walk.plan.order)}
    quiz = guessing.quiz(root.root if isinstance(root, Stepper) else root, ids, asked=guess)
    for frame in walk.frames:
        frame["question"] = guessing.asked(quiz).get(frame["complete"])
    text = _html(walk, svg, keys, edge_labels, quiz, guess)
    page = Page(text, walk.name, len(walk.frames))
    if path is not None:
        page.save(path)
    return page


@dataclass
class Walkthrough:
    """A backward pass made ready to replay in a view: the graph laid out and what every step did.

    ``first`` holds each drawn value's gradient before the first step (by box
    id), ``frames`` one dict per step (its record, its box or module, the
    gradients it changed, what flowed along its drawn edges, its chain-rule
    lines), ``start`` the step a view opens at.
    """

    plan: Any
    arranged: picture.Arranged
    first: dict[str, str]
    frames: list[dict[str, Any]]
    name: str
    heading: str
    start: int


def walkthrough(root: Node, *, params: Iterable[Node] | None = None, edge_labels: bool = True,
                rankdir: str = "LR", cluster: bool = False, collapse: bool | int = False, between: Any = None,
                group: Grouping | None = None, max_nodes: int = MAX_NODES) -> Walkthrough:
    """The pass of ``root`` (a Value or a Stepper) for :func:`play` and the slides; options as there."""
    start = 0
    if isinstance(root, Stepper):
        start, params, root = len(root.records), params if params is not None else root.params, root.root
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', not {rankdir!r}")
    check_max_nodes(max_nodes)
    plan = _plan(root, params, between, collapse, group)
    if plan.size > max_nodes:
        raise TooBigToDraw(
            f"this picture would draw {plan.size} nodes (max_nodes={max_nodes}); it would be unreadable "
            "on a screen. Use collapse=True (one box per module), between=<a leaf or its label> (only "
            "the paths from that leaf to the root), or raise max_nodes.", plan.size, max_nodes,
        )
    stepper = Stepper(root)
    ids = {id(node): f"n{position}" for position, node in enumerate(plan.order)}
    first = {ids[id(node)]: printed(stepper.gradient_so_far(node)) for node in stepper.order}
    frames = _frames(stepper, ids)
    widest = _widest(first, frames)
    partials = {edge: (text, formula) for frame in frames for edge, text, formula in frame.pop("partials")}
    arranged = picture.arrange(plan, lambda node: f"grad {widest[ids[id(node)]]}", partials,
                               edge_labels, cluster, rankdir)
    shown = arranged.shown
    drawn_edges = {edge.id for edge in arranged.edges if edge.id is not None}
    for frame in frames:
        frame["node"] = shown.get(id(frame.pop("value")))  # its box, or the module it is folded into
        frame["grads"] = [g for g in frame["grads"] if g[0] in first and _drawn(g[0], shown, plan)]
        frame["edges"] = [e for e in frame["edges"] if e[0] in drawn_edges]
    first = {node_id: grad for node_id, grad in first.items() if _drawn(node_id, shown, plan)}
    return Walkthrough(plan, arranged, first, frames, stepper.names[id(root)], title(plan.order), start)


def _drawn(node_id: str, shown: dict[int, str], plan: Any) -> bool:
    """Is the value ``n<position>`` drawn as a box of its own?"""
    node = plan.order[int(node_id[1:])]
    return shown.get(id(node)) == node_id


def _frames(stepper: Stepper, ids: dict[int, str]) -> list[dict[str, Any]]:
    """What each step did, as the page replays it; the stepper ends where it began (reset)."""
    frames = []
    try:
        while not stepper.done:
            frames.append(_frame(stepper, stepper.step(), ids))
    finally:
        stepper.reset()  # every .grad as it was before the pass
    return frames


def _frame(stepper: Stepper, record: StepRecord, ids: dict[int, str]) -> dict[str, Any]:
    """One step: its record (one line, in full, as chain-rule lines), the gradients it changed, its edges."""
    position = ids[id(record.node)][1:]
    grads: dict[str, list[str]] = {}
    edges, partials = [], []
    for index, c in enumerate(record.contributions):
        if c.partial is None:
            continue  # a constant: no edge carries anything
        parent = ids[id(c.parent)]
        grads.setdefault(parent, [printed(c.before), ""])[1] = printed(stepper.gradient_so_far(c.parent))
        edge = f"e{position}_{index}"
        edges.append([edge, _sent(c.contribution)])
        partials.append((edge, printed(c.partial), f"∂{record.name}/∂{c.name} = {c.formula}"))
    return {"name": record.name, "line": repr(record), "record": str(record), "chain": _chain(record),
            "grads": [[node_id, before, after] for node_id, (before, after) in grads.items()],
            "edges": edges, "partials": partials, "complete": ids[id(record.node)], "value": record.node}


def _chain(record: StepRecord) -> list[str]:
    """The step as chain-rule lines: each operand's gradient grows by local partial × upstream."""
    root, node = _wrapped(record.root), _wrapped(record.name)
    if not record.node.parents:
        return [f"∂{root}/∂{node} = {printed(record.upstream)}: complete"]
    sent = [c for c in record.contributions if c.partial is not None]
    lines = [f"∂{root}/∂{_wrapped(c.name)} += ∂{node}/∂{_wrapped(c.name)} × ∂{root}/∂{node} = "
             f"{printed(c.partial)} × {printed(record.upstream)} = {printed(c.contribution)}"
             for c in sent[:CHAIN_LINES]]
    if len(sent) > CHAIN_LINES:
        lines.append(f"… and {len(sent) - CHAIN_LINES} more inputs the same way")
    return lines or [f"{record.name}: only constants below, nothing to pass on"]


def _sent(contribution: float) -> str:
    """What flowed along an edge, under its partial: '+0.5', '−1.5' (added to the operand's gradient)."""
    text = printed(contribution)
    return f"−{text[1:]}" if text.startswith("-") else f"+{text}"


def _wrapped(name: str) -> str:
    return name if " " not in name else f"({name})"


def _widest(first: dict[str, str], frames: list[dict[str, Any]]) -> dict[str, str]:
    """Each value's widest gradient over the pass: its box is made that wide once, so nothing moves."""
    widest = dict(first)
    for frame in frames:
        for node_id, _, after in frame["grads"]:
            if len(after) > len(widest[node_id]):
                widest[node_id] = after
    return widest


def _html(walk: Walkthrough, svg: str, legend: str, edge_labels: bool, quiz: dict[str, Any] | None,
          guess: bool) -> str:
    """The page: the picture, the controls, the record panel, the steps as data and the script."""
    root, heading = walk.name, walk.heading
    data = json.dumps({"root": root, "rootBox": walk.arranged.shown[id(walk.plan.order[-1])],
                       "first": walk.first, "frames": walk.frames, "start": walk.start,
                       "startText": START.format(root=root), "endText": END,
                       "minScale": picture.MIN_SCALE, "quiz": quiz}, ensure_ascii=False)
    data = data.replace("<", "\\u003c")  # a label holding "</script>" must not end the data block
    title_text = html.escape(f"The backward pass of {heading}")
    edges = ("Edge numbers: the local partial ∂output/∂input; under the current step's edges, in bold, what "
             "flowed along them (partial × upstream gradient)." if edge_labels else
             "Under the current step's edges: what flowed along them (local partial × upstream gradient).")
    parts = {"title": title_text, "svg": svg, "data": data, "style": _STYLE + guessing.STYLE,
             "script": _SCRIPT, "legend": legend, "edges": html.escape(edges),
             "key": guessing.key(edge_labels) if quiz is not None else "",
             "switch": guessing.switch(quiz, guess), "quiz": guessing.PANEL,
             "scoreboard": guessing.SCOREBOARD,
             "guessing": guessing.SCRIPT if quiz is not None else ""}
    # One pass, so that a label holding "{{data}}" is never itself replaced.
    return re.sub(r"{{(\w+)}}", lambda match: parts[match.group(1)], _TEMPLATE)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>{{style}}</style>
</head>
<body>
<header>
  <h1>{{title}}</h1>
  <nav>
    <button id="reset" title="Home">Reset</button>
    <button id="back" title="← or PageUp">◀ Back</button>
    <button id="play" title="space">▶ Play</button>
    <button id="next" title="→ or PageDown">Next ▶</button>
    <span id="status"></span>
    <label id="speedbox" title="[ slower, ] faster">speed <input id="speed" type="range" min="0.2" max="4"
      step="0.2" value="1.2"> <span id="speedtext">1.2 s</span> per step</label>
    <button id="zoomin" title="+">+</button><button id="zoomout" title="−">−</button>
    <button id="fit" title="f or 0">fit</button>
    <button id="presenter" title="p">presenter</button>
    {{switch}}
  </nav>
  <p id="legend">{{legend}} <span class="watching"><span class="grad-key">grad:
    <span class="pending">so far</span>, <span class="complete">complete</span></span>
    {{edges}}</span>{{key}}</p>
  <p id="keys">Keys: → / PageDown next, ← / PageUp back, space play, Home start, End end, [ ] speed,
    + − f zoom (or wheel, drag to pan), p presenter mode.</p>
</header>
<section id="picture">{{svg}}</section>
<p id="chain"></p>
{{quiz}}
<section id="panel">
  <pre id="record"></pre>
  <ol id="lines"></ol>
  {{scoreboard}}
</section>
<script type="application/json" id="steps">{{data}}</script>
<script>{{script}}{{guessing}}</script>
</body>
</html>
"""

_STYLE = """
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; font-family: Helvetica, Arial, sans-serif; color: #111;
       font-size: 15px; }
header { padding: 4px 12px 2px; }
h1 { font-size: 19px; margin: 0 0 4px; display: inline-block; margin-right: 1em; }
nav { display: inline-flex; flex-wrap: wrap; align-items: center; gap: 4px; }
nav button { font-size: 15px; padding: 3px 10px; }
#status { margin: 0 .6em; font-weight: bold; min-width: 7.5em; }
#speedbox { margin-left: .4em; } #speed { width: 7em; vertical-align: middle; }
#legend, #keys { margin: 3px 0 0; font-size: 14px; }
#keys { color: #444; }
.key { display: inline-flex; align-items: center; gap: 3px; margin-right: .8em; }
.key svg .shape, .key svg .inner { stroke: #333; stroke-width: 1.5; }
.key svg.role-output .shape { stroke-width: 3; }
.grad-key { margin-right: .8em; }
.pending { color: #666; font-style: italic; } .complete { font-weight: bold; }
#picture { flex: 1 1 auto; min-height: 0; position: relative; overflow: hidden; border-top: 1px solid #ccc;
           border-bottom: 1px solid #ccc; touch-action: none; }
#picture svg { display: block; width: 100%; height: 100%; cursor: grab; user-select: none; }
#picture svg.dragging { cursor: grabbing; }
#panel { flex: 0 0 auto; display: flex; gap: 12px; height: 24vh; padding: 4px 12px 6px;
         box-sizing: border-box; }
#record { flex: 3; margin: 0; overflow: auto; background: #f4f4f4; border-left: 5px solid #000;
          padding: 4px 8px; font-size: 14px; white-space: pre-wrap; }
#lines { flex: 2; margin: 0; overflow: auto; font-size: 14px; color: #555; padding-left: 2.6em;
         position: relative; }
#lines li { cursor: pointer; }
#lines li.done { color: #111; }
#lines li.current { color: #000; font-weight: bold; background: #f0e442; }
#chain { display: none; margin: 0; padding: 6px 14px; font-size: 26px; line-height: 1.35;
         white-space: pre-wrap; }
body.presenter #chain { display: block; }
body.presenter #panel, body.presenter #keys { display: none; }
body.presenter h1 { font-size: 26px; }
body.presenter nav button { font-size: 20px; }
/* The picture: roles by colour and by shape; the current step in black, thick, whatever the colours. */
g.node .shape { stroke: #333; stroke-width: 1.5; }
g.node .inner { stroke: #333; stroke-width: 1; }
g.node.role-output .shape { stroke-width: 3.5; }
g.node text { fill: #111; }
g.node text.name { font-weight: bold; }
g.node text.grad { fill: #555; font-style: italic; }
g.node.complete text.grad { fill: #000; font-style: normal; font-weight: bold; }
g.node.current .shape { stroke: #000; stroke-width: 6; }
g.node.current text.name { text-decoration: underline; }
g.badge rect { fill: #fff; stroke: #333; stroke-width: 1.5; }
g.badge text { font-size: 16px; font-weight: bold; }
g.node.current g.badge rect { fill: #000; } g.node.current g.badge text { fill: #fff; }
g.edge path { fill: none; stroke: #666; stroke-width: 1.6; marker-end: url(#arrow); }
g.edge text { fill: #222; paint-order: stroke; stroke: #fff; stroke-width: 5px; stroke-linejoin: round; }
g.edge text.flow { visibility: hidden; font-weight: bold; }
g.edge.active path { stroke: #000; stroke-width: 4; marker-end: url(#arrow-active); }
g.edge.active text.partial { font-weight: bold; }
g.edge.active text.flow { visibility: visible; }
g.cluster rect { fill: none; stroke: #777; stroke-dasharray: 6 4; }
g.cluster text { fill: #333; font-style: italic; }
"""

_SCRIPT = """
"use strict";
const data = JSON.parse(document.getElementById("steps").textContent);
const frames = data.frames;
const byId = (id) => (id ? document.getElementById(id) : null);
let done = 0;          // how many steps are applied
let timer = null;
const listeners = [];  // called after every change of step: a mode built on this page hooks in here

function setGrad(id, value) {
  const box = byId(id);
  if (box) box.querySelector("text.grad").textContent = "grad " + value;
}
function flow(id, text) {
  const edge = byId(id);
  if (edge) { const t = edge.querySelector("text.flow"); if (t) t.textContent = text; }
}
function apply(k) {
  const f = frames[k];
  for (const [id, , after] of f.grads) setGrad(id, after);
  byId(f.complete)?.classList.add("complete");
}
function undo(k) {
  const f = frames[k];
  for (const [id, before] of f.grads) setGrad(id, before);
  byId(f.complete)?.classList.remove("complete");
}
function show() {
  for (const el of document.querySelectorAll(".current, .active")) el.classList.remove("current", "active");
  const f = done > 0 ? frames[done - 1] : null;
  let chain = "";
  if (f) {
    const node = byId(f.node);
    if (node) node.classList.add("current");
    for (const [id, text] of f.edges) { byId(id)?.classList.add("active"); flow(id, text); }
    chain = f.chain.join("\\n");
  } else {
    chain = data.startText;
  }
  follow(focus());
  let text = f ? f.record : data.startText;
  if (done === frames.length) { text += "\\n\\n" + data.endText; chain += "\\n" + data.endText; }
  document.getElementById("record").textContent = text;
  document.getElementById("chain").textContent = chain;
  document.getElementById("status").textContent = "step " + done + " of " + frames.length;
  const items = document.querySelectorAll("#lines li");
  items.forEach((li, i) => {
    li.classList.toggle("done", i < done);
    li.classList.toggle("current", i === done - 1);
  });
  if (done > 0) keepInList(items[done - 1]);
  document.getElementById("back").disabled = done === 0;
  document.getElementById("reset").disabled = done === 0;
  document.getElementById("next").disabled = done === frames.length;
  for (const listener of listeners) listener(done);
}
function keepInList(li) {
  const list = document.getElementById("lines");
  const top = li.offsetTop, bottom = top + li.offsetHeight;
  if (top < list.scrollTop || bottom > list.scrollTop + list.clientHeight) {
    list.scrollTop = Math.max(0, top - (list.clientHeight - li.offsetHeight) / 2);
  }
}
function go(target) {
  target = Math.max(0, Math.min(frames.length, target));
  while (done < target) apply(done++);
  while (done > target) undo(--done);
  show();
}

// -- playing, at an adjustable speed ------------------------------------------------------
const speed = document.getElementById("speed");
function seconds() { return Number(speed.value); }
function setSpeed(value) {
  speed.value = Math.max(Number(speed.min), Math.min(Number(speed.max), value));
  document.getElementById("speedtext").textContent = seconds().toFixed(1) + " s";
}
speed.addEventListener("input", () => setSpeed(seconds()));
function pause() {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  document.getElementById("play").textContent = "▶ Play";
}
function tick() {
  go(done + 1);
  timer = done === frames.length ? (pause(), null) : setTimeout(tick, seconds() * 1000);
}
function playOrPause() {
  if (timer !== null) return pause();
  if (done === frames.length) go(0);
  document.getElementById("play").textContent = "❚❚ Pause";
  timer = setTimeout(tick, seconds() * 1000);
}

// -- zoom and pan: the picture's viewBox; never fitted below the scale of 14 px text -------------
const svg = document.querySelector("#picture svg");
const area = document.getElementById("picture");
const whole = svg.viewBox.baseVal;
const full = { x: whole.x, y: whole.y, w: whole.width, h: whole.height };
let view = { ...full };
function setView(v) {
  view = v;
  svg.setAttribute("viewBox", [v.x, v.y, v.w, v.h].map((n) => n.toFixed(1)).join(" "));
}
function scale() { return Math.min(area.clientWidth / view.w, area.clientHeight / view.h); }
function fit() {
  const s = Math.min(area.clientWidth / full.w, area.clientHeight / full.h);
  if (s >= data.minScale) return setView({ ...full });
  // Too big to show whole at a readable size: show the part at the smallest readable scale.
  // Rounded down (setView writes tenths): rounded up, the scale would fall a hair under 14 px text.
  const least = (extent) => Math.floor(extent / data.minScale * 10) / 10;
  setView({ x: full.x, y: full.y, w: least(area.clientWidth), h: least(area.clientHeight) });
  follow(focus());
}
function zoom(factor, cx, cy) {
  const s = Math.max(0.15, Math.min(6, scale() * factor));
  const w = area.clientWidth / s, h = area.clientHeight / s;
  cx = cx ?? view.x + view.w / 2; cy = cy ?? view.y + view.h / 2;
  setView({ x: cx - (cx - view.x) * w / view.w, y: cy - (cy - view.y) * h / view.h, w: w, h: h });
}
function visible() {  // what the screen shows, in picture units (the viewBox is centred in the area)
  const s = scale(), w = area.clientWidth / s, h = area.clientHeight / s;
  return { x: view.x + (view.w - w) / 2, y: view.y + (view.h - h) / 2, w: w, h: h };
}
function focus() {  // the current step's box; before the first step, the root's (the sweep starts there)
  return byId(done > 0 ? frames[done - 1].node : data.rootBox);
}
function follow(node) {  // the current node always in view: move the picture, never its size
  if (!node) return;
  const b = node.getBBox(), v = visible(), m = 12;
  const shown = b.x - m >= v.x && b.y - m >= v.y && b.x + b.width + m <= v.x + v.w
    && b.y + b.height + m <= v.y + v.h;
  if (shown) return;
  // Centred on the node, but never showing empty space past the picture's edge where there is more picture.
  const x = within(b.x + b.width / 2 - v.w / 2, full.x, full.w, v.w);
  const y = within(b.y + b.height / 2 - v.h / 2, full.y, full.h, v.h);
  setView({ ...view, x: x - (view.w - v.w) / 2, y: y - (view.h - v.h) / 2 });
}
function within(start, low, extent, size) {  // a screen's start on one axis, kept over the picture
  if (size >= extent) return low + (extent - size) / 2;
  return Math.max(low, Math.min(low + extent - size, start));
}
function toPicture(event) {
  const r = area.getBoundingClientRect(), v = visible(), s = scale();
  return [v.x + (event.clientX - r.left) / s, v.y + (event.clientY - r.top) / s];
}
area.addEventListener("wheel", (event) => {
  event.preventDefault();
  const [x, y] = toPicture(event);
  zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, x, y);
}, { passive: false });
let drag = null;
area.addEventListener("pointerdown", (event) => {
  drag = { x: event.clientX, y: event.clientY, view: { ...view } };
  svg.classList.add("dragging");
  area.setPointerCapture(event.pointerId);
});
area.addEventListener("pointermove", (event) => {
  if (!drag) return;
  const s = scale();
  const x = drag.view.x - (event.clientX - drag.x) / s, y = drag.view.y - (event.clientY - drag.y) / s;
  setView({ ...drag.view, x: x, y: y });
});
area.addEventListener("pointerup", () => { drag = null; svg.classList.remove("dragging"); });
window.addEventListener("resize", fit);

// -- controls and keys ------------------------------------------------------------------------
for (const [id, value] of Object.entries(data.first)) setGrad(id, value);
const list = document.getElementById("lines");
frames.forEach((f, i) => {
  const li = document.createElement("li");
  li.textContent = f.line;
  li.addEventListener("click", () => { pause(); go(i + 1); });
  list.appendChild(li);
});
const buttons = {
  next: () => go(done + 1), back: () => go(done - 1), reset: () => go(0),
  zoomin: () => zoom(1.25), zoomout: () => zoom(1 / 1.25), fit: fit,
  presenter: () => {
    document.body.classList.toggle("presenter");
    fit();
  },
};
for (const [id, action] of Object.entries(buttons)) {
  document.getElementById(id).addEventListener("click", () => {
    if (["next", "back", "reset"].includes(id)) pause();
    action();
  });
}
document.getElementById("play").addEventListener("click", playOrPause);
const keys = {
  ArrowRight: buttons.next, PageDown: buttons.next, ArrowLeft: buttons.back, PageUp: buttons.back,
  Home: buttons.reset, End: () => go(frames.length),
  "+": buttons.zoomin, "=": buttons.zoomin, "-": buttons.zoomout, f: fit, "0": fit,
  p: buttons.presenter, "[": () => setSpeed(seconds() + 0.2), "]": () => setSpeed(seconds() - 0.2),
};
const moves = new Set(["ArrowRight", "PageDown", "ArrowLeft", "PageUp", "Home", "End"]);
document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT" && event.target.type !== "range") return;  // typing, not a command
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === " ") { event.preventDefault(); playOrPause(); return; }
  const action = keys[event.key];
  if (!action) return;
  event.preventDefault();
  if (moves.has(event.key)) pause();
  action();
});
window.page = { data: data, frames: frames, go: go, done: () => done, listeners: listeners, pause: pause };
fit();
go(data.start);
"""


Exercise.page_view = play  # Exercise.page() draws through this module (see Exercise.page_view)
