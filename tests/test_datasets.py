"""nn.datasets: the tutorials' data sets, generators, the CSV reader and its errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nn.datasets import (
    DataError,
    gaussian_clouds,
    linear_points,
    load_csv_points,
    one_hot,
    save_csv_points,
    xor,
)

SHIPPED = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "data", "points.csv")


def test_xor_is_the_xor_chapters_data():
    inputs, targets = xor()
    assert inputs.tolist() == [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    assert targets.tolist() == [[0], [1], [1], [0]]


def test_gaussian_clouds_have_the_softmax_tutorials_centres_and_unit_variance():
    points, labels = gaussian_clouds(4000, seed=3)
    assert points.shape == (12000, 2) and labels.tolist() == [0] * 4000 + [1] * 4000 + [2] * 4000
    for label, centre in enumerate([(0, -2), (2, 2), (-2, 2)]):
        cloud = points[labels == label]
        np.testing.assert_allclose(cloud.mean(axis=0), centre, atol=0.06)
        np.testing.assert_allclose(cloud.std(axis=0), [1, 1], atol=0.05)


def test_generators_are_deterministic_by_seed():
    assert np.array_equal(gaussian_clouds(10, seed=1)[0], gaussian_clouds(10, seed=1)[0])
    assert not np.array_equal(gaussian_clouds(10, seed=1)[0], gaussian_clouds(10, seed=2)[0])
    assert np.array_equal(linear_points(10, seed=4), linear_points(10, seed=4))
    assert not np.array_equal(linear_points(10, seed=4), linear_points(10, seed=5))


def test_linear_points_lie_around_their_line():
    points = linear_points(5000, seed=0, slope=2.0, intercept=-3.0, noise=1.0)
    slope, intercept = np.polyfit(points[:, 0], points[:, 1], 1)
    assert slope == pytest.approx(2.0, abs=0.01) and intercept == pytest.approx(-3.0, abs=0.5)
    assert 20 <= points[:, 0].min() and points[:, 0].max() <= 80


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_generators_reject_bad_counts(bad):
    with pytest.raises(ValueError, match="positive whole number"):
        linear_points(bad)
    with pytest.raises(ValueError, match="n_per_class"):
        gaussian_clouds(bad)


def test_the_shipped_csv_is_linear_points_100_seed_0():
    np.testing.assert_allclose(load_csv_points(SHIPPED), linear_points(100, seed=0), atol=5e-7)


def test_save_then_load_round_trips_and_leaves_no_temporary_file(tmp_path):
    points = linear_points(7, seed=2)
    path = tmp_path / "points.csv"
    save_csv_points(points, path)
    np.testing.assert_allclose(load_csv_points(path), points, atol=5e-7)
    assert os.listdir(tmp_path) == ["points.csv"]


def test_csv_reader_skips_header_comments_and_blank_lines(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("# made by hand\n\nx, y\n1, 2\n  3.5,-4e1 \n\n")
    assert load_csv_points(path).tolist() == [[1.0, 2.0], [3.5, -40.0]]
    path.write_text("1,2\n3,4\n")  # no header at all
    assert load_csv_points(path).shape == (2, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x,y\n1,2\n3,4,5\n", r"p\.csv, line 3: expected 2 comma-separated numbers, got 3"),
        ("1,2\n3\n", r"p\.csv, line 2: expected 2 comma-separated numbers, got 1"),
        ("1,2\n3,four\n", r"p\.csv, line 2, column 2: 'four' is not a number"),
        ("1,2\nx,y\n", r"p\.csv, line 2, column 1: 'x' is not a number"),
        ("1,nan\n", r"p\.csv, line 1, column 2: 'nan' is not a finite number"),
        ("1,2\ninf,3\n", r"p\.csv, line 2, column 1: 'inf' is not a finite number"),
        ("", r"p\.csv: no data rows"),
        ("x,y\n# nothing else\n", r"p\.csv: no data rows"),
    ],
)
def test_malformed_csv_errors_name_file_line_and_problem(tmp_path, text, message):
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        load_csv_points(path)


def test_missing_and_binary_files_are_named(tmp_path):
    with pytest.raises(DataError, match=r"nowhere\.csv: no such file"):
        load_csv_points(tmp_path / "nowhere.csv")
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(DataError, match=r"image\.csv: not a text file"):
        load_csv_points(binary)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_one_hot():
    assert one_hot([2, 0]).tolist() == [[0, 0, 1], [1, 0, 0]]
    assert one_hot(np.array([1]), classes=4).tolist() == [[0, 1, 0, 0]]
    assert one_hot([]).shape == (0, 0)


@pytest.mark.parametrize(
    ("labels", "classes", "message"),
    [
        ([0, -1], None, "must be >= 0"),
        ([0, 3], 3, "label 3 does not fit in 3 classes"),
        ([0.5], None, "whole numbers"),
        ([[0, 1]], None, "one-dimensional"),
    ],
)
def test_one_hot_rejects_bad_labels(labels, classes, message):
    with pytest.raises(DataError, match=message):
        one_hot(labels, classes)


def test_save_rejects_the_wrong_shape(tmp_path):
    with pytest.raises(DataError, match=r"shaped \(n, 2\)"):
        save_csv_points(np.zeros((3, 3)), tmp_path / "bad.csv")
    assert os.listdir(tmp_path) == []


def test_save_rejects_non_finite_points(tmp_path):
    with pytest.raises(DataError, match=r"row 1 is \[2.0, nan\]: every number must be finite"):
        save_csv_points(np.array([[1.0, 2.0], [2.0, np.nan]]), tmp_path / "bad.csv")
    assert os.listdir(tmp_path) == []
