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


def labelled_chain(weights=(0.5, -1.2, 0.8), biases=(0.1, 0.3, -0.2), a0=0.6, y=1.0):
    """3Blue1Brown's chain: input a0 and three one-neuron sigmoid layers, cost C = (a3 - y)**2, labelled."""
    a = Value(a0, label="a0")
    for layer, (w, b) in enumerate(zip(weights, biases), start=1):
        z = Value(w, label=f"w{layer}") * a + Value(b, label=f"b{layer}")
        z.label = f"z{layer}"
        a = z.sigmoid()
        a.label = f"a{layer}"
    difference = a - y
    difference.label = "a3 - y"
    cost = difference**2
    cost.label = "C"
    return cost
