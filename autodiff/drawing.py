"""Drawings of computation graphs with Graphviz: DOT source, SVG/PNG/PDF files, Jupyter output.

Each Value is a record (name, data, grad) coloured by its role, with an op node
between a result and its inputs, and a legend under the graph names the
colours; edges can carry the local partials of the primitive table.  Large
graphs stay readable by grouping on the nn module a node was made in (its
``scope``): ``cluster`` draws a box around each module, ``collapse`` turns each
module into one node and ``between`` keeps only the paths from one leaf to the
root.  Node ids come from topological positions, so the
same graph always gives the same bytes.  :func:`save` writes a drawing in the
format its file name asks for.

>>> from autodiff import Value
>>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
>>> y = x * w; y.label = "y"
>>> y.backward()
>>> print(draw(y, legend=False).source)  # doctest: +NORMALIZE_WHITESPACE
digraph {
    graph [rankdir=LR]
    node [fontname=Helvetica fontsize=11]
    edge [fontname=Helvetica fontsize=9]
    n0 [label="{ x | data 2 | grad -3 }" fillcolor="#bfe3f7" shape=record style=filled]
    n1 [label="{ w | data -3 | grad 2 }" fillcolor="#bfe3f7" shape=record style=filled]
    n2 [label="{ y | data -6 | grad 1 }" fillcolor="#f2b896" shape=record style=filled]
    op2 [label="*" shape=circle]
    op2 -> n2
    n0 -> op2
    n1 -> op2
}
<BLANKLINE>
>>> [cell.split(">")[1] for cell in draw(y).source.split("<TD")[1:]]  # the legend: the roles drawn
['input</TD', 'output (loss)</TD']
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backward import local_partials
from .errors import GraphError
from .files import replaced_atomically
from .graph import topological_order
from .naming import find_node, node_names, partial_formula, printed
from .node import Node

if TYPE_CHECKING:
    import graphviz

#: Fill colour of each role, the same in every view: light tints of the Okabe-Ito palette (sky blue,
#: orange, vermillion, bluish green), told apart with the common kinds of colour blindness and on a
#: washed-out projector; the page also gives each role a shape.  Parameters are leaves in ``params``
#: (by default, leaves that belong to an nn module); inputs are the other leaves.
COLOURS = {
    "input": "#bfe3f7",
    "parameter": "#f7d58c",
    "constant": "#e8e8e8",
    "intermediate": "#ffffff",
    "output": "#f2b896",
    "module": "#a6dcc9",
}
#: What the legend calls each role.
ROLE_NAMES = {
    "input": "input",
    "parameter": "parameter",
    "constant": "constant",
    "intermediate": "intermediate",
    "output": "output (loss)",
    "module": "module",
}
HIGHLIGHT = {"color": "#000000", "penwidth": "4"}  # black and thick: it reads without colour
#: File suffixes :func:`save` writes, and the Graphviz format of each (None: the DOT source itself).
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}


class TooBigToDraw(GraphError):
    """A drawing over ``max_nodes``: ``size`` is how many nodes it would have had."""

    def __init__(self, message: str, size: int, max_nodes: int) -> None:
        super().__init__(message)
        self.size, self.max_nodes = size, max_nodes


@dataclass(frozen=True)
class Look:
    """How values and edges read in a drawing; :func:`draw` makes one, the page makes its own.

    ``grad(node)`` is the third field of a value's record; ``edge(node, index,
    partial, names)`` gives the attributes of the edge from ``node.parents[index]``
    into the op node of ``node`` (``partial`` is its local partial when
    ``partials`` is set, else None); ``ids`` gives SVG elements stable ids (``n3``, ``op3``,
    ``e3_1``: the edge from operand 1 into the op of the node at position 3) so
    a script can find them.
    """

    grad: Callable[[Node], str]
    edge: Callable[[Node, int, float | None, dict[int, str]], dict[str, str]]
    partials: bool = False
    current: Any = None
    ids: bool = False


def draw(
    root: Node,
    path: str | os.PathLike[str] | None = None,
    *,
    params: Iterable[Node] | None = None,
    edge_labels: bool = False,
    highlight: Any = None,
    rankdir: str = "LR",
    cluster: bool = False,
    collapse: bool | int = False,
    between: Any = None,
    group: Grouping | None = None,
    max_nodes: int = 500,
    legend: bool = True,
) -> graphviz.Digraph:
    """Draw the graph of ``root``; return a :class:`graphviz.Digraph` (it renders in Jupyter).

    With ``path`` the drawing is also written there, in the format its suffix
    names (``draw(o, "graph.svg")``; .png, .pdf, .dot as for :func:`save`).

    - ``params``: the parameter leaves (default: leaves that belong to a module, see
      :func:`scope_levels`); the other leaves are inputs.
    - ``edge_labels``: label each edge with its local partial (the formula is the tooltip).
    - ``highlight``: a node, or a :class:`~autodiff.stepping.Stepper`: its current node is
      highlighted and, mid-sweep, records show the gradients of the pass so far.
    - ``rankdir``: ``"LR"`` (left to right) or ``"TB"`` (top to bottom).
    - ``cluster``: draw a box around the nodes of each module.
    - ``group``: the modules a node belongs to, outermost first, as a function of the node
      (default :func:`scope_levels`: the nested :func:`autodiff.scope` blocks it was made in).
    - ``collapse``: draw each module as one node (``True``: the innermost modules;
      ``n``: the first n module levels, so ``1`` gives one node per layer);
      inputs outside modules become one ``inputs`` node.
    - ``between``: a leaf (or its label): keep only the paths from it to the root.
    - ``max_nodes``: refuse larger drawings (Graphviz would take minutes).
    - ``legend``: name the colours of the roles drawn, under the graph.
    """
    stepping = highlight if hasattr(highlight, "gradient_so_far") and not highlight.done else None
    look = Look(
        # Mid-sweep, .grad is not written yet: show this pass so far.
        grad=(lambda node: f"grad so far {printed(stepping.gradient_so_far(node))}") if stepping is not None
        else (lambda node: f"grad {printed(node.grad)}"),
        edge=_partial_label if edge_labels else _no_label,
        partials=edge_labels,
        current=getattr(highlight, "current", highlight),
    )
    graph = draw_with(look, root, params=params, rankdir=rankdir, cluster=cluster, collapse=collapse,
                      between=between, group=group, max_nodes=max_nodes, legend=legend)
    if path is not None:
        save(graph, path)
    return graph


def draw_with(look: Look, root: Node, *, params: Iterable[Node] | None = None, rankdir: str = "LR",
              cluster: bool = False, collapse: bool | int = False, between: Any = None,
              group: Grouping | None = None, max_nodes: int = 500,
              legend: bool = True) -> graphviz.Digraph:
    """:func:`draw` with a :class:`Look` of your own (the other options as there)."""
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', not {rankdir!r}")
    check_max_nodes(max_nodes)
    plan = _plan(root, params, between, collapse, group)
    if plan.size > max_nodes:
        raise TooBigToDraw(
            f"this drawing would have {plan.size} nodes (max_nodes={max_nodes}); Graphviz would take "
            "minutes and the picture would be unreadable. Use collapse=True (one node per module), "
            "between=<a leaf or its label> (only the paths from that leaf to the root), "
            "or raise max_nodes.", plan.size, max_nodes,
        )
    return _render(plan, look, rankdir, cluster, legend)


def check_max_nodes(max_nodes: Any) -> None:
    """Refuse a ``max_nodes`` that is not a whole number >= 1, before any work."""
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise TypeError(f"max_nodes is the most nodes to draw: a whole number >= 1, not {max_nodes!r} "
                        f"({type(max_nodes).__name__})")


def save(graph: graphviz.Digraph, path: str | os.PathLike[str]) -> Path:
    """Write a drawing to ``path`` in the format its suffix names (.svg, .png, .pdf; .dot or .gv: source).

    The file is replaced atomically; an unknown suffix is refused before anything is rendered.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"cannot tell which format to write {str(path)!r} in: the suffix {suffix or '(none)'} is not one "
            f"of {', '.join(FORMATS)}; name the file e.g. {path.stem or 'graph'}.svg"
        )
    kind = FORMATS[suffix]
    data = graph.source.encode() if kind is None else render(graph, kind)
    with replaced_atomically(path) as file:
        file.write(data)
    return path


