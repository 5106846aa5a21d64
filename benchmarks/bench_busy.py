"""Compiled mode on a busy machine: one MNIST-shaped epoch with 0, 1 and 2 other processes spinning.

For each load (processes this script starts, each running ``while True: pass``,
stopped before the next load), in one process, from the same weights
(Nielsen's 784-30-10 sigmoid network, quadratic cost, SGD eta 3.0, mini-batches
of 10, synthetic images):

1. hand-written NumPy, the whole mini-batch as matrices, and
2. compiled mode with the library's thread choice (``autodiff.compiled.blas.THREADS = 1``),
   taking turns every 25 mini-batches inside one ``blas.limited()`` (as
   ``nn.fit`` limits once per call): so the hand-written code is the
   single-threaded baseline;
3. then compiled mode with BLAS left at its default (``THREADS = None``:
   every core, what the library did before it chose), timed on a share of
   the epoch (``--before-share``) and scaled up, as it collapses.

Prints seconds per epoch and each one's ratio to the baseline, with the load
average when the load started.  Other people's work on the machine is not
under this script's control: it is the same for the three contenders of one
load, as they take turns.

    python benchmarks/bench_busy.py [--images 50000] [--spinners 0 1 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_compiled import (  # noqa: E402
    ETA,
    batches,
    blas_threads,
    initial_weights,
    interleaved,
    quadratic_loss,
    step_vectorised,
    synthetic_mnist,
    value_network,
)

from autodiff.compiled import blas  # noqa: E402
from autodiff.compiled import compile as compile_program  # noqa: E402


def spinners(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def one_load(images: np.ndarray, targets: np.ndarray, seed: int, before_share: int) -> dict[str, float]:
    order = batches(len(images), 10, seed)
    start_net = initial_weights(seed)
    hand = [(w.copy(), b.copy()) for w, b in start_net]
    weights, biases, params = value_network(start_net)
    program = compile_program(quadratic_loss(weights, biases), (images[:2], targets[:2]), params)
    steps = program.batches(images, targets, reduction="mean")
    steps.value_and_grad(order[0])  # the code for batches of 10 is generated here, not in a contender's turn

    def compiled():
        theta, grad = program.read_params(), np.empty(len(params))

        def step(rows: np.ndarray) -> None:
            steps.value_and_grad(rows, theta, out=grad)
            np.multiply(grad, ETA, out=grad)
            theta.__isub__(grad)

        return step

    # The library's choice, taken once for the whole phase as nn.fit takes it once per call: the
    # hand-written code runs on the same single thread, and nobody pays for changing it between turns.
    with blas.limited():
        t = interleaved({"vectorised": lambda rows: step_vectorised(hand, images[rows], targets[rows]),
                         "after": compiled()}, order)
    # Before: BLAS at its default.  Collapsing, so timed on a share of the epoch and scaled up.
    blas.THREADS = None
    try:
        few = order[: len(order) // before_share]
        t["before"] = interleaved({"before": compiled()}, few)["before"] * len(order) / len(few)
    finally:
        blas.THREADS = 1
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--spinners", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--before-share", type=int, default=5,
                        help="time the default-threads contender on 1/N of the epoch (default 5)")
    args = parser.parse_args()
    images, targets = synthetic_mnist(args.images, args.seed)
    print(f"one epoch of {args.images:,} synthetic images, mini-batches of 10, {os.cpu_count()} cores; "
          f"BLAS threads by default: {blas_threads()}")
    print(f"{'spinners':>8} {'load avg':>9} {'hand NumPy, 1 thread':>21} {'compiled, 1 thread':>22} "
          f"{'compiled, default threads':>28}")
    for count in args.spinners:
        started = spinners(count)
        try:
            time.sleep(1.0)  # let the spinners take their cores
            load = os.getloadavg()[0]
            t = one_load(images, targets, args.seed, args.before_share)
        finally:
            for process in started:
                process.kill()
                process.wait()
        base = t["vectorised"]
        print(f"{count:>8} {load:>9.2f} {base:>19.2f} s {t['after']:>9.2f} s ({t['after'] / base:4.2f}x) "
              f"{t['before']:>13.2f} s ({t['before'] / base:5.2f}x)")


if __name__ == "__main__":
    main()
