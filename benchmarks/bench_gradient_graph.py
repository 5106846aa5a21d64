"""The gradient graph the engine records, compiled as a forward graph, against compiled mode's own backward.

The yardstick for compiling forward graphs only (issue 25, part 2): on the
784-30-10 sigmoid network with the quadratic cost of Nielsen's MNIST code, in
one process and from the same weights, it prints

1. the sizes of the loss graph and of the loss with its gradients as the Value
   sweep records them (``autodiff.backward.gradients``), and the sweep's time;
2. the time to compile the loss (compiled mode's backward) and the time to
   compile the loss with its gradient graph as outputs of one forward graph
   (today's planner, checks included);
3. seconds per step at mini-batches of 10 and 100: ``value_and_grad`` of the
   first against ``forward`` of the second, whose per-sample gradients are
   summed over the batch by NumPy (the plan has no reduction over the batch
   yet), and the largest relative difference of the two gradients.

Threads: one BLAS thread, the library's own choice (``blas.limited()``).

    python benchmarks/bench_gradient_graph.py [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_compiled as mnist  # noqa: E402 - the same network, weights and images

import autodiff  # noqa: E402
from autodiff.backward import collector_paused, gradients, topological_order  # noqa: E402
from autodiff.compiled import blas, compile  # noqa: A004, E402


def per_step(step: Callable[[], object], seconds: float = 1.0) -> float:
    """Seconds per call of ``step``, from as many calls as fit in about ``seconds`` (after one warm-up)."""
    step()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        calls += 1
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    weights, biases, params = mnist.value_network(mnist.initial_weights(args.seed))
    loss = mnist.quadratic_loss(weights, biases)
    images, targets = (a.astype(np.float64) for a in mnist.synthetic_mnist(200, args.seed))

    x, y = [autodiff.Value(float(v)) for v in images[0]], [autodiff.Value(float(v)) for v in targets[0]]
    with collector_paused():
        root = loss(x, y)
        start = time.perf_counter()
        grads = gradients(root, params)
        sweep = time.perf_counter() - start
        nodes = len(topological_order(root))
        both = len(topological_order(autodiff.sum([root, *grads]))) - 1
    print("784-30-10 sigmoid net, quadratic cost, one sample")
    print(f"  loss graph {nodes:,} nodes; with its gradients (the Value sweep's graph) {both:,} nodes "
          f"({both / nodes:.2f}x); the sweep over Values {sweep:.3f} s")

    def loss_and_gradients(x: list, y: list) -> list:
        value = loss(x, y)
        return [value, *gradients(value, params)]

    start = time.perf_counter()
    backward = compile(loss, (images[:4], targets[:4]), params)
    compile_backward = time.perf_counter() - start
    start = time.perf_counter()
    forward = compile(loss_and_gradients, (images[:4], targets[:4]), params)
    compile_forward = time.perf_counter() - start
    dense = sum(type(step).__name__ == "Dense" for step in forward.plan.steps)
    print(f"  compile, checks included: the loss {compile_backward:.2f} s; the loss with its gradient graph "
          f"{compile_forward:.2f} s ({len(forward.plan.steps)} steps, {dense} of them dense)")

    to_backward = [backward.params.index(p) for p in params]
    with blas.limited():
        theta = backward.read_params()
        for batch in (10, 100):
            X, Y = images[:batch], targets[:batch]
            reference = backward.value_and_grad(X, Y, reduction="sum", params=theta)[1][to_backward]
            summed = forward.forward(X, Y)[:, 1:].sum(axis=0)
            difference = float(np.max(np.abs(summed - reference)) / np.max(np.abs(reference)))
            by_backward = per_step(lambda X=X, Y=Y: backward.value_and_grad(X, Y, reduction="sum",
                                                                             params=theta))
            by_forward = per_step(lambda X=X, Y=Y: forward.forward(X, Y)[:, 1:].sum(axis=0))
            print(f"mini-batch {batch}: compiled backward {by_backward * 1e3:.2f} ms/step; gradient graph "
                  f"forward {by_forward * 1e3:.2f} ms/step ({by_forward / by_backward:.1f}x); gradients "
                  f"differ by {difference:.1e} relative")


if __name__ == "__main__":
    main()
