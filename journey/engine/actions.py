"""What an action needs at run time: who performs it, and its parameters for one contact.

Pipeline position: executor -> **actions** -> connector request. Local actions (``add to
list`` of an ordinary list, ``remove from list``, ``update field``) are done by the engine
in its own store; Salesforce actions and ``send notification`` go to the connector; adding
to "Salesforce Leads"/"Salesforce Contacts" goes to the connector (it creates the record)
and also adds the membership.

Parameters are rendered here, with the run's clock, so connectors never need a clock:
``{{Field}}`` placeholders are filled from the contact, ``due in N days`` becomes a
``due_date`` and ``close in N days`` a ``close_date``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from journey.dsl import render_template
from journey.dsl.syntax import (
    Action,
    AddTask,
    AddToList,
    AssignLead,
    AssignLeadToGroup,
    CreateOpportunity,
    RemoveFromList,
    SendNotification,
    SetMemberStatus,
    UpdateField,
    UpdateSalesforceField,
)
from journey.vocabulary import is_salesforce_list

__all__ = [
    "CLOSE_IN_DAYS",
    "action_params",
    "action_text",
    "is_local",
    "render",
]

Params = dict[str, str | int | bool | None]

#: ``create opportunity`` without ``close in``: the opportunity closes in 30 days.
CLOSE_IN_DAYS = 30


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{{Field Name}}`` (any case) from ``values``; a missing field renders empty.
    Templates without placeholders (most) skip the language's renderer entirely."""
    if "{{" not in template:
        return template
    return render_template(template, values)


def is_local(action: Action) -> bool:
    """Done by the engine in its store, with no connector call."""
    if isinstance(action, AddToList):
        return not is_salesforce_list(action.list_name)
    return isinstance(action, RemoveFromList | UpdateField)


def action_params(action: Action, values: Callable[[], Mapping[str, str]], now: datetime) -> Params:
    """The action's parameters for one contact, templates rendered, dates computed.
    ``values`` gives the contact's fields; it is only called when a template needs them."""
    cache: list[Mapping[str, str]] = []

    def r(text: str | None) -> str | None:
        if text is None or "{{" not in text:
            return text
        if not cache:
            cache.append(values())
        return render(text, cache[0])

    match action:
        case AddToList(list_name=name) | RemoveFromList(list_name=name):
            return {"list": name}
        case UpdateField(field=f, value=v) | UpdateSalesforceField(field=f, value=v):
            return {"field": f, "value": r(v)}
        case AssignLead():
            return {
                "user": action.user,
                "keep_current": action.keep_current,
                "lead_source": r(action.lead_source),
                "lead_status": r(action.lead_status),
            }
        case AssignLeadToGroup():
            return {
                "group": action.group,
                "keep_current": action.keep_current,
                "lead_source": r(action.lead_source),
                "lead_status": r(action.lead_status),
            }
        case AddTask():
            due = None
            if action.due_in_days is not None:
                due = (now + timedelta(days=action.due_in_days)).date().isoformat()
            return {
                "subject": r(action.subject),
                "due_date": due,
                "assigned_to": action.assigned_to,
                "assigned_to_lead_owner": action.assigned_to_lead_owner,
                "priority": action.priority,
            }
        case SetMemberStatus():
            return {"status": action.status, "campaign": action.campaign}
        case CreateOpportunity():
            # The default is decided here, on the engine's clock, like every other date:
            # a run replayed or dry-run at another moment gets the same close date.
            days = CLOSE_IN_DAYS if action.close_in_days is None else action.close_in_days
            close = (now + timedelta(days=days)).date().isoformat()
            return {
                "name": r(action.name),
                "stage": action.stage,
                "amount": action.amount,
                "close_date": close,
            }
        case SendNotification():
            return {
                "subject": r(action.subject),
                "to": r(action.to),
                "also_to_lead_owner": action.also_to_lead_owner,
            }
    raise AssertionError(action)  # pragma: no cover


def action_text(action: Action) -> str:
    """A short name of the action for the feed when the step's text is not at hand."""
    return type(action).__name__
