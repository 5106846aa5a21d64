"""Modules: Neuron, Layer and MLP, with named parameters.

A module owns Values (its parameters) and sub-modules, kept as attributes:
a Value, a list of Values, a Module or a list of Modules.  Names follow the
attribute path, so parameter names are stable and readable:
``layers.0.neurons.3.w.17`` is weight 17 of neuron 3 of the first layer.  Every
parameter carries its full name as its ``label``, and every node a module's
forward pass creates carries the module's name as its ``scope``, which
drawings can cluster or collapse by.

>>> model = MLP(3, [4, 1], seed=0)
>>> len(model.parameters())            # (3 + 1) * 4 + (4 + 1) * 1
21
>>> [name for name, _ in model.named_parameters()][:2]
['layers.0.neurons.0.w.0', 'layers.0.neurons.0.w.1']
>>> out = model([1.0, 0.0, 1.0])       # one output: a Value (a Layer always gives a list)
>>> out.scope
'layers.1.neurons.0'
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

import autodiff
from autodiff import Value

from . import init as _init
from ._checks import is_whole
from .losses import softmax

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
#: softmax acts on a whole layer's outputs, so only a Layer (or an MLP's output layer) takes it.
LAYER_ACTIVATIONS = (*ACTIVATIONS, "softmax")


class Module:
    """Base class: named parameters, ``zero_grad``, and a forward pass run in the module's scope.

    A subclass keeps its parameters and sub-modules as attributes, defines
    ``forward(x)``, and ends its ``__init__`` with ``self.set_name("")`` so that
    names, labels and scopes are filled in (a parent renames its children
    again when it adopts them).

    >>> class Scaled(Module):
    ...     def __init__(self):
    ...         self.scale = Value(2.0)
    ...         self.inner = Layer(2, 1)
    ...         self.set_name("")
    ...     def forward(self, x):
    ...         return [self.scale * y for y in self.inner(x)]
    >>> model = Scaled()
    >>> [name for name, _ in model.named_parameters()]
    ['scale', 'inner.neurons.0.w.0', 'inner.neurons.0.w.1', 'inner.neurons.0.b']
    >>> model([1.0, 2.0])[0].parents[1].scope
    'inner.neurons.0'
    """

    name: str = ""

    def __call__(self, x: Any) -> Any:
        """Run ``forward`` on ``x``; numbers in ``x`` become Value leaves once, here."""
        return self._run(_as_values(x))

    def _run(self, x: list[Value]) -> Any:
        """``forward`` in this module's scope, for inputs already converted (parents call children so)."""
        with autodiff.scope(self.name):
            return self.forward(x)

    def forward(self, x: list[Value]) -> Any:
        """The module's computation on a list of input Values; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(x)")

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, Value) for every parameter, in a stable order; names are relative to this module."""
        return list(self._walk(""))

    def parameters(self) -> list[Value]:
        """Every parameter Value, in the order of :meth:`named_parameters`."""
        return [p for _, p in self._walk("")]

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to 0."""
        for p in self.parameters():
            p.grad = 0.0

    def set_name(self, name: str) -> None:
        """Name this module ``name``, and its sub-modules and parameters (as labels) after their paths.

        Parameters also get this module as their ``scope``, like every node its
        forward pass creates, so drawings group a neuron's weights with it.
        """
        self.name = name
        for key, child in self._children():
            full = f"{name}.{key}" if name else key
            if isinstance(child, Module):
                child.set_name(full)
            else:
                child.label = full
                child.scope = name

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters as arrays: one entry per Value attribute (shape ()) or list of Values (shape (n,)).

        >>> Neuron(3).state_dict()["w"].shape
        (3,)
        """
        state: dict[str, np.ndarray] = {}
        for key, group in self._groups(""):
            state[key] = np.array([p.data for p in group] if isinstance(group, list) else group.data)
        return state

    def load_state_dict(self, state: dict[str, Any], source: str = "state") -> None:
        """Set every parameter from ``state`` (as :meth:`state_dict` gives it), after checking all of it.

        Missing or extra names and wrong shapes raise a ValueError naming them
        and ``source``; nothing is changed unless everything fits.
        """
        groups = dict(self._groups(""))
        missing = [k for k in groups if k not in state]
        extra = [k for k in state if k not in groups]
        if missing or extra:
            raise ValueError(
                f"{source} does not fit {type(self).__name__}: "
                f"missing {_names(missing)}, unexpected {_names(extra)}"
            )
        arrays = {}
        for key, group in groups.items():
            array = np.asarray(state[key])
            expected = (len(group),) if isinstance(group, list) else ()
            if array.shape != expected:
                raise ValueError(f"{source}: {key!r} has shape {array.shape}, the model needs {expected}")
            if array.dtype.kind not in "fiu" or not np.all(np.isfinite(array)):
                raise ValueError(f"{source}: {key!r} must hold finite numbers, got {array!r:.80}")
            arrays[key] = array.astype(float)
        for key, group in groups.items():
            for p, value in zip(group if isinstance(group, list) else [group], np.atleast_1d(arrays[key])):
                p.data = float(value)

    # -- walking the attributes -------------------------------------------------

    def _attributes(self) -> Iterator[tuple[str, Any]]:
        """Public attributes other than ``name``: where parameters and sub-modules live."""
        return ((a, v) for a, v in vars(self).items() if not a.startswith("_") and a != "name")

    def _children(self) -> Iterator[tuple[str, Value | Module]]:
        """Direct parameters and sub-modules as (key, object); list items get their index as key."""
        for attr, value in self._attributes():
            if isinstance(value, (Value, Module)):
                yield attr, value
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, (Value, Module)):
                        yield f"{attr}.{i}", item

    def _walk(self, prefix: str) -> Iterator[tuple[str, Value]]:
        for key, child in self._children():
            if isinstance(child, Module):
                yield from child._walk(f"{prefix}{key}.")
            else:
                yield prefix + key, child

    def _groups(self, prefix: str) -> Iterator[tuple[str, Value | list[Value]]]:
        """Parameters grouped as stored: a Value attribute alone, a list of Values together."""
        for attr, value in self._attributes():
            if isinstance(value, Value):
                yield prefix + attr, value
            elif isinstance(value, Module):
                yield from value._groups(f"{prefix}{attr}.")
            elif isinstance(value, list) and value and all(isinstance(v, Value) for v in value):
                yield prefix + attr, value
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield from item._groups(f"{prefix}{attr}.{i}.")


