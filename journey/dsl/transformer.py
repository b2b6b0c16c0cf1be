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

from journey.dsl.syntax import (
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


#: Tokens whose text is a value; every other token is a keyword or punctuation.
_VALUES = frozenset(
    {"STRING", "INT", "NUMBER", "DATE", "TIME_UNIT", "DAYS", "NAME", "COMPARISON", "ELSE", "PATH"}
)
#: Tokens that are layout, not text: they do not count for a node's span.
_LAYOUT = frozenset({"_NL", "_INDENT", "_DEDENT"})


class JourneyTransformer:
    """Builds ``dsl.syntax`` nodes bottom-up; one method per grammar rule or alias, each
    called with the rule's ``Span`` and its value children (strings unescaped; keywords
    and punctuation left out).

    It walks lark's tree itself rather than subclassing ``lark.Transformer``, and works
    out spans itself from the tokens (the parser keeps every token and does not
    propagate positions): lark's ``v_args`` wrappers and position propagation cost half
    the time of reading a large journey. Walking it here also means no ``VisitError``
    wrapping to undo — a ``BuildError`` arrives as itself.
    """

    def transform(self, tree: Tree[Token]) -> Any:
        return self._walk(tree)[0]

    def _walk(self, tree: Tree[Token]) -> tuple[Any, Span | None]:
        children: list[Any] = []
        first: tuple[int, int] | None = None
        last: tuple[int, int] = (0, 0)
        for child in tree.children:
            if isinstance(child, Tree):
                value, inner = self._walk(child)
                children.append(value)
                if inner is not None:
                    if first is None:
                        first = (inner.line, inner.column)
                    last = (inner.end_line, inner.end_column)
                continue
            kind = child.type
            if kind in _LAYOUT:
                continue
            if first is None:
                first = (child.line or 0, child.column or 0)
            last = (child.end_line or 0, child.end_column or 0)
            if kind in _VALUES:
                children.append(unescape(child) if kind == "STRING" else child)
        whole = Span(first[0], first[1], last[0], last[1]) if first is not None else None
        build = getattr(self, str(tree.data), None)
        if build is None:  # a "?rule" kept only for its keywords, e.g. "(" condition ")"
            (value,) = children
            return value, whole
        return build(whole or NO_SPAN, children), whole

    # ---------------------------------------------------------------- file

    def start(self, span: Span, items: list[Item]) -> Document:
        return Document(tuple(items), span=span)

    def condition_only(self, span: Span, children: list[Condition]) -> Condition:
        return children[0]

    def journey_decl(self, span: Span, children: list[str]) -> JourneyName:
        return JourneyName(children[0], span)

    # ---------------------------------------------------------------- triggers

    def trigger_decl(self, span: Span, children: list[Trigger]) -> Trigger:
        return dataclasses.replace(children[0], span=span)

    def to_value(self, span: Span, children: list[str]) -> str:
        return children[0]

    def form_submitted(self, span: Span, children: list[str]) -> FormSubmitted:
        return FormSubmitted(children[0], span)

    def added_to_list(self, span: Span, children: list[str]) -> AddedToList:
        return AddedToList(children[0], span)

    def entered_segment(self, span: Span, children: list[str]) -> EnteredSegment:
        return EnteredSegment(children[0], span)

    def field_changed(self, span: Span, children: list[str]) -> FieldChanged:
        to = children[1] if len(children) > 1 else None
        return FieldChanged(children[0], to, span)

    def campaign_status_changed(
        self, span: Span, children: list[str]
    ) -> CampaignMemberStatusChanged:
        to = children[1] if len(children) > 1 else None
        return CampaignMemberStatusChanged(children[0], to, span)

    # ---------------------------------------------------------------- settings

    def entry_once(self, span: Span, children: list[Any]) -> EntryRule:
        return EntryRule("once", None, span)

    def entry_always(self, span: Span, children: list[Any]) -> EntryRule:
        return EntryRule("always", None, span)

    def entry_every(self, span: Span, children: list[Token]) -> EntryRule:
        return EntryRule("once every", int(children[0]), span)

    def goal_decl(self, span: Span, children: list[Any]) -> Goal:
        return Goal(children[0], children[1], span)

    # ---------------------------------------------------------------- flow

    def block(self, span: Span, children: list[Statement]) -> tuple[Statement, ...]:
        return tuple(children)

    def if_branch(self, span: Span, children: list[Any]) -> Branch:
        condition, body = _values(children)
        return Branch(condition, body, span)

    def else_if_branch(self, span: Span, children: list[Any]) -> Branch:
        condition, body = _values(children)
        return Branch(condition, body, span)

    def else_branch(self, span: Span, children: list[Any]) -> tuple[Span, tuple[Statement, ...]]:
        return token_span(children[0]), _values(children)[0]

    def if_statement(self, span: Span, children: list[Any]) -> If:
        branches = tuple(c for c in children if isinstance(c, Branch))
        otherwise = [c for c in children if isinstance(c, tuple)]
        if otherwise:
            else_span, body = otherwise[0]
            return If(branches, body, span, else_span=else_span)
        return If(branches, None, span)

    def share(self, span: Span, children: list[Token]) -> int:
        return int(children[0])

    def path(self, span: Span, children: list[Any]) -> tuple[Span, tuple[Statement, ...]]:
        return token_span(children[0]), _values(children)[0]

    def split_statement(self, span: Span, children: list[Any]) -> Split:
        shares = tuple(c for c in children if isinstance(c, int))
        paths = [c for c in children if isinstance(c, tuple)]
        return Split(
            shares,
            tuple(body for _, body in paths),
            span,
            path_spans=tuple(span for span, _ in paths),
        )

    def wait(self, span: Span, children: list[Token]) -> Wait:
        return Wait(int(children[0]), _unit(children[1]), span)

    def wait_until(self, span: Span, children: list[Any]) -> WaitUntil:
        condition, amount, unit = children
        return WaitUntil(condition, int(amount), _unit(unit), span)

    def label(self, span: Span, children: list[Token]) -> Label:
        return Label(str(children[0]), span, name_span=token_span(children[0]))

    def goto(self, span: Span, children: list[Token]) -> GoTo:
        return GoTo(str(children[0]), span, label_span=token_span(children[0]))

    def exit(self, span: Span, children: list[Any]) -> Exit:
        return Exit(span)

    # ---------------------------------------------------------------- actions

    def add_to_list(self, span: Span, children: list[str]) -> AddToList:
        return AddToList(children[0], span)

    def remove_from_list(self, span: Span, children: list[str]) -> RemoveFromList:
        return RemoveFromList(children[0], span)

    def update_field(self, span: Span, children: list[str]) -> UpdateField:
        return UpdateField(children[0], children[1], span)

    def update_salesforce_field(self, span: Span, children: list[str]) -> UpdateSalesforceField:
        return UpdateSalesforceField(children[0], children[1], span)

    def keep_current(self, span: Span, children: list[Any]) -> tuple[str, Any, Span]:
        return ("keep current assignment", True, span)

    def lead_source(self, span: Span, children: list[str]) -> tuple[str, Any, Span]:
        return ("lead source", children[0], span)

    def lead_status(self, span: Span, children: list[str]) -> tuple[str, Any, Span]:
        return ("lead status", children[0], span)

    def assign_lead(self, span: Span, children: list[Any]) -> AssignLead:
        options = _options("assign lead to", children[1:])
        return AssignLead(
            children[0],
            keep_current=options.get("keep current assignment", False),
            lead_source=options.get("lead source"),
            lead_status=options.get("lead status"),
            span=span,
        )

    def assign_lead_to_group(self, span: Span, children: list[Any]) -> AssignLeadToGroup:
        options = _options("assign lead to group", children[1:])
        return AssignLeadToGroup(
            children[0],
            keep_current=options.get("keep current assignment", False),
            lead_source=options.get("lead source"),
            lead_status=options.get("lead status"),
            span=span,
        )

    def due_in(self, span: Span, children: list[Token]) -> tuple[str, Any, Span]:
        return ("due in", int(children[0]), span)

    def assigned_to_lead_owner(self, span: Span, children: list[Any]) -> tuple[str, Any, Span]:
        return ("assigned to", None, span)

    def assigned_to(self, span: Span, children: list[str]) -> tuple[str, Any, Span]:
        return ("assigned to", children[0], span)

    def priority(self, span: Span, children: list[str]) -> tuple[str, Any, Span]:
        return ("priority", children[0], span)

    def add_task(self, span: Span, children: list[Any]) -> AddTask:
        options = _options("add task", children[1:])
        owner = "assigned to" in options and options["assigned to"] is None
        return AddTask(
            children[0],
            due_in_days=options.get("due in"),
            assigned_to=options.get("assigned to"),
            assigned_to_lead_owner=owner,
            priority=options.get("priority"),
            span=span,
        )

    def set_member_status(self, span: Span, children: list[str]) -> SetMemberStatus:
        return SetMemberStatus(children[0], children[1], span)

    def stage(self, span: Span, children: list[str]) -> tuple[str, Any, Span]:
        return ("stage", children[0], span)

    def amount(self, span: Span, children: list[Token]) -> tuple[str, Any, Span]:
        return ("amount", str(children[0]), span)

    def close_in(self, span: Span, children: list[Token]) -> tuple[str, Any, Span]:
        return ("close in", int(children[0]), span)

    def create_opportunity(self, span: Span, children: list[Any]) -> CreateOpportunity:
        options = _options("create opportunity", children[1:])
        return CreateOpportunity(
            children[0],
            stage=options.get("stage"),
            amount=options.get("amount"),
            close_in_days=options.get("close in"),
            span=span,
        )

    def also_owner(self, span: Span, children: list[Any]) -> bool:
        return True

    def send_notification(self, span: Span, children: list[Any]) -> SendNotification:
        return SendNotification(children[0], children[1], len(children) > 2, span)

    # ---------------------------------------------------------------- conditions

    def or_condition(self, span: Span, children: list[Condition]) -> AnyOf:
        return AnyOf(tuple(children), span)

    def and_condition(self, span: Span, children: list[Condition]) -> AllOf:
        return AllOf(tuple(children), span)

    def negation(self, span: Span, children: list[Condition]) -> Not:
        return Not(children[0], span)

    def field_condition(self, span: Span, children: list[Any]) -> FieldCondition:
        name, (op, value) = children
        return FieldCondition(name, op, value, span)

    def in_list(self, span: Span, children: list[str]) -> InList:
        return InList(children[0], span)

    def in_segment(self, span: Span, children: list[str]) -> InSegment:
        return InSegment(children[0], span)

    def is_salesforce_lead(self, span: Span, children: list[Any]) -> RecordTypeCondition:
        return RecordTypeCondition("lead", span)

    def is_salesforce_contact(self, span: Span, children: list[Any]) -> RecordTypeCondition:
        return RecordTypeCondition("contact", span)

    def campaign_status(self, span: Span, children: list[str]) -> CampaignStatusCondition:
        return CampaignStatusCondition(children[0], children[1], span)

    def _test(self, op: FieldOperator, children: list[Any]) -> tuple[FieldOperator, str | None]:
        return (op, children[0] if children else None)

    def op_is(self, span: Span, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is", children)

    def op_is_not(self, span: Span, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is not", children)

    def op_is_empty(self, span: Span, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is empty", children)

    def op_is_not_empty(self, span: Span, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is not empty", children)

    def op_is_true(self, span: Span, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is true", children)

    def op_is_false(self, span: Span, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("is false", children)

    def op_contains(self, span: Span, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("contains", children)

    def op_starts_with(self, span: Span, children: list[str]) -> tuple[FieldOperator, str | None]:
        return self._test("starts with", children)

    def op_compare(self, span: Span, children: list[Token]) -> tuple[FieldOperator, str | None]:
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
