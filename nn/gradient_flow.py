"""Gradient flow through an MLP's layers: the view behind Nielsen's chapter 5 (vanishing gradients).

For one batch, :func:`measure` runs the model forward layer by layer, takes
the cost's gradient with one ``backward()`` (the generic chain rule on Value
graphs) and reports, per layer l, the norms ||dC/db^l|| (Nielsen's ||delta^l||
summed over the batch, the speed at which layer l learns) and ||dC/dW^l||,
and the share of the layer's units that are saturated: their activation's
derivative is close to 0, so every gradient passing through them shrinks.

:class:`GradientFlow` records that every epoch when given to ``nn.fit`` as
``evaluate=``, measured on a fixed probe batch, and shows the records as a
table and a log-scale plot.

:func:`drill_down` goes from a layer's norm to one neuron: for one sample,
the gradient of every bias of the layer, and the chosen neuron's gradient as
the chain rule's sum over paths (:func:`autodiff.explain`), each path a chain
of one sigma' factor per layer (at most 0.25 for a sigmoid) and one weight
between layers: the product that shrinks towards the input.

>>> import numpy as np
>>> import nn
>>> model = nn.MLP(4, [8, 8, 8, 2], seed=0)
>>> rng = np.random.default_rng(0)
>>> inputs, labels = rng.standard_normal((20, 4)), rng.integers(0, 2, 20)
>>> flow = measure(model, inputs, np.eye(2)[labels], nn.quadratic)
>>> [layer.layer for layer in flow]
[0, 1, 2, 3]
>>> flow[0].bias_norm < flow[3].bias_norm      # earlier layers learn more slowly
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import autodiff
from autodiff.explaining import Explanation, Factor

from .module import MLP

#: A unit counts as saturated when its activation's derivative is below this share of its largest value
#: (sigmoid: a outside [0.0101, 0.9899]; tanh: |a| above 0.995); a ReLU unit when it is off (a = 0).
SATURATED = 0.04


@dataclass(frozen=True)
class LayerFlow:
    """One layer's gradient norms over a batch and its share of saturated units (None: linear, softmax)."""

    layer: int
    bias_norm: float
    weight_norm: float
    saturated: float | None


