"""How long do the per-node checks take on an MNIST-sized graph?  Prints figures; asserts nothing.

One 784-30-10 sigmoid-net sample with a quadratic cost (about 50,000 nodes,
the graph of ``bench_engine.py``): the time to build it and run backward, then
``check_nodes`` with the default budget (a seeded sample of 2,000 nodes,
each moved by +-eps with its downstream part replayed), then a larger budget,
and ``replay`` of the whole graph after changing one weight.

    python benchmarks/bench_check_nodes.py [--budget 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_engine import make_network  # noqa: E402

import autodiff  # noqa: E402
from autodiff import Value  # noqa: E402
from autodiff.testing import check_nodes  # noqa: E402


def mnist_sample() -> tuple[Value, Value]:
    """The loss of one sample through Values, and one first-layer weight."""
    weights, biases, image, target = make_network()
    activations = [Value(x) for x in image]
    first = None
    for layer, (rows, bs) in enumerate(zip(weights, biases)):
        w_values = [[Value(w, label=f"w{layer}_{j}_{k}") for k, w in enumerate(row)]
                    for j, row in enumerate(rows)]
        first = w_values[0][0] if first is None else first
        activations = [
            autodiff.sum([*(w * a for w, a in zip(row, activations)), Value(b)]).sigmoid()
            for row, b in zip(w_values, bs)
        ]
    loss = autodiff.sum([(a - y) ** 2 for a, y in zip(activations, target)]) * 0.5
    return loss, first


def timed(run: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=int, default=2000)
    args = parser.parse_args()

    (loss, weight), build = timed(mnist_sample)
    nodes = len(autodiff.topological_order(loss))
    _, back = timed(loss.backward)
    print(f"MNIST-sized sample: {nodes:,} nodes, built in {build:.2f} s, backward {back:.2f} s")
    for budget in (args.budget, 4 * args.budget):
        report, seconds = timed(lambda budget=budget: check_nodes(loss, budget=budget))
        agree = sum(row.status == "ok" for row in report.rows)
        print(f"  check_nodes(budget={budget:,}): {seconds:.2f} s for {len(report.rows):,} nodes "
              f"({seconds / len(report.rows) * 1e3:.2f} ms each), {agree:,} agree, "
              f"first failure: {report.first_failure}")
    value, seconds = timed(lambda: autodiff.replay(loss, {weight: weight.data + 0.5}))
    print(f"  replay after changing one weight: {seconds * 1e3:.0f} ms (loss {loss.data:.6f} -> {value:.6f})")


if __name__ == "__main__":
    main()
