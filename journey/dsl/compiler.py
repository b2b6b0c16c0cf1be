"""The compiler: checked syntax tree -> ``CompiledJourney`` (the step graph).

Pipeline position: checked model -> **compiled graph** -> executor. Blocks and labels
disappear here: every action, condition, split, wait, wait-until and exit becomes a
``Step`` whose ``next`` maps each outcome to the following step's id; ``go to`` is not a
step but the edge to its label's step; the implicit ``END`` step follows the last one.
Step ids, and which blocks an ``if`` or ``split`` nests, come from ``dsl.walk``; each
step's text is the syntax tree's own (``dsl.text.statement_text``).

The journey version a run is pinned to hashes the source together with the step-id
scheme (``dsl.walk.STEP_ID_SCHEME``): the same text compiled under another scheme is
another version, because its ids name other steps.

Graph-shaped checks live here because they need the graph: a loop that can go round
without passing a wait (an error at its ``go to``) and steps no contact can reach
(a warning).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from journey.dsl.compiled import END, CompiledJourney, Step
from journey.dsl.diagnostics import Diagnostic, at_span
from journey.dsl.syntax import (
    NO_SPAN,
    Exit,
    GoTo,
    If,
    Journey,
    Label,
    Span,
    Split,
    Statement,
    TimeUnit,
    Wait,
    WaitUntil,
)
from journey.dsl.text import branch_text, statement_text
from journey.dsl.walk import STEP_ID_SCHEME, arms, walk

__all__ = ["compile_journey", "journey_version"]


def journey_version(source: str) -> str:
    """The version of a journey's ``source``: the first 16 hex digits of the sha256 of the
    step-id scheme's number and the text, so either changing gives a new version."""
    stamped = f"{STEP_ID_SCHEME}\0{source}"
    return hashlib.sha256(stamped.encode("utf-8")).hexdigest()[:16]


def _duration(amount: int, unit: TimeUnit) -> timedelta:
    return timedelta(**{unit: amount})


@dataclass
class _Entry:
    """Where control goes: a step id, and the ``go to`` that sent it there, if any."""

    target: str
    via: GoTo | None = None


@dataclass
class _Build:
    ids: dict[int, str] = field(default_factory=dict)  # id(statement or branch) -> step id
    order: list[str] = field(default_factory=list)  # step ids in file order
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (kind, value)
    steps: dict[str, Step] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    goto_edges: list[tuple[str, str, GoTo]] = field(default_factory=list)
    endless: list[GoTo] = field(default_factory=list)  # go to's that reach no step at all

    # -------------------------------------------------------- pass 1: ids

    def number(self, block: tuple[Statement, ...]) -> None:
        for place in walk(block):
            node = place.node
            if isinstance(node, Label):
                if isinstance(place.names, GoTo):
                    self.labels.setdefault(node.name, ("goto", place.names.label))
                elif place.step_id is not None:
                    self.labels.setdefault(node.name, ("step", place.step_id))
            elif place.step_id is not None:
                self.ids[id(node)] = place.step_id
                self.order.append(place.step_id)

    def resolve(self, label: str) -> str | None:
        """The step a label names, following labels that stand on a ``go to``; None when
        they only jump to each other (``step a`` / ``go to a``). An unknown label gives
        END (the checker reports it)."""
        seen: set[str] = set()
        while label not in seen:
            seen.add(label)
            kind, value = self.labels.get(label, ("step", END))
            if kind == "step":
                return value
            label = value
        return None

    # -------------------------------------------------------- pass 2: steps

    def add(self, step: Step, span: Span, entry_by_outcome: dict[str, _Entry]) -> None:
        self.steps[step.id] = step
        self.spans[step.id] = span
        for entry in entry_by_outcome.values():
            if entry.via is not None:
                self.goto_edges.append((step.id, entry.target, entry.via))

    def build(self, block: tuple[Statement, ...], after: _Entry) -> _Entry:
        entry = after
        for statement in reversed(block):
            if isinstance(statement, Label):
                continue
            if isinstance(statement, GoTo):
                target = self.resolve(statement.label)
                if target is None:
                    self.endless.append(statement)
                entry = _Entry(target or END, statement)
                continue
            entry = self.statement(statement, entry)
        return entry

    def statement(self, statement: Statement, after: _Entry) -> _Entry:
        sid = self.ids[id(statement)]
        line = statement.span.line
        if isinstance(statement, If):
            no = after
            for arm in reversed(arms(statement, sid)):
                body = self.build(arm.body, after)
                if arm.branch is None or arm.condition_id is None:
                    no = body  # the ``else``
                    continue
                outcomes = {"yes": body, "no": no}
                self.add(
                    Step(
                        arm.condition_id,
                        "condition",
                        branch_text(arm.branch),
                        arm.branch.span.line,
                        next={k: v.target for k, v in outcomes.items()},
                        condition=arm.branch.condition,
                    ),
                    arm.branch.span,
                    outcomes,
                )
                no = _Entry(arm.condition_id)
            return _Entry(sid)
        text = statement_text(statement)
        if isinstance(statement, Split):
            outcomes = {
                f"path {number}": self.build(arm.body, after)
                for number, arm in enumerate(arms(statement, sid), start=1)
            }
            step = Step(
                sid,
                "split",
                text,
                line,
                next={k: v.target for k, v in outcomes.items()},
                shares=statement.shares,
            )
        elif isinstance(statement, Exit):
            outcomes = {}
            step = Step(sid, "exit", text, line)
        elif isinstance(statement, Wait):
            outcomes = {"next": after}
            duration = _duration(statement.amount, statement.unit)
            step = Step(sid, "wait", text, line, {"next": after.target}, duration=duration)
        elif isinstance(statement, WaitUntil):
            outcomes = {"next": after}
            step = Step(
                sid,
                "wait_until",
                text,
                line,
                {"next": after.target},
                condition=statement.condition,
                duration=_duration(statement.amount, statement.unit),
            )
        else:
            assert not isinstance(statement, Label | GoTo)  # neither is a step (see build)
            outcomes = {"next": after}
            step = Step(sid, "action", text, line, {"next": after.target}, action=statement)
        self.add(step, statement.span, outcomes)
        return _Entry(sid)


