"""How training steps and predictions run: through scalar Values, or compiled.

Both modes compute the same chain rule from the same primitive table.

- ``"scalar"`` builds one Value graph per batch, calls ``backward()`` and then
  ``optimizer.step()``.  Every node exists and can be inspected or drawn.
- ``"compiled"`` traces the per-sample loss once (:func:`autodiff.compile`)
  and replays it over each batch with NumPy.  The parameters then live in a
  vector that the optimizer's array rule (:meth:`nn.Optimizer.update`) updates;
  the Values get the vector back at the sync points: the end of each epoch,
  and when training stops for any reason.

Targets in compiled mode are placeholders too, so they must be numbers: class
indices are turned into one-hot rows (``cross_entropy`` and the other losses
accept those), a number stays a number, a row stays a row.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

import autodiff
from autodiff.compiled import Program, TraceError, compile_composed
from autodiff.graph import collector_paused

#: The modes :func:`nn.fit` and :func:`nn.predict` accept.
MODES = ("scalar", "compiled")


def check_mode(mode: str, caller: str) -> None:
    """Raise a ValueError naming ``caller`` and listing :data:`MODES` unless ``mode`` is one of them."""
    if mode not in MODES:
        raise ValueError(f"{caller}: mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")


def numbers(output: Any) -> Any:
    """A model output as plain numbers: a float for one Value, a list of floats otherwise."""
    if isinstance(output, autodiff.Value):
        return output.data
    return [value.data if isinstance(value, autodiff.Value) else float(value) for value in output]


def scalar_batch(
    model: Callable[[Any], Any],
    inputs: Sequence[Sequence[float]],
    targets: Sequence[Any],
    loss: Callable[[Any, Any], autodiff.Value],
    reduction: str,
) -> tuple[float, list[Any]]:
    """Loss and gradients of one batch through scalar Values.

    Builds one graph for the whole batch (the per-sample losses joined by one
    n-ary sum), runs backward on it, and so adds the gradient of the batch loss
    to every parameter's ``grad``.  Returns the batch loss and each sample's
    output as plain numbers.
    """
    outputs = [model(x) for x in inputs]
    total = autodiff.sum([loss(output, target) for output, target in zip(outputs, targets)])
    if reduction == "mean":
        total = total / len(outputs)
    total.backward()
    return total.data, [numbers(output) for output in outputs]


class ScalarTrainer:
    """Takes the training steps of one fit through Value graphs: ``backward()``, then ``optimizer.step()``."""

    mode = "scalar"

    def __init__(self, model: Any, inputs: np.ndarray, targets: np.ndarray, loss: Any, optimizer: Any,
                 reduction: str, need_outputs: bool) -> None:
        self.model, self.inputs, self.targets = model, inputs, targets
        self.loss, self.optimizer, self.reduction = loss, optimizer, reduction
        self.need_outputs = need_outputs

    def step(self, chosen: np.ndarray) -> tuple[float, np.ndarray | None]:
        """One optimizer step on the samples ``chosen`` (indices): the batch loss and (if wanted) outputs."""
        self.optimizer.zero_grad()
        # Python floats and lists: Value arithmetic is fastest on them, and losses expect them.
        rows, targets = self.inputs[chosen].tolist(), self.targets[chosen].tolist()
        with collector_paused():
            value, outputs = scalar_batch(self.model, rows, targets, self.loss, self.reduction)
        self.optimizer.step()
        return value, np.asarray(outputs, dtype=float) if self.need_outputs else None

    def sync(self) -> None:
        """Nothing to do: the Values are always current."""


class CompiledTrainer:
    """Takes the training steps of one fit through one compiled program, parameters in a vector."""

    mode = "compiled"

    def __init__(self, model: Any, inputs: np.ndarray, targets: np.ndarray, loss: Any, optimizer: Any,
                 reduction: str, need_outputs: bool) -> None:
        self.inputs = inputs
        self.targets, scalar_target = _target_array(model, inputs[0].tolist(), targets)
        self.optimizer, self.reduction = optimizer, reduction

        def sample_loss(output: Any, t: list[autodiff.Value]) -> autodiff.Value:
            return loss(output, t[0] if scalar_target else t)

        sample_loss.__name__ = "sample_loss"
        examples = (self.inputs[:4], self.targets[:4])
        # One trace gives both programs: the loss, and the model's forward pass (for metrics and
        # for predict after training, cached per model).
        self.program, forward = _compile_composed(sample_loss, model, examples, optimizer.params)
        _forwards[model] = forward
        optimizer.reorder(self.program.params)  # optimizer vectors in the program's order
        self.outputs = forward if need_outputs else None
        if self.outputs is not None:
            position = {id(p): i for i, p in enumerate(self.program.params)}
            self.output_index = np.array([position[id(p)] for p in self.outputs.params], dtype=np.intp)
        # The data sets are checked here once; each step then passes only the chosen rows.
        self.batches = self.program.batches(self.inputs, self.targets, reduction=reduction)
        self.theta = self.program.read_params()
        # Reused every step, so a step allocates no parameter-sized vector: the optimizer reads the
        # gradient during update only, and writes the new parameters into the spare, which then
        # becomes theta (the old theta the next spare).  A refused update leaves theta as it was.
        self.grad = np.empty_like(self.theta)
        self.spare = np.empty_like(self.theta)

    def step(self, chosen: np.ndarray) -> tuple[float, np.ndarray | None]:
        """One optimizer step on the samples ``chosen`` (indices): the batch loss and (if wanted) outputs."""
        outputs = None
        if self.outputs is not None:
            outputs = self.outputs.forward(self.inputs[chosen], params=self.theta[self.output_index])
        value, grad = self.batches.value_and_grad(chosen, self.theta, out=self.grad)
        new = self.optimizer.update(self.theta, grad, out=self.spare)
        self.theta, self.spare = new, self.theta  # no call in between: no signal handler runs mid-swap
        return value, outputs

    def sync(self) -> None:
        """Give the parameter Values the vector's numbers."""
        self.program.write_params(self.theta)


