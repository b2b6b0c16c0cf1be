"""The one walk over a journey's steps: every statement in file order, with its step id;
and the walk over a condition's parts (``condition_parts``).

Pipeline position: syntax tree -> **walk** -> checker and compiler. An ``if`` nests one
block per branch (entered when that branch's condition holds) and one for its ``else``;
a ``split`` nests one per path. Which blocks a statement nests, in which order, and the
id of every step in them are decided here only, so what the checker reads (every
statement, every label and what it names) and the steps the compiler builds cannot
disagree.

The step-id scheme. A run stores its position as a step id, so ids must stay put: a
step's ``step`` label when it has one, else its structural position — top-level steps
count ``1``, ``2``, … (labels and ``go to``s are not steps, so they do not shift the
count); a step nested in a block is named after the block's opening step: ``3.yes.1``
(first step of the ``if`` at 3), ``3.else-if.1`` (the first ``else if`` condition),
``3.else-if.1.yes.2``, ``3.else.1``, ``5.path2.1`` (first step of the split's second
path). A labelled block opener lends its label: ``weekly.yes.1``.

``STEP_ID_SCHEME`` numbers this scheme and is part of every journey version
(``dsl.compiler.journey_version``): any change to how ids are given must raise it, so
that today's journeys get new versions and runs already in a store keep theirs. Those are
recompiled with today's scheme, so a change of ids also needs a store migration that moves
the runs' positions to the new ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from journey.dsl.syntax import (
    AllOf,
    AnyOf,
    Branch,
    Condition,
    GoTo,
    If,
    Label,
    Not,
    Split,
    Statement,
)

__all__ = [
    "STEP_ID_SCHEME",
    "Arm",
    "Place",
    "arms",
    "condition_parts",
    "is_label",
    "statements",
    "walk",
]

#: The version of the step-id scheme described above.
STEP_ID_SCHEME = 1


def is_label(step_id: str) -> bool:
    """Whether a step id is a ``step`` label (``NAME`` in the grammar: never a digit first,
    never a dot) rather than a structural position (``3``, ``3.yes.1``, ``weekly.yes.1``)
    or the implicit end."""
    return step_id != "end" and "." not in step_id and not step_id[:1].isdigit()


@dataclass(frozen=True)
class Arm:
    """A block nested in an ``if`` or a ``split``, and where its steps stand."""

    body: tuple[Statement, ...]
    #: Every structural step id in ``body`` starts with it: ``3.yes.``,
    #: ``3.else-if.1.yes.``, ``3.else.``, ``5.path2.``.
    prefix: str
    #: An ``if``/``else if`` arm's branch, whose condition leads into ``body`` when it holds;
    #: None for an ``else`` or a split's path.
    branch: Branch | None = None
    #: The step id of that branch's condition: the ``if``'s own (``3``), or ``3.else-if.1``.
    condition_id: str | None = None


def arms(statement: Statement, step_id: str) -> tuple[Arm, ...]:
    """The blocks nested directly in ``statement`` (the step ``step_id``), in file order:
    an ``if``'s branches then its ``else``, a ``split``'s paths; none for any other step."""
    if isinstance(statement, If):
        found: list[Arm] = []
        for index, branch in enumerate(statement.branches):
            condition_id = step_id if index == 0 else f"{step_id}.else-if.{index}"
            found.append(Arm(branch.body, f"{condition_id}.yes.", branch, condition_id))
        if statement.otherwise is not None:
            found.append(Arm(statement.otherwise, f"{step_id}.else."))
        return tuple(found)
    if isinstance(statement, Split):
        return tuple(
            Arm(body, f"{step_id}.path{number}.")
            for number, body in enumerate(statement.paths, start=1)
        )
    return ()


@dataclass(frozen=True)
class Place:
    """A node the walk passes, and where it stands."""

    #: A statement, or an ``else if`` branch (a step of its own: its condition).
    node: Statement | Branch
    #: The node's step id. A label has the id of the step it names; a ``go to``, and a
    #: label naming a ``go to`` or nothing, have None (neither is a step).
    step_id: str | None
    #: For a label: the statement it names, the next one in its block that is not a
    #: label; None when nothing follows it in its block.
    names: Statement | None = None


def walk(block: tuple[Statement, ...], prefix: str = "") -> Iterator[Place]:
    """Every statement in ``block`` and in the blocks nested in it, in file order, each
    with its step id; an ``else if`` branch comes just before its body."""
    count = 0
    labels: list[Label] = []
    for statement in block:
        if isinstance(statement, Label):
            labels.append(statement)
            continue
        if isinstance(statement, GoTo):
            yield from (Place(label, None, statement) for label in labels)
            labels = []
            yield Place(statement, None)
            continue
        count += 1
        step_id = labels[0].name if labels else f"{prefix}{count}"
        yield from (Place(label, step_id, statement) for label in labels)
        labels = []
        yield Place(statement, step_id)
        for arm in arms(statement, step_id):
            if arm.branch is not None and arm.condition_id != step_id:
                yield Place(arm.branch, arm.condition_id)
            yield from walk(arm.body, arm.prefix)
    yield from (Place(label, None) for label in labels)


def statements(block: tuple[Statement, ...]) -> Iterator[Statement]:
    """Every statement in ``block`` and in the blocks nested in it, in file order."""
    for place in walk(block):
        if not isinstance(place.node, Branch):
            yield place.node


def condition_parts(condition: Condition) -> Iterator[Condition]:
    """``condition`` and every condition inside it (``not``, ``and``, ``or`` operands),
    outer before inner: what the checker checks and the dry run asks of each."""
    yield condition
    if isinstance(condition, Not):
        yield from condition_parts(condition.operand)
    elif isinstance(condition, AllOf | AnyOf):
        for operand in condition.operands:
            yield from condition_parts(operand)
