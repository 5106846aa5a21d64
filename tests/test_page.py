"""The page of `autodiff.play`, driven in a real headless Chromium: keys and buttons against the stepper."""

from __future__ import annotations

import time

import pytest
from browser import chromium
from helpers import labelled_chain, labelled_neuron

import autodiff
from autodiff import GraphError, Value, play, topological_order
from autodiff.naming import number
from autodiff.stepping import steps

#: What the page shows, read in one script: every value's grad field by name, the highlighted
#: nodes, the record panel, the edges that have carried their contribution (id and label), the status.
STATE = """
const grads = {};
for (const g of document.querySelectorAll("g.node")) {
  const t = g.querySelectorAll("text");
  if (t.length === 3) grads[t[0].textContent] = t[2].textContent;
}
return {
  grads: grads,
  current: [...document.querySelectorAll("g.node.current")].map(g => g.querySelector("text").textContent),
  record: document.getElementById("record").textContent,
  sent: [...document.querySelectorAll("g.edge.sent")].map(e => [e.id, e.querySelector("text").textContent]),
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
    text = number(contribution)
    return f"−{text[1:]}" if text.startswith("-") else f"+{text}"


def expected(stepper) -> dict:
    """What the page must show for the stepper as it stands, from its own records and gradients."""
    position = {id(node): k for k, node in enumerate(topological_order(stepper.root))}
    sent = []
    for record in stepper.records:
        for index, c in enumerate(record.contributions):
            if c.partial is not None:
                sent.append([f"e{position[id(record.node)]}_{index}", signed(c.contribution)])
    return {
        "grads": {stepper.names[id(node)]: f"grad so far {number(stepper.gradient_so_far(node))}"
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
    for external in ("<link", " src=", "@import", "url(", "https:"):
        assert external not in text, external
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
