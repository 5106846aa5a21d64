"""Compiled mode: trace a scalar graph once, replay it over whole batches with NumPy.

A network's graph has the same shape for every sample; only the numbers
change.  :func:`compile` records the graph of ``fn`` once, with placeholder
leaves for the per-sample inputs and the real parameter Values, and, for a
loss, the graph of its gradients as the engine's own sweep records them
(:func:`autodiff.backward.gradients`).  It returns a :class:`Program` that
runs that one forward graph over a batch (one column per sample) with the
primitive table's NumPy forms: compiled mode has no backward of its own.
See docs/compiled.md.

>>> import numpy as np
>>> from autodiff import Value
>>> from autodiff.compiled import compile
>>> w, b = Value(0.5, label="w"), Value(-1.0, label="b")
>>> def loss(x, y):
...     return ((w * x[0] + b).tanh() - y[0]) ** 2
>>> program = compile(loss, ([2.0], [1.0]), params=[w, b])
>>> X, Y = np.array([[2.0], [4.0]]), np.array([[1.0], [0.0]])
>>> program.forward(X, Y)
array([1.  , 0.58002...])
>>> round(program.loss_and_grad(X, Y, reduction="sum"), 6), round(w.grad, 6), round(b.grad, 6)
(1.580026, -1.4412, -1.3603)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any

import numpy as np

from ..backward import collector_paused
from ..errors import GraphError
from ..naming import describe
from ..primitives import is_built_in
from ..value import Value, recording
from .folding import fold
from .plan import build
from .program import Agreement, Program, relative_error
from .tracing import _HELP, Graph, Placeholder, TraceError, trace

__all__ = ["Agreement", "Placeholder", "Program", "TraceError", "compile", "compile_composed",
           "relative_error"]

#: How many extra example rows are traced to check that the graph does not depend on the data.
CHECK_ROWS = 3


def compile(  # noqa: A001 - autodiff.compile is the name people will look for (jax.jit, torch.compile)
    fn: Callable[..., Any],
    example_inputs: Any,
    params: Iterable[Value] = (),
    *,
    dtype: Any = np.float64,
    checks: int = CHECK_ROWS,
) -> Program:
    """Trace ``fn`` once and return a :class:`Program` that runs it over batches with NumPy.

    ``fn`` takes one list of Values per argument (the features of one sample,
    e.g. an image and its one-hot target) and returns a Value (a loss) or a
    list of Values (outputs).  ``example_inputs`` gives one example per
    argument: a tuple with one entry per argument (anything else is the only
    argument), each entry one sample (1-D) or several (2-D, one row each).
    ``params`` are the shared leaves whose gradients are wanted; every other
    Value fn uses must be made inside fn.

    The graph is traced on the first example, with the gradients of a
    loss; fn alone is then traced on up to ``checks`` more rows (or, with a
    single row, on the example reversed); if fn's graphs differ, they depend
    on the data and :class:`TraceError` says where.  The gradients need no
    such check: the sweep that records them reads no number, so the same
    graph of fn gives the same graph of its gradients.  ``dtype`` may be
    ``np.float32`` (about 1e-6 relative agreement instead of 1e-12; see
    docs/compiled.md).  ``checks=0`` skips the further
    traces: only for a function whose graph was checked another way.

    The program may be called from several threads at once (each thread
    runs its own code and buffers).  For a primitive of your own, compiled
    mode relies on its array form agreeing with its float form at every
    sample, and on its partials over Values recording what they compute (a
    partial that returns a plain number there is recorded as that constant
    for every sample): ``autodiff.testing.check_primitive`` checks both.
    """
    dtype = _checked_arguments(dtype, checks)
    examples, params = _examples(example_inputs), _parameters(params)
    names = _argument_names(fn, len(examples))
    with collector_paused():  # tracing and planning make many objects and no cycles
        graph = _traced(fn, examples, params, names, checks, "scalar")
        return _program(fn, graph, params, names, examples, dtype)


def compile_composed(outer: Callable[..., Value], inner: Callable[[list[Value]], Any], example_inputs: Any,
                     params: Iterable[Value] = (), *, dtype: Any = np.float64,
                     checks: int = CHECK_ROWS) -> tuple[Program, Program]:
    """Programs of ``outer(inner(x), *rest)`` and of ``inner(x)`` alone, from one trace of the first.

    Training wants both: the loss of a model's outputs, and the model by
    itself for metrics and predictions.  One trace (checked on further
    example rows as :func:`compile` checks) records the loss and, inside it,
    the model's outputs; the model's program is built from that part of the
    graph, so the model is neither traced nor checked again.  Arguments are
    as for :func:`compile`; ``example_inputs`` are the loss's (x first).
    """
    dtype = _checked_arguments(dtype, checks)
    examples, params = _examples(example_inputs), _parameters(params)
    names = [*_argument_names(inner, 1), *_argument_names(outer, len(examples))[1:]]
    single: list[bool] = []  # whether inner returned one Value (not a list), as the first trace saw it

    def both(x: list[Value], *rest: list[Value]) -> list[Value]:
        out = inner(x)
        single.append(isinstance(out, Value))
        return [outer(out, *rest), *([out] if single[-1] else out)]

    def loss(x: list[Value], *rest: list[Value]) -> Value:
        return outer(inner(x), *rest)

    loss.__name__ = both.__name__ = getattr(outer, "__name__", "loss")
    with collector_paused():
        graph = _traced(both, examples, params, names, checks, "first")
        loss_graph = graph.part(graph.outputs[:1], scalar=True, gradients=graph.gradients)
        model_graph = graph.part(graph.outputs[1:], scalar=single[0], argument=0)
        return (_program(loss, loss_graph, params, names, examples, dtype),
                _program(inner, model_graph, params, names[:1], examples[:1], dtype))


def _checked_arguments(dtype: Any, checks: int) -> np.dtype:
    if isinstance(checks, bool) or not isinstance(checks, int) or checks < 0:
        raise ValueError(f"checks must be a whole number >= 0 (more example rows to trace), not {checks!r}")
    if not recording():  # the engine records nothing here: there would be no graph
        raise GraphError("autodiff.compile cannot trace inside no_grad(): nothing would be recorded")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, not {dtype!r}")
    return np.dtype(dtype)


def _traced(fn: Callable[..., Any], examples: list[np.ndarray], params: list[Value], names: list[str],
            checks: int, differentiate: str) -> Graph:
    """fn's graph (and gradients) on the first example, checked against fn's on ``checks`` further rows.

    Only fn's part is traced again and compared (see :func:`compile`).
    """
    ids = {p: i for i, p in enumerate(params)}
    graph = trace(fn, [e[0] for e in examples], names, ids, differentiate=differentiate)
    # The table's partials over Values read no number (tested), so fn's graph decides its gradients'.
    # A primitive of your own may read one: then the gradients are traced and compared too.
    whole = any(op is not None and not is_built_in(op) for op in graph.ops)
    own = graph if whole else graph.forward_part()
    for sample, derived in _check_samples(examples, checks):
        try:
            other = trace(fn, sample, names, ids, full=False, differentiate=differentiate if whole else "no")
        except TraceError:
            raise
        except Exception as error:
            if not derived:
                raise
            raise TraceError(f"tracing fn a second time, on the example reversed (to check that its graph "
                             f"does not depend on the data), failed: {error}. Pass two or more example "
                             "rows (a 2-D array per argument).") from error
        difference = own.difference(other)
        if difference is not None:
            name = getattr(fn, "__name__", "fn")
            if whole and graph.forward_part().difference(other.forward_part()) is None:
                raise TraceError(f"the gradients of {name} depend on its inputs ({difference}) where its "
                                 f"own graph does not: a partial of {_own_primitives(graph)} gives a plain "
                                 "number on Values (it reads or compares their numbers), which a gradient "
                                 "graph records as a constant. Write it with the namespace it is given "
                                 "(m.step, m.sign, ...); autodiff.testing.check_primitive shows which one.")
            raise TraceError(f"the graph of {name} depends on its inputs: {difference}. {_HELP}")
    return graph


def _own_primitives(graph: Graph) -> str:
    """The names of the primitives of the user's own in a graph, for a message."""
    names = sorted({op.name for op in graph.ops if op is not None and not is_built_in(op)})
    return " or ".join(names)


