"""MNIST end to end on data made here: the example learns, checkpoints, resumes; both modes agree.

No test touches the network: the data set is a synthetic digits-like set written
as IDX files into a temporary cache directory.
"""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import nn

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")


def idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def synthetic_digits(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """28x28 images: each class a fixed pattern of bright pixels, with noise on every pixel."""
    prototypes = np.random.default_rng(100).random((10, 28, 28)) < 0.25
    labels = rng.integers(0, 10, size=count)
    images = np.clip(prototypes[labels] * 0.8 + rng.normal(0.1, 0.25, size=(count, 28, 28)), 0, 1)
    return (images * 255).astype(np.uint8), labels.astype(np.uint8)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    train, test = synthetic_digits(600, rng), synthetic_digits(200, rng)
    for name, array in zip(IDX_NAMES, (*train, *test)):
        (directory / name).write_bytes(idx(array))
    return directory


def test_the_example_learns_checkpoints_and_resumes_exactly(example, data_dir, tmp_path, capsys):
    mnist = example("mnist")
    common = ["--data-dir", str(data_dir), "--no-download", "--hidden", "16", "--lr", "3.0",
              "--checkpoint", str(tmp_path / "ck.npz"), "--no-progress"]
    straight = mnist.main([*common, "--epochs", "3", "--checkpoint", str(tmp_path / "straight.npz")])
    assert straight["accuracy"] >= 0.9
    assert [r.epoch for r in straight["history"]] == [1, 2, 3]

    mnist.main([*common, "--epochs", "2"])
    resumed = mnist.main([*common, "--epochs", "3", "--resume"])
    assert "resumed from" in capsys.readouterr().out
    assert [r.epoch for r in resumed["history"]] == [1, 2, 3]
    # Shuffling is seeded per epoch, so stopping and resuming changes nothing.
    assert resumed["accuracy"] == straight["accuracy"]
    assert resumed["history"].losses == pytest.approx(straight["history"].losses, rel=1e-12)


def test_the_example_prints_a_confusion_matrix_and_runs_in_scalar_mode(example, data_dir, capsys):
    result = example("mnist").main(["--data-dir", str(data_dir), "--no-download", "--mode", "scalar",
                                    "--hidden", "4", "--train-size", "20", "--test-size", "10",
                                    "--epochs", "1", "--checkpoint", "", "--no-progress"])
    out = capsys.readouterr().out
    assert "scalar mode" in out and "true \\ guessed" in out
    assert result["history"].mode == "scalar" and len(result["history"]) == 1


def test_resume_without_a_checkpoint_says_so(example, data_dir, tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint"):
        example("mnist").main(["--data-dir", str(data_dir), "--no-download", "--resume",
                               "--checkpoint", str(tmp_path / "missing.npz")])


def test_resume_from_a_file_without_history_says_so(example, data_dir, tmp_path):
    path = tmp_path / "bare.npz"
    nn.save(nn.MLP(784, [30, 10], seed=3), path)
    with pytest.raises(SystemExit, match="holds weights but no training history"):
        example("mnist").main(["--data-dir", str(data_dir), "--no-download", "--resume",
                               "--checkpoint", str(path)])


def test_scalar_and_compiled_gradients_agree_on_mnist_shaped_samples(data_dir):
    data = nn.mnist.load(data_dir, download=False)
    images = data.train_images[:3].astype(float)
    targets = np.eye(10)[data.train_labels[:3]]
    model = nn.MLP(784, [30, 10], seed=1)

    def loss(x, t):
        return nn.quadratic(model(x), t)

    program = autodiff.compile(loss, (images, targets), model.parameters())
    _, compiled = program.value_and_grad(images, targets, reduction="sum")
    model.zero_grad()
    autodiff.sum([loss(x, t) for x, t in zip(images.tolist(), targets.tolist())]).backward()
    scalar = np.array([p.grad for p in program.params])
    assert np.max(np.abs(compiled - scalar)) <= 1e-12 * np.max(np.abs(scalar))


def test_the_final_confusion_matrix_reuses_the_last_evaluation(example, data_dir, monkeypatch, capsys):
    mnist = example("mnist")
    real, calls = mnist.nn.predict, []

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(mnist.nn, "predict", counting)
    result = mnist.main(["--data-dir", str(data_dir), "--no-download", "--hidden", "8", "--epochs", "2",
                         "--checkpoint", "", "--no-progress"])
    assert len(calls) == 2  # once per epoch; the confusion matrix uses the last epoch's outputs
    assert result["history"].metric("test_accuracy")[-1] == result["accuracy"]
    assert "true \\ guessed" in capsys.readouterr().out


def test_network2_settings_cross_entropy_weight_decay_scaled_init_and_validation(example, data_dir, capsys):
    mnist = example("mnist")
    args = mnist.parse_args(["--network2", "--epochs", "2"])
    settings = (args.cost, args.lr, args.lmbda, args.init, args.validation)
    assert settings == ("cross-entropy", 0.5, 5.0, "scaled", True)
    assert args.epochs == 2  # an option given explicitly wins over the preset
    result = mnist.main(["--data-dir", str(data_dir), "--no-download", "--network2", "--epochs", "2",
                         "--validation-size", "100", "--checkpoint", "", "--no-progress"])
    out = capsys.readouterr().out
    assert "500 training, 100 validation and 200 test images" in out
    assert "cross-entropy cost, scaled init" in out and "lambda 5" in out
    validation = result["history"].metric("validation_accuracy")
    assert len(validation) == 2 and validation[-1] >= 0.8
    assert "validation accuracy" in out and result["accuracy"] >= 0.8


def test_lambda_needs_sgd_and_validation_needs_enough_images(example, data_dir, capsys):
    mnist = example("mnist")
    with pytest.raises(SystemExit):
        mnist.parse_args(["--lmbda", "5", "--optimizer", "adam"])
    assert "--lmbda is Nielsen's weight decay, an option of sgd" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="too few to hold out 10000"):
        mnist.main(["--data-dir", str(data_dir), "--no-download", "--validation", "--checkpoint", ""])
