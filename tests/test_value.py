"""Value as a graph node: what it records, how it prints and compares, no_grad and scope."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff
from autodiff import Value, no_grad, scope, topological_order
from autodiff.testing.strategies import floats, graphs


def test_leaf_records_nothing():
    x = Value(2.5, label="x")
    assert (x.data, x.grad, x.parents, x.op, x.primitive, x.label) == (2.5, 0.0, (), "", None, "x")


def test_operation_records_op_and_ordered_parents():
    x, y = Value(2.0), Value(3.0)
    z = x * y
    assert z.op == "mul" and z.primitive is autodiff.PRIMITIVES["mul"]
    assert z.parents == (x, y)
    assert (y * x).parents == (y, x)


def test_x_plus_x_has_two_edges():
    x = Value(1.5)
    y = x + x
    assert len(y.parents) == 2 and y.parents[0] is x and y.parents[1] is x


def test_numbers_enter_as_constants():
    x = Value(2.0)
    y = x * 3
    const = y.parents[1]
    assert const.op == "const" and const.data == 3.0 and const.parents == ()
    assert (3 * x).parents[0].op == "const"


def test_subtraction_and_division_are_composites():
    x, y = Value(6.0), Value(3.0)
    assert (x - y).op == "add" and (x - y).parents[1].op == "neg"
    assert (x / y).op == "mul" and (x / y).parents[1].op == "pow"
    assert (x - y).data == 3.0 and (x / y).data == 2.0


def test_numpy_scalars_are_numbers():
    x = Value(np.float32(1.5))
    assert type(x.data) is float
    assert (x + np.float64(2.0)).data == 3.5
    assert (np.int64(2) * x).data == 3.0
    assert (np.float64(3.0) / Value(2.0)).data == 1.5


def test_n_ary_sum_is_one_node():
    values = [Value(float(i)) for i in range(5)]
    s = autodiff.sum(values)
    assert s.op == "sum" and s.parents == tuple(values) and s.data == 10.0


def test_sum_of_nothing_is_zero_as_for_the_builtin():
    assert autodiff.sum([]) == 0.0 and type(autodiff.sum([])) is float
    assert autodiff.sum(iter([])) == 0.0


def test_repr_shows_label_data_grad_and_op():
    x = Value(2.0, label="x")
    y = x * x
    y.backward()
    assert repr(x) == "Value(data=2.0, grad=4.0, label='x')"
    assert repr(y) == "Value(data=4.0, grad=1.0, op='mul')"
    y.label = "y"
    assert "label='y'" in repr(y) and "op='mul'" in repr(y)


def test_repr_shortens_long_numbers():
    assert repr(Value(1 / 3)) == "Value(data=0.333333, grad=0.0)"


@given(floats(100.0), floats(100.0))
def test_comparisons_compare_data_and_return_bool(a, b):
    x, y = Value(a), Value(b)
    for result, expected in [(x < y, a < b), (x <= y, a <= b), (x > y, a > b), (x >= y, a >= b),
                             (x < b, a < b), (x >= b, a >= b), (a < y, a < b)]:
        assert type(result) is bool and result == expected


def test_comparisons_are_not_recorded_and_equality_is_identity():
    x, y = Value(1.0), Value(1.0)
    assert x != y and x == x and len({x, y}) == 2
    assert x <= y and x >= y


@pytest.mark.parametrize("number", [3.0, 3, np.float64(3.0), np.int64(3)])
def test_equality_with_a_number_is_refused_naming_the_way_to_compare_data(number):
    x = Value(3.0, label="x")
    for compare in (lambda: x == number, lambda: number == x, lambda: x != number):
        with pytest.raises(TypeError, match=r"'x' == .*v\.data == .*pytest\.approx"):
            compare()
    assert x.data == number  # what the message says to write instead


def test_equality_with_other_things_is_false_and_values_stay_dict_keys():
    x = Value(3.0)
    assert (x == None) is False and (x != None) is True  # noqa: E711 (the operator is what is tested)
    assert (x == "3") is False and x not in [None, "x"]
    assert {x: 1}[x] == 1 and x in {x} and x in [Value(3.0), x]


@pytest.mark.parametrize("convert, advice", [(int, r"int\(v\.data\)"), (round, r"round\(v\.data\)"),
                                             (lambda v: round(v, 2), r"round\(v\.data, 2\)")])
def test_int_and_round_are_refused_like_float(convert, advice):
    with pytest.raises(TypeError, match=r"'loss' cannot .*" + advice):
        convert(Value(2.5, label="loss"))


def test_a_format_spec_formats_the_number_and_no_spec_keeps_the_repr():
    loss = Value(0.123456, label="loss")
    assert f"{loss:.4f}" == "0.1235" and f"{loss:>8.2f}" == "    0.12" and f"{loss:e}" == "1.234560e-01"
    assert f"{loss}" == repr(loss) == str(loss)


def test_comparison_with_non_number_is_a_type_error():
    with pytest.raises(TypeError, match="str"):
        _ = Value(1.0) < "2"


def test_implicit_float_conversion_is_refused_with_what_to_do_instead():
    import math

    import numpy as np

    x = Value(2.5, label="x")
    for convert in (float, math.exp, math.cos, np.float64, math.floor):
        with pytest.raises(TypeError, match=r"'x'.*\.data.*item\(\)"):
            convert(x)
    assert x.item() == 2.5 and type(x.item()) is float


def test_the_exp_of_a_value_times_itself_has_the_right_gradient():
    # math.exp(x) * x used to drop the first factor from the graph: x.grad was e, not 2e.
    x = Value(1.0)
    with pytest.raises(TypeError):
        math_exp_then_times(x)
    z = x.exp() * x
    z.backward()
    assert x.grad == pytest.approx(2 * 2.718281828459045)


def math_exp_then_times(x):
    import math

    return math.exp(x) * x


def test_truth_of_a_value_is_refused_but_comparisons_are_plain_bools():
    v = Value(0.0, label="v")
    with pytest.raises(TypeError, match="v.data"):
        bool(v)
    with pytest.raises(TypeError):
        if v:
            pass
    assert (v > -1) is True and (v < -1) is False


def test_detach_makes_a_new_leaf_with_the_same_number():
    x = Value(3.0, label="x")
    y = x * x
    d = y.detach()
    assert d.data == 9.0 and d.parents == () and d.is_leaf and d is not y
    (d * x).backward()
    assert x.grad == 9.0 and y.grad == 0.0


def test_no_grad_records_nothing():
    x = Value(3.0)
    with no_grad():
        y = (x * x).exp() + autodiff.sum([x, x])
    assert y.parents == () and y.op == "" and y.primitive is None
    y.backward()
    assert x.grad == 0.0 and y.grad == 1.0
    z = x * x
    assert z.parents == (x, x)  # recording is back on


def test_a_result_computed_in_no_grad_keeps_no_operand_alive():
    """Evaluation under no_grad must not hold the graph: its result is a leaf, whatever the op's arity."""
    import gc

    x = Value(3.0)
    with no_grad():
        operands = [x * 2.0, x.exp(), autodiff.sum([x, x, x])]
        results = [operands[0] + operands[1], operands[1].tanh(), autodiff.sum(operands)]
    for result in results:
        assert result.is_leaf and result.parents == ()
        held = [ref for ref in gc.get_referents(result) if isinstance(ref, (Value, tuple))]
        assert held == [], f"{result!r} still refers to {held!r}"


