"""Real interrupted training: examples/mnist.py killed by SIGTERM or kill -9 at chosen moments.

Each run is a subprocess on a small synthetic MNIST.  A driver wraps a function
inside the run (the checkpoint's fsync, the rename that completes it, or the
optimizer's update at a seeded random step) so that the signal comes at that
exact moment: the outcome is certain, never flaky.  After every kill the test
checks that the checkpoint on disk is the old complete one or the new complete
one (never a mix), that the history and the printed summary are true, and that
resuming gives exactly the run that was never interrupted, for SGD and Adam.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_mnist_example import IDX_NAMES, idx, synthetic_digits

import nn

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EPOCHS, TRAIN, BATCH = 3, 120, 10
STEPS_PER_EPOCH = TRAIN // BATCH

DRIVER = """
import json, os, signal, sys
fault = json.loads(os.environ["FAULT"])
sys.path.insert(0, fault["examples"])
import nn.optim
import mnist

calls = [0]

def fire_at(function, before):
    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == fault["n"] and before:
            os.kill(os.getpid(), fault["signal"])
        result = function(*args, **kwargs)
        if calls[0] == fault["n"] and not before:
            os.kill(os.getpid(), fault["signal"])
        return result
    return wrapped

if fault["where"] == "write":  # in the middle of the n-th checkpoint's bytes: its first arrays written
    import numpy.lib.format, nn.serialize
    arrays, write_array, save = [0], numpy.lib.format.write_array, nn.serialize.save
    def counting_save(*args, **kwargs):
        calls[0] += 1
        arrays[0] = 0
        return save(*args, **kwargs)
    def writing(*args, **kwargs):
        arrays[0] += 1
        if calls[0] == fault["n"] and arrays[0] == 3:
            os.kill(os.getpid(), fault["signal"])
        return write_array(*args, **kwargs)
    nn.save = nn.serialize.save = counting_save
    numpy.lib.format.write_array = writing
elif fault["where"] == "fsync":  # the checkpoint's bytes are written, not yet synced or renamed
    os.fsync = fire_at(os.fsync, before=True)
elif fault["where"] == "renamed":  # just after the rename that completes the checkpoint
    os.replace = fire_at(os.replace, before=False)
else:  # inside the optimizer's update of step n
    nn.optim.Optimizer.update = fire_at(nn.optim.Optimizer.update, before=True)
mnist.main(fault["argv"])
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(5)
    for name, array in zip(IDX_NAMES, (*synthetic_digits(TRAIN, rng), *synthetic_digits(40, rng))):
        (directory / name).write_bytes(idx(array))
    return directory


def arguments(data_dir: Path, checkpoint: Path, optimizer: str) -> list[str]:
    lr = "3.0" if optimizer == "sgd" else "0.01"
    return ["--data-dir", str(data_dir), "--no-download", "--hidden", "8", "--batch-size", str(BATCH),
            "--optimizer", optimizer, "--lr", lr, "--epochs", str(EPOCHS), "--checkpoint", str(checkpoint),
            "--no-progress"]


