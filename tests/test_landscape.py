"""nn.landscape: the loss over two coordinates in one replay, optimizer paths on it, its Hessian, pictures."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

import nn
from autodiff import Value
from nn import datasets, landscape
from nn.classics import Unavailable, gallery, line_fit
from nn.landscape import __main__ as cli

POINTS = datasets.linear_points(30, seed=2)


def line_error(points: np.ndarray):
    """The line fit's error as a function of (m, b), written directly with Values."""
    def error(p: list[Value]) -> Value:
        m, b = p
        return sum(((y - (m * x + b)) ** 2 for x, y in points.tolist()), Value(0.0)) / len(points)
    return error


def scalar_error(points: np.ndarray, m: float, b: float) -> float:
    return line_error(points)([Value(m), Value(b)]).data


def real_points() -> np.ndarray:
    try:
        return line_fit.points()
    except Unavailable as error:
        if gallery.skip_fails():
            pytest.fail(f"the line-fit data is needed under CI=true: {error}")
        pytest.skip(str(error))


def test_the_surface_is_the_scalar_engines_loss_at_every_point_from_one_replay(monkeypatch):
    valley = landscape.Landscape(line_error(POINTS), names=("m", "b"))
    calls = []
    forward = valley.program.forward
    monkeypatch.setattr(valley.program, "forward", lambda *a, **k: calls.append(a) or forward(*a, **k))
    surface = valley.surface((0.0, 2.0, 7), (-3.0, 9.0, 5))
    assert len(calls) == 1 and calls[0][0].shape == (35, 2)  # every grid point a row of one batch
    assert surface.losses.shape == (5, 7) and surface.names == ("m", "b")
    for i, b in enumerate(surface.ys):
        for j, m in enumerate(surface.xs):
            assert surface.losses[i, j] == pytest.approx(scalar_error(POINTS, m, b), rel=1e-12)


def test_sgd_on_the_landscape_is_nn_fit_on_the_model():
    valley = line_fit.valley(POINTS)
    path = valley.descend(lambda p: nn.SGD(p, lr=1e-4), start=(0.0, 0.0), steps=200)
    model = line_fit.model_at_zero()
    history = nn.fit(model, POINTS[:, :1], POINTS[:, 1:], nn.mse, nn.SGD(model.parameters(), lr=1e-4),
                     epochs=200, reduction="mean", progress=False)
    (weight,), (bias,) = model.get_weights()
    assert path.points[-1] == pytest.approx([weight[0, 0], bias[0]], rel=1e-12)
    assert path.losses[:-1] == pytest.approx(history.losses, rel=1e-12)
    assert path.points.shape == (201, 2) and path.label == "SGD (lr=0.0001)"


def test_momentum_and_adam_follow_their_rules_from_the_same_start():
    quadratic = landscape.Landscape(lambda p: 3 * p[0] ** 2 + p[1] ** 2, names=("u", "v"))
    momentum = quadratic.descend(lambda p: nn.SGD(p, lr=0.1, momentum=0.5), (1.0, 2.0), 2)
    # by hand: v1 = g0, p1 = p0 - lr v1; v2 = 0.5 v1 + g1, p2 = p1 - lr v2, with g = (6u, 2v)
    p0 = np.array([1.0, 2.0])
    g0 = np.array([6.0, 2.0]) * p0
    p1 = p0 - 0.1 * g0
    p2 = p1 - 0.1 * (0.5 * g0 + np.array([6.0, 2.0]) * p1)
    assert momentum.points == pytest.approx(np.array([p0, p1, p2]))
    adam = quadratic.descend(lambda p: nn.Adam(p, lr=0.01), (1.0, 2.0), 1)
    assert adam.points[1] == pytest.approx([0.99, 1.99])  # Adam's first step is lr in each coordinate
    assert adam.label == "Adam (lr=0.01)"


