"""What a node shows: the protocol every view, walk and runner reads (a :class:`~autodiff.Value` is one).

Code above the graph layer reads nodes through these fields only, never
through the private slots a Value keeps them in; annotating a parameter
``Node`` says so.  ``isinstance(x, Node)`` checks that the fields are there.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .primitives import Primitive


@runtime_checkable
class Node(Protocol):
    """A number in a graph: its data, gradient, operands, primitive and where it came from."""

    label: str | None
    scope: str | None

    @property
    def data(self) -> float:
        """The number the node holds."""

    @property
    def grad(self) -> Any:
        """d(root)/d(node) of the passes so far: a float, a recorded node, or None (no gradient yet)."""

    @property
    def parents(self) -> tuple[Node, ...]:
        """The operands, in order (empty for a leaf or a constant)."""

    @property
    def primitive(self) -> Primitive | None:
        """The table entry that computed it (None for a leaf)."""

    @property
    def op(self) -> str:
        """The primitive's name ('' for a leaf, 'const' for a constant)."""

    @property
    def site(self) -> str | None:
        """Where it was made, if anomaly mode was on."""

    @property
    def created(self) -> int:
        """Its position in creation order: after its parents."""

    @property
    def is_leaf(self) -> bool:
        """Made by ``Value(...)``: no parents, receives a gradient."""

    @property
    def is_constant(self) -> bool:
        """A number that entered through arithmetic (the 2 in ``x * 2``)."""
