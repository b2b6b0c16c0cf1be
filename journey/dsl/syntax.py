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
once, beside the nodes, in ``dsl.text``: the compiler's step texts (graph labels, the
engine's activity feed and ``journey status``), the engine's trigger descriptions and every
line the formatter prints all come from it, so a step reads the same everywhere.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, TypeAlias

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
