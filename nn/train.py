"""The training loop: batches, steps, epochs and a record of what happened.

:func:`fit` runs a model over the data in batches; for each batch it takes the
gradient of the batch loss through the engine and lets the optimizer step.
``mode`` says how (see :mod:`nn.modes`): ``"scalar"`` through Value graphs,
``"compiled"`` through one traced program replayed over each batch with NumPy.

How per-sample losses combine into the loss of a batch is the ``reduction``:
``"mean"`` averages them (gradient descent with ``w -= lr/len(batch) * sum of
gradients``) and ``"sum"`` adds them (the hand-derived full-batch conventions
that sum the cost over every sample).

Ctrl-C stops training after the step in progress: the model keeps every update
made so far and ``fit`` returns the history up to there, with
``history.interrupted`` set.  A second Ctrl-C stops at once.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import autodiff
from autodiff.compiled import blas

from ._checks import is_whole
from ._signals import redelivered
from .modes import TRAINERS, check_mode, compiled_forward, numbers

#: A per-sample loss: (model output, target) -> scalar Value.
Loss = Callable[[Any, Any], autodiff.Value]
#: A metric: (outputs as an array, targets as an array) -> number.
Metric = Callable[[np.ndarray, np.ndarray], float]


class StopTraining(Exception):
    """Raise from an ``evaluate`` hook or a metric to end training after this epoch.

    The message, if any, becomes ``history.stop_reason``.
    """


@dataclass
class Epoch:
    """What one epoch did.

    ``loss`` is the loss over the samples the epoch saw, reduced as in training
    (their mean, or their sum), from the forward passes made for the steps.
    ``metrics`` holds the metrics and whatever the ``evaluate`` hook returned.
    ``seconds`` is the time spent in the steps.  An epoch cut short by Ctrl-C
    has ``complete`` False and counts only the steps that finished.
    """

    epoch: int
    loss: float
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    steps: int = 0
    complete: bool = True


@dataclass
class History:
    """The epochs of one :func:`fit` call, in order, and how training ended."""

    mode: str = "scalar"
    epochs: list[Epoch] = field(default_factory=list)
    stopped_early: bool = False
    interrupted: bool = False
    stop_reason: str | None = None

    @property
    def losses(self) -> list[float]:
        """The loss of every epoch."""
        return [record.loss for record in self.epochs]

    def metric(self, name: str) -> list[float]:
        """One metric over the epochs that recorded it."""
        return [record.metrics[name] for record in self.epochs if name in record.metrics]

    @property
    def seconds(self) -> float:
        """Time spent in training steps, over all epochs."""
        return sum(record.seconds for record in self.epochs)

    def __len__(self) -> int:
        return len(self.epochs)

    def __iter__(self) -> Iterator[Epoch]:
        return iter(self.epochs)

    def to_records(self) -> list[dict[str, Any]]:
        """The epochs as plain dicts (JSON-ready), e.g. for a checkpoint's metadata."""
        return [asdict(record) for record in self.epochs]

    @classmethod
    def from_records(cls, records: list[dict[str, Any]], mode: str = "scalar") -> History:
        """A history rebuilt from :meth:`to_records`, to be continued by ``fit(..., history=...)``."""
        return cls(mode=mode, epochs=[Epoch(**record) for record in records])

    def __getitem__(self, index: int) -> Epoch:
        return self.epochs[index]


# -- the loop ----------------------------------------------------------------------


