"""Karpathy's micrograd: the README's expression, the lecture's exercises, and the demo notebook's training.

``micrograd`` entry: the README's expression prints g = 24.7041, dg/da =
138.8338 and dg/db = 645.5773 (4 decimals); the exercises of the lecture
"The spelled-out intro to neural networks and backpropagation: building
micrograd" check the gradient of -a**3 + sin(3b) - 1/c + b**2.5 - a**0.5 at
(2, 3, 4) and the softmax loss of the logits [0, 3, -2, 1] with label 3.
The engine's numbers are bitwise the published ones.  For the softmax this
holds because the engine divides as micrograd does, x / y = x * y**-1 (a
true division rounds once where that rounds twice).

``micrograd-demo`` entry: ``demo.ipynb`` seeds ``random`` and NumPy with
1337, draws 100 points of scikit-learn's ``make_moons`` with noise 0.1,
builds a 2-16-16-1 ReLU network with weights uniform in [-1, 1) from Python's
``random`` and zero biases, and takes 100 full-batch steps on the mean SVM
hinge loss plus 1e-4 times the sum of squared parameters, with learning rate
1 - 0.9 k / 100.  The moons are made here from that function's published
algorithm (two half circles, a shuffle, Gaussian noise, in that order of
draws), so no scikit-learn is needed.  The network is ``nn.MLP`` and the
steps go through the engine in scalar mode.
"""

from __future__ import annotations

import random

import numpy as np

import nn
from autodiff import Value

from .gallery import Entry, Figure, Report, Source

README = Source(
    title="Andrej Karpathy, micrograd (README example)", repository="karpathy/micrograd", path="README.md",
    commit="c911406e5ace8742e5841a7e0df113ecb5d54685", licence="MIT",
    data="the expression's inputs a = -4, b = 2, written in the README")
EXERCISES = Source(
    title="Andrej Karpathy, micrograd lecture exercises (\"Neural Networks: Zero to Hero\", lecture 1, "
          "exercise notebook linked from the lecture)",
    repository="karpathy/nn-zero-to-hero (the notebook itself is on Google Colab)",
    path="micrograd exercises, sections 1 and 2", commit=None, licence="MIT (the course repository)",
    data="the inputs (2, 3, 4) and the logits [0, 3, -2, 1] written in the exercises")
DEMO = Source(
    title="Andrej Karpathy, micrograd demo notebook", repository="karpathy/micrograd", path="demo.ipynb",
    commit="9fd9cc02fe5a0e57d790b03572f0d7bcd990662d", licence="MIT",
    data="scikit-learn's make_moons(n_samples=100, noise=0.1) after np.random.seed(1337), made here from "
         "its published algorithm (scikit-learn is BSD-3-Clause)")

#: The README's printed numbers, 4 decimals.
README_PRINTED = {"g": "24.7041", "dg/da": "138.8338", "dg/db": "645.5773"}
#: The exercises' expected answers.
GRADIENT_ANSWER = (-12.353553390593273, 10.25699027111255, 0.0625)
SOFTMAX_GRADIENT_ANSWER = (0.041772570515350445, 0.8390245074625319, 0.005653302662216329,
                           -0.8864503806400986)
SOFTMAX_LOSS = 2.1755153626167147  # what the exercise's print(loss.data) shows

