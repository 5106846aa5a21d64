"""Regenerate the pictures of the docs: ``python docs/make_pictures.py docs/images``.

Every SVG in docs/images/ comes from here, drawn by :func:`autodiff.draw` (and
one by the command line), so the pictures always show what the code does; the
drawings are deterministic (running it twice changes no byte).  It also writes
the pages that play the backward pass of 3Blue1Brown's chain and of one XOR
sample (docs/pages/), screenshots of the chain's page at a few steps, taken in
headless Chromium (docs/images/play_*.png), the chain as an exercise page with a
wrong answer named (docs/images/exercise_chain_wrong.png), and runs the tutorial notebook so
that docs/tutorial_chain.ipynb is saved with its outputs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import autodiff
from autodiff import Value
from autodiff.__main__ import main as command_line
from autodiff.drawing import draw
from autodiff.files import replaced_atomically
from autodiff.stepping import steps

#: 3Blue1Brown's chain of four neurons, one per layer: a0 -> a1 -> a2 -> a3, target y = 1.
CHAIN_WEIGHTS, CHAIN_BIASES, CHAIN_INPUT, CHAIN_TARGET = (0.5, -1.2, 0.8), (0.1, 0.3, -0.2), 0.6, 1.0
#: The XOR data of Alex Punnen's two-layer network: the output is 1 when exactly two inputs are 1.
XOR_INPUTS, XOR_TARGETS = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], [0, 1, 1, 0]


def chain() -> Value:
    """The cost C = (a3 - y)**2 of the 4-node chain, labelled as in the derivation."""
    a = Value(CHAIN_INPUT, label="a0")
    for layer, (w, b) in enumerate(zip(CHAIN_WEIGHTS, CHAIN_BIASES), start=1):
        z = Value(w, label=f"w{layer}") * a + Value(b, label=f"b{layer}")
        z.label = f"z{layer}"
        a = z.sigmoid()
        a.label = f"a{layer}"
    difference = a - CHAIN_TARGET
    difference.label = "a3 - y"
    cost = difference**2
    cost.label = "C"
    return cost


def chain_weights(cost: Value) -> list[Value]:
    """The weights and biases of the chain of ``cost`` (every leaf but the input a0)."""
    return [node for node in autodiff.topological_order(cost) if node.is_leaf and node.label != "a0"]


def xor_weights() -> tuple[list[list[Value]], list[Value]]:
    """The starting weights of Alex Punnen's XOR network: np.random.seed(1), then random (3, 4) and (4, 1)."""
    np.random.seed(1)
    w1, w2 = np.random.random((3, 4)), np.random.random((4, 1))
    hidden = [[Value(float(w1[i, j]), label=f"w1[{i}][{j}]") for j in range(4)] for i in range(3)]
    return hidden, [Value(float(w2[j, 0]), label=f"w2[{j}]") for j in range(4)]


def xor_output(x: list[float], w1: list[list[Value]], w2: list[Value]) -> Value:
    """One forward pass of the 3-4-1 sigmoid net without biases; nodes scoped by neuron."""
    hidden = []
    for j in range(4):
        with autodiff.scope(f"hidden.{j}"):
            hidden.append(autodiff.sum([w1[i][j] * x[i] for i in range(3)]).sigmoid())
    with autodiff.scope("output"):
        return autodiff.sum([w2[j] * hidden[j] for j in range(4)]).sigmoid()


def mnist_loss() -> Value:
    """The quadratic cost of a 784-30-10 sigmoid MLP (the shape of Nielsen's network) on one random image."""
    import nn

    model = nn.MLP(784, [30, 10], seed=0)
    image = np.random.default_rng(0).random(784)
    target = [1.0 if k == 3 else 0.0 for k in range(10)]
    return autodiff.sum([(out - y) ** 2 for out, y in zip(model(image.tolist()), target)])


