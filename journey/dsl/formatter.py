"""The formatter: one canonical layout for every journey, comments kept.

Pipeline position: syntax tree -> **text** (the way back). ``journey fmt`` uses it, and the
compiler uses ``statement_text``/``condition_text`` for each step's one-line ``text``.

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
    AddedToList,
    AddTask,
    AddToList,
    AllOf,
    AnyOf,
    AssignLead,
    AssignLeadToGroup,
    Comment,
    Condition,
    CreateOpportunity,
    EnteredSegment,
    EntryRule,
    Exit,
    FieldChanged,
    FieldCondition,
    FormSubmitted,
    Goal,
    GoTo,
    If,
    InList,
    InSegment,
    Journey,
    Label,
    Not,
    RecordTypeCondition,
    RemoveFromList,
    SendNotification,
    SetMemberStatus,
    Span,
    Split,
    Statement,
    Trigger,
    UpdateField,
    UpdateSalesforceField,
    Wait,
    WaitUntil,
)

__all__ = [
    "condition_text",
    "entry_text",
    "format_journey",
    "goal_text",
    "quote",
    "statement_text",
    "trigger_text",
]

INDENT = "    "


def quote(text: str) -> str:
    """A string literal for ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _amount(amount: int, unit: str) -> str:
    singular = unit[:-1] if unit.endswith("s") else unit
    return f"{amount} {singular if amount == 1 else singular + 's'}"


# ------------------------------------------------------------------ conditions

_PRECEDENCE = {AnyOf: 1, AllOf: 2, Not: 3}


def condition_text(condition: Condition, parent: int = 0) -> str:
    """A condition in canonical syntax, parenthesised when it binds looser than its place
    needs (``parent``: 2 inside ``or``, 3 inside ``and`` and after ``not``), so written
    groups — ``a or (b or c)`` — survive a round trip unchanged."""
    level = _PRECEDENCE.get(type(condition), 4)
    if isinstance(condition, AnyOf):
        text = " or ".join(condition_text(c, 2) for c in condition.operands)
    elif isinstance(condition, AllOf):
        text = " and ".join(condition_text(c, 3) for c in condition.operands)
    elif isinstance(condition, Not):
        text = "not " + condition_text(condition.operand, 3)
    elif isinstance(condition, FieldCondition):
        text = f"field {quote(condition.field)} {condition.op}"
        if condition.value is not None:
            is_literal = condition.op in (">", ">=", "<", "<=")
            text += " " + (condition.value if is_literal else quote(condition.value))
    elif isinstance(condition, InList):
        text = f"in list {quote(condition.list_name)}"
    elif isinstance(condition, InSegment):
        text = f"in segment {quote(condition.segment)}"
    elif isinstance(condition, RecordTypeCondition):
        text = f"is salesforce {condition.record_type}"
    else:
        text = f"campaign member status in {quote(condition.campaign)} is {quote(condition.status)}"
    return f"({text})" if level < parent else text


# ------------------------------------------------------------------ header


def trigger_text(trigger: Trigger) -> str:
    if isinstance(trigger, FormSubmitted):
        return f"trigger form submitted {quote(trigger.form)}"
    if isinstance(trigger, AddedToList):
        return f"trigger added to list {quote(trigger.list_name)}"
    if isinstance(trigger, EnteredSegment):
        return f"trigger entered segment {quote(trigger.segment)}"
    if isinstance(trigger, FieldChanged):
        to = f" to {quote(trigger.to)}" if trigger.to is not None else ""
        return f"trigger field changed {quote(trigger.field)}{to}"
    to = f" to {quote(trigger.to)}" if trigger.to is not None else ""
    return f"trigger campaign member status changed {quote(trigger.campaign)}{to}"


def entry_text(entry: EntryRule) -> str:
    if entry.mode == "once every":
        return f"entry once every {_amount(entry.days or 0, 'days')}"
    return f"entry {entry.mode}"


def goal_text(goal: Goal) -> str:
    return f"goal {quote(goal.name)} when {condition_text(goal.condition)}"


# ------------------------------------------------------------------ statements


def _assign_options(keep: bool, source: str | None, status: str | None) -> str:
    text = " keep current assignment" if keep else ""
    text += f" lead source {quote(source)}" if source is not None else ""
    return text + (f" lead status {quote(status)}" if status is not None else "")


def statement_text(statement: Statement) -> str:
    """One statement's first line in canonical syntax (an ``if`` or ``split`` gives its
    opening line, without the ``:``)."""
    match statement:
        case AddToList(list_name=name):
            return f"add to list {quote(name)}"
        case RemoveFromList(list_name=name):
            return f"remove from list {quote(name)}"
        case UpdateField(field=field, value=value):
            return f"update field {quote(field)} to {quote(value)}"
        case UpdateSalesforceField(field=field, value=value):
            return f"update salesforce field {quote(field)} to {quote(value)}"
        case AssignLead():
            options = _assign_options(
                statement.keep_current, statement.lead_source, statement.lead_status
            )
            return f"assign lead to {quote(statement.user)}{options}"
        case AssignLeadToGroup():
            options = _assign_options(
                statement.keep_current, statement.lead_source, statement.lead_status
            )
            return f"assign lead to group {quote(statement.group)}{options}"
        case AddTask():
            text = f"add task {quote(statement.subject)}"
            if statement.due_in_days is not None:
                text += f" due in {_amount(statement.due_in_days, 'days')}"
            if statement.assigned_to_lead_owner:
                text += " assigned to lead owner"
            elif statement.assigned_to is not None:
                text += f" assigned to {quote(statement.assigned_to)}"
            if statement.priority is not None:
                text += f" priority {quote(statement.priority)}"
            return text
        case SetMemberStatus(status=status, campaign=campaign):
            return f"set member status {quote(status)} in campaign {quote(campaign)}"
        case CreateOpportunity():
            text = f"create opportunity {quote(statement.name)}"
            if statement.stage is not None:
                text += f" stage {quote(statement.stage)}"
            if statement.amount is not None:
                text += f" amount {statement.amount}"
            if statement.close_in_days is not None:
                text += f" close in {_amount(statement.close_in_days, 'days')}"
            return text
        case SendNotification():
            also = " also to lead owner" if statement.also_to_lead_owner else ""
            return f"send notification {quote(statement.subject)} to {quote(statement.to)}{also}"
        case Exit():
            return "exit"
        case Wait(amount=amount, unit=unit):
            return f"wait {_amount(amount, unit)}"
        case WaitUntil(condition=condition, amount=amount, unit=unit):
            return f"wait until {condition_text(condition)} for at most {_amount(amount, unit)}"
        case Label(name=name):
            return f"step {name}"
        case GoTo(label=label):
            return f"go to {label}"
        case If(branches=branches):
            return f"if {condition_text(branches[0].condition)}"
        case Split(shares=shares):
            return "split " + " / ".join(f"{s}%" for s in shares)
    raise TypeError(f"not a statement: {statement!r}")  # pragma: no cover


# ------------------------------------------------------------------ whole files


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
