"""Compiled mode against hand-written NumPy backprop, one MNIST-shaped epoch.  Prints figures only.

Network and training as in Nielsen's MNIST code ("Neural Networks and Deep Learning"): 784-30-10, sigmoid
everywhere, quadratic cost, weights and biases from a standard normal, SGD with
eta = 3.0, the gradient averaged over each mini-batch.  The images are
synthetic (uniform pixels in [0, 1), random one-hot labels): speed does not
depend on the digits.  In one process, from the same initial weights:

1. hand-written NumPy backprop, one sample at a time inside each mini-batch
   (the loop of Nielsen's code);
2. hand-written NumPy backprop, the whole mini-batch as one matrix;
3. compiled mode (autodiff.compile), parameters kept in the program's vector
   between the sync points (read once before the epoch, written back after),
   the steps through ``program.batches`` (the data checked once, each step
   given its row indices);
4. compiled mode through the Values each step (loss_and_grad writes .grad, an
   SGD over Values does p.data -= eta * p.grad): timed on a few hundred
   mini-batches and extrapolated to the epoch, labelled so.

Threads: nothing is pinned through the environment.  The whole comparison
runs inside one ``autodiff.compiled.blas.limited()``, the library's own choice
of one BLAS thread as ``nn.fit`` takes it once per call, so the hand-written
methods are the single-threaded baseline and nobody pays for changing the
setting between turns (on a busy machine that cost more than the steps).  Peak memory is the process's peak
resident set size for the whole run.

    python benchmarks/bench_compiled.py [--quick] [--images 50000] [--seed 0]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autodiff
from autodiff import Value
from autodiff.compiled import blas, compile  # noqa: A004

SIZES = (784, 30, 10)
ETA = 3.0
Weights = list[tuple[np.ndarray, np.ndarray]]  # per layer: W (nout, nin), b (nout, 1)


def synthetic_mnist(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images of 784 float32 pixels in [0, 1) and one-hot float32 targets."""
    rng = np.random.default_rng(seed)
    images = rng.random((count, SIZES[0]), dtype=np.float32)
    targets = np.zeros((count, SIZES[-1]), dtype=np.float32)
    targets[np.arange(count), rng.integers(0, SIZES[-1], count)] = 1.0
    return images, targets


def initial_weights(seed: int) -> Weights:
    rng = np.random.default_rng(seed + 1)
    return [(rng.standard_normal((nout, nin)), rng.standard_normal((nout, 1)))
            for nin, nout in zip(SIZES, SIZES[1:])]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# -- 1. per sample, as Nielsen's code -------------------------------------------


def backprop_one(net: Weights, x: np.ndarray, y: np.ndarray) -> Weights:
    activations, zs = [x], []
    for w, b in net:
        zs.append(w @ activations[-1] + b)
        activations.append(sigmoid(zs[-1]))
    delta = (activations[-1] - y) * activations[-1] * (1 - activations[-1])
    grads = [(delta @ activations[-2].T, delta)]
    for layer in range(len(net) - 2, -1, -1):
        a = activations[layer + 1]
        delta = (net[layer + 1][0].T @ delta) * a * (1 - a)
        grads.insert(0, (delta @ activations[layer].T, delta))
    return grads


def step_per_sample(net: Weights, X: np.ndarray, Y: np.ndarray) -> None:
    total = [(np.zeros_like(w), np.zeros_like(b)) for w, b in net]
    for x, y in zip(X, Y):
        for (gw, gb), (dw, db) in zip(total, backprop_one(net, x[:, None], y[:, None])):
            gw += dw
            gb += db
    for (w, b), (gw, gb) in zip(net, total):
        w -= ETA / len(X) * gw
        b -= ETA / len(X) * gb


# -- 2. the whole mini-batch as matrices -----------------------------------------


def step_vectorised(net: Weights, X: np.ndarray, Y: np.ndarray) -> None:
    activations = [X.T.astype(np.float64)]
    for w, b in net:
        activations.append(sigmoid(w @ activations[-1] + b))
    a = activations[-1]
    delta = (a - Y.T) * a * (1 - a)
    grads = []
    for layer in range(len(net) - 1, -1, -1):
        grads.append((delta @ activations[layer].T, delta.sum(axis=1, keepdims=True)))
        if layer:
            a = activations[layer]
            delta = (net[layer][0].T @ delta) * a * (1 - a)
    for (w, b), (gw, gb) in zip(net, reversed(grads)):
        w -= ETA / len(X) * gw
        b -= ETA / len(X) * gb


# -- 3 and 4. compiled mode ------------------------------------------------------


def value_network(net: Weights) -> tuple[list[list[list[Value]]], list[list[Value]], list[Value]]:
    weights = [[[Value(float(v)) for v in row] for row in w] for w, _ in net]
    biases = [[Value(float(v)) for v in b[:, 0]] for _, b in net]
    params = [p for rows, bs in zip(weights, biases) for row, b in zip(rows, bs) for p in [*row, b]]
    return weights, biases, params


def quadratic_loss(weights: list, biases: list) -> Callable[[list[Value], list[Value]], Value]:
    def loss(x: list[Value], y: list[Value]) -> Value:
        a = x
        for rows, bs in zip(weights, biases):
            a = [autodiff.sum([*(w * ai for w, ai in zip(row, a)), b]).sigmoid() for row, b in zip(rows, bs)]
        return 0.5 * autodiff.sum([(aj - yj) ** 2 for aj, yj in zip(a, y)])

    return loss


