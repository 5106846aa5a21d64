"""MNIST files and downloads are bounded: sizes, headers, endless sources, killed writers, diagnostics.

Every file is made in a temporary directory; an endless source is a private FIFO
fed by a thread; no test touches the network or a real device.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import textwrap
import threading
import zlib
from pathlib import Path

import pytest

from nn import mnist
from nn.mnist.cache import IDX_FILES, PICKLE_FILE, DataFile
from nn.mnist.errors import DataFileError, FetchError
from nn.mnist.fetch import fetch
from nn.mnist.idx import read_idx, read_images, read_labels
from nn.mnist.pickle_loader import MAX_PICKLE_BYTES, read_pickle
from nn.mnist.sources import UrlSource


def gzip_of_zeros(megabytes: int) -> bytes:
    """A small gzip file that decompresses to ``megabytes`` MiB of zeros (built without holding them)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    return b"".join([*(packer.compress(block) for _ in range(megabytes)), packer.flush()])


def header(code: int, *shape: int) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


def labels_header(count: int) -> bytes:
    return bytes([0, 0, 8, 1]) + count.to_bytes(4, "big")


# -- item 2: decompression stops at the expected size -------------------------------------------


def test_a_gzip_bomb_of_labels_is_refused_after_reading_little(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip_of_zeros(8))
    with pytest.raises(DataFileError, match=r"labels-idx1-ubyte.gz: decompresses to more than 60008 bytes"):
        read_labels(path)


def test_a_hand_placed_gzip_bomb_is_refused_by_load(tmp_path):
    for expected in IDX_FILES:
        (tmp_path / expected.stem).write_bytes(gzip.compress(labels_header(0)))
    (tmp_path / IDX_FILES[0].stem).write_bytes(gzip_of_zeros(64))  # would be 64 MiB of "images"
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte: decompresses to more than 47040016"):
        mnist.load(tmp_path, download=False)


def test_an_oversized_raw_pickle_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "mnist.pkl"
    with open(path, "wb") as file:
        file.truncate(MAX_PICKLE_BYTES + 1)  # sparse: no disk used, and never read
    with pytest.raises(DataFileError, match=rf"mnist.pkl: is {MAX_PICKLE_BYTES + 1} bytes, more than"):
        read_pickle(path)


def test_more_images_than_allowed_are_refused_and_the_limit_can_be_raised(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(header(8, 3, 28, 28) + bytes(3 * 784))
    with pytest.raises(DataFileError, match="more than"):
        read_images(path, max_images=2)
    assert read_images(path, max_images=3).shape == (3, 28, 28)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_in_place_of_a_data_file_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "labels")
    with pytest.raises(DataFileError, match="not a regular file"):
        read_labels(tmp_path / "labels")


# -- item 5: IDX header arithmetic ----------------------------------------------------------------


@pytest.mark.parametrize(("content", "problem"), [
    (header(8, 2**31, 2**31, 2**31), r"announces 9903520314283042199192993792 bytes of data, the file has 0"),
    # 2**64 bytes: the int64 product wrapped to 0
    (header(8, 2**16, 2**16, 2**16, 2**16), r"announces 18446744073709551616 bytes"),
    (header(0x0E, 2**31 - 1, 2**31 - 1), r"announces 36893488113059364872 bytes"),
    (header(8, 0, 2**31, 2**31), None),  # no data announced, none there: an empty array
    (bytes([0, 0, 8, 100]) + bytes(400), r"announces 100 dimensions; at most 8"),
])
def test_huge_or_overflowing_headers_are_refused_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "crafted.idx"
    path.write_bytes(content)
    if problem is None:
        assert read_idx(path).shape == (0, 2**31, 2**31)
        return
    with pytest.raises(DataFileError, match=rf"crafted.idx: .*{problem}"):
        read_idx(path)


# -- item 3: downloads are capped, SIGTERM cleans up, stale files are swept ------------------------


def feed_endlessly(fifo: Path, stop: threading.Event) -> threading.Thread:
    """A thread writing zeros into ``fifo`` until its reader goes away (or the test ends)."""
    def run() -> None:
        try:
            with open(fifo, "wb") as out:
                while not stop.is_set():
                    out.write(bytes(1 << 16))
        except (BrokenPipeError, OSError):
            pass
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_source_that_never_stops_is_cut_off_at_the_files_size(tmp_path):
    served, cache = tmp_path / "served", tmp_path / "cache"
    served.mkdir()
    os.mkfifo(served / "big.bin")
    stop = threading.Event()
    writer = feed_endlessly(served / "big.bin", stop)
    source = UrlSource(served.as_uri(), files=(DataFile("big.bin", "md5", "0" * 32, max_size=100_000),))
    try:
        with pytest.raises(FetchError, match=r"big.bin: OSError: the source sent more than 100000 bytes"):
            fetch(cache, sources=[source])
    finally:
        stop.set()
        writer.join(timeout=10)
    assert os.listdir(cache) == []


def test_a_source_announcing_too_much_is_refused_before_downloading(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    with open(served / "big.bin", "wb") as file:
        file.truncate(1 << 30)  # sparse: announces 1 GiB through file://'s Content-Length
    source = UrlSource(served.as_uri(), files=(DataFile("big.bin", "md5", "0" * 32, max_size=1000),))
    with pytest.raises(FetchError, match="announces 1073741824 bytes, more than the 1000"):
        fetch(tmp_path / "cache", sources=[source])
    assert os.listdir(tmp_path / "cache") == []


def test_every_published_file_has_a_download_cap():
    assert [f.limit for f in IDX_FILES] == [9_912_422, 28_881, 1_648_877, 4_542]
    assert PICKLE_FILE.limit == PICKLE_FILE.size


TERMINATED_DOWNLOAD = textwrap.dedent("""
    import os, signal, sys
    from nn.mnist.cache import DataFile
    from nn.mnist.fetch import fetch

    class Source:
        name, files = "fake", (DataFile("a.bin", "md5", "0" * 32),)
        def retrieve(self, file, out, timeout):
            out.write(b"partial")
            os.kill(os.getpid(), signal.SIGTERM)
            out.write(b"never")

    fetch(sys.argv[1], sources=[Source()])
""")


def test_sigterm_during_a_download_leaves_no_temporary_file(tmp_path):
    result = subprocess.run([sys.executable, "-c", TERMINATED_DOWNLOAD, str(tmp_path)], capture_output=True,
                            timeout=60)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert os.listdir(tmp_path) == []


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_downloads_of_killed_writers_are_swept_on_the_next_run(tmp_path):
    dead = dead_pid()
    stale = tmp_path / f".{IDX_FILES[0].name}.{dead}.0123abcd.tmp"
    foreign = tmp_path / f".notes.txt.{dead}.0123abcd.tmp"  # not one of MNIST's files: left alone
    for path in (stale, foreign):
        path.write_bytes(b"partial")
    with pytest.raises(FileNotFoundError):
        mnist.load(tmp_path, download=False)
    assert not stale.exists() and foreign.exists()


# -- item 7: which cached file failed which check -------------------------------------------------


def test_a_corrupt_cached_pickle_is_named_with_its_failed_check(tmp_path):
    (tmp_path / "mnist.pkl.gz").write_bytes(gzip.compress(b"not the published file"))
    with pytest.raises(FileNotFoundError) as caught:
        mnist.load(tmp_path, download=False)
    message = str(caught.value)
    assert "mnist.pkl.gz: present but corrupt or not the published file (size" in message
    assert "delete it and fetch again" in message
    assert f"{IDX_FILES[0].name}: missing" in message
