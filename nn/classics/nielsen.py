"""Nielsen's chapter 3 (``network2.py``): the seeded weight-initialisation runs, count for count.

``fig/weight_initialization.py`` of Nielsen's repository seeds Python's
``random`` and NumPy's legacy generator with 12345678, builds
``network2.Network([784, n, 10], cost=CrossEntropyCost)`` (biases drawn first,
then weights divided by sqrt(n_in)), trains it for 30 epochs (mini-batches of
10, eta 0.1, lambda 5.0) and records the validation count after every epoch;
then it draws large weights (biases, then N(0, 1) weights, from the same
generator) and trains again, the sample order carrying on from the first run.
The counts are in ``fig/weight_initialization_30.json`` and ``_100.json``.

Here the same network is ``nn.MLP(784, [n, 10])`` with a linear output layer
and ``nn.sigmoid_cross_entropy_with_logits`` (his cross-entropy, whose output
delta is sigmoid(z) - y), trained by ``nn.fit`` in compiled mode: the chain
rule finds every gradient, ``nn.SGD(lr=eta, weight_decay=lmbda / n)`` takes
his step (1 - eta lambda / n) w - eta (mean gradient), and ``order=`` replays
his ``random.shuffle`` as Python 2 did it (Python 3's shuffle draws
differently from the same seed).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import nn

from ..mnist import MNIST, from_pickle
from ..mnist.cache import MIRROR_VARIABLE, PICKLE_FILE, cached_file, default_cache_dir
from ..mnist.errors import FetchError
from ..mnist.fetch import fetch_into
from ..mnist.sources import mirror_source
from .gallery import Entry, Figure, Report, Source, Unavailable

REPOSITORY = "mnielsen/neural-networks-and-deep-learning"
#: The newest commit; network2.py's arithmetic and the figure script are as they were in May 2014.
HEAD = "72db53d750f571bef8804de4a52224e44dcab3a1"
#: The commit that wrote the two JSON files (unchanged since): "Reparameterizing the weight initialization
#: results", 17 May 2014.
RESULTS_COMMIT = "b5ee3ad7b65f24c7aa1d6802ba466b27c46d58c0"
DATA = ("MNIST (LeCun, Cortes and Burges) as Nielsen's data/mnist.pkl.gz: pixels k/256, 50,000 training, "
        f"10,000 validation and 10,000 test images (sha256 {PICKLE_FILE.digest}); never part of this project")
NETWORK2 = Source(
    title="Michael Nielsen, \"Neural Networks and Deep Learning\", chapter 3: network2.py",
    repository=REPOSITORY, path="src/network2.py", commit=HEAD, licence="MIT (Copyright (c) 2012-2022 "
    "Michael Nielsen)", data=DATA)


def figure_source(hidden: int) -> Source:
    """The figure script and the JSON file holding its counts for ``hidden`` hidden neurons."""
    return Source(
        title=f"Nielsen, chapter 3, \"Weight initialization\": the seeded runs with {hidden} hidden neurons",
        repository=REPOSITORY,
        path=f"fig/weight_initialization.py and fig/weight_initialization_{hidden}.json",
        commit=RESULTS_COMMIT, licence="MIT", data=DATA)


SEED = 12345678
EPOCHS, BATCH, ETA, LMBDA = 30, 10, 0.1, 5.0
DEFAULT_EPOCHS = 3  # `check NAME` runs the first epochs of each run; --full all 30

#: The validation counts (of 10,000) after each of the 30 epochs: "default" (weights N(0, 1) / sqrt(n_in))
#: then "large" (weights N(0, 1)), from fig/weight_initialization_{30,100}.json.
PUBLISHED = {
    30: {"default": (9270, 9414, 9470, 9504, 9537, 9550, 9587, 9594, 9596, 9594, 9616, 9595, 9622, 9630,
                     9636, 9641, 9625, 9652, 9637, 9634, 9642, 9639, 9649, 9646, 9646, 9653, 9646, 9653, 9640,
                     9650),
         "large": (8643, 9044, 9141, 9231, 9299, 9327, 9385, 9416, 9433, 9449, 9476, 9489, 9500, 9535, 9521,
                   9548, 9564, 9573, 9585, 9592, 9596, 9615, 9607, 9605, 9606, 9622, 9637, 9648, 9635,
                   9637)},
    100: {"default": (9295, 9481, 9547, 9592, 9664, 9673, 9702, 9719, 9726, 9726, 9732, 9732, 9730, 9734,
                      9745, 9751, 9757, 9761, 9764, 9766, 9758, 9767, 9756, 9752, 9777, 9775, 9770, 9770,
                      9771, 9781),
          "large": (8994, 9181, 9260, 9364, 9427, 9449, 9497, 9512, 9560, 9578, 9603, 9616, 9626, 9629,
                    9644, 9671, 9674, 9679, 9700, 9708, 9707, 9717, 9729, 9720, 9719, 9745, 9751, 9754,
                    9755, 9742)},
}


def nielsen_mnist() -> MNIST:
    """Nielsen's ``mnist.pkl.gz`` from the MNIST cache or ``$AUTODIFF_DATA_MIRROR``; Unavailable if neither.

    His file, not the IDX files: his pixels are k/256 (the IDX reader's are
    k/255) and his validation images are the last 10,000 of the training set.
    Nothing is downloaded here: ``python -m nn.mnist fetch --pickle`` does that.
    """
    directory = default_cache_dir()
    path = cached_file(directory, PICKLE_FILE)
    if path is None:
        path = _from_mirror(directory)
    return from_pickle(path)


def _from_mirror(directory: Path) -> Path:
    how = (f"Nielsen's {PICKLE_FILE.name} is not in {directory}: the seeded runs need his file (pixels "
           "k/256, his validation split), not the IDX files. Get it with: python -m nn.mnist fetch --pickle "
           f"(or set {MIRROR_VARIABLE} to a folder holding it)")
    mirror = mirror_source((PICKLE_FILE,))
    if mirror is None:
        raise Unavailable(how, required_on_ci=False)
    try:
        (path,) = fetch_into(directory, [mirror], PICKLE_FILE.name, how)
    except FetchError as error:
        raise Unavailable(f"{how}\n{error}", required_on_ci=False) from None
    return path


class Python2Shuffle:
    """Python 2's ``random.shuffle``, applied epoch after epoch to one list of sample indices.

    Python 2 swapped ``x[i]`` with ``x[int(random() * (i + 1))]`` for i from
    the end down to 1; Python 3 draws ``j`` with ``getrandbits`` instead, so
    the same seed gives another order.  ``random.seed(int)`` seeds the same
    stream in both.  network2 shuffles its training list in place, so each
    epoch's order starts from the last one: calling this object gives the
    order of the next epoch (``nn.fit``'s ``order=``).
    """

    def __init__(self, count: int, seed: int = SEED) -> None:
        self.stream = random.Random(seed)
        self.indices = list(range(count))

    def __call__(self, epoch: int | None = None) -> np.ndarray:
        """Shuffle once more; return the new order."""
        draw, indices = self.stream.random, self.indices
        for i in range(len(indices) - 1, 0, -1):
            j = int(draw() * (i + 1))
            indices[i], indices[j] = indices[j], indices[i]
        return np.array(indices)


def network2_draws(legacy: np.random.RandomState, sizes: list[int], scaled: bool) -> tuple[list, list]:
    """network2's initialisers: biases N(0, 1) per layer, then weights N(0, 1) (/ sqrt(n_in) if ``scaled``).

    Returned as nn's layout: weights (n_in, n_out) and biases (n_out,).
    """
    biases = [legacy.randn(n_out, 1) for n_out in sizes[1:]]
    weights = [legacy.randn(n_out, n_in) / np.sqrt(n_in) if scaled else legacy.randn(n_out, n_in)
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return [w.T for w in weights], [b.ravel() for b in biases]


def validation_count(model: nn.MLP, data: MNIST) -> int:
    """How many validation images the model gets right, his way: the largest sigmoid output."""
    logits = nn.predict(model, data.validation_images, mode="compiled")
    outputs = 1.0 / (1.0 + np.exp(-logits))  # two logits above ~37 round to the same 1.0: the first wins
    return int(np.sum(np.argmax(outputs, axis=1) == data.validation_labels))


def train(model: nn.MLP, data: MNIST, order: Callable[[int], np.ndarray], epochs: int) -> list[int]:
    """``epochs`` of network2's SGD; the validation count after each."""
    counts: list[int] = []
    n = len(data.train_labels)

    def evaluate(trained: nn.MLP, epoch: int) -> dict[str, float]:
        counts.append(validation_count(trained, data))
        return {"validation_count": counts[-1]}

    nn.fit(model, data.train_images, np.eye(10)[data.train_labels], nn.sigmoid_cross_entropy_with_logits,
           nn.SGD(model, lr=ETA, weight_decay=LMBDA / n), epochs=epochs, batch_size=BATCH, order=order,
           evaluate=evaluate, progress=False, mode="compiled")
    return counts


@dataclass(frozen=True)
class Depth:
    """How much of the two runs an entry's run trains: epochs of the default and of the large weights."""

    default: int
    large: int


def depth(quick: bool, full: bool) -> Depth:
    """quick: the first epoch of the first run; default: 3 epochs of each; full: all 30 of each."""
    if quick:
        return Depth(1, 0)
    return Depth(EPOCHS, EPOCHS) if full else Depth(DEFAULT_EPOCHS, DEFAULT_EPOCHS)


def weight_initialisation(hidden: int, quick: bool, full: bool = False) -> Report:
    """The figure script's two runs with ``hidden`` neurons, as far as ``quick``/``full`` say."""
    data = nielsen_mnist()
    published, epochs = PUBLISHED[hidden], depth(quick, full)
    sizes = [784, hidden, 10]
    legacy = np.random.RandomState(SEED)  # the generator np.random.seed seeds
    order = Python2Shuffle(len(data.train_labels))
    model = nn.MLP(784, [hidden, 10], activation="sigmoid", output_activation="linear")
    report = Report()
    for run, scaled in (("default", True), ("large", False)):
        model.set_weights(*network2_draws(legacy, sizes, scaled))
        if run == "large":
            for _ in range(EPOCHS - epochs.default):  # the first run's remaining shuffles
                order()
        count = epochs.default if run == "default" else epochs.large
        if not count:
            continue
        engine = train(model, data, order, count)
        report.add(Figure(f"{hidden} hidden, {run} weights: validation count after epochs 1..{count}",
                          tuple(engine), published[run][:count]))
        report.notes.extend(_differences(run, engine, published[run]))
    return report


def _differences(run: str, engine: list[int], published: tuple[int, ...]) -> list[str]:
    """One line per epoch whose count differs: which epoch, both counts and the difference."""
    return [f"{run} weights, epoch {epoch}: engine {mine}, published {theirs} ({mine - theirs:+d})"
            for epoch, (mine, theirs) in enumerate(zip(engine, published), 1) if mine != theirs]


def _entry(hidden: int) -> Entry:
    def run(quick: bool, full: bool = False) -> Report:
        return weight_initialisation(hidden, quick, full)

    return Entry(
        name=f"nielsen-weight-init-{hidden}",
        title=f"Nielsen's chapter 3, seeded: validation counts of [784, {hidden}, 10] with weights "
              "N(0, 1)/sqrt(n_in), then N(0, 1) (eta 0.1, lambda 5, mini-batches of 10)",
        sources=(NETWORK2, figure_source(hidden)), run=run,
        quick_part="the first epoch of the first run",
        full_part=f"all {EPOCHS} epochs of both runs (default: the first {DEFAULT_EPOCHS} of each)")


WEIGHT_INIT_30 = _entry(30)
WEIGHT_INIT_100 = _entry(100)
