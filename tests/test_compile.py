"""Compiled mode against its oracle, the scalar engine: same values and gradients, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autodiff
from autodiff import DomainError, GraphError, NonFiniteError, Value
from autodiff.compiled import Placeholder, TraceError, compile, relative_error  # noqa: A004
from autodiff.primitives import ADD, MUL, NEG, POW, SIGMOID, SUM

TOLERANCE = 1e-12  # float64, relative to the size of the results (see docs/compiled.md)


# -- networks of plain Values -------------------------------------------------------


def mlp(sizes: tuple[int, ...], activation: str = "tanh", seed: int = 0) -> tuple[list, list]:
    """Weights and biases of an MLP as Values: (layers of rows, layers of biases)."""
    rng = np.random.default_rng(seed)
    weights = [[[Value(rng.normal(), label=f"w{k}.{i}.{j}") for j in range(a)] for i in range(b)]
               for k, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    biases = [[Value(rng.normal(), label=f"b{k}.{i}") for i in range(b)] for k, b in enumerate(sizes[1:])]
    return weights, biases


def parameters(weights: list, biases: list) -> list[Value]:
    return [p for rows, bs in zip(weights, biases) for row, b in zip(rows, bs) for p in [*row, b]]


def network(weights: list, biases: list, activation: str = "tanh"):
    def outputs(x: list[Value]) -> list[Value]:
        a = x
        for rows, bs in zip(weights, biases):
            a = [getattr(autodiff.sum([*(w * ai for w, ai in zip(row, a)), b]), activation)()
                 for row, b in zip(rows, bs)]
        return a

    return outputs


def quadratic(outputs):
    def loss(x: list[Value], y: list[Value]) -> Value:
        return 0.5 * autodiff.sum([(a - t) ** 2 for a, t in zip(outputs(x), y)])

    return loss


def scalar_results(fn, params: list[Value], *arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The oracle: per-sample outputs and per-sample gradients (rows), by the scalar engine."""
    outputs, grads = [], []
    for b in range(len(arrays[0])):
        for p in params:
            p.grad = 0.0
        out = fn(*[[Value(float(v)) for v in a[b]] for a in arrays])
        if isinstance(out, Value):
            out.backward()
            out = [out]
        outputs.append([v.data for v in out])
        grads.append([p.grad for p in params])
    for p in params:
        p.grad = 0.0
    return np.array(outputs), np.array(grads)


def compiled_per_sample(program, params: list[Value], *arrays: np.ndarray) -> np.ndarray:
    """Gradients of each sample alone (batch of one), in the order of ``params``."""
    position = {id(p): i for i, p in enumerate(program.params)}
    rows = [program.value_and_grad(*[a[b:b + 1] for a in arrays], reduction="sum")[1]
            for b in range(len(arrays[0]))]
    return np.array(rows)[:, [position[id(p)] for p in params]]


@pytest.fixture
def small_net():
    weights, biases = mlp((5, 4, 3))
    params = parameters(weights, biases)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(8, 5)), rng.random((8, 3))
    return quadratic(network(weights, biases)), params, X, Y


# -- exactness ---------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_mlp_values_and_gradients_match_the_scalar_engine(activation):
    weights, biases = mlp((6, 5, 4, 2), seed=3)
    params = parameters(weights, biases)
    loss = quadratic(network(weights, biases, activation))
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(7, 6)), rng.random((7, 2))
    program = compile(loss, (X[:2], Y[:2]), params)
    values, grads = scalar_results(loss, params, X, Y)
    assert relative_error(program.forward(X, Y), values[:, 0]) <= TOLERANCE
    per_sample = compiled_per_sample(program, params, X, Y)
    for b in range(len(X)):
        assert relative_error(per_sample[b], grads[b]) <= TOLERANCE
    position = [program.params.index(p) for p in params]
    _, summed = program.value_and_grad(X, Y, reduction="sum")
    assert relative_error(summed[position], grads.sum(axis=0)) <= TOLERANCE
    agreement = program.verify(X, Y)
    assert agreement.values <= TOLERANCE and agreement.grads <= TOLERANCE


