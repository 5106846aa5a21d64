"""A backward pass that plays in a browser: one self-contained HTML page.

:func:`play` steps a :class:`~autodiff.stepping.Stepper` over the graph from
start to end, keeps what each step did (its record, the gradients so far it
changed, the edges it sent along) and writes that beside the Graphviz drawing
into one HTML file with its script and styles inline: no server, no network,
no CDN, so it works offline and on a projector.  The page has Next / Back /
Play / Reset buttons and the arrow keys; the current node is highlighted, each
edge shows the contribution it carried once it has carried it, each value
shows its gradient so far, and the record of the step is printed beside the
picture.  Every number on the page is the stepper's own, formatted as the
records format it: the page computes nothing.

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

from .backward import topological_order
from .drawing import Look, draw_with
from .errors import GraphError
from .files import replaced_atomically
from .naming import number
from .stepping import Step, Stepper
from .value import Value

#: Pages are for graphs a lecture can follow; bigger ones are refused like big drawings.
MAX_NODES = 300
#: What the page shows before the first step.
START = "Start: the sweep begins at {root} with d({root})/d({root}) = 1.  Press Next (→) for the first step."
END = "Done: every gradient is complete, and the stepper added them to .grad as backward() would."


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
    root: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    params: Iterable[Any] | None = None,
    rankdir: str = "LR",
    max_nodes: int = MAX_NODES,
) -> Page:
    """A page that plays the backward pass of ``root`` (a Value, or a Stepper: the page starts where it is).

    With ``path`` the page is also written there.  ``params``, ``rankdir`` and
    ``max_nodes`` are as for :func:`autodiff.draw`.  Every ``.grad`` is left as
    it was: the page is made by a stepper of its own, stepped to the end and
    reset.
    """
    if isinstance(root, Stepper):
        start, root = len(root.records), root.root
    elif isinstance(root, Value):
        start = 0
    else:
        raise GraphError(f"play() needs a Value or a Stepper, not {type(root).__name__}")
    ids = {id(node): f"n{position}" for position, node in enumerate(topological_order(root))}
    stepper = Stepper(root)
    first = {node_id: number(stepper.gradient_so_far(node)) for node, node_id in _values(stepper, ids)}
    frames = _frames(stepper, ids)
    graph = draw_with(_look(first, frames, ids), root, params=params, rankdir=rankdir,
                      max_nodes=max_nodes)
    svg = graph.pipe(format="svg").decode("utf-8")
    name = stepper.names[id(root)]
    # A left-to-right graph is wide: the records go under it; a top-to-bottom one is tall: beside it.
    layout = "wide" if rankdir == "LR" else "tall"
    page = Page(_html(name, svg[svg.index("<svg"):], first, frames, start, layout), name, len(frames))
    if path is not None:
        page.save(path)
    return page


def _values(stepper: Stepper, ids: dict[int, str]) -> list[tuple[Any, str]]:
    """The nodes that show a gradient (every node but constants), with their SVG ids."""
    return [(node, ids[id(node)]) for node in topological_order(stepper.root) if not node.is_constant]


def _frames(stepper: Stepper, ids: dict[int, str]) -> list[dict[str, Any]]:
    """What each step did, as the page replays it; the stepper ends where it began (reset)."""
    frames = []
    try:
        while not stepper.done:
            frames.append(_frame(stepper, stepper.step(), ids))
    finally:
        stepper.reset()  # every .grad as it was before the pass
    return frames


def _frame(stepper: Stepper, record: Step, ids: dict[int, str]) -> dict[str, Any]:
    """One step: the node, its record (one line and in full), the gradients it changed, its edges."""
    position = ids[id(record.node)][1:]
    grads: dict[str, list[str]] = {}
    edges = []
    for index, c in enumerate(record.contributions):
        if c.partial is None:
            continue  # a constant: no edge carries anything
        parent = ids[id(c.parent)]
        grads.setdefault(parent, [number(c.before), ""])[1] = number(stepper.gradient_so_far(c.parent))
        edges.append([f"e{position}_{index}", _sent(c.contribution)])
    return {"node": ids[id(record.node)], "name": record.name, "line": repr(record), "record": str(record),
            "grads": [[node_id, before, after] for node_id, (before, after) in grads.items()], "edges": edges}


def _sent(contribution: float) -> str:
    """What an edge carried, as its label: '+0.5', '−1.5' (added to the operand's gradient)."""
    text = number(contribution)
    return f"−{text[1:]}" if text.startswith("-") else f"+{text}"


def _look(first: dict[str, str], frames: list[dict[str, Any]], ids: dict[int, str]) -> Look:
    """Grad fields drawn as wide as the widest number they will show; edges labelled with what they send."""
    widest = dict(first)
    for frame in frames:
        for node_id, _, after in frame["grads"]:
            if len(after) > len(widest[node_id]):
                widest[node_id] = after
    sent = {edge_id: text for frame in frames for edge_id, text in frame["edges"]}

    def edge(node: Any, index: int, partial: float | None, names: dict[int, str]) -> dict[str, str]:
        text = sent.get(f"e{ids[id(node)][1:]}_{index}")
        return {} if text is None else {"label": text}

    return Look(grad=lambda node: f"grad so far {widest[ids[id(node)]]}", edge=edge, ids=True)


def _html(root: str, svg: str, first: dict[str, str], frames: list[dict[str, Any]], start: int,
          layout: str) -> str:
    """The page: the drawing, the controls, the record panel, the steps as data and the script."""
    data = json.dumps({"root": root, "first": first, "frames": frames, "start": start,
                       "startText": START.format(root=root), "endText": END}, ensure_ascii=False)
    data = data.replace("<", "\\u003c")  # a label holding "</script>" must not end the data block
    title = html.escape(f"The backward pass of {root}")
    parts = {"title": title, "layout": layout, "svg": svg, "data": data, "style": _STYLE, "script": _SCRIPT}
    # One pass, so that a label holding "{{data}}" is never itself replaced.
    return re.sub(r"{{(\w+)}}", lambda match: parts[match.group(1)], _TEMPLATE)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{title}}</title>
