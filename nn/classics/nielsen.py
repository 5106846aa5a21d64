"""Nielsen's "Neural Networks and Deep Learning" in the gallery: chapter 3's seeded runs, chapter 5's norms.

Three kinds of entry: the seeded weight-initialisation runs, count for count
(``nielsen-weight-init-30``, ``-100``); the chapter's headline accuracies as
bands, beside the seeded runs of the same settings, count for count
(``nielsen-ch3-headlines``); chapter 5's gradient norms and accuracies as
bands (``nielsen-ch5``).

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

import autodiff
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


def correct(model: nn.MLP, images: np.ndarray, labels: np.ndarray) -> int:
    """How many images the model gets right, his way: the largest sigmoid output."""
    logits = nn.predict(model, images, mode="compiled")
    outputs = 1.0 / (1.0 + np.exp(-logits))  # two logits above ~37 round to the same 1.0: the first wins
    return int(np.sum(np.argmax(outputs, axis=1) == labels))


def train(model: nn.MLP, data: MNIST, order: Callable[[int], np.ndarray], epochs: int, eta: float = ETA,
          lmbda: float = LMBDA, on: str = "validation") -> list[int]:
    """``epochs`` of network2's SGD; the count of right answers on ``on`` (validation or test) after each."""
    counts: list[int] = []
    n = len(data.train_labels)
    images, labels = (data.validation_images, data.validation_labels) if on == "validation" else (
        data.test_images, data.test_labels)

    def evaluate(trained: nn.MLP, epoch: int) -> dict[str, float]:
        counts.append(correct(trained, images, labels))
        return {f"{on}_count": counts[-1]}

    nn.fit(model, data.train_images, np.eye(10)[data.train_labels], nn.sigmoid_cross_entropy_with_logits,
           nn.SGD(model, lr=eta, weight_decay=lmbda / n), epochs=epochs, batch_size=BATCH, order=order,
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
        report.notes.extend(_differences(f"{run} weights", engine, published[run]))
    return report


def _differences(run: str, engine: list[int], published: tuple[int, ...]) -> list[str]:
    """One line per epoch whose count differs: which epoch, both counts and the difference."""
    return [f"{run}, epoch {epoch}: engine {mine}, published {theirs} ({mine - theirs:+d})"
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


# -- chapter 3's headline figures, and the seeded runs of the same settings --------------------------------

BOOK = Source(
    title="Nielsen, \"Neural Networks and Deep Learning\", chapter 3: the test accuracies the text quotes",
    repository="no repository: the figures are printed in the book (neuralnetworksanddeeplearning.com)",
    path="chap3.html, sections \"The cross-entropy cost function\" and \"Regularization\"", commit=None,
    licence="the book is CC BY-NC 3.0; only the figures are quoted", data=DATA)
OVERFITTING = Source(
    title="Nielsen, chapter 3: fig/overfitting.py run on all 50,000 training images, lambda 0 and 5",
    repository=REPOSITORY,
    path="fig/overfitting.py; fig/overfitting_full.json (lambda 0, written at commit f5ee18b) and "
         "fig/regularized_full.json (lambda 5)", commit="98b85bbc55c565d079b4d14ddbc1a665ba076e5b",
    licence="MIT", data=DATA)

HEADLINE_ETA = 0.5
#: The test counts (of 10,000) after each of 30 epochs of fig/overfitting.py on the full training set:
#: [784, 30, 10], cross-entropy, N(0, 1) weights, eta 0.5, mini-batches of 10, seeds 12345678.
OVERFITTING_COUNTS = {
    0.0: (9136, 9275, 9307, 9377, 9450, 9429, 9468, 9488, 9494, 9424, 9483, 9483, 9505, 9499, 9508, 9508,
          9445, 9524, 9524, 9524, 9494, 9527, 9518, 9505, 9533, 9529, 9512, 9530, 9532, 9531),
    5.0: (9212, 9341, 9375, 9424, 9532, 9537, 9504, 9541, 9578, 9538, 9579, 9530, 9590, 9543, 9607, 9597,
          9576, 9546, 9600, 9634, 9544, 9606, 9614, 9607, 9621, 9637, 9620, 9511, 9649, 9561),
}
#: The book's test accuracies (%) for the same settings, each from one run without a seed.
HEADLINES = {0.0: 95.49, 5.0: 96.49}
HEADLINE_REL = 0.011  # about one percentage point
#: Without regularisation the run amplifies the last bits in which two ways of adding the same products
#: differ: from epoch 5 on the counts are compared within a band.
EXACT_UNREGULARISED = 4
CHAOTIC_REL = 0.006
CHAOTIC_WHY = (
    "without regularisation (lambda 0, eta 0.5) the run amplifies round-off: Nielsen's own network2 code, "
    "run today with NumPy 2 on this project's machine, gives 9371 at epoch 4 where his 2014 run gave 9377, "
    "and from then on differs from his file by up to 54 images (0.57%, at epoch 17); the engine, which adds "
    "each mini-batch's products in another order again, agrees through epoch 4 and then stays within the "
    "same 0.6% (the notes list each epoch). With lambda 5 the decay damps such differences and all 30 "
    "counts agree")
HEADLINE_WHY = (
    "the book's figure comes from one run without a seed; the seeded run of the same settings (the counts "
    "above) swings by up to 1.4 points between its last epochs with lambda 5 (95.11% to 96.49%) and ends "
    "at 95.61%: a band of about one percentage point around the book's figure")


def overfitting_run(data: MNIST, lmbda: float, epochs: int) -> list[int]:
    """fig/overfitting.py on all the training images: test counts after each of ``epochs`` epochs.

    Its network is built with network2's scaled weights, then given large
    ones (``large_weight_initializer``), both drawn from the seeded generator.
    """
    legacy, sizes = np.random.RandomState(SEED), [784, 30, 10]
    network2_draws(legacy, sizes, scaled=True)  # the constructor's draws, replaced at once
    model = nn.MLP(784, [30, 10], activation="sigmoid", output_activation="linear")
    model.set_weights(*network2_draws(legacy, sizes, scaled=False))
    return train(model, data, Python2Shuffle(len(data.train_labels)), epochs, eta=HEADLINE_ETA, lmbda=lmbda,
                 on="test")


def headlines(quick: bool, full: bool = False) -> Report:
    """The seeded runs with lambda 5 and 0 (quick: lambda 5's first epoch); ``full`` adds the book's bands."""
    data = nielsen_mnist()
    epochs = 1 if quick else EPOCHS if full else DEFAULT_EPOCHS
    report = Report()
    for lmbda in (5.0, 0.0) if not quick else (5.0,):
        engine, published = overfitting_run(data, lmbda, epochs), OVERFITTING_COUNTS[lmbda]
        run = f"lambda {lmbda:g}"
        exact = epochs if lmbda else min(epochs, EXACT_UNREGULARISED)
        report.add(Figure(f"[784, 30, 10], eta 0.5, {run}: test count after epochs 1..{exact}",
                          tuple(engine[:exact]), published[:exact]))
        if exact < epochs:
            report.add(Figure(f"{run}: test count after epochs {exact + 1}..{epochs}", tuple(engine[exact:]),
                              published[exact:epochs], rel=CHAOTIC_REL, why=CHAOTIC_WHY))
        report.notes.extend(_differences(run, engine, published))
        if full:
            report.add(Figure(f"{run}: test accuracy (%) after 30 epochs, beside the book's",
                              engine[-1] / 100, HEADLINES[lmbda], rel=HEADLINE_REL, why=HEADLINE_WHY))
    return report


HEADLINE_ENTRY = Entry(
    name="nielsen-ch3-headlines",
    title="Nielsen's chapter 3 headlines: 95.49% (cross-entropy) and 96.49% (lambda 5) test accuracy with "
          "30 hidden neurons, and the seeded runs of those settings count for count",
    sources=(BOOK, NETWORK2, OVERFITTING), run=headlines,
    quick_part="the first epoch of the seeded run with lambda 5",
    full_part=f"all {EPOCHS} epochs of both seeded runs and the book's figures as bands (default: the "
              f"first {DEFAULT_EPOCHS} epochs of each)")


# -- chapter 5: the vanishing gradient ------------------------------------------------------------------

CHAPTER_5 = Source(
    title="Nielsen, \"Neural Networks and Deep Learning\", chapter 5 (\"Why are deep neural networks hard to "
          "train?\"): the norms of the hidden layers' gradients at initialisation, the accuracies with one "
          "to four hidden layers",
    repository="no repository for the figures: they are printed in the book "
               f"(neuralnetworksanddeeplearning.com); how they were measured: {REPOSITORY} "
               "fig/generate_gradient.py",
    path="chap5.html, section \"The vanishing gradient problem\"", commit=None,
    licence="the book is CC BY-NC 3.0; only the figures are quoted", data=DATA)

#: ||delta^l|| of each hidden layer, first to last, at initialisation: the mean over the first 1,000 training
#: images of dC/db^l (cross-entropy, network2's scaled weights), as the book prints them.
BOOK_NORMS = {2: (0.07, 0.31), 3: (0.012, 0.060, 0.283), 4: (0.003, 0.017, 0.070, 0.285)}
NORM_FACTOR = 2.0
NORM_WHY = (
    "the book's norms come from networks drawn without a seed; drawn with other seeds the same networks give "
    "norms up to about twice or half as large (the first layer of [784, 30, 30, 10]: 0.036 to 0.068 over "
    "seeds 12345678, 1, 2 and 3), while each layer stays about four to six times slower than the next")
#: The validation accuracy (%) after 30 epochs (eta 0.1, lambda 5, mini-batches of 10) with 1 to 4 hidden
#: layers of 30 neurons, each from one run without a seed.
BOOK_ACCURACIES = {1: 96.48, 2: 96.90, 3: 96.57, 4: 96.53}
ACCURACY_WHY = (
    "the book's accuracies come from one run each, without a seed; a seeded run of [784, 30, 10] with these "
    "settings (nielsen-weight-init-30) moves between 96.40% and 96.53% over its last five epochs, and "
    "the differences the book finds between depths are of the same size: a band of about one point")
PROBE = 1000  # generate_gradient.py averages over the first 1,000 training images


def hidden_norms(data: MNIST, hidden_layers: int) -> list[float]:
    """||mean dC/db|| of each hidden layer over the first 1,000 training images, at network2's initialisation.

    The network is drawn as network2 draws it, from the seeded legacy
    generator; one compiled pass (the loss and its gradient graph) over the
    1,000 images gives the mean gradient of the cross-entropy.
    """
    sizes = [784] + [30] * hidden_layers + [10]
    model = nn.MLP(784, sizes[1:], activation="sigmoid", output_activation="linear")
    model.set_weights(*network2_draws(np.random.RandomState(SEED), sizes, scaled=True))
    images, targets = data.train_images[:PROBE], np.eye(10)[data.train_labels[:PROBE]]
    program = autodiff.compile(lambda x, y: nn.sigmoid_cross_entropy_with_logits(model(x), y),
                               (images[:4], targets[:4]), model.parameters())
    _, gradient = program.value_and_grad(images, targets, reduction="mean")
    position = {id(p): i for i, p in enumerate(program.params)}
    return [float(np.linalg.norm([gradient[position[id(neuron.b)]] for neuron in layer.neurons]))
            for layer in model.layers[:-1]]


def depth_accuracy(data: MNIST, hidden_layers: int) -> float:
    """The validation accuracy (%) after 30 epochs of network2 with ``hidden_layers`` layers of 30."""
    sizes = [784] + [30] * hidden_layers + [10]
    model = nn.MLP(784, sizes[1:], activation="sigmoid", output_activation="linear")
    model.set_weights(*network2_draws(np.random.RandomState(SEED), sizes, scaled=True))
    counts = train(model, data, Python2Shuffle(len(data.train_labels)), EPOCHS)
    return counts[-1] / 100


def chapter_5(quick: bool, full: bool = False) -> Report:
    """The norms (quick: of [784, 30, 30, 10] only); ``full`` adds the accuracies of 1 to 4 hidden layers."""
    data = nielsen_mnist()
    report = Report()
    for layers, published in BOOK_NORMS.items():
        if quick and layers > 2:
            break
        norms = hidden_norms(data, layers)
        report.add(Figure(f"[784{', 30' * layers}, 10]: ||delta|| of the hidden layers, first to last",
                          tuple(norms), published, factor=NORM_FACTOR, why=NORM_WHY))
        shrink = ", ".join(f"{later / earlier:.1f}" for earlier, later in zip(norms, norms[1:]))
        report.notes.append(f"{layers} hidden layers: each layer's norm over the one before it: {shrink}")
    if full:
        for layers, published in BOOK_ACCURACIES.items():
            report.add(Figure(f"{layers} hidden layer{'s' * (layers > 1)} of 30: validation accuracy (%) "
                              "after 30 epochs", depth_accuracy(data, layers), published, rel=HEADLINE_REL,
                              why=ACCURACY_WHY))
    return report


CHAPTER_5_ENTRY = Entry(
    name="nielsen-ch5",
    title="Nielsen's chapter 5, the vanishing gradient: the hidden layers' ||delta|| at initialisation for "
          "2 to 4 hidden layers, and the accuracies with 1 to 4",
    sources=(CHAPTER_5, NETWORK2), run=chapter_5, quick_part="the norms of [784, 30, 30, 10]",
    full_part="the accuracies too: 30 epochs with 1, 2, 3 and 4 hidden layers")