def test_mnist_shaped_net_matches_the_scalar_engine():
    weights, biases = mlp((784, 30, 10), seed=5)
    params = parameters(weights, biases)
    loss = quadratic(network(weights, biases, "sigmoid"))
    rng = np.random.default_rng(6)
    X, Y = rng.random((3, 784)), np.eye(10)[[1, 7, 3]]
    program = compile(loss, (X[:2], Y[:2]), params)
    assert [type(step).__name__ for step in program.plan.steps].count("Dense") == 2
    agreement = program.verify(X, Y)
    assert agreement.values <= TOLERANCE and agreement.grads <= TOLERANCE


def graph_inputs(graph, data: st.DataObject) -> tuple[int, np.ndarray]:
    """Split a random graph's inputs into per-sample inputs and parameters; draw a batch near its values."""
    count = len(graph.values)
    n_inputs = data.draw(st.integers(1, count), label="inputs")
    base = np.array(graph.values[:n_inputs])
    noise = data.draw(st.lists(st.floats(-1e-4, 1e-4), min_size=3 * n_inputs, max_size=3 * n_inputs))
    return n_inputs, base + np.array(noise).reshape(3, n_inputs)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_graphs_match_the_scalar_engine(data):
    from autodiff.testing.strategies import graphs

    graph = data.draw(graphs(max_inputs=4, max_nodes=8), label="graph")
    n_inputs, X = graph_inputs(graph, data)
    params = [Value(v, label=f"p{i}") for i, v in enumerate(graph.values[n_inputs:])]

    def fn(x: list[Value]) -> Value:
        return graph(*x, *params)

    try:
        values, grads = scalar_results(fn, params, X)
    except (ArithmeticError, ValueError):
        assume(False)  # a perturbed sample left the graph's safe domain
    program = compile(fn, X, params)  # every row is inside the domain (checked just above)
    assert relative_error(program.forward(X), values[:, 0]) <= TOLERANCE
    if params:
        per_sample = compiled_per_sample(program, params, X)
        for b in range(len(X)):
            assert relative_error(per_sample[b], grads[b]) <= TOLERANCE
        position = [program.params.index(p) for p in params]
        assert relative_error(program.value_and_grad(X, reduction="sum")[1][position],
                              grads.sum(axis=0)) <= TOLERANCE


def test_shared_weights_and_shared_factors_get_every_contribution():
    a, b = Value(0.7, label="a"), Value(-1.3, label="b")

    def fn(x: list[Value]) -> list[Value]:
        # a appears in every product of both sums (a repeated weight), b scales every input
        # (one parameter read by a whole group), and x[0] appears twice in one sum.
        s1 = autodiff.sum([a * x[0], a * x[1], a * x[0]])
        s2 = autodiff.sum([a * x[1], b * x[2]])
        return [autodiff.sum([s1.tanh(), s2]) * (b * x[0]), *(b * xi for xi in x)]

    X = np.random.default_rng(2).normal(size=(4, 3))
    program = compile(fn, X, [a, b])
    agreement = program.verify(X)
    assert agreement.values <= TOLERANCE
    values, _ = scalar_results(fn, [a, b], X)
    assert program.forward(X).shape == (4, 4)
    assert relative_error(program.forward(X), values) <= TOLERANCE

    loss = lambda x: autodiff.sum(fn(x)) ** 2  # noqa: E731
    program = compile(loss, X, [a, b])
    agreement = program.verify(X)
    assert agreement.values <= TOLERANCE and agreement.grads <= TOLERANCE


def test_nn_mlp_compiles():
    import nn
    model = nn.MLP(4, [3, 2], activation="tanh", seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 4)), rng.random((6, 2))
    train = compile(lambda x, y: nn.quadratic(model(x), y), (X[:2], Y[:2]), model.parameters())
    agreement = train.verify(X, Y)
    assert agreement.values <= TOLERANCE and agreement.grads <= TOLERANCE
    predict = compile(lambda x: model(x), X[:2], model.parameters())
    expected = np.array([[v.data for v in model(list(row))] for row in X])
    assert relative_error(predict.forward(X), expected) <= TOLERANCE


# -- parameters, .grad and the sync points ---------------------------------------------


