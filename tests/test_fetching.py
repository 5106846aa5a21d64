"""nn.fetching: the one fetcher that MNIST and the gallery's resources both use."""

from __future__ import annotations

import hashlib
import sys

import pytest

from nn import fetching, mnist, resources
from nn.mnist import cache, sources

PAYLOAD = b"0123456789" * 50
FILE = fetching.DataFile("blob.bin", "sha256", hashlib.sha256(PAYLOAD).hexdigest(), size=len(PAYLOAD),
                         mirror_name="blob_in_mirror.bin")


def test_mnist_and_the_resources_share_one_fetcher():
    mnist_fetch = sys.modules["nn.mnist.fetch"]  # the package attribute nn.mnist.fetch is the function
    assert mnist_fetch.fetch_into is fetching.fetch_into is resources.fetch_into
    assert mnist.FetchError is fetching.FetchError and cache.DataFile is fetching.DataFile
    assert issubclass(mnist.UrlSource, fetching.UrlSource) and resources.UrlSource is fetching.UrlSource
    assert sources.mirror_source is fetching.mirror_source is resources.mirror_source
    assert mnist.UrlSource("https://example.invalid/").files == cache.IDX_FILES  # MNIST's default set
    assert cache.default_cache_dir() == fetching.data_cache_dir("mnist")


def test_a_file_comes_from_the_first_source_that_has_it_verified(tmp_path, monkeypatch):
    served, mirror, cache_dir = tmp_path / "served", tmp_path / "mirror", tmp_path / "cache"
    served.mkdir()
    mirror.mkdir()
    (served / "blob.bin").write_bytes(PAYLOAD)
    (mirror / "blob_in_mirror.bin").write_bytes(PAYLOAD[:-1] + b"!")  # a corrupt copy: refused, then the URL
    monkeypatch.setenv(fetching.MIRROR_VARIABLE, str(mirror))
    chain = [fetching.mirror_source((FILE,)), fetching.UrlSource(served.as_uri(), (FILE,))]
    (path,) = fetching.fetch_into(cache_dir, chain, "the blob", "put it there by hand")
    assert path == cache_dir / "blob.bin" and path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in cache_dir.iterdir()) == ["blob.bin"]  # no temporary file left


def test_when_every_source_fails_the_error_lists_them_and_says_what_to_do(tmp_path):
    chain = [fetching.MirrorSource(tmp_path / "nowhere", (FILE,)),
             fetching.UrlSource((tmp_path / "nothing").as_uri(), (FILE,))]
    with pytest.raises(fetching.FetchError) as caught:
        fetching.fetch_into(tmp_path / "cache", chain, "the blob", "Put blob.bin into the cache by hand.")
    message = str(caught.value)
    assert "could not download the blob" in message
    assert "1. the folder" in message and "2. mirror file:" in message
    assert message.endswith("Put blob.bin into the cache by hand.") and len(caught.value.attempts) == 2
    assert not (tmp_path / "cache" / "blob.bin").exists()
