"""From lark's parse tree to the positioned syntax tree (``dsl.syntax``).

Pipeline position: text -> (lark parse tree) -> **syntax tree**. The transformer only
builds nodes: it unescapes strings, normalises singular units (``1 week`` -> weeks) and
attaches a ``Span`` to every node. What a file *means* is judged later by ``dsl.checker``.

It builds a ``Document`` first: the top-level items in file order, header lines included,
so the checker can say "``entry`` must come before the steps" with the place. ``assemble``
then folds the document into a ``Journey``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

from lark import Token, Tree
from lark.tree import Meta

from dsl.syntax import (
    NO_SPAN,
    AddedToList,
    AddTask,
    AddToList,
    AllOf,
    AnyOf,
    AssignLead,
    AssignLeadToGroup,
    Branch,
    CampaignMemberStatusChanged,
    CampaignStatusCondition,
    Comment,
    Condition,
    CreateOpportunity,
    EnteredSegment,
    EntryRule,
    Exit,
    FieldChanged,
    FieldCondition,
    FieldOperator,
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
    TimeUnit,
    Trigger,
    UpdateField,
    UpdateSalesforceField,
    Wait,
    WaitUntil,
)

__all__ = ["BuildError", "Document", "JourneyName", "JourneyTransformer", "assemble"]


@dataclass(frozen=True)
class JourneyName:
    """The ``journey "NAME"`` line."""

    name: str
    span: Span = dataclasses.field(default=NO_SPAN, compare=False)


HeaderItem: TypeAlias = JourneyName | Trigger | EntryRule | Goal
Item: TypeAlias = HeaderItem | Statement


@dataclass(frozen=True)
class Document:
    """A parsed file before its header is folded into a ``Journey``."""

    items: tuple[Item, ...]
    comments: tuple[Comment, ...] = ()
    span: Span = NO_SPAN


class BuildError(Exception):
    """A shape the grammar accepts but a node cannot hold (an option given twice)."""

    def __init__(self, message: str, span: Span, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint


def span_of(meta: Meta) -> Span:
    if getattr(meta, "empty", True):
        return NO_SPAN
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def token_span(token: Token) -> Span:
    return Span(token.line or 0, token.column or 0, token.end_line or 0, token.end_column or 0)


def unescape(quoted: str) -> str:
    """``"a \\"b\\" \\\\ c"`` -> ``a "b" \\ c``; any other backslash stays as written."""
    body = quoted[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] in '"\\':
            out.append(body[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _unit(token: Token) -> TimeUnit:
    word = str(token).lower()
    return cast(TimeUnit, word if word.endswith("s") else word + "s")


def _options(kind: str, options: list[tuple[str, Any, Span]]) -> dict[str, Any]:
    """Options of an action, each at most once (their order does not matter)."""
    found: dict[str, Any] = {}
    for name, value, span in options:
        if name in found:
            raise BuildError(
                f"`{name}` is given twice in this `{kind}`",
                span,
                f"keep one `{name}`",
            )
        found[name] = value
    return found


def _values(children: list[Any]) -> list[Any]:
    """Children without the keyword tokens kept by name (``else``, ``path``)."""
    return [c for c in children if not (isinstance(c, Token) and c.type in ("ELSE", "PATH"))]


class JourneyTransformer:
    """Builds ``dsl.syntax`` nodes bottom-up; one method per grammar rule or alias, each
    called with the rule's ``Meta`` (positions) and its already-built children.

    It walks lark's tree itself rather than subclassing ``lark.Transformer``: lark's
    per-call ``v_args`` wrappers cost a third of the time of reading a large journey, and
    walking it here means no ``VisitError`` wrapping to undo — a ``BuildError`` arrives
    as itself.
    """

    def transform(self, tree: Tree[Token]) -> Any:
        children: list[Any] = []
        for child in tree.children:
            if isinstance(child, Tree):
                children.append(self.transform(child))
            elif child.type == "STRING":
                children.append(unescape(child))
            else:
                children.append(child)
        return getattr(self, str(tree.data))(tree.meta, children)

    # ---------------------------------------------------------------- file

    def start(self, meta: Meta, items: list[Item]) -> Document:
        return Document(tuple(items), span=span_of(meta))

    def condition_only(self, meta: Meta, children: list[Condition]) -> Condition:
        return children[0]

    def journey_decl(self, meta: Meta, children: list[str]) -> JourneyName:
        return JourneyName(children[0], span_of(meta))

    # ---------------------------------------------------------------- triggers

    def trigger_decl(self, meta: Meta, children: list[Trigger]) -> Trigger:
        return dataclasses.replace(children[0], span=span_of(meta))

    def to_value(self, meta: Meta, children: list[str]) -> str:
        return children[0]

    def form_submitted(self, meta: Meta, children: list[str]) -> FormSubmitted:
        return FormSubmitted(children[0], span_of(meta))

    def added_to_list(self, meta: Meta, children: list[str]) -> AddedToList:
        return AddedToList(children[0], span_of(meta))

    def entered_segment(self, meta: Meta, children: list[str]) -> EnteredSegment:
        return EnteredSegment(children[0], span_of(meta))

    def field_changed(self, meta: Meta, children: list[str]) -> FieldChanged:
        to = children[1] if len(children) > 1 else None
        return FieldChanged(children[0], to, span_of(meta))

    def campaign_status_changed(
        self, meta: Meta, children: list[str]
    ) -> CampaignMemberStatusChanged:
        to = children[1] if len(children) > 1 else None
        return CampaignMemberStatusChanged(children[0], to, span_of(meta))

    # ---------------------------------------------------------------- settings

    def entry_once(self, meta: Meta, children: list[Any]) -> EntryRule:
        return EntryRule("once", None, span_of(meta))

    def entry_always(self, meta: Meta, children: list[Any]) -> EntryRule:
        return EntryRule("always", None, span_of(meta))

    def entry_every(self, meta: Meta, children: list[Token]) -> EntryRule:
        return EntryRule("once every", int(children[0]), span_of(meta))

    def goal_decl(self, meta: Meta, children: list[Any]) -> Goal:
        return Goal(children[0], children[1], span_of(meta))

    # ---------------------------------------------------------------- flow

    def block(self, meta: Meta, children: list[Statement]) -> tuple[Statement, ...]:
        return tuple(children)

    def if_branch(self, meta: Meta, children: list[Any]) -> Branch:
        condition, body = _values(children)
        return Branch(condition, body, span_of(meta))

    def else_if_branch(self, meta: Meta, children: list[Any]) -> Branch:
        condition, body = _values(children)
        return Branch(condition, body, span_of(meta))

    def else_branch(self, meta: Meta, children: list[Any]) -> tuple[Span, tuple[Statement, ...]]:
        return token_span(children[0]), _values(children)[0]

    def if_statement(self, meta: Meta, children: list[Any]) -> If:
        branches = tuple(c for c in children if isinstance(c, Branch))
        otherwise = [c for c in children if isinstance(c, tuple)]
        if otherwise:
            else_span, body = otherwise[0]
            return If(branches, body, span_of(meta), else_span=else_span)
        return If(branches, None, span_of(meta))

    def share(self, meta: Meta, children: list[Token]) -> int:
        return int(children[0])

    def path(self, meta: Meta, children: list[Any]) -> tuple[Span, tuple[Statement, ...]]:
        return token_span(children[0]), _values(children)[0]

    def split_statement(self, meta: Meta, children: list[Any]) -> Split:
        shares = tuple(c for c in children if isinstance(c, int))
        paths = [c for c in children if isinstance(c, tuple)]
        return Split(
            shares,
            tuple(body for _, body in paths),
            span_of(meta),
            path_spans=tuple(span for span, _ in paths),
        )

    def wait(self, meta: Meta, children: list[Token]) -> Wait:
        return Wait(int(children[0]), _unit(children[1]), span_of(meta))

    def wait_until(self, meta: Meta, children: list[Any]) -> WaitUntil:
        condition, amount, unit = children
        return WaitUntil(condition, int(amount), _unit(unit), span_of(meta))

    def label(self, meta: Meta, children: list[Token]) -> Label:
        return Label(str(children[0]), span_of(meta), name_span=token_span(children[0]))

    def goto(self, meta: Meta, children: list[Token]) -> GoTo:
        return GoTo(str(children[0]), span_of(meta), label_span=token_span(children[0]))

    def exit(self, meta: Meta, children: list[Any]) -> Exit:
        return Exit(span_of(meta))

    # ---------------------------------------------------------------- actions

    def add_to_list(self, meta: Meta, children: list[str]) -> AddToList:
        return AddToList(children[0], span_of(meta))

    def remove_from_list(self, meta: Meta, children: list[str]) -> RemoveFromList:
        return RemoveFromList(children[0], span_of(meta))

    def update_field(self, meta: Meta, children: list[str]) -> UpdateField:
        return UpdateField(children[0], children[1], span_of(meta))

    def update_salesforce_field(self, meta: Meta, children: list[str]) -> UpdateSalesforceField:
        return UpdateSalesforceField(children[0], children[1], span_of(meta))

    def keep_current(self, meta: Meta, children: list[Any]) -> tuple[str, Any, Span]:
        return ("keep current assignment", True, span_of(meta))

    def lead_source(self, meta: Meta, children: list[str]) -> tuple[str, Any, Span]:
        return ("lead source", children[0], span_of(meta))

    def lead_status(self, meta: Meta, children: list[str]) -> tuple[str, Any, Span]:
        return ("lead status", children[0], span_of(meta))

    def assign_lead(self, meta: Meta, children: list[Any]) -> AssignLead:
        options = _options("assign lead to", children[1:])
        return AssignLead(
            children[0],
            keep_current=options.get("keep current assignment", False),
            lead_source=options.get("lead source"),
            lead_status=options.get("lead status"),
            span=span_of(meta),
        )

    def assign_lead_to_group(self, meta: Meta, children: list[Any]) -> AssignLeadToGroup:
        options = _options("assign lead to group", children[1:])
        return AssignLeadToGroup(
            children[0],
            keep_current=options.get("keep current assignment", False),
            lead_source=options.get("lead source"),
            lead_status=options.get("lead status"),
            span=span_of(meta),
        )

    def due_in(self, meta: Meta, children: list[Token]) -> tuple[str, Any, Span]:
        return ("due in", int(children[0]), span_of(meta))

    def assigned_to_lead_owner(self, meta: Meta, children: list[Any]) -> tuple[str, Any, Span]:
        return ("assigned to", None, span_of(meta))

    def assigned_to(self, meta: Meta, children: list[str]) -> tuple[str, Any, Span]:
        return ("assigned to", children[0], span_of(meta))

    def priority(self, meta: Meta, children: list[str]) -> tuple[str, Any, Span]:
        return ("priority", children[0], span_of(meta))

    def add_task(self, meta: Meta, children: list[Any]) -> AddTask:
        options = _options("add task", children[1:])
        owner = "assigned to" in options and options["assigned to"] is None
        return AddTask(
            children[0],
            due_in_days=options.get("due in"),
            assigned_to=options.get("assigned to"),
            assigned_to_lead_owner=owner,
            priority=options.get("priority"),
            span=span_of(meta),
        )

    def set_member_status(self, meta: Meta, children: list[str]) -> SetMemberStatus:
        return SetMemberStatus(children[0], children[1], span_of(meta))

    def stage(self, meta: Meta, children: list[str]) -> tuple[str, Any, Span]:
        return ("stage", children[0], span_of(meta))

    def amount(self, meta: Meta, children: list[Token]) -> tuple[str, Any, Span]:
        return ("amount", str(children[0]), span_of(meta))

    def close_in(self, meta: Meta, children: list[Token]) -> tuple[str, Any, Span]:
        return ("close in", int(children[0]), span_of(meta))

    def create_opportunity(self, meta: Meta, children: list[Any]) -> CreateOpportunity:
        options = _options("create opportunity", children[1:])
        return CreateOpportunity(
            children[0],
            stage=options.get("stage"),
            amount=options.get("amount"),
            close_in_days=options.get("close in"),
            span=span_of(meta),
        )

    def also_owner(self, meta: Meta, children: list[Any]) -> bool:
        return True

    def send_notification(self, meta: Meta, children: list[Any]) -> SendNotification:
        return SendNotification(children[0], children[1], len(children) > 2, span_of(meta))

    # ---------------------------------------------------------------- conditions

    def or_condition(self, meta: Meta, children: list[Condition]) -> AnyOf:
        return AnyOf(tuple(children), span_of(meta))

    def and_condition(self, meta: Meta, children: list[Condition]) -> AllOf:
        return AllOf(tuple(children), span_of(meta))

    def negation(self, meta: Meta, children: list[Condition]) -> Not:
        return Not(children[0], span_of(meta))

    def field_condition(self, meta: Meta, children: list[Any]) -> FieldCondition:
        name, (op, value) = children
        return FieldCondition(name, op, value, span_of(meta))

    def in_list(self, meta: Meta, children: list[str]) -> InList:
        return InList(children[0], span_of(meta))

    def in_segment(self, meta: Meta, children: list[str]) -> InSegment:
        return InSegment(children[0], span_of(meta))

    def is_salesforce_lead(self, meta: Meta, children: list[Any]) -> RecordTypeCondition:
        return RecordTypeCondition("lead", span_of(meta))

    def is_salesforce_contact(self, meta: Meta, children: list[Any]) -> RecordTypeCondition:
        return RecordTypeCondition("contact", span_of(meta))

    def campaign_status(self, meta: Meta, children: list[str]) -> CampaignStatusCondition:
        return CampaignStatusCondition(children[0], children[1], span_of(meta))

    def _test(self, op: FieldOperator, children: list[Any]) -> tuple[FieldOperator, str | None]:
        return (op, children[0] if children else None)

    def op_is(self, meta: Meta, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is", children)

    def op_is_not(self, meta: Meta, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is not", children)

    def op_is_empty(self, meta: Meta, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is empty", children)

    def op_is_not_empty(self, meta: Meta, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is not empty", children)

    def op_is_true(self, meta: Meta, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is true", children)

    def op_is_false(self, meta: Meta, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is false", children)

    def op_contains(self, meta: Meta, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("contains", children)

    def op_starts_with(self, meta: Meta, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("starts with", children)

    def op_compare(self, meta: Meta, children: list[Token]) -> tuple[FieldOperator, str | None]:
        return (cast(FieldOperator, str(children[0])), str(children[1]))


def assemble(document: Document) -> Journey:
    """Fold a document into a ``Journey``: the first ``journey`` name and ``entry`` win
    (the checker reports any second one), statements keep their order."""
    first = next((i for i in document.items if isinstance(i, JourneyName)), JourneyName(""))
    triggers = tuple(
        i
        for i in document.items
        if isinstance(
            i,
            FormSubmitted
            | AddedToList
            | EnteredSegment
            | FieldChanged
            | CampaignMemberStatusChanged,
        )
    )
    entry = next((i for i in document.items if isinstance(i, EntryRule)), EntryRule())
    goals = tuple(i for i in document.items if isinstance(i, Goal))
    header = (JourneyName, EntryRule, Goal, *_TRIGGER_TYPES)
    steps = tuple(i for i in document.items if not isinstance(i, header))
    return Journey(
        first.name,
        triggers,
        entry,
        goals,
        steps,
        document.comments,
        document.span,
        name_span=first.span,
    )


_TRIGGER_TYPES = (
    FormSubmitted,
    AddedToList,
    EnteredSegment,
    FieldChanged,
    CampaignMemberStatusChanged,
)