def test_loss_and_grad_adds_into_grad_like_backward(small_net):
    loss, params, X, Y = small_net
    program = compile(loss, (X[:2], Y[:2]), params)
    _, grads = scalar_results(loss, params, X, Y)
    mean = program.loss_and_grad(X, Y)  # reduction="mean" by default
    assert mean == pytest.approx(program.forward(X, Y).mean(), rel=1e-14)
    assert relative_error([p.grad for p in params], grads.mean(axis=0)) <= TOLERANCE
    program.loss_and_grad(X, Y)  # a second call adds the same again, as backward() does
    assert relative_error([p.grad for p in params], 2 * grads.mean(axis=0)) <= TOLERANCE


def test_sgd_over_values_sees_the_new_parameters(small_net):
    loss, params, X, Y = small_net
    program = compile(loss, (X[:2], Y[:2]), params)
    before = program.forward(X, Y).mean()
    for _ in range(5):
        program.loss_and_grad(X, Y)
        for p in params:
            p.data -= 0.1 * p.grad
            p.grad = 0.0
    after = program.forward(X, Y).mean()
    assert after < before
    values, _ = scalar_results(loss, params, X, Y)
    assert relative_error(program.forward(X, Y), values[:, 0]) <= TOLERANCE
    # Assigning .data reorders the parameters in creation order; the graph is still the traced one.
    assert program.verify(X, Y).grads <= TOLERANCE


def test_parameters_kept_in_a_vector_between_sync_points(small_net):
    loss, params, X, Y = small_net
    program = compile(loss, (X[:2], Y[:2]), params)
    theta = program.read_params()
    assert sorted(map(id, program.params)) == sorted(map(id, params))
    assert theta.tolist() == [p.data for p in program.params]
    _, grad = program.value_and_grad(X, Y, params=theta)
    theta -= 0.5 * grad
    assert params[0].data != theta[program.params.index(params[0])]  # Values untouched until the sync
    program.write_params(theta)
    assert [p.data for p in program.params] == theta.tolist()
    assert all(p.grad == 0.0 for p in params)


def test_write_params_is_all_or_nothing(small_net):
    loss, params, X, Y = small_net
    program = compile(loss, (X[:2], Y[:2]), params)
    before = program.read_params()
    theta = before + 1.0
    theta[-1] = np.nan
    with pytest.raises(NonFiniteError, match=rf"theta\[{len(theta) - 1}\] is nan.*no parameter was changed"):
        program.write_params(theta)
    assert np.array_equal(program.read_params(), before)


def test_reductions_and_chunks(small_net):
    loss, params, X, Y = small_net
    program = compile(loss, (X[:2], Y[:2]), params)
    total, summed = program.value_and_grad(X, Y, reduction="sum")
    mean, averaged = program.value_and_grad(X, Y, reduction="mean")
    assert mean == pytest.approx(total / len(X), rel=1e-14)
    assert relative_error(averaged, summed / len(X)) <= 1e-15
    assert np.array_equal(program.forward(X, Y, chunk=3), program.forward(X, Y))
    with pytest.raises(ValueError, match="reduction must be one of"):
        program.value_and_grad(X, Y, reduction="max")


def test_float32_agrees_to_its_documented_tolerance(small_net):
    loss, params, X, Y = small_net
    program = compile(loss, (X[:2], Y[:2]), params, dtype=np.float32)
    assert program.read_params().dtype == np.float32
    values, grads = scalar_results(loss, params, X, Y)
    assert relative_error(program.forward(X, Y), values[:, 0]) <= 1e-5
    position = [program.params.index(p) for p in params]
    summed = program.value_and_grad(X, Y, reduction="sum")[1][position]
    assert relative_error(summed, grads.sum(axis=0)) <= 1e-5


# -- the printed plan ------------------------------------------------------------


