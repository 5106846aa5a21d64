"""Whole process: ``examples/mnist.py --epochs 1`` against a hand-written NumPy script.  Prints figures only.

Both processes do the same work: load the MNIST IDX files, train Nielsen's
784-30-10 network for one epoch (mini-batches of 10), test on 10,000 images.
The baseline is benchmarks/mnist_numpy.py (NumPy only, vectorised backprop).
Without ``--data-dir``, MNIST-shaped IDX files with random pixels are written
to a temporary directory (60,000 training and 10,000 test images; speed does
not depend on the digits).  The two take turns, each run in a fresh process
with BLAS on one thread (the library's own choice; the baseline limits itself,
nothing is pinned through the environment), after one unmeasured run that writes Python's
bytecode caches (as any second run on a user's machine has them); the ratio
is the median of the paired runs, and peak memory is each process's maximum
resident set size.

    python benchmarks/bench_mnist_process.py [--quick] [--rounds 3] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")
# Runs a command and reports its peak memory: the wrapper's only child is the command.
MEASURE = ("import resource, subprocess, sys; "
           "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def write_mnist(directory: Path, train: int, test: int) -> None:
    rng = np.random.default_rng(0)
    arrays = (rng.integers(0, 256, (train, 28, 28)), rng.integers(0, 10, train),
              rng.integers(0, 256, (test, 28, 28)), rng.integers(0, 10, test))
    for name, array in zip(NAMES, arrays):
        header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
        (directory / name).write_bytes(header + array.astype(np.uint8).tobytes())


def run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one process."""
    # BLAS threads as the user's environment has them: the library chooses for its own products.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's packages, whatever is installed
    # Bytecode is cached as on a user's machine (NumPy's always is, from its installation):
    # an environment that forbids writing it would make only this project compile its source each run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, *command], env=env, check=True,
                         capture_output=True, text=True).stdout
    return time.perf_counter() - start, int(out.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 round on 10,000 training images")
    parser.add_argument("--data-dir", type=Path, help="real MNIST IDX files (default: random ones)")
    args = parser.parse_args()
    rounds, train = (1, 10_000) if args.quick else (args.rounds, 60_000)
    with tempfile.TemporaryDirectory() as scratch:
        data = args.data_dir or Path(scratch)
        if args.data_dir is None:
            write_mnist(data, train, 10_000)
        example = [str(ROOT / "examples" / "mnist.py"), "--epochs", "1", "--data-dir", str(data),
                   "--no-download", "--checkpoint", "", "--no-progress"]
        baseline = [str(ROOT / "benchmarks" / "mnist_numpy.py"), str(data)]
        results: dict[str, list[tuple[float, float]]] = {"example": [], "numpy": []}
        run(example)  # a first run writes the bytecode caches, as a user's first run does
        for _ in range(rounds):
            results["example"].append(run(example))
            results["numpy"].append(run(baseline))
    print(f"examples/mnist.py --epochs 1 against benchmarks/mnist_numpy.py, {train:,} training images, "
          f"{rounds} paired runs")
    for name, label in (("example", "examples/mnist.py --epochs 1"), ("numpy", "hand-written NumPy script")):
        wall = statistics.median(t for t, _ in results[name])
        peak = max(m for _, m in results[name])
        print(f"  {label:30} {wall:6.2f} s   peak {peak:5.0f} MiB")
    ratios = [e[0] / n[0] for e, n in zip(results["example"], results["numpy"])]
    memory = max(m for _, m in results["example"]) / max(m for _, m in results["numpy"])
    print(f"  whole process: {statistics.median(ratios):.2f}x the NumPy script (goal <= 1.5x); "
          f"peak memory {memory:.2f}x (goal <= 1.0x)")


if __name__ == "__main__":
    main()
