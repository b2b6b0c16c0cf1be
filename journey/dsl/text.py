"""The canonical one-line text of each syntax node, written once.

Pipeline position: beside the syntax tree (``dsl.syntax``), read by the compiler (each
step's text, shown in graphs and the activity feed), the formatter (each line of a
formatted file) and the engine (a trigger's text in the feed). One renderer for all three,
so a step reads the same in ``journey fmt``, ``journey graph`` and ``journey contact``, and
a condition's text parses back to the same condition (a property test holds it).
"""

from __future__ import annotations

from typing import assert_never

from journey.dsl.syntax import (
    AddedToList,
    AddTask,
    AddToList,
    AllOf,
    AnyOf,
    AssignLead,
    AssignLeadToGroup,
    Branch,
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
    Label,
    Not,
    RecordTypeCondition,
    RemoveFromList,
    SendNotification,
    SetMemberStatus,
    Split,
    Statement,
    Trigger,
    UpdateField,
    UpdateSalesforceField,
    Wait,
    WaitUntil,
)

__all__ = [
    "branch_text",
    "condition_text",
    "entry_text",
    "goal_text",
    "quote",
    "statement_text",
    "trigger_text",
]


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