def test_the_hessian_is_the_datas_and_its_condition_number_is_the_valleys():
    valley = line_fit.valley(POINTS)
    x = POINTS[:, 0]
    expected = 2 / len(x) * np.array([[x @ x, x.sum()], [x.sum(), len(x)]])
    assert valley.hessian((0.3, -1.0)) == pytest.approx(expected, rel=1e-12)
    assert valley.condition((0.3, -1.0)) == pytest.approx(np.linalg.cond(expected), rel=1e-9)
    saddle = landscape.Landscape(lambda p: p[0] * p[1])
    assert saddle.hessian((2.0, 3.0)).tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert saddle.condition((2.0, 3.0)) == float("inf")  # not a bowl


def test_random_directions_through_a_model_and_its_parameters_restored():
    model = nn.MLP(3, [3, 1], seed=4)
    inputs, labels = datasets.xor()
    before = model.parameters()
    first, second = landscape.random_directions(model, seed=1)
    theta = np.array([p.data for p in before])
    assert abs(first @ second) < 1e-9 and np.linalg.norm(first) == pytest.approx(np.linalg.norm(theta))
    view = landscape.from_model(model, inputs, labels, nn.quadratic, axes=(first, second))
    assert view.names == ("direction 1", "direction 2")
    assert model.parameters() == before and [p.data for p in before] == theta.tolist()  # nothing moved

    def loss_at(vector: np.ndarray) -> float:
        for p, v in zip(model.parameters(), vector):
            p.data = float(v)
        total = sum(nn.quadratic(model(x), y).data for x, y in zip(inputs.tolist(), labels.tolist()))
        return total / len(inputs)

    surface = view.surface([0.0, 0.5], [-1.0, 0.0])
    at = {(s, t): surface.losses[i, j] for i, t in enumerate(surface.ys) for j, s in enumerate(surface.xs)}
    assert at[(0.0, 0.0)] == pytest.approx(loss_at(theta), rel=1e-12)
    assert at[(0.5, -1.0)] == pytest.approx(loss_at(theta + 0.5 * first - second), rel=1e-12)


def test_two_parameters_of_a_model_as_axes_keep_the_others_fixed():
    model = nn.MLP(1, [2, 1], activation="tanh", output_activation="linear", seed=0)
    params = model.parameters()
    scaled = POINTS / 50
    view = landscape.from_model(model, scaled[:, :1], scaled[:, 1:], nn.mse, axes=(params[0], params[-1]))
    assert view.names == (params[0].label, params[-1].label)
    loss, _ = view.value_and_grad((params[0].data, params[-1].data))
    expected = sum(nn.mse(model([x]), [y]).data for x, y in scaled.tolist()) / len(POINTS)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_mistakes_are_named():
    valley = landscape.Landscape(line_error(POINTS))
    with pytest.raises(ValueError, match="x axis must be"):
        valley.surface((1.0, 0.0, 5), (0.0, 1.0, 5))
    with pytest.raises(ValueError, match="steps must be a whole number"):
        valley.descend(lambda p: nn.SGD(p, lr=0.1), (0.0, 0.0), -1)
    with pytest.raises(ValueError, match="start must be two finite numbers"):
        valley.descend(lambda p: nn.SGD(p, lr=0.1), (0.0, float("nan")), 1)
    with pytest.raises(TypeError, match="must return one Value"):
        landscape.Landscape(lambda p: 1.0)
    model = nn.MLP(1, [1], activation="linear")
    with pytest.raises(ValueError, match="two different parameters of the model"):
        landscape.from_model(model, [[1.0]], [[1.0]], nn.mse, axes=(Value(1.0), model.parameters()[0]))
    with pytest.raises(ValueError, match="one number per parameter"):
        landscape.from_model(model, [[1.0]], [[1.0]], nn.mse, axes=([1.0], [0.0, 1.0]))