def _reach(successors: Mapping[str, set[str]], start: str, within: set[str]) -> set[str]:
    """The steps of ``within`` a walk from ``start`` can reach through ``within``, ``start``
    included. (Plain sets, not networkx: ``journey check`` runs this for every file, and
    importing networkx would cost it more than checking the whole example project.)"""
    seen = {start}
    todo = [start]
    while todo:
        for target in successors.get(todo.pop(), ()):
            if target in within and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _graph_problems(
    build: _Build, steps: Mapping[str, Step], start: str, path: str, lines: list[str]
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    successors = {sid: set(step.next.values()) for sid, step in steps.items()}
    # Ordered as the steps are, so the problems come in the file's order.
    nodes = dict.fromkeys([*successors, *(t for ts in steps.values() for t in ts.next.values())])
    restless = {n for n in nodes if n not in steps or steps[n].kind not in ("wait", "wait_until")}
    reported: set[int] = set()
    loops: list[GoTo] = list(build.endless)
    for source, target, goto in build.goto_edges:
        if id(goto) in reported or source not in restless or target not in restless:
            continue
        if source in _reach(successors, target, restless):
            reported.add(id(goto))
            loops.append(goto)
    for goto in loops:
        problems.append(
            at_span(
                path,
                lines,
                goto.span,
                "error",
                f"`go to {goto.label}` makes a loop with no wait: a contact would go "
                "round it forever without pause",
                "add a `wait` (e.g. `wait 1 day`) inside the loop",
                code="J501",
            )
        )
    reachable = _reach(successors, start, set(nodes))
    dead = [n for n in nodes if n not in reachable and n != END]
    roots = [n for n in dead if not any(n in successors.get(p, ()) for p in dead)]
    if dead and not roots:
        roots = [min(dead, key=lambda n: build.spans[n])]
    for node in roots:
        problems.append(
            at_span(
                path,
                lines,
                build.spans[node],
                "warning",
                "no contact can reach this step",
                "it follows an `exit` or a `go to`; remove it or move it",
                code="J502",
            )
        )
    return problems


def compile_journey(
    journey: Journey, source: str, path: str = "<string>", lines: list[str] | None = None
) -> tuple[CompiledJourney, list[Diagnostic]]:
    """The step graph of a (checked) journey, plus the problems only the graph shows."""
    lines = lines if lines is not None else source.split("\n")
    build = _Build()
    build.number(journey.steps)
    build.steps[END] = Step(END, "end", "end", 0)
    build.spans[END] = NO_SPAN
    start = build.build(journey.steps, _Entry(END)).target
    ordered = {sid: build.steps[sid] for sid in [*build.order, END] if sid in build.steps}
    build.steps = ordered
    compiled = CompiledJourney(
        name=journey.name,
        version=journey_version(source),
        triggers=journey.triggers,
        entry=journey.entry,
        goals=journey.goals,
        steps=dict(build.steps),
        start=start,
        source_path=path,
    )
    return compiled, _graph_problems(build, build.steps, start, path, lines)
