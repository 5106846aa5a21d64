"""Nielsen's seeded chapter-3 runs in the gallery: the validation counts of his figure, epoch by epoch.

These entries need Nielsen's ``mnist.pkl.gz`` in the MNIST cache (``python -m
nn.mnist fetch --pickle``).  Like the MNIST demo's tests, they never download:
without the file they skip, naming the command, and CI=true does not turn
that skip into a failure (CI is not given MNIST).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from nn import classics
from nn.classics import __main__ as cli
from nn.classics import gallery, nielsen
from nn.mnist import __main__ as mnist_cli
from nn.mnist.cache import DATA_DIR_VARIABLE, MIRROR_VARIABLE, PICKLE_FILE, default_cache_dir

ENTRIES = ["nielsen-weight-init-30", "nielsen-weight-init-100", "nielsen-ch3-headlines"]
SEEDED = ENTRIES[:2]


def _verdict(result: gallery.Result) -> None:
    if result.report is None:
        assert not result.skip_fails, result.skipped
        pytest.skip(result.skipped)
    assert result.passed, gallery.render(result)


@pytest.mark.parametrize("name", ENTRIES)
def test_the_first_epoch_of_a_seeded_run_matches_his_count(name):
    _verdict(classics.run(name, quick=True))


@pytest.mark.slow
@pytest.mark.parametrize("name", SEEDED)
def test_every_count_of_both_runs_matches_in_full(name):
    result = classics.run(name, full=True)
    _verdict(result)
    counts = [figure for figure in result.report.figures if isinstance(figure.engine, tuple)]
    assert [len(figure.engine) for figure in counts] == [30, 30]


@pytest.mark.slow
def test_the_books_headlines_are_bands_around_the_seeded_runs_last_epoch():
    result = classics.run("nielsen-ch3-headlines", full=True)
    _verdict(result)
    bands = [figure for figure in result.report.figures if not isinstance(figure.engine, tuple)]
    assert [(figure.engine, figure.published) for figure in bands] == [(95.61, 96.49), (95.17, 95.49)]
    counts = [(len(figure.engine), figure.tolerance) for figure in result.report.figures
              if isinstance(figure.engine, tuple)]
    assert counts == [(30, "exact"), (4, "exact"), (26, "relative 0.006")]  # lambda 5, then lambda 0


def test_his_shuffle_is_python_2s_and_carries_on_from_the_last_epoch():
    shuffle = nielsen.Python2Shuffle(8, seed=1)
    first = shuffle(1)
    stream = random.Random(1)  # the swaps Python 2's shuffle made, one draw per position from the end
    expected = list(range(8))
    for i in range(7, 0, -1):
        j = int(stream.random() * (i + 1))
        expected[i], expected[j] = expected[j], expected[i]
    assert first.tolist() == expected
    python3 = list(range(8))
    random.Random(1).shuffle(python3)
    assert python3 != expected  # Python 3 draws otherwise from the same seed
    second = shuffle(2)
    assert sorted(second.tolist()) == list(range(8)) and second.tolist() != first.tolist()


def test_network2_draws_biases_first_then_scaled_weights_in_nns_layout():
    weights, biases = nielsen.network2_draws(np.random.RandomState(5), [4, 3, 2], scaled=True)
    legacy = np.random.RandomState(5)
    b1, b2, w1, w2 = legacy.randn(3, 1), legacy.randn(2, 1), legacy.randn(3, 4), legacy.randn(2, 3)
    np.testing.assert_array_equal(biases[0], b1.ravel())
    np.testing.assert_array_equal(biases[1], b2.ravel())
    np.testing.assert_array_equal(weights[0], (w1 / 2.0).T)  # sqrt(4 inputs)
    np.testing.assert_array_equal(weights[1], (w2 / np.sqrt(3)).T)


def test_without_his_file_the_entry_skips_naming_the_command_and_ci_does_not_fail(tmp_path, monkeypatch,
                                                                                   capsys):
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.delenv(MIRROR_VARIABLE, raising=False)
    monkeypatch.setenv("CI", "true")
    result = classics.run("nielsen-weight-init-30")
    assert result.report is None and "python -m nn.mnist fetch --pickle" in result.skipped
    assert not result.skip_fails
    assert cli.main(["check", "nielsen-weight-init-30"]) == 0
    assert "counts as a failure" not in capsys.readouterr().err


def test_the_default_check_is_three_epochs_of_each_run_and_full_all_thirty():
    assert nielsen.depth(quick=False, full=False) == nielsen.Depth(3, 3)
    assert nielsen.depth(quick=False, full=True) == nielsen.Depth(30, 30)
    assert nielsen.depth(quick=True, full=True) == nielsen.Depth(1, 0)


def test_a_differing_count_is_named_by_epoch_and_difference():
    notes = nielsen._differences("large weights", [8643, 9045, 9140], (8643, 9044, 9141))
    assert notes == ["large weights, epoch 2: engine 9045, published 9044 (+1)",
                     "large weights, epoch 3: engine 9140, published 9141 (-1)"]


def test_fetch_pickle_looks_in_the_mirror_folder_then_the_package_index(tmp_path, monkeypatch):
    monkeypatch.setenv(MIRROR_VARIABLE, str(tmp_path))
    mirror, hub = mnist_cli.pickle_sources()
    assert mirror.folder == tmp_path and mirror.files == (PICKLE_FILE,)
    assert hub.files == (PICKLE_FILE,) and "package index" in hub.name
    monkeypatch.delenv(MIRROR_VARIABLE)
    assert [source.name for source in mnist_cli.pickle_sources()] == [hub.name]


def test_chapter_5s_norms_shrink_towards_the_input_within_the_books_band():
    result = classics.run("nielsen-ch5")
    _verdict(result)
    assert [len(figure.engine) for figure in result.report.figures] == [2, 3, 4]
    for figure in result.report.figures:  # each hidden layer learns several times slower than the next
        assert all(3 < later / earlier < 8 for earlier, later in zip(figure.engine, figure.engine[1:]))


@pytest.mark.slow
def test_chapter_5s_accuracies_with_one_to_four_hidden_layers():
    result = classics.run("nielsen-ch5", full=True)
    _verdict(result)
    assert len(result.report.figures) == 7


def test_his_file_is_taken_from_the_mirror_folder_into_the_cache(tmp_path, monkeypatch):
    real = default_cache_dir() / PICKLE_FILE.name
    if not real.is_file():
        pytest.skip("Nielsen's mnist.pkl.gz is not in the MNIST cache: python -m nn.mnist fetch --pickle")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / PICKLE_FILE.name).symlink_to(real)
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.setenv(MIRROR_VARIABLE, str(mirror))
    data = nielsen.nielsen_mnist()
    sizes = len(data.train_labels), len(data.validation_labels), len(data.test_labels)
    assert sizes == (50000, 10000, 10000)
    assert (tmp_path / "cache" / "mnist" / PICKLE_FILE.name).is_file()  # a verified copy, not a link
    assert not (tmp_path / "cache" / "mnist" / PICKLE_FILE.name).is_symlink()
