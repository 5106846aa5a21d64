"""The stepper: one record per node of backward's sweep, ending exactly where backward ends."""

import pytest
from helpers import labelled_neuron as neuron
from hypothesis import given

from autodiff import GraphError, StaleGraphError, Value, topological_order
from autodiff.naming import printed
from autodiff.stepping import Stepper, steps
from autodiff.testing.strategies import graphs


def test_records_follow_backward_order_and_carry_the_chain_rule():
    o, x, w, b = neuron()
    records = list(steps(o))
    sweep = [node for node in reversed(topological_order(o))]
    assert [r.node for r in records] == sweep
    first = records[0]
    assert (first.index, first.total, first.upstream) == (1, 6, 1.0)
    (edge,) = first.contributions
    assert edge.formula == "1 - o ** 2"
    assert edge.partial == pytest.approx(0.5)
    assert edge.contribution == edge.partial * 1.0
    assert (edge.before, edge.after) == (0.0, edge.contribution)
    mul = records[2]
    assert [c.name for c in mul.contributions] == ["x", "w"]
    assert [c.formula for c in mul.contributions] == ["w", "x"]
    assert [c.partial for c in mul.contributions] == [-3.0, 2.0]
    text = str(mul)
    assert "step 3 of 6: x * w" in text
    assert "x: local ∂(x * w)/∂x = w = -3" in text
    assert "contribution -3 × 0.5 = -1.5, gradient 0 → -1.5" in text
    assert "d(o)/d(x) = -1.5 is complete" in str(records[-1])


def test_repeated_parent_shows_both_edges_adding_up():
    x = Value(3.0, label="x")
    y = x * x
    (record, leaf) = steps(y).run()
    first, second = record.contributions
    assert (first.before, first.after) == (0.0, 3.0)
    assert (second.before, second.after) == (3.0, 6.0)
    assert x.grad == 6.0 and leaf.upstream == 6.0


def test_constants_get_no_step_and_no_gradient():
    x = Value(2.0, label="x")
    y = x * 5
    records = steps(y).run()
    assert [r.node for r in records] == [y, x]
    assert records[0].contributions[1].formula is None
    assert "5: a constant, no gradient" in str(records[0])


def test_grad_is_written_only_at_the_end_and_equals_backward():
    o, x, w, b = neuron()
    stepper = steps(o)
    stepper.run_to("n")
    assert x.grad == 0.0 and o.grad == 0.0
    stepper.run()
    reference, *leaves = neuron()
    reference.backward()
    assert [x.grad, w.grad, b.grad] == [leaf.grad for leaf in leaves]


def test_existing_gradients_accumulate_like_backward():
    o, x, w, b = neuron()
    o.backward()
    steps(o).run()
    twice, *leaves = neuron()
    twice.backward()
    twice.backward()
    assert [x.grad, w.grad, b.grad] == [leaf.grad for leaf in leaves]


@given(graphs(max_inputs=3, max_nodes=8))
def test_random_graphs_records_obey_the_chain_rule_and_end_as_backward(graph):
    _, root = graph.build()
    records = steps(root).run()
    received: dict[int, float] = {id(root): 1.0}
    for record in records:
        assert record.upstream == received.get(id(record.node), 0.0)  # complete before it is passed on
        for c in record.contributions:
            if c.partial is None:
                continue
            assert c.contribution == c.partial * record.upstream
            assert c.before == received.get(id(c.parent), 0.0)
            assert c.after == c.before + c.contribution
            received[id(c.parent)] = c.after
    _, reference = graph.build()
    reference.backward()
    stepped = [node.grad for node in topological_order(root)]
    assert stepped == [node.grad for node in topological_order(reference)]


def test_where_and_repr_tell_the_position():
    o, x, w, b = neuron()
    stepper = Stepper(o)
    assert stepper.where() == "0 of 6 steps done, next o (tanh)"
    stepper.step()
    assert stepper.current is o and stepper.next_node.label == "n"
    assert repr(stepper) == "<Stepper over 'o': 1 of 6 steps done, last o (tanh), next n (add)>"
    stepper.run()
    assert stepper.done and stepper.where() == "all 6 steps done; gradients added to .grad"