def _program(fn: Callable[..., Any], graph: Graph, params: list[Value], names: list[str],
             examples: list[np.ndarray], dtype: np.dtype) -> Program:
    """The plan of a checked graph as a Program, replayed once on the traced sample."""
    plan = build(fold(graph), len(params), [e.shape[1] for e in examples], names)
    program = Program(fn, graph, plan, params, names, dtype)
    _check_replay(program, examples, fn)
    return program


def _check_replay(program: Program, examples: list[np.ndarray], fn: Callable[..., Any]) -> None:
    """The plan, run on the traced sample, must give the numbers fn gave while it was traced.

    This catches what no comparison of graphs can: fn assigning ``.data`` of
    a Value after using it (the graph records the number as it is at the end).
    """
    sample = [e[:1] for e in examples]
    replayed = program.forward(*sample).reshape(-1)
    graph = program._graph
    traced = np.array(graph.traced)
    if graph.gradients:  # the gradients too, in the program's order of the parameters
        gradients = traced[len(graph.outputs):][program.plan.order]
        traced = np.concatenate([traced[:len(graph.outputs)], gradients])
        replayed = np.concatenate([replayed, program.value_and_grad(*sample, reduction="sum")[1]])
    scale = max(1.0, float(np.max(np.abs(traced))))
    tolerance = 1e-9 if program.dtype == np.float64 else 1e-4  # float32 rounds at about 6e-8
    if np.max(np.abs(replayed - traced)) > tolerance * scale:
        name = getattr(fn, "__name__", "fn")
        raise TraceError(f"replaying the graph of {name} on the traced sample gives {replayed[:3].tolist()} "
                         f"where {name} gave {traced[:3].tolist()}: {name} probably assigned .data of a "
                         "Value after using it. Compute with new Values instead of changing old ones.")


