"""The journey syntax tree: what a journey file says, with where it says it.

Pipeline position: source text -> **syntax tree** -> checked model -> graph.
The parser's transformer only builds these nodes; the checker reads them and collects
problems; the compiler turns them into the step graph; the formatter prints them back.
The engine also reads the condition and action nodes (they are the parameters of the
compiled steps), so this module is the vocabulary shared by every later stage.

Every node is frozen and carries a ``Span`` so a diagnostic can point at the exact
place in the file. Spans are excluded from equality so that ``parse(fmt(x)) == parse(x)``
compares meaning, not layout.

A node's canonical one-line text (``statement_text``, ``condition_text``, ...) is written
here, once, beside the nodes: the compiler's step texts (graph labels, the engine's
activity feed and ``journey status``), the engine's trigger descriptions and every line
the formatter prints all come from it, so a step reads the same everywhere.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, TypeAlias, assert_never

__all__ = [
    "NO_SPAN",
    "Action",
    "AddTask",
    "AddToList",
    "AddedToList",
    "AllOf",
    "AnyOf",
    "AssignLead",
    "AssignLeadToGroup",
    "Branch",
    "CampaignMemberStatusChanged",
    "CampaignStatusCondition",
    "Comment",
    "Condition",
    "CreateOpportunity",
    "EnteredSegment",
    "EntryRule",
    "Exit",
    "FieldChanged",
    "FieldCondition",
    "FieldOperator",
    "FormSubmitted",
    "GoTo",
    "Goal",
    "If",
    "InList",
    "InSegment",
    "Journey",
    "Label",
    "Not",
    "RecordTypeCondition",
    "RemoveFromList",
    "SendNotification",
    "SetMemberStatus",
    "Span",
    "Split",
    "Statement",
    "TimeUnit",
    "Trigger",
    "UpdateField",
    "UpdateSalesforceField",
    "Wait",
    "WaitUntil",
    "branch_text",
    "condition_text",
    "entry_text",
    "goal_text",
    "quote",
    "statement_text",
    "trigger_text",
]


@dataclass(frozen=True, order=True)
class Span:
    """Where a node stands in its file: 1-based line and column, end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


#: The span of a node made by hand rather than parsed (tests, generated journeys).
NO_SPAN = Span(0, 0, 0, 0)


# --------------------------------------------------------------------------- conditions

FieldOperator: TypeAlias = Literal[
    "is",
    "is not",
    "is empty",
    "is not empty",
    "contains",
    "starts with",
    ">",
    ">=",
    "<",
    "<=",
    "is true",
    "is false",
]


@dataclass(frozen=True)
class FieldCondition:
    """``field "F" <op> [value]``. ``value`` is None for the unary operators
    (is empty, is true, ...), a str for text comparisons, and the literal's text for
    ``> N`` style comparisons (kept as written, so dates and numbers both fit)."""

    field: str
    op: FieldOperator
    value: str | None = None
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class InList:
    list_name: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class InSegment:
    segment: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class RecordTypeCondition:
    """``is salesforce lead`` / ``is salesforce contact``."""

    record_type: Literal["lead", "contact"]
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class CampaignStatusCondition:
    """``campaign member status in "CAMPAIGN" is "STATUS"``."""

    campaign: str
    status: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Not:
    operand: Condition
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class AllOf:
    """``a and b and c`` (flattened)."""

    operands: tuple[Condition, ...]
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class AnyOf:
    """``a or b or c`` (flattened)."""

    operands: tuple[Condition, ...]
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


Condition: TypeAlias = (
    FieldCondition
    | InList
    | InSegment
    | RecordTypeCondition
    | CampaignStatusCondition
    | Not
    | AllOf
    | AnyOf
)

# --------------------------------------------------------------------------- header


@dataclass(frozen=True)
class FormSubmitted:
    form: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class AddedToList:
    list_name: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class EnteredSegment:
    segment: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class FieldChanged:
    field: str
    to: str | None = None
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class CampaignMemberStatusChanged:
    campaign: str
    to: str | None = None
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


Trigger: TypeAlias = (
    FormSubmitted | AddedToList | EnteredSegment | FieldChanged | CampaignMemberStatusChanged
)