<style>{{style}}</style>
</head>
<body>
<header>
  <h1>{{title}}</h1>
  <p>Each step applies the chain rule at one node: the gradient that arrived there times each local
  partial is sent to the node's inputs. Numbers on the edges are what they carried.
  Keys: → next, ← back, space play/pause, Home reset.</p>
  <nav>
    <button id="reset" title="Home">Reset</button>
    <button id="back" title="←">◀ Back</button>
    <button id="play" title="space">▶ Play</button>
    <button id="next" title="→">Next ▶</button>
    <span id="status"></span>
  </nav>
</header>
<main class="{{layout}}">
  <section id="picture">{{svg}}</section>
  <aside>
    <pre id="record"></pre>
    <ol id="lines"></ol>
  </aside>
</main>
<script type="application/json" id="steps">{{data}}</script>
<script>{{script}}</script>
</body>
</html>
"""

_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
header p { margin: 0 0 .6em; max-width: 60em; }
nav button { font-size: 1.05em; padding: .35em .9em; margin-right: .3em; }
#status { margin-left: 1em; font-weight: bold; }
main { display: flex; gap: 1.5em; align-items: flex-start; margin-top: .8em; }
#picture { flex: 3; overflow: auto; }
#picture svg { max-width: 100%; height: auto; }
aside { flex: 2; min-width: 26em; }
main.wide { flex-direction: column; }
main.wide #picture { width: 100%; max-height: 62vh; overflow: auto; }  /* scrolls inside: controls stay */
main.wide #picture svg { max-width: none; }
#picture svg { display: block; }
main.wide aside { display: flex; gap: 1.5em; width: 100%; align-items: flex-start; }
main.wide aside > * { flex: 1; margin-top: 0; }
#record { background: #f6f6f6; border-left: 4px solid #d62728; padding: .7em; white-space: pre-wrap;
          font-size: .95em; min-height: 6em; }
#lines { font-size: .8em; color: #666; padding-left: 2.2em; max-height: 22em; overflow: auto; }
#lines li { cursor: pointer; margin: .1em 0; }
#lines li.done { color: #222; }
#lines li.current { color: #d62728; font-weight: bold; }
g.node.current polygon, g.node.current ellipse { stroke: #d62728; stroke-width: 3px; }
g.node.complete > polygon { stroke-width: 2px; }
g.edge text { visibility: hidden; }
g.edge.sent text { visibility: visible; fill: #555; }
g.edge.active path, g.edge.active polygon { stroke: #d62728; stroke-width: 2.5px; }
g.edge.active polygon { fill: #d62728; }
g.edge.active text { fill: #d62728; font-weight: bold; }
"""

