"""How Values, steps, steppers and explanations show themselves in a notebook (``_repr_html_``).

Jupyter calls ``_repr_html_`` on the result of a cell; the classes delegate
here, so the markup lives in one place.  Every number is the record's or the
node's own, formatted by :func:`~autodiff.naming.printed` as in the text views.

>>> from autodiff import Value
>>> card = value_card(Value(2.0, label="x"))
>>> card.startswith("<table") and "<b>x</b>" in card and "data" in card
True
"""

from __future__ import annotations

from html import escape
from typing import Any

from .naming import kind, printed
from .node import Node

_TABLE = 'style="border-collapse: collapse; font-family: Helvetica, Arial, sans-serif; font-size: 13px"'
_CELL = 'style="border: 1px solid #ccc; padding: 2px 8px; text-align: left"'
_RECORD = ('style="background: #f6f6f6; border-left: 4px solid #000000; padding: 6px; '
           'font-size: 12px; white-space: pre-wrap"')


def _table(head: list[str], rows: list[list[str]], caption: str = "") -> str:
    """An HTML table; cells are escaped here, except those already marked up (a tuple ('html', text))."""
    def cell(tag: str, text: Any) -> str:
        content = text[1] if isinstance(text, tuple) else escape(str(text))
        return f"<{tag} {_CELL}>{content}</{tag}>"

    lines = [f"<table {_TABLE}>"]
    if caption:
        lines.append(f'<caption style="text-align: left; padding: 2px 0">{escape(caption)}</caption>')
    if head:
        lines.append("<tr>" + "".join(cell("th", h) for h in head) + "</tr>")
    lines += ["<tr>" + "".join(cell("td", c) for c in row) + "</tr>" for row in rows]
    return "\n".join(lines + ["</table>"])


def value_card(value: Node) -> str:
    """A small card: label, data, grad and the op that made the value."""
    name = value.label if value.label is not None else "(no label)"
    grad = value.grad.data if hasattr(value.grad, "data") else value.grad
    rows = [["data", printed(value.data)], ["grad", printed(grad)], ["op", kind(value)]]
    if value.parents:
        rows.append(["inputs", len(value.parents)])
    return _table([("html", f"<b>{escape(name)}</b>"), "Value"], rows)


def step_table(step: Any) -> str:
    """One step: its heading, the upstream gradient, a row per operand (partial, contribution, gradient)."""
    gradient = f"d({step.root})/d({step.name})"
    caption = f"{step.title}  {step.tag}"
    if not step.node.parents:
        return _table([], [[f"{gradient} = {printed(step.upstream)} is complete; a leaf passes nothing on"]],
                      caption)
    rows = []
    for c in step.contributions:
        if c.formula is None:
            rows.append([c.name, "a constant, no gradient", "", ""])
            continue
        local = c.formula if c.formula == printed(c.partial) else f"{c.formula} = {printed(c.partial)}"
        sent = f"{printed(c.partial)} × {printed(step.upstream)} = {printed(c.contribution)}"
        rows.append([c.name, local, sent, f"{printed(c.before)} → {printed(c.after)}"])
    head = ["operand", f"local ∂{step.name}/∂operand", "contribution (partial × upstream)", "gradient so far"]
    upstream = f"upstream gradient {gradient} = {printed(step.upstream)}"
    return f'<p style="margin: 2px 0">{escape(caption)}<br>{escape(upstream)}</p>' + _table(head, rows)


def steps_table(records: list[Any]) -> str:
    """Several steps, one line each."""
    return _table(["step", "record"], [[r.index, repr(r).split(": ", 1)[1]] for r in records])


def stepper_view(stepper: Any) -> str:
    """The graph with the current node highlighted (gradients so far in the records), and the last record."""
    from .drawing import TooBigToDraw, draw, render

    try:
        svg = render(draw(stepper.root, highlight=stepper, params=stepper.params, edge_labels=True),
                     "svg").decode("utf-8")
        picture = svg[svg.index("<svg"):]
    except TooBigToDraw as error:
        picture = f"<p>(no picture: {escape(str(error))})</p>"
    except Exception as error:  # noqa: BLE001 - Graphviz missing or failing must not hide the record
        picture = f"<p>(no picture: {escape(type(error).__name__)}: {escape(str(error))})</p>"
    last = stepper.records[-1] if stepper.records else None
    record = str(last) if last is not None else "no step yet: call step()"
    where = f"<p style=\"margin: 4px 0\"><b>{escape(stepper.where())}</b></p>"
    return f'<div>{picture}{where}<pre {_RECORD}>{escape(record)}</pre></div>'


def explanation_table(explanation: Any) -> str:
    """d(root)/d(leaf) as a table: one row per path (its factors, their values, the product), then the sum."""
    d = f"d({explanation.root})/d({explanation.leaf})"
    plural = "path" if explanation.count == 1 else "paths"
    shown = "" if explanation.complete else f", the {len(explanation.terms)} largest shown"
    rows = []
    for term in explanation.terms:
        factors = [f for f in term.factors if not f.is_one] or term.factors
        rows.append([" → ".join(term.nodes), " × ".join(f.short for f in factors),
                     " × ".join(printed(f.value) for f in factors), printed(term.product)])
    verdict = "they agree" if explanation.agrees else "they differ"
    rows.append([("html", "<b>sum</b>"), "", "", ("html", f"<b>{printed(explanation.total)}</b>")])
    caption = f"{d}: {explanation.count} {plural}{shown}"
    note = (f"<p style=\"margin: 2px 0\">{escape(d)} = {printed(explanation.total)}; "
            f"{escape(explanation.leaf)}.grad = {printed(explanation.grad)}: {verdict}</p>")
    return _table(["path", "product of local partials", "values", "="], rows, caption) + note
