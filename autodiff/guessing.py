"""The page's "guess first" mode: each gradient is asked before it is shown, checked and scored.

Every page :func:`autodiff.play` writes has the switch (``g``); with it on,
every gradient is hidden ("grad ?"), and so are the edges' numbers, until the
question about that value is answered: at the step that visits a value, an
answer box asks d(root)/d(value) and Next waits for an answer or a reveal.  A
wrong answer is named by the mistake that gives it, as at the prompt.  The
page computes no gradient and predicts no mistake: :func:`quiz` puts the
questions of :class:`~autodiff.exercises.Exercise` (right answers, how they
add up, the wrong answers the catalogue of mistakes predicts) into the page's
data, and the script only compares a typed number with them, by the rule of
:func:`~autodiff.exercises.accepted` (within 1% or to 3 significant digits).

This module holds the mode's data, markup, styles and script; :mod:`autodiff.playing`
puts them into the page.
"""

from __future__ import annotations

from typing import Any

from .exercises import DIGITS, MAX_VALUES, RELATIVE, Exercise, hidden_note
from .graph import topological_order
from .node import Node

#: A page gets its questions only up to this many values unless guessing is asked for (``play(guess=True)``,
#: up to :data:`~autodiff.exercises.MAX_VALUES`): predicting every mistake at every value takes time that
#: grows with the square of the graph (about 2 s at 300 values), paid by every page.
QUIZ_VALUES = 100


def quiz(root: Node, ids: dict[int, str], asked: bool = False) -> dict[str, Any] | None:
    """The questions of ``root``'s backward pass for the page (``ids``: each drawn value's element id).

    None when the graph has more than :data:`QUIZ_VALUES` values, or :data:`~autodiff.exercises.MAX_VALUES`
    when guessing was ``asked`` for (the page then has the switch disabled).
    """
    if len(topological_order(root)) > (MAX_VALUES if asked else QUIZ_VALUES):
        return None
    practice = Exercise(root)

    def edge(consumer: Node, index: int) -> str:
        return f"e{ids[id(consumer)][1:]}_{index}"

    questions = [
        {"node": ids[id(q["node"])], "values": [ids[id(value)] for value in q["values"]],
         "edges": [edge(consumer, index) for consumer, index in q["edges"]],
         **{key: q[key] for key in ("prompt", "where", "answer", "reveal", "wrong")}}
        for q in practice.quiz()
    ]
    name = practice.names[id(root)]
    return {"questions": questions, "root": ids[id(root)], "rootName": name, "intro": practice.introduction(),
            "hiddenNote": hidden_note(practice.hidden), "relative": RELATIVE, "digits": DIGITS}


def asked(quiz: dict[str, Any] | None) -> dict[str, int]:
    """Which question each value's element id has (the page's frames point at their question)."""
    return {} if quiz is None else {q["node"]: k for k, q in enumerate(quiz["questions"])}


def switch(quiz: dict[str, Any] | None, on: bool) -> str:
    """The switch for the page's controls: checked when the page starts guessing, disabled without a quiz."""
    if quiz is None:
        why = (f"guess first: on pages of at most {QUIZ_VALUES} values, or {MAX_VALUES} with "
               "play(root, guess=True)")
        return (f'<label id="guessbox" title="{why}">'
                '<input id="guess" type="checkbox" disabled> guess first</label>')
    return SWITCH.replace("{{checked}}", " checked" if on else "")


SWITCH = ('<label id="guessbox" title="g: ask each gradient before showing it">'
          '<input id="guess" type="checkbox"{{checked}}> guess first</label>')

PANEL = """<form id="quiz" autocomplete="off">
  <label for="answer" id="prompt"></label>
  <input id="answer" type="text" inputmode="decimal" size="12" spellcheck="false">
  <button id="check" type="submit">Check</button>
  <button id="reveal" type="button">Reveal</button>
  <pre id="verdict"></pre>
</form>
"""

SCOREBOARD = """<ol id="scoreboard"></ol>"""

def key(edge_labels: bool) -> str:
    """The legend while guessing: what the picture hides (the legend of the numbers shown is hidden then)."""
    edges = "Edge numbers (the local partial ∂output/∂input) and what" if edge_labels else "What"
    return ('<span class="guessing"><span class="grad-key">grad <b>?</b>: not answered yet.</span> '
            f"{edges} flowed along an edge stay hidden until the question about the value the edge leaves "
            "is answered or revealed: they are part of its answer.</span>")