_SCRIPT = """
"use strict";
const data = JSON.parse(document.getElementById("steps").textContent);
const frames = data.frames;
let done = 0;          // how many steps are applied
let timer = null;

function gradText(id) {
  const texts = document.getElementById(id).querySelectorAll("text");
  return texts[texts.length - 1];
}
function setGrad(id, value) { gradText(id).textContent = "grad so far " + value; }
function edge(id) { return document.getElementById(id); }

function apply(k) {
  const f = frames[k];
  for (const [id, , after] of f.grads) setGrad(id, after);
  for (const [id] of f.edges) edge(id).classList.add("sent");
  document.getElementById(f.node).classList.add("complete");
}
function undo(k) {
  const f = frames[k];
  for (const [id, before] of f.grads) setGrad(id, before);
  for (const [id] of f.edges) edge(id).classList.remove("sent");
  document.getElementById(f.node).classList.remove("complete");
}
function show() {
  for (const el of document.querySelectorAll(".current, .active")) el.classList.remove("current", "active");
  const f = done > 0 ? frames[done - 1] : null;
  if (f) {
    const node = document.getElementById(f.node);
    node.classList.add("current");
    // Drawings are shown at their own size, readable on a projector; keep the current node in view.
    node.scrollIntoView({ block: "nearest", inline: "center" });
    for (const [id] of f.edges) edge(id).classList.add("active");
  }
  let text = f ? f.record : data.startText;
  if (done === frames.length) text += "\\n\\n" + data.endText;
  document.getElementById("record").textContent = text;
  document.getElementById("status").textContent = "step " + done + " of " + frames.length;
  document.querySelectorAll("#lines li").forEach((li, i) => {
    li.classList.toggle("done", i < done);
    li.classList.toggle("current", i === done - 1);
  });
  document.getElementById("back").disabled = done === 0;
  document.getElementById("reset").disabled = done === 0;
  document.getElementById("next").disabled = done === frames.length;
}
function go(target) {
  target = Math.max(0, Math.min(frames.length, target));
  while (done < target) apply(done++);
  while (done > target) undo(--done);
  show();
}
function pause() {
  if (timer !== null) clearInterval(timer);
  timer = null;
  document.getElementById("play").textContent = "▶ Play";
}
function playOrPause() {
  if (timer !== null) return pause();
  if (done === frames.length) go(0);
  document.getElementById("play").textContent = "❚❚ Pause";
  timer = setInterval(() => { go(done + 1); if (done === frames.length) pause(); }, 1200);
}

// Fit the drawing to the window, but never below 60% of its own size: smaller would be unreadable
// on a projector, so a long graph scrolls instead (and follows the current node).
function fit() {
  const svg = document.querySelector("#picture svg");
  const natural = svg.viewBox.baseVal.width * 4 / 3;  // Graphviz sizes in points; CSS pixels are 3/4 pt
  const room = document.getElementById("picture").clientWidth;
  svg.style.width = Math.round(natural * Math.max(0.6, Math.min(1, room / natural))) + "px";
  svg.style.height = "auto";
}
fit();
window.addEventListener("resize", fit);
for (const [id, value] of Object.entries(data.first)) setGrad(id, value);
const list = document.getElementById("lines");
frames.forEach((f, i) => {
  const li = document.createElement("li");
  li.textContent = f.line;
  li.addEventListener("click", () => { pause(); go(i + 1); });
  list.appendChild(li);
});
document.getElementById("next").addEventListener("click", () => { pause(); go(done + 1); });
document.getElementById("back").addEventListener("click", () => { pause(); go(done - 1); });
document.getElementById("reset").addEventListener("click", () => { pause(); go(0); });
document.getElementById("play").addEventListener("click", playOrPause);
document.addEventListener("keydown", (event) => {
  const keys = { ArrowRight: () => go(done + 1), ArrowLeft: () => go(done - 1), Home: () => go(0) };
  if (event.key === " ") { event.preventDefault(); playOrPause(); return; }
  if (keys[event.key]) { event.preventDefault(); pause(); keys[event.key](); }
});
go(data.start);
"""
