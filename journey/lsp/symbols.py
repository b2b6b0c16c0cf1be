"""Document symbols: the outline of a journey — its triggers, goals and steps, nested as
the blocks nest them.

Pipeline position: the editor server's outline, read from the syntax tree (``dsl.parser``
and ``dsl.transformer``, without the checker: a file with meaning problems still has an
outline). Each step shows its canonical text (``dsl.text``) and its step id (``dsl.walk``:
the id a run's position is stored under, and that ``journey status`` shows); a labelled
step is named by its label. A file that does not parse has no outline until it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from journey.dsl import JourneyError
from journey.dsl.parser import parse_document
from journey.dsl.syntax import NO_SPAN, Branch, If, Label, Span, Split, Statement
from journey.dsl.text import branch_text, goal_text, statement_text, trigger_text
from journey.dsl.transformer import assemble
from journey.dsl.walk import walk

__all__ = ["Symbol", "symbols"]

SymbolKind = Literal["journey", "trigger", "goal", "step", "block"]


@dataclass(frozen=True)
class Symbol:
    """One entry of the outline; ``span`` covers it (a block: its whole body),
    ``selection`` the words an editor highlights when it is chosen."""

    name: str
    detail: str
    kind: SymbolKind
    span: Span
    selection: Span
    children: tuple[Symbol, ...] = field(default=())


def _head(span: Span, text: str) -> Span:
    """A block's span cut to its opening line, about as long as ``text`` (its canonical
    words): what an editor selects when the block is chosen in the outline."""
    if span.end_line == span.line:
        return span
    return Span(span.line, span.column, span.line, span.column + len(text) + 1)


def _over(start: Span, body: tuple[Statement, ...]) -> Span:
    last = body[-1].span if body else start
    return Span(start.line, start.column, last.end_line, last.end_column)


class _Outline:
    def __init__(self, steps: tuple[Statement, ...]) -> None:
        self.ids: dict[int, str] = {}
        self.labels: dict[int, str] = {}
        for place in walk(steps):
            if isinstance(place.node, Label):
                if place.names is not None:
                    self.labels[id(place.names)] = place.node.name
            elif place.step_id is not None:
                self.ids[id(place.node)] = place.step_id

    def block(self, body: tuple[Statement, ...]) -> tuple[Symbol, ...]:
        return tuple(self.statement(s) for s in body if not isinstance(s, Label))

    def statement(self, statement: Statement) -> Symbol:
        text = statement_text(statement)
        step_id = self.ids.get(id(statement), "")
        label = self.labels.get(id(statement))
        name = label or text
        detail = f"{text} · {step_id}" if label else step_id
        children: tuple[Symbol, ...] = ()
        if isinstance(statement, If):
            children = self.branches(statement)
        elif isinstance(statement, Split):
            children = tuple(
                Symbol(
                    f"path {number}: {share}%",
                    "",
                    "block",
                    _over(spot, body),
                    _head(spot, "path:"),
                    self.block(body),
                )
                for number, (share, body, spot) in enumerate(
                    zip(statement.shares, statement.paths, statement.path_spans, strict=False),
                    start=1,
                )
            )
        return Symbol(name, detail, "step", statement.span, _head(statement.span, text), children)

    def branch(self, branch: Branch, first: bool) -> Symbol:
        text = branch_text(branch) if first else "else " + branch_text(branch)
        return Symbol(
            text,
            self.ids.get(id(branch), ""),
            "block",
            branch.span,
            _head(branch.span, text),
            self.block(branch.body),
        )

    def branches(self, statement: If) -> tuple[Symbol, ...]:
        found = [self.branch(b, i == 0) for i, b in enumerate(statement.branches)]
        if statement.otherwise is not None and statement.else_span != NO_SPAN:
            spot = statement.else_span
            found.append(
                Symbol(
                    "else",
                    "",
                    "block",
                    _over(spot, statement.otherwise),
                    _head(spot, "else:"),
                    self.block(statement.otherwise),
                )
            )
        return tuple(found)


def symbols(text: str, path: str = "<string>") -> list[Symbol]:
    """The outline of ``text``: one symbol for the journey, holding the rest; [] when the
    text does not parse."""
    try:
        journey = assemble(parse_document(text, path))
    except JourneyError:
        return []
    outline = _Outline(journey.steps)
    inner = [
        *(Symbol(trigger_text(t), "trigger", "trigger", t.span, t.span) for t in journey.triggers),
        *(Symbol(goal_text(g), "goal", "goal", g.span, g.span) for g in journey.goals),
        *outline.block(journey.steps),
    ]
    spans = [s.span for s in inner if s.span != NO_SPAN]
    head = journey.name_span if journey.name_span != NO_SPAN else (spans[0] if spans else NO_SPAN)
    whole = head
    if spans:
        last = max(spans, key=lambda s: (s.end_line, s.end_column))
        whole = Span(head.line, head.column, last.end_line, last.end_column)
    name = journey.name or "(no journey name)"
    return [Symbol(name, "journey", "journey", whole, head, tuple(inner))]
