"""The one atomic-write helper: what it replaces, what it refuses, what it sweeps.

Every special file here is private to the test (a FIFO or a symlink in a
temporary directory); no test touches a real device.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autodiff.__main__ import main
from autodiff.files import NotRegularFileError, replaced_atomically, sweep_stale

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")


def write(path: Path, text: str) -> None:
    with replaced_atomically(path, "w", encoding="utf-8") as file:
        file.write(text)


@needs_fifo
def test_a_fifo_at_the_target_is_refused_and_left_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFileError, match=r"pipe is a FIFO .*choose the path of a regular file"):
        write(fifo, "svg")
    assert fifo.is_fifo() and os.listdir(tmp_path) == ["pipe"]


def test_a_directory_at_the_target_is_refused(tmp_path):
    with pytest.raises(NotRegularFileError, match="is a directory"):
        write(tmp_path, "x")


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    real, link = tmp_path / "real.txt", tmp_path / "link.txt"
    real.write_text("old")
    link.symlink_to(real)
    write(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["link.txt", "real.txt"]


def test_a_dangling_symlink_gets_its_target_created(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "made.txt")
    write(link, "made")
    assert link.is_symlink() and (tmp_path / "made.txt").read_text() == "made"


@needs_fifo
def test_a_symlink_to_a_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "link").symlink_to(tmp_path / "pipe")
    with pytest.raises(NotRegularFileError, match="a link to"):
        write(tmp_path / "link", "x")
    assert (tmp_path / "pipe").is_fifo() and (tmp_path / "link").is_symlink()


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_an_existing_file_keeps_its_permissions(tmp_path, mode):
    target = tmp_path / "secret.npz"
    target.write_text("old")
    target.chmod(mode)
    write(target, "new")
    assert target.read_text() == "new" and (target.stat().st_mode & 0o777) == mode


@needs_fifo
def test_the_command_line_refuses_to_write_over_a_fifo(tmp_path, capsys):
    fifo = tmp_path / "out.svg"
    os.mkfifo(fifo)
    assert main(["draw", "x*y", "x=2", "y=3", "-o", str(fifo)]) == 1
    assert "is a FIFO" in capsys.readouterr().err and fifo.is_fifo()


# -- stale temporary files ------------------------------------------------------------------


def dead_pid() -> int:
    """The id of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sweep_removes_only_this_targets_temporaries_whose_writer_is_gone(tmp_path):
    target = tmp_path / "ck.npz"
    target.write_bytes(b"complete")
    dead, alive = dead_pid(), os.getppid()
    stale = tmp_path / f".ck.npz.{dead}.0123abcd.tmp"
    kept = [
        tmp_path / f".ck.npz.{alive}.0123abcd.tmp",  # its writer is still running
        tmp_path / f".ck.npz.{os.getpid()}.0123abcd.tmp",  # ours: perhaps being written now
        tmp_path / f".other.npz.{dead}.0123abcd.tmp",  # another target's
        tmp_path / f"ck.npz.{dead}.0123abcd.tmp",  # not this project's naming
        tmp_path / f".ck.npz.{dead}.0123abcd.tmp.bak",
    ]
    for path in [stale, *kept]:
        path.write_bytes(b"partial")
    link = tmp_path / f".ck.npz.{dead}.feedbeef.tmp"
    link.symlink_to(target)  # a link is never one of ours
    assert sweep_stale(target) == [stale]
    assert not stale.exists() and all(path.exists() for path in kept)
    assert link.is_symlink() and target.read_bytes() == b"complete"


def test_sweep_of_a_missing_folder_is_a_no_op(tmp_path):
    assert sweep_stale(tmp_path / "missing" / "ck.npz") == []


WRITER = textwrap.dedent("""
    import os, signal, sys
    from autodiff.files import replaced_atomically
    with replaced_atomically(sys.argv[1]) as file:
        file.write(b"half")
        file.flush()
        os.kill(os.getpid(), signal.SIGTERM)
        file.write(b" and the rest")
""")


def test_sigterm_during_a_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    result = subprocess.run([sys.executable, "-c", WRITER, str(target)], capture_output=True, timeout=60)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert os.listdir(tmp_path) == ["data.bin"] and target.read_bytes() == b"old"
