"""The page of `autodiff.play`, driven in a real headless Chromium: keys and buttons against the stepper."""

from __future__ import annotations

import re
import time

import pytest
from browser import chromium
from helpers import labelled_chain, labelled_neuron

import autodiff
from autodiff import GraphError, Value, play, topological_order
from autodiff.naming import printed
from autodiff.stepping import steps

#: What the page shows, read in one script: every value's grad field by name, the highlighted
#: nodes, the record panel, the current step's edges (id and what flowed), the status.
STATE = """
const grads = {};
for (const g of document.querySelectorAll("g.node")) {
  const grad = g.querySelector("text.grad");
  if (grad) grads[g.querySelector("text.name").textContent] = grad.textContent;
}
return {
  grads: grads,
  current: [...document.querySelectorAll("g.node.current")].map(
    g => g.querySelector("text.name").textContent),
  record: document.getElementById("record").textContent,
  sent: [...document.querySelectorAll("g.edge.active")].map(
    e => [e.id, e.querySelector("text.flow").textContent]),
  status: document.getElementById("status").textContent,
};
"""


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def open_page(browser, tmp_path, root, name="page.html"):
    path = tmp_path / name
    play(root, path)
    browser.get(path.resolve().as_uri())
    return browser


def signed(contribution: float) -> str:
    text = printed(contribution)
    return f"−{text[1:]}" if text.startswith("-") else f"+{text}"


def expected(stepper) -> dict:
    """What the page must show for the stepper as it stands, from its own records and gradients."""
    position = {id(node): k for k, node in enumerate(topological_order(stepper.root))}
    sent = []
    for record in stepper.records[-1:]:  # only the current step's edges show what flowed
        for index, c in enumerate(record.contributions):
            if c.partial is not None:
                sent.append([f"e{position[id(record.node)]}_{index}", signed(c.contribution)])
    return {
        "grads": {stepper.names[id(node)]: f"grad {printed(stepper.gradient_so_far(node))}"
                  for node in stepper.order},
        "current": [stepper.records[-1].name] if stepper.records else [],
        "sent": sorted(sent),
        "status": f"step {len(stepper.records)} of {len(stepper.order)}",
    }


def shown(browser) -> dict:
    state = browser.execute_script(STATE)
    state["sent"] = sorted(state["sent"])
    return state


def check(browser, stepper) -> None:
    state, want = shown(browser), expected(stepper)
    for key in ("grads", "current", "sent", "status"):
        assert state[key] == want[key], key
    if stepper.records:
        assert state["record"].startswith(str(stepper.records[-1]))
        assert state["record"] == str(stepper.records[-1]) or stepper.done
    else:
        assert state["record"].startswith("Start: the sweep begins at")


def press(browser, key) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(key).perform()


def click(browser, button) -> None:
    browser.find_element("id", button).click()


