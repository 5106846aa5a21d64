"""Running a plan over a batch, and the sync points with live Values.

The state of one call is one array of shape (slots, batch): the value of every
node for every sample, the gradient graph's nodes included.  Parameters live in a
vector ``theta`` ordered as :attr:`Program.params`; gradients come back in the
same order.  Only three methods touch the Values themselves:
:meth:`Program.read_params` (Values -> theta), :meth:`Program.write_params`
(theta -> Values) and :meth:`Program.loss_and_grad` (reads the Values, adds
the batch gradient into their ``.grad``).  Everything else is arrays.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np

from ..backward import add_into_grads
from ..errors import DomainError, GraphError, NonFiniteError
from ..naming import describe
from ..value import Value
from .batches import REDUCTIONS, Batches
from .blas import limits_blas
from .codegen import Kernel, generate
from .plan import Apply, Dense, Plan, format_plan, outside_pow_domain, rows_of
from .tracing import _HELP, Graph, TraceError, trace_values

_data = attrgetter("data")
#: How many batch sizes keep generated code and buffers at once (training, a last short batch, tests).
KERNELS = 4


class _PerThread(threading.local):
    """One thread's generated code and state arrays, by batch size.

    The generated code writes every call's numbers into arrays it was made
    with, so two threads sharing them would mix their samples: each thread
    gets its own (made on its first call; freed with the thread), and calls
    from several threads give the single-threaded answers in parallel.
    """

    def __init__(self) -> None:
        self.kernels: dict[int, Kernel] = {}
        self.buffers: dict[int, np.ndarray] = {}


def _strict() -> np.errstate:
    """Floating-point errors raise inside compiled code, as the scalar engine raises at the node."""
    return np.errstate(over="raise", invalid="raise", divide="raise")


@dataclass(frozen=True)
class Agreement:
    """Largest relative differences of compiled results from the scalar engine's (:meth:`Program.verify`)."""

    values: float
    grads: float