def test_plan_groups_nodes_by_level_and_primitive(small_net):
    loss, params, X, Y = small_net
    assert str(compile(loss, (X[:2], Y[:2]), params)).splitlines() == [
        "loss(x[5], y[3]) with 39 parameters p, float64: 23 steps",
        "  level 1  dense    v[0:4] = p[0:20].reshape(4, 5) @ x[0:5] + p[32:36]",
        "  level 1  neg      v[4:7] = neg(y[0:3])",
        "  level 2  tanh     v[7:11] = tanh(v[0:4])",
        "  level 3  dense    v[11:14] = p[20:32].reshape(3, 4) @ v[7:11] + p[36:39]",
        "  level 4  tanh     v[14:17] = tanh(v[11:14])",
        "  level 5  add      v[17:20] = add(v[14:17], v[4:7])",
        "  level 6  pow      v[20:23] = pow(v[17:20], 2.0)",
        "  level 7  sum      v[23] = sum(v[20:23])",
        "  level 8  mul      v[24] = mul(0.5, v[23])",
        "  return v[24]",
        # The sweep's own graph from the seed: tanh's partial 1 - out * out, times what arrives; the
        # quadratic cost's (2 * d ** 1) * (0.5 * seed) folded to d * seed; a layer's gradient by its
        # inputs is W.T @ u; weights' gradients summed over the batch as U @ X.T, biases' as row sums.
        "  gradients, per sample:",
        "  level 3  mul      g[0:4] = mul(v[7:11], v[7:11])",
        "  level 4  neg      g[4:8] = neg(g[0:4])",
        "  level 5  mul      g[8:11] = mul(v[14:17], v[14:17])",
        "  level 5  add      g[11:15] = add(1.0, g[4:8])",
        "  level 6  mul      g[15:18] = mul(v[17:20], seed)",
        "  level 6  neg      g[18:21] = neg(g[8:11])",
        "  level 7  add      g[21:24] = add(1.0, g[18:21])",
        "  level 8  mul      g[24:27] = mul(g[21:24], g[15:18])",
        "  level 9  dense    g[27:31] = p[20:32].reshape(3, 4).T @ g[24:27]",
        "  level 10 mul      g[31:35] = mul(g[11:15], g[27:31])",
        "  summed over the batch:",
        "  outer          dloss_dp[0:20].reshape(4, 5) = g[31:35] @ x[0:5].T",
        "  outer          dloss_dp[20:32].reshape(3, 4) = g[24:27] @ v[7:11].T",
        "  sum            dloss_dp[32:36] = g[31:35]",
        "  sum            dloss_dp[36:39] = g[24:27]",
    ]


# -- honest limits -----------------------------------------------------------------


def test_python_decisions_on_inputs_are_refused_while_tracing():
    w = Value(1.0)

    def fn(x: list[Value]) -> Value:
        return w * x[0] if x[0] > 0 else -w * x[0]

    with pytest.raises(TraceError, match=r"compared the input 'x\[0\]' with 0 .*relu instead of an if"):
        compile(fn, [1.0], [w])
    with pytest.raises(TraceError, match="read the number of the input"):
        compile(lambda x: w * x[0].data, [1.0], [w])
    assert isinstance(Placeholder(1.0), Value)


def test_a_graph_that_depends_on_the_data_is_detected():
    w = Value(1.0, label="w")

    def fn(x: list[Value]) -> Value:
        z = w * x[0]
        return z.tanh() if z > 0 else z.sigmoid()  # a decision on a computed value

    with pytest.raises(TraceError, match=r"depends on its inputs: node \d+ is (tanh|sigmoid).*relu instead"):
        compile(fn, [[1.0], [-1.0]], [w])
    program = compile(fn, [[1.0], [2.0]], [w])  # the examples agree: compiled...
    with pytest.raises(TraceError, match="sample 1 gives a different graph"):
        program.verify(np.array([[3.0], [-3.0]]))  # ... but verify finds the other branch


def test_constants_taken_from_the_data_are_detected():
    import nn
    model = nn.MLP(2, [2], activation="linear", seed=0)

    def shifted_by_a_number(x: list[Value]) -> Value:
        z = model(x)
        top = max(v.data for v in z)  # a number read off the data: the trace would bake it in
        return autodiff.sum([(v - top).exp() for v in z]).log()

    with pytest.raises(TraceError, match="the constant"):
        compile(shifted_by_a_number, [[1.0, 2.0], [-3.0, 0.5]], model.parameters())


def test_stable_softmax_losses_compile_and_match_the_scalar_engine():
    import nn
    model = nn.MLP(2, [3, 3], output_activation="linear", seed=0)
    inputs = np.array([[1.0, 2.0], [-3.0, 0.5], [400.0, -300.0]])  # large logits too
    program = compile(lambda x: nn.cross_entropy(model(x), 1), inputs, model.parameters())
    agreement = program.verify(inputs)
    assert agreement.values < 1e-12 and agreement.grads < 1e-12


