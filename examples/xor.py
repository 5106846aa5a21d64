"""A 3-4-1 sigmoid network learns XOR through the engine.

The network of Alex Punnen's "The Maths behind Neural Networks" (chapter 6): four inputs
[x1, x2, 1], targets [0, 1, 1, 0], no biases (the constant third input plays
that part), weights drawn by ``np.random.seed(1)`` then ``np.random.random``,
the quadratic cost 1/2 (y - a)**2 summed over the four samples, learning rate 1,
1000 full-batch steps.  The chapter derives the gradients by hand; here the engine
computes them, and the numbers it prints are the chapter's.

    python examples/xor.py                  # the chapter's run (about a second)
    python examples/xor.py --plot xor.png   # also draw the cost and the outputs
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import _plot
import numpy as np

import nn
from nn import datasets
from nn.train import History, fit, predict

PROBE = [1.0, 0.0, 1.0]


def tutorial_weights(seed: int) -> list[np.ndarray]:
    """The chapter's initial weights: ``np.random.seed(seed)`` then random((3, 4)) and random((4, 1))."""
    legacy = np.random.RandomState(seed)  # the legacy generator gives the chapter's exact numbers
    return [legacy.random((3, 4)), legacy.random((4, 1))]


def build(seed: int = 1) -> nn.MLP:
    """The chapter's network: 3 inputs, 4 hidden and 1 output sigmoid neurons, no biases."""
    model = nn.MLP(3, [4, 1], activation="sigmoid", bias=False)
    model.set_weights(tutorial_weights(seed))
    return model


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line's options (``argv`` None: ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description="Alex Punnen's two-layer XOR network (\"The Maths behind Neural Networks\", chapter 6): "
        "a 3-4-1 sigmoid network without biases learns XOR through the engine (quadratic cost summed over "
        "the 4 samples, full-batch gradient descent).",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of np.random.RandomState for the initial "
                        "weights (default 1, the chapter's)")
    parser.add_argument("--epochs", type=int, default=1000, help="full-batch steps (default 1000)")
    parser.add_argument("--lr", type=float, default=1.0, help="learning rate (default 1)")
    _plot.add_arguments(parser, "the cost and the outputs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train the chapter's network, print what it learned, return the numbers."""
    args = parse_args(argv)
    inputs, targets = datasets.xor()
    model = build(args.seed)
    before = predict(model, inputs).ravel()
    optimizer = nn.SGD(model.parameters(), lr=args.lr)
    start = time.perf_counter()
    history = fit(model, inputs, targets, nn.quadratic, optimizer, epochs=args.epochs,
                  reduction="sum", progress=args.progress)
    seconds = time.perf_counter() - start
    after = predict(model, inputs).ravel()
    probe = float(predict(model, [PROBE])[0])

    print(f"XOR (Alex Punnen's chapter 6): 3-4-1 sigmoid network, no biases, "
          f"weights from RandomState({args.seed})")
    print(f"cost 1/2 (y - a)^2 summed over 4 samples, learning rate {args.lr:g}, "
          f"{len(history)} full-batch steps in {history.mode} mode\n")
    print("input      target   output before   output after")
    for x, y, a0, a1 in zip(inputs, targets.ravel(), before, after):
        print(f"{x.astype(int)!s:9}  {y:5.0f}    {a0:13.3f}   {a1:12.3f}")
    if history.losses:
        print(f"\ncost: {history.losses[0]:.4f} at the first step, {history.losses[-1]:.4f} at the last")
    print(f"output for {[int(v) for v in PROBE]} after training: {probe:.3f}")
    print("(the chapter printed 0.758 0.771 0.791 0.801 before, 0.028 0.925 0.925 0.090 after, "
          "and 0.925 for [1, 0, 1])")
    print(f"trained in {seconds:.2f} s")
    if args.plot:
        print(f"picture: {plot(history, inputs, targets, before, after, args.plot)}")
    return {"before": before, "after": after, "probe": probe, "history": history, "seconds": seconds,
            "model": model}


def plot(history: History, inputs: np.ndarray, targets: np.ndarray, before: np.ndarray,
         after: np.ndarray, path: str) -> str:
    """Cost per step, and each sample's output before and after training beside its target."""
    plt = _plot.pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(range(1, len(history) + 1), history.losses)
    left.set(xlabel="step", ylabel="cost (sum over the 4 samples)", title="XOR: cost while training")
    left.set_yscale("log")
    positions = np.arange(len(inputs))
    right.bar(positions - 0.2, before, width=0.4, label="before training")
    right.bar(positions + 0.2, after, width=0.4, label="after training")
    right.hlines(targets.ravel(), positions - 0.45, positions + 0.45, colors="black", linestyles="dashed",
                 label="target", zorder=3)
    right.set_xticks(positions, [str(x.astype(int).tolist()) for x in inputs])
    right.set(ylim=(0, 1.22), ylabel="output", title="XOR: outputs")
    right.legend(loc="upper center", ncol=3, fontsize="small")
    figure.tight_layout()
    return _plot.save(figure, path)


if __name__ == "__main__":
    main()