def test_stepping_past_the_end_is_an_error():
    o, *_ = neuron()
    stepper = steps(o)
    stepper.run()
    with pytest.raises(GraphError, match="already stepped to the end"):
        stepper.step()
    with pytest.raises(GraphError, match="already at the end"):
        list(stepper)


def test_run_to_rejects_nodes_already_stepped_constants_and_strangers():
    x = Value(2.0, label="x")
    y = x * 5
    y.label = "y"
    stepper = steps(y)
    stepper.run_to(y)
    with pytest.raises(GraphError, match="already stepped"):
        stepper.run_to("y")
    with pytest.raises(GraphError, match="constant"):
        stepper.run_to(y.parents[1])
    with pytest.raises(GraphError, match="not part of this graph"):
        stepper.run_to(Value(1.0))
    with pytest.raises(GraphError, match="no node labelled or named 'q'"):
        stepper.run_to("q")


def test_a_leaf_changed_while_stepping_is_a_stale_graph_and_writes_nothing():
    o, x, w, b = neuron()
    stepper = steps(o)
    stepper.run_to("x * w")
    x.data = 5.0  # after its consumer was stepped: caught when the sweep ends
    with pytest.raises(StaleGraphError, match="'x' was assigned"):
        stepper.run()
    assert (x.grad, w.grad, b.grad, o.grad) == (0.0, 0.0, 0.0, 0.0)
    with pytest.raises(GraphError, match="stopped at an error"):
        stepper.step()


def test_a_leaf_changed_before_its_consumer_is_stepped_is_caught_there():
    o, x, w, b = neuron()
    stepper = steps(o)
    stepper.step()
    w.data = 1.0
    with pytest.raises(StaleGraphError, match="'w' was assigned"):
        stepper.run()


def test_a_backward_in_between_does_not_mix_with_the_stepper():
    # The stepper owns its pass: a backward() on the same graph mid-sweep changes none of its numbers.
    o, x, w, b = neuron()
    stepper = steps(o)
    stepper.run_to("n")
    o.backward()
    once = (x.grad, w.grad, b.grad)
    records = stepper.run()
    assert records[-1].upstream == once[0]  # x's record: this pass's gradient, not twice it
    assert (x.grad, w.grad, b.grad) == tuple(2 * g for g in once)


def test_two_steppers_on_one_graph_do_not_mix():
    o, x, *_ = neuron()
    first = steps(o)
    first.step()
    second = steps(o)
    second.run()
    rest = first.run()
    assert [r.upstream for r in rest] == [r.upstream for r in second.records[1:]]
    reference, rx, *_ = neuron()
    reference.backward()
    assert x.grad == 2 * rx.grad


def test_root_must_be_a_value():
    with pytest.raises(GraphError, match="needs a Value"):
        steps(3.0)


def test_a_failure_at_the_last_step_is_not_reported_as_done():
    o, x, w, b = neuron()
    stepper = steps(o)
    stepper.run_to("n")
    x.data = 5.0  # its consumer was stepped already: caught only when the sweep ends
    with pytest.raises(StaleGraphError):
        stepper.run()
    assert not stepper.done
    assert stepper.where().startswith("stopped by an error") and ".grad was not changed" in stepper.where()
    assert (x.grad, w.grad, b.grad, o.grad) == (0.0, 0.0, 0.0, 0.0)


def test_a_graph_already_stale_is_refused_before_the_first_record():
    o, x, *_ = neuron()
    x.data = 1.0
    with pytest.raises(StaleGraphError, match="'x' was assigned"):
        steps(o)


def test_headings_bracket_only_where_python_would():
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    n = x * w + b
    n.label = "n"
    assert steps(n).step().heading == "n = x * w + b"
    square = (-x) ** 2  # not -x ** 2, which is -(x ** 2)
    square.label = "s"
    assert steps(square).step().heading == "s = (-x) ** 2"
    scaled = (x + w) * b
    scaled.label = "t"
    assert steps(scaled).step().heading == "t = (x + w) * b"