STYLE = """
#guessbox { margin-left: .6em; font-weight: bold; }
#legend .guessing, body.guess #legend .watching { display: none; }
body.guess #legend .guessing { display: inline; }
#quiz, #scoreboard { display: none; }
body.guess #quiz { display: block; padding: 4px 12px; font-size: 17px; }
body.guess #quiz.answered #answer, body.guess #quiz.answered #check, body.guess #quiz.answered #reveal,
body.guess #quiz.idle #answer, body.guess #quiz.idle #check, body.guess #quiz.idle #reveal,
body.guess #quiz.idle #prompt { display: none; }
#prompt { font-weight: bold; margin-right: .4em; }
#answer { font-size: 17px; padding: 2px 6px; }
#quiz button { font-size: 16px; padding: 2px 10px; }
#verdict { margin: 4px 0 0; white-space: pre-wrap; font-size: 15px; }
#verdict.right { border-left: 5px solid #000; padding-left: 6px; }
#verdict.wrong { border-left: 5px solid #999; padding-left: 6px; }
body.guess #lines { display: none; }
body.guess #scoreboard { display: block; flex: 2; margin: 0; overflow: auto; font-size: 14px;
                         padding-left: 2.6em; }
#scoreboard li.open { font-weight: bold; background: #f0e442; }
body.guess g.edge.unrevealed text { visibility: hidden; }
body.presenter.guess #quiz { font-size: 24px; }
body.presenter.guess #answer { font-size: 24px; }
"""

