"""The shape of the engine under test, discovered by trying each feature in the child process.

Required: a constructor from a number, ``.data``, ``.grad``, ``.backward()``,
``+`` and ``*`` between Values.  Every other operation of
:data:`~autodiff.conformance.operations.OPERATIONS`, ``abs`` (as ``abs(v)``
or ``v.abs()``) and numbers on either side of each infix operator are
probed at a harmless point.  A feature is *present* when the probe gives a
Value, *absent* when it raises ``TypeError``, ``AttributeError``,
``AssertionError``, ``NotImplementedError`` or ``ValueError`` (the ways
Python and micrograd-style engines say "not supported"), and *broken* otherwise (another exception,
a hang, a crash, a result without ``.data``): broken features are tested and
fail, absent ones are skipped with the reason.

Whether ``backward()`` seeds the root's gradient itself is found too: an
engine that needs ``root.grad = 1`` first is a semantics, and the kit then
sets it before every backward (and says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .operations import ABS_METHOD, LEFT_NUMBERS, OPERATIONS, REQUIRED, Operation, left_feature, right_feature
from .runner import Outcome, Worker

#: Exceptions that mean "this engine does not support that", not "it is broken": every probe point
#: lies well inside every domain, so a ValueError there is a refusal ("only number exponents").
UNSUPPORTED = frozenset({"TypeError", "AttributeError", "AssertionError", "NotImplementedError",
                         "ValueError"})

#: Seconds each probe may take.
PROBE_TIMEOUT = 5.0


@dataclass
class Shape:
    """What the engine supports.

    ``operations`` maps each present operation's name to how it is written
    and called (``abs`` may be the method spelling); ``absent`` and
    ``broken`` map features to why; ``left`` and ``right`` name the infix
    operators that take a number on that side; ``unusable`` says why nothing
    can be tested (the required operations or backward fail), else None.
    """

    class_name: str
    operations: dict[str, Operation] = field(default_factory=dict)
    absent: dict[str, str] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    left: set[str] = field(default_factory=set)
    right: set[str] = field(default_factory=set)
    seed_by_hand: bool = False
    unusable: str | None = None

    def has(self, *features: str) -> bool:
        """Whether every feature is present (an operation name, ``3 + v`` or ``v + 3``)."""
        return all(f in self.operations or self._side(f) for f in features)

    def missing(self, *features: str) -> list[str]:
        """The features among these that are not present, each with why (absent or broken)."""
        return [f"{f} ({self.absent.get(f) or 'broken: ' + self.broken.get(f, '?')})"
                for f in features if not self.has(f)]

    def _side(self, feature: str) -> bool:
        return any(feature == left_feature(n) and n in self.left
                   or feature == right_feature(n) and n in self.right for n in LEFT_NUMBERS)

    def summary(self) -> list[str]:
        """Lines describing the shape, for the report's header."""
        lines = []
        if self.unusable:
            lines.append(f"cannot test: {self.unusable}")
        lines.append("operations: " + ", ".join(name for name in OPERATIONS if name in self.operations))
        for side, features, of in (("left", self.left, left_feature), ("right", self.right, right_feature)):
            if features:
                written = ", ".join(of(n) for n in LEFT_NUMBERS if n in features)
                lines.append(f"numbers on the {side}: {written}")
        if self.seed_by_hand:
            lines.append("semantics: backward() needs root.grad = 1 set first; the kit sets it")
        if self.absent:
            lines.append(f"absent: {', '.join(self.absent)} (skipped; each skip says why)")
        lines += [f"broken: {feature} ({why})" for feature, why in self.broken.items()]
        return lines


def discover(worker: Worker, class_name: str) -> Shape:
    """Probe every feature of the engine in ``worker``."""
    shape = Shape(class_name)
    for name in OPERATIONS:
        if _classify(shape, name, worker.call("probe", name, timeout=PROBE_TIMEOUT)):
            shape.operations[name] = OPERATIONS[name]
    if "abs" in shape.absent:
        method = worker.call("probe", "abs method", timeout=PROBE_TIMEOUT)
        if method.ok:
            del shape.absent["abs"]
            shape.operations["abs"] = ABS_METHOD
    for name in LEFT_NUMBERS:
        if name in shape.operations:
            for side, feature in ((shape.left, left_feature(name)), (shape.right, right_feature(name))):
                if _classify(shape, feature, worker.call("probe", feature, timeout=PROBE_TIMEOUT)):
                    side.add(name)
    missing = [name for name in REQUIRED if name not in shape.operations]
    if missing:
        why = {**shape.broken, **shape.absent}
        shape.unusable = "; ".join(f"{name} between two Values: {why[name]}" for name in missing)
        return shape
    _find_seeding(shape, worker)
    return shape


def _classify(shape: Shape, feature: str, outcome: Outcome) -> bool:
    """Whether the probe found the feature present; else record it as absent or broken."""
    if outcome.ok:
        return True
    if outcome.kind == "raised" and outcome.exception in UNSUPPORTED:
        shape.absent[feature] = outcome.error
    else:
        shape.broken[feature] = outcome.describe()
    return False


def _find_seeding(shape: Shape, worker: Worker) -> None:
    """Whether backward() seeds the root itself; unusable only if no backward finishes at all.

    Wrong numbers are not decided here: the checks find them and say which rule is wrong.
    """
    plain = worker.call("basics", False, timeout=PROBE_TIMEOUT)
    if plain.ok and any(plain.value):
        return
    seeded = worker.call("basics", True, timeout=PROBE_TIMEOUT)
    if seeded.ok and any(seeded.value):
        shape.seed_by_hand = True
        return
    if plain.kind in ("timeout", "crashed") and seeded.kind in ("timeout", "crashed"):
        value = shape.class_name
        shape.unusable = (f"a = {value}(2.0); b = {value}(-3.0); d = a * b + a; d.backward(): "
                          f"{plain.describe()}, with or without d.grad = 1 set first")
