"""The page's "guess first" mode, driven in a real headless Chromium: asked before shown, checked, scored.

Every number the page compares a typed answer with was computed in Python
(``Exercise.quiz``); these tests type answers as a learner would and compare
what the page says with what the Python exercise says for the same answers.
"""

from __future__ import annotations

import json
import re

import pytest
from browser import chromium
from helpers import labelled_chain, labelled_neuron
from selenium.webdriver.common.keys import Keys

import autodiff
from autodiff import Value, exercise, play
from autodiff.exercises import Score, accepted, parse
from autodiff.naming import printed

#: What the page shows, read in one script.
STATE = """
const grads = {};
for (const g of document.querySelectorAll("g.node")) {
  const name = g.querySelector("text.name"), grad = g.querySelector("text.grad");
  if (name && grad) grads[name.textContent] = grad.textContent;
}
const hidden = (e) => [...e.querySelectorAll("text")].every(t => getComputedStyle(t).visibility === "hidden");
return {
  grads: grads,
  guess: document.body.classList.contains("guess"),
  record: document.getElementById("record").textContent,
  verdict: document.getElementById("verdict").textContent,
  prompt: document.getElementById("prompt").textContent,
  asking: getComputedStyle(document.getElementById("answer")).display !== "none"
          && document.body.classList.contains("guess"),
  next: document.getElementById("next").disabled,
  status: document.getElementById("status").textContent,
  edges: Object.fromEntries([...document.querySelectorAll("g.edge")].map(e => [e.id, !hidden(e)])),
  done: window.page.done(),
  outcomes: window.quiz.outcomes(),
};
"""


def test_in_presenter_mode_the_question_is_big_under_the_picture(browser, tmp_path):
    open_exercise(browser, tmp_path, exercise(labelled_chain()))  # big enough to be fitted to the room left
    key(browser, "p")
    key(browser, Keys.ARROW_RIGHT)
    key(browser, Keys.ARROW_RIGHT)
    shown = browser.execute_script(
        "const box = document.getElementById('picture').getBoundingClientRect();"
        "return [document.getElementById('chain').textContent, box.height,"
        " document.querySelector('#picture svg').viewBox.baseVal.height,"
        " getComputedStyle(document.getElementById('answer')).display]")
    assert shown[0] == "d(C)/d(a3 - y) = ?" and shown[1] > 200 and shown[2] > 0 and shown[3] != "none"


@pytest.fixture(scope="module")
def browser():
    driver = chromium(1280, 720)
    yield driver
    driver.quit()


def state(browser) -> dict:
    return browser.execute_script(STATE)


def key(browser, name) -> None:
    browser.switch_to.active_element.send_keys(name)


def answer(browser, text: str) -> dict:
    box = browser.find_element("id", "answer")
    box.clear()
    box.send_keys(text + Keys.ENTER)
    return state(browser)


def open_exercise(browser, tmp_path, practice, name="exercise.html"):
    path = tmp_path / name
    practice.page(path)
    browser.get(path.resolve().as_uri())
    return state(browser)


