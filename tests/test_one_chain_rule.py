"""One chain rule: backward's float pass is a specialisation of ``chain_rule``, and gives its very numbers.

``backward()`` runs an unrolled pass over floats in the nodes' slots (twice
as fast on a network); the stepper, ``explain`` and the checks run
:class:`autodiff.backward.Sweep`, which applies :func:`chain_rule` node by
node; ``grad`` and compiled mode run the same sweep over recorded Values.
On random graphs drawn from the whole table, the first two must give the
same floats, bit for bit; the Value sweep adds a node's parts as one n-ary
sum in the order they arrived, as the float pass adds into the node, but a
few elementary functions are compositions there (``hypot`` is
``sqrt(x*x + y*y)`` over Values), so it agrees to a few ulps.
"""

from __future__ import annotations

from hypothesis import given, settings

from autodiff.backward import Sweep, chain_rule, gradients
from autodiff.testing.strategies import graphs


@settings(max_examples=150, deadline=None)
@given(graphs(max_nodes=12))
def test_the_float_pass_the_sweep_and_the_value_sweep_give_the_same_floats(graph):
    inputs, root = graph.build()
    root.backward()
    fast = [v.grad for v in inputs]
    swept = Sweep(root).run().grads
    assert [swept.get(v, 0.0) for v in inputs] == fast
    recorded = [g if isinstance(g, float) else g.data for g in gradients(root, inputs)]
    assert all(abs(r - f) <= 1e-12 * max(1.0, abs(f)) for r, f in zip(recorded, fast))


def test_the_sweep_is_chain_rule_node_by_node():
    """What Sweep.run does is chain_rule at every node in reverse topological order, nothing else."""
    from autodiff import Value

    x, y = Value(0.5, label="x"), Value(-1.5, label="y")
    root = ((x * y).tanh() + x * x).exp()
    grads = dict.fromkeys(Sweep(root).order, 0.0)
    grads[root] = 1.0
    for node in reversed(Sweep(root).order):
        if node.parents:
            chain_rule(node, grads)
    assert grads == Sweep(root).run().grads
