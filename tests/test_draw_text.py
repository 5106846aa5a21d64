"""Every text a user controls reaches Graphviz as plain text: never markup, never a syntax error."""

from __future__ import annotations

import pytest

import autodiff
from autodiff import Value
from autodiff.drawing import MAX_TEXT, draw

PAYLOAD = '<<TABLE><TR><TD HREF="javascript:alert(1)">click</TD></TR></TABLE>>'


def _scoped(name: str) -> Value:
    with autodiff.scope(name):
        return Value(2.0, label="x") * Value(3.0, label="w")


def _svg(graph) -> str:
    return graph.pipe(format="svg").decode()


@pytest.mark.parametrize("how", ["scope", "group", "label", "collapse"])
def test_a_markup_payload_is_drawn_as_text_never_as_a_link(how):
    if how == "scope":
        graph = draw(_scoped(PAYLOAD), cluster=True)
    elif how == "group":
        x = Value(2.0, label="x") * 3
        graph = draw(x, cluster=True, group=lambda node: (PAYLOAD,) if node.parents else ())
    elif how == "collapse":
        graph = draw(_scoped(PAYLOAD) + 1, collapse=True)
    else:
        x = Value(2.0, label=PAYLOAD)
        graph = draw(x * 3)
    svg = _svg(graph)
    assert "<a " not in svg and "xlink:href" not in svg
    assert "<TABLE>" in svg.replace("&lt;", "<").replace("&gt;", ">")  # shown as the text it is


@pytest.mark.parametrize("name", ["ends\\", 'a "quoted" \\" name', "tab\there", "nul\x00byte", "lone \ud800",
                                  "x" * 20_000])
def test_hostile_scopes_and_labels_draw(name):
    out = _scoped(name)
    out.label = name
    svg = _svg(draw(out, cluster=True, edge_labels=True))
    assert "<svg" in svg
    assert max(len(t) for t in svg.split(">")) < MAX_TEXT + 500  # long names are shortened


def test_a_trailing_backslash_is_a_backslash():
    svg = _svg(draw(_scoped("layer\\"), cluster=True))
    assert ">layer\\</text>" in svg