class Program:
    """A traced function, replayed over batches with NumPy.  Made by :func:`autodiff.compile`.

    ``print(program)`` shows the plan.  Batches are 2-D arrays, one per
    argument of the traced function, with one row per sample.
    """

    def __init__(self, fn: Callable[..., Any], graph: Graph, plan: Plan, params: Sequence[Value],
                 arg_names: list[str], dtype: Any) -> None:
        self.fn = fn
        self.dtype = np.dtype(dtype)
        #: The parameters in the order of ``theta`` and of the gradient vector.
        self.params: list[Value] = [params[i] for i in plan.order]
        self.arg_names = arg_names
        self.plan = plan
        self._graph = graph
        self._sizes = [ix.stop - ix.start for ix in plan.inputs]
        self._shapes = [(2, size) for size in self._sizes]  # (ndim, features) of each batch array
        self._mine = _PerThread()
        self._reads_params = np.arange(plan.slots)[plan.param_rows].size > 0

    @property
    def input_sizes(self) -> list[int]:
        """How many numbers each argument of the traced function takes per sample."""
        return list(self._sizes)

    @property
    def scalar(self) -> bool:
        """Whether the function returns one Value (then gradients are defined)."""
        return self._graph.scalar

    def __str__(self) -> str:
        signature = ", ".join(f"{name}[{size}]" for name, size in zip(self.arg_names, self._sizes))
        name = getattr(self.fn, "__name__", "fn")
        title = (f"{name}({signature}) with {len(self.params)} parameters p, {self.dtype}: "
                 f"{self._steps} steps")
        return format_plan(self.plan, title)

    def __repr__(self) -> str:
        return f"<compiled {getattr(self.fn, '__name__', 'fn')}: {self._steps} steps, " \
               f"{len(self._graph)} traced nodes, {len(self.params)} parameters>"

    @property
    def _steps(self) -> int:
        plan = self.plan
        return len(plan.steps) + len(plan.gradient_steps) + len(plan.reductions)

    # -- sync points with the live Values ---------------------------------------

    def read_params(self) -> np.ndarray:
        """The parameters' current ``.data`` as a vector ``theta`` (in the order of :attr:`params`)."""
        return np.fromiter(map(_data, self.params), dtype=self.dtype, count=len(self.params))

    def write_params(self, theta: np.ndarray) -> None:
        """Set each parameter's ``.data`` from ``theta`` (graphs built before become stale, as usual).

        All or nothing: a non-finite entry is refused before any parameter changes.
        """
        theta = self._theta(theta)
        bad = np.flatnonzero(~np.isfinite(theta))
        if len(bad):
            raise NonFiniteError(f"theta[{bad[0]}] is {float(theta[bad[0]])!r}, for parameter "
                                 f"{describe(self.params[bad[0]])}; no parameter was changed")
        for p, x in zip(self.params, theta.tolist()):
            p.data = x

    @limits_blas
    def loss_and_grad(self, *batch: Any, reduction: str = "mean") -> float:
        """The batch loss; adds its gradient into each parameter's ``.grad``.

        Reads the parameters' ``.data`` now (an optimizer may have changed
        them since the last call).  Like ``backward()``, it adds to ``.grad``:
        call ``zero_grad`` between steps.  ``reduction`` is "mean" (the loss
        and gradient averaged over the batch) or "sum".
        """
        loss, grad = self.value_and_grad(*batch, params=self.read_params(), reduction=reduction)
        add_into_grads(self.params, grad.tolist())
        return loss

    # -- arrays only -----------------------------------------------------------

    @limits_blas
    def forward(self, *batch: Any, params: np.ndarray | None = None, chunk: int = 2048) -> np.ndarray:
        """The function's outputs for every sample: shape (B,) for one Value, (B, k) for a list of k.

        ``params`` is a theta vector; by default the parameters' ``.data`` is
        read now.  Large batches run ``chunk`` samples at a time.
        """
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"forward(chunk=...) is how many samples to run at a time: a whole number "
                             f">= 1, not {chunk!r}")
        theta = self.read_params() if params is None else self._theta(params)
        arrays = self._data(batch)
        parts = []
        for s in range(0, len(arrays[0]), chunk):  # converted a chunk at a time: no copy of a whole test set
            inputs = [np.asarray(a[s:s + chunk], dtype=self.dtype).T for a in arrays]
            parts.append(self._run_forward(inputs, theta)[self.plan.outputs].T.copy())
        out = np.concatenate(parts)
        return out[:, 0] if self.scalar else out

    @limits_blas
    def value_and_grad(self, *batch: Any, params: np.ndarray | None = None, reduction: str = "mean",
                       out: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """The batch loss and its gradient by ``theta`` (a new vector ordered as :attr:`params`).

        Pure arrays: no Value is read or written when ``params`` is given, so
        a training loop can keep theta in an array and update it in place.
        ``out`` (a vector like theta) receives the gradient instead of a new
        vector, which saves an allocation per step.  The batch and theta are
        checked once per call; a non-finite number anywhere on the way raises
        the scalar engine's error naming the step.
        """
        if not self.scalar:
            raise GraphError(f"value_and_grad needs a function that returns one Value; this one returns "
                             f"{len(self._graph.outputs)} (a list). Return the loss only.")
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, not {reduction!r}")
        theta = self._theta_or_values(params)
        arrays = self._batch(batch)
        gtheta = self._gradient_vector(out)
        batch_size = len(arrays[0])
        seed = 1.0 / batch_size if reduction == "mean" else 1.0  # d(mean)/d(one sample's loss) = 1/B
        inputs = [a.T for a in arrays]  # one column per sample, as the state
        total = self._run_gradient(self._kernel(batch_size), theta, inputs, gtheta, seed)
        return (total / batch_size if reduction == "mean" else total), gtheta

    def batches(self, *data: Any, reduction: str = "mean") -> Batches:
        """Training steps on samples of fixed data sets, chosen by index: the data is checked once.

        ``data`` holds whole data sets, one 2-D array per argument (one row per
        sample); they are checked here, once, not at every step.  Then
        ``batches.value_and_grad(rows, params=theta, out=grad)`` is
        :meth:`value_and_grad` on ``data[k][rows]`` (see docs/compiled.md).
        """
        return Batches(self, data, reduction)

    def source(self, batch_size: int = 1) -> str:
        """The generated NumPy code that runs batches of ``batch_size`` samples (see docs/compiled.md)."""
        return self._kernel(batch_size).source

    def _gradient_vector(self, out: np.ndarray | None) -> np.ndarray:
        if out is None:
            return np.empty(len(self.params), dtype=self.dtype)
        if not isinstance(out, np.ndarray) or out.shape != (len(self.params),) or out.dtype != self.dtype:
            raise ValueError(f"out must be a {self.dtype} vector of {len(self.params)} numbers "
                             f"(one per parameter), got {getattr(out, 'shape', type(out).__name__)}")
        return out

    def _run_gradient(self, kernel: Kernel, theta: np.ndarray, inputs: list[np.ndarray], gtheta: np.ndarray,
                      seed: float) -> float:
        """Gradient into ``gtheta`` by the generated code (careful if a number is not finite); the total."""
        try:
            with _strict():  # the generated code checks the batch, theta and its results once (see codegen)
                kernel.gradient(theta, *inputs, gtheta, seed)
        except FloatingPointError:  # find the step and say so, or finish if nothing was really wrong
            gtheta[...] = self._careful_gradient(inputs, theta, seed)
        return float(np.add.reduce(kernel.loss, axis=None))

    def _kernel(self, batch: int) -> Kernel:
        mine = self._mine
        kernel = mine.kernels.get(batch)
        if kernel is None:
            if len(mine.kernels) >= KERNELS:
                mine.kernels.clear()
                mine.buffers.clear()
            kernel = generate(self.plan, batch, self._state(batch), self._param_name)
            mine.kernels[batch] = kernel
        return kernel

    def _param_name(self, position: int) -> str:
        """A parameter's label, or its place in the parameter vector, for the generated code's comments."""
        return self.params[position].label or f"p[{position}]"

    def _run_forward(self, inputs: list[np.ndarray], theta: np.ndarray) -> np.ndarray:
        """Values of every node by the generated code, or step by step if a number is not finite."""
        kernel = self._kernel(inputs[0].shape[1])
        try:
            with _strict():
                kernel.forward(theta, *inputs)
            return kernel.vals
        except FloatingPointError:
            pass
        with np.errstate(all="ignore"):
            return self._forward(inputs, theta, careful=True)

    def _careful_gradient(self, inputs: list[np.ndarray], theta: np.ndarray, seed: float) -> np.ndarray:
        """The plan interpreted step by step, every step's result checked: names the first bad one."""
        gtheta = np.empty(len(theta), dtype=self.dtype)
        with np.errstate(all="ignore"):
            vals = self._forward(inputs, theta, careful=True, seed=seed)
            for step in self.plan.reductions:
                step.run(vals, inputs, gtheta)
        bad = np.flatnonzero(~np.isfinite(gtheta))
        if len(bad):
            k = int(bad[0])
            raise NonFiniteError(f"the gradient of {describe(self.params[k])} is {float(gtheta[k])!r}: every "
                                 f"sample's is finite, but their sum over the batch of {vals.shape[1]} "
                                 f"overflows ({self.dtype}); scale the loss down or use smaller batches")
        return gtheta

    # -- the scalar engine as oracle ---------------------------------------------

    def verify(self, *batch: Any) -> Agreement:
        """Run the scalar engine on every sample of the batch and compare with the compiled results.

        Raises :class:`TraceError` if a sample's graph differs from the traced
        one (the function's graph depends on the data).  Returns the largest
        relative differences of outputs and (for a scalar function) of the
        batch-summed gradients; leaves every ``.grad`` as it was.
        """
        arrays = self._batch(batch)
        saved = [p.grad for p in self.params]
        for p in self.params:
            p.grad = 0.0
        try:
            outputs = []
            for b in range(len(arrays[0])):
                graph, outs = trace_values(self.fn, [a[b] for a in arrays], self._given_ids())
                difference = self._graph.forward_part().difference(graph)
                if difference is not None:
                    raise TraceError(f"sample {b} gives a different graph from the traced one: {difference}. "
                                     f"{_HELP}")
                outputs.append([v.data for v in outs])
                if self.scalar:
                    outs[0].backward()
            scalar_grads = np.array([p.grad for p in self.params])
        finally:
            for p, g in zip(self.params, saved):
                p.grad = g
        values = relative_error(self.forward(*arrays).reshape(len(outputs), -1), np.array(outputs))
        grads = 0.0
        if self.scalar:
            grads = relative_error(self.value_and_grad(*arrays, reduction="sum")[1], scalar_grads)
        return Agreement(values, grads)

    def _given_ids(self) -> dict[Value, int]:
        # The graph's parameter roles are positions in the list given to compile().
        return {self.params[pos]: given for pos, given in enumerate(self.plan.order)}

    # -- running ---------------------------------------------------------------

    def _forward(self, inputs: list[np.ndarray], theta: np.ndarray, careful: bool = False,
                 seed: float | None = None) -> np.ndarray:
        """Values of fn's nodes (and, given the ``seed``, of its gradients') by the plan.

        ``inputs`` are the batch transposed (features, samples).  ``careful``
        first checks the inputs and theta, then every step's result, and
        raises at the first number that is not finite, naming the node (and,
        for a gradient's node, the backward step it came from).
        """
        if careful:
            self._check_inputs(theta, inputs)
        plan = self.plan
        vals = self._state(inputs[0].shape[1])
        for rows, array, load in zip(plan.inputs, inputs, plan.load):
            if load:
                vals[rows] = array
        if self._reads_params:  # parameters that plain steps read (dense steps read theta directly)
            vals[plan.param_rows] = theta[plan.param_index][:, None]
        if seed is not None and plan.seed_row is not None:
            vals[plan.seed_row] = seed
        for step in [*plan.steps, *(plan.gradient_steps if seed is not None else ())]:
            step.run(vals, theta, inputs)
            if careful and isinstance(step, Apply) and step.valued_exponent:
                _check_pow_domain(plan, step, vals)
            if careful and not np.isfinite(vals[step.out]).all():
                raise _forward_error(self.plan, step, vals, *np.argwhere(~np.isfinite(vals[step.out]))[0])
        return vals

    def _state(self, batch: int) -> np.ndarray:
        """The state array for this batch size, constants already in place."""
        buffers = self._mine.buffers
        if batch not in buffers:
            if len(buffers) >= KERNELS:
                buffers.clear()
            vals = np.zeros((self.plan.slots, batch), dtype=self.dtype)
            vals[self.plan.const_rows] = self.plan.const_values[:, None]
            buffers[batch] = vals
        return buffers[batch]

    def _theta_or_values(self, params: Any) -> np.ndarray:
        """``params`` as theta, or the Values' data now when it is None."""
        return self.read_params() if params is None else self._theta(params)

    def _theta(self, theta: Any) -> np.ndarray:
        theta = np.asarray(theta, dtype=self.dtype)
        if theta.shape != (len(self.params),):
            raise ValueError(f"params must be a vector of {len(self.params)} numbers (one per parameter), "
                             f"got shape {theta.shape}")
        return theta  # finiteness is checked by the generated code, where a layer reads it

    def _batch(self, batch: Sequence[Any]) -> list[np.ndarray]:
        """The batch as 2-D arrays of the program's dtype, one row per sample, transposed: (features, B)."""
        arrays = [np.asarray(array, dtype=self.dtype) for array in batch]
        self._check_shapes(arrays)
        return arrays

    def _data(self, data: Sequence[Any]) -> list[np.ndarray]:
        """Data sets as 2-D arrays, checked; a float array is kept as it is (to be converted in parts)."""
        arrays = [a if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.dtype.itemsize <= 8
                  else np.asarray(a, dtype=self.dtype) for a in data]
        self._check_shapes(arrays)
        return arrays

    def _check_shapes(self, arrays: list[np.ndarray]) -> None:
        """Raise unless the arrays are one 2-D array per argument, its features as columns, rows alike."""
        if len(arrays) != len(self._sizes):
            raise TypeError(f"the compiled function takes {len(self._sizes)} arrays "
                            f"({', '.join(self.arg_names)}), got {len(arrays)}")
        shapes = [(a.ndim, a.shape[-1] if a.ndim else 0) for a in arrays]
        if shapes != self._shapes or len({len(a) for a in arrays}) != 1 or len(arrays[0]) == 0:
            self._refuse(arrays)

    def _refuse(self, arrays: list[np.ndarray]) -> None:
        """Raise the error that says what is wrong with a batch's shapes."""
        for name, size, array in zip(self.arg_names, self._sizes, arrays):
            if array.ndim != 2 or array.shape[1] != size:
                raise ValueError(f"{name} must be a 2-D array of shape (batch, {size}), one row per sample, "
                                 f"got shape {array.shape} (for one sample use row[None, :])")
        raise ValueError(f"the arrays must have the same number of rows, at least one; got "
                         f"{[len(a) for a in arrays]}")

    # -- explaining failures -----------------------------------------------------

    def _check_inputs(self, theta: np.ndarray, inputs: list[np.ndarray]) -> None:
        """Raise NonFiniteError naming the first parameter or input number that is not finite."""
        if not np.isfinite(theta).all():
            bad = int(np.flatnonzero(~np.isfinite(theta))[0])
            raise NonFiniteError(f"parameter {bad} ({describe(self.params[bad])}) is {float(theta[bad])!r}; "
                                 "parameters must be finite")
        for name, array in zip(self.arg_names, inputs):
            bad = ~np.isfinite(array)
            if bad.any():
                feature, sample = np.argwhere(bad)[0]
                number = float(array[feature, sample])
                raise NonFiniteError(f"input {name}[{feature}] of sample {sample} is {number!r}; "
                                     "inputs must be finite")


def _row(ix: Any, node: int) -> int:
    """The row that input ``ix`` of a step gives its ``node``-th node (a shared row gives every node one)."""
    rows = rows_of(ix)
    return int(rows[node if len(rows) > 1 else 0])


def _check_pow_domain(plan: Plan, step: Apply, vals: np.ndarray) -> None:
    """Raise the scalar engine's DomainError where a Value exponent meets a base that is not > 0."""
    base, exponent = (vals[ix] for ix in step.args)
    outside = outside_pow_domain(*np.broadcast_arrays(base, exponent))
    if outside.any():
        node, sample = np.argwhere(outside)[0]
        x, y = (_row(ix, node) for ix in step.args)
        error = DomainError(
            f"pow: {plan.names[x]} = {float(vals[x, sample])!r} raised to a Value power ({plan.names[y]} = "
            f"{float(vals[y, sample])!r}) for sample {sample}, node {plan.names[rows_of(step.out)[node]]}; "
            "the derivative by the exponent is out * log(x), so the base must be > 0 (or 0 with a positive "
            "exponent), as in the scalar engine. Use a plain number as the exponent if it is a constant.")
        site = plan.sites[rows_of(step.out)[node]]
        raise error if site is None else DomainError(f"{error.args[0]} [node made at {site}]")


def _forward_error(plan: Plan, step: Apply | Dense, vals: np.ndarray, node: int, sample: int) -> Exception:
    row = rows_of(step.out)[node]
    error = _step_error(plan, step, vals, node, sample, row)
    if plan.origins[row] is not None:
        error.args = (f"{plan.origins[row]}: {error.args[0]}",)
    if plan.sites[row] is not None:
        error.args = (f"{error.args[0]} [node made at {plan.sites[row]}]",)
    return error


def _step_error(plan: Plan, step: Apply | Dense, vals: np.ndarray, node: int, sample: int,
                row: int) -> Exception:
    result = vals[row, sample]
    if isinstance(step, Dense):
        return NonFiniteError(f"the dense sum {plan.names[row]} overflowed to {float(result)!r} "
                              f"for sample {sample}")
    rows = [_row(ix, node) for ix in step.args]
    inputs = ", ".join(f"{step.op.input_name(k)} = {float(vals[r, sample])!r} ({plan.names[r]})"
                       for k, r in enumerate(rows))
    op = step.op
    if np.isnan(result):
        return DomainError(f"{op.name} is undefined for {inputs} (sample {sample}, node {plan.names[row]}); "
                           f"{op.needs()}")
    return NonFiniteError(f"{op.name} overflowed to {float(result)!r} for {inputs} (sample {sample}, node "
                          f"{plan.names[row]})")


def relative_error(compiled: np.ndarray, scalar: np.ndarray) -> float:
    """max |compiled - scalar| / max |scalar|: the error relative to the size of the results.

    Not elementwise: a gradient that is a sum with cancellation (tiny next to
    its terms) differs by a few ulps of its *terms* whenever the additions are
    reordered, as matrix products do, so its own relative error says nothing.
    """
    compiled, scalar = np.asarray(compiled, dtype=float), np.asarray(scalar, dtype=float)
    difference = float(np.max(np.abs(compiled - scalar), initial=0.0))
    scale = float(np.max(np.abs(scalar), initial=0.0))
    if difference == 0.0:
        return 0.0
    return difference / scale if scale else difference  # an all-zero reference: the absolute difference
