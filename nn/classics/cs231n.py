"""CS231n's notes "Backprop, intuitions": the circuits whose gradients the notes work out, by the engine.

- f = (x + y) z at x = -2, y = 5, z = -4: f = -12, gradients -4, -4, 3 (the
  notes' code comments and circuit diagram).
- The sigmoid neuron 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) at w = [2, -3, -3],
  x = [-1, -2], built from the diagram's gates (*, +, *-1, exp, +1, 1/x): the
  diagram shows the output 0.73 and the gradients to 2 decimals; the notes'
  code then gets the same gradients from one sigmoid gate, (1 - f) f.
- The staged example f = (x + sigma(y)) / (sigma(x) + (x + y)^2) at x = 3,
  y = -4: the notes print no numbers, so the engine is compared with the
  notes' staged backward pass, eight lines evaluated with plain floats.
- The "patterns in backward flow" circuit 2 (x y + max(z, w)) at x = 3,
  y = -4, z = 2, w = -1, whose diagram shows the gradients -8, 6, 2, 0.
"""

from __future__ import annotations

import math

from autodiff import Value

from .gallery import Entry, Figure, Report, Source

SOURCE = Source(
    title="CS231n (Stanford), \"Backprop, intuitions\" course notes (Andrej Karpathy)",
    repository="cs231n/cs231n.github.io", path="optimization-2.md",
    commit="02a5dc6489430f6725360d0325174b1148594c68", licence="MIT",
    data="the inputs written in the notes")

DIAGRAM_WHY = "the notes' circuit diagram shows 2 decimals"

#: The sigmoid neuron's diagram: output, then the gradients on w0, x0, w1, x1, w2.
NEURON_DIAGRAM = ("0.73", ("-0.20", "0.39", "-0.39", "-0.59", "0.20"))
#: The patterns circuit's diagram: output and the gradients on x, y, z, w.
PATTERNS_DIAGRAM = ("-20.00", ("-8.00", "6.00", "2.00", "0.00"))


def add_multiply() -> Report:
    """(x + y) z at (-2, 5, -4)."""
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    f = (x + y) * z
    f.backward()
    report = Report()
    report.add(Figure("(x + y) z at x = -2, y = 5, z = -4: f", f.data, -12.0),
               Figure("(x + y) z: gradients on x, y, z", (x.grad, y.grad, z.grad), (-4.0, -4.0, 3.0)))
    return report


def neuron() -> Report:
    """The 2-input sigmoid neuron from the diagram's gates, beside the diagram and the notes' sigmoid gate."""
    w = [Value(2.0), Value(-3.0), Value(-3.0)]
    x = [Value(-1.0), Value(-2.0)]
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = 1 / ((dot * -1).exp() + 1)  # the gates *-1, exp, +1, 1/x of the diagram
    f.backward()
    engine = (w[0].grad, x[0].grad, w[1].grad, x[1].grad, w[2].grad)
    # The notes' code: one sigmoid gate, local gradient (1 - f) f, times each input of the dot product.
    plain = 1.0 / (1 + math.exp(-(2.0 * -1.0 + -3.0 * -2.0 + -3.0)))
    local = (1 - plain) * plain
    notes = (-1.0 * local, 2.0 * local, -2.0 * local, -3.0 * local, 1.0 * local)
    report = Report()
    report.add(Figure("sigmoid neuron: output", f.data, NEURON_DIAGRAM[0], printed=".2f", why=DIAGRAM_WHY),
               Figure("sigmoid neuron, gate by gate: gradients on w0, x0, w1, x1, w2", engine,
                      NEURON_DIAGRAM[1],
                      printed=".2f", why=DIAGRAM_WHY),
               Figure("sigmoid neuron: the same gradients from the notes' sigmoid gate (1 - f) f", engine,
                      notes,
                      rel=1e-15, why="the gate-by-gate chain rounds after each of its six gates, the sigmoid "
                      "gate after two operations: the products agree to the last bit or two"))
    return report


def staged() -> Report:
    """(x + sigma(y)) / (sigma(x) + (x + y)^2) at (3, -4), beside the notes' staged backward pass."""
    x, y = Value(3.0), Value(-4.0)
    f = (x + y.sigmoid()) / (x.sigmoid() + (x + y) ** 2)
    f.backward()
    report = Report()
    value, dx, dy = _staged_by_hand(3.0, -4.0)
    report.add(Figure("staged example at x = 3, y = -4: f (the notes' staged pass)", f.data, value),
               Figure("staged example: df/dx, df/dy (the notes' staged pass)", (x.grad, y.grad), (dx, dy)))
    return report


def _staged_by_hand(x: float, y: float) -> tuple[float, float, float]:
    """The notes' staged forward and backward passes, written out with floats (the comparison's reference)."""
    sig_y, sig_x = 1.0 / (1 + math.exp(-y)), 1.0 / (1 + math.exp(-x))
    numerator, x_plus_y = x + sig_y, x + y
    denominator = sig_x + x_plus_y**2
    inverse = 1.0 / denominator
    d_inverse, d_numerator = numerator, inverse  # f = numerator * inverse
    d_denominator = (-1.0 / denominator**2) * d_inverse
    d_x_plus_y = 2 * x_plus_y * d_denominator  # through the square
    dx = d_x_plus_y + (1 - sig_x) * sig_x * d_denominator + d_numerator
    dy = d_x_plus_y + (1 - sig_y) * sig_y * d_numerator
    return numerator * inverse, dx, dy


def patterns() -> Report:
    """2 (x y + max(z, w)) at (3, -4, 2, -1): add distributes, max routes, multiply swaps."""
    x, y, z, w = Value(3.0), Value(-4.0), Value(2.0), Value(-1.0)
    f = (x * y + z.maximum(w)) * 2
    f.backward()
    report = Report()
    report.add(Figure("patterns circuit 2 (x y + max(z, w)) at 3, -4, 2, -1: f", f.data, PATTERNS_DIAGRAM[0],
                      printed=".2f", why=DIAGRAM_WHY),
               Figure("patterns circuit: gradients on x, y, z, w", (x.grad, y.grad, z.grad, w.grad),
                      PATTERNS_DIAGRAM[1], printed=".2f", why=DIAGRAM_WHY))
    return report


def run(quick: bool) -> Report:
    """All four circuits (quick is the same: they take microseconds)."""
    report = Report()
    for part in (add_multiply(), neuron(), staged(), patterns()):
        report.add(*part.figures)
    return report


ENTRY = Entry(
    name="cs231n",
    title="CS231n's backprop notes: the (x + y) z circuit, the sigmoid neuron, the staged example, "
          "the patterns circuit",
    sources=(SOURCE,), run=run, quick_part="all of it (it takes microseconds)")
