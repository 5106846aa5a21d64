"""The gallery of published results: every entry's figures match, and the command line says so."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from nn import classics
from nn.classics import __main__ as cli
from nn.classics import gallery, micrograd
from nn.fetching import MIRROR_VARIABLE, DataFile, FetchError, UrlSource
from nn.resources import RESOURCES, Resource, fetch_resource

NAMES = ["iamtrask", "clouds", "line-fit", "micrograd", "micrograd-demo", "cs231n", "nielsen-weight-init-30",
         "nielsen-weight-init-100", "nielsen-ch3-headlines", "nielsen-ch5",
         "3blue1brown"]
SLOW = {"iamtrask", "clouds", "micrograd-demo"}  # their full runs take from seconds to a minute or more
#: Entries on Nielsen's MNIST file, tested in test_classics_nielsen.py with the real data cache.
NIELSEN = {name for name in NAMES if name.startswith("nielsen-")}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Data fetched by a test goes to a temporary cache, never the user's."""
    monkeypatch.setenv("AUTODIFF_DATA_DIR", str(tmp_path / "cache"))


def _verdict(result: gallery.Result) -> None:
    """Fail on any mismatch; a skipped entry skips the test, except under CI=true, where it fails."""
    if result.report is None:
        if gallery.skip_fails():
            pytest.fail(f"{result.entry.name} skipped under CI=true: {result.skipped}")
        pytest.skip(result.skipped)
    assert result.passed, gallery.render(result)


def test_list_prints_the_fixed_names_name_first(capsys):
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == NAMES
    assert classics.names() == NAMES


@pytest.mark.parametrize("name", [name for name in NAMES if name not in NIELSEN])
def test_every_entry_matches_quickly(name):
    _verdict(classics.run(name, quick=True))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW))
def test_every_long_entry_matches_in_full(name):
    _verdict(classics.run(name))


def test_a_report_shows_source_both_numbers_and_tolerance():
    result = classics.run("micrograd")
    text = gallery.render(result)
    assert "karpathy/micrograd: README.md at commit c911406e5ace8742e5841a7e0df113ecb5d54685" in text
    assert "licence: MIT" in text
    assert "engine:    24.70408163265306" in text and "published: 24.7041" in text
    assert "[as printed (.4f), see note 1]" in text and "note 1: the README prints 4 decimals" in text
    assert "6 figures, all match" in text


