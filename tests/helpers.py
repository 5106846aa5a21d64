"""Small graphs several test files use."""

from autodiff import Value


def labelled_neuron():
    """The tanh neuron of the README, every node labelled: (o, x, w, b), before backward."""
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.8813735870195432, label="b")
    n = x * w + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, x, w, b