def test_arrow_keys_follow_the_steppers_records_forward_and_back(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    o, *_ = labelled_neuron()
    open_page(browser, tmp_path, o)
    stepper = steps(o)
    check(browser, stepper)
    for _ in range(len(stepper.order)):
        press(browser, Keys.ARROW_RIGHT)
        stepper.step()
        check(browser, stepper)
    assert "Done: every gradient is complete" in shown(browser)["record"]
    press(browser, Keys.ARROW_RIGHT)  # past the end: nothing happens
    check(browser, stepper)
    while stepper.records:
        press(browser, Keys.ARROW_LEFT)
        stepper.back()
        check(browser, stepper)
    press(browser, Keys.ARROW_LEFT)  # before the start: nothing happens
    check(browser, stepper)


def test_buttons_follow_the_4_node_chain_and_reset(browser, tmp_path):
    cost = labelled_chain()
    open_page(browser, tmp_path, cost)
    stepper = steps(cost)
    for _ in range(7):
        click(browser, "next")
        stepper.step()
        check(browser, stepper)
    for _ in range(3):
        click(browser, "back")
        stepper.back()
        check(browser, stepper)
    click(browser, "reset")
    stepper.reset()
    check(browser, stepper)
    assert browser.find_element("id", "back").get_attribute("disabled") is not None


def test_play_advances_by_itself_and_pauses(browser, tmp_path):
    o, *_ = labelled_neuron()
    open_page(browser, tmp_path, o)
    click(browser, "play")
    deadline = time.monotonic() + 10
    while shown(browser)["status"] == "step 0 of 6" and time.monotonic() < deadline:
        time.sleep(0.1)
    click(browser, "play")  # pause
    paused = shown(browser)["status"]
    assert paused != "step 0 of 6"
    time.sleep(1.5)
    assert shown(browser)["status"] == paused
    stepper = steps(o)
    stepper.run_to(stepper.order[int(paused.split()[1]) - 1])
    check(browser, stepper)


def test_a_page_made_from_a_stepper_starts_where_it_stands(browser, tmp_path):
    cost = labelled_chain()
    stepper = steps(cost)
    stepper.run_to("z2")
    open_page(browser, tmp_path, stepper)
    check(browser, stepper)


def test_the_page_loads_nothing_from_anywhere(browser, tmp_path):
    o, *_ = labelled_neuron()
    open_page(browser, tmp_path, o)
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []


# -- the file itself, without a browser ----------------------------------------------------


def test_the_page_is_one_file_that_needs_nothing_else(tmp_path):
    o, *_ = labelled_neuron()
    page = play(o, tmp_path / "backprop.html")
    text = (tmp_path / "backprop.html").read_text(encoding="utf-8")
    assert text == page.html and [p.name for p in tmp_path.iterdir()] == ["backprop.html"]
    assert "<svg" in text and "<script>" in text and "<style>" in text
    for external in ("<link", " src=", "@import", "https:"):
        assert external not in text, external
    assert re.findall(r"url\((?!#)", text) == []  # only the page's own markers (url(#arrow))
    assert text.replace("http://www.w3.org/", "").count("http") == 0


def test_making_a_page_leaves_every_grad_as_it_was():
    o, x, w, b = labelled_neuron()
    o.backward()
    before = [node.grad for node in topological_order(o)]
    stepper = steps(o)
    stepper.run_to("n")
    play(stepper)
    assert [node.grad for node in topological_order(o)] == before
    assert len(stepper.records) == 2  # the user's stepper is not moved either


def test_a_label_cannot_break_out_of_the_page():
    x = Value(1.0, label="</script><script>alert(1)</script>")
    y = x * 2
    y.label = "{{data}}"
    page = play(y)
    assert page.html.count("<script") == 2 and "alert(1)</script>" not in page.html  # the data and the code
    assert page.html.count("</script>") == 2


def test_the_page_refuses_what_it_cannot_play():
    with pytest.raises(GraphError, match="play\\(\\) needs a Value or a Stepper, not float"):
        play(3.0)
    big = autodiff.sum([Value(float(i)) * i for i in range(200)])
    with pytest.raises(GraphError, match="max_nodes=300"):
        play(big)


def test_in_a_notebook_the_page_sits_in_a_frame_of_its_own():
    o, *_ = labelled_neuron()
    page = play(o)
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in frame
    assert "<script>" not in frame  # escaped into the attribute, run only inside the frame
    assert repr(page) == ("<Page: the backward pass of 'o' in 6 steps "
                          "(play(root, path) or page.save(path) writes it)>")


def test_play_takes_every_drawing_option_of_draw():
    import inspect

    parameters = inspect.signature(autodiff.draw).parameters.items()
    options = {name for name, p in parameters if p.kind is p.KEYWORD_ONLY}
    assert options - {"highlight"} <= set(inspect.signature(play).parameters)  # the page highlights the step
    assert play(labelled_chain(), collapse=True, cluster=True, between="w2", legend=False).steps > 0


# -- in front of a class: a projector's screen ---------------------------------------------------

#: Where everything is on screen: the picture's area, the root's box, every box and every text of the picture
#: (its rendered font size: CSS size times the picture's scale; and the height of its box on screen).
GEOMETRY = """
const area = document.getElementById("picture").getBoundingClientRect();
const svg = document.querySelector("#picture svg");
const scale = svg.getScreenCTM().a;
const rect = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const texts = [...svg.querySelectorAll("text")].filter(t => t.textContent.trim() !== "" &&
  getComputedStyle(t).visibility !== "hidden");
return {
  viewport: [0, 0, window.innerWidth, window.innerHeight],
  area: [area.left, area.top, area.right, area.bottom],
  boxes: Object.fromEntries([...svg.querySelectorAll("g.node")].map(
    g => [g.id, rect(g.querySelector(".shape"))])),
  labels: [...svg.querySelectorAll("g.edge text.partial")].map(rect),
  sizes: texts.map(t => parseFloat(getComputedStyle(t).fontSize) * scale),
  heights: texts.map(t => t.getBoundingClientRect().height),
  current: [...svg.querySelectorAll("g.node.current")].map(g => g.id),
};
"""


def inside(inner, outer, slack=0.5) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack and inner[2] <= outer[2] + slack
            and inner[3] <= outer[3] + slack)


