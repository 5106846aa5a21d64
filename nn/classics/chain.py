"""3Blue1Brown's "Neural networks" series: the digit network's size and the backpropagation-calculus chain.

Chapter 1 counts the 784-16-16-10 network's weights and biases: 13,002.
Chapter 4 ("Backpropagation calculus") follows the simplest network, a chain
of four neurons a0 -> a1 -> a2 -> a3: the input a0, then three sigmoid
neurons, so three weights and three biases, with
z(L) = w(L) a(L-1) + b(L), a(L) = sigma(z(L)) and the cost C0 = (a(L) - y)^2.
The video derives dC0/dw(L) = a(L-1) sigma'(z(L)) 2 (a(L) - y); the entry
compares the engine's six gradients with that formula carried back through
the chain, evaluated with plain floats.
"""

from __future__ import annotations

import math

import nn

from .gallery import Entry, Figure, Report, Source

SOURCE = Source(
    title="3Blue1Brown (Grant Sanderson), \"Neural networks\" series, chapters 1 and 4 "
          "(\"But what is a neural network?\", \"Backpropagation calculus\")",
    repository="no repository: the figures are said and shown in the videos",
    path="3blue1brown.com, lessons \"neural-networks\" and \"backpropagation-calculus\"", commit=None,
    licence="the figures are facts quoted from the videos",
    data="none: a network's size, and a chain with N(0, 1) weights from nn.MLP(seed=0)")

DIGIT_NETWORK = (784, 16, 16, 10)
DIGIT_PARAMETERS = 13_002
CHAIN_NEURONS, CHAIN_WEIGHTS, CHAIN_BIASES = 4, 3, 3
INPUT, TARGET, SEED = 1.0, 1.0, 0


def chain(seed: int = SEED) -> nn.MLP:
    """a0 -> a1 -> a2 -> a3: one input and three one-neuron sigmoid layers."""
    return nn.MLP(1, [1] * CHAIN_WEIGHTS, activation="sigmoid", seed=seed)


def by_the_formula(weights: list[float], biases: list[float], a0: float,
                   y: float) -> list[tuple[float, float]]:
    """(dC0/dw, dC0/db) per neuron from the video's formula, carried back through the chain."""
    activations, zs = [a0], []
    for w, b in zip(weights, biases):
        zs.append(w * activations[-1] + b)
        activations.append(1.0 / (1.0 + math.exp(-zs[-1])))
    sigma_prime = [a * (1.0 - a) for a in activations[1:]]
    upstream = 2.0 * (activations[-1] - y)  # dC0/da(L)
    gradients = []
    for layer in reversed(range(len(weights))):
        delta = sigma_prime[layer] * upstream  # dC0/dz(l)
        gradients.append((activations[layer] * delta, delta))
        upstream = weights[layer] * delta  # dC0/da(l-1)
    return gradients[::-1]


def run(quick: bool) -> Report:
    """The counts, then the chain's gradients beside the formula (quick is the same)."""
    digits = nn.MLP(DIGIT_NETWORK[0], list(DIGIT_NETWORK[1:]))
    model = chain()
    weights = [float(w[0, 0]) for w in model.get_weights()[0]]
    biases = [float(b[0]) for b in model.get_weights()[1]]
    model.zero_grad()
    cost = (model([INPUT]) - TARGET) ** 2
    cost.backward()
    engine = [(layer.neurons[0].w[0].grad, layer.neurons[0].b.grad) for layer in model.layers]
    formula = by_the_formula(weights, biases, INPUT, TARGET)
    report = Report()
    report.add(Figure("784-16-16-10 network: weights and biases", len(digits.parameters()), DIGIT_PARAMETERS),
               Figure("the chain: neurons a0..a3 (input included)", 1 + len(model.layers), CHAIN_NEURONS),
               Figure("the chain: weights, biases", (len(weights), len(biases)),
                      (CHAIN_WEIGHTS, CHAIN_BIASES)))
    for number, ((ew, eb), (fw, fb)) in enumerate(zip(engine, formula), start=1):
        report.add(Figure(f"the chain at a0 = {INPUT:g}, y = {TARGET:g}: dC0/dw{number}, dC0/db{number} "
                          "(the video's formula)", (ew, eb), (fw, fb)))
    return report


ENTRY = Entry(
    name="3blue1brown",
    title="3Blue1Brown's neural networks: 13,002 parameters, and the a0 -> a1 -> a2 -> a3 chain's gradients",
    sources=(SOURCE,), run=run, quick_part="all of it (it takes milliseconds)")
