"""The page's layout: columns by distance to the root, leaves beside their consumers, rows to fit a screen."""

from __future__ import annotations

import pytest

from autodiff.layout import COLUMN_GAP, nest, place


def chain(n: int, size=(100.0, 60.0)):
    keys = [f"k{i}" for i in range(n)]
    return {k: size for k in keys}, list(zip(keys, keys[1:])), keys[-1]


def test_a_long_chain_wraps_into_rows_each_running_left_to_right():
    sizes, edges, root = chain(12)
    laid = place(sizes, edges, root, aspect=16 / 9)
    assert laid.rows > 1 and laid.width < 12 * 100
    for source, target in edges:  # within a row every edge points right; a row break starts at the left
        (sx, _), (tx, _) = laid.corners[source], laid.corners[target]
        if laid.row_of[source] == laid.row_of[target]:
            assert tx > sx
        else:
            assert laid.row_of[target] == laid.row_of[source] + 1 and tx < sx
    assert laid.row_of[root] == laid.rows - 1
    assert laid.corners[root][0] == max(x for x, _ in laid.corners.values())


def test_one_row_when_the_screen_is_wide_enough():
    sizes, edges, root = chain(3)
    assert place(sizes, edges, root, aspect=10.0).rows == 1


def test_a_leaf_sits_just_before_its_consumer_not_at_the_far_left():
    sizes, edges, root = chain(5)
    sizes = {"late": (100.0, 60.0), **sizes}
    edges = [*edges, ("late", "k4")]
    laid = place(sizes, edges, root, aspect=100.0)  # one row
    assert laid.corners["late"][0] == laid.corners["k3"][0]  # the column before k4
    assert laid.corners["k0"][0] == 0.0


def test_rows_break_where_fewest_edges_cross():
    # k0 -> k1 -> ... with a leaf into every second node: a break before a node with a leaf cuts two edges.
    sizes, edges, root = chain(8)
    for i in range(1, 8, 2):
        sizes[f"leaf{i}"] = (100.0, 60.0)
        edges.append((f"leaf{i}", f"k{i}"))
    laid = place(sizes, edges, root, aspect=3.0)
    assert laid.rows > 1
    crossing = [(s, t) for s, t in edges if laid.row_of[s] != laid.row_of[t]]
    assert len(crossing) == laid.rows - 1  # one edge per break


def test_modules_that_feed_each_other_in_a_cycle_are_still_laid_out():
    sizes = {k: (80.0, 40.0) for k in ("a", "b", "c")}
    laid = place(sizes, [("a", "b"), ("b", "a"), ("b", "c")], "c", aspect=16 / 9)
    assert set(laid.corners) == {"a", "b", "c"}
    xs = sorted(x for x, _ in laid.corners.values())
    assert xs[1] - xs[0] >= 80.0 + COLUMN_GAP - 1e-9 or laid.rows > 1


@pytest.mark.parametrize("aspect", [0.5, 16 / 9, 4.0])
def test_boxes_never_overlap(aspect):
    sizes = {f"x{i}": (90.0, 50.0) for i in range(6)}
    sizes.update({f"m{i}": (120.0, 70.0) for i in range(3)})
    sizes["root"] = (100.0, 70.0)
    edges = [(f"x{i}", f"m{i % 3}") for i in range(6)] + [(f"m{i}", "root") for i in range(3)]
    laid = place(sizes, edges, "root", aspect=aspect, groups={f"x{i}": i % 3 for i in range(6)})
    rects = [(x, y, x + sizes[k][0], y + sizes[k][1]) for k, (x, y) in laid.corners.items()]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


# -- modules: each laid out as one block inside the module around it -----------------------------------


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def contains(outer, inner) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def mlp_like():
    """Two inputs into three neurons (weights, products, a sum each), into one neuron, into a loss."""
    sizes, edges, modules = {"x0": (60.0, 50.0), "x1": (60.0, 50.0)}, [], {}
    outputs = []
    for layer, count in ((0, 3), (1, 1)):
        inputs = ["x0", "x1"] if layer == 0 else outputs
        outputs = []
        for n in range(count):
            here = (f"layers.{layer}", f"layers.{layer}.neurons.{n}")
            total = f"sum{layer}{n}"
            for k, source in enumerate(inputs):
                w, m = f"w{layer}{n}{k}", f"mul{layer}{n}{k}"
                sizes.update({w: (70.0, 50.0), m: (90.0, 50.0)})
                edges += [(w, m), (source, m), (m, total)]
                modules.update({w: here, m: here})
            sizes[total] = (90.0, 50.0)
            modules[total] = here
            outputs.append(total)
    sizes["loss"] = (80.0, 50.0)
    edges.append((outputs[0], "loss"))
    return sizes, edges, modules


def test_module_frames_nest_never_overlap_and_hold_exactly_their_boxes():
    sizes, edges, modules = mlp_like()
    laid = nest(sizes, edges, "loss", 16 / 9, modules, (10.0, 28.0, 10.0, 10.0))
    frames = {levels: (x, y, x + w, y + h) for levels, (x, y, w, h) in laid.frames.items()}
    assert set(frames) == {("layers.0",), ("layers.1",), *{levels for levels in modules.values()}}
    for a, ra in frames.items():
        for b, rb in frames.items():
            if a != b and b[: len(a)] != a and a[: len(b)] != b:  # neither holds the other
                assert not overlap(ra, rb), (a, b)
            elif b[: len(a)] == a and a != b:
                assert contains(ra, rb), (a, b)
    for key, (x, y) in laid.corners.items():
        box = (x, y, x + sizes[key][0], y + sizes[key][1])
        mine = modules.get(key, ())
        for levels, frame in frames.items():
            if mine[: len(levels)] == levels:
                assert contains(frame, box) and box[1] >= frame[1] + 28.0, (key, levels)  # under the title
            else:
                assert not overlap(frame, box), (key, levels)
    rects = [(x, y, x + sizes[k][0], y + sizes[k][1]) for k, (x, y) in laid.corners.items()]
    assert not any(overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1:])
    assert laid.corners["loss"][0] > max(x for k, (x, _) in laid.corners.items() if k != "loss")