def _examples(example_inputs: Any) -> list[np.ndarray]:
    entries = list(example_inputs) if isinstance(example_inputs, tuple) else [example_inputs]
    if not entries:
        raise ValueError("example_inputs is empty: give one example per argument of fn")
    arrays = []
    for k, entry in enumerate(entries):
        try:
            array = np.asarray(entry, dtype=float)
        except (TypeError, ValueError) as error:
            raise TypeError(f"example_inputs[{k}] must be numbers (one sample or rows of samples): "
                            f"{error}") from None
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2 or array.shape[1] == 0 or array.shape[0] == 0:
            raise ValueError(f"example_inputs[{k}] must be one sample (1-D) or rows of samples (2-D), "
                             f"got shape {np.shape(entry)}")
        if not np.isfinite(array).all():
            raise ValueError(f"example_inputs[{k}] holds a non-finite number")
        arrays.append(array)
    return arrays


def _argument_names(fn: Callable[..., Any], count: int) -> list[str]:
    try:
        names = [p.name for p in inspect.signature(fn).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    return names[:count] if len(names) >= count else [f"in{k}" for k in range(count)]


def _parameters(params: Iterable[Value]) -> list[Value]:
    """The parameters as a list: distinct leaf Values (checked in one pass of C-level calls when they are)."""
    params = list(params)
    if all(map(Value.__instancecheck__, params)) and not any(map(_primitive, params)) \
            and len(set(map(id, params))) == len(params):
        return params
    seen = set()
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"params[{i}] is {type(p).__name__}, not a Value")
        if p.primitive is not None:  # computed, or a constant
            raise GraphError(f"params[{i}] ({describe(p)}) is computed by {p.op}; parameters must be leaves")
        if id(p) in seen:
            raise GraphError(f"params[{i}] ({describe(p)}) is listed twice")
        seen.add(id(p))
    return params


_primitive = attrgetter("primitive")


def _check_samples(examples: list[np.ndarray], checks: int) -> list[tuple[list[np.ndarray], bool]]:
    """Samples to trace again: further example rows, else the example reversed (marked derived)."""
    rows = min(len(e) for e in examples)
    if checks == 0:
        return []
    if rows > 1:
        return [([e[r] for e in examples], False) for r in range(1, min(rows, 1 + checks))]
    return [([e[0][::-1] for e in examples], True)]
