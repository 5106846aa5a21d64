"""What compiling a loss with its gradient graph costs, on Nielsen's 784-30-10 network.  Prints figures only.

Compiled mode has no backward of its own: ``compile`` records a loss's
gradients with the engine's own sweep over Values and plans the result as one
forward graph.  On the 784-30-10 sigmoid network with the quadratic cost of
Nielsen's MNIST code (the network, weights and images of bench_compiled.py)
this prints

1. the sizes of the loss graph and of the loss with its gradients, and the
   sweep's time over Values (``autodiff.backward.gradients``);
2. the time to compile the loss, checks included, best of ``--repeat``, and
   where it goes: the trace with the gradients, the three check traces of the
   loss alone, folding, planning, and the first batch's generated code with
   the replay check;
3. the time spent tracing in a whole ``nn.fit`` (one short epoch, compiled
   mode) followed by ``nn.predict`` on the same 784-30-10 network.

    python benchmarks/bench_gradient_graph.py [--seed 0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_compiled as mnist  # noqa: E402 - the same network, weights and images

import autodiff  # noqa: E402
import autodiff.compiled as compiled  # noqa: E402
import nn  # noqa: E402
from autodiff.backward import collector_paused, gradients, topological_order  # noqa: E402


def timed(fn: Callable[..., Any], log: dict[str, float], name: str) -> Callable[..., Any]:
    """``fn``, adding the seconds each call takes to ``log[name]``."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            log[name] = log.get(name, 0.0) + time.perf_counter() - start
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
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
    print(f"  loss graph {nodes:,} nodes; with its gradients {both:,} nodes ({both / nodes:.2f}x); "
          f"the sweep over Values {sweep:.3f} s")

    parts = {"trace": compiled.trace, "fold": compiled.fold, "build": compiled.build}
    best: dict[str, float] | None = None
    for _ in range(args.repeat):
        log: dict[str, float] = {}
        for name, fn in parts.items():
            setattr(compiled, name, timed(fn, log, name))
        try:
            start = time.perf_counter()
            program = compiled.compile(loss, (images[:4], targets[:4]), params)
            log["total"] = time.perf_counter() - start
        finally:
            for name, fn in parts.items():
                setattr(compiled, name, fn)
        if best is None or log["total"] < best["total"]:
            best = log
    assert best is not None
    rest = best["total"] - best["trace"] - best["fold"] - best["build"]
    print(f"  compile, checks included: {best['total']:.2f} s (best of {args.repeat}): tracing "
          f"{best['trace']:.2f} s (the loss with its gradients, then the loss alone on 3 more rows), folding "
          f"{best['fold']:.2f} s, planning {best['build']:.2f} s, code and replay check {rest:.2f} s")
    plan = program.plan
    print(f"  plan: {len(plan.steps)} steps for the loss, {len(plan.gradient_steps)} for its gradients, "
          f"{len(plan.reductions)} sums over the batch; {plan.slots:,} rows of state")

    model = nn.MLP(784, [30, 10], activation="sigmoid", seed=args.seed)
    log = {}
    compiled.trace = timed(compiled.trace, log, "trace")
    try:
        start = time.perf_counter()
        nn.fit(model, images, targets, nn.quadratic, nn.SGD(model, lr=3.0), epochs=1, batch_size=10,
               progress=False, mode="compiled")
        nn.predict(model, images, mode="compiled")
        whole = time.perf_counter() - start
    finally:
        compiled.trace = parts["trace"]
    print(f"nn.fit (1 epoch of {len(images)} images) + nn.predict, compiled: {whole:.2f} s in all, "
          f"{log['trace']:.2f} s of it tracing")


if __name__ == "__main__":
    main()