def example():
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location("example_mnist_interrupted", EXAMPLES / "mnist.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.fixture(scope="module")
def reference(data_dir, tmp_path_factory):
    """Uninterrupted runs: every checkpoint's arrays, epoch by epoch, for each optimizer."""
    return {optimizer: recorded_run(data_dir, tmp_path_factory.mktemp(f"reference-{optimizer}"), optimizer)
            for optimizer in ("sgd", "adam")}


def recorded_run(data_dir: Path, folder: Path, optimizer: str) -> list[dict[str, np.ndarray]]:
    saved, original = [], nn.save

    def recording(model, path, metadata=None, optimizer=None):
        original(model, path, metadata, optimizer)
        saved.append(arrays(Path(path)))
    nn.save = recording
    try:
        example().main(arguments(data_dir, folder / "ck.npz", optimizer))
    finally:
        nn.save = original
    return saved


def arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def interrupted_run(data_dir: Path, folder: Path, optimizer: str, signum: int, where: str, n: int):
    fault = {"examples": str(EXAMPLES), "argv": arguments(data_dir, folder / "ck.npz", optimizer),
             "signal": int(signum), "where": where, "n": n}
    env = dict(os.environ, FAULT=json.dumps(fault))
    return subprocess.run([sys.executable, "-c", DRIVER], capture_output=True, text=True, env=env,
                          timeout=300)


def checkpointed_epochs(signum: int, where: str, n: int) -> int:
    """How many epochs the checkpoint must hold after the fault."""
    # n-th save: kill -9 leaves the old one, SIGTERM lets the new one complete
    if where in ("fsync", "write"):
        return n - 1 if signum == signal.SIGKILL else n
    if where == "renamed":
        return n
    # Inside step n: kill -9 loses that step's epoch; SIGTERM finishes step n, then stops.
    return (n - 1) // STEPS_PER_EPOCH if signum == signal.SIGKILL else n // STEPS_PER_EPOCH


rng = np.random.default_rng(2024)
RANDOM_STEPS = [int(s) for s in rng.integers(1, EPOCHS * STEPS_PER_EPOCH, size=2)]
FAULTS = [
    ("sgd", signal.SIGKILL, "write", 2),
    ("adam", signal.SIGKILL, "write", 1),
    ("sgd", signal.SIGKILL, "fsync", 2),
    ("sgd", signal.SIGTERM, "fsync", 2),
    ("sgd", signal.SIGKILL, "renamed", 1),
    ("sgd", signal.SIGTERM, "step", RANDOM_STEPS[0]),
    ("sgd", signal.SIGKILL, "step", RANDOM_STEPS[1]),
    ("adam", signal.SIGKILL, "fsync", 2),
    ("adam", signal.SIGTERM, "step", STEPS_PER_EPOCH + 5),
]


@pytest.mark.parametrize(("optimizer", "signum", "where", "n"), FAULTS,
                         ids=[f"{o}-{signal.Signals(s).name}-{w}-{n}" for o, s, w, n in FAULTS])
def test_an_interrupted_run_leaves_a_complete_checkpoint_and_resumes_exactly(
        data_dir, reference, tmp_path, optimizer, signum, where, n):
    result = interrupted_run(data_dir, tmp_path, optimizer, signum, where, n)
    expected = checkpointed_epochs(signum, where, n)
    check_the_outcome(result, signum, where, n, expected)
    check_the_checkpoint(tmp_path / "ck.npz", reference[optimizer], expected)
    stale = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert len(stale) == (1 if signum == signal.SIGKILL and where in ("fsync", "write") else 0)

    resumed = example().main([*arguments(data_dir, tmp_path / "ck.npz", optimizer),
                              *(["--resume"] if expected else [])])
    final = arrays(tmp_path / "ck.npz")
    for key, value in reference[optimizer][-1].items():
        if key != "__metadata__":
            np.testing.assert_array_equal(final[key], value, err_msg=key)
    assert [r.epoch for r in resumed["history"]] == list(range(1, EPOCHS + 1))
    assert os.listdir(tmp_path) == ["ck.npz"]  # the killed writer's temporary file was swept


def check_the_outcome(result, signum: int, where: str, n: int, expected: int) -> None:
    if signum == signal.SIGKILL:
        assert result.returncode == -signal.SIGKILL, result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert "SIGTERM: stopping after this step" in result.stderr
    partial = n % STEPS_PER_EPOCH if where == "step" else 0
    pattern = r"trained (\d+) epochs? in [\d.]+ s(?: and (\d+) steps of epoch (\d+))?.*; interrupted"
    summary = re.search(pattern, result.stdout)
    assert summary, result.stdout
    assert int(summary.group(1)) == expected and int(summary.group(2) or 0) == partial


def check_the_checkpoint(path: Path, epochs: list[dict[str, np.ndarray]], expected: int) -> None:
    if expected == 0:
        assert not path.exists()
        return
    found = arrays(path)
    metadata = json.loads(str(found["__metadata__"]))
    assert [r["epoch"] for r in metadata["epochs"]] == list(range(1, expected + 1))
    assert all(r["complete"] for r in metadata["epochs"])
    for key, value in epochs[expected - 1].items():  # exactly the uninterrupted run's epoch `expected`
        if key != "__metadata__":
            np.testing.assert_array_equal(found[key], value, err_msg=key)
