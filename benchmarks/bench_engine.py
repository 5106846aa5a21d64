"""How fast is the scalar engine?  Prints figures; asserts nothing.

1. One MNIST-sized sample (784-30-10 sigmoid net, quadratic cost), forward plus
   backward through Values, against the same network written by hand with
   plain Python floats, in the same run: median times and their ratio.
2. A chain of a million operations: nodes per second to build and to backprop.
3. Peak memory of both runs (tracemalloc, measured in separate runs because
   tracing slows everything down).

    python benchmarks/bench_engine.py [--repeats 21] [--chain 1000000]
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autodiff  # noqa: E402
from autodiff import Value  # noqa: E402

SIZES = (784, 30, 10)


def make_network(seed: int = 0) -> tuple[list, list, list[float], list[float]]:
    rng = random.Random(seed)
    weights = [
        [[rng.gauss(0, 1) for _ in range(nin)] for _ in range(nout)] for nin, nout in zip(SIZES, SIZES[1:])
    ]
    biases = [[rng.gauss(0, 1) for _ in range(nout)] for nout in SIZES[1:]]
    image = [rng.random() for _ in range(SIZES[0])]
    target = [0.0] * SIZES[-1]
    target[3] = 1.0
    return weights, biases, image, target


def value_sample(weights: list, biases: list, image: list[float], target: list[float]) -> Callable[[], None]:
    """Forward and backward of one sample through Values (parameters made once)."""
    w_values = [[[Value(w) for w in row] for row in layer] for layer in weights]
    b_values = [[Value(b) for b in layer] for layer in biases]

    def run() -> None:
        activations = [Value(x) for x in image]
        for rows, bs in zip(w_values, b_values):
            activations = [
                autodiff.sum([*(w * a for w, a in zip(row, activations)), b]).sigmoid()
                for row, b in zip(rows, bs)
            ]
        loss = autodiff.sum([(a - y) ** 2 for a, y in zip(activations, target)]) * 0.5
        loss.backward()

    return run


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def float_sample(weights: list, biases: list, image: list[float], target: list[float]) -> Callable[[], None]:
    """The same network by hand on Python floats: forward, then the backprop equations."""

    def run() -> None:
        activations = [image]
        for rows, bs in zip(weights, biases):
            previous = activations[-1]
            activations.append(
                [_sigmoid(sum(w * a for w, a in zip(row, previous)) + b) for row, b in zip(rows, bs)]
            )
        out = activations[-1]
        delta = [(a - y) * a * (1.0 - a) for a, y in zip(out, target)]
        grads = []
        for layer in range(len(weights) - 1, -1, -1):
            previous = activations[layer]
            grads.append(([[d * a for a in previous] for d in delta], delta))
            if layer:
                rows = weights[layer]
                delta = [
                    sum(rows[k][j] * delta[k] for k in range(len(delta))) * a * (1.0 - a)
                    for j, a in enumerate(previous)
                ]

    return run


def paired_medians(runs: list[Callable[[], None]], repeats: int) -> list[float]:
    """Median seconds of each run, taking turns so that both see the same moments of a noisy machine."""
    for run in runs:
        run()  # warm up
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, spent in zip(runs, times):
            start = time.perf_counter()
            run()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def peak_mib(run: Callable[[], None]) -> float:
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def chain(length: int) -> tuple[float, float]:
    """Seconds to build and to backprop a chain of `length` operations."""
    start = time.perf_counter()
    x = Value(0.5, label="x")
    node = x
    for _ in range(length):
        node = node * 1.0000001
    built = time.perf_counter()
    node.backward()
    done = time.perf_counter()
    return built - start, done - built


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--chain", type=int, default=1_000_000)
    args = parser.parse_args()

    network = make_network()
    value_run, float_run = value_sample(*network), float_sample(*network)
    print(
        f"MNIST-sized sample, {SIZES[0]}-{SIZES[1]}-{SIZES[2]} sigmoid net, quadratic cost, forward+backward"
    )
    for label, collector in (("gc on", True), ("gc off", False)):
        (gc.enable if collector else gc.disable)()
        t_value, t_float = paired_medians([value_run, float_run], args.repeats)
        print(
            f"  {label:6}  Values {t_value * 1e3:7.1f} ms   plain floats {t_float * 1e3:6.2f} ms   "
            f"ratio {t_value / t_float:5.1f}"
        )
    gc.enable()
    print(f"  peak memory: Values {peak_mib(value_run):.1f} MiB, plain floats {peak_mib(float_run):.2f} MiB")

    build, back = chain(args.chain)
    print(f"chain of {args.chain:,} operations (gc on)")
    print(
        f"  build {build:.2f} s ({args.chain / build / 1e6:.2f} M nodes/s), "
        f"backward {back:.2f} s ({args.chain / back / 1e6:.2f} M nodes/s)"
    )
    print(f"  peak memory: {peak_mib(lambda: chain(args.chain)):.0f} MiB")


if __name__ == "__main__":
    main()