def to_arrays(weights: list, biases: list) -> Weights:
    return [(np.array([[v.data for v in row] for row in rows]), np.array([[b.data] for b in bs]))
            for rows, bs in zip(weights, biases)]


# -- running ---------------------------------------------------------------------


def batches(count: int, size: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed + 2).permutation(count)
    return [order[k:k + size] for k in range(0, count, size)]


def epoch(step: Callable[[np.ndarray], None], order: list[np.ndarray]) -> float:
    """Seconds for the steps on ``order``'s mini-batches; each step gets its rows and picks its samples."""
    start = time.perf_counter()
    for rows in order:
        step(rows)
    return time.perf_counter() - start


def max_difference(a: Weights, b: Weights) -> float:
    return max(float(np.max(np.abs(x - y))) for pa, pb in zip(a, b) for x, y in zip(pa, pb))


CONTROLLER = ThreadpoolController()


def blas_threads() -> str:
    """BLAS threads now (the user's setting, outside the library's calls)."""
    return ", ".join(str(lib["num_threads"]) for lib in CONTROLLER.select(user_api="blas").info()) or "?"


def interleaved(steps: dict[str, Callable[[np.ndarray], None]], order: list[np.ndarray],
                segment: int = 25) -> dict[str, float]:
    """Seconds per method for the whole epoch, the methods taking turns every ``segment`` mini-batches.

    Taking turns spreads the load of a shared machine evenly over the methods.
    """
    seconds = dict.fromkeys(steps, 0.0)
    for k in range(0, len(order), segment):
        for name, step in steps.items():
            seconds[name] += epoch(step, order[k:k + segment])
    return seconds


def run(images: np.ndarray, targets: np.ndarray, batch_size: int, seed: int, value_batches: int) -> None:
    count = len(images)
    order = batches(count, batch_size, seed)
    start_net = initial_weights(seed)
    print(f"\nmini-batch {batch_size}: {len(order)} steps per epoch of {count:,} images")

    per_sample = [(w.copy(), b.copy()) for w, b in start_net]
    vectorised = [(w.copy(), b.copy()) for w, b in start_net]
    weights, biases, params = value_network(start_net)
    loss = quadratic_loss(weights, biases)
    start = time.perf_counter()
    program = compile(loss, (images[:2], targets[:2]), params)
    t_trace = time.perf_counter() - start
    theta = program.read_params()  # sync point: Values -> vector

    grad = np.empty_like(theta)
    steps = program.batches(images, targets, reduction="mean")  # the data sets, checked once

    def compiled_step(rows: np.ndarray) -> None:
        steps.value_and_grad(rows, theta, out=grad)
        np.multiply(grad, ETA, out=grad)  # in place: the gradient buffer is reused every step
        theta.__isub__(grad)

    t = interleaved({"loop": lambda rows: step_per_sample(per_sample, images[rows], targets[rows]),
                     "vectorised": lambda rows: step_vectorised(vectorised, images[rows], targets[rows]),
                     "compiled": compiled_step}, order)
    program.write_params(theta)  # sync point: vector -> Values
    agreement = max_difference(to_arrays(weights, biases), vectorised)
    agreement_loop = max_difference(per_sample, vectorised)

    def value_step(rows: np.ndarray) -> None:
        program.loss_and_grad(images[rows], targets[rows], reduction="mean")
        for p in params:
            p.data -= ETA * p.grad
            p.grad = 0.0

    few = order[:value_batches]
    t_values = epoch(value_step, few) * len(order) / len(few)

    rows = [
        ("hand-written NumPy, per-sample loop", t["loop"], ""),
        ("hand-written NumPy, vectorised", t["vectorised"], ""),
        ("compiled, parameters in a vector", t["compiled"], ""),
        ("compiled, through Values each step", t_values, f" (extrapolated from {len(few)} steps)"),
    ]
    for label, seconds, note in rows:
        print(f"  {label:38} {seconds:8.2f} s/epoch   {seconds / t['vectorised']:6.2f}x vectorised{note}")
    print(f"  compiled vs per-sample loop: {t['compiled'] / t['loop']:.2f}x   "
          f"tracing + plan: {t_trace:.2f} s ({len(program.plan.steps)} steps for the loss, "
          f"{len(program.plan.gradient_steps) + len(program.plan.reductions)} for its gradients)")
    print(f"  after the epoch, largest weight difference: compiled vs vectorised {agreement:.1e}, "
          f"per-sample loop vs vectorised {agreement_loop:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="5,000 images instead of 50,000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--value-batches", type=int, default=200,
                        help="mini-batches timed through Values (then extrapolated)")
    args = parser.parse_args()
    count = 5_000 if args.quick else args.images
    images, targets = synthetic_mnist(count, args.seed)
    print(f"MNIST-shaped epoch: {SIZES[0]}-{SIZES[1]}-{SIZES[2]} sigmoid net, quadratic cost, SGD eta {ETA}, "
          f"{count:,} synthetic images (float32)\nBLAS threads: the library's choice for the whole run "
          f"({autodiff.compiled.blas.THREADS}, hand-written code included); outside it {blas_threads()}")
    with blas.limited():
        for batch_size in (10, 100):
            run(images, targets, batch_size, args.seed, args.value_batches)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(f"\npeak memory of the whole run (max resident set size): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