def test_no_grad_restores_recording_after_an_error():
    x = Value(1.0)
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError("boom")
    assert (x * x).parents == (x, x)


def test_no_grad_nests():
    x = Value(1.0)
    with no_grad():
        with no_grad():
            pass
        assert (x * x).parents == ()
    assert (x * x).parents == (x, x)


def test_scope_sets_scope_and_restores_it():
    x = Value(2.0)
    assert x.scope is None
    with scope("layer1"):
        w = Value(0.5)
        y = w * x
        with scope("layer1.neuron0"):
            z = y + 1
        after = y * y
    assert (w.scope, y.scope, z.scope, after.scope) == ("layer1", "layer1", "layer1.neuron0", "layer1")
    assert z.parents[1].scope == "layer1.neuron0"  # the constant was created inside too
    assert (x * x).scope is None


def test_data_assignment_is_checked():
    x = Value(1.0, label="x")
    x.data = 2
    assert x.data == 2.0 and type(x.data) is float
    with pytest.raises(TypeError, match="'x'"):
        x.data = "3"


@given(graphs(max_nodes=10))
def test_topological_order_puts_parents_first_and_root_last(graph):
    inputs, out = graph.build()
    order = topological_order(out)
    assert order[-1] is out
    assert len({id(node) for node in order}) == len(order)
    position = {id(node): i for i, node in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]
    # Every node the root depends on is there, and nothing else.
    reachable, stack = {id(out)}, [out]
    while stack:
        for parent in stack.pop().parents:
            if id(parent) not in reachable:
                reachable.add(id(parent))
                stack.append(parent)
    assert set(position) == reachable
    assert [id(n) for n in topological_order(out)] == [id(n) for n in order]  # deterministic


@given(st.integers(1, 50))
def test_topological_order_of_a_chain(n):
    x = Value(1.0)
    nodes = [x]
    for _ in range(n):
        nodes.append(nodes[-1].tanh())
    assert topological_order(nodes[-1]) == nodes


def test_maximum_records_a_max_node_and_sends_the_gradient_to_the_larger():
    x, y = Value(1.0, label="x"), Value(3.0, label="y")
    m = x.maximum(y)
    assert (m.op, m.parents, m.data) == ("max", (x, y), 3.0)
    m.backward()
    assert (x.grad, y.grad) == (0.0, 1.0)
    tie = Value(2.0)
    t = tie.maximum(2)  # ties go to self; the constant 2 gets nothing
    t.backward()
    assert tie.grad == 1.0 and t.parents[1].op == "const"


def test_no_top_level_name_hides_a_submodule():
    import importlib
    import pkgutil

    submodules = {info.name for info in pkgutil.iter_modules(autodiff.__path__)}
    assert {"stepping", "drawing", "explaining", "compiled", "playing", "replaying"} <= submodules
    assert not submodules & set(autodiff.__all__), submodules & set(autodiff.__all__)
    for name in ("steps", "draw", "explain", "compile", "play", "replay"):
        assert callable(getattr(autodiff, name)), name
    assert importlib.import_module("autodiff.drawing").draw is autodiff.draw