def measure(model: MLP, inputs: Any, targets: Any, loss: Callable[[Any, Any], autodiff.Value],
            reduction: str = "mean") -> list[LayerFlow]:
    """Per layer, ||dC/db||, ||dC/dW|| and the saturated share, for the cost of one batch.

    ``inputs`` shaped (samples, features), ``targets`` one per sample as
    ``loss(output, target)`` takes them; the batch's cost is the ``"mean"``
    (or ``"sum"``) of the per-sample losses.  The model's gradients are
    overwritten (its parameters are not changed).
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"measure: reduction must be 'mean' or 'sum', got {reduction!r}")
    rows = np.asarray(inputs, dtype=float)
    if rows.ndim != 2 or not len(rows):
        raise ValueError(f"measure: inputs must be shaped (samples, features), got {rows.shape}")
    if len(targets) != len(rows):
        raise ValueError(f"measure: {len(rows)} inputs but {len(targets)} targets")
    saturated = [0] * len(model.layers)
    losses = []
    for x, target in zip(rows.tolist(), _targets(targets)):
        values = [autodiff.Value(v) for v in x]
        for number, layer in enumerate(model.layers):
            values = layer(values)
            saturated[number] += sum(_is_saturated(layer.activation, v.data) for v in values)
        losses.append(loss(values[0] if len(values) == 1 else values, target))
    cost = autodiff.sum(losses)
    if reduction == "mean":
        cost = cost / len(losses)
    model.zero_grad()
    cost.backward()
    flows = []
    for number, layer in enumerate(model.layers):
        weights, biases = layer.get_gradients()
        bias_norm = math.nan if biases is None else float(np.linalg.norm(biases))
        share = saturated[number] / (len(rows) * layer.nout) if _saturates(layer.activation) else None
        flows.append(LayerFlow(number, bias_norm, float(np.linalg.norm(weights)), share))
    return flows


class GradientFlow:
    """Gradient flow per epoch, measured on a fixed probe batch: pass it to ``nn.fit`` as ``evaluate=``.

    >>> import numpy as np
    >>> import nn
    >>> model = nn.MLP(2, [4, 1], seed=0)
    >>> inputs, targets = np.array([[0., 0], [0, 1], [1, 0], [1, 1]]), np.array([[0.], [1], [1], [0]])
    >>> flow = GradientFlow(inputs, targets, nn.quadratic)
    >>> history = nn.fit(model, inputs, targets, nn.quadratic, nn.SGD(model, lr=1.0), epochs=3,
    ...                  progress=False, evaluate=flow)
    >>> sorted(history[-1].metrics)
    ['bias_norm.0', 'bias_norm.1', 'saturated.0', 'saturated.1', 'weight_norm.0', 'weight_norm.1']
    >>> print(flow.table().splitlines()[0])
    epoch  layer     ||dC/db||     ||dC/dW||  saturated
    """

    def __init__(self, inputs: Any, targets: Any, loss: Callable[[Any, Any], autodiff.Value],
                 reduction: str = "mean") -> None:
        self.inputs, self.targets, self.loss, self.reduction = inputs, targets, loss, reduction
        self.records: list[tuple[int, list[LayerFlow]]] = []

    def __call__(self, model: MLP, epoch: int) -> dict[str, float]:
        """Measure after an epoch; the numbers join the epoch's metrics (``bias_norm.0`` ...)."""
        flows = measure(model, self.inputs, self.targets, self.loss, self.reduction)
        self.records.append((epoch, flows))
        metrics = {}
        for flow in flows:
            metrics[f"bias_norm.{flow.layer}"] = flow.bias_norm
            metrics[f"weight_norm.{flow.layer}"] = flow.weight_norm
            if flow.saturated is not None:
                metrics[f"saturated.{flow.layer}"] = flow.saturated
        model.zero_grad()  # the probe's gradients are not the training step's
        return metrics

    def table(self) -> str:
        """One line per epoch and layer."""
        lines = ["epoch  layer     ||dC/db||     ||dC/dW||  saturated"]
        for epoch, flows in self.records:
            for flow in flows:
                share = "-" if flow.saturated is None else f"{flow.saturated:8.1%}"
                lines.append(f"{epoch:5d}  {flow.layer:5d}  {flow.bias_norm:12.4e}  {flow.weight_norm:12.4e}"
                             f"  {share:>9}")
        return "\n".join(lines)

    def plot(self, path: str) -> str:
        """||dC/db|| of every layer per epoch, log scale, and the saturated shares; written to ``path``."""
        return plot(self.records, path)

    def drill_down(self, model: MLP, layer: int, sample: int = 0, neuron: int | None = None,
                   top: int = 3) -> DrillDown:
        """:func:`drill_down` on sample ``sample`` of the probe batch: from a row of the table to a neuron."""
        if not 0 <= sample < len(self.inputs):
            raise ValueError(f"drill_down: the probe batch has samples 0..{len(self.inputs) - 1}, "
                             f"got {sample!r}")
        return drill_down(model, np.asarray(self.inputs)[sample], np.asarray(self.targets)[sample], self.loss,
                          layer, neuron, top)


def plot(records: Sequence[tuple[int, list[LayerFlow]]], path: str) -> str:
    """Draw recorded flows (epoch, layers) to ``path`` with matplotlib (the ``plot`` extra, loaded here)."""
    from .plotting import pyplot, save  # noqa: PLC0415 - only a picture needs matplotlib

    if not records:
        raise ValueError("plot: no epochs recorded yet")
    plt = pyplot("nn.gradient_flow.plot")
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    epochs = [epoch for epoch, _ in records]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for number in range(len(records[0][1])):
        left.plot(epochs, [flows[number].bias_norm for _, flows in records], marker="o",
                  label=f"layer {number}")
        shares = [flows[number].saturated for _, flows in records]
        if shares[0] is not None:
            right.plot(epochs, [100 * s for s in shares], marker="o", label=f"layer {number}")
    for axes in (left, right):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    left.set(yscale="log", xlabel="epoch", ylabel="||dC/db|| (log scale)", title="gradient per layer")
    right.set(xlabel="epoch", ylabel="saturated units (%)", title="saturation")
    left.legend(fontsize="small")
    right.legend(fontsize="small")
    figure.tight_layout()
    return save(figure, path)


