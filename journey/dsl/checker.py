"""The checker: every problem in a parsed journey, collected rather than raised.

Pipeline position: syntax tree -> **checked model** -> compiled graph. The parser has
already refused what is not the language; the checker judges what a well-formed file
*means*: the header's order and counts, at least one trigger, split shares, labels and
``go to``s, and every name against the ``Schema`` (fields, groups, segments; the org's
users, campaigns, statuses and fields through ``dsl.org_names``) with field types where
they are known. Problems that need the step graph — a
loop with no wait, unreachable steps — are found by ``dsl.compiler``.

Severity rules (documented in docs/language.md): a name of a kind the schema declares
but that is not declared is an error; a name of a kind nothing declares (``None``) is a
warning, once per name. A field type mismatch (``>`` on a Text field, ``is true`` on a
field that is not True/False) is an error whenever the field's type is known.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from journey.dsl.diagnostics import Diagnostic, Schema, Severity, at_span
from journey.dsl.hints import closest
from journey.dsl.org_names import OrgNames, salesforce_owned
from journey.dsl.syntax import (
    NO_SPAN,
    AddedToList,
    AddTask,
    AssignLead,
    AssignLeadToGroup,
    CampaignMemberStatusChanged,
    CampaignStatusCondition,
    Condition,
    EnteredSegment,
    EntryRule,
    FieldChanged,
    FieldCondition,
    FormSubmitted,
    Goal,
    GoTo,
    If,
    InSegment,
    Journey,
    Label,
    SetMemberStatus,
    Span,
    Split,
    Statement,
    UpdateField,
    UpdateSalesforceField,
    Wait,
    WaitUntil,
)
from journey.dsl.templates import template_fields
from journey.dsl.transformer import Document, JourneyName
from journey.dsl.walk import condition_parts, statements, walk

__all__ = ["check_header", "check_journey"]

_TRIGGERS = (FormSubmitted, AddedToList, EnteredSegment, FieldChanged, CampaignMemberStatusChanged)
_ORDER_HINT = "the order is: `journey`, `trigger`s, `entry`, `goal`s, then the steps"
_RANK_NAMES = {1: "`trigger`", 2: "`entry`", 3: "`goal`", 4: "the steps"}


def _rank(item: object) -> int:
    if isinstance(item, JourneyName):
        return 0
    if isinstance(item, _TRIGGERS):
        return 1
    if isinstance(item, EntryRule):
        return 2
    if isinstance(item, Goal):
        return 3
    return 4


def check_header(
    document: Document, path: str, lines: list[str], require_trigger: bool = True
) -> list[Diagnostic]:
    """The header's shape: ``journey`` first and once, then triggers, entry (at most once),
    goals, then steps; at least one trigger unless ``require_trigger`` is False (a file
    without one still has a syntax tree — and still formats)."""
    problems: list[Diagnostic] = []
    items = document.items
    names = [i for i in items if isinstance(i, JourneyName)]
    if not names:
        first = next((getattr(i, "span", NO_SPAN) for i in items), Span(1, 1, 1, 1))
        problems.append(
            at_span(
                path,
                lines,
                first if first != NO_SPAN else Span(1, 1, 1, 1),
                "error",
                'a journey file starts with `journey "NAME"`',
                'add a first line such as `journey "Demo request follow-up"`',
                code="J150",
            )
        )
    elif items[0] is not names[0]:
        problems.append(
            at_span(
                path,
                lines,
                names[0].span,
                "error",
                '`journey "NAME"` must be the first statement of the file',
                _ORDER_HINT,
                code="J151",
            )
        )
    for extra in names[1:]:
        problems.append(
            at_span(
                path,
                lines,
                extra.span,
                "error",
                "a file holds one journey: `journey` is given twice",
                "split it into two files",
                code="J152",
            )
        )
    entries = [i for i in items if isinstance(i, EntryRule)]
    for extra_entry in entries[1:]:
        problems.append(
            at_span(
                path,
                lines,
                extra_entry.span,
                "error",
                "`entry` is given twice",
                "keep one entry rule",
                code="J153",
            )
        )
    highest = 0
    for item in items:
        rank = _rank(item)
        if rank and rank < highest:
            what = _RANK_NAMES[rank] if rank < 4 else "a step"
            problems.append(
                at_span(
                    path,
                    lines,
                    getattr(item, "span", NO_SPAN),
                    "error",
                    f"{what} must come before {_RANK_NAMES[highest]}",
                    _ORDER_HINT,
                    code="J154",
                )
            )
        highest = max(highest, rank)
    if require_trigger and names and not any(isinstance(i, _TRIGGERS) for i in items):
        problems.append(
            at_span(
                path,
                lines,
                names[0].span,
                "error",
                "this journey has no `trigger`: no contact can ever enter it",
                'add a trigger after the `journey` line, e.g. `trigger added to list "..."`',
                code="J155",
            )
        )
    return problems


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_LEAD_STATUS = "lead status"


class _Checker:
    def __init__(self, journey: Journey, schema: Schema, path: str, lines: list[str]) -> None:
        self.journey = journey
        self.schema = schema
        self.path = path
        self.lines = lines
        self.problems: list[Diagnostic] = []
        self.warned: set[tuple[str, str]] = set()
        known = schema.fields if schema.fields is not None else schema.standard_fields
        self.field_types: Mapping[str, str] | None = (
            {k.casefold(): v for k, v in known.items()} if known is not None else None
        )
        self.field_names = list(known) if known is not None else []
        self.org = OrgNames(schema, self.report, self.warned)

    def report(
        self,
        span: Span,
        severity: Severity,
        message: str,
        hint: str | None = None,
        *,
        code: str,
    ) -> None:
        self.problems.append(
            at_span(self.path, self.lines, span, severity, message, hint, code=code)
        )

    # ------------------------------------------------------------ names

    def field(self, name: str, span: Span) -> str | None:
        """The field's type when known; reports an unknown field."""
        if self.field_types is None:
            return None
        found = self.field_types.get(name.casefold())
        if found is not None:
            return found
        declared = self.schema.fields is not None
        key = ("field", name.casefold())
        if not declared and key in self.warned:
            return None
        self.warned.add(key)
        near = closest(name, self.field_names)
        if near:
            hint = f"did you mean `{near}`?"
        elif declared:
            hint = f'declare it in journey.toml under [fields], e.g. "{name}" = "Text"'
        else:
            hint = "no journey.toml declares fields here; inside a project this is an error"
        severity: Severity = "error" if declared else "warning"
        self.report(span, severity, f'unknown field "{name}"', hint, code="J201")
        return None

    def name(self, kind: str, name: str, known: frozenset[str] | None, span: Span) -> None:
        key = (kind, name.casefold())
        if key in self.warned:
            return
        if known is None:
            self.warned.add(key)
            self.report(
                span,
                "warning",
                f'{kind} "{name}" cannot be checked: nothing declares {kind}s here',
                f"it is checked against journey.toml [{kind}s] when there is one",
                code="J204",
            )
            return
        if name.casefold() in {k.casefold() for k in known}:
            return
        self.warned.add(key)
        near = closest(name, known)
        hint = f"did you mean `{near}`?" if near else f"declare it in journey.toml under [{kind}s]"
        code = "J202" if kind == "segment" else "J203"
        self.report(span, "error", f'unknown {kind} "{name}"', hint, code=code)

    def templates(self, text: str, span: Span) -> None:
        for name in template_fields(text):
            self.field(name, span)
        if text.count("{{") != text.count("}}"):
            self.report(
                span,
                "warning",
                "a `{{` placeholder is not closed with `}}`",
                "write placeholders as {{Field Name}}",
                code="J330",
            )

    # ------------------------------------------------------------ conditions

    def condition(self, condition: Condition) -> None:
        for part in condition_parts(condition):
            if isinstance(part, FieldCondition):
                self.field_condition(part)
            elif isinstance(part, InSegment):
                self.name("segment", part.segment, self.schema.segments, part.span)
            elif isinstance(part, CampaignStatusCondition):
                self.org.member_status(part.campaign, part.status, part.span)

    def field_condition(self, part: FieldCondition) -> None:
        kind = self.field(part.field, part.span)
        if part.field.casefold() == _LEAD_STATUS and part.op in ("is", "is not"):
            self.org.lead_status(part.value, part.span)
        if kind is None:
            return
        op, value, name = part.op, part.value, part.field
        if op in (">", ">=", "<", "<="):
            if kind not in ("Number", "Date"):
                self.report(
                    part.span,
                    "error",
                    f'`{op}` compares numbers and dates, but "{name}" is {kind}',
                    "use `is`, `contains` or `starts with` for text",
                    code="J301",
                )
            elif kind == "Number" and value is not None and not _NUMBER.match(value):
                self.report(
                    part.span, "error", f'"{name}" is a Number; `{value}` is not one', code="J302"
                )
            elif kind == "Date" and value is not None and not _DATE.match(value):
                self.report(
                    part.span, "error", f'"{name}" is a Date; write it as YYYY-MM-DD', code="J303"
                )
        elif op in ("is true", "is false"):
            if kind != "True/False":
                self.report(
                    part.span,
                    "error",
                    f'`{op}` needs a True/False field, but "{name}" is {kind}',
                    f'compare its value instead: field "{name}" is "..."',
                    code="J304",
                )
        elif op in ("contains", "starts with"):
            if kind != "Text":
                self.report(
                    part.span, "error", f'`{op}` works on text, but "{name}" is {kind}', code="J305"
                )
        elif op in ("is", "is not") and kind == "True/False":
            self.report(
                part.span,
                "error",
                f'"{name}" is a True/False field',
                f"use `{'is' if op == 'is' else 'is not'} true` or `is false`",
                code="J306",
            )

    # ------------------------------------------------------------ journey

    def run(self) -> list[Diagnostic]:
        journey = self.journey
        for trigger in journey.triggers:
            if isinstance(trigger, EnteredSegment):
                self.name("segment", trigger.segment, self.schema.segments, trigger.span)
            elif isinstance(trigger, FieldChanged):
                self.field(trigger.field, trigger.span)
                if trigger.field.casefold() == _LEAD_STATUS:
                    self.org.lead_status(trigger.to, trigger.span)
            elif isinstance(trigger, CampaignMemberStatusChanged):
                self.org.member_status(trigger.campaign, trigger.to, trigger.span)
        if journey.entry.mode == "once every" and (journey.entry.days or 0) < 1:
            self.report(
                journey.entry.span,
                "error",
                "`entry once every` needs at least 1 day",
                code="J310",
            )
        for goal in journey.goals:
            self.condition(goal.condition)
        self.labels()
        for statement in statements(journey.steps):
            self.statement(statement)
        return self.problems

    def labels(self) -> None:
        defined: dict[str, Label] = {}
        places = [p for p in walk(self.journey.steps) if isinstance(p.node, Label | GoTo)]
        for place in places:
            label = place.node
            if not isinstance(label, Label):
                continue
            span = label.name_span if label.name_span != NO_SPAN else label.span
            if label.name.casefold() == "end":
                self.report(
                    span,
                    "error",
                    "`end` is reserved for the end of the journey",
                    "choose another step name",
                    code="J212",
                )
            elif label.name in defined:
                first = defined[label.name].span.line
                self.report(
                    span,
                    "error",
                    f"step `{label.name}` is defined twice (first on line {first})",
                    "give each step its own name",
                    code="J211",
                )
            else:
                defined[label.name] = label
            if place.names is None:
                self.report(
                    label.span,
                    "error",
                    f"`step {label.name}` names the step after it, "
                    "but nothing follows it in this block",
                    "put the label just before the step it names",
                    code="J213",
                )
        for place in places:
            goto = place.node
            if isinstance(goto, GoTo) and goto.label not in defined:
                span = goto.label_span if goto.label_span != NO_SPAN else goto.span
                near = closest(goto.label, defined)
                hint = (
                    f"did you mean `{near}`?"
                    if near
                    else f"label the step to jump to with `step {goto.label}` before it"
                )
                self.report(span, "error", f"no step is named `{goto.label}`", hint, code="J210")

    def statement(self, statement: Statement) -> None:
        if isinstance(statement, If):
            for branch in statement.branches:
                self.condition(branch.condition)
        elif isinstance(statement, WaitUntil):
            self.condition(statement.condition)
            if statement.amount < 1:
                self.report(statement.span, "error", "`for at most` needs at least 1", code="J311")
        elif isinstance(statement, Wait):
            if statement.amount < 1:
                self.report(
                    statement.span,
                    "warning",
                    "`wait 0` does not wait",
                    "remove it or wait at least 1",
                    code="J312",
                )
        elif isinstance(statement, Split):
            self.split(statement)
        elif isinstance(statement, AssignLeadToGroup):
            self.name("group", statement.group, self.schema.groups, statement.span)
            self.org.lead_status(statement.lead_status, statement.span)
        elif isinstance(statement, AssignLead):
            self.org.user(statement.user, statement.span, queue_ok=True)
            self.org.lead_status(statement.lead_status, statement.span)
        elif isinstance(statement, AddTask) and statement.assigned_to is not None:
            self.org.user(statement.assigned_to, statement.span, queue_ok=False)
        elif isinstance(statement, SetMemberStatus):
            self.org.member_status(statement.campaign, statement.status, statement.span)
        if isinstance(statement, UpdateField | UpdateSalesforceField):
            before = len(self.problems)
            self.field(statement.field, statement.span)
            if isinstance(statement, UpdateSalesforceField) and len(self.problems) == before:
                self.org.salesforce_field(statement.field, statement.span)
            if statement.field.casefold() == _LEAD_STATUS:
                self.org.lead_status(statement.value, statement.span)
        salesforce_owned(statement, self.schema, self.report)
        if dataclasses.is_dataclass(statement) and not isinstance(statement, If | Split):
            for item in dataclasses.fields(statement):
                value = getattr(statement, item.name)
                if isinstance(value, str) and "{{" in value:
                    self.templates(value, statement.span)

    def split(self, split: Split) -> None:
        total = sum(split.shares)
        if len(split.paths) != len(split.shares):
            self.report(
                split.span,
                "error",
                f"this split has {len(split.shares)} shares but {len(split.paths)} `path:` blocks",
                "write one `path:` block per share, in the same order",
                code="J320",
            )
        if total != 100:
            self.report(
                split.span,
                "error",
                f"the split's shares add up to {total}%, not 100%",
                "make the shares add up to 100",
                code="J321",
            )
        for share in split.shares:
            if share == 0:
                self.report(split.span, "warning", "a 0% path is never taken", code="J322")


def check_journey(
    journey: Journey, schema: Schema | None, path: str, lines: list[str]
) -> list[Diagnostic]:
    """Every meaning problem in ``journey`` (not its header's shape: ``check_header``)."""
    return _Checker(journey, schema or Schema(), path, lines).run()