#: demo.ipynb's 100 printed training lines: (loss, accuracy in percent) at steps 0..99.
DEMO_LINES = (
    (0.8958441028683222, 50.0), (1.7235905336972022, 81.0), (0.7429006313851131, 77.0),
    (0.7705641260584198, 82.0), (0.3692793385976538, 84.0), (0.313545481918522, 86.0),
    (0.2814234349772435, 89.0), (0.26888733313983904, 91.0), (0.2567147286057417, 91.0),
    (0.2704862551637922, 91.0), (0.24507023853658053, 91.0), (0.2509905529791503, 92.0),
    (0.21560951851922952, 91.0), (0.23090378446402726, 93.0), (0.20152151227899445, 92.0),
    (0.22574506279282217, 93.0), (0.19447987596204114, 92.0), (0.21089496199246363, 93.0),
    (0.159830773563036, 94.0), (0.1845374874688392, 93.0), (0.18977522856087634, 91.0),
    (0.19072704042579647, 93.0), (0.11733695088756485, 97.0), (0.12173524408232454, 95.0),
    (0.1261571261277045, 95.0), (0.16049097780801674, 95.0), (0.18747197705245805, 92.0),
    (0.16741837891059408, 95.0), (0.09586583491455399, 97.0), (0.0877878370742091, 96.0),
    (0.11731297569011848, 95.0), (0.09340146460619836, 97.0), (0.12454454903103446, 95.0),
    (0.07984002652777272, 97.0), (0.07727519232921673, 97.0), (0.07661250143094483, 98.0),
    (0.10610492379198365, 96.0), (0.09062808429265976, 99.0), (0.10671887043036932, 95.0),
    (0.05225659921975849, 98.0), (0.06016009895234464, 100.0), (0.08596724533333942, 96.0),
    (0.051121079431796, 99.0), (0.052401424016428284, 97.0), (0.045306841790015734, 100.0),
    (0.07211073370655095, 97.0), (0.03334238651310234, 99.0), (0.03143222795751122, 100.0),
    (0.03658536747111507, 99.0), (0.04829139382390309, 99.0), (0.09875114765619622, 96.0),
    (0.05449063965875453, 99.0), (0.03392679435708309, 100.0), (0.05261517263568441, 97.0),
    (0.03250295251424923, 99.0), (0.02888327387207822, 100.0), (0.04139151104027239, 98.0),
    (0.018987407426128502, 100.0), (0.0252383352388374, 100.0), (0.02079656521341895, 100.0),
    (0.0325971115781023, 99.0), (0.017863351693480307, 100.0), (0.023008717832211683, 100.0),
    (0.022079325463581503, 100.0), (0.029432917853529684, 99.0), (0.01625151464409193, 100.0),
    (0.02846853448326446, 99.0), (0.013994365546208731, 100.0), (0.015552344843651405, 100.0),
    (0.0338911994616017, 99.0), (0.014229870065926908, 100.0), (0.013255281583285504, 100.0),
    (0.012300277590022063, 100.0), (0.012676052498355976, 100.0), (0.020593811955954763, 100.0),
    (0.011845398205364453, 100.0), (0.016012697472883086, 100.0), (0.025458360239222128, 100.0),
    (0.014382930289661911, 100.0), (0.011698962425817985, 100.0), (0.012318500800515763, 100.0),
    (0.014121117031464233, 100.0), (0.011664591962446225, 100.0), (0.011589314549188726, 100.0),
    (0.010990299347735226, 100.0), (0.01098922672069161, 100.0), (0.010988193757655071, 100.0),
    (0.010987200447388707, 100.0), (0.010986246779084925, 100.0), (0.010985332742365272, 100.0),
    (0.010984458327280174, 100.0), (0.010983623524308862, 100.0), (0.010982828324359073, 100.0),
    (0.010982072718767003, 100.0), (0.010981356699297042, 100.0), (0.010980680258141723, 100.0),
    (0.010980043387921506, 100.0), (0.010979446081684675, 100.0), (0.010978888332907229, 100.0),
    (0.010978370135492717, 100.0),
)
DEMO_WHY = (
    "micrograd keeps a node's inputs in a set (_prev), so the order in which its backward pass adds the "
    "contributions to a shared gradient depends on object addresses and changes from run to run; the engine "
    "adds them in its own fixed order. The first loss is bitwise equal; later ones differ from the "
    "notebook's in the last digits (measured: 8e-15 relative at most over the 100 steps)")
DEMO_PARAMETERS = 337  # the notebook prints "number of parameters 337"
SEED, POINTS, NOISE, SIZES, STEPS, ALPHA = 1337, 100, 0.1, (16, 16, 1), 100, 1e-4


def readme_expression() -> tuple[Value, Value, Value]:
    """g, a and b of the README's expression, after g.backward()."""
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return g, a, b


def exercise_gradient() -> tuple[float, float, float]:
    """The gradient of -a**3 + sin(3b) - 1/c + b**2.5 - a**0.5 at (2, 3, 4), by the engine."""
    a, b, c = Value(2.0), Value(3.0), Value(4.0)
    f = -a**3 + (3 * b).sin() - 1.0 / c + b**2.5 - a**0.5
    f.backward()
    return a.grad, b.grad, c.grad


def exercise_softmax() -> tuple[float, tuple[float, ...]]:
    """The loss -log softmax(logits)[3] written as the exercise writes it, and the logits' gradients."""
    logits = [Value(0.0), Value(3.0), Value(-2.0), Value(1.0)]
    counts = [z.exp() for z in logits]
    total = sum(counts)  # Python's sum, as the exercise: 0 + e0 + e1 + ...
    loss = -(counts[3] / total).log()
    loss.backward()
    return loss.data, tuple(z.grad for z in logits)


