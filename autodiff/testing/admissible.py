"""Where a random computation may go: the one admissibility rule of every random-graph generator.

A step of a random computation is kept only where the table of primitives
calls its inputs safe (``Primitive.safe``), where its forward rule and local
partials are defined, and where they all stay within a bound, so that every
gradient is accurate and no engine under test meets an overflow by accident.
The project's graph strategies (:mod:`autodiff.testing.strategies`) draw
primitive-level graphs under this rule, and the conformance kit
(:mod:`autodiff.conformance`) draws operator-level programs under the same rule,
applied to each node a program records:

>>> from autodiff.primitives import PRIMITIVES
>>> admissible(PRIMITIVES["log"], [2.0]) == math.log(2.0)
True
>>> admissible(PRIMITIVES["log"], [0.1]) is None  # too close to the edge of the domain
True
>>> admissible(PRIMITIVES["exp"], [4.9], bound=100.0) is None  # exp(4.9) > 100
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..primitives import Primitive
from ..value import Value


def admissible(op: Primitive, args: Sequence[float], constant: Sequence[bool] | None = None,
               bound: float = math.inf) -> float | None:
    """op's output at ``args`` if the table calls them safe and the output and partials are within bound.

    ``constant[i]`` says that input i is a constant: its partial is not needed
    (backward skips it), so it is not checked.  Returns None when not admissible.
    """
    if not op.safe(args):
        return None
    try:
        out = op.forward(*args)
        partials = [op.partial(i, args, out) for i in range(len(args)) if not (constant and constant[i])]
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    if not all(math.isfinite(x) and abs(x) <= bound for x in [out, *partials]):
        return None
    return out


def admissible_node(node: Value, bound: float) -> bool:
    """Whether a recorded node passes the rule at the numbers it was computed from (leaves always do)."""
    parents = node.parents
    if not parents:  # a leaf or a constant
        return True
    return admissible(node.primitive, [p.data for p in parents], [p.is_constant for p in parents],
                      bound) is not None