@pytest.fixture(params=[(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def projector(request):
    width, height = request.param
    driver = chromium(width, height)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])  # the page itself gets the screen
    assert driver.execute_script("return [window.innerWidth, window.innerHeight]") == [width, height]
    yield driver
    driver.quit()


def test_3blue1browns_chain_is_whole_and_readable_on_a_projector_at_step_0(projector, tmp_path):
    cost = labelled_chain()
    assert len([n for n in topological_order(cost) if not n.is_constant]) == 18  # 6 weights and biases, a0
    open_page(projector, tmp_path, cost)
    shown_now = projector.execute_script(GEOMETRY)
    assert len(shown_now["boxes"]) == 18
    screen = [max(a, b) if k < 2 else min(a, b) for k, (a, b) in enumerate(zip(shown_now["area"],
                                                                                 shown_now["viewport"]))]
    root = f"n{len(topological_order(cost)) - 1}"
    assert inside(shown_now["boxes"][root], screen)
    for box, where in shown_now["boxes"].items():
        assert inside(where, screen), box
    assert shown_now["labels"] and all(inside(label, screen) for label in shown_now["labels"])
    assert min(shown_now["sizes"]) >= 14 and min(shown_now["heights"]) >= 14
    press(projector, "p")  # presenter mode: the chain-rule line joins the page, the graph stays whole
    press(projector, "\ue014")
    shown_now = projector.execute_script(GEOMETRY)
    assert all(inside(where, shown_now["viewport"]) for where in shown_now["boxes"].values())
    assert min(shown_now["sizes"]) >= 14


def test_presenter_mode_shows_the_chain_rule_line_big(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    cost = labelled_chain()
    open_page(browser, tmp_path, cost)
    stepper = steps(cost)
    for _ in range(4):
        press(browser, Keys.PAGE_DOWN)  # a presenter's remote
        stepper.step()
    press(browser, "p")
    chain = browser.find_element("id", "chain")
    assert chain.is_displayed() and float(chain.value_of_css_property("font-size")[:-2]) >= 24
    record = stepper.records[-1]
    assert chain.text.splitlines() == [
        f"∂C/∂{c.name if ' ' not in c.name else '(' + c.name + ')'} += ∂z3/∂"
        f"{c.name if ' ' not in c.name else '(' + c.name + ')'} × ∂C/∂z3 = {printed(c.partial)} × "
        f"{printed(record.upstream)} = {printed(c.contribution)}" for c in record.contributions]
    press(browser, Keys.PAGE_UP)
    stepper.back()
    check(browser, stepper)
    press(browser, "p")
    assert not browser.find_element("id", "chain").is_displayed()


def test_every_edge_number_is_the_local_partial_and_the_current_edges_show_what_flowed(browser, tmp_path):
    cost = labelled_chain()
    open_page(browser, tmp_path, cost)
    position = {id(node): k for k, node in enumerate(topological_order(cost))}
    partials = {}
    for record in steps(cost).run():
        for index, c in enumerate(record.contributions):
            if c.partial is not None:
                partials[f"e{position[id(record.node)]}_{index}"] = printed(c.partial)
    labels = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('g.edge')].map("
        "e => [e.id, e.querySelector('text.partial').textContent]))")
    assert labels == partials
    assert "the local partial" in browser.find_element("id", "legend").text


def mlp_loss():
    import nn

    model = nn.MLP(2, [3, 1], seed=1)
    return (model([0.5, -1.0]) - 1.0) ** 2, model


def test_a_2_3_1_mlp_collapsed_highlights_the_module_of_a_step_and_shows_its_record(browser, tmp_path):
    loss, model = mlp_loss()
    path = tmp_path / "mlp.html"
    play(loss, path, collapse=True)
    browser.get(path.resolve().as_uri())
    roles = browser.execute_script("return [...document.querySelectorAll('g.node')].map(g => g.classList[1])")
    assert "role-module" in roles and len(roles) < 15  # one box per neuron, not 52 nodes
    stepper = steps(loss)
    while True:
        record = stepper.step()
        press(browser, "\ue014")
        if record.node.scope:  # inside a neuron: its module's box is the current one
            break
    state = browser.execute_script(GEOMETRY)
    modules = browser.execute_script(
        "return [...document.querySelectorAll('g.node.current text.name')].map(t => t.textContent)")
    assert modules == [record.node.scope]
    assert len(state["current"]) == 1 and state["current"][0].startswith("g")
    assert browser.find_element("id", "record").text == str(record)


def test_zoomed_in_the_current_node_stays_in_view_and_the_step_list_follows(browser, tmp_path):
    loss, model = mlp_loss()
    path = tmp_path / "mlp.html"
    play(loss, path)  # all 52 nodes: the picture is bigger than the screen at readable size
    browser.get(path.resolve().as_uri())
    for _ in range(4):
        press(browser, "+")
    for step in range(1, 25):
        press(browser, "\ue014")
        state = browser.execute_script(GEOMETRY)
        (current,) = state["current"]
        assert inside(state["boxes"][current], state["area"]), step
        follows = browser.execute_script("""
          const list = document.getElementById("lines"), li = list.querySelector("li.current");
          const l = list.getBoundingClientRect(), r = li.getBoundingClientRect();
          return r.top >= l.top - 1 && r.bottom <= l.bottom + 1;""")
        assert follows, step
    before = browser.execute_script("return document.querySelector('#picture svg').getAttribute('viewBox')")
    from selenium.webdriver.common.action_chains import ActionChains

    area = browser.find_element("id", "picture")
    ActionChains(browser).move_to_element(area).click_and_hold().move_by_offset(-120, -40).release().perform()
    after = browser.execute_script("return document.querySelector('#picture svg').getAttribute('viewBox')")
    assert after != before  # dragged: panned
    assert [float(a) - float(b) for a, b in zip(after.split(), before.split())][2:] == [0.0, 0.0]  # same zoom


def test_play_speed_is_adjustable_from_the_keyboard(browser, tmp_path):
    cost = labelled_chain()
    open_page(browser, tmp_path, cost)
    for _ in range(5):
        press(browser, "]")  # faster: 1.2 s - 5 * 0.2 s = 0.2 s per step
    assert browser.find_element("id", "speedtext").text == "0.2 s"
    click(browser, "play")
    time.sleep(2.0)
    click(browser, "play")
    assert int(shown(browser)["status"].split()[1]) >= 6  # at 1.2 s per step it would be 1
    press(browser, "[")
    assert browser.find_element("id", "speedtext").text == "0.4 s"


def test_titles_name_the_expression_never_an_internal_number():
    from autodiff.naming import node_names

    a, b = Value(0.3, label="w"), Value(0.2, label="bias")
    root = ((a * 2.0 + b).sigmoid() * (a - b).tanh() + b * a).exp()  # unlabelled, its name too long
    order = topological_order(root)
    assert "#" in node_names(order)[id(root)]
    page = play(root)
    heading = page.html[page.html.index("<h1>"):page.html.index("</h1>")]
    assert "#" not in heading and "exp(" in heading


def test_nn_parameters_are_parameters_without_params(tmp_path):
    loss, model = mlp_loss()
    page = play(loss)
    assert page.html.count('class="node role-parameter"') == len(model.parameters())
    assert page.html.count('class="node role-input"') == 2
    stepper = steps(labelled_chain(), params=[])
    assert stepper.params == ()
    assert play(stepper).html.count('class="node role-parameter"') == 0


#: Every module frame (its module's name, its rectangle, its title's rectangle) and every box, on screen.
FRAMES = """
const svg = document.querySelector("#picture svg");
const rect = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
return {
  frames: [...svg.querySelectorAll("g.cluster")].map(g => [g.querySelector("title").textContent,
    rect(g.querySelector("rect")), rect(g.querySelector("text")), g.querySelector("text").textContent]),
  boxes: Object.fromEntries([...svg.querySelectorAll("g.node")].map(
    g => [g.id, rect(g.querySelector(".shape"))])),
  names: Object.fromEntries([...svg.querySelectorAll("g.node")].map(
    g => [g.id, [g.querySelector("text.name").textContent, g.querySelector("title").textContent]])),
};
"""


def overlap(a, b) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def test_a_2_3_1_mlp_clustered_has_frames_that_nest_and_hold_exactly_their_modules_boxes(browser, tmp_path):
    from autodiff.drawing import _plan

    loss, model = mlp_loss()
    path = tmp_path / "mlp.html"
    play(loss, path, cluster=True)
    browser.get(path.resolve().as_uri())
    seen = browser.execute_script(FRAMES)
    plan = _plan(loss, None, None, False, None)
    frames = {name: (where, title, text) for name, where, title, text in seen["frames"]}
    assert set(frames) == {"layers.0", "layers.1", "layers.0.neurons.0", "layers.0.neurons.1",
                           "layers.0.neurons.2", "layers.1.neurons.0"}
    assert frames["layers.0.neurons.2"][2] == "neurons.2"  # a title reads within the frame around it
    chains = {name: plan.chains[name] for name in frames}
    for a, (ra, title, _) in frames.items():
        assert inside(title, ra)
        for b, (rb, _, _) in frames.items():
            if a in chains[b] and a != b:
                assert inside(rb, ra), (a, b)  # a module's frame holds the frames of its modules
            elif b not in chains[a] and a not in chains[b]:
                assert not overlap(ra, rb), (a, b)  # and never overlaps any other
    for node in plan.kept:
        if node.is_constant:
            continue
        box_id = f"n{plan.position[id(node)]}"
        box, scope = seen["boxes"][box_id], plan.scopes[id(node)]
        mine = plan.chains[scope] if scope else ()
        for name, (where, title, _) in frames.items():
            if name in mine:
                assert inside(box, where) and not overlap(box, title), (box_id, name)
            else:
                assert not overlap(box, where), (box_id, name)
        shown, tooltip = seen["names"][box_id]
        assert tooltip.endswith(": " + plan.names[id(node)])  # the whole name, where a frame shortens it
        whole = plan.names[id(node)]
        assert whole == (f"{scope}.{shown}" if scope and shown != whole else shown)
    assert seen["names"][f"n{plan.position[id(model.layers[0].neurons[1].w[0])]}"][0] == "w.0"


@pytest.mark.parametrize("cluster", [False, True], ids=["plain", "clustered"])
def test_an_mlp_too_big_for_the_screen_opens_on_its_root_and_keeps_every_step_in_view(projector, tmp_path,
                                                                                      cluster):
    from selenium.webdriver.common.keys import Keys

    loss, model = mlp_loss()
    path = tmp_path / "mlp.html"
    play(loss, path, cluster=cluster)
    projector.get(path.resolve().as_uri())
    root = f"n{len(topological_order(loss)) - 1}"
    state = projector.execute_script(GEOMETRY)
    assert inside(state["boxes"][root], state["area"])  # the sweep starts there: in view at step 0
    assert min(state["sizes"]) >= 14 and min(state["heights"]) >= 14
    for step in range(1, len(steps(loss).order) + 1):
        press(projector, Keys.ARROW_RIGHT)
        state = projector.execute_script(GEOMETRY)
        (current,) = state["current"]
        assert inside(state["boxes"][current], state["area"]), step
    press(projector, Keys.HOME)
    state = projector.execute_script(GEOMETRY)
    assert inside(state["boxes"][root], state["area"])


@pytest.mark.parametrize("cluster", [False, True], ids=["collapsed", "collapsed-clustered"])
def test_a_2_3_1_mlp_collapsed_is_whole_and_readable_on_a_projector_at_step_0(projector, tmp_path, cluster):
    loss, model = mlp_loss()
    path = tmp_path / "mlp.html"
    play(loss, path, collapse=True, cluster=cluster)
    projector.get(path.resolve().as_uri())
    state = projector.execute_script(GEOMETRY)
    area, viewport = state["area"], state["viewport"]
    screen = [max(a, b) if k < 2 else min(a, b) for k, (a, b) in enumerate(zip(area, viewport))]
    assert len(state["boxes"]) == 1 + 4 + 2  # the inputs, four neurons, the loss's two values
    for box, where in state["boxes"].items():
        assert inside(where, screen), box
    assert state["labels"] and all(inside(label, screen) for label in state["labels"])
    assert min(state["sizes"]) >= 14 and min(state["heights"]) >= 14
    frames = projector.execute_script(FRAMES)["frames"]
    assert len(frames) == (2 if cluster else 0) and all(inside(where, screen) for _, where, _, _ in frames)
