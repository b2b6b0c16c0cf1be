"""The formatter: one canonical layout for every journey, comments kept.

Pipeline position: syntax tree -> **text** (the way back). ``journey fmt`` uses it. Each
line's text is the syntax tree's own (``dsl.text.statement_text`` and its siblings);
this module decides only the layout around it: blocks, blank lines and comments.

The layout rules (docs/language.md, "Layout"):

* keywords in lower case; strings double-quoted with ``\\"`` and ``\\\\`` escaped;
  a singular unit after 1 (``wait 1 week``), plural otherwise;
* 4 spaces per block level; no trailing spaces; the file ends with one newline;
* the header in its order, in groups — ``journey``; the triggers; ``entry`` and goals;
  then the steps — with one blank line between groups;
* ``entry once`` is written only when the source wrote it (it is the default);
* action options in the order of the reference (``keep current assignment``,
  ``lead source``, ``lead status``; ``due in``, ``assigned to``, ``priority``; ...);
* a comment on its own line stays before the line it preceded, at its own block level
  (rounded to 4 spaces; never shallower than the next line, never more than one level
  deeper than the previous one); a comment after code stays at the end of its line, two
  spaces after the code;
* blank lines: one wherever the source had one or more (never at the start of a block),
  plus one between the header groups.

``fmt`` is idempotent and never changes meaning: ``parse(fmt(x)) == parse(x)``.
"""

from __future__ import annotations

from journey.dsl.syntax import (
    NO_SPAN,
    Comment,
    EntryRule,
    If,
    Journey,
    Span,
    Split,
    Statement,
)
from journey.dsl.text import (
    condition_text,
    entry_text,
    goal_text,
    quote,
    statement_text,
    trigger_text,
)

__all__ = ["format_journey"]

INDENT = "    "


class _Printer:
    def __init__(self, comments: tuple[Comment, ...], blank_lines: set[int]) -> None:
        self.pending = sorted(comments, key=lambda c: (c.span.line, c.span.column))
        self.blank_lines = blank_lines
        self.out: list[str] = []
        self.last_line = 0  # source line of the last thing written
        self.last_depth = -1  # nothing written yet: a leading comment is not indented
        self.block_start = True

    def _blank_between(self, line: int) -> bool:
        return any(b in self.blank_lines for b in range(self.last_line + 1, line))

    def _write(self, text: str, line: int, force_blank: bool) -> None:
        wants_blank = force_blank or (line > 0 and self.last_line > 0 and self._blank_between(line))
        if wants_blank and self.out and not self.block_start and self.out[-1] != "":
            self.out.append("")
        self.out.append(text)
        self.block_start = False
        if line:
            self.last_line = line

    def line(self, depth: int, text: str, span: Span, force_blank: bool = False) -> None:
        line = span.line if span != NO_SPAN else 0
        if line:
            while self.pending and self.pending[0].span.line < line:
                comment = self.pending.pop(0)
                # A comment keeps its own level, between the next line's and one deeper
                # than the previous line's, so it stays with the block it was written in.
                own = (comment.span.column + 1) // len(INDENT)
                level = max(depth, min(own, self.last_depth + 1))
                self._write(INDENT * level + comment.text, comment.span.line, force_blank)
                force_blank = False
        trailing = ""
        if line and self.pending and self.pending[0].span.line == line:
            trailing = "  " + self.pending.pop(0).text
        self._write(INDENT * depth + text + trailing, line, force_blank)
        self.last_depth = depth

    def open_block(self) -> None:
        self.block_start = True

    def block(self, depth: int, body: tuple[Statement, ...]) -> None:
        self.open_block()
        for statement in body:
            self.statement(depth, statement)

    def statement(self, depth: int, statement: Statement, force_blank: bool = False) -> None:
        if isinstance(statement, If):
            for index, branch in enumerate(statement.branches):
                keyword = "if" if index == 0 else "else if"
                text = f"{keyword} {condition_text(branch.condition)}:"
                self.line(depth, text, branch.span, force_blank and index == 0)
                self.block(depth + 1, branch.body)
            if statement.otherwise is not None:
                self.line(depth, "else:", statement.else_span)
                self.block(depth + 1, statement.otherwise)
        elif isinstance(statement, Split):
            self.line(depth, statement_text(statement) + ":", statement.span, force_blank)
            self.open_block()
            for index, body in enumerate(statement.paths):
                spans = statement.path_spans
                self.line(depth + 1, "path:", spans[index] if index < len(spans) else NO_SPAN)
                self.block(depth + 2, body)
        else:
            self.line(depth, statement_text(statement), statement.span, force_blank)

    def finish(self) -> str:
        for comment in self.pending:
            self._write(comment.text, comment.span.line, False)
        while self.out and self.out[-1] == "":
            self.out.pop()
        return "\n".join(self.out) + "\n"


def format_journey(journey: Journey, source: str | None = None) -> str:
    """``journey`` in canonical layout. With the ``source`` it was parsed from, blank
    lines between steps are kept (one at most) and comments go back where they were."""
    blank_lines: set[int] = set()
    if source is not None:
        blank_lines = {
            number for number, text in enumerate(source.split("\n"), start=1) if not text.strip()
        }
    printer = _Printer(journey.comments if source is not None else (), blank_lines)
    printer.line(0, f"journey {quote(journey.name)}", journey.name_span)
    for index, trigger in enumerate(journey.triggers):
        printer.line(0, trigger_text(trigger), trigger.span, force_blank=index == 0)
    settings_blank = True
    if journey.entry.span != NO_SPAN or journey.entry != EntryRule():
        printer.line(0, entry_text(journey.entry), journey.entry.span, force_blank=True)
        settings_blank = False
    for goal in journey.goals:
        printer.line(0, goal_text(goal), goal.span, force_blank=settings_blank)
        settings_blank = False
    for index, statement in enumerate(journey.steps):
        printer.statement(0, statement, force_blank=index == 0)
    return printer.finish()