def test_guess_first_hides_every_gradient_asks_in_order_names_the_mistake_and_scores(browser, tmp_path):
    o, *_ = labelled_neuron()
    practice = exercise(o)
    seen = open_exercise(browser, tmp_path, practice)
    assert seen["guess"] and seen["done"] == 0
    assert seen["grads"] == {"o": "grad 1", "x": "grad ?", "w": "grad ?", "b": "grad ?", "n": "grad ?",
                             "x * w": "grad ?"}
    assert not any(seen["edges"].values())  # no local partial, nothing that flowed: all to be worked out
    assert "The backward pass of o: 5 questions." in seen["record"]

    key(browser, Keys.ARROW_RIGHT)  # step 1, the root: no question
    seen = state(browser)
    assert seen["done"] == 1 and not seen["asking"] and "d(o)/d(o) = 1" in seen["record"]
    key(browser, Keys.ARROW_RIGHT)  # step 2 visits n: its question
    seen = state(browser)
    first = practice.questions[0]
    assert seen["done"] == 2 and seen["asking"] and seen["next"]
    assert seen["prompt"] == f"Question 1 of 5: {first.gradient} ="
    assert repr(first).split(": ", 1)[1] in seen["record"]
    for blocked in (Keys.ARROW_RIGHT, Keys.END, Keys.PAGE_DOWN):  # nothing steps past an open question
        browser.find_element("tag name", "body").send_keys(blocked)
        assert state(browser)["done"] == 2

    typed = "0.22318"  # tanh's derivative taken at the input: 1 - n**2
    seen = answer(browser, typed)
    assert seen["verdict"] == str(practice.check(1, typed))
    assert "derivative taken at the input" in seen["verdict"]
    assert seen["grads"]["n"] == "grad ?" and seen["outcomes"][0] is None and seen["next"]
    seen = answer(browser, "not a number")
    assert seen["verdict"] == '"not a number" is not a number: type one like -0.75, 1e-3 or -1/3'
    seen = answer(browser, "1/2")
    assert seen["verdict"] == str(practice.check(1, 0.5)) and seen["outcomes"][0] == "later try"
    assert seen["grads"]["n"] == "grad 0.5" and not seen["next"]
    assert [edge for edge, shown in seen["edges"].items() if shown] == ["e5_0"]  # o = tanh(n): its partial

    key(browser, Keys.ARROW_RIGHT)  # focus went to Next: the arrow goes on to question 2
    seen = state(browser)
    assert seen["done"] == 3 and seen["prompt"].startswith("Question 2 of 5: d(o)/d(x * w)")
    browser.find_element("id", "reveal").click()
    seen = state(browser)
    assert seen["outcomes"][1] == "revealed" and seen["verdict"] == practice.questions[1].reveal()
    for question in practice.questions[2:]:
        key(browser, Keys.ARROW_RIGHT)
        seen = state(browser)
        assert seen["prompt"].startswith(f"Question {question.number} of 5: {question.gradient}")
        seen = answer(browser, printed(question.answer))
        assert seen["verdict"] == str(question.check(printed(question.answer)))
    score = Score(["later try", "revealed", "first try", "first try", "first try"])
    assert seen["done"] == 6 and f"Score: {score!r}." in seen["record"]
    assert seen["status"].endswith("3 of 5 right")
    o.backward()  # once every question is answered, the page shows backward's numbers, every edge's too
    assert seen["grads"] == {name: f"grad {printed(node.grad)}" for name, node in
                             [("o", o)] + [(q.name, q.node) for q in practice.questions]}
    assert all(seen["edges"].values())


def test_the_switch_turns_guessing_off_and_on_again_from_the_start(browser, tmp_path):
    o, *_ = labelled_neuron()
    plain = play(o, tmp_path / "plain.html")  # every page has the switch, off
    browser.get((tmp_path / "plain.html").resolve().as_uri())
    assert plain.steps == 6 and not state(browser)["guess"]
    key(browser, Keys.END)
    everything = state(browser)
    assert everything["done"] == 6 and "?" not in "".join(everything["grads"].values())
    browser.find_element("id", "guess").click()
    seen = state(browser)
    assert seen["guess"] and seen["done"] == 0 and seen["grads"]["x"] == "grad ?"
    key(browser, Keys.ARROW_RIGHT)
    key(browser, Keys.ARROW_RIGHT)
    answer(browser, "0.5")
    browser.find_element("tag name", "body").send_keys("g")  # g: guessing off, every number back
    seen = state(browser)
    assert not seen["guess"] and seen["done"] == 2
    browser.find_element("tag name", "body").send_keys(Keys.END)
    assert state(browser)["grads"] == everything["grads"]


CASES = ["-0.75", " 1e-3 ", ".5", "2.", "\u22121.5", "-1/3", "3 / 4", "", "abc", "1/0", "nan", "inf", "0x10",
         "1,5", "2*3", "--1", "+7"]


def test_the_page_reads_and_judges_answers_by_the_same_rules_as_python(browser, tmp_path):
    open_exercise(browser, tmp_path, exercise.random(size=2, seed=1))
    for text in CASES:
        assert browser.execute_script("return window.quiz.parse(arguments[0])", text) == parse(text), text
    pairs = [(0.99, 1.0), (1.01, 1.0), (0.989, 1.0), (-0.111, -1 / 9), (0.111, -1 / 9), (0.0, 0.0),
             (0.001, 0.0), (2.0e-5, 2.004e-5), (2.1e-5, 2.0e-5), (123456.0, 123400.0), (1.125, 1.12)]
    for given, right in pairs:
        page = browser.execute_script("return window.quiz.accepted(arguments[0], arguments[1])", given, right)
        assert page == accepted(given, right), (given, right)


