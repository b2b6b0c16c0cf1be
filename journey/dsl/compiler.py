"""The compiler: checked syntax tree -> ``CompiledJourney`` (the step graph).

Pipeline position: checked model -> **compiled graph** -> executor. Blocks and labels
disappear here: every action, condition, split, wait, wait-until and exit becomes a
``Step`` whose ``next`` maps each outcome to the following step's id; ``go to`` is not a
step but the edge to its label's step; the implicit ``END`` step follows the last one.

Step ids are stable (a run stores its position as one): a step's ``step`` label when it
has one, else its structural position — top-level steps count ``1``, ``2``, … (labels
and ``go to``s are not steps, so they do not shift the count); a step nested in a block
is named after the block's opening step: ``3.yes.1`` (first step of the ``if`` at 3),
``3.else-if.1`` (the first ``else if`` condition), ``3.else-if.1.yes.2``, ``3.else.1``,
``5.path2.1`` (first step of the split's second path). A labelled block opener lends
its label: ``weekly.yes.1``.

Graph-shaped checks live here because they need the graph: a loop that can go round
without passing a wait (an error at its ``go to``) and steps no contact can reach
(a warning).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

import networkx as nx

from journey.dsl.compiled import END, CompiledJourney, Step
from journey.dsl.diagnostics import Diagnostic, at_span
from journey.dsl.formatter import condition_text, statement_text
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

__all__ = ["compile_journey", "source_version"]


def source_version(source: str) -> str:
    """The journey version: the first 16 hex digits of the source's sha256."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def _duration(amount: int, unit: TimeUnit) -> timedelta:
    return timedelta(**{unit: amount})


@dataclass
class _Entry:
    """Where control goes: a step id, and the ``go to`` that sent it there, if any."""

    target: str
    via: GoTo | None = None


@dataclass
class _Build:
    ids: dict[int, str] = field(default_factory=dict)  # id(statement) -> step id
    order: list[str] = field(default_factory=list)  # step ids in file order
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (kind, value)
    steps: dict[str, Step] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    goto_edges: list[tuple[str, str, GoTo]] = field(default_factory=list)
    endless: list[GoTo] = field(default_factory=list)  # go to's that reach no step at all

    # -------------------------------------------------------- pass 1: ids

    def number(self, block: tuple[Statement, ...], prefix: str) -> None:
        count = 0
        pending: list[str] = []
        for statement in block:
            if isinstance(statement, Label):
                pending.append(statement.name)
                continue
            if isinstance(statement, GoTo):
                for name in pending:
                    self.labels.setdefault(name, ("goto", statement.label))
                pending = []
                continue
            count += 1
            sid = pending[0] if pending else f"{prefix}{count}"
            for name in pending:
                self.labels.setdefault(name, ("step", sid))
            pending = []
            self.ids[id(statement)] = sid
            self.order.append(sid)
            if isinstance(statement, If):
                for index, branch in enumerate(statement.branches):
                    base = sid if index == 0 else f"{sid}.else-if.{index}"
                    if index:
                        self.ids[id(branch)] = base
                        self.order.append(base)
                    self.number(branch.body, f"{base}.yes.")
                if statement.otherwise is not None:
                    self.number(statement.otherwise, f"{sid}.else.")
            elif isinstance(statement, Split):
                for index, body in enumerate(statement.paths, start=1):
                    self.number(body, f"{sid}.path{index}.")

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
            otherwise = (
                self.build(statement.otherwise, after) if statement.otherwise is not None else after
            )
            no = otherwise
            for index in reversed(range(len(statement.branches))):
                branch = statement.branches[index]
                cid = sid if index == 0 else self.ids[id(branch)]
                yes = self.build(branch.body, after)
                outcomes = {"yes": yes, "no": no}
                self.add(
                    Step(
                        cid,
                        "condition",
                        f"if {condition_text(branch.condition)}",
                        branch.span.line,
                        next={k: v.target for k, v in outcomes.items()},
                        condition=branch.condition,
                    ),
                    branch.span,
                    outcomes,
                )
                no = _Entry(cid)
            return _Entry(sid)
        text = statement_text(statement)
        if isinstance(statement, Split):
            outcomes = {
                f"path {index}": self.build(body, after)
                for index, body in enumerate(statement.paths, start=1)
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


def _graph(steps: dict[str, Step]) -> nx.DiGraph:
    graph = nx.DiGraph()
    for step in steps.values():
        graph.add_node(step.id, step=step, kind=step.kind, text=step.text, line=step.line)
    for step in steps.values():
        for outcome, target in step.next.items():
            if graph.has_edge(step.id, target):
                graph.edges[step.id, target]["label"] += f", {outcome}"
            else:
                graph.add_edge(step.id, target, label=outcome)
    return graph


def _graph_problems(
    build: _Build, graph: nx.DiGraph, start: str, path: str, lines: list[str]
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    waits = {n for n, kind in graph.nodes(data="kind") if kind in ("wait", "wait_until")}
    restless = graph.subgraph(n for n in graph.nodes if n not in waits)
    reported: set[int] = set()
    loops: list[GoTo] = list(build.endless)
    for source, target, goto in build.goto_edges:
        if id(goto) in reported or source not in restless or target not in restless:
            continue
        if nx.has_path(restless, target, source):
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
            )
        )
    reachable = {start} | nx.descendants(graph, start)
    dead = [n for n in graph.nodes if n not in reachable and n != END]
    roots = [n for n in dead if not any(p in dead for p in graph.predecessors(n))]
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
            )
        )
    return problems


def compile_journey(
    journey: Journey, source: str, path: str = "<string>", lines: list[str] | None = None
) -> tuple[CompiledJourney, list[Diagnostic]]:
    """The step graph of a (checked) journey, plus the problems only the graph shows."""
    lines = lines if lines is not None else source.split("\n")
    build = _Build()
    build.number(journey.steps, "")
    build.steps[END] = Step(END, "end", "end", 0)
    build.spans[END] = NO_SPAN
    start = build.build(journey.steps, _Entry(END)).target
    ordered = {sid: build.steps[sid] for sid in [*build.order, END] if sid in build.steps}
    build.steps = ordered
    graph = _graph(build.steps)
    compiled = CompiledJourney(
        name=journey.name,
        version=source_version(source),
        triggers=journey.triggers,
        entry=journey.entry,
        goals=journey.goals,
        steps=dict(build.steps),
        start=start,
        graph=graph,
        source_path=path,
    )
    return compiled, _graph_problems(build, graph, start, path, lines)