#: Seconds Graphviz may spend laying a drawing out.  Within max_nodes a fan-out (x into a hundred
#: tanh nodes, summed) took dot over 15 minutes; a drawing people can read takes about a second.
LAYOUT_SECONDS = 60.0


class LayoutTooSlow(GraphError):
    """Graphviz did not finish laying a drawing out within its time limit (it was stopped)."""


def render(graph: graphviz.Digraph, kind: str = "svg", seconds: float | None = None) -> bytes:
    """The drawing in the Graphviz format ``kind``, laid out by ``dot`` within ``seconds``.

    ``dot`` is stopped when the limit (:data:`LAYOUT_SECONDS` by default) is
    reached, and on Linux it also ends with its caller, so a killed caller
    never leaves it running.
    """
    import subprocess

    limit = LAYOUT_SECONDS if seconds is None else seconds
    try:
        done = subprocess.run([graph.engine, f"-T{kind}"], input=graph.source.encode(graph.encoding),
                              capture_output=True, timeout=limit, preexec_fn=_end_with_parent, check=False)
    except FileNotFoundError:
        raise GraphError(f"Graphviz's {graph.engine!r} program is not installed: install Graphviz "
                         "(e.g. apt-get install graphviz), or write the source to a .dot file") from None
    except subprocess.TimeoutExpired:
        raise LayoutTooSlow(f"Graphviz had not laid this drawing out after {limit:g} s and was stopped: use "
                            "collapse=True (one node per module) or between=<a leaf> (only its paths to the "
                            "root), or raise autodiff.drawing.LAYOUT_SECONDS") from None
    if done.returncode != 0:
        raise GraphError(f"Graphviz's {graph.engine} failed (exit {done.returncode}): "
                         f"{done.stderr.decode(errors='replace').strip()[:500]}")
    return done.stdout


