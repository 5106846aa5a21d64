"""The catalogue of mistakes: each mistake, planted in a small engine written here, is named by diagnose."""

from __future__ import annotations

import math

import pytest

from autodiff import Value
from autodiff.testing.mistakes import CATALOGUE, MISTAKES, diagnose, predictions


class Mini:
    """A micrograd-style engine written for these tests, with one switch per planted mistake."""

    bug = ""

    def __init__(self, data, parents=(), rule=None):
        self.data, self.grad, self.parents, self.rule = data, 0.0, parents, rule

    def _send(self, parent, local):
        c = local * self.grad
        if Mini.bug == "upstream-missing":
            c = local
        if Mini.bug == "upstream-doubled":
            c = 2 * local * self.grad
        parent.grad = c if Mini.bug == "assigned" else parent.grad + c

    def __add__(self, o):
        o = o if isinstance(o, Mini) else Mini(o)
        return Mini(self.data + o.data, (self, o), lambda n: (n._send(self, 1.0), n._send(o, 1.0)))

    def __mul__(self, o):
        o = o if isinstance(o, Mini) else Mini(o)
        return Mini(self.data * o.data, (self, o), lambda n: (n._send(self, o.data), n._send(o, self.data)))

    def __neg__(self):
        return Mini(-self.data, (self,), lambda n: n._send(self, 1.0 if Mini.bug == "sign" else -1.0))

    def __sub__(self, o):
        return self + (-o)

    def __pow__(self, k):
        def rule(n):
            local = k * self.data ** (k - 1)
            if Mini.bug == "power-rule-factor":
                local = self.data ** (k - 1)
            if Mini.bug == "power-rule-exponent":
                local = k * self.data**k
            n._send(self, local)
        return Mini(self.data**k, (self,), rule)

    def __truediv__(self, o):
        return self * o**-1

    def tanh(self):
        t = math.tanh(self.data)
        at = self.data if Mini.bug == "at-input" else t
        return Mini(t, (self,), lambda n: n._send(self, 1 - at * at))

    def exp(self):
        e = math.exp(self.data)
        return Mini(e, (self,), lambda n: n._send(self, self.data if Mini.bug == "at-input" else e))

    def backward(self):
        order, seen = [], set()

        def build(v):
            if Mini.bug != "visited-twice":
                if id(v) in seen:
                    return
                seen.add(id(v))
            for p in v.parents:
                build(p)
            order.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(order):
            if v.rule:
                v.rule(v)


def program(a, b):
    u = a * b                         # shared: used by tanh and by the product below
    t = u.tanh()
    return t * u * a - b**3 / a + (a * 0.5).exp()


def planted(bug):
    Mini.bug = bug
    try:
        a, b = Mini(0.7), Mini(-1.3)
        program(a, b).backward()
        return a.grad, b.grad
    finally:
        Mini.bug = ""


def engine_graph():
    a, b = Value(0.7, label="a"), Value(-1.3, label="b")
    return program(a, b), a, b


def test_the_right_engine_matches_ours_and_nothing_is_diagnosed():
    root, a, b = engine_graph()
    root.backward()
    assert planted("") == pytest.approx((a.grad, b.grad), rel=1e-12)
    assert diagnose(root, {a: a.grad, b: b.grad}) == []


@pytest.mark.parametrize("name", [m.name for m in CATALOGUE if m.name != "dropped-path"])
def test_each_planted_mistake_is_named(name):
    ga, gb = planted(name)
    root, a, b = engine_graph()
    found = [m.name for m in diagnose(root, {a: ga, b: gb})]
    assert name in found, found


def test_a_dropped_path_is_predicted_per_consumer():
    a = Value(0.7, label="a")
    t = a.tanh()
    root = t * a                      # a reaches root directly and through tanh
    root.backward()
    direct, through = t.data, a.data * (1 - t.data**2)
    dropped = {round(p.value, 12) for p in predictions(root, a) if p.mistake is MISTAKES["dropped-path"]}
    assert dropped == {round(through, 12), round(direct, 12)}
    assert a.grad == pytest.approx(direct + through)
    # over a whole sweep, keeping only the first contribution (the direct one here) drops the other
    assert "dropped-path" in [m.name for m in diagnose(root, {a: direct})]


def test_predictions_at_one_node_keep_everything_else_right():
    x = Value(0.3, label="x")
    y = (x * 2.0).tanh()              # dy/dx = 2 (1 - y**2); at the input: 2 (1 - (2x)**2)
    found = {p.mistake.name: p.value for p in predictions(y, x)}
    # the mistake at x's contributions only: tanh's partial is upstream of x's edge, so it is right
    assert "at-input" not in found
    inner = x * 2.0
    y = inner.tanh()
    found = {p.mistake.name: p.value for p in predictions(y, inner)}
    assert found["at-input"] == pytest.approx(1 - 0.6**2)
    assert found["upstream-doubled"] == pytest.approx(2 * (1 - math.tanh(0.6) ** 2))


def test_a_subtraction_and_a_quotient_are_diagnosed_where_the_learner_sees_them():
    x, y = Value(1.5, label="x"), Value(2.0, label="y")
    d = x - y
    found = {p.mistake.name: p.value for p in predictions(d, y)}
    assert found["sign"] == pytest.approx(1.0)
    q = x / y
    found = {p.mistake.name: p.value for p in predictions(q, y)}
    assert found["power-rule-factor"] == pytest.approx(x.data / y.data**2)   # the minus lost