@dataclass(frozen=True)
class EntryRule:
    """``entry once`` (the default), ``entry always`` or ``entry once every N days``.
    Whatever the rule, a contact never has two live runs in one journey."""

    mode: Literal["once", "always", "once every"] = "once"
    days: int | None = None
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Goal:
    name: str
    condition: Condition
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class AddToList:
    """``add to list "L"``; the lists "Salesforce Leads"/"Salesforce Contacts" create the
    Salesforce record when the contact has none."""

    list_name: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class RemoveFromList:
    list_name: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class UpdateField:
    """``update field "F" to "V"``: the engine's own store only. ``value`` may hold
    ``{{Field}}`` placeholders."""

    field: str
    value: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class AssignLead:
    """``assign lead to "USER" [keep current assignment] [lead source "S"] [lead status "T"]``."""

    user: str
    keep_current: bool = False
    lead_source: str | None = None
    lead_status: str | None = None
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class AssignLeadToGroup:
    """``assign lead to group "G" ...``: round robin over the group's users."""

    group: str
    keep_current: bool = False
    lead_source: str | None = None
    lead_status: str | None = None
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class AddTask:
    """``add task "SUBJECT" [due in N days] [assigned to lead owner | "USER"] [priority "P"]``.
    ``assigned_to`` is a user's email, name or ID when one is named;
    ``assigned_to_lead_owner`` is True for ``assigned to lead owner``. With neither, the
    task goes to the record's owner, as Salesforce does by default."""

    subject: str
    due_in_days: int | None = None
    assigned_to: str | None = None
    assigned_to_lead_owner: bool = False
    priority: str | None = None
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class SetMemberStatus:
    status: str
    campaign: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class CreateOpportunity:
    """``create opportunity "NAME" [stage "S"] [amount N] [close in N days]``.
    ``amount`` is the literal's text (e.g. ``"12000"``) so no precision is lost."""

    name: str
    stage: str | None = None
    amount: str | None = None
    close_in_days: int | None = None
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class UpdateSalesforceField:
    """Updates an existing Salesforce record only; never creates one."""

    field: str
    value: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class SendNotification:
    subject: str
    to: str
    also_to_lead_owner: bool = False
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Exit:
    """``exit``: the contact leaves the journey here."""

    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


Action: TypeAlias = (
    AddToList
    | RemoveFromList
    | UpdateField
    | AssignLead
    | AssignLeadToGroup
    | AddTask
    | SetMemberStatus
    | CreateOpportunity
    | UpdateSalesforceField
    | SendNotification
)

# --------------------------------------------------------------------------- flow

TimeUnit: TypeAlias = Literal["minutes", "hours", "days", "weeks"]


@dataclass(frozen=True)
class Wait:
    """``wait N minutes|hours|days|weeks`` (singular units are normalised to plural)."""

    amount: int
    unit: TimeUnit
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class WaitUntil:
    """``wait until C for at most N <unit>``."""

    condition: Condition
    amount: int
    unit: TimeUnit
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Label:
    """``step NAME``: labels the statement that follows it."""

    name: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)
    #: Where NAME itself stands (for "duplicate label" diagnostics).
    name_span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class GoTo:
    label: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)
    #: Where the label name stands (an unknown label is reported there).
    label_span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Branch:
    """One ``if C:`` or ``else if C:`` arm."""

    condition: Condition
    body: tuple[Statement, ...]
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class If:
    branches: tuple[Branch, ...]
    otherwise: tuple[Statement, ...] | None = None
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)
    #: Where the ``else`` keyword stands (the formatter keeps comments around it).
    else_span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Split:
    """``split A% / B% ...:`` with one ``path:`` block per share, in order."""

    shares: tuple[int, ...]
    paths: tuple[tuple[Statement, ...], ...]
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)
    #: Where each ``path`` keyword stands, in order (for the formatter and diagnostics).
    path_spans: tuple[Span, ...] = dataclasses.field(default=(), compare=False)


Statement: TypeAlias = Action | Exit | Wait | WaitUntil | Label | GoTo | If | Split


@dataclass(frozen=True)
class Comment:
    """A ``#`` comment, kept so the formatter can put it back where it was."""

    text: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Journey:
    """A whole journey file."""

    name: str
    triggers: tuple[Trigger, ...]
    entry: EntryRule
    goals: tuple[Goal, ...]
    steps: tuple[Statement, ...]
    comments: tuple[Comment, ...] = dataclasses.field(default=(), compare=False)
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)
    #: Where the ``journey "NAME"`` line stands.
    name_span: Span = dataclasses.field(default=NO_SPAN, compare=False)


# --------------------------------------------------------------------------- canonical text


def quote(text: str) -> str:
    """A string literal for ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _amount(amount: int, unit: str) -> str:
    singular = unit[:-1] if unit.endswith("s") else unit
    return f"{amount} {singular if amount == 1 else singular + 's'}"


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


def trigger_text(trigger: Trigger) -> str:
    """A trigger's line in canonical syntax; the engine's activity feed shows it too."""
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
    """The ``entry`` line in canonical syntax."""
    if entry.mode == "once every":
        return f"entry once every {_amount(entry.days or 0, 'days')}"
    return f"entry {entry.mode}"


def goal_text(goal: Goal) -> str:
    """A ``goal`` line in canonical syntax."""
    return f"goal {quote(goal.name)} when {condition_text(goal.condition)}"


def branch_text(branch: Branch) -> str:
    """An ``if`` or ``else if`` arm as the condition step it is: ``if C`` either way."""
    return f"if {condition_text(branch.condition)}"


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
            return branch_text(branches[0])
        case Split(shares=shares):
            return "split " + " / ".join(f"{s}%" for s in shares)
    assert_never(statement)