def test_a_diverging_step_is_a_clear_error_not_a_nan():
    valley = landscape.Landscape(lambda p: p[0] ** 2 + p[1] ** 2)
    with pytest.raises(Exception, match="(?i)non-finite|overflow|inf"):
        valley.descend(lambda p: nn.SGD(p, lr=1e200), (1.0, 1.0), 5)


def test_the_picture_is_written_and_the_same_bytes_twice(tmp_path):
    valley = landscape.Landscape(line_error(POINTS), names=("m", "b"))
    paths = [valley.descend(lambda p: nn.SGD(p, lr=1e-4), (0.0, 0.0), 20)]
    surface = valley.surface((-0.5, 2.5, 30), (-2.0, 8.0, 30))
    for suffix in ("png", "svg"):
        first = landscape.plot(surface, paths, str(tmp_path / f"one.{suffix}"), marks=[("best", (1.4, 5.0))])
        second = landscape.plot(surface, paths, str(tmp_path / f"two.{suffix}"), marks=[("best", (1.4, 5.0))])
        data = open(first, "rb").read()
        assert data == open(second, "rb").read() and len(data) > 10_000
    assert open(tmp_path / "one.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_the_picture_names_the_extra(monkeypatch, tmp_path):
    valley = landscape.Landscape(lambda p: p[0] ** 2 + p[1] ** 2)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(ModuleNotFoundError, match=r"nn.landscape.plot needs matplotlib.*\[plot\]"):
        landscape.plot(valley.surface((0, 1, 3), (0, 1, 3)), [], str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()


def test_the_command_explains_the_line_fit_with_the_published_numbers(tmp_path, capsys):
    real_points()
    picture = tmp_path / "valley.png"
    assert cli.main(["line-fit", "-o", str(picture), "--grid", "40"]) == 0
    out = capsys.readouterr().out
    assert "condition number 66031" in out
    assert "least squares: m = 1.32243102275536, b = 7.99102098227036" in out
    # the example's own run, to every digit its README printed (12 significant digits)
    line = next(line for line in out.splitlines() if line.startswith("gradient descent (the example)"))
    found = dict(re.findall(r"(\w+) = ([-0-9.e]+)", line))
    printed = {name: format(float(found[name]), ".12g") for name in ("b", "m", "error")}
    assert printed == {"b": "0.0889365199374", "m": "1.47774408519", "error": "112.614810116"}
    assert picture.read_bytes()[:4] == b"\x89PNG"


def test_the_plane_towards_another_point_has_it_at_one_zero():
    model = nn.MLP(3, [2, 1], seed=5)
    inputs, targets = datasets.xor()
    start = np.array([p.data for p in model.parameters()])
    other = start + np.random.default_rng(0).standard_normal(len(start))
    first, second = landscape.towards(model, other, seed=3)
    assert first == pytest.approx(other - start) and abs(first @ second) < 1e-9
    assert np.linalg.norm(second) == pytest.approx(np.linalg.norm(first))
    view = landscape.from_model(model, inputs, targets, nn.quadratic, axes=(first, second), reduction="sum")
    for p, v in zip(model.parameters(), other):
        p.data = float(v)
    at_other = sum(nn.quadratic(model(x), y).data for x, y in zip(inputs.tolist(), targets.tolist()))
    assert view.value_and_grad((1.0, 0.0))[0] == pytest.approx(at_other, rel=1e-12)
    with pytest.raises(ValueError, match="another vector of the model's 11 parameters"):
        landscape.towards(model, other[:3])


def test_the_xor_scene_trains_then_descends_in_the_plane(tmp_path, capsys):
    picture = tmp_path / "xor.svg"
    assert cli.main(["xor", "--steps", "30", "--grid", "15", "-o", str(picture)]) == 0
    out = capsys.readouterr().out
    assert "the chapter's run: 30 steps of SGD (lr 1) on all 16 weights, cost 0.6559191074721229" in out
    assert out.count("after 30 steps at") == 3 and picture.read_bytes().startswith(b"<?xml")
