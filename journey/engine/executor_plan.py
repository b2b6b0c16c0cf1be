"""The executor's plan of a journey: each step worked out once, for every contact after.

Pipeline position: ``dsl.compiled`` -> **executor_plan** -> ``engine.executor``. A step's
kind as a small int, its targets, the "text → " prefix of its feed entries, a local
action's list key or canonical field name, a split's 100 buckets mapped to their paths:
what ``advance`` would otherwise work out again for each contact at each step (networkx
is never used on the path; ``CompiledJourney.steps`` is read once). The plan is kept
with the journey, as its ``graph`` is.
"""

from __future__ import annotations

from journey.dsl.compiled import CompiledJourney, Step
from journey.dsl.syntax import AddToList, RemoveFromList, UpdateField
from journey.engine.actions import is_local
from journey.engine.contact import OWNER_FIELD, canonical_field

__all__ = [
    "ACTION",
    "CONDITION",
    "CONNECTOR",
    "END",
    "EXIT",
    "FIELD",
    "LIST_ADD",
    "LIST_REMOVE",
    "SPLIT",
    "WAIT",
    "Node",
    "plan_of",
    "split_path",
]


def split_path(step: Step, bucket: int) -> str:
    """The path a split's bucket (0..99) takes: the shares laid end to end, in order."""
    total = 0
    for index, share in enumerate(step.shares, start=1):
        total += share
        if bucket < total:
            return f"path {index}"
    return f"path {len(step.shares)}"


#: Step kinds and local action kinds as small ints, decided once per journey (``Node``).
END, EXIT, WAIT, CONDITION, SPLIT, ACTION = range(6)
_KINDS = {"end": END, "exit": EXIT, "wait": WAIT, "wait_until": WAIT}
_KINDS |= {"condition": CONDITION, "split": SPLIT, "action": ACTION}
CONNECTOR, LIST_ADD, LIST_REMOVE, FIELD = range(4)


class Node:
    """One step as ``advance`` runs it: its kind, targets and texts worked out once per
    journey, so the per-contact work is dict reads and the step's own test."""

    __slots__ = (
        "act",
        "action",
        "buckets",
        "condition",
        "display",
        "field_key",
        "key",
        "kind",
        "next",
        "no",
        "prefix",
        "split_next",
        "split_seed",
        "step",
        "value",
        "yes",
    )

    def __init__(self, journey: CompiledJourney, step: Step) -> None:
        self.step = step
        self.kind = _KINDS[step.kind]
        self.next = step.next.get("next", "")
        self.prefix = f"{step.text} → "
        self.action = step.action
        self.act = CONNECTOR
        self.key = self.display = self.value = ""
        #: A field update's casefolded name when it writes a plain field with a fixed
        #: value (no template, not Email or the owner), else "": the step is a dict write.
        self.field_key = ""
        self.buckets: tuple[str, ...] = ()
        self.split_next: tuple[str, ...] = ()  # bucket -> the step its path starts at
        self.split_seed = ""
        self.condition = step.condition
        self.yes, self.no = step.next.get("yes", ""), step.next.get("no", "")
        action = step.action
        if step.kind == "split":
            self.buckets = tuple(split_path(step, b) for b in range(100))
            self.split_next = tuple(step.next[path] for path in self.buckets)
            self.split_seed = f"{journey.name}\0{step.id}\0"
        elif action is not None and is_local(action):
            if isinstance(action, AddToList | RemoveFromList):
                self.act = LIST_ADD if isinstance(action, AddToList) else LIST_REMOVE
                self.key, self.display = action.list_name.casefold(), action.list_name
            else:
                assert isinstance(action, UpdateField)
                self.act, self.display, self.value = (
                    FIELD,
                    canonical_field(action.field),
                    action.value,
                )
                key = self.display.casefold()
                if "{{" not in self.value and key not in ("email", OWNER_FIELD.casefold()):
                    self.field_key = key
                    self.value = self.value.strip()


#: The key the plan is kept under in the journey's ``__dict__``.
PLAN = "_executor_nodes"


def plan_of(journey: CompiledJourney) -> dict[str, Node]:
    """The journey's ``Node``s, built on its first advance and kept with it (as its
    ``graph`` is) for every later contact."""
    cached: dict[str, Node] | None = vars(journey).get(PLAN)
    if cached is None:
        cached = {sid: Node(journey, step) for sid, step in journey.steps.items()}
        vars(journey)[PLAN] = cached
    return cached