def test_values_from_outside_must_be_parameters():
    w, hidden = Value(1.0, label="w"), Value(2.0, label="hidden")
    with pytest.raises(TraceError, match="'hidden' = 2.0, a Value made outside fn that is not in params"):
        compile(lambda x: w * x[0] + hidden, [1.0], [w])
    with pytest.raises(GraphError, match="parameters must be leaves"):
        compile(lambda x: w * x[0], [1.0], [w * 2])
    with pytest.raises(GraphError, match="listed twice"):
        compile(lambda x: w * x[0], [1.0], [w, w])
    with pytest.raises(GraphError, match="no_grad"), autodiff.no_grad():
        compile(lambda x: w * x[0], [1.0], [w])


def test_bad_batches_and_results_get_clear_errors(small_net):
    loss, params, X, Y = small_net
    program = compile(loss, (X[:2], Y[:2]), params)
    with pytest.raises(ValueError, match=r"x must be a 2-D array of shape \(batch, 5\)"):
        program.forward(X[0], Y[0])
    with pytest.raises(TypeError, match="takes 2 arrays"):
        program.forward(X)
    with pytest.raises(TraceError, match="must return a Value or a list of Values"):
        compile(lambda x: 3.0, [1.0])
    layer = mlp((5, 2))
    outputs = compile(network(*layer), X[:2], parameters(*layer))
    with pytest.raises(GraphError, match="returns one Value"):
        outputs.value_and_grad(X)


def test_domain_errors_and_non_finite_inputs_are_named():
    w = Value(1.0, label="w")
    program = compile(lambda x: (w * x[0]).log(), [[1.0], [2.0]], [w])
    with pytest.raises(DomainError, match=r"log is undefined for x = -2.0 .*sample 1.*x > 0"):
        program.forward(np.array([[1.0], [-2.0]]))
    with pytest.raises(NonFiniteError, match=r"input x\[0\] of sample 1 is nan"):
        program.value_and_grad(np.array([[1.0], [np.nan]]))
    program = compile(lambda x: (w * x[0]).exp(), [[1.0], [2.0]], [w])
    with pytest.raises(NonFiniteError, match="exp overflowed"):
        program.forward(np.array([[1000.0]]))


# -- as strict as the scalar engine about numbers that are not finite (issue 9, item 7) ------------


@pytest.mark.parametrize("make, batch, theta, where", [
    (lambda w, x: (w * x[0]).tanh(), [[np.inf]], [0.5], r"input x\[0\] of sample 0 is inf"),
    (lambda w, x: (w * x[0]).relu(), [[1.0]], [-np.inf], r"parameter 0 .* is -inf"),
    (lambda w, x: x[0] ** 0 * w, [[np.nan]], [2.0], r"input x\[0\] of sample 0 is nan"),
    (lambda w, x: (w * x[0]).exp().tanh(), [[800.0]], [1.0], "exp overflowed"),
])
def test_non_finite_numbers_on_the_way_raise_like_the_scalar_engine(make, batch, theta, where):
    w = Value(1.0, label="w")
    program = compile(lambda x: make(w, x), [[0.5], [1.5]], [w])
    with pytest.raises(NonFiniteError, match=where):
        program.value_and_grad(np.array(batch), params=np.array(theta))
    with pytest.raises(NonFiniteError, match=where):
        program.forward(np.array(batch), params=np.array(theta))


def test_a_matrix_product_that_overflows_is_named():
    weights, biases = mlp((3, 2, 1))
    program = compile(quadratic(network(weights, biases)), (np.ones((2, 3)), np.ones((2, 1))),
                      parameters(weights, biases))
    theta = np.full(len(program.params), 1e200)
    with pytest.raises(NonFiniteError, match="dense sum .* overflowed"):
        program.value_and_grad(np.full((2, 3), 1e200), np.ones((2, 1)), params=theta)


def test_a_floating_point_error_whose_result_is_finite_still_gives_the_scalar_answer():
    # pow's partial by x computes 0 ** -1 at x = 0 and then masks it (x ** 0 is flat): no error, gradient 0.
    w = Value(0.0, label="w")
    program = compile(lambda x: (w * x[0]) ** 0 + w * x[0], [[1.0], [2.0]], [w])
    loss, grad = program.value_and_grad(np.array([[1.0], [3.0]]), reduction="sum")
    assert (loss, grad.tolist()) == (2.0, [4.0])


def test_relative_error_against_an_all_zero_reference_is_the_absolute_difference():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1e-3, 0.0]), np.zeros(2)) == 1e-3


