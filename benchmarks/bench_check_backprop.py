"""How long does check_backprop take on Nielsen's 784-30-10 network?  Prints figures; asserts nothing.

A learner's vectorised NumPy forward pass (sigmoid layers, quadratic cost) on
a batch of synthetic images, run on object arrays of Values: the node count,
the forward and backward times of the Value graph, then ``check_backprop``
with right hand-derived gradients and with σ' dropped from the output delta
(every wrong row diagnosed).

    python benchmarks/bench_check_backprop.py [--images 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodiff import clock  # noqa: E402
from autodiff.arrays import values  # noqa: E402
from autodiff.testing import check_backprop  # noqa: E402


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10, help="images in the batch (default 10)")
    images = parser.parse_args().images
    rng = np.random.RandomState(0)
    X, Y = rng.rand(images, 784), np.eye(10)[rng.randint(0, 10, images)]
    params = {"W1": rng.randn(784, 30), "b1": rng.randn(30), "W2": rng.randn(30, 10), "b2": rng.randn(10)}

    def forward(W1, b1, W2, b2):  # noqa: N803 - the learner's names
        z1 = X @ W1 + b1
        z2 = sigmoid(z1) @ W2 + b2
        return ((sigmoid(z2) - Y) ** 2).sum() / 2, {"z1": z1, "z2": z2}

    def by_hand(output_factor: bool) -> dict[str, np.ndarray]:
        z1 = X @ params["W1"] + params["b1"]
        a1 = sigmoid(z1)
        a2 = sigmoid(a1 @ params["W2"] + params["b2"])
        d2 = (a2 - Y) * (a2 * (1 - a2) if output_factor else 1)
        d1 = d2 @ params["W2"].T * a1 * (1 - a1)
        return {"z2": d2, "W2": a1.T @ d2, "b2": d2.sum(0), "z1": d1, "W1": X.T @ d1, "b1": d1.sum(0)}

    lifted = {name: values(array, name) for name, array in params.items()}
    start, began = clock.tick(), time.perf_counter()
    cost, _ = forward(**lifted)
    built = time.perf_counter()
    nodes = clock.tick() - start
    cost.backward()
    swept = time.perf_counter()
    print(f"784-30-10 on {images} images: {nodes:,} nodes; forward {built - began:.2f} s, "
          f"backward {swept - built:.2f} s")
    for words, output_factor in (("right gradients", True), ("sigma' dropped", False)):
        began = time.perf_counter()
        report = check_backprop(forward, params, by_hand(output_factor))
        text = str(report)
        print(f"check_backprop, {words}: {time.perf_counter() - began:.2f} s "
              f"(ok={report.ok}, report {len(text.splitlines())} lines)")


if __name__ == "__main__":
    main()