def test_check_exits_non_zero_on_a_mismatch(monkeypatch, capsys):
    assert cli.main(["check", "micrograd"]) == 0
    monkeypatch.setitem(micrograd.README_PRINTED, "g", "24.7042")  # a figure the engine does not give
    assert cli.main(["check", "micrograd"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH README expression: g" in out and "check: FAILED" in out


def test_check_writes_json(tmp_path, capsys):
    path = tmp_path / "gallery.json"
    assert cli.main(["check", "cs231n", "--json", str(path)]) == 0
    document = json.loads(path.read_text())
    assert document["passed"] is True
    (entry,) = document["entries"]
    assert entry["name"] == "cs231n" and entry["sources"][0]["repository"] == "cs231n/cs231n.github.io"
    first = entry["figures"][0]
    assert first == {"label": "(x + y) z at x = -2, y = 5, z = -4: f", "engine": -12.0, "published": -12.0,
                     "tolerance": "exact", "why": "", "ok": True}


def test_an_unknown_name_is_refused_with_the_names(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "nielsen"])
    assert "the entries are: iamtrask, clouds" in capsys.readouterr().err


def test_figures_compare_as_documented():
    assert gallery.Figure("x", 0.1 + 0.2, 0.30000000000000004).ok
    assert not gallery.Figure("x", 0.1 + 0.2, 0.3).ok
    assert gallery.Figure("x", 0.0966449168, "0.09664492", printed=".8f", why="8 decimals").ok
    assert not gallery.Figure("x", 0.0966449, "0.09664492", printed=".8f", why="8 decimals").ok
    assert gallery.Figure("x", (1.0, 2.0 + 1e-13), (1.0, 2.0), rel=1e-12, why="order").ok
    assert not gallery.Figure("x", (1.0, float("nan")), (1.0, 2.0), rel=1e-12, why="order").ok
    assert gallery.Figure("x", 0.036, 0.07, factor=2, why="unseeded").ok
    assert not gallery.Figure("x", 0.034, 0.07, factor=2, why="unseeded").ok
    assert not gallery.Figure("x", 0.15, 0.07, factor=2, why="unseeded").ok
    assert not gallery.Figure("x", float("nan"), 0.07, factor=2, why="unseeded").ok
    with pytest.raises(ValueError, match="needs its reason"):
        gallery.Figure("x", 1.0, 1.0, rel=1e-3)
    with pytest.raises(ValueError, match="needs its reason"):
        gallery.Figure("x", 1.0, 1.0, factor=2)


# -- the line fit's data: fetched by the MNIST code, from a mirror folder or a URL, pinned by checksum ------


def _fake_resource(monkeypatch, content: bytes) -> Resource:
    """Replace the line-fit resource by one whose pinned file is ``content``."""
    file = DataFile("data.csv", "sha256", hashlib.sha256(content).hexdigest(), size=len(content),
                    mirror_name="points_mirror.csv")
    resource = Resource("line-fit", file, ("file:///nonexistent/",), "a test", "none")
    monkeypatch.setitem(RESOURCES, "line-fit", resource)
    return resource


CSV = b"x,y\n1,2\n2,4\n3,6.5\n"


def test_a_resource_comes_from_a_file_url_verified(tmp_path, monkeypatch):
    resource = _fake_resource(monkeypatch, CSV)
    served = tmp_path / "served"
    served.mkdir()
    (served / "data.csv").write_bytes(CSV)
    path = fetch_resource("line-fit", sources=[UrlSource(served.as_uri(), (resource.file,))])
    assert path == tmp_path / "cache" / "line-fit" / "data.csv" and path.read_bytes() == CSV
    (served / "data.csv").unlink()
    assert fetch_resource("line-fit") == path  # cached: no source is asked again


def test_a_resource_with_the_wrong_checksum_is_refused(tmp_path, monkeypatch):
    resource = _fake_resource(monkeypatch, CSV)
    served = tmp_path / "served"
    served.mkdir()
    (served / "data.csv").write_bytes(CSV.replace(b"6.5", b"6.6"))
    with pytest.raises(FetchError, match="does not match the published file") as caught:
        fetch_resource("line-fit", sources=[UrlSource(served.as_uri(), (resource.file,))])
    assert MIRROR_VARIABLE in str(caught.value) and "points_mirror.csv" in str(caught.value)
    assert not (tmp_path / "cache" / "line-fit" / "data.csv").exists()


def test_the_mirror_folder_is_looked_in_first_under_the_mirror_name(tmp_path, monkeypatch):
    _fake_resource(monkeypatch, CSV)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "points_mirror.csv").write_bytes(CSV)
    monkeypatch.setenv(MIRROR_VARIABLE, str(mirror))
    assert fetch_resource("line-fit").read_bytes() == CSV  # the URL (file:///nonexistent/) is never needed


def test_without_mirror_or_network_the_line_fit_skips_naming_the_variable(monkeypatch, capsys):
    _fake_resource(monkeypatch, CSV)
    monkeypatch.delenv(MIRROR_VARIABLE, raising=False)
    monkeypatch.delenv("CI", raising=False)
    result = classics.run("line-fit")
    assert result.report is None and MIRROR_VARIABLE in result.skipped
    assert cli.main(["check", "line-fit"]) == 0
    monkeypatch.setenv("CI", "true")
    assert cli.main(["check", "line-fit"]) == 1
    assert "skipped under CI=true counts as a failure" in capsys.readouterr().err


def test_the_real_line_fit_data_is_pinned():
    file = RESOURCES["line-fit"].file
    assert (file.name, file.mirror_name, file.size) == ("data.csv", "siraj_data.csv", 3878)
    assert file.digest == "4abb5e80e4eff7ec9349a48113576ed3d3400466b93138b170f07a6ac56c2782"
    examples = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "data")
    assert not os.path.exists(os.path.join(examples, "data.csv"))


def test_the_line_fit_example_takes_the_original_data(tmp_path, monkeypatch, example, capsys):
    served = tmp_path / "served"
    served.mkdir()
    (served / "data.csv").write_bytes(CSV)
    resource = _fake_resource(monkeypatch, CSV)
    monkeypatch.setitem(RESOURCES, "line-fit", Resource("line-fit", resource.file, (served.as_uri() + "/",),
                                                        "a test", "none"))
    monkeypatch.delenv(MIRROR_VARIABLE, raising=False)
    result = example("linear_regression").main(["--original", "--iterations", "3"])
    assert result["points"].tolist() == [[1.0, 2.0], [2.0, 4.0], [3.0, 6.5]]
    assert "3 points from the line fit's original data.csv" in capsys.readouterr().out