# -- generated code, patterns, tracing -------------------------------------------------------------


def test_generated_code_is_shown_and_agrees_with_the_step_by_step_plan():
    weights, biases = mlp((4, 3, 2), seed=5)
    params = parameters(weights, biases)
    examples = (np.ones((2, 4)), np.ones((2, 2)))
    program = compile(quadratic(network(weights, biases, "sigmoid")), examples, params)
    source = program.source(5)
    assert "def gradient(theta, in0, in1, gtheta, seed):" in source and "np.matmul" in source
    # The quadratic cost is one pattern: a - y written once (read by the gradients: a receives d * seed);
    # sigmoid's partial out * (1 + neg(out)) is written out * (1 - out), with no negation.
    values = source[:source.index("def forward")]
    assert values.count("np.subtract(") == 1 and "np.negative(" not in source[source.index("def gradient"):]
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(5, 4)), rng.random((5, 2))
    theta = program.read_params()
    _, fast = program.value_and_grad(X, Y, params=theta, reduction="sum")
    careful = program._careful_gradient([X.T, Y.T], theta, 1.0)
    assert relative_error(fast, careful) < TOLERANCE
    out = np.empty_like(theta)
    assert program.value_and_grad(X, Y, params=theta, reduction="sum", out=out)[1] is out
    with pytest.raises(ValueError, match="out must be a float64 vector of 23 numbers"):
        program.value_and_grad(X, Y, params=theta, out=np.empty(3))


def _table_forward(pattern: str, a: dict) -> np.ndarray:
    """What the pattern covers, computed node by node with the table's NumPy forms."""
    if pattern == "dense":
        W, x = a["W"], a["x"]
        return np.array([SUM.array_forward(*[MUL.array_forward(W[i, j], x[j]) for j in range(W.shape[1])])
                         for i in range(W.shape[0])])
    if pattern == "square":
        return POW.array_forward(a["x"], np.full_like(a["x"], 2.0))
    if pattern == "sigmoid":
        return SIGMOID.array_forward(a["x"])
    d = ADD.array_forward(a["a"], NEG.array_forward(a["y"]))
    total = SUM.array_forward(*POW.array_forward(d, np.full_like(d, 2.0)))
    return MUL.array_forward(np.full_like(total, a["c"]), total)


@pytest.mark.parametrize("pattern", [p.name for p in __import__("autodiff.compiled.patterns",
                                                                fromlist=["PATTERNS"]).PATTERNS])
def test_each_fused_pattern_is_what_the_table_gives_node_by_node(pattern):
    from autodiff.compiled.patterns import PATTERNS

    chosen = next(p for p in PATTERNS if p.name == pattern)
    rng = np.random.default_rng(3)
    arrays = {"W": rng.normal(size=(3, 4)), "x": rng.normal(size=(4, 5)) if pattern == "dense" else
              rng.normal(size=(3, 5)) * 4,
              # the quadratic cost's outputs, targets and factor
              "a": rng.random((3, 5)), "y": rng.random((3, 5)), "c": 0.5}
    assert relative_error(chosen.evaluate(arrays), _table_forward(pattern, arrays)) < TOLERANCE


def test_generated_code_calls_no_partial_and_the_gradients_are_the_engines_own_graph():
    """Compiled mode has no backward: its gradients are the Value sweep's recorded graph, run forward."""
    weights, biases = mlp((4, 3, 2), seed=5)
    params = parameters(weights, biases)
    loss = quadratic(network(weights, biases, "sigmoid"))
    program = compile(loss, (np.ones((2, 4)), np.ones((2, 2))), params)
    source = program.source(3)
    assert ".partial(" not in source and "backward through sigmoid at v[" in source
    assert [type(step).__name__ for step in program.plan.reductions] == ["Outer", "Outer", "Reduce", "Reduce"]
    from pathlib import Path

    import autodiff.compiled as compiled_package

    code = "\n".join(path.read_text() for path in Path(compiled_package.__file__).parent.glob("*.py"))
    assert ".partial(" not in code and "def backward" not in code