SCRIPT = """
// -- guess first: each gradient is asked before it is shown ---------------------------------------
// The questions and every wrong answer a mistake would give were computed in Python (autodiff.exercises);
// here a typed answer is only compared with them, by the same rule: within 1% or to 3 significant digits.
(function () {
  const data = page.data, frames = page.frames, quiz = data.quiz;
  const questions = quiz.questions;
  const $ = (id) => document.getElementById(id);
  const body = document.body, form = $("quiz"), input = $("answer"), verdict = $("verdict");
  const NUMBER = "[+-]?(?:\\\\d+\\\\.?\\\\d*|\\\\.\\\\d+)(?:[eE][+-]?\\\\d+)?";
  const ANSWER = new RegExp("^\\\\s*(" + NUMBER + ")\\\\s*(?:/\\\\s*(" + NUMBER + ")\\\\s*)?$");
  function parse(text) {
    const match = ANSWER.exec(text.replace(/\\u2212/g, "-"));
    if (!match) return null;
    const top = Number(match[1]);
    if (match[2] === undefined) return top;
    const bottom = Number(match[2]);
    return bottom === 0 ? null : top / bottom;
  }
  function accepted(answer, right) {
    if (!Number.isFinite(answer)) return false;
    return Math.abs(answer - right) <= quiz.relative * (1 + 1e-9) * Math.abs(right)
      || (answer + 0).toPrecision(quiz.digits) === (right + 0).toPrecision(quiz.digits);
  }
  let outcomes = questions.map(() => null);  // "first try", "later try" or "revealed" once answered
  let tries = questions.map(() => 0);
  let said = questions.map(() => "");       // the last verdict on each question
  const frameOf = questions.map(() => null);
  frames.forEach((f, k) => { if (f.question !== null) frameOf[f.question] = k; });

  function on() { return $("guess").checked; }
  function current() { const k = page.done() - 1; return k >= 0 ? frames[k] : null; }
  function open() {  // the question at the current step, if it is not answered yet
    const f = current();
    return f && f.question !== null && outcomes[f.question] === null ? f.question : null;
  }
  function realGrad(id, done) {  // a value's gradient after ``done`` steps, from the page's own data
    let value = data.first[id];
    for (let k = 0; k < done; k++) {
      for (const [gid, , after] of frames[k].grads) if (gid === id) value = after;
    }
    return value;
  }
  function setGrad(id, text) {
    const box = document.getElementById(id);
    const field = box ? box.querySelector("text.grad") : null;
    if (field) field.textContent = "grad " + text;
  }
  function score() {
    const count = (o) => outcomes.filter((x) => x === o).length;
    let text = count("first try") + " of " + questions.length + " right at the first try";
    if (count("later try")) text += ", " + count("later try") + " after another try";
    if (count("revealed")) text += ", " + count("revealed") + " revealed";
    const left = count(null);
    return left ? text + ", " + left + " not answered yet" : text;
  }
  function update() {
    body.classList.toggle("guess", on());
    const done = page.done();
    if (!on()) {  // everything as the page shows it
      for (const id of Object.keys(data.first)) setGrad(id, realGrad(id, done));
      return;
    }
    const shown = new Set([quiz.root]), edges = new Set();
    questions.forEach((q, i) => {
      if (outcomes[i] === null) return;
      q.values.forEach((id) => shown.add(id));
      q.edges.forEach((id) => edges.add(id));
    });
    for (const id of Object.keys(data.first)) setGrad(id, shown.has(id) ? realGrad(id, done) : "?");
    for (const edge of document.querySelectorAll("g.edge")) {
      edge.classList.toggle("unrevealed", !edges.has(edge.id));
    }
    const f = current(), asking = open();
    let record, chain;
    form.classList.toggle("idle", asking === null && (f === null || f.question === null));
    form.classList.toggle("answered", f !== null && f.question !== null && outcomes[f.question] !== null);
    if (f === null) {
      record = quiz.intro + "\\n\\nPress Next (→) to start.";
      chain = "Guess first: " + questions.length + " questions. Next (→) to start.";  // short: big type
      verdict.textContent = ""; verdict.className = "";
    } else if (f.question === null) {
      const d = "d(" + quiz.rootName + ")/d(" + quiz.rootName + ") = 1";
      const root = f.complete === quiz.root;
      record = root ? d + ": the sweep starts here. Next (→) for the first question."
        : f.name + " has no question of its own: " + quiz.hiddenNote;
      chain = root ? d + ": the sweep starts here." : f.name + ": no question of its own.";
      verdict.textContent = ""; verdict.className = "";
    } else {
      const q = questions[f.question];
      const heading = "Question " + (f.question + 1) + " of " + questions.length + ": " + q.prompt;
      $("prompt").textContent = heading + " =";
      record = heading + ", where " + q.where;
      chain = q.prompt + " = ?";
      if (outcomes[f.question] !== null) chain = q.reveal;
      verdict.textContent = said[f.question];
      verdict.className = outcomes[f.question] === null ? (said[f.question] ? "wrong" : "") : "right";
    }
    if (done === frames.length) {
      record += "\\n\\nScore: " + score() + ".";
      chain += "\\nScore: " + score() + ".";
    }
    $("record").textContent = record;
    $("chain").textContent = chain;
    const right = outcomes.filter((x) => x === "first try").length;
    $("status").textContent += " · " + right + " of " + questions.length + " right";
    const board = $("scoreboard");
    board.replaceChildren(...questions.map((q, i) => {
      const li = document.createElement("li");
      li.textContent = q.prompt + ": " + (outcomes[i] === null ? "?" : outcomes[i]);
      li.classList.toggle("open", f !== null && f.question === i);
      return li;
    }));
    if (asking !== null) {
      page.pause();
      $("next").disabled = true;
      if (document.activeElement !== input) { input.value = ""; input.focus(); }
    }
  }
  function check(event) {
    event.preventDefault();
    const i = open();
    if (i === null) return;
    const q = questions[i], typed = input.value.trim(), given = parse(typed);
    if (given === null) {
      said[i] = JSON.stringify(typed) + " is not a number: type one like -0.75, 1e-3 or -1/3";
    } else if (accepted(given, q.answer)) {
      tries[i] += 1;
      outcomes[i] = tries[i] === 1 ? "first try" : "later try";
      said[i] = "right: " + q.reveal;
    } else {
      tries[i] += 1;
      const found = q.wrong.filter((w) => accepted(given, w.value));
      said[i] = found.length === 0
        ? "not right: " + typed + " is not " + q.prompt + ", and no mistake in the catalogue gives it here. "
          + "Try again, or reveal the answer."
        : ["not right: " + typed + " is what " + q.prompt + " comes to with "
           + (found.length === 1 ? "this mistake:" : "each of these mistakes:")]
          .concat(found.map((w) => "  " + w.reason), ["Try again, or reveal the answer."]).join("\\n");
    }
    finish(i);
  }
  function reveal() {
    const i = open();
    if (i === null) return;
    outcomes[i] = "revealed";
    said[i] = questions[i].reveal;
    finish(i);
  }
  function finish(i) {
    page.go(page.done());  // show again: the page redraws, then this mode hides what is still asked
    if (outcomes[i] !== null) { input.blur(); $("next").focus(); }  // → goes on from here
  }
  function restart() {
    outcomes = questions.map(() => null); tries = questions.map(() => 0); said = questions.map(() => "");
    page.pause();
    page.go(0);
  }
  form.addEventListener("submit", check);
  $("reveal").addEventListener("click", reveal);
  $("guess").addEventListener("change", () => {
    $("guess").blur();  // the keys step the page again (they are ignored while an input has the focus)
    on() ? restart() : page.go(page.done());
  });
  // Keys that would step past an open question wait for its answer (they run before the page's own keys).
  window.addEventListener("keydown", (event) => {
    if (event.target === input) return;
    if (event.key === "g" && !event.ctrlKey && !event.metaKey && !event.altKey) {
      $("guess").checked = !on();
      on() ? restart() : page.go(page.done());
      event.preventDefault();
      return;
    }
    if (on() && open() !== null && ["ArrowRight", "PageDown", "End", " "].includes(event.key)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      input.focus();
    }
  }, true);
  page.listeners.push(update);
  update();  // the page has shown its first step already
  window.quiz = { parse: parse, accepted: accepted, score: score, outcomes: () => outcomes.slice() };
})();
"""