def fit(
    model: Any,
    inputs: Any,
    targets: Any,
    loss: Loss,
    optimizer: Any,
    epochs: int,
    batch_size: int | None = None,
    reduction: str = "mean",
    shuffle: bool = True,
    seed: int = 0,
    metrics: Mapping[str, Metric] | None = None,
    evaluate: Callable[[Any, int], Mapping[str, float] | None] | None = None,
    progress: bool | None = None,
    mode: str = "scalar",
    start_epoch: int | None = None,
    history: History | None = None,
    order: Callable[[int], Any] | None = None,
) -> History:
    """Train ``model`` on ``inputs`` and ``targets``; return the :class:`History`.

    - ``inputs``: array-like shaped (samples, features); a 1-D array is one
      feature per sample.  A float array is used as it is, without a copy
      (float32 images stay float32; the numbers trained on are the same).
      ``targets``: one per sample (a class label, a number or a row), handed
      to ``loss(model(x), target)`` as Python numbers/lists.
    - ``batch_size``: samples per step; None is the full batch (one step per
      epoch).  With ``shuffle``, mini-batches are drawn each epoch in an order
      from ``numpy.random.default_rng([seed, epoch])``: the same seed, the
      same run, and a run resumed at ``start_epoch`` shuffles as the
      uninterrupted run would have.
      A full batch is never shuffled (its order would only change round-off).
    - ``order``: ``order(epoch)`` gives the order of the samples for that epoch,
      a permutation of ``range(samples)``, instead of the shuffle: to follow
      another program's order exactly (Nielsen's ``random.shuffle``, say).
      Anything but a permutation raises ValueError naming the epoch.
    - ``reduction``: ``"mean"`` or ``"sum"`` of the per-sample losses in a batch.
    - ``metrics``: ``{name: f(outputs, targets)}`` evaluated each epoch on the
      outputs of that epoch's forward passes, in sample order.
    - ``evaluate``: ``evaluate(model, epoch)`` called after each epoch; the dict
      it returns joins the epoch's metrics.  It (or a metric) may raise
      :class:`StopTraining` to stop early.
    - ``progress``: a bar with the loss on stderr; None shows it only when
      stderr is a terminal.
    - ``history``: a :class:`History` to continue (say, from a checkpoint): new
      epochs are appended to it and numbered on from its last one, unless
      ``start_epoch`` says otherwise.  The epoch number also seeds shuffling.
    - ``mode``: ``"scalar"`` (Value graphs) or ``"compiled"`` (one traced
      program over each batch with NumPy; parameters are written back to the
      Values at the end of every epoch, before metrics and ``evaluate``, and
      when training stops).  In compiled mode targets must be numbers, rows
      or class indices (turned into one-hot rows), and outputs for
      ``metrics`` come from a compiled forward pass.

    Fitting y = 2x + 1 with one linear neuron:

    >>> from nn import MLP, SGD, quadratic
    >>> model = MLP(1, [1], activation="linear")
    >>> model.set_weights([[[0.0]]], [[0.0]])
    >>> history = fit(model, [[1.0], [2.0], [3.0]], [[3.0], [5.0], [7.0]], quadratic,
    ...               SGD(model.parameters(), lr=0.1), epochs=500, progress=False)
    >>> len(history), round(history.losses[0], 4), round(history.losses[-1], 6)
    (500, 13.8333, 0.0)
    >>> (m,), (b,) = model.get_weights()
    >>> round(float(m[0, 0]), 3), round(float(b[0]), 3)
    (2.0, 1.0)
    """
    check_mode(mode, "fit")
    _check_optimizer(model, optimizer)
    loss = _checked_loss(loss)
    rows, labels = _samples(inputs, targets, "fit")
    count = len(rows)
    size = _batch_size(batch_size, count)
    _check_choice("reduction", reduction, ("mean", "sum"))
    if not is_whole(epochs, 0):
        raise ValueError(f"fit: epochs must be a whole number >= 0, got {epochs!r}")
    show = sys.stderr.isatty() if progress is None else bool(progress)
    history = History(mode=mode) if history is None else history
    if start_epoch is None:
        start_epoch = history.epochs[-1].epoch + 1 if history.epochs else 1
    if not is_whole(start_epoch, 1):
        raise ValueError(f"fit: start_epoch must be a whole number >= 1, got {start_epoch!r}")
    sequence = np.arange(count)  # the order of this epoch's samples
    history.mode = mode
    if show:
        print(f"nn.fit: {mode} mode, {count} samples, batch {size}, {epochs} epochs", file=sys.stderr)

    trainer = TRAINERS[mode](model, rows, labels, loss, optimizer, reduction, need_outputs=bool(metrics))
    per_epoch = -(-count // size)
    with _ctrl_c() as interrupt, _progress_bar(show, epochs * per_epoch) as bar, _synced(trainer), \
            blas.limited():  # one BLAS thread for the whole run, evaluate included (compiled/blas.py)
        for number in range(start_epoch, start_epoch + epochs):
            if order is not None:
                sequence = _permutation(order(number), count, number)
            elif shuffle and size < count:
                sequence = np.random.default_rng([seed, number]).permutation(count)
            bar.set_description(f"epoch {number}/{start_epoch + epochs - 1}", refresh=False)
            record, seen, outputs = _epoch(number, trainer, len(rows), sequence, size, reduction, interrupt,
                                           bar)
            trainer.sync()
            if record.steps == 0:
                break  # interrupted before any step of this epoch finished
            history.epochs.append(record)
            try:
                record.metrics.update(_metrics(metrics, outputs, targets, seen))
                if evaluate is not None and record.complete:
                    record.metrics.update(evaluate(model, number) or {})
            except StopTraining as stop:
                history.stopped_early, history.stop_reason = True, str(stop) or None
            bar.set_postfix(loss=f"{record.loss:.4g}")
            if history.stopped_early or interrupt.is_set():
                break
    if interrupt.is_set():
        history.interrupted = True
        _note_interrupt(history)
    return history


def _permutation(given: Any, count: int, epoch: int) -> np.ndarray:
    """``given`` as an index array if it is a permutation of range(count), else a ValueError."""
    sequence = np.asarray(given)
    fits = sequence.shape == (count,) and sequence.dtype.kind in "iu"
    if not (fits and np.array_equal(np.sort(sequence), np.arange(count))):
        shown = repr(given) if sequence.shape == (count,) else f"shape {sequence.shape}"
        raise ValueError(f"fit: order({epoch}) must give a permutation of range({count}), each sample "
                         f"index once; got {shown:.80}")
    return sequence.astype(np.intp, copy=False)


def predict(model: Callable[[Any], Any], inputs: Any, mode: str = "scalar",
            progress: bool | None = None) -> np.ndarray:
    """The model's outputs for many inputs as an array, without recording a graph.

    One row per sample (or one number per sample for a model that returns a
    single Value).  ``mode="compiled"`` runs one compiled forward pass over all
    inputs (traced once per model, then reused), for test sets of any size.
    In scalar mode (milliseconds per sample for an MNIST network) ``progress``
    shows a bar on stderr; None shows it only when stderr is a terminal.
    """
    check_mode(mode, "predict")
    rows, _ = _samples(inputs, None, "predict")
    if mode == "compiled":
        return compiled_forward(model, rows[:4]).forward(rows)  # BLAS limited by Program.forward
    show = sys.stderr.isatty() if progress is None else bool(progress)
    outputs = []
    with autodiff.no_grad(), _progress_bar(show, len(rows), "predicting", "sample") as bar:
        drawn = time.perf_counter()
        for x in rows.tolist():
            outputs.append(numbers(model(x)))  # Value arithmetic is fastest on Python floats
            if show and time.perf_counter() - drawn > _DRAW_EVERY:
                bar.update(len(outputs) - bar.n)
                drawn = time.perf_counter()
        if show:
            bar.update(len(outputs) - bar.n)
    return np.array(outputs, dtype=float)


#: Seconds between two updates of the progress bar: updating it at every step cost several percent of a
#: compiled step.
_DRAW_EVERY = 0.1


def _epoch(
    number: int,
    trainer: Any,
    count: int,
    order: np.ndarray,
    size: int,
    reduction: str,
    interrupt: threading.Event,
    bar: Any,
) -> tuple[Epoch, np.ndarray, list[np.ndarray]]:
    """One pass over the data; returns its record, the samples seen (in the order seen) and their outputs.

    The loop is what runs between two compiled steps, so it keeps little per
    step: batches are slices of ``order`` (the samples seen are then a prefix
    of it), outputs are kept only if the trainer gives them, and the bar is
    brought up to date at most every ``_DRAW_EVERY`` seconds.
    """
    start = time.perf_counter()
    total, done, seen, outputs = 0.0, 0, 0, []
    drawn, redraw = 0, start + _DRAW_EVERY
    value = math.nan
    for begin in range(0, count, size):
        chosen = order[begin : begin + size]
        try:
            value, batch_outputs = trainer.step(chosen)
        except KeyboardInterrupt:
            interrupt.set()  # raised inside the step (no signal handler here): the step is dropped
            break
        seen = begin + len(chosen)
        total += value * len(chosen) if reduction == "mean" else value
        done += 1
        if batch_outputs is not None:
            outputs.append(batch_outputs)
        if interrupt.is_set():
            break
        if time.perf_counter() >= redraw:
            drawn, redraw = _draw(bar, value, done, drawn), time.perf_counter() + _DRAW_EVERY
    _draw(bar, value, done, drawn)
    epoch_loss = total / seen if reduction == "mean" and seen else total
    record = Epoch(number, epoch_loss, {}, time.perf_counter() - start, done, seen == count)
    return record, order[:seen], outputs


def _draw(bar: Any, value: float, done: int, drawn: int) -> int:
    """Bring the bar from ``drawn`` to ``done`` steps with the latest batch loss; return ``done``."""
    if done > drawn:
        bar.set_postfix(loss=f"{value:.4g}", refresh=False)  # shown by update
        bar.update(done - drawn)
    return done


@contextmanager
def _synced(trainer: Any) -> Iterator[None]:
    """Whatever ends training (the last epoch, an error, Ctrl-C), the Values get the latest parameters."""
    try:
        yield
    finally:
        trainer.sync()


def _metrics(
    metrics: Mapping[str, Metric] | None, outputs: list[np.ndarray], targets: Any, seen: np.ndarray
) -> dict[str, float]:
    if not metrics:
        return {}
    ranked = np.argsort(seen, kind="stable")  # back to sample order
    out = np.concatenate(outputs)[ranked]
    wanted = np.asarray(targets)[seen[ranked]]
    return {name: float(metric(out, wanted)) for name, metric in metrics.items()}


# -- checking arguments ---------------------------------------------------------------


def _samples(inputs: Any, targets: Any, caller: str) -> tuple[np.ndarray, np.ndarray]:
    """Inputs as a (samples, features) float array, targets as an array with one entry per sample.

    A floating-point array is taken as it is, not copied: MNIST's float32
    images would take twice their memory as float64, and every float32 number
    is exactly a float64 one, so the steps (which read rows as Python floats
    or as the program's float64) compute the same numbers either way.
    """
    array = _float_array(inputs, caller)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or len(array) == 0:
        raise ValueError(
            f"{caller}: inputs must be shaped (samples, features) with at least one sample, got {array.shape}"
        )
    if not _all_finite(array):
        row = int(np.argwhere(~np.isfinite(array))[0][0])
        raise ValueError(f"{caller}: inputs must be finite numbers; sample {row} is {array[row].tolist()}")
    if targets is None:
        return array, np.empty(0)
    labels = np.asarray(targets)
    if labels.ndim == 0 or len(labels) != len(array):
        count = "one" if labels.ndim == 0 else len(labels)
        raise ValueError(f"fit: {len(array)} input samples but {count} targets: give one per sample")
    return array, labels


def _float_array(inputs: Any, caller: str) -> np.ndarray:
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind == "f" and inputs.dtype.itemsize <= 8:
        return inputs  # float16, 32 or 64 (a longer float would not become Python floats)
    try:
        return np.asarray(inputs, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{caller}: inputs must be numbers shaped (samples, features) ({error})") from None


def _all_finite(array: np.ndarray) -> bool:
    """True if every number is finite, without a boolean array the size of the data set."""
    # A sum is finite when every term is (inf or nan anywhere makes it inf or nan); only a sum that
    # overflows from finite terms needs the exact look, and that look goes a slice at a time.
    with np.errstate(over="ignore", invalid="ignore"):  # inf - inf is nan: refused all the same
        total = np.add.reduce(array, axis=None)
    if np.isfinite(total):
        return True
    return all(np.isfinite(part).all() for part in np.array_split(array, -(-array.size // 2**20)))


def _batch_size(batch_size: int | None, count: int) -> int:
    if batch_size is None:
        return count
    if not is_whole(batch_size, 1):
        raise ValueError(f"fit: batch_size must be >= 1, or None for the full batch; got {batch_size!r}")
    return min(int(batch_size), count)


def _check_optimizer(model: Any, optimizer: Any) -> None:
    """The optimizer must update this model's parameters, not another's (compiled mode refuses that too)."""
    if not (hasattr(model, "parameters") and hasattr(optimizer, "params")):
        return  # a plain function as the model, or an optimizer of the caller's own: nothing to compare
    own = {id(p) for p in model.parameters()}
    foreign = [p for p in optimizer.params if id(p) not in own]
    if foreign:
        label = foreign[0].label if isinstance(foreign[0], autodiff.Value) else None
        raise ValueError(f"fit: the optimizer holds {len(foreign)} of {len(optimizer.params)} "
                         f"parameters that are not this model's (the first: {label or 'unlabelled'}); "
                         "build it from this model, "
                         "e.g. nn.SGD(model, lr=...)")


def _checked_loss(loss: Loss) -> Loss:
    """``loss``, refusing a result that is not a Value: a plain number would train nothing."""
    if not callable(loss):
        raise TypeError(f"fit: loss must be a function (output, target) -> Value, got {type(loss).__name__}")

    def checked(output: Any, target: Any) -> autodiff.Value:
        result = loss(output, target)
        if not isinstance(result, autodiff.Value):
            name = getattr(loss, "__name__", type(loss).__name__)
            raise TypeError(f"fit: the loss {name} returned a {type(result).__name__}, not a Value: "
                            "it must compute with the model's output Values (e.g. nn.quadratic), "
                            "never take their .data")
        return result
    return checked


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"fit: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


# -- Ctrl-C and the progress bar ---------------------------------------------------------


@contextmanager
def _ctrl_c() -> Iterator[threading.Event]:
    """While training, the first Ctrl-C (or SIGTERM) asks to stop after the current step; a second stops now.

    Signal handlers can only be set from the main thread; elsewhere a Ctrl-C
    arrives as KeyboardInterrupt inside a step, which then is dropped.  A
    SIGTERM handler of the caller's own is left in place.
    """
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return
    handler = _stop_handler(requested)
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, handler)}
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, handler)
    try:
        yield requested
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _stop_handler(requested: threading.Event) -> Callable[[int, Any], None]:
    def handler(signum: int, frame: Any) -> None:
        if requested.is_set():
            if redelivered():
                return  # it came during an optimizer step, which was applied whole: stop right after it
            raise KeyboardInterrupt
        requested.set()
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(f"\nnn.fit: {name}: stopping after this step (Ctrl-C again to stop at once)", file=sys.stderr)
    return handler


def _note_interrupt(history: History) -> None:
    partial = bool(history.epochs) and not history.epochs[-1].complete
    print(
        f"nn.fit: interrupted; the model keeps every update made so far and the history has "
        f"{len(history)} epochs{' (the last one partial)' if partial else ''}.",
        file=sys.stderr,
    )


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def set_postfix(self, refresh: bool = True, **values: str) -> None:
        pass

    def set_description(self, text: str, refresh: bool = True) -> None:
        pass


@contextmanager
def _progress_bar(show: bool, steps: int, what: str = "training", unit: str = "step") -> Iterator[Any]:
    if not show:
        yield _NoBar()
        return
    from tqdm.auto import tqdm  # only when a bar is wanted: importing tqdm is not free

    with tqdm(total=steps, desc=what, unit=unit, file=sys.stderr, leave=True) as bar:
        yield bar