def test_assigning_data_while_tracing_is_refused():
    w = Value(2.0, label="w")

    def sneaky(x):
        c = Value(1.0)
        y = w * x[0] * c
        c.data = 5.0  # the graph would record 5.0 although y was computed with 1.0
        return y

    with pytest.raises(TraceError, match="assigned .data of a Value after using it"):
        compile(sneaky, [[1.0], [2.0]], [w])


def test_the_package_is_autodiff_compiled_and_compile_is_the_function():
    import importlib.util

    assert importlib.util.find_spec("autodiff.compile") is None
    assert autodiff.compile is compile and callable(autodiff.compile)


@pytest.mark.parametrize("chunk", [0, -3, 2.5, True])
def test_forward_refuses_a_chunk_that_is_not_a_positive_whole_number(chunk):
    w = Value(0.5, label="w")
    program = compile(lambda x: (x[0] * w).tanh(), np.array([[1.0], [2.0]]), [w])
    with pytest.raises(ValueError, match="chunk"):
        program.forward(np.array([[1.0], [2.0]]), chunk=chunk)
    assert program.forward(np.array([[1.0], [2.0], [3.0]]), chunk=2).shape == (3,)


def test_batches_by_row_indices_give_value_and_grad_of_those_rows_and_stay_strict():
    weights, biases = mlp((4, 3, 2), "sigmoid", seed=2)
    program = compile(quadratic(network(weights, biases, "sigmoid")), (np.ones((2, 4)), np.ones((2, 2))),
                      parameters(weights, biases))
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(9, 4)).astype(np.float32), rng.random((9, 2))
    steps, theta, rows = program.batches(X, Y, reduction="sum"), program.read_params(), np.array([7, 0, 3])
    loss, grad = steps.value_and_grad(rows, params=theta)
    want_loss, want = program.value_and_grad(X[rows], Y[rows], params=theta, reduction="sum")
    assert abs(loss - want_loss) <= TOLERANCE * abs(want_loss) and relative_error(grad, want) < TOLERANCE
    with pytest.raises(ValueError, match="rows must be a 1-D array of sample indices"):
        steps.value_and_grad(np.array([True, False]), params=theta)
    with pytest.raises(ValueError, match=r"x must be a 2-D array of shape \(batch, 4\)"):
        program.batches(X[:, :3], Y)
    Y[3, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"input y\[1\] of sample 2 is nan"):
        steps.value_and_grad(rows, params=theta)


def test_compile_composed_gives_the_programs_separate_traces_give():
    from autodiff.compiled import compile_composed

    weights, biases = mlp((3, 4, 2), seed=2)
    params = parameters(weights, biases)
    model = network(weights, biases, "sigmoid")

    def cost(outputs, y):
        return 0.5 * autodiff.sum([(a - t) ** 2 for a, t in zip(outputs, y)])

    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(6, 3)), rng.random((6, 2))
    loss_program, model_program = compile_composed(cost, model, (X[:4], Y[:4]), params)
    alone = compile(model, X[:4], params)
    # The model's part of the loss's graph is the graph a trace of the model alone records.
    assert model_program._graph.difference(alone._graph) is None and str(model_program) == str(alone)
    assert np.array_equal(model_program.forward(X), alone.forward(X))
    assert model_program.verify(X).values < TOLERANCE
    agreement = loss_program.verify(X, Y)
    assert agreement.values < TOLERANCE and agreement.grads < TOLERANCE
    assert "cost(x[3], y[2])" in str(loss_program)


@pytest.mark.parametrize("extra", ["scaled", "outputs reused", "target reused"])
def test_the_fused_quadratic_cost_inside_larger_graphs_agrees_with_the_scalar_engine(extra):
    weights, biases = mlp((3, 4, 2), seed=6)
    params = parameters(weights, biases)
    model = network(weights, biases, "sigmoid")

    def loss(x, y):
        a = model(x)
        cost = 0.5 * autodiff.sum([(aj - yj) ** 2 for aj, yj in zip(a, y)])
        if extra == "scaled":  # the cost's result is read by another step: its upstream is not the seed
            return 3.0 * cost
        if extra == "outputs reused":  # a gets a second gradient, added to the cost's
            return cost + autodiff.sum(a).tanh()
        return cost * (y[0] + 1.0)  # y is read elsewhere: neg(y) stays one step of the pattern

    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(5, 3)), rng.random((5, 2))
    program = compile(loss, (X[:3], Y[:3]), params)
    assert "np.subtract(" in program.source(5)
    agreement = program.verify(X, Y)
    assert agreement.values < TOLERANCE and agreement.grads < TOLERANCE