def run_micrograd(quick: bool) -> Report:
    """The README's three numbers and the two exercises (quick is the same: it takes milliseconds)."""
    g, a, b = readme_expression()
    why = "the README prints 4 decimals"
    report = Report()
    for name, value in (("g", g.data), ("dg/da", a.grad), ("dg/db", b.grad)):
        report.add(Figure(f"README expression: {name}", value, README_PRINTED[name], printed=".4f", why=why))
    report.add(Figure("exercise 1: gradient of -a^3 + sin(3b) - 1/c + b^2.5 - a^0.5 at (2, 3, 4)",
                      exercise_gradient(), GRADIENT_ANSWER))
    loss, gradients = exercise_softmax()
    report.add(Figure("exercise 2: loss -log softmax([0, 3, -2, 1])[3]", loss, SOFTMAX_LOSS),
               Figure("exercise 2: gradients of the loss by the four logits", gradients,
                      SOFTMAX_GRADIENT_ANSWER))
    report.notes.append("bitwise equal: the engine computes x / y as x * y**-1, as micrograd does")
    return report


def make_moons(n: int, noise: float, legacy: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles as scikit-learn's make_moons draws them from ``legacy``.

    The outer half circle (label 0) takes n // 2 points evenly spaced in angle
    over [0, pi], the inner one (label 1) the rest, shifted by (1, -0.5) and
    mirrored; then the rows are shuffled with ``legacy.shuffle`` on their
    indices, and Gaussian noise of standard deviation ``noise`` is added.
    """
    outer, inner = n // 2, n - n // 2
    angles_out, angles_in = np.linspace(0, np.pi, outer), np.linspace(0, np.pi, inner)
    x = np.append(np.cos(angles_out), 1 - np.cos(angles_in))
    y = np.append(np.sin(angles_out), 1 - np.sin(angles_in) - 0.5)
    points = np.vstack([x, y]).T
    labels = np.hstack([np.zeros(outer, dtype=np.intp), np.ones(inner, dtype=np.intp)])
    order = np.arange(n)
    legacy.shuffle(order)
    points, labels = points[order], labels[order]
    return points + legacy.normal(scale=noise, size=points.shape), labels


def demo_network(draws: random.Random) -> nn.MLP:
    """2-16-16-1, ReLU then linear; each neuron's weights uniform in [-1, 1) drawn in micrograd's order."""
    model = nn.MLP(2, list(SIZES), activation="relu", output_activation="linear")
    weights, biases, fan_in = [], [], 2
    for size in SIZES:
        rows = [[draws.uniform(-1, 1) for _ in range(fan_in)] for _ in range(size)]  # neuron by neuron
        weights.append(np.array(rows).T)
        biases.append(np.zeros(size))
        fan_in = size
    model.set_weights(weights, biases)
    return model


def run_demo(quick: bool) -> Report:
    """The notebook's 100 steps (quick: 10), each line's loss and accuracy beside the notebook's."""
    legacy = np.random.RandomState(SEED)  # the notebook seeds NumPy's global (legacy) generator
    points, labels = make_moons(POINTS, NOISE, legacy)
    signs = (labels * 2 - 1).tolist()
    model = demo_network(random.Random(SEED))  # ... and Python's random, which micrograd draws from
    parameters = model.parameters()
    optimizer = nn.SGD(parameters, lr=1.0)
    report = Report()
    rows = points.tolist()
    for k in range(10 if quick else STEPS):
        scores = [model(row) for row in rows]  # one output: a Value
        hinge = [(1 + -y * s).relu() for y, s in zip(signs, scores)]
        # The notebook's order of operations, Python's sum included.
        total = sum(hinge) * (1.0 / len(hinge)) + ALPHA * sum(p * p for p in parameters)
        accuracy = sum((y > 0) == (s.data > 0) for y, s in zip(signs, scores)) / len(signs)
        optimizer.zero_grad()
        total.backward()
        optimizer.lr = 1.0 - 0.9 * k / 100
        optimizer.step()
        loss, percent = DEMO_LINES[k]
        report.add(Figure(f"step {k}: loss", total.data, loss, rel=1e-13, why=DEMO_WHY),
                   Figure(f"step {k}: accuracy %", accuracy * 100, percent))
    report.figures.insert(0, Figure("number of parameters", len(parameters), DEMO_PARAMETERS))
    return report


MICROGRAD = Entry(
    name="micrograd",
    title="micrograd's README expression and the lecture's exercises (a gradient, a softmax loss)",
    sources=(README, EXERCISES), run=run_micrograd, quick_part="all of it (it takes milliseconds)")
MICROGRAD_DEMO = Entry(
    name="micrograd-demo",
    title="micrograd's demo notebook: 100 training lines of a 2-16-16-1 network on the moons",
    sources=(DEMO,), run=run_demo, quick_part="the first 10 steps")
