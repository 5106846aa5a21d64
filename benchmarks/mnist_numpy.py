"""The baseline of bench_mnist_process.py: examples/mnist.py's work written by hand with NumPy alone.

Reads the four MNIST IDX files, trains Nielsen's 784-30-10 sigmoid network
(quadratic cost, mini-batches of 10, eta 3.0, standard-normal initial weights)
for one epoch with hand-written vectorised backprop, and prints the test
accuracy.  It imports nothing from this project, as a person would write it,
and runs BLAS on one thread (threadpoolctl), the single-threaded baseline the
library's own choice is measured against.

    python benchmarks/mnist_numpy.py DATA_DIR [--epochs 1] [--seed 3]
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits


def read_idx(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(directory: Path, kind: str) -> tuple[np.ndarray, np.ndarray]:
    def find(name: str) -> Path:
        return next(p for p in (directory / name, directory / f"{name}.gz") if p.exists())

    images = read_idx(find(f"{kind}-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    return images, read_idx(find(f"{kind}-labels-idx1-ubyte"))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def train_epoch(weights: list[np.ndarray], biases: list[np.ndarray], X: np.ndarray, labels: np.ndarray,
                rng: np.random.Generator, eta: float = 3.0, size: int = 10) -> None:
    eye = np.eye(10)
    order = rng.permutation(len(X))
    for begin in range(0, len(X), size):
        rows = order[begin:begin + size]
        activations = [X[rows].T]
        for w, b in zip(weights, biases):
            activations.append(sigmoid(w @ activations[-1] + b))
        a = activations[-1]
        delta = (a - eye[labels[rows]].T) * a * (1 - a)
        for layer in range(len(weights) - 1, -1, -1):
            grad_w, grad_b = delta @ activations[layer].T, delta.sum(axis=1, keepdims=True)
            if layer:
                h = activations[layer]
                delta = (weights[layer].T @ delta) * h * (1 - h)
            weights[layer] -= eta / len(rows) * grad_w
            biases[layer] -= eta / len(rows) * grad_b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    with threadpool_limits(1, user_api="blas"):
        run(args)


def run(args: argparse.Namespace) -> None:
    train_x, train_y = load(args.data_dir, "train")
    test_x, test_y = load(args.data_dir, "t10k")
    rng = np.random.default_rng(args.seed)
    sizes = (784, 30, 10)
    weights = [rng.standard_normal((n, m)) for m, n in zip(sizes, sizes[1:])]
    biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
    for epoch in range(1, args.epochs + 1):
        train_epoch(weights, biases, train_x, train_y, rng)
        a = test_x.T
        for w, b in zip(weights, biases):
            a = sigmoid(w @ a + b)
        print(f"epoch {epoch}: test accuracy {np.mean(a.argmax(axis=0) == test_y):.4f}")


if __name__ == "__main__":
    main()
