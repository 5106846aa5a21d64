"""Data files the project fetches on demand, each pinned by its checksum: the resource table.

A resource is downloaded once into the data cache (``$AUTODIFF_DATA_DIR/<name>``
or the platform's user cache, see :func:`nn.fetching.data_cache_dir`) by
the project's one fetcher, which MNIST's files also come through
(:mod:`nn.fetching`): a temporary file, checked against the pinned size and
SHA-256, then renamed into place.  Before the network, the folder
named by ``$AUTODIFF_DATA_MIRROR`` is looked in, for the file under its
mirror name: a machine without network access keeps its data files there.

>>> sorted(RESOURCES)
['line-fit']
>>> RESOURCES["line-fit"].file.mirror_name
'siraj_data.csv'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .fetching import (
    DATA_DIR_VARIABLE,
    DEFAULT_TIMEOUT,
    MIRROR_VARIABLE,
    DataFile,
    Source,
    UrlSource,
    data_cache_dir,
    fetch_into,
    mirror_source,
)


@dataclass(frozen=True)
class Resource:
    """One data file: where it was published, under which licence, and the pinned file itself."""

    name: str
    file: DataFile
    base_urls: tuple[str, ...]  # the file is base_url + file.name
    origin: str
    licence: str

    def sources(self) -> list[Source]:
        """The mirror folder (when ``$AUTODIFF_DATA_MIRROR`` is set), then the URLs, in order."""
        mirror = mirror_source((self.file,))
        return [*([mirror] if mirror else []), *(UrlSource(url, (self.file,)) for url in self.base_urls)]


#: The table: name -> resource.
RESOURCES = {
    "line-fit": Resource(
        name="line-fit",
        file=DataFile("data.csv", "sha256",
                      "4abb5e80e4eff7ec9349a48113576ed3d3400466b93138b170f07a6ac56c2782",
                      size=3878, mirror_name="siraj_data.csv"),
        base_urls=("https://raw.githubusercontent.com/mattnedrich/GradientDescentExample/"
                   "a13134d5ba83bc47d33629315071afc8d32fe072/",),
        origin="mattnedrich/GradientDescentExample, data.csv (100 points x,y)",
        licence="MIT (Copyright (c) 2015 Matt Nedrich)",
    ),
}


def fetch_resource(name: str, cache_dir: str | Path | None = None, sources: list[Source] | None = None,
                   timeout: float = DEFAULT_TIMEOUT) -> Path:
    """The verified local copy of resource ``name``, fetched into the cache first if need be.

    ``cache_dir`` defaults to :func:`nn.fetching.data_cache_dir` ``(name)``;
    ``sources`` to the mirror folder, then the published URL.  Raises
    :class:`nn.fetching.FetchError` naming every source tried and how to put
    the file in place by hand.
    """
    try:
        resource = RESOURCES[name]
    except KeyError:
        raise KeyError(f"no resource called {name!r}; the table has {', '.join(RESOURCES)}") from None
    directory = data_cache_dir(name) if cache_dir is None else Path(cache_dir).expanduser()
    (path,) = fetch_into(directory, resource.sources() if sources is None else sources, f"the {name} data",
                         by_hand(resource, directory), timeout)
    return path


def by_hand(resource: Resource, directory: Path) -> str:
    """How to make the file available without the network (the end of a FetchError)."""
    file = resource.file
    return (f"Put {file.name} ({file.size} bytes, {file.algorithm} {file.digest}) into {directory}, or set "
            f"{MIRROR_VARIABLE} to a folder holding it as {file.mirror_name or file.name} "
            f"(another cache folder: {DATA_DIR_VARIABLE}). It is published as {resource.origin}, "
            f"{resource.licence}.")