TRAINERS = {"scalar": ScalarTrainer, "compiled": CompiledTrainer}


# -- compiled forward passes, cached per model ------------------------------------------

_forwards: weakref.WeakKeyDictionary[Any, Program] = weakref.WeakKeyDictionary()


def compiled_forward(model: Any, example: np.ndarray) -> Program:
    """The model's forward pass compiled (once per model: later calls reuse it).

    The program reads the parameters' ``.data`` each time it runs, so training
    between calls is seen.  Compiled training leaves the program it derived
    from the loss's trace here.
    """
    program = _forwards.get(model)
    if program is None or program.input_sizes != [example.shape[1]]:
        parameters = model.parameters() if hasattr(model, "parameters") else []
        program = _compile(lambda x: model(x), example, parameters, "the model")
        _forwards[model] = program
    return program


def _compile(fn: Callable[..., Any], examples: Any, params: Sequence[autodiff.Value], what: str) -> Program:
    with _refused(what):
        return autodiff.compile(fn, examples, params)


def _compile_composed(loss: Callable[..., Any], model: Any, examples: Any,
                      params: Sequence[autodiff.Value]) -> tuple[Program, Program]:
    with _refused("the loss"):
        return compile_composed(loss, model, examples, params)


@contextmanager
def _refused(what: str) -> Iterator[None]:
    """A TraceError says what could not be traced, and what to do instead."""
    try:
        yield
    except TraceError as error:
        raise TraceError(f"compiled mode cannot trace {what}: {str(error).rstrip('.')}. "
                         "Use mode='scalar' for it.") from None


def _target_array(model: Any, first_row: list[float], labels: np.ndarray) -> tuple[np.ndarray, bool]:
    """Targets as a (samples, k) array for the traced loss; True if each target is one number."""
    if labels.ndim == 1 and labels.dtype.kind in "iu":  # class indices
        with autodiff.no_grad():
            width = len(numbers(model(first_row)))
        if labels.min() < 0 or labels.max() >= width:
            raise ValueError(f"compiled mode: class labels must lie in 0..{width - 1} for a model "
                             f"with {width} outputs; got {labels.min()}..{labels.max()}")
        return np.eye(width)[labels], False
    array = np.asarray(labels, dtype=float)
    if array.ndim == 1:
        return array[:, None], True
    return array, False
