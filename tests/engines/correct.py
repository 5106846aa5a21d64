"""A correct minimal micrograd-style engine: the conformance kit's tests plant bugs in copies of it.

Written the way learners write theirs (closures, ``grad +=``), with the
things micrograd gets wrong done right: parents in a tuple, an iterative
topological sort, a backward that resets every gradient of the graph first,
tanh and sigmoid that cannot overflow.
"""

import math


class Value:
    def __init__(self, data, _children=()):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        if isinstance(other, Value):
            return (other * self.log()).exp()
        out = Value(self.data ** other, (self,))

        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad
        out._backward = _backward
        return out

    def _unary(self, data, slope):
        out = Value(data, (self,))

        def _backward():
            self.grad += slope(out) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        return self._unary(math.exp(self.data), lambda out: out.data)

    def log(self):
        return self._unary(math.log(self.data), lambda out: 1.0 / self.data)

    def tanh(self):
        return self._unary(math.tanh(self.data), lambda out: 1.0 - out.data ** 2)

    def sigmoid(self):
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return self._unary(s, lambda out: out.data * (1.0 - out.data))

    def relu(self):
        return self._unary(max(self.data, 0.0), lambda out: 1.0 if out.data > 0 else 0.0)

    def sin(self):
        return self._unary(math.sin(self.data), lambda out: math.cos(self.data))

    def cos(self):
        return self._unary(math.cos(self.data), lambda out: -math.sin(self.data))

    def sqrt(self):
        return self._unary(math.sqrt(self.data), lambda out: 0.5 / out.data)

    def __abs__(self):
        return self._unary(abs(self.data), lambda out: math.copysign(1.0, self.data) if self.data else 0.0)

    def backward(self):
        topo, visited, stack = [], set(), [(self, False)]
        while stack:
            v, expanded = stack.pop()
            if expanded:
                topo.append(v)
            elif id(v) not in visited:
                visited.add(id(v))
                stack.append((v, True))
                stack.extend((child, False) for child in v._prev)
        for v in topo:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"