def test_stepping_a_graph_already_backpropagated_says_what_happens_to_grad():
    o, x, w, b = neuron()
    o.backward()
    once = x.grad
    records = steps(o).run()
    leaf = next(r for r in records if r.node is x)
    text = str(leaf)
    assert f"x.grad already holds {printed(once)} from an earlier pass" in text
    assert f"it becomes {printed(once)} + {printed(once)} = {printed(2 * once)}" in text
    assert x.grad == 2 * once


def test_step_back_and_reset_restore_every_gradient_so_far_and_grad():
    o, x, w, b = neuron()
    stepper = steps(o)
    seen = []
    for _ in range(3):
        stepper.step()
        seen.append({name: stepper.gradient_so_far(name) for name in ("x", "w", "b", "n")})
    stepper.back()
    assert {name: stepper.gradient_so_far(name) for name in ("x", "w", "b", "n")} == seen[1]
    stepper.run()
    assert x.grad != 0.0
    undone = stepper.back()
    assert undone.node is stepper.order[-1] and (x.grad, w.grad, b.grad) == (0.0, 0.0, 0.0)
    stepper.reset()
    assert stepper.records == [] and stepper.gradient_so_far(o) == 1.0 and stepper.gradient_so_far("x") == 0.0
    assert [r.upstream for r in stepper.run()] == [r.upstream for r in steps(neuron()[0]).run()]
    with pytest.raises(GraphError, match="no node labelled or named 'nope'"):
        stepper.gradient_so_far("nope")


def test_reprs_at_a_prompt_are_one_short_line():
    o, x, w, b = neuron()
    stepper = steps(o)
    first = stepper.step()
    assert repr(first) == "step 1 of 6: o = tanh(n) [tanh, data 0.707107]: n gets 0.5 × 1 = 0.5"
    rest = stepper.run()
    for text in [repr(stepper), *map(repr, rest), *(repr(c) for r in rest for c in r.contributions)]:
        assert "\n" not in text and len(text) <= 160
    assert repr(rest).count("\n") == len(rest) - 1


# -- at a prompt ------------------------------------------------------------------------------


def test_every_repr_at_a_prompt_is_one_short_line():
    from helpers import labelled_chain

    import autodiff
    from autodiff.explaining import explain

    names = [f"weight_with_a_long_name_{i}" for i in range(12)]
    big = autodiff.sum([Value(float(i + 1), label=name) * Value(0.5, label=name + "_x")
                        for i, name in enumerate(names)])
    big.label = "total"
    for root in (big, labelled_chain(), neuron()[0]):
        stepper = steps(root)
        records = stepper.run()
        shown = [repr(stepper), *map(repr, records), *(repr(c) for r in records for c in r.contributions),
                 repr(explain(root, records[-1].node))]
        for text in shown:
            assert "\n" not in text and len(text) <= 160, text
        assert repr(records).count("\n") == len(records) - 1  # StepRecords: one line per record
        assert str(records[0]).count("\n") >= 1  # str() stays the full record
    assert repr(steps(big).step()).endswith("…")  # twelve contributions do not fit: the line is cut


def test_back_undoes_steps_one_at_a_time_down_to_the_start():
    o, x, w, b = neuron()
    stepper = steps(o)
    so_far = []
    for _ in range(len(stepper.order)):
        so_far.append({node: stepper.gradient_so_far(node) for node in stepper.order})
        stepper.step()
    assert x.grad == pytest.approx(-1.5)
    undone = []
    while stepper.records:
        undone.append(stepper.back())
        assert {node: stepper.gradient_so_far(node) for node in stepper.order} == so_far[len(stepper.records)]
        assert (x.grad, w.grad, b.grad, o.grad) == (0.0, 0.0, 0.0, 0.0)  # written .grad restored at once
    assert [r.index for r in undone] == [6, 5, 4, 3, 2, 1]
    assert stepper.current is None and stepper.next_node is o
    with pytest.raises(GraphError, match="nothing to undo: the stepper is at the start"):
        stepper.back()
    again = stepper.run()
    assert [str(r) for r in again] == [str(r) for r in reversed(undone)]  # the same records again


