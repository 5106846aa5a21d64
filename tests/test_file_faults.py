"""Fault injection, one kind of file at a time: long names, failed writes, special files, inflated entries.

Every file the project writes goes through autodiff.files.replaced_atomically;
every checkpoint it reads through nn.load.  These stay what they promise:
nothing half-written, a message naming the file the caller gave, and no read
that is unbounded or blocks.
"""

from __future__ import annotations

import errno
import os
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

import nn
from autodiff import Value
from autodiff.drawing import draw
from autodiff.files import NotRegularFileError, open_regular, replaced_atomically, sweep_stale

LONG = "m" * 246 + ".npz"  # 250 characters: a legal name on every common file system


def test_a_legal_long_name_is_written(tmp_path):
    target = tmp_path / LONG
    nn.save(nn.MLP(2, [1], seed=0), target)
    assert nn.load(nn.MLP(2, [1]), target) == {}
    svg = tmp_path / ("d" * 246 + ".svg")
    draw(Value(1.0) * 2, svg)
    assert svg.read_bytes().startswith(b"<?xml")


def test_a_killed_writers_temporary_of_a_long_name_is_swept(tmp_path):
    target = tmp_path / LONG
    with replaced_atomically(target) as file:  # learn the temporary name this target gets
        file.write(b"x")
        (temporary,) = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    dead = temporary.split(".")
    dead[-3] = "999999999"  # a process id that does not exist
    (tmp_path / ".".join(dead)).write_bytes(b"half")
    assert [p.name for p in sweep_stale(target)] == [".".join(dead)]


def test_a_failed_write_names_the_target_and_changes_nothing(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    message = r"No space left on device \(writing .*model\.npz: nothing was changed\)"
    with pytest.raises(OSError, match=message) as caught, replaced_atomically(target) as file:
        file.write(b"new")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.npz"]


def test_save_refuses_what_load_would_refuse_and_keeps_the_old_file(tmp_path):
    target, model = tmp_path / "ck.npz", nn.MLP(2, [1], seed=0)
    nn.save(model, target, metadata={"epoch": 1})
    with pytest.raises(ValueError, match="more than the 4194304 nn.load reads; nothing was written"):
        nn.save(model, target, metadata={"history": "x" * (1 << 22)})

    class AnOptimizerWithAVeryLongName(nn.SGD):
        pass

    AnOptimizerWithAVeryLongName.__name__ *= 4
    with pytest.raises(ValueError, match="the name of an optimizer class holds 112 characters"):
        nn.save(model, target, optimizer=AnOptimizerWithAVeryLongName(model, lr=0.1))
    assert nn.load(nn.MLP(2, [1]), target) == {"epoch": 1}


@pytest.mark.parametrize("make", ["fifo", "device"])
def test_loading_a_fifo_or_a_device_is_refused_at_once(tmp_path, make):
    if make == "fifo":
        path = tmp_path / "ck.npz"
        os.mkfifo(path)
    else:
        path = "/dev/zero"
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_error(lambda: nn.load(nn.MLP(2, [1]), path))),
                              daemon=True)
    reader.start()
    reader.join(20)
    assert not reader.is_alive(), "nn.load blocked"
    assert isinstance(outcome[0], ValueError) and "not a regular file" in str(outcome[0])
    with pytest.raises(NotRegularFileError):
        open_regular(path)


def _error(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the test looks at it
        return error
    return None


def _inflated_checkpoint(path, model, entry: str, megabytes: int) -> None:
    """A checkpoint of ``model`` plus an entry whose few compressed bytes inflate to ``megabytes`` MiB."""
    nn.save(model, path)
    count = megabytes << 17  # float64s
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = (count,)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive, \
            archive.open(entry + ".npy", "w", force_zip64=True) as member:
        np.lib.format.write_array_header_1_0(member, header)
        zeros = bytes(1 << 20)
        for _ in range(megabytes):
            member.write(zeros)


def test_an_inflating_optimizer_entry_is_never_read(tmp_path):
    path, model = tmp_path / "ck.npz", nn.MLP(2, [1], seed=0)
    _inflated_checkpoint(path, model, "__optimizer__.buffer.momentum_buffer", 256)
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        nn.load(nn.MLP(2, [1]), path)  # without optimizer=: the entry is not read at all
        with pytest.raises(ValueError, match=r"has shape \(33554432,\), .* \(3,\)"):
            nn.load(nn.MLP(2, [1]), path, optimizer=nn.SGD(nn.MLP(2, [1]), lr=0.1, momentum=0.9))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