def test_a_primitives_name_never_becomes_code_in_the_generated_source():
    # The generated source is the project's own text and numbers: a name that would be
    # code, or that is one of the generated code's own names, changes nothing.
    def square_named(name: str) -> autodiff.Primitive:
        return autodiff.Primitive(
            name=name, symbol=name, arity=1, forward=lambda x: x * x, array_forward=lambda x: x * x,
            partials=(lambda args, out, m: 2 * args[0],), formulas=("2 * x",))

    names = ["np", "theta", "vals", 'x); raise SystemExit("injected"); (', "for"]
    a = Value(0.7, label="a")

    def loss(x: list[Value]) -> Value:
        terms = [autodiff.apply(square_named(name), a * x[i]) for i, name in enumerate(names)]
        return autodiff.sum(terms)

    X = np.random.default_rng(4).normal(size=(10, len(names)))
    program = compile(loss, X, [a])
    agreement = program.verify(X)
    assert agreement.values <= TOLERANCE and agreement.grads <= TOLERANCE
    source = program.source()
    assert "raise SystemExit" not in source and '"injected"' not in source  # at most inside a name
    assert "def gradient(theta" in source


def test_a_primitive_whose_partial_reads_numbers_is_refused_and_one_written_with_m_compiles():
    """A user's partial that compares numbers on Values would be recorded as one constant for every sample."""
    from autodiff.primitives import Primitive
    from autodiff.value import apply

    def bent(name, partial):
        return Primitive(name=name, symbol=name, arity=1, forward=lambda x: x if x < 1 else 3 * x - 2,
                         array_forward=lambda x: np.where(x < 1, x, 3 * x - 2), partials=(partial,),
                         formulas=("1 if x < 1 else 3",))

    w = Value(1.0)
    X = np.array([[-1.0], [2.0]])  # exp(x) below 1 for the first sample, above for the second
    reads = bent("test_reads_numbers", lambda a, out, m: 1.0 if a[0] < 1 else 3.0)
    with pytest.raises(TraceError, match="the gradients of <lambda> depend on its inputs .* a partial of "
                                         "test_reads_numbers gives a plain number on Values"):
        compile(lambda x: apply(reads, (w * x[0]).exp()), X, [w])
    recorded = bent("test_recorded_slope", lambda a, out, m: 1.0 + 2.0 * m.step(a[0] - 1.0))
    program = compile(lambda x: apply(recorded, (w * x[0]).exp()), X[:1], [w])
    _, gradient = program.value_and_grad(X, reduction="sum")
    assert gradient[0] == pytest.approx(np.exp(-1.0) * -1.0 + 3 * np.exp(2.0) * 2.0, rel=1e-12)


def test_a_gradient_that_overflows_is_named_by_the_backward_step_it_came_from():
    w = Value(1.0, label="w")

    def loss(x):
        h3 = (w * x[0]).log()
        h3.label = "h3"
        return h3 * 2.0

    program = compile(loss, [[0.3]], [w])
    source = program.source(1)
    assert "# backward through log at h3 (v[1])" in source and "# dloss_dw, summed over the batch" in source
    # d log(x)/dx = 1/x overflows at x = 1e-310, where the loss itself is finite: so does the scalar engine.
    with pytest.raises(NonFiniteError, match=r"^backward through log at h3 \(v\[1\]\): pow overflowed to inf "
                                             r"for x = 1e-310 .*\(sample 1, node g\[\d+\]\)"):
        program.value_and_grad(np.array([[0.3], [1e-310]]))
    with pytest.raises(NonFiniteError, match="backward through log"):
        ((w * Value(1e-310)).log() * 2.0).backward()


def test_a_label_never_reaches_the_generated_code_but_as_a_comment_of_printable_ascii():
    w = Value(1.0, label="w\nimport os; os.remove('x')  # é")
    program = compile(lambda x: (w * x[0]).tanh(), [[0.3]], [w])
    source = program.source(1)
    assert "\nimport os" not in source and "# dloss_dw?import os; os.remove('x')  # ?, summed" in source
    assert program.value_and_grad(np.array([[0.3]]))[1][0] == pytest.approx(0.3 * (1 - np.tanh(0.3) ** 2))