def test_back_after_the_end_restores_grad_from_an_earlier_pass():
    o, x, w, b = neuron()
    o.backward()
    earlier = (x.grad, w.grad, b.grad)
    stepper = steps(o)
    stepper.run()
    assert x.grad == 2 * earlier[0]
    stepper.back()
    assert (x.grad, w.grad, b.grad) == earlier and not stepper.done
    stepper.reset()
    assert (x.grad, w.grad, b.grad) == earlier and stepper.records == []


def test_reset_from_the_end_and_from_the_middle():
    o, x, *_ = neuron()
    stepper = steps(o)
    stepper.run()
    stepper.reset()
    assert x.grad == 0.0 and stepper.where() == "0 of 6 steps done, next o (tanh)"
    stepper.run_to("n")
    stepper.reset()
    assert stepper.gradient_so_far("n") == 0.0 and stepper.gradient_so_far(o) == 1.0


def test_gradient_so_far_and_run_to_take_a_label_or_a_node_alike():
    o, x, w, b = neuron()
    by_label, by_node = steps(o), steps(o)
    product = o.parents[0].parents[0]
    assert [r.name for r in by_label.run_to("x * w")] == [r.name for r in by_node.run_to(product)]
    assert by_label.gradient_so_far("x") == by_node.gradient_so_far(x) == pytest.approx(-1.5)
    with pytest.raises(GraphError, match="no node labelled or named 'q'"):
        by_label.gradient_so_far("q")
    with pytest.raises(GraphError, match="not part of this graph"):
        by_label.gradient_so_far(Value(1.0))


def test_a_slice_of_records_prints_like_records():
    o, *_ = neuron()
    records = steps(o).run()
    assert repr(records[-2:]) == repr(records[4]) + "\n" + repr(records[5])
    assert repr(records[:0]) == "(no steps)" and records[0] is records[:1][0]


def test_the_error_that_stopped_a_stepper_is_quoted_on_one_line(monkeypatch):
    o, *_ = neuron()
    stepper = steps(o)

    def failing(node):
        raise ValueError("a partial failed\n  at line 2.\n")

    monkeypatch.setattr(stepper._sweep, "visit", failing)
    with pytest.raises(ValueError):
        stepper.step()
    with pytest.raises(GraphError) as raised:
        stepper.step()
    assert str(raised.value) == ("this stepper stopped at an error (ValueError: a partial failed at line 2); "
                                 "call back() or reset() to go on, or start a new one")
    assert "\n" not in stepper.where()


def test_a_constant_partial_is_written_once_as_every_number_is():
    x = Value(2.0, label="x")
    y = x * 1.000001
    y.label = "y"
    record = str(steps(y).step())
    assert "local ∂y/∂x = 1\n" in record and "1.000001" not in record
    z = x * x
    z.label = "z"
    assert "local ∂z/∂x = x = 2\n" in str(steps(z).step())  # a formula still shows its number


def test_a_step_at_a_sum_of_thousands_of_inputs_is_linear(monkeypatch):
    # Each edge's formula once named every input: one step of a sum of 8,000 took minutes.
    import autodiff
    from autodiff.primitives import Primitive

    looked_up = [0]
    input_name = Primitive.input_name

    def counted(self, i):
        looked_up[0] += 1
        return input_name(self, i)

    monkeypatch.setattr(Primitive, "input_name", counted)
    record = autodiff.steps(autodiff.sum([Value(float(i), label=f"v{i}") for i in range(8000)])).step()
    assert len(record.contributions) == 8000 and record.contributions[-1].formula == "1"
    assert looked_up[0] < 10 * 8000  # per input, not per pair of inputs (64,000,000)


def test_a_record_holds_the_very_numbers_the_chain_rule_sent(monkeypatch):
    from autodiff.backward import Sweep

    sent = []
    visit = Sweep.visit

    def watched(self, node):
        edges = visit(self, node)
        sent.append(edges)
        return edges

    monkeypatch.setattr(Sweep, "visit", watched)
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    o = (x * w + 1.0).tanh()
    records = steps(o).run()
    computed = [r for r in records if r.node.parents]
    assert len(computed) == len([edges for edges in sent if edges])
    for record, edges in zip(computed, [edges for edges in sent if edges]):
        for c, (partial, contribution) in zip(record.contributions, edges):
            assert c.partial is partial and c.contribution is contribution  # recorded, not recomputed