def _end_with_parent() -> None:
    """In the child, before it runs dot: ask Linux to kill it when its parent dies (elsewhere: nothing)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass


def _partial_label(node: Node, index: int, partial: float | None, names: dict[int, str]) -> dict[str, str]:
    """The local partial on the edge (a number), its formula as the tooltip; nothing for a constant."""
    if partial is None:
        return {}
    return {"label": printed(partial), "tooltip": _plain(partial_formula(node, index, names))}


def _no_label(node: Node, index: int, partial: float | None, names: dict[int, str]) -> dict[str, str]:
    return {}


# -- what to draw ----------------------------------------------------------------


@dataclass
class _Plan:
    order: list[Node]
    names: dict[int, str]
    position: dict[int, int]
    roles: dict[int, str]
    scopes: dict[int, str | None]  # the innermost module of each node, or None
    chains: dict[str, tuple[str, ...]]  # each module -> the modules around it and itself, outermost first
    kept: list[Node]  # nodes drawn as themselves, in topological order
    group: dict[int, str] = field(default_factory=dict)  # node id -> module node it is folded into
    groups: dict[str, int] = field(default_factory=dict)  # module node -> its number, by first appearance

    @property
    def size(self) -> int:
        ops = sum(1 for node in self.kept if node.parents)
        return len(self.kept) + ops + len(self.groups)


def _plan(root: Node, params: Iterable[Node] | None, between: Any, collapse: bool | int,
          group: Grouping | None) -> _Plan:
    order = topological_order(root)
    names = node_names(order)
    levels = _levels(order, group)
    chains = {chain[k]: chain[: k + 1] for chain in levels.values() for k in range(len(chain))}
    scopes = {key: chain[-1] if chain else None for key, chain in levels.items()}
    chosen = None if params is None else {id(p) for p in params}
    roles = {id(node): _role(node, root, chosen, scopes) for node in order}
    nodes = order if between is None else _between(order, find_node(order, between, "leaf", names))
    plan = _Plan(order, names, {id(n): i for i, n in enumerate(order)}, roles, scopes, chains, [])
    for node in nodes:
        key = _group_key(levels[id(node)], roles[id(node)], collapse) if node is not root else None
        if key is None:
            plan.kept.append(node)
            continue
        plan.groups.setdefault(key, len(plan.groups))
        plan.group[id(node)] = key
    return plan


#: A grouping: the modules a node belongs to, outermost first (empty: none).
Grouping = Callable[[Node], Sequence[str]]


def scope_levels(node: Node) -> tuple[str, ...]:
    """The default grouping: the nested :func:`autodiff.scope` blocks a node was made in.

    A leaf given a plain string as its scope (nn gives a module's parameters its
    name) belongs to that module, at the levels the module's own nodes have.
    """
    scope = node.scope
    if hasattr(scope, "levels"):
        return scope.levels()
    return (scope,) if scope else ()


def _levels(order: list[Node], group: Grouping | None) -> dict[int, tuple[str, ...]]:
    """Each node's modules, outermost first; a leaf named only by its innermost module gets that module's."""
    levels = {id(node): tuple((group or scope_levels)(node)) for node in order}
    known = {chain[-1]: chain for chain in levels.values() if chain}
    return {key: known.get(chain[-1], chain) if len(chain) == 1 else chain for key, chain in levels.items()}


def _role(node: Node, root: Node, params: set[int] | None, scopes: dict[int, str | None]) -> str:
    if node is root:
        return "output"
    if node.is_constant:
        return "constant"
    if node.parents:
        return "intermediate"
    if params is not None:
        return "parameter" if id(node) in params else "input"
    # A scope of "" (not None) marks a leaf an unnamed top module owns: a standalone Neuron's weights.
    is_param = scopes[id(node)] is not None or node.scope is not None
    return "parameter" if is_param else "input"


def _between(order: list[Node], leaf: Node) -> list[Node]:
    """The nodes on some path from ``leaf`` up to the root (every node reaches the root)."""
    reached = {id(leaf)}
    for node in order:
        if any(id(p) in reached for p in node.parents):
            reached.add(id(node))
    return [node for node in order if id(node) in reached]


def _group_key(levels: tuple[str, ...], role: str, collapse: bool | int) -> str | None:
    if collapse is False:
        return None
    if not levels:
        return "inputs" if role == "input" else None
    return levels[-1] if collapse is True else levels[min(int(collapse), len(levels)) - 1]


# -- Graphviz output ----------------------------------------------------------------


@functools.cache
def _bounded_digraph() -> type:
    """graphviz.Digraph whose renderings (Jupyter's picture, ``pipe``) go through :func:`render`.

    Made on first use: ``import autodiff`` does not import graphviz.
    """
    import graphviz

    class Drawing(graphviz.Digraph):
        """A drawing: laid out within LAYOUT_SECONDS by a ``dot`` that ends with its caller."""

        def pipe(self, format: str | None = None, renderer: str | None = None,  # noqa: A002 - graphviz's
                 formatter: str | None = None, neato_no_op: Any = None, quiet: bool = False, *,
                 engine: str | None = None, encoding: str | None = None) -> Any:
            if renderer or formatter or neato_no_op or engine not in (None, self.engine):
                return super().pipe(format, renderer, formatter, neato_no_op, quiet, engine=engine,
                                    encoding=encoding)
            data = render(self, format or self.format)
            return data.decode(encoding) if encoding else data

    return Drawing


def _render(plan: _Plan, look: Look, rankdir: str, cluster: bool, legend: bool) -> graphviz.Digraph:
    graph_attr = {"rankdir": rankdir}
    if legend:
        graph_attr.update(_legend(_roles_drawn(plan), look.partials))
    graph = _bounded_digraph()(
        graph_attr=graph_attr,
        node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
    boxes: dict[str, list[tuple[str, dict[str, str]]]] = {}  # module -> its nodes, when clustering

    def add(scope: str | None, name: str, attrs: dict[str, str]) -> None:
        if look.ids:
            attrs = {**attrs, "id": name}
        if cluster and scope is not None:
            boxes.setdefault(scope, []).append((name, attrs))
        else:
            graph.node(name, **attrs)

    _add_groups(plan, add)
    _add_values(plan, look, add)
    if cluster:
        _clusters(graph, boxes, plan.chains)
    _add_edges(graph, plan, look)
    return graph


def _roles_drawn(plan: _Plan) -> list[str]:
    """The roles of what is drawn, in the order of COLOURS."""
    drawn = {plan.roles[id(node)] for node in plan.kept}
    drawn.update("input" if key == "inputs" else "module" for key in plan.groups)
    return [role for role in COLOURS if role in drawn]


def _legend(roles: list[str], partials: bool = False) -> dict[str, str]:
    """A row of coloured cells under the graph, one per role drawn, and what edge numbers mean.

    The colours are written in upper case, unlike the nodes', so that counting
    a role's colour in the DOT source still counts the nodes of that role.
    """
    cells = "".join(f'<TD BGCOLOR="{COLOURS[role].upper()}" BORDER="1">{ROLE_NAMES[role]}</TD>'
                    for role in roles)
    if partials:  # the same sentence as the page's legend: an edge number is the local partial in every view
        cells += '<TD BORDER="0">edge numbers: the local partial ∂output/∂input</TD>'
    return {"label": f'<<TABLE BORDER="0" CELLSPACING="4"><TR>{cells}</TR></TABLE>>', "labelloc": "b",
            "labeljust": "l", "fontname": "Helvetica", "fontsize": "9"}


def _add_groups(plan: _Plan, add: Callable[[str | None, str, dict[str, str]], None]) -> None:
    """One record per collapsed module: its name, its size and what it holds."""
    members: dict[str, list[Node]] = {key: [] for key in plan.groups}
    for node in plan.order:
        if id(node) in plan.group:
            members[plan.group[id(node)]].append(node)
    for key, index in plan.groups.items():
        label = _record(key, f"{len(members[key])} nodes", _op_summary(members[key], plan.roles))
        chain = plan.chains.get(key, ())
        scope = chain[-2] if len(chain) > 1 else None
        add(scope, f"g{index}", {"label": label, "shape": "record", "style": "filled",
                                  "fillcolor": COLOURS["module" if key != "inputs" else "input"]})


def _add_values(plan: _Plan, look: Look, add: Callable[[str | None, str, dict[str, str]], None]) -> None:
    """A record per value kept (name, data, grad) and an op node under each result."""
    for node in plan.kept:
        position, role = plan.position[id(node)], plan.roles[id(node)]
        attrs = {"shape": "record", "style": "filled", "fillcolor": COLOURS[role]}
        if role == "constant":  # a number, nothing more to say
            attrs.update(label=printed(node.data), shape="box")
        else:
            attrs["label"] = _record(plan.names[id(node)], f"data {printed(node.data)}", look.grad(node))
        if node.site is not None:  # anomaly mode recorded where the node was made
            attrs["tooltip"] = _plain(f"made at {node.site}")
        if node is look.current:
            attrs.update(HIGHLIGHT)
        add(plan.scopes[id(node)], f"n{position}", attrs)
        if node.parents:
            add(plan.scopes[id(node)], f"op{position}", _op_attrs(node))


def _add_edges(graph: graphviz.Digraph, plan: _Plan, look: Look) -> None:
    """Operands into op nodes, op nodes into results; edges from or to module nodes merged, with counts."""
    kept = {id(node) for node in plan.kept}
    counts: Counter[tuple[str, str]] = Counter()
    for node in plan.kept:
        if not node.parents:
            continue
        position = plan.position[id(node)]
        graph.edge(f"op{position}", f"n{position}", **({"id": f"out{position}"} if look.ids else {}))
        partials = local_partials(node) if look.partials else [None] * len(node.parents)
        for index, parent in enumerate(node.parents):
            source = _source(plan, parent, kept)
            if source is None:
                continue
            if source.startswith("g"):
                counts[(source, f"op{position}")] += 1
                continue
            attrs = look.edge(node, index, partials[index], plan.names)
            if look.ids:
                attrs = {**attrs, "id": f"e{position}_{index}"}
            graph.edge(source, f"op{position}", **attrs)
    for node in plan.order:  # edges into module nodes
        target = plan.group.get(id(node))
        if target is None:
            continue
        for parent in node.parents:
            source = _source(plan, parent, kept)
            if source is not None and source != _group_id(plan, target):
                counts[(source, _group_id(plan, target))] += 1
    for (source, target), count in counts.items():
        graph.edge(source, target, **({"label": f"×{count}"} if count > 1 else {}))


def _source(plan: _Plan, parent: Node, kept: set[int]) -> str | None:
    """The drawn node an edge from ``parent`` starts at (None if not drawn)."""
    if id(parent) in kept:
        return f"n{plan.position[id(parent)]}"
    key = plan.group.get(id(parent))
    return None if key is None else _group_id(plan, key)


def _group_id(plan: _Plan, key: str) -> str:
    return f"g{plan.groups[key]}"


def _clusters(graph: graphviz.Digraph, boxes: dict[str, list[tuple[str, dict[str, str]]]],
              chains: dict[str, tuple[str, ...]]) -> None:
    """Nest a Graphviz cluster per module level (``layers.0`` holds ``layers.0.neurons.3``)."""
    tree: dict[str, set[str]] = {}
    for scope in boxes:
        levels = chains.get(scope, (scope,))
        for outer, inner in zip(["", *levels], levels):
            tree.setdefault(outer, set()).add(inner)

    def emit(parent: graphviz.Digraph, scope: str) -> None:
        with parent.subgraph(name=_plain(f"cluster_{scope}")) as box:
            box.attr(label=_plain(scope), style="rounded", color="#888888", fontname="Helvetica")
            for name, attrs in boxes.get(scope, []):
                box.node(name, **attrs)
            for inner in sorted(tree.get(scope, ()), key=_natural):
                emit(box, inner)

    for top in sorted(tree.get("", ()), key=_natural):
        emit(graph, top)


def _natural(scope: str) -> list[Any]:
    """Sort layers.2 before layers.10."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in scope.split(".")]


def _op_attrs(node: Node) -> dict[str, str]:
    return {"label": _plain(node.primitive.symbol), "shape": "circle"}


def _op_summary(members: list[Node], roles: dict[int, str]) -> str:
    ops = Counter(node.primitive.name if node.primitive is not None else roles[id(node)] for node in members)
    return ", ".join(f"{op} ×{count}" if count > 1 else op for op, count in ops.items())


def _record(*fields: str) -> str:
    return "{ " + " | ".join(_escape(f) for f in fields) + " }"


def _escape(text: str) -> str:
    """A field of a record as plain text: what records treat as structure escaped."""
    text = _clean(text)
    for char in "\\{}|<>":
        text = text.replace(char, "\\" + char)
    return text


def _plain(text: str) -> str:
    """Any other text reaching DOT, as plain text: never an HTML-like label, a backslash only a backslash.

    A scope or label such as ``<<TABLE>...<TD HREF="javascript:...">...>>`` would
    otherwise become markup (a link in the SVG); every name, label and tooltip
    the user controls goes through here or :func:`_escape`.
    """
    import graphviz

    return graphviz.escape(_clean(text))


#: Longer texts are shortened in drawings (Graphviz fails on labels of about 16,000 characters).
MAX_TEXT = 200


def _clean(text: str) -> str:
    """Text Graphviz can take: control characters and lone surrogates replaced, at most MAX_TEXT long."""
    text = str(text).encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    if not text.isprintable():
        text = "".join(c if c.isprintable() else "\ufffd" for c in text)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "\u2026"
