"""Losses, softmax and accuracy, built from the engine's primitives.

Every loss here is a function of one sample: it takes the model's outputs (a
list of Values, as a :class:`~nn.Layer` returns, or one Value, as a one-output
MLP returns) and the target, and returns one scalar Value.  A batch loss is the sum or the mean of these (see
:class:`nn.optim.SGD` for how that choice gives the conventions of the
tutorials whose networks the examples train).  Nothing here is a new primitive: softmax, log-sum-exp and the
cross-entropies are compositions of ``exp``, ``log``, ``sum`` and arithmetic,
made numerically stable by shifting with constants (which leaves the
derivatives unchanged).

>>> from autodiff import Value
>>> logits = [Value(1000.0), Value(-1000.0), Value(0.0)]
>>> loss = cross_entropy(logits, 1)          # finite even at +-1000
>>> loss.data
2000.0
>>> loss.backward()
>>> [round(z.grad, 6) for z in logits]        # softmax(z) - onehot(1)
[1.0, -1.0, 0.0]
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

import autodiff
from autodiff import DomainError, Value

#: Targets of a classification loss: a class index, or one value per class
#: (one-hot or a probability vector).
Target = int | Sequence[float] | np.ndarray


# -- regression ---------------------------------------------------------------


def quadratic(outputs: Any, targets: Any) -> Value:
    """Quadratic cost of one sample: C = 1/2 * sum_j (y_j - a_j)**2.

    Its gradient by each output is a_j - y_j, the ``cost_derivative`` of
    Nielsen's "Neural Networks and Deep Learning"; summed over samples it is
    the cost of Alex Punnen's XOR chapter.

    >>> from autodiff import Value
    >>> a = [Value(0.8), Value(0.2)]
    >>> c = quadratic(a, [1.0, 0.0])
    >>> round(c.data, 12)
    0.04
    >>> c.backward()
    >>> [round(v.grad, 12) for v in a]
    [-0.2, 0.2]
    """
    a, y = _pair(outputs, targets, "quadratic")
    return 0.5 * autodiff.sum([(aj - yj) ** 2 for aj, yj in zip(a, y)])


def mse(outputs: Any, targets: Any) -> Value:
    """Mean squared error of one sample: mean_j (y_j - a_j)**2.

    >>> from autodiff import Value
    >>> mse([Value(3.0), Value(0.0)], [1.0, 0.0]).data
    2.0
    """
    a, y = _pair(outputs, targets, "mse")
    return autodiff.sum([(aj - yj) ** 2 for aj, yj in zip(a, y)]) / len(a)


# -- softmax and classification -------------------------------------------------


def softmax(values: Any) -> list[Value]:
    """exp(z_i) / sum_j exp(z_j), computed as exp(z_i - max z) / sum_j exp(z_j - max z).

    The shift by the largest value (a constant: softmax does not change when
    all inputs move together) keeps every exp at most 1, so +-1000 is fine.

    >>> from autodiff import Value
    >>> [round(p.data, 4) for p in softmax([Value(1000.0), Value(1000.0), Value(-1000.0)])]
    [0.5, 0.5, 0.0]
    """
    shifted = _shifted(values, "softmax")
    exps = [s.exp() for s in shifted]
    inverse = autodiff.sum(exps) ** -1  # one reciprocal shared by every output
    return [e * inverse for e in exps]


def log_softmax(values: Any) -> list[Value]:
    """log softmax(z)_i = z_i - logsumexp(z), stable for large and small z.

    >>> from autodiff import Value
    >>> [round(v.data, 6) for v in log_softmax([Value(1000.0), Value(-1000.0)])]
    [0.0, -2000.0]
    """
    shifted = _shifted(values, "log_softmax")
    lse = _shifted_logsumexp(shifted)
    return [s - lse for s in shifted]


def cross_entropy(logits: Any, target: Target) -> Value:
    """Cross-entropy -sum_i t_i log softmax(z)_i of one sample, from logits.

    ``target`` is a class index or one value per class (one-hot or soft).
    Working from logits through log-sum-exp keeps the loss and its gradient
    (softmax(z) - t) finite for any logits; prefer it to ``nll(softmax(z))``.

    >>> from autodiff import Value
    >>> z = [Value(2.0), Value(0.0)]
    >>> round(cross_entropy(z, 0).data, 6), round(cross_entropy(z, [0.0, 1.0]).data, 6)
    (0.126928, 2.126928)
    """
    shifted = _shifted(logits, "cross_entropy")
    weights = _class_weights(target, len(shifted), "cross_entropy")
    lse = _shifted_logsumexp(shifted)
    single = _single_class(weights)
    if single is not None:
        return lse - shifted[single]
    return -autodiff.sum([w * (shifted[i] - lse) for i, w in weights])


def nll(probabilities: Any, target: Target) -> Value:
    """Negative log-likelihood -sum_i t_i log p_i of one sample, for outputs that are already probabilities.

    This is the negative of the Gaussian-clouds softmax tutorial's cost
    sum(T log Y) for one sample.  A
    probability of exactly 0 for the target class gives an infinite loss: the
    error says so and points to :func:`cross_entropy`.

    >>> from autodiff import Value
    >>> round(nll([Value(0.25), Value(0.75)], 1).data, 6)
    0.287682
    """
    p = _vector(probabilities, "nll")
    weights = _class_weights(target, len(p), "nll")
    for i, _ in weights:
        if p[i].data <= 0.0:
            raise DomainError(
                f"nll: the probability of class {i} is {p[i].data!r}, so its log is undefined "
                "(the loss would be infinite); compute the loss from logits with cross_entropy"
            )
    single = _single_class(weights)
    if single is not None:
        return -p[single].log()
    return -autodiff.sum([w * p[i].log() for i, w in weights])


def binary_cross_entropy(p: Any, target: float) -> Value:
    """-(t log p + (1 - t) log(1 - p)) for one probability ``p`` and a target t in [0, 1].

    A term whose weight is 0 is left out, so p = 0 with t = 0 (or p = 1 with
    t = 1) is an exact zero loss rather than 0 * log 0.  When the loss would be
    infinite a DomainError says so; with logits use
    :func:`binary_cross_entropy_with_logits`, which never overflows.

    >>> from autodiff import Value
    >>> round(binary_cross_entropy(Value(0.9), 1.0).data, 6)
    0.105361
    """
    p = _scalar(p, "binary_cross_entropy")
    t = _probability(target, "binary_cross_entropy")
    if not 0.0 <= p.data <= 1.0:
        raise DomainError(f"binary_cross_entropy: p = {p.data!r} is not a probability in [0, 1]; "
                          "for a logit use binary_cross_entropy_with_logits")
    terms = []
    for weight, prob, what in ((t, p, "p"), (1.0 - t, 1.0 - p, "1 - p")):
        if weight == 0.0:
            continue
        if prob.data <= 0.0:
            raise DomainError(
                f"binary_cross_entropy: {what} = {prob.data!r} with target {t!r}, so the loss is infinite; "
                "use binary_cross_entropy_with_logits on the logit instead"
            )
        terms.append(weight * prob.log())
    return -autodiff.sum(terms)


def binary_cross_entropy_with_logits(logit: Any, target: float) -> Value:
    """Binary cross-entropy of sigmoid(z), from the logit z: t softplus(-z) + (1 - t) softplus(z).

    Finite with a finite gradient (sigmoid(z) - t) for any z, +-1000 included.

    >>> from autodiff import Value
    >>> z = Value(-1000.0)
    >>> loss = binary_cross_entropy_with_logits(z, 1.0)
    >>> loss.backward()
    >>> loss.data, z.grad
    (1000.0, -1.0)
    """
    z = _scalar(logit, "binary_cross_entropy_with_logits")
    t = _probability(target, "binary_cross_entropy_with_logits")
    terms = []
    if t != 0.0:
        terms.append(t * _softplus(-z))
    if t != 1.0:
        terms.append((1.0 - t) * _softplus(z))
    return autodiff.sum(terms)


def sigmoid_cross_entropy(outputs: Any, target: Any) -> Value:
    """Nielsen's cross-entropy of sigmoid outputs: -sum_j (y_j log a_j + (1 - y_j) log(1 - a_j)).

    ``outputs`` are the sigmoid activations a_j of the last layer; ``target``
    is a class index (one-hot y) or one value y_j in [0, 1] per output.  Its
    gradient by the output layer's input z_j is a_j - y_j, chapter 3's delta:
    no sigmoid' factor to slow learning.  Every term is written for every
    output, so the graph is the same for every sample (compiled mode needs
    that); once a sigmoid rounds to exactly 1 or 0 (|z| above about 37, common
    with large initial weights) the log of 0 raises a DomainError: use
    :func:`sigmoid_cross_entropy_with_logits` on a linear output layer, the
    same cost computed without rounding the sigmoid.

    >>> from autodiff import Value
    >>> z = [Value(0.0), Value(2.0)]
    >>> a = [zj.sigmoid() for zj in z]
    >>> c = sigmoid_cross_entropy(a, 1)
    >>> round(c.data, 6)
    0.820075
    >>> c.backward()
    >>> [round(zj.grad, 6) for zj in z]     # a - y
    [0.5, -0.119203]
    """
    a, y = _pair(outputs, _one_hot_or_row(target, len(_vector(outputs, "sigmoid_cross_entropy")),
                                          "sigmoid_cross_entropy"), "sigmoid_cross_entropy")
    return -autodiff.sum([yj * aj.log() + (1.0 - yj) * (1.0 - aj).log() for aj, yj in zip(a, y)])


def sigmoid_cross_entropy_with_logits(logits: Any, target: Any) -> Value:
    """:func:`sigmoid_cross_entropy` from the logits z_j of a linear output layer, never overflowing.

    The sum over outputs of :func:`binary_cross_entropy_with_logits`:
    sum_j (y_j softplus(-z_j) + (1 - y_j) softplus(z_j)), with the gradient
    sigmoid(z_j) - y_j for any z.  Predictions are sigmoid(z), and the most
    active output is the same as the largest logit.

    >>> from autodiff import Value
    >>> round(sigmoid_cross_entropy_with_logits([Value(0.0), Value(2.0)], 1).data, 6)
    0.820075
    >>> z = [Value(-40.0), Value(40.0)]      # sigmoid(40) rounds to 1: the other form would raise
    >>> round(sigmoid_cross_entropy_with_logits(z, 0).data, 6)
    80.0
    """
    name = "sigmoid_cross_entropy_with_logits"
    z, y = _pair(logits, _one_hot_or_row(target, len(_vector(logits, name)), name), name)
    return autodiff.sum([yj * _softplus(-zj) + (1.0 - yj) * _softplus(zj) for zj, yj in zip(z, y)])


def _one_hot_or_row(target: Any, classes: int, name: str) -> Any:
    """A class index as a one-hot row of numbers; a row (numbers or Values) as it is, its numbers checked."""
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not 0 <= target < classes:
            raise ValueError(f"{name}: class index {target} is out of range for {classes} outputs")
        return [1.0 if j == target else 0.0 for j in range(classes)]
    row = [target] if isinstance(target, (Value, numbers.Real)) else list(target)
    return [t if isinstance(t, Value) else _probability(t, name) for t in row]


def accuracy(predictions: Iterable[Any], labels: Iterable[Any]) -> float:
    """Share of samples whose most active output is the label (ties go to the first).

    ``predictions`` holds one row of outputs per sample (lists of Values,
    floats, or a 2-D array); ``labels`` holds class indices or one-hot rows.
    A row with a single output is a probability: class 1 when above 0.5.

    >>> accuracy([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], [1, 0, 0])
    0.6666666666666666
    """
    score = _array_accuracy(predictions, labels)
    if score is not None:
        return score
    rows = [_row(p) for p in predictions]
    targets = [_label(y) for y in labels]
    if len(rows) != len(targets):
        raise ValueError(f"accuracy: {len(rows)} predictions but {len(targets)} labels")
    if not rows:
        raise ValueError("accuracy: no predictions to score")
    guesses = [int(r[0] > 0.5) if len(r) == 1 else int(np.argmax(r)) for r in rows]
    return sum(g == y for g, y in zip(guesses, targets)) / len(rows)


# -- helpers ------------------------------------------------------------------


def _array_accuracy(predictions: Any, labels: Any) -> float | None:
    """:func:`accuracy` of arrays in one NumPy pass (a test set row by row took a tenth of a second).

    None for anything else (lists, Values, labels that are not class indices
    or rows): the general path scores those and names what is wrong.
    """
    if not (isinstance(predictions, np.ndarray) and isinstance(labels, np.ndarray)):
        return None
    if predictions.dtype.kind not in "fiu" or predictions.ndim not in (1, 2) or 0 in predictions.shape:
        return None
    if labels.dtype.kind in "iu" and labels.ndim == 1:
        targets = labels
    elif labels.dtype.kind in "fiu" and labels.ndim == 2:
        targets = np.argmax(labels, axis=1)  # one-hot rows, ties to the first as in _label
    else:
        return None
    if len(targets) != len(predictions):
        return None
    if predictions.ndim == 1 or predictions.shape[1] == 1:  # a probability per sample
        guesses = (predictions.reshape(len(predictions)) > 0.5).astype(int)
    else:
        guesses = np.argmax(predictions, axis=1)  # ties go to the first, as np.argmax of each row
    return int(np.count_nonzero(guesses == targets)) / len(targets)


def _softplus(u: Value) -> Value:
    # log(1 + e**u) overflows for large u; relu(u) + log(1 + e**-|u|) is the
    # same function and never does.  No branch on u's number, so the graph is
    # the same for every input and compiled mode can replay it.  At u = 0 both
    # kinks take the left side (relu' = 0, |u|' = -1: the tie goes to -u), so
    # the derivative there is the true one, 1/2.
    magnitude = (-u).maximum(u)
    return u.relu() + (1.0 + (-magnitude).exp()).log()


def _shifted(values: Any, name: str) -> list[Value]:
    # Shifting by the largest value changes neither softmax nor its gradient,
    # and keeps every exp in range.  The shift is a recorded max, not a number
    # read off the data, so the graph has the same shape for every sample.
    z = _vector(values, name)
    top = functools.reduce(Value.maximum, z)
    return [v - top for v in z]


def _shifted_logsumexp(shifted: list[Value]) -> Value:
    # The largest shifted value is 0, so the sum is at least 1: the log is safe.
    return autodiff.sum([s.exp() for s in shifted]).log()


def _vector(values: Any, name: str) -> list[Value]:
    if isinstance(values, Value) or isinstance(values, numbers.Real):
        values = [values]
    z = [v if isinstance(v, Value) else Value(_real(v, name)) for v in values]
    if not z:
        raise ValueError(f"{name}: got no values")
    return z


def _scalar(value: Any, name: str) -> Value:
    z = _vector(value, name)
    if len(z) != 1:
        raise ValueError(f"{name}: expected one value, got {len(z)}")
    return z[0]


def _pair(outputs: Any, targets: Any, name: str) -> tuple[list[Value], list[Any]]:
    a = _vector(outputs, name)
    y = [targets] if isinstance(targets, (Value, numbers.Real)) else list(targets)
    if len(a) != len(y):
        raise ValueError(f"{name}: {len(a)} outputs but {len(y)} targets")
    return a, [t if isinstance(t, Value) else _real(t, name) for t in y]


def _real(x: Any, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name}: expected a number or a Value, got {type(x).__name__} ({x!r:.60})")
    number = float(x)
    if not math.isfinite(number):
        raise ValueError(f"{name}: got the non-finite number {number!r}")
    return number


def _probability(target: Any, name: str) -> float:
    t = _real(target, name)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"{name}: the target must lie in [0, 1], got {t!r}")
    return t


def _class_weights(target: Any, classes: int, name: str) -> list[tuple[int, Any]]:
    """(class, weight) pairs with nonzero weight: [(i, 1.0)] for a class index."""
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not 0 <= target < classes:
            raise ValueError(f"{name}: class index {target} is out of range for {classes} outputs")
        return [(int(target), 1.0)]
    if isinstance(target, (bool, numbers.Real, Value)):
        raise TypeError(f"{name}: the target must be a class index or one value per class, not {target!r}")
    weights = list(target)
    if len(weights) != classes:
        raise ValueError(f"{name}: the target has {len(weights)} entries but there are {classes} outputs")
    if any(isinstance(w, Value) for w in weights):
        # Recorded targets (compiled mode's placeholders): every class stays in
        # the graph, since which weights are zero is known only per sample.
        return list(enumerate(weights))
    weights = [_real(t, name) for t in weights]
    pairs = [(i, w) for i, w in enumerate(weights) if w != 0.0]
    if not pairs:
        raise ValueError(f"{name}: the target is all zeros; it needs weight on at least one class")
    return pairs


def _single_class(weights: list[tuple[int, Any]]) -> int | None:
    """The class of a target that puts weight 1 on one class (a class index or one-hot row), else None."""
    # Then the loss is one term, without multiplying by the weight 1: a smaller graph.
    if len(weights) == 1 and not isinstance(weights[0][1], Value) and weights[0][1] == 1.0:
        return weights[0][0]
    return None


def _row(prediction: Any) -> list[float]:
    if isinstance(prediction, (Value, numbers.Real)):
        prediction = [prediction]
    return [v.data if isinstance(v, Value) else float(v) for v in prediction]


def _label(label: Any) -> int:
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        return int(label)
    if isinstance(label, (bool, numbers.Real)):
        raise TypeError(f"accuracy: a label must be a class index or a one-hot row, got {label!r}")
    return int(np.argmax([v.data if isinstance(v, Value) else float(v) for v in label]))
