"""MNIST digits through the engine: Nielsen's [784, 30, 10] sigmoid network.

The backpropagation-calculus tutorial and the "How Neural Network Works"
tutorial describe the task: 28 x 28 = 784 pixels in, 10 outputs (one per
digit), sigmoid everywhere, weights and biases from a standard normal, the
cost derivative a - y (the quadratic cost), mini-batch SGD with
w -= eta/len(batch) * (sum of gradients) (the mean of the per-sample losses).
Accuracy is the share of test images whose most active output is the right
digit.  The hidden layer of 30, eta 3.0 and mini-batches of 10 are the
settings of Nielsen's book (the tutorials give none).

The gradients come from the generic chain rule: by default through compiled
mode (the traced graph of one sample replayed over each batch with NumPy),
or through scalar Value graphs with ``--mode scalar`` (slow: use a small
``--train-size``).  The data is downloaded on first use (see docs/mnist_data.md).

    python examples/mnist.py                       # 20 epochs, about a minute
    python examples/mnist.py --epochs 30 --plot mnist.png
    python examples/mnist.py --mode scalar --train-size 1000 --epochs 1   # tests on 10,000
    python examples/mnist.py --epochs 12 --resume  # continue from the last checkpoint
    python examples/mnist.py --network2            # chapter 3's network2: cross-entropy, lambda 5, ...
    python examples/mnist.py --network2 --hidden 100 --lr 0.1 --epochs 50   # 97.94% validation (docs/nn.md)
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from typing import Any

import _plot
import numpy as np

import nn
from autodiff import NonFiniteError
from autodiff.files import NotRegularFileError, target_of
from nn import mnist

OPTIMIZERS = {"sgd": nn.SGD, "adam": nn.Adam}
#: The output layer and the cost of each --cost: Nielsen's cross-entropy is computed from the logits of a
#: linear output layer (the same cost as on sigmoid outputs, without the log(0) of a saturated sigmoid).
COSTS = {"quadratic": ("sigmoid", nn.quadratic),
         "cross-entropy": ("linear", nn.sigmoid_cross_entropy_with_logits)}
#: Chapter 3's network2 run: 784-30-10, cross-entropy, eta 0.5, lambda 5.0, 1/sqrt(n_in) weights, batch 10,
#: 30 epochs, monitored on the 10,000 validation images.
NETWORK2 = {"cost": "cross-entropy", "lr": 0.5, "lmbda": 5.0, "init": "scaled", "epochs": 30,
            "batch_size": 10, "validation": True}
VALIDATION_SIZE = 10_000


def whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"{number} is too small: give a whole number >= {minimum}")
        return number
    parse.__name__ = f"whole number >= {minimum}"
    return parse


def positive_number(text: str) -> float:
    """An argparse type: a positive finite number."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < number < math.inf:
        raise argparse.ArgumentTypeError(f"{text} is not a positive finite number")
    return number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line's options (``argv`` None: ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description="Train Nielsen's MNIST network (784-30-10 sigmoid, quadratic cost, mini-batch SGD) "
        "through the engine and report test accuracy after each epoch.",
    )
    parser.add_argument("--epochs", type=whole(1), default=20, help="epochs to train in all (default 20)")
    parser.add_argument("--hidden", type=whole(1), nargs="*", default=[30], metavar="N",
                        help="hidden layer sizes (default: 30)")
    parser.add_argument("--batch-size", type=whole(1), default=10, help="mini-batch size (default 10)")
    parser.add_argument("--lr", type=positive_number, default=3.0, help="learning rate eta (default 3.0)")
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="sgd",
                        help="sgd (Nielsen's, the default) or adam (try --lr 0.01)")
    parser.add_argument("--cost", choices=tuple(COSTS), default="quadratic",
                        help="quadratic (chapter 1, the default) or cross-entropy (chapter 3: sigmoid "
                        "cross-entropy, computed from the output layer's logits)")
    parser.add_argument("--lmbda", type=float, default=0.0, metavar="LAMBDA",
                        help="L2 regularisation in Nielsen's form: each step shrinks the weights (not the "
                        "biases) by (1 - lr * lambda / n), n the training images (default 0; sgd only)")
    parser.add_argument("--init", choices=("normal", "scaled"), default="normal",
                        help="initial weights: normal N(0, 1) (chapter 1, the default) or scaled "
                        "N(0, 1)/sqrt(n_in) (chapter 3); biases N(0, 1) either way")
    parser.add_argument("--validation", action="store_true",
                        help="hold out 10,000 validation images (the data's own split, or the last 10,000 "
                        "training images, as Nielsen's) and report their accuracy after every epoch")
    parser.add_argument("--validation-size", type=whole(1), default=VALIDATION_SIZE, metavar="N",
                        help="with --validation and data without a validation split: hold out the last N "
                        "training images (default 10,000)")
    parser.add_argument("--network2", action="store_true",
                        help="chapter 3's network2 settings: --cost cross-entropy --lr 0.5 --lmbda 5 "
                        "--init scaled --epochs 30 --batch-size 10 --validation (options given after it "
                        "still count)")
    parser.add_argument("--seed", type=whole(0), default=3,
                        help="seed of the initial weights and the shuffling (default 3)")
    parser.add_argument("--mode", choices=nn.modes.MODES, default="compiled",
                        help="compiled (fast, the default) or scalar (every node a Value: "
                        "use a small --train-size)")
    parser.add_argument("--train-size", type=whole(1), default=None,
                        help="train on the first N images (default all)")
    parser.add_argument("--test-size", type=whole(1), default=None,
                        help="test on the first N images (default all; in scalar mode 10 x --train-size, "
                        "at most all)")
    parser.add_argument("--data-dir", default=None, help="where MNIST is cached (default: your cache dir)")
    parser.add_argument("--no-download", action="store_true", help="fail instead of downloading MNIST")
    parser.add_argument("--checkpoint", default=os.path.join("runs", "mnist.npz"), metavar="PATH",
                        help="checkpoint written after every epoch (default runs/mnist.npz); '' for none")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    _plot.add_arguments(parser, "accuracy and loss per epoch (misclassified digits go to a second file: "
                        "out.png gives out_errors.png)")
    args = parser.parse_args(argv)
    if args.network2:  # the preset, then whatever the command line said explicitly
        parser.set_defaults(**NETWORK2)
        args = parser.parse_args(argv)
    if not (0 <= args.lmbda < math.inf):
        parser.error(f"--lmbda must be a finite number >= 0, got {args.lmbda}")
    if args.lmbda and args.optimizer != "sgd":
        parser.error("--lmbda is Nielsen's weight decay, an option of sgd: drop it or use --optimizer sgd")
    if args.test_size is None and args.mode == "scalar" and args.train_size is not None:
        # Testing costs as much per image as training: all 10,000 after 1,000 took 9 minutes.
        args.test_size = min(10_000, 10 * args.train_size)
    return args


