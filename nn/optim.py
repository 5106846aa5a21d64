"""Optimizers: SGD (with momentum) and Adam, updating parameter Values in place.

An optimizer holds the parameters it updates, its learning rate ``lr`` (an
attribute you may change between steps) and per-parameter buffers, shown by
``state`` keyed by parameter name (the Value's label) when every parameter has
a distinct label, as a module's parameters do, and by position otherwise.
:meth:`Optimizer.step` checks every gradient before it changes anything, so a
non-finite gradient leaves all parameters as they were.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autodiff import NonFiniteError, Value

from ._signals import deferred


class Optimizer:
    """What SGD and Adam share: the parameters, ``lr``, ``state``, ``zero_grad`` and checked steps.

    Each optimizer writes its rule once, in :meth:`_update`, with arithmetic
    that works on NumPy arrays: :meth:`step` applies it to all the parameter
    Values at once, and :meth:`update` to a plain vector of parameters (how
    compiled training keeps them between sync points).  Buffers such as
    momentum are arrays with one entry per parameter.
    """

    def __init__(self, params: Iterable[Value] | Any, lr: float) -> None:
        if hasattr(params, "parameters"):  # a Module
            params = params.parameters()
        self.params: list[Value] = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{type(self).__name__}: parameter {i} is a {type(p).__name__}, not a Value")
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got no parameters to optimize")
        labels = [p.label for p in self.params]
        named = None not in labels and len(set(labels)) == len(labels)
        self.keys: list[str | int] = labels if named else list(range(len(self.params)))
        self.lr = _positive(lr, "lr")
        self.buffers: dict[str, np.ndarray] = {}
        self.steps = 0

    @property
    def state(self) -> dict[str | int, dict[str, float]]:
        """Buffers by parameter key, e.g. ``state["w"]["momentum_buffer"]`` (empty before a step)."""
        if not self.steps:
            return {}
        return {
            key: {name: float(buffer[i]) for name, buffer in self.buffers.items()}
            for i, key in enumerate(self.keys)
        }

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to 0 (buffers in ``state`` are kept)."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter once from its current ``grad``.

        All new values are computed and checked first: a non-finite gradient or
        result raises NonFiniteError naming the parameter, and nothing changes.
        Ctrl-C or SIGTERM during the step waits until every parameter and buffer
        is updated: a step is applied whole or not at all.
        """
        count = len(self.params)
        theta = np.fromiter((p.data for p in self.params), dtype=float, count=count)
        grads = [p.grad for p in self.params]
        skipped = [i for i, g in enumerate(grads) if g is None]  # "no gradient yet": not stepped (PyTorch)
        grad = np.fromiter((0.0 if g is None else g for g in grads), dtype=float, count=count)
        old = self.buffers
        new = self.update(theta, grad)
        if skipped:  # a skipped parameter keeps its value and its buffers
            new[skipped] = theta[skipped]
            for name, buffer in self.buffers.items():
                if np.ndim(buffer):
                    buffer[skipped] = old[name][skipped] if name in old else 0.0
        with deferred():
            for p, value in zip(self.params, new.tolist()):
                p.data = value

    def update(self, theta: np.ndarray, grad: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """One step on vectors (ordered as :attr:`params`): the new parameter vector.

        Buffers and the step count change only if every gradient and every new
        value is finite; otherwise NonFiniteError names the first bad parameter.
        ``out`` (a float vector like theta, not sharing its memory) receives the
        new vector instead of a new array, which compiled training reuses; when
        the update is refused its contents are undefined and theta is intact.
        """
        new = self._new_vector(theta, out)
        buffers = dict(self.buffers)  # the rules assign new buffers, so the old ones stay as they were
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below, with a better message
            self._step_into(buffers, grad, self.steps + 1, new)
            np.subtract(self._decayed(theta), new, out=new)
        # One pass: a non-finite gradient makes the new value non-finite too (a false alarm from
        # a dot product that overflows only costs the two precise checks, which then pass).
        with np.errstate(over="ignore"):  # an overflowing dot is the alarm itself, not a warning
            alarm = not math.isfinite(np.dot(new, new))
        if alarm:
            self._check(grad, "gradient")
            self._check(new, "new value")
        self.buffers, self.steps = buffers, self.steps + 1
        return new

    def _new_vector(self, theta: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        if out is None:
            return np.empty(len(theta), dtype=float)
        if not (isinstance(out, np.ndarray) and out.shape == theta.shape and out.dtype == float):
            raise ValueError(f"{type(self).__name__}.update: out must be a float vector shaped like theta "
                             f"{theta.shape}, got {getattr(out, 'dtype', type(out).__name__)} "
                             f"{getattr(out, 'shape', '')}")
        if np.may_share_memory(out, theta):  # a refused update would have changed theta
            raise ValueError(f"{type(self).__name__}.update: out must not share memory with theta")
        return out

    def _decayed(self, theta: np.ndarray) -> np.ndarray:
        """The parameters the step's amount is subtracted from (SGD's weight decay shrinks them first)."""
        return theta

    def _step_into(self, buffers: dict[str, np.ndarray], grad: np.ndarray, t: int, out: np.ndarray) -> None:
        """Write the amount to subtract at step ``t`` into ``out`` (by default what :meth:`_update` gives)."""
        out[...] = self._update(buffers, grad, t)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The state a resumed run needs: the kind of optimizer, the step count and every buffer.

        Buffers are stored in the order of the parameters' keys, so the state
        does not depend on the order compiled mode puts the parameters in.
        """
        state = {"type": np.array(type(self).__name__), "steps": np.array(self.steps)}
        order = self._key_order()
        state.update({f"buffer.{name}": buffer[order] for name, buffer in self.buffers.items()})
        return state

    def prepare_state(self, state: dict[str, np.ndarray], source: str) -> Callable[[], None]:
        """Check ``state`` (from :meth:`state_dict`); return what puts it in place.

        Split in two so that a checkpoint can check the model's parameters too
        before anything changes.  Raises ValueError naming ``source`` if the
        state is of another kind of optimizer, of other parameters, or broken.
        """
        steps = self._saved_steps(state, source)
        buffers = self._saved_buffers(state, steps, source)
        order = self._key_order()

        def restore() -> None:
            self.buffers = {name: _unsorted(buffer, order) for name, buffer in buffers.items()}
            self.steps = steps
        return restore

    def _saved_steps(self, state: dict[str, np.ndarray], source: str) -> int:
        kind, steps = str(state.get("type", "")), state.get("steps", np.array(-1))
        if kind != type(self).__name__:
            raise ValueError(f"{source}: holds the state of a {kind or 'unknown'} optimizer, not of "
                             f"{type(self).__name__}: resume with the optimizer it was saved with")
        if steps.shape != () or steps.dtype.kind not in "iu" or steps < 0:
            raise ValueError(f"{source}: the optimizer's step count should be a whole number >= 0, "
                             f"got {steps}")
        return int(steps)

    def _saved_buffers(self, state: dict[str, np.ndarray], steps: int, source: str) -> dict[str, np.ndarray]:
        buffers = {key.removeprefix("buffer."): value for key, value in state.items()
                   if key.startswith("buffer.")}
        wanted = set(self._buffer_names()) if steps else set()
        if set(buffers) != wanted or not all(self._fits(buffer) for buffer in buffers.values()):
            raise ValueError(f"{source}: the optimizer's buffers ({', '.join(sorted(buffers)) or 'none'}) "
                             f"do not fit {self!r}, which keeps {', '.join(sorted(wanted)) or 'none'} for "
                             f"{len(self.params)} parameters")
        return buffers

    def _fits(self, buffer: np.ndarray) -> bool:
        return buffer.shape == (len(self.params),) and bool(np.all(np.isfinite(buffer)))

    def _key_order(self) -> np.ndarray:
        # Keys are all labels or all positions (and distinct), so they sort into one certain order.
        return np.array(sorted(range(len(self.keys)), key=lambda i: self.keys[i]), dtype=np.intp)

    def _buffer_names(self) -> tuple[str, ...]:
        """The buffers this optimizer keeps once it has stepped."""
        return ()

    def reorder(self, params: list[Value]) -> None:
        """Take ``params`` (the same Values in another order) as the order of vectors and buffers."""
        position = {id(p): i for i, p in enumerate(self.params)}
        if len(params) != len(self.params) or {id(p) for p in params} != set(position):
            raise ValueError(
                f"{type(self).__name__}: the new order must hold exactly its {len(self.params)} parameters"
            )
        index = np.array([position[id(p)] for p in params], dtype=np.intp)
        self.params = list(params)
        self.keys = [self.keys[i] for i in index]
        self.buffers = {name: buffer[index] for name, buffer in self.buffers.items()}

    def _update(self, buffers: dict[str, np.ndarray], grad: np.ndarray, t: int) -> np.ndarray:
        """The amount to subtract from the parameters at step ``t``.

        Assign new arrays to ``buffers`` (never change one in place: a step
        that fails its check keeps the old ones).  ``grad`` is only valid
        during the call: compiled training reuses its memory.
        """
        raise NotImplementedError(f"{type(self).__name__} must define _update(buffers, grad, t)")

    def _check(self, values: np.ndarray, what: str) -> None:
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            i = int(bad[0])
            name, number = self.keys[i], float(values[i])
            raise NonFiniteError(
                f"{type(self).__name__}.step: the {what} of parameter {name!r} is {number!r}; "
                "nothing was updated"
            )


class SGD(Optimizer):
    """Stochastic gradient descent: p -= lr * v with v = momentum * v + grad (v = grad without momentum).

    ``weight_decay`` is L2 regularisation in the form of Nielsen's chapter 3:
    each step first shrinks every weight, w -> (1 - lr * weight_decay) w, then
    subtracts lr times the gradient; biases are left alone unless
    ``decay_biases``.  Nielsen's ``lmbda`` over a training set of n samples is
    ``weight_decay=lmbda / n`` with the mean loss over each mini-batch.  The
    recorded loss is the data loss alone, without the 1/2 (lmbda/n) sum w^2 term.

    The tutorials' conventions come from how the batch loss is reduced, not
    from the optimizer.  Nielsen's "Neural Networks and Deep Learning" takes
    w -= eta/len(batch) * (sum of per-sample gradients): that is SGD on the
    *mean* of the per-sample losses.  Alex Punnen's XOR chapter descends the
    *sum* over its full batch with lr 1.

    >>> import autodiff
    >>> from nn import MLP, SGD, quadratic
    >>> model = MLP(2, [1], seed=0)
    >>> batch = [([0.0, 1.0], [1.0]), ([1.0, 0.0], [0.0])]
    >>> w = model.parameters()[0]
    >>> sums = []
    >>> for x, y in batch:                    # per-sample gradients, summed by hand
    ...     model.zero_grad()
    ...     quadratic(model(x), y).backward()
    ...     sums.append(w.grad)
    >>> expected = w.data - 3.0 / len(batch) * sum(sums)      # Nielsen's update, eta = 3
    >>> optimizer = SGD(model.parameters(), lr=3.0)
    >>> optimizer.zero_grad()
    >>> loss = autodiff.sum([quadratic(model(x), y) for x, y in batch]) / len(batch)   # the mean
    >>> loss.backward()
    >>> optimizer.step()
    >>> abs(w.data - expected) < 1e-12
    True
    """

    def __init__(self, params: Iterable[Value] | Any, lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, decay_biases: bool = False) -> None:
        super().__init__(params, lr)
        self.momentum = _fraction(momentum, "momentum")
        self.weight_decay = _non_negative(weight_decay, "weight_decay")
        self.decay_biases = bool(decay_biases)
        self._decay_mask = self._mask()

    def _mask(self) -> np.ndarray:
        """Which parameters decay: all but biases (labelled ``b`` or ``... .b``)."""
        return np.array([self.decay_biases or not _is_bias(p) for p in self.params], dtype=bool)

    def _decayed(self, theta: np.ndarray) -> np.ndarray:
        if not self.weight_decay:
            return theta
        # Nielsen's order: (1 - eta * lambda/n) * w, then minus eta times the mean gradient.
        return theta * np.where(self._decay_mask, 1.0 - self.lr * self.weight_decay, 1.0)

    def reorder(self, params: list[Value]) -> None:
        """As :meth:`Optimizer.reorder`; which parameters decay follows them."""
        super().reorder(params)
        self._decay_mask = self._mask()

    def _step_into(self, buffers: dict[str, np.ndarray], grad: np.ndarray, t: int, out: np.ndarray) -> None:
        if self.momentum == 0.0:  # no temporary vector: a compiled epoch takes thousands of these steps
            np.multiply(grad, self.lr, out=out)
        else:
            super()._step_into(buffers, grad, t, out)

    def _update(self, buffers: dict[str, np.ndarray], grad: np.ndarray, t: int) -> np.ndarray:
        if self.momentum == 0.0:
            return self.lr * grad
        buffers["momentum_buffer"] = self.momentum * buffers.get("momentum_buffer", 0.0) + grad
        return self.lr * buffers["momentum_buffer"]

    def _buffer_names(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum else ()

    def __repr__(self) -> str:
        decay = f", weight_decay={self.weight_decay}" if self.weight_decay else ""
        return f"SGD({len(self.params)} parameters, lr={self.lr}, momentum={self.momentum}{decay})"


class Adam(Optimizer):
    """Adam (Kingma and Ba): moving averages m, v of the gradient and its square, bias-corrected.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g**2;
    p -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps), with t the step count.

    >>> from autodiff import Value
    >>> p = Value(1.0, label="p")
    >>> opt = Adam([p], lr=0.1)
    >>> p.grad = 4.0
    >>> opt.step()                 # the first step moves by about lr, whatever the gradient's size
    >>> round(p.data, 6), sorted(opt.state["p"])
    (0.9, ['m', 'v'])
    """

    def __init__(self, params: Iterable[Value] | Any, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        self.betas = (_fraction(betas[0], "betas[0]"), _fraction(betas[1], "betas[1]"))
        self.eps = _positive(eps, "eps")

    def _update(self, buffers: dict[str, np.ndarray], grad: np.ndarray, t: int) -> np.ndarray:
        b1, b2 = self.betas
        buffers["m"] = b1 * buffers.get("m", 0.0) + (1.0 - b1) * grad
        buffers["v"] = b2 * buffers.get("v", 0.0) + (1.0 - b2) * grad * grad
        m_hat = buffers["m"] / (1.0 - b1**t)
        v_hat = buffers["v"] / (1.0 - b2**t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def _buffer_names(self) -> tuple[str, ...]:
        return ("m", "v")

    def __repr__(self) -> str:
        return f"Adam({len(self.params)} parameters, lr={self.lr}, betas={self.betas}, eps={self.eps})"


def _is_bias(p: Value) -> bool:
    """A bias by its label: ``b``, or a dotted name ending in ``.b`` (``layers.0.neurons.3.b``)."""
    return p.label is not None and (p.label == "b" or p.label.endswith(".b"))


def _non_negative(x: Any, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not 0.0 <= float(x) < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    return float(x)


def _unsorted(buffer: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The buffer back in parameter order, from the key order :meth:`Optimizer.state_dict` stores."""
    result = np.empty(len(order), dtype=float)
    result[order] = buffer
    return result


def _positive(x: Any, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {x!r}")
    return float(x)


def _fraction(x: Any, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not 0.0 <= x < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {x!r}")
    return float(x)