@dataclass(frozen=True)
class DrillDown:
    """One neuron's bias gradient for one sample, as a sum over paths; see :func:`drill_down`."""

    layer: int
    neuron: int
    bias_gradients: np.ndarray  # dC/db of every neuron of the layer, for the sample
    explanation: Explanation  # d(C)/d(b) of the neuron, as a sum over paths

    @property
    def chain(self) -> list[Factor]:
        """The activation-derivative factors (sigma', tanh', ...) along the largest path, input side first."""
        if not self.explanation.terms:
            return []
        largest = max(self.explanation.terms, key=lambda term: abs(term.product))
        return [factor for factor in largest.factors if "'(" in factor.name]

    def __str__(self) -> str:
        norm = float(np.linalg.norm(self.bias_gradients))
        largest = int(np.argmax(np.abs(self.bias_gradients)))
        count = len(self.bias_gradients)
        lines = [f"layer {self.layer}: ||dC/db|| = {norm:.6g} for this sample, over {count} "
                 f"neuron{'s' if count > 1 else ''}; the largest |dC/db| is neuron {largest}'s, "
                 f"{self.bias_gradients[largest]:.6g}",
                 f"neuron {self.neuron}: dC/db = {self.bias_gradients[self.neuron]:.6g}, the sum over the "
                 "paths from its bias to the cost:", str(self.explanation)]
        chain = self.chain
        if chain:
            product = math.prod(factor.value for factor in chain)
            line = (f"the largest path's {len(chain)} activation derivatives: "
                    + " × ".join(f"{factor.value:.4g}" for factor in chain) + f" = {product:.4g}")
            if all(factor.name.startswith("sigmoid'") for factor in chain):
                line += (f" (each sigmoid' is at most 0.25, so {len(chain)} of them at most "
                         f"{0.25 ** len(chain):.3g})")
            lines.append(line)
        return "\n".join(lines)


def drill_down(model: MLP, x: Sequence[float], target: Any, loss: Callable[[Any, Any], autodiff.Value],
               layer: int, neuron: int | None = None, top: int = 3) -> DrillDown:
    """From layer ``layer``'s gradient norm to one neuron's chain of activation derivatives, for one sample.

    ``x`` is one sample and ``target`` its target as ``loss(output, target)``
    takes it.  ``neuron`` defaults to the neuron of the layer whose bias
    gradient is largest in size.  Pre-activations and activations are
    labelled ``z[l][j]`` and ``a[l][j]`` so the explanation names them; the
    ``top`` paths with the largest products are listed (all of them when there
    are no more than ``top``).  The model's gradients are overwritten.
    """
    if not 0 <= layer < len(model.layers):
        raise ValueError(f"drill_down: layer must be 0..{len(model.layers) - 1} (the model has "
                         f"{len(model.layers)} layers), got {layer!r}")
    chosen = model.layers[layer]
    if not chosen.bias:
        raise ValueError(f"drill_down: layer {layer} has no biases; drill down from a layer that has them")
    values = [autodiff.Value(float(v)) for v in np.asarray(x, dtype=float).reshape(-1)]
    for number, part in enumerate(model.layers):
        values = part(values)
        _label(values, number, part.activation)
    cost = loss(values[0] if len(values) == 1 else values, _targets(np.asarray([target]))[0])
    cost.label = "C"
    model.zero_grad()
    cost.backward()
    _, biases = chosen.get_gradients()
    if neuron is None:
        neuron = int(np.argmax(np.abs(biases)))
    elif not 0 <= neuron < len(biases):
        raise ValueError(f"drill_down: layer {layer} has neurons 0..{len(biases) - 1}, got {neuron!r}")
    explanation = autodiff.explain(cost, chosen.neurons[neuron].b, max_paths=top, top=top)
    return DrillDown(layer, neuron, biases, explanation)


def _label(outputs: list[autodiff.Value], layer: int, activation: str) -> None:
    """Name a layer's pre-activations z[l][j] and activations a[l][j], for the explanation's text."""
    for j, a in enumerate(outputs):
        if activation in ("sigmoid", "tanh", "relu"):
            a.label = f"a[{layer}][{j}]"
            a.parents[0].label = f"z[{layer}][{j}]"
        elif activation == "linear":
            a.label = f"z[{layer}][{j}]"


def _saturates(activation: str) -> bool:
    return activation in ("sigmoid", "tanh", "relu")


def _is_saturated(activation: str, a: float) -> bool:
    if activation == "sigmoid":
        return a * (1.0 - a) < SATURATED * 0.25
    if activation == "tanh":
        return 1.0 - a * a < SATURATED
    if activation == "relu":
        return a <= 0.0
    return False


def _targets(targets: Any) -> list[Any]:
    """Targets as losses take them: rows as lists of numbers, class indices and numbers as they are."""
    array = np.asarray(targets)
    if array.ndim == 1:
        return [int(t) if array.dtype.kind in "iu" else float(t) for t in array]
    return array.astype(float).tolist()