class Neuron(Module):
    """One neuron: activation(sum_i w_i * x_i + b), with the weighted sum as one n-ary node.

    Weights and bias are drawn by ``init`` from ``seed`` (an int or a numpy
    Generator), as in :class:`Layer` and :class:`MLP`.

    >>> n = Neuron(2, activation="linear")
    >>> n.set_weights([2.0, -1.0], 0.5)
    >>> n([3.0, 4.0]).data                 # 2*3 - 1*4 + 0.5
    2.5
    >>> n.w[0].label, n.b.label
    ('w.0', 'b')
    """

    def __init__(self, nin: int, activation: str = "sigmoid", bias: bool = True, init: str = "normal",
                 seed: _init.RandomSource = 0, *, fan_out: int = 1) -> None:
        _check_size(nin, "Neuron: nin")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"Neuron: unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)} "
                "(softmax acts on a whole Layer)"
            )
        generator = _init.rng(seed)
        self.activation = activation
        self.w = [Value(float(v)) for v in _init.sample(init, (nin,), nin, fan_out, generator)]
        self.b = Value(float(_init.biases(init, 1, generator)[0])) if bias else None
        self.set_name("")

    @property
    def nin(self) -> int:
        """The number of inputs (and of weights)."""
        return len(self.w)

    def forward(self, x: list[Value]) -> Value:
        """activation(sum_i w_i * x_i + b) as one Value."""
        if len(x) != len(self.w):
            raise ValueError(f"{_who(self)} has {len(self.w)} inputs but got {len(x)} values")
        terms = [wi * xi for wi, xi in zip(self.w, x)]
        if self.b is not None:
            terms.append(self.b)
        z = autodiff.sum(terms)
        return z if self.activation == "linear" else getattr(z, self.activation)()

    def set_weights(self, weights: Sequence[float], bias: float | None = None) -> None:
        """Set the weights (one per input) and the bias (None exactly when the neuron has none)."""
        who = _who(self)
        w = _float_array(weights, (self.nin,), "weights", who)
        _check_bias_given(self.b is not None, bias is not None, who)
        b = None if bias is None else _float_array(bias, (), "bias", who)
        for p, v in zip(self.w, w.tolist()):  # everything was checked: nothing fails half-way
            p.data = v
        if self.b is not None:
            self.b.data = float(b)

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r}, bias={self.b is not None})"


