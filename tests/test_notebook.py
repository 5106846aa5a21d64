"""Notebook views (HTML of Values, steps, steppers, explanations) and the tutorial notebook run by a kernel.

The tutorial (3Blue1Brown's chain: build, draw, step, explain, play, train) is
executed end to end by a real IPython kernel through nbclient, and each of its
outputs is compared with what the engine gives for the same graph here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import labelled_chain, labelled_neuron

import autodiff
from autodiff import Value
from autodiff.stepping import steps

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial_chain.ipynb"


# -- the HTML views themselves -------------------------------------------------------------


def test_a_value_is_a_small_card():
    o, x, *_ = labelled_neuron()
    o.backward()
    card = x._repr_html_()
    assert "<b>x</b>" in card and ">data</td>" in card and ">2</td>" in card and ">-1.5</td>" in card
    assert ">leaf</td>" in card and "inputs" not in card
    assert ">tanh</td>" in o._repr_html_() and ">inputs</td>" in o._repr_html_()


def test_a_step_is_a_table_of_its_edges():
    o, *_ = labelled_neuron()
    stepper = steps(o)
    stepper.run_to("x * w")
    table = stepper.records[-1]._repr_html_()
    assert "step 3 of 6: x * w  [mul, data -6]" in table
    assert "upstream gradient d(o)/d(x * w) = 0.5" in table
    assert ">w = -3</td>" in table and ">-3 × 0.5 = -1.5</td>" in table and ">0 → -1.5</td>" in table


def test_a_stepper_shows_the_graph_with_its_node_highlighted_and_the_record():
    o, *_ = labelled_neuron()
    stepper = steps(o)
    assert "no step yet" in stepper._repr_html_()
    stepper.run_to("n")
    view = stepper._repr_html_()
    assert view.count("<svg") == 1 and 'stroke="#000000"' in view  # the highlight, drawn by Graphviz
    assert "grad so far 0.5" in view
    assert "2 of 6 steps done, last n (add), next x * w (mul)" in view
    assert "step 2 of 6: n = x * w + b  [add, data 0.881374]" in view


def test_a_stepper_too_big_to_draw_still_shows_its_record():
    big = autodiff.sum([Value(float(i), label=f"v{i}") * 2 for i in range(300)])
    stepper = steps(big)
    stepper.step()
    view = stepper._repr_html_()
    assert "no picture: this drawing would have" in view and "step 1 of 601" in view


def test_an_explanation_is_a_table_of_paths():
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    y.backward()
    table = autodiff.explain(y, x)._repr_html_()
    assert "d(y)/d(x): 2 paths" in table and table.count("<td") == 4 * 3
    assert "<b>6</b>" in table and "x.grad = 6: they agree" in table


def test_steps_list_one_line_each():
    o, *_ = labelled_neuron()
    table = steps(o).run()._repr_html_()
    assert table.count("<tr>") == 1 + 6 and "x [leaf, data 2]: d(o)/d(x) = -1.5 is complete" in table


# -- the tutorial notebook, run by a kernel --------------------------------------------------


def chain(weights, biases, a0=0.6, y=1.0):
    """The notebook's chain, built here again so its outputs can be checked against the engine."""
    a = Value(a0, label="a0")
    for layer, (w, b) in enumerate(zip(weights, biases), start=1):
        z = w * a + b
        z.label = f"z{layer}"
        a = z.sigmoid()
        a.label = f"a{layer}"
    difference = a - y
    difference.label = "a3 - y"
    cost = difference**2
    cost.label = "C"
    return cost


def parameters():
    w = [Value(0.5, label="w1"), Value(-1.2, label="w2"), Value(0.8, label="w3")]
    b = [Value(0.1, label="b1"), Value(0.3, label="b2"), Value(-0.2, label="b3")]
    return w, b


@pytest.fixture(scope="module")
def outputs():
    """Run the notebook in a fresh kernel; its outputs by cell tag."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []  # whatever was saved, only this run counts
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    found = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        (tag,) = cell.metadata["tags"]
        for output in cell.outputs:
            assert output.output_type != "error" and output.get("name") != "stderr", (tag, output)
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert len(results) == 1, tag
        found[tag] = results[0]["data"]
    return found


def test_the_notebook_builds_and_draws_the_chain(outputs):
    w, b = parameters()
    cost = chain(w, b)
    assert outputs["build"]["text/plain"] == repr(cost)
    assert outputs["build"]["text/html"] == cost._repr_html_()
    drawing = autodiff.draw(cost, params=w + b, edge_labels=True).pipe(format="svg").decode()
    assert outputs["draw"]["image/svg+xml"].strip() == drawing.strip()


def test_the_notebooks_steps_are_the_steppers_records(outputs):
    w, b = parameters()
    stepper = steps(chain(w, b))
    first = stepper.step()
    assert outputs["step"]["text/plain"] == repr(first)
    assert outputs["step"]["text/html"] == first._repr_html_()
    stepper.run_to("z3")
    assert outputs["run_to"]["text/plain"] == repr(stepper)
    assert outputs["run_to"]["text/html"] == stepper._repr_html_()
    stepper.back()
    assert outputs["back"]["text/plain"] == repr(stepper)
    assert outputs["back"]["text/html"] == stepper._repr_html_()
    assert outputs["run"]["text/plain"] == repr(stepper.run())


def test_the_notebooks_gradients_explanation_and_page_are_the_engines(outputs):
    w, b = parameters()
    cost = chain(w, b)
    cost.backward()
    assert ast.literal_eval(outputs["gradients"]["text/plain"]) == {p.label: round(p.grad, 6) for p in w + b}
    assert outputs["explain"]["text/plain"] == repr(autodiff.explain(cost, "w3"))
    assert outputs["explain"]["text/html"] == autodiff.explain(cost, "w3")._repr_html_()
    page = autodiff.play(cost)
    assert outputs["play"]["text/plain"] == repr(page)
    assert outputs["play"]["text/html"] == page._repr_html_()


def test_the_notebook_trains_the_chain_to_the_engines_final_cost(outputs):
    w, b = parameters()
    params, costs = w + b, []
    for _ in range(200):
        cost = chain(w, b)
        for p in params:
            p.grad = 0.0
        cost.backward()
        for p in params:
            p.data -= 1.0 * p.grad
        costs.append(cost.data)
    first, last = ast.literal_eval(outputs["train"]["text/plain"])
    assert (first, last) == (round(costs[0], 6), round(costs[-1], 6))
    assert last < first / 100  # it learned


def test_the_tutorial_chain_is_the_one_the_other_views_use():
    w, b = parameters()
    assert chain(w, b).data == labelled_chain().data
