"""Three Gaussian clouds classified by a 2-3-3 network through the engine.

The Gaussian-clouds softmax tutorial ("Backpropagation Programmer") runs:
500 points per class around (0, -2), (2, 2) and (-2, 2) with unit variance;
a hidden layer of three sigmoid neurons and a softmax output of three; the
log-likelihood sum(T log Y) over all 1500 points, climbed with learning rate
1e-3 for 1000 full-batch epochs.  Climbing sum(T log Y) is descending its
negative, the cross-entropy summed over the samples (``reduction="sum"``),
which is what this script does; the engine computes the four gradients the
tutorial writes by hand (for W2, b2, W1 and b1).

By default the gradients come from compiled mode (the traced graph of one
sample replayed over all 1500 with NumPy), and the run is the tutorial's: 1000
epochs in a few seconds.  Through scalar Values (``--mode scalar``) an epoch
takes about half a second, so the default there is 100 epochs (about a
minute; the rate is already above 0.97 after about 20); ``--tutorial-settings``
asks for the tutorial's 1000 in either mode.

    python examples/clouds.py --plot clouds.png
    python examples/clouds.py --mode scalar
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import _plot
import numpy as np

import nn
from nn import datasets
from nn.train import History, fit, predict

TUTORIAL_EPOCHS = 1000


def build(seed: int) -> nn.MLP:
    """2 inputs, 3 sigmoid hidden neurons, 3 linear outputs (the logits: softmax lives in the loss)."""
    return nn.MLP(2, [3, 3], activation="sigmoid", output_activation="linear", seed=seed)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line's options (``argv`` None: ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description="The Gaussian-clouds softmax tutorial (\"Backpropagation Programmer\"): a 2-3-3 network "
        "(sigmoid hidden layer, softmax output, cross-entropy summed over the samples, full batch) separates "
        "three Gaussian clouds. The defaults are the tutorial's (500 points per class, lr 1e-3, 1000 epochs) "
        "in compiled mode; in scalar mode the default is 100 epochs (about a minute rather than eight or "
        "nine); --tutorial-settings runs its 1000 epochs.",
    )
    parser.add_argument("--mode", choices=nn.modes.MODES, default="compiled",
                        help="compiled (the default: seconds) or scalar (every node a Value)")
    parser.add_argument("--per-class", type=int, default=500, help="points per cloud (default 500)")
    parser.add_argument("--epochs", type=int, help="full-batch epochs (default: the tutorial's 1000 in "
                        "compiled mode, 100 in scalar mode)")
    parser.add_argument("--lr", type=float, default=1e-3,
                        help="learning rate (default 1e-3, the tutorial's)")
    parser.add_argument("--tutorial-settings", "--seed-settings", dest="tutorial_settings",
                        action="store_true",
                        help="run the tutorial's 1000 epochs (--seed-settings is the old name)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the initial weights")
    parser.add_argument("--report-every", type=int, help="print the rate every N epochs (default: 10 lines)")
    _plot.add_arguments(parser, "the decision regions and the cost curve")
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = TUTORIAL_EPOCHS if args.tutorial_settings or args.mode == "compiled" else 100
    if args.report_every is None:
        args.report_every = max(1, args.epochs // 10)
    elif args.report_every < 1:
        parser.error(f"--report-every must be at least 1, got {args.report_every}")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train on the clouds, print the classification rate as it improves; return the numbers."""
    args = parse_args(argv)
    points, labels = datasets.gaussian_clouds(args.per_class, seed=args.seed)
    model = build(args.seed)
    optimizer = nn.SGD(model.parameters(), lr=args.lr)
    print(f"Gaussian clouds (the \"Backpropagation Programmer\" tutorial): {len(points)} points, "
          f"2-3-3 network, cross-entropy summed over the samples, learning rate {args.lr:g}, "
          f"{args.epochs} full-batch epochs")
    start = time.perf_counter()
    history = fit(model, points, labels, nn.cross_entropy, optimizer, epochs=args.epochs, reduction="sum",
                  metrics={"rate": nn.accuracy}, progress=args.progress, mode=args.mode)
    seconds = time.perf_counter() - start
    # The tutorial's cost is the log-likelihood sum(T log Y): the negative of the summed cross-entropy.
    for record in history:
        if (record.epoch - 1) % args.report_every == 0 or record.epoch == len(history):
            print(f"epoch {record.epoch:5}   cost {-record.loss:12.4f}   classification rate "
                  f"{record.metrics['rate']:.4f}")
    rate = nn.accuracy(predict(model, points, mode=args.mode), labels)
    print(f"final classification rate: {rate:.4f} ({seconds:.1f} s, {seconds / max(len(history), 1):.3f} s "
          f"per epoch, {history.mode} mode)")
    if args.plot:
        print(f"picture: {plot(model, points, labels, history, args.plot)}")
    return {"rate": rate, "history": history, "seconds": seconds, "model": model}


def plot(model: nn.MLP, points: np.ndarray, labels: np.ndarray, history: History, path: str) -> str:
    """The clouds over the network's decision regions, and the log-likelihood per epoch."""
    plt = _plot.pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], 120), np.linspace(low[1], high[1], 120))
    regions = predict(model, np.column_stack([gx.ravel(), gy.ravel()])).argmax(axis=1).reshape(gx.shape)
    colours = ["tab:blue", "tab:orange", "tab:green"]
    left.contourf(gx, gy, regions, levels=[-0.5, 0.5, 1.5, 2.5], colors=colours, alpha=0.25)
    for k, colour in enumerate(colours):
        chosen = labels == k
        left.scatter(points[chosen, 0], points[chosen, 1], s=8, color=colour, alpha=0.6, label=f"class {k}")
    left.set(xlabel="x1", ylabel="x2", title="clouds and decision regions")
    left.legend(fontsize="small", loc="lower right")
    right.plot(range(1, len(history) + 1), [-loss for loss in history.losses])
    right.set(xlabel="epoch", ylabel="log-likelihood sum(T log Y)", title="cost while training")
    figure.tight_layout()
    return _plot.save(figure, path)


if __name__ == "__main__":
    main()
