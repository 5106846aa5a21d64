"""examples/mnist.py refuses meaningless arguments at once, with messages that say what is allowed."""

from __future__ import annotations

import os

import pytest
from test_mnist_example import data_dir  # noqa: F401  (the synthetic MNIST fixture)


@pytest.mark.parametrize(("option", "value", "problem"), [
    ("--epochs", "-1", "-1 is too small: give a whole number >= 1"),
    ("--epochs", "0", "0 is too small"),
    ("--train-size", "-49990", "too small: give a whole number >= 1"),
    ("--test-size", "0", "too small"),
    ("--seed", "-1", "-1 is too small: give a whole number >= 0"),
    ("--batch-size", "0", "too small"),
    ("--hidden", "0", "too small"),
    ("--epochs", "2.5", "'2.5' is not a whole number"),
    ("--lr", "0", "not a positive finite number"),
    ("--lr", "nan", "not a positive finite number"),
])
def test_bad_numbers_are_refused_by_the_parser(example, capsys, option, value, problem):
    with pytest.raises(SystemExit) as stop:
        example("mnist").parse_args([option, value])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and problem in err


def test_the_message_says_what_is_allowed(example, capsys):
    with pytest.raises(SystemExit):
        example("mnist").parse_args(["--epochs", "-1"])
    assert "argument --epochs: -1 is too small: give a whole number >= 1" in capsys.readouterr().err


def test_more_training_images_than_there_are_is_refused(example, data_dir):  # noqa: F811
    with pytest.raises(SystemExit, match="--train-size 100000: the data set has only 600 images"):
        example("mnist").main(["--data-dir", str(data_dir), "--no-download", "--train-size", "100000",
                               "--checkpoint", ""])


def test_an_unwritable_checkpoint_is_refused_before_training(example, data_dir, tmp_path, capsys):  # noqa: F811
    (tmp_path / "file.txt").write_text("a file, not a folder")
    with pytest.raises(SystemExit, match=r"--checkpoint .*file.txt/ck.npz: cannot be written"):
        example("mnist").main(["--data-dir", str(data_dir), "--no-download",
                               "--checkpoint", str(tmp_path / "file.txt" / "ck.npz")])
    assert "epoch" not in capsys.readouterr().out  # nothing was trained


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_as_checkpoint_is_refused_before_training(example, data_dir, tmp_path):  # noqa: F811
    os.mkfifo(tmp_path / "ck.npz")
    with pytest.raises(SystemExit, match="is a FIFO"):
        example("mnist").main(["--data-dir", str(data_dir), "--no-download", "--checkpoint",
                               str(tmp_path / "ck.npz")])
    assert (tmp_path / "ck.npz").is_fifo()


@pytest.mark.parametrize(("argv", "test_size"), [
    (["--mode", "scalar", "--train-size", "100"], 1000),  # testing costs as much per image as training
    (["--mode", "scalar", "--train-size", "5000"], 10_000),
    (["--mode", "scalar"], None),  # all: at most 10,000
    (["--mode", "scalar", "--train-size", "100", "--test-size", "7"], 7),
    (["--train-size", "100"], None),  # compiled mode tests on all by default
])
def test_scalar_mode_tests_on_ten_times_the_training_images(example, argv, test_size):
    assert example("mnist").parse_args(argv).test_size == test_size


def test_an_overflowing_learning_rate_is_a_message_not_a_traceback(example, data_dir, capsys):  # noqa: F811
    with pytest.raises(SystemExit) as stop:
        example("mnist").main(["--data-dir", str(data_dir), "--no-download", "--train-size", "100",
                               "--test-size", "10", "--epochs", "1", "--lr", "1e308", "--optimizer", "adam",
                               "--checkpoint", ""])
    message = str(stop.value.code)
    assert "--lr 1e+308" in message and "not finite" in message and "smaller --lr" in message