def split_validation(data: mnist.MNIST, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training images and labels, validation images and labels: the data's own split if it has one.

    Without one (the IDX files), the last ``size`` training images are held out: with 10,000, the
    images Nielsen's validation set holds.
    """
    if data.validation_images is not None and len(data.validation_images):
        return data.train_images, data.train_labels, data.validation_images, data.validation_labels
    keep = len(data.train_images) - size
    if keep < 1:
        raise SystemExit(f"--validation: only {len(data.train_images)} training images, too few to hold "
                         f"out {size} (see --validation-size)")
    return (data.train_images[:keep], data.train_labels[:keep], data.train_images[keep:],
            data.train_labels[keep:])


def load_data(args: argparse.Namespace) -> tuple[np.ndarray, ...]:
    """Training images, labels, test images, labels, validation images, labels (None without --validation).

    Training and test sets are cut to the first --train-size / --test-size.

    The images stay float32, as loaded: nn.fit and nn.predict take them without a copy (every float32
    is exactly a float64, so training computes the same numbers), which halves the memory they take.
    """
    data = mnist.load(args.data_dir, download=not args.no_download)
    train_x, train_y, valid_x, valid_y = data.train_images, data.train_labels, None, None
    if args.validation:
        train_x, train_y, valid_x, valid_y = split_validation(data, args.validation_size)
    for option, size, images in (("--train-size", args.train_size, train_x),
                                 ("--test-size", args.test_size, data.test_images)):
        if size is not None and size > len(images):
            raise SystemExit(f"{option} {size}: the data set has only {len(images)} images")
    train_x, train_y = train_x[: args.train_size], train_y[: args.train_size]
    test_x, test_y = data.test_images[: args.test_size], data.test_labels[: args.test_size]
    return train_x, train_y, test_x, test_y, valid_x, valid_y


def confusion_matrix(labels: np.ndarray, guesses: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[true digit, guessed digit]."""
    counts = np.zeros((classes, classes), dtype=int)
    np.add.at(counts, (labels, guesses), 1)
    return counts


def format_confusion(counts: np.ndarray) -> str:
    """The confusion matrix as a table, true digits down, guesses across."""
    lines = ["true \\ guessed " + " ".join(f"{d:5d}" for d in range(len(counts)))]
    for digit, row in enumerate(counts):
        lines.append(f"{digit:14d} " + " ".join(f"{n:5d}" for n in row))
    return "\n".join(lines)


def check_checkpoint(path: str) -> None:
    """Fail now, not after the first epoch, if the checkpoint cannot be written."""
    if not path:
        return
    try:
        target = target_of(path)
        target.parent.mkdir(parents=True, exist_ok=True)
    except (NotRegularFileError, OSError) as error:
        raise SystemExit(f"--checkpoint {path}: cannot be written ({error})") from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise SystemExit(f"--checkpoint {path}: the folder {target.parent} is not writable; "
                         "choose another path, or '' for no checkpoint")


def resume(model: nn.MLP, optimizer: nn.Optimizer, args: argparse.Namespace) -> nn.History:
    """The history recorded in the checkpoint, after loading its weights (and optimizer state) into place."""
    if not args.checkpoint or not os.path.exists(args.checkpoint):
        raise SystemExit(f"--resume: there is no checkpoint at {args.checkpoint!r} yet")
    try:
        meta = nn.load(model, args.checkpoint)
    except ValueError as error:
        raise SystemExit(f"--resume: {error}") from None
    if "epochs" not in meta:
        raise SystemExit(f"--resume: {args.checkpoint} holds weights but no training history "
                         "(it was not written by this example)")
    try:
        nn.load(model, args.checkpoint, optimizer=optimizer)
    except ValueError as error:  # e.g. saved with --optimizer sgd, resumed with adam
        raise SystemExit(f"--resume: {error}") from None
    history = nn.History.from_records(meta["epochs"], mode=args.mode)
    print(f"resumed from {args.checkpoint} after epoch {len(history)}")
    return history


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train (or resume), report test accuracy and a confusion matrix; return the accuracy and history."""
    args = parse_args(argv)
    if args.plot:
        _plot.pyplot()  # fail now, not after training, if matplotlib is missing
    check_checkpoint(args.checkpoint)
    train_x, train_y, test_x, test_y, valid_x, valid_y = load_data(args)
    output_activation, cost = COSTS[args.cost]
    model = nn.MLP(784, [*args.hidden, 10], activation="sigmoid", output_activation=output_activation,
                   init=args.init, seed=args.seed)
    optimizer = (nn.SGD(model, lr=args.lr, weight_decay=args.lmbda / len(train_x)) if args.lmbda
                 else OPTIMIZERS[args.optimizer](model, lr=args.lr))
    history = resume(model, optimizer, args) if args.resume else nn.History(mode=args.mode)
    held_out = f", {len(valid_x)} validation" if valid_x is not None else ""
    decay = f", lambda {args.lmbda:g}" if args.lmbda else ""
    print(f"MNIST: {len(train_x)} training{held_out} and {len(test_x)} test images; network "
          f"{'-'.join(map(str, [784, *args.hidden, 10]))}, sigmoid, {args.cost} cost, {args.init} init, "
          f"batch {args.batch_size}, {args.optimizer} lr {args.lr:g}{decay}, {args.mode} mode")

    tested: dict[int, np.ndarray] = {}  # the test outputs after the last epoch evaluated, by its number

    def evaluate(model: nn.MLP, epoch: int) -> dict[str, float]:
        """After each epoch: test accuracy, then a checkpoint of the weights and the history so far."""
        record = history.epochs[-1]
        tested.clear()
        tested[epoch] = nn.predict(model, test_x, mode=args.mode, progress=args.progress)
        record.metrics["test_accuracy"] = nn.accuracy(tested[epoch], test_y)
        validation = ""
        if valid_x is not None:
            record.metrics["validation_accuracy"] = nn.accuracy(nn.predict(model, valid_x, mode=args.mode),
                                                                valid_y)
            validation = f", validation accuracy {record.metrics['validation_accuracy']:.4f}"
        print(f"epoch {epoch:3d}: loss {record.loss:.5f}{validation}, test accuracy "
              f"{record.metrics['test_accuracy']:.4f} ({record.seconds:.1f} s)", flush=True)
        if args.checkpoint:
            os.makedirs(os.path.dirname(os.path.abspath(args.checkpoint)), exist_ok=True)
            nn.save(model, args.checkpoint, metadata={"epochs": history.to_records(), "args": vars(args)},
                    optimizer=optimizer)
        return record.metrics

    remaining, before = args.epochs - len(history), len(history)
    if remaining > 0:
        start = time.perf_counter()
        try:
            nn.fit(model, train_x, np.eye(10)[train_y], cost, optimizer, epochs=remaining,
                   batch_size=args.batch_size, reduction="mean", seed=args.seed, mode=args.mode,
                   history=history, evaluate=evaluate, progress=args.progress)
        except NonFiniteError as error:  # a learning rate so large a step overflows (--lr 1e308)
            raise SystemExit(f"training stopped: {error}. With --lr {args.lr:g} a step is not finite; "
                             "try a smaller --lr (Nielsen's is 3.0)") from None
        print(summary(history, before, time.perf_counter() - start))
    last = history.epochs[-1] if history.epochs else None
    # The model is as the last evaluation left it unless an epoch was cut short after it.
    outputs = tested.get(last.epoch) if last is not None and last.complete else None
    guesses = np.argmax(nn.predict(model, test_x, mode=args.mode) if outputs is None else outputs, axis=1)
    accuracy = float(np.mean(guesses == test_y))
    print(f"\ntest accuracy: {accuracy:.4f} ({int(np.sum(guesses == test_y))} of {len(test_y)})")
    print("confusion matrix (rows: true digit, columns: the network's guess):")
    print(format_confusion(confusion_matrix(test_y, guesses)))
    if args.plot:
        plot(args.plot, history, test_x, test_y, guesses)
    return {"accuracy": accuracy, "history": history}


def summary(history: nn.History, before: int, seconds: float) -> str:
    """What this run trained, as it happened (an interrupted run says so, and what is in the checkpoint)."""
    records = history.epochs[before:]
    complete = sum(record.complete for record in records)
    text = f"trained {complete} epoch{'s' * (complete != 1)} in {seconds:.1f} s"
    if records and not records[-1].complete:
        text += f" and {records[-1].steps} steps of epoch {records[-1].epoch} (not checkpointed)"
    if history.interrupted:
        text += "; interrupted"
    return text


def plot(path: str, history: nn.History, images: np.ndarray, labels: np.ndarray, guesses: np.ndarray) -> None:
    """Test accuracy and loss per epoch to ``path``; the first 12 misclassified digits to ``*_errors``."""
    plt = _plot.pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    numbers = [record.epoch for record in history]
    left.plot(numbers, history.metric("test_accuracy"), marker="o")
    left.set(title="test accuracy", xlabel="epoch")
    right.plot(numbers, history.losses, marker="o", color="tab:red")
    if "validation_accuracy" in history.epochs[-1].metrics:
        left.plot(numbers, history.metric("validation_accuracy"), marker=".", label="validation")
        left.legend(["test", "validation"], fontsize="small")
    right.set(title="training loss (mean cost per image)", xlabel="epoch")
    figure.tight_layout()
    print(f"wrote {_plot.save(figure, path)}")
    wrong = np.flatnonzero(guesses != labels)[:12]
    figure, axes = plt.subplots(2, 6, figsize=(9, 3.4))
    for axis, index in zip(axes.ravel(), wrong):
        axis.imshow(images[index].reshape(28, 28), cmap="gray_r")
        axis.set_title(f"{labels[index]} read as {guesses[index]}", fontsize=9)
    for axis in axes.ravel():
        axis.axis("off")
    figure.tight_layout()
    root, suffix = os.path.splitext(path)
    print(f"wrote {_plot.save(figure, f'{root}_errors{suffix}')}")


if __name__ == "__main__":
    main()
