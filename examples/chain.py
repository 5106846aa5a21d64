"""The 3Blue1Brown chain a0 -> a1 -> a2 -> a3, by the engine and by hand.

The tutorial "Back Propagation Calculus in Neural Network" follows
3Blue1Brown's smallest network, four neurons in a row, and derives its
gradients by hand.  The first neuron is the input a0; each of the other three
is a sigmoid neuron with one weight and one bias, so the chain has three
weights and three biases:
z(l) = w(l) a(l-1) + b(l), a(l) = sigmoid(z(l)) for l = 1, 2, 3 (L = 3), and
the cost of one sample is C0 = (a(L) - y)**2 with y = 1.0.  The chain rule
gives, for the last neuron,

    dC0/dw(L) = a(L-1) * sigmoid'(z(L)) * 2 (a(L) - y)
    dC0/db(L) =      1 * sigmoid'(z(L)) * 2 (a(L) - y)

and each earlier neuron multiplies in w(l+1) sigmoid'(z(l)) once more.  This
script prints those hand-made numbers beside the engine's gradients, then
trains the chain and prints the cost falling.

    python examples/chain.py
    python examples/chain.py --input 0.3 --steps 500 --plot chain.png
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import _plot
import numpy as np

import autodiff
import nn
from nn.train import History, fit, predict

NEURONS = 4  # a0 (the input), a1, a2, a3
WEIGHTS = NEURONS - 1  # one weight and one bias per sigmoid neuron


def build(seed: int) -> nn.MLP:
    """a0 -> a1 -> a2 -> a3: three one-neuron sigmoid layers, weights and biases N(0, 1) from ``seed``."""
    return nn.MLP(1, [1] * WEIGHTS, activation="sigmoid", seed=seed)


def cost(output: autodiff.Value, target: float) -> autodiff.Value:
    """C0 = (a(L) - y)**2, the 3Blue1Brown cost of one sample (no factor 1/2)."""
    return (output - target) ** 2


def engine_gradients(model: nn.MLP, x: float, y: float) -> tuple[float, list[tuple[float, float]]]:
    """C0 and (dC0/dw, dC0/db) for each sigmoid neuron, a1 to a3, from one backward pass."""
    model.zero_grad()
    c = cost(model([x]), y)
    c.backward()
    return c.data, [(layer.neurons[0].w[0].grad, layer.neurons[0].b.grad) for layer in model.layers]


def hand_gradients(
    weights: list[float], biases: list[float], x: float, y: float
) -> list[tuple[float, float]]:
    """(dC0/dw, dC0/db) for each sigmoid neuron by the chain rule written out with plain floats."""
    activations, zs = [x], []
    for w, b in zip(weights, biases):
        zs.append(w * activations[-1] + b)
        activations.append(_sigmoid(zs[-1]))
    # delta(l) = dC0/dz(l); at the end it is sigmoid'(z(L)) * 2 (a(L) - y)
    delta = _sigmoid_prime(zs[-1]) * 2.0 * (activations[-1] - y)
    gradients = []
    for layer in reversed(range(len(weights))):
        gradients.append((activations[layer] * delta, delta))
        if layer > 0:
            delta = weights[layer] * delta * _sigmoid_prime(zs[layer - 1])
    return gradients[::-1]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line's options (``argv`` None: ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description="The 3Blue1Brown chain a0 -> a1 -> a2 -> a3 (the input and three sigmoid neurons: three "
        "weights, three biases), as in the tutorial \"Back Propagation Calculus in Neural Network\": the "
        "engine's gradients beside the hand chain rule, then training.",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the N(0, 1) initial weights (default 0)")
    parser.add_argument("--input", type=float, default=1.0, help="the input a(0) (default 1.0)")
    parser.add_argument("--target", type=float, default=1.0, help="the target y (default 1.0)")
    parser.add_argument("--steps", type=int, default=200, help="gradient-descent steps (default 200)")
    parser.add_argument("--lr", type=float, default=1.0, help="learning rate (default 1)")
    _plot.add_arguments(parser, "the cost curve", progress=False)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Compare gradients, train, print; return the numbers."""
    args = parse_args(argv)
    model = build(args.seed)
    weights = [float(w[0, 0]) for w in model.get_weights()[0]]
    biases = [float(b[0]) for b in model.get_weights()[1]]
    c0, engine = engine_gradients(model, args.input, args.target)
    hand = hand_gradients(weights, biases, args.input, args.target)

    print(f"3Blue1Brown chain a0 -> a1 -> a2 -> a3: {NEURONS} neurons, {WEIGHTS} weights, {WEIGHTS} biases, "
          f"input a(0) = {args.input:g}, target y = {args.target:g}, "
          f"cost C0 = (a(L) - y)^2 = {c0:.6f}\n")
    print("neuron       w          b     dC0/dw engine      dC0/dw by hand"
          "    dC0/db engine      dC0/db by hand")
    for layer, (w, b, (ew, eb), (hw, hb)) in enumerate(zip(weights, biases, engine, hand), start=1):
        print(f"   a{layer}  {w:9.5f}  {b:9.5f}  {ew:17.12f}  {hw:17.12f}  {eb:17.12f}  {hb:17.12f}")
    largest = max(abs(e - h) for pair_e, pair_h in zip(engine, hand) for e, h in zip(pair_e, pair_h))
    print(f"largest difference engine - hand: {largest:.1e}\n")

    optimizer = nn.SGD(model.parameters(), lr=args.lr)
    start = time.perf_counter()
    history = fit(model, [[args.input]], [args.target], cost, optimizer, epochs=args.steps,
                  reduction="sum", progress=False)
    seconds = time.perf_counter() - start
    final = float(predict(model, [[args.input]])[0])
    every = max(1, args.steps // 10)
    print(f"training: gradient descent, learning rate {args.lr:g}")
    for record in history:
        if record.epoch == 1 or record.epoch % every == 0:
            print(f"step {record.epoch:5}   cost {record.loss:.6f}")
    print(f"after {len(history)} steps: a(L) = {final:.6f}, cost {(final - args.target) ** 2:.6f} "
          f"({seconds:.2f} s)")
    if args.plot:
        print(f"picture: {plot(history, args.plot)}")
    return {"cost": c0, "engine": engine, "hand": hand, "largest_difference": largest, "history": history,
            "final_output": final, "seconds": seconds, "model": model}


def plot(history: History, path: str) -> str:
    """The cost C0 at every step."""
    plt = _plot.pyplot()
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(range(1, len(history) + 1), history.losses)
    axes.set(xlabel="step", ylabel="C0 = (a(L) - y)^2", title="3Blue1Brown chain: cost while training")
    axes.set_yscale("log")
    figure.tight_layout()
    return _plot.save(figure, path)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _sigmoid_prime(z: float) -> float:
    s = _sigmoid(z)
    return s * (1.0 - s)


if __name__ == "__main__":
    np.set_printoptions(precision=6)
    main()
