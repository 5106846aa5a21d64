"""Compiled training through nn: tracing time, nn.fit against the program's own steps.  Prints figures.

Nielsen's 784-30-10 sigmoid network as ``nn.MLP`` with ``nn.quadratic``, SGD
with lr 3.0 on the mean over mini-batches of 10, on synthetic MNIST-shaped
data (uniform pixels, random one-hot targets).  In one process:

1. compiling the per-sample loss as ``nn.fit`` does
   (``autodiff.compiled.compile_composed`` on four example rows: one trace and
   three checks, then the loss's plan and the model's, from the same trace),
   median of a few runs;
2. ``nn.fit`` one epoch in compiled mode (the epoch's own ``seconds``, which
   leave out tracing), against the same epoch run directly on the program
   ``fit`` built: ``program.batches(...).value_and_grad`` on the chosen rows
   into a reused vector and the SGD update, the two taking turns epoch by
   epoch;
3. all tracing in a run like ``examples/mnist.py --epochs 1``: ``fit`` (with
   a forward pass for metrics) then ``predict`` on 10,000 test images.

BLAS threads are the library's own choice (autodiff/compiled/blas.py), nothing
pinned through the environment.

    python benchmarks/bench_training.py [--quick] [--images 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autodiff
import nn
from autodiff.compiled import compile_composed

BATCH = 10
LR = 3.0


def synthetic(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.random((count, 784))
    return images, np.eye(10)[rng.integers(0, 10, count)]


def model(seed: int) -> nn.MLP:
    return nn.MLP(784, [30, 10], activation="sigmoid", init="normal", seed=seed)


def compile_seconds(net: nn.MLP, images: np.ndarray, targets: np.ndarray, rounds: int) -> float:
    """Median seconds of compiling the loss as nn.fit does: the loss and, from its trace, the model."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        compile_composed(nn.quadratic, net, (images[:4], targets[:4]), net.parameters())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fit_epoch(net: nn.MLP, images: np.ndarray, targets: np.ndarray, seed: int) -> float:
    history = nn.fit(net, images, targets, nn.quadratic, nn.SGD(net, lr=LR), epochs=1, batch_size=BATCH,
                     reduction="mean", seed=seed, mode="compiled", progress=False)
    return history.epochs[-1].seconds


def own_steps(program: Any, images: np.ndarray, targets: np.ndarray, seed: int) -> Callable[[], float]:
    """An epoch straight on the program: the loop nn.fit runs, with nothing around it."""
    theta = program.read_params()
    grad = np.empty_like(theta)
    steps = program.batches(images, targets, reduction="mean")

    def epoch() -> float:
        nonlocal theta
        order = np.random.default_rng([seed, 1]).permutation(len(images))
        start = time.perf_counter()
        for begin in range(0, len(images), BATCH):
            steps.value_and_grad(order[begin:begin + BATCH], theta, out=grad)
            theta = theta - LR * grad
        return time.perf_counter() - start

    return epoch


def tracing_in_a_run(images: np.ndarray, targets: np.ndarray, test: np.ndarray,
                     seed: int) -> tuple[float, int]:
    """Seconds spent compiling (tracing, checks, plans) during fit (with metrics) and predict, and calls."""
    spent, calls = [0.0], [0]

    def timed(real: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - start
                calls[0] += 1
        return run

    net = model(seed + 1)
    real_compile, real_composed = autodiff.compile, nn.modes.compile_composed
    autodiff.compile, nn.modes.compile_composed = timed(real_compile), timed(real_composed)
    try:
        nn.fit(net, images, targets, nn.quadratic, nn.SGD(net, lr=LR), epochs=1, batch_size=BATCH,
               reduction="mean", seed=seed, mode="compiled", progress=False,
               metrics={"accuracy": lambda out, want: float(np.mean(out.argmax(1) == want.argmax(1)))})
        nn.predict(net, test, mode="compiled")
    finally:
        autodiff.compile, nn.modes.compile_composed = real_compile, real_composed
    return spent[0], calls[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="5,000 images and 2 rounds")
    parser.add_argument("--rounds", type=int, default=3, help="epochs of each contender, taking turns")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    count, rounds = (5_000, 2) if args.quick else (args.images, args.rounds)
    images, targets = synthetic(count, args.seed)
    test = synthetic(10_000, args.seed + 1)[0]
    print(f"784-30-10 sigmoid nn.MLP, quadratic cost, SGD lr {LR}, batch {BATCH}, {count:,} images, "
          f"BLAS threads: the library's choice ({autodiff.compiled.blas.THREADS})")

    seconds = compile_seconds(model(args.seed), images, targets, max(rounds, 3))
    print(f"\ncompiling the loss as nn.fit does (compile_composed: 1 trace + 3 checks, the loss's and "
          f"the model's plans, replay checks): {seconds:.3f} s "
          f"(median of {max(rounds, 3)}; goal <= 0.6 s with the gradient graph)")

    fit_net = model(args.seed)
    trainer = nn.modes.CompiledTrainer(fit_net, images, targets, nn.quadratic, nn.SGD(fit_net, lr=LR), "mean",
                                       need_outputs=False)
    direct = own_steps(trainer.program, images, targets, args.seed)
    fits, owns = [], []
    for _ in range(rounds):  # taking turns spreads a shared machine's load over both
        fits.append(fit_epoch(fit_net, images, targets, args.seed))
        owns.append(direct())
    ratios = [f / o for f, o in zip(fits, owns)]
    print(f"\nnn.fit compiled epoch {statistics.median(fits):.3f} s, the program's own steps "
          f"{statistics.median(owns):.3f} s: {statistics.median(ratios):.3f}x (median of {rounds} paired "
          f"epochs; goal <= 1.05x)")

    spent, calls = tracing_in_a_run(images, targets, test, args.seed)
    print(f"\ntracing in a run of fit (with metrics) and predict: {spent:.3f} s in {calls} compile calls "
          f"(goal <= 1 s; the model's forward pass comes from the loss's trace and is reused by predict)")


if __name__ == "__main__":
    main()