def pictures(folder: Path) -> None:
    """Write every picture of the docs into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    cost = chain()
    cost.backward()
    draw(cost, folder / "chain.svg", edge_labels=True)
    cost.zero_grad()
    stepper = steps(cost)
    stepper.run_to("z3")
    draw(cost, folder / "chain_step.svg", edge_labels=True, highlight=stepper)

    w1, w2 = xor_weights()
    out = xor_output([1, 0, 1], w1, w2)
    sample = 0.5 * (out - 1.0) ** 2
    sample.backward()
    params = [w for row in w1 for w in row] + w2
    draw(sample, folder / "xor_sample.svg", params=params, cluster=True)

    loss = mnist_loss()
    loss.backward()
    started = time.perf_counter()
    draw(loss, folder / "mnist_collapsed.svg", collapse=True, cluster=True)
    print(f"mnist_collapsed.svg: {time.perf_counter() - started:.2f} s (plan and dot)")
    draw(loss, folder / "mnist_one_weight.svg", between="layers.0.neurons.3.w.17")

    command_line(["draw", "tanh(x*w + b)", "x=2", "w=-3", "b=6.88", "--params", "w,b",
                  "--edge-labels", "-o", str(folder / "neuron.svg")])


def pages(folder: Path, images: Path) -> None:
    """The pages that play the chain and one XOR sample, and screenshots of the chain's page."""
    folder.mkdir(parents=True, exist_ok=True)
    cost = chain()
    autodiff.play(cost, folder / "chain.html", params=chain_weights(cost))
    w1, w2 = xor_weights()
    out = xor_output([1, 0, 1], w1, w2)
    out.label = "out"
    sample = 0.5 * (out - 1.0) ** 2
    sample.label = "C"
    autodiff.play(sample, folder / "xor_sample.html", params=[w for row in w1 for w in row] + w2)
    shots = {1: "play_chain_step1.png", 7: "play_chain_step7.png", 18: "play_chain_end.png"}
    screenshots(folder / "chain.html", {step: images / name for step, name in shots.items()})
    screenshots(folder / "chain.html", {4: images / "play_chain_presenter.png"}, keys="p")
    import nn

    mlp = nn.MLP(2, [3, 1], seed=1)
    autodiff.play((mlp([0.5, -1.0]) - 1.0) ** 2, folder / "mlp_collapsed.html", collapse=True)
    screenshots(folder / "mlp_collapsed.html", {5: images / "play_mlp_collapsed.png"})
    mlp = nn.MLP(2, [3, 1], seed=1)
    autodiff.play((mlp([0.5, -1.0]) - 1.0) ** 2, folder / "mlp_clustered.html", cluster=True)
    screenshots(folder / "mlp_clustered.html", {5: images / "play_mlp_clustered.png"})
    exercise_page(folder, images)


def exercise_page(folder: Path, images: Path) -> None:
    """The chain as an exercise page, guessing first, and a screenshot of its first question answered
    with the square's factor 2 forgotten."""
    cost = chain()
    autodiff.exercise(cost).page(folder / "chain_exercise.html", params=chain_weights(cost))
    screenshots(folder / "chain_exercise.html", {2: images / "exercise_chain_wrong.png"}, answer="-0.470655")


def screenshots(page: Path, shots: dict[int, Path], keys: str = "", answer: str = "") -> None:
    """Open ``page`` in headless Chromium at a projector's 1280x720, press ``keys``, then → up to each
    step (and type ``answer`` into the guess-first answer box there), and save a screenshot there."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,720",
                     "--force-device-scale-factor=1", "--hide-scrollbars"):
        options.add_argument(argument)  # --no-sandbox: Chromium refuses its sandbox as root
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        inner = browser.execute_script("return [window.innerWidth, window.innerHeight]")
        browser.set_window_size(2 * 1280 - inner[0], 2 * 720 - inner[1])  # the page itself gets 1280x720
        browser.get(page.resolve().as_uri())
        if keys:
            ActionChains(browser).send_keys(keys).perform()
        done = 0
        for step, target in sorted(shots.items()):
            ActionChains(browser).send_keys(Keys.ARROW_RIGHT * (step - done)).perform()
            done = step
            if answer:
                browser.find_element("id", "answer").send_keys(answer + Keys.ENTER)
            png = browser.get_screenshot_as_png()
            with replaced_atomically(target) as file:
                file.write(png)
    finally:
        browser.quit()


def notebook(path: Path) -> None:
    """Run the tutorial notebook in a fresh kernel and save it with its outputs."""
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    with replaced_atomically(path, "w", encoding="utf-8") as file:
        nbformat.write(book, file)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path(__file__).parent / "images")
    images = parser.parse_args().folder
    pictures(images)
    pages(images.parent / "pages", images)
    notebook(images.parent / "tutorial_chain.ipynb")
    sys.exit(0)