class Layer(Module):
    """``nout`` neurons on the same inputs; always returns a list, even for one neuron.

    With activation "softmax" the neurons are linear and the softmax is taken
    over their outputs (stable: the largest output is subtracted first).
    Weights are drawn by ``init`` from ``seed`` (an int or a numpy Generator,
    shared by the neurons in turn), as in :class:`MLP`.

    >>> layer = Layer(2, 3, activation="softmax")
    >>> round(sum(p.data for p in layer([1.0, -1.0])), 12)
    1.0
    >>> len(Layer(2, 1)([0.5, 0.5]))
    1
    """

    def __init__(self, nin: int, nout: int, activation: str = "sigmoid", bias: bool = True,
                 init: str = "normal", seed: _init.RandomSource = 0) -> None:
        _check_size(nout, "Layer: nout")
        if activation not in LAYER_ACTIVATIONS:
            known = ", ".join(LAYER_ACTIVATIONS)
            raise ValueError(f"Layer: unknown activation {activation!r}; choose one of {known}")
        generator = _init.rng(seed)
        per_neuron = "linear" if activation == "softmax" else activation
        self.activation = activation
        self.neurons = [Neuron(nin, per_neuron, bias, init, generator, fan_out=nout) for _ in range(nout)]
        self.set_name("")

    @property
    def nin(self) -> int:
        """The number of inputs of every neuron."""
        return self.neurons[0].nin

    @property
    def nout(self) -> int:
        """The number of neurons, one output each."""
        return len(self.neurons)

    @property
    def bias(self) -> bool:
        """Whether the neurons have biases."""
        return self.neurons[0].b is not None

    def forward(self, x: list[Value]) -> list[Value]:
        """Every neuron's output (their softmax with activation "softmax")."""
        outs = [n._run(x) for n in self.neurons]
        return softmax(outs) if self.activation == "softmax" else outs

    def set_weights(self, weights: Any, biases: Any = None) -> None:
        """Set W of shape (nin, nout) (column j feeds neuron j: outputs are x @ W + b), b of shape (nout,)."""
        w, b = self._checked(weights, biases, _who(self))
        for j, neuron in enumerate(self.neurons):
            neuron.set_weights(w[:, j], None if b is None else b[j])

    def get_weights(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(W, b) as arrays of shape (nin, nout) and (nout,); b is None without biases."""
        return self._arrays(lambda p: p.data)

    def get_gradients(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The ``grad`` of every parameter, laid out as :meth:`get_weights`."""
        return self._arrays(lambda p: 0.0 if p.grad is None else p.grad)  # None: no gradient yet

    def _arrays(self, read: Any) -> tuple[np.ndarray, np.ndarray | None]:
        w = np.array([[read(p) for p in n.w] for n in self.neurons]).T
        b = np.array([read(n.b) for n in self.neurons]) if self.bias else None
        return w, b

    def _checked(self, weights: Any, biases: Any, who: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Weights and biases as float arrays, after checking shapes and values (nothing is set here)."""
        w = _float_array(weights, (self.nin, self.nout), "weights", who)
        _check_bias_given(self.bias, biases is not None, who)
        b = None if biases is None else _float_array(biases, (self.nout,), "biases", who)
        return w, b

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r}, bias={self.bias})"


class MLP(Module):
    """A multilayer perceptron: ``nin`` inputs, then one Layer per entry of ``sizes``.

    ``output_activation`` (default: the same as ``activation``) applies to the
    last layer and may be "softmax".  Weights are drawn by ``init`` from
    ``seed`` (an int or a numpy Generator), so the same seed gives the same
    network.

    Exact weights follow the ``x @ W`` convention of the Gaussian-clouds
    softmax tutorial and Alex Punnen's XOR chapter: one array of shape
    (nin, nout) per layer.  Nielsen's network ("Neural Networks and Deep
    Learning") stores (nout, nin), the transpose.

    >>> import numpy as np
    >>> model = MLP(3, [4, 1], bias=False)
    >>> np.random.seed(1)                    # the XOR chapter's weights
    >>> model.set_weights([np.random.random((3, 4)), np.random.random((4, 1))])
    >>> round(model([0, 0, 1]).data, 3)
    0.758
    >>> model.set_weights([np.zeros((4, 3)), np.zeros((4, 1))])
    Traceback (most recent call last):
    ...
    ValueError: layer 0 (layers.0): weights of shape (3, 4) expected, got (4, 3) (that is the transpose: ...
    """

    def __init__(self, nin: int, sizes: Sequence[int], activation: str = "sigmoid",
                 output_activation: str | None = None, bias: bool = True, init: str = "normal",
                 seed: _init.RandomSource = 0) -> None:
        sizes = list(sizes)
        if not sizes:
            raise ValueError("MLP: sizes must list at least one layer size")
        if activation == "softmax" and len(sizes) > 1:
            raise ValueError("MLP: softmax is for the output layer; pass output_activation='softmax'")
        _init.check_scheme(init)
        generator = _init.rng(seed)
        last = output_activation if output_activation is not None else activation
        ins = [nin, *sizes[:-1]]
        self.layers = [
            Layer(i, o, activation if k < len(sizes) - 1 else last, bias, init, generator)
            for k, (i, o) in enumerate(zip(ins, sizes))
        ]
        self.set_name("")

    def forward(self, x: list[Value]) -> Value | list[Value]:
        """The last layer's outputs, each layer feeding the next; one output is returned as a Value.

        A one-output network's output is a number, so ``model(x) - y`` reads as
        on paper; a :class:`Layer` always returns a list.
        """
        for layer in self.layers:
            x = layer._run(x)
        return x[0] if len(x) == 1 else x

    def set_weights(self, weights: Sequence[Any], biases: Sequence[Any] | None = None) -> None:
        """Set every layer's (nin, nout) weights and (nout,) biases, after checking all shapes."""
        layers = len(self.layers)
        if len(weights) != layers:
            raise ValueError(f"set_weights: the model has {layers} layers, got {len(weights)} weight arrays")
        if biases is not None and len(biases) != layers:
            raise ValueError(f"set_weights: the model has {layers} layers, got {len(biases)} bias arrays")
        checked = [
            layer._checked(weights[k], None if biases is None else biases[k], f"layer {k} ({layer.name})")
            for k, layer in enumerate(self.layers)
        ]
        for layer, (w, b) in zip(self.layers, checked):
            layer.set_weights(w, b)

    def get_weights(self) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """(weights, biases): per layer arrays of shape (nin, nout) and (nout,); biases None if bias=False."""
        return _per_layer([layer.get_weights() for layer in self.layers])

    def get_gradients(self) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """Gradients of the weights and biases, laid out as :meth:`get_weights`."""
        return _per_layer([layer.get_gradients() for layer in self.layers])

    def __repr__(self) -> str:
        sizes = [layer.nout for layer in self.layers]
        acts = [layer.activation for layer in self.layers]
        return (f"MLP({self.layers[0].nin}, {sizes}, activation={acts[0]!r}, "
                f"output_activation={acts[-1]!r}, bias={self.layers[0].bias})")


# -- helpers ------------------------------------------------------------------


def _as_values(x: Any) -> list[Value]:
    """Inputs as a list of Values: Values stay, numbers become leaves labelled x.0, x.1, ..."""
    if isinstance(x, (Value, numbers.Real)):
        x = [x]
    values = list(x)
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            values[i] = Value(v, label=f"x.{i}")
    return values


def _per_layer(pairs: list[tuple[np.ndarray, np.ndarray | None]]) -> tuple[list[np.ndarray], Any]:
    weights = [w for w, _ in pairs]
    biases = None if pairs[0][1] is None else [b for _, b in pairs]
    return weights, biases


def _who(module: Module) -> str:
    return f"{type(module).__name__} {module.name}" if module.name else type(module).__name__


def _check_size(n: Any, what: str) -> None:
    if not is_whole(n, 1):
        raise ValueError(f"{what} must be a positive int, got {n!r}")


def _float_array(values: Any, shape: tuple[int, ...], what: str, who: str) -> np.ndarray:
    """``values`` as a float array of ``shape`` with finite entries, else a ValueError naming ``who``."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: {what} must be numbers, got {values!r:.80}") from None
    if array.shape != shape:
        transposed = len(shape) == 2 and array.shape == shape[::-1]
        hint = " (that is the transpose: Nielsen's (nout, nin) layout)" if transposed else ""
        raise ValueError(f"{who}: {what} of shape {shape} expected, got {array.shape}{hint}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{who}: {what} must be finite")
    return array


def _check_bias_given(has: bool, given: bool, who: str) -> None:
    if has and not given:
        raise ValueError(f"{who} has biases: pass them too (or build the model with bias=False)")
    if given and not has:
        raise ValueError(f"{who} was built with bias=False: pass biases=None")


def _names(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(repr(n) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")