def test_a_random_exercise_with_a_quotient_is_diagnosed_where_the_learner_sees_it(browser, tmp_path):
    practice = exercise.random(size=5, seed=7)  # L = g / f, g = e - f, f = b * b
    assert [q.name for q in practice.questions] == ["g", "f", "e", "d", "c", "b", "a"]
    open_exercise(browser, tmp_path, practice, "random.html")
    key(browser, Keys.ARROW_RIGHT)
    seen = state(browser)
    while not seen["asking"]:  # the root, and the -f and f**-1 inside g - f and g / f: no questions
        key(browser, Keys.ARROW_RIGHT)
        seen = state(browser)
    for question in practice.questions:
        assert seen["prompt"] == f"Question {question.number} of 7: {question.gradient} ="
        if question.name == "f":  # the quotient rule's minus lost at L = g / f
            wrong = next(w for w in question.wrong if w.mistake == "power-rule-factor")
            seen = answer(browser, printed(wrong.value))
            assert seen["verdict"] == str(question.check(printed(wrong.value)))
            assert "(at L = g / f)" in seen["verdict"]
        seen = answer(browser, printed(question.answer))
        assert seen["verdict"].startswith("right: ")
        key(browser, Keys.ARROW_RIGHT)
        seen = state(browser)
        while not seen["asking"] and seen["done"] < len(practice.questions) + 3:
            key(browser, Keys.ARROW_RIGHT)
            seen = state(browser)
    assert seen["outcomes"] == ["first try", "later try"] + ["first try"] * 5


def test_a_page_too_big_for_an_exercise_has_the_switch_disabled_and_plays_as_ever():
    big = autodiff.sum([Value(float(i)) * 2 for i in range(150)])  # 451 values: more than an exercise takes
    page = play(big, max_nodes=700, guess=True)
    assert '<input id="guess" type="checkbox" disabled>' in page.html and '"quiz": null' in page.html
    assert "window.quiz" not in page.html  # the mode's script is left out with its data
    middle = autodiff.sum([Value(float(i)) * 2 for i in range(40)])  # 121 values: on request only
    assert '"quiz": null' in play(middle).html and '"quiz": null' not in play(middle, guess=True).html


def test_the_page_carries_the_exercises_numbers_and_computes_none():
    o, *_ = labelled_neuron()
    page = play(o)
    data = json.loads(re.search(r'<script type="application/json" id="steps">(.*?)</script>', page.html,
                                re.S).group(1))
    practice = exercise(o)
    assert [q["prompt"] for q in data["quiz"]["questions"]] == [q.gradient for q in practice.questions]
    assert [q["answer"] for q in data["quiz"]["questions"]] == [q.answer for q in practice.questions]
    assert [[w["value"] for w in q["wrong"]] for q in data["quiz"]["questions"]] == \
        [[w.value for w in q.wrong] for q in practice.questions]
    assert [f["question"] for f in data["frames"]] == [None, 0, 1, 2, 3, 4]


def test_the_legend_says_what_the_picture_shows_guessing_or_not(browser, tmp_path):
    o, *_ = labelled_neuron()
    play(o, tmp_path / "plain.html")
    browser.get((tmp_path / "plain.html").resolve().as_uri())
    legend = browser.find_element("id", "legend")
    watching = legend.text
    assert "Edge numbers: the local partial" in watching and "so far" in watching and "hidden" not in watching
    browser.find_element("id", "guess").click()  # numbers hidden: the legend says so, not what they mean
    guessing = legend.text
    assert "grad ?: not answered yet" in guessing and "stay hidden until the question" in guessing
    assert "so far" not in guessing and "in bold, what flowed" not in guessing
    seen = state(browser)
    assert seen["grads"]["x"] == "grad ?" and not any(seen["edges"].values())  # as the legend says
    browser.find_element("id", "guess").click()
    assert legend.text == watching
