"""Lead assignment rules: which owner a Lead gets when it is created or updated.

Pipeline position: loaded by ``org`` from the seed's rule entries (kept in the store),
called by ``org`` on every Lead write unless the request carries
``Sforce-Auto-Assign: FALSE`` (a missing header means TRUE, as in Salesforce's REST API).
This is the behaviour integrations trip over: an update made without the header can
re-assign a Lead the integration assigned earlier — unless the matching entry says
"Do Not Reassign Owner" and the Lead already has an owner — and a Lead no entry matches
goes to the seed's Default Lead Owner (``LeadSettings``) when there is one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from journey.emulator.evaluate import Predicate, RecordReader, bind_condition
from journey.emulator.schema import ObjectDef, Schema
from journey.emulator.soql import SoqlError, parse_condition

__all__ = ["RuleEntry", "choose_owner", "load_rules"]


@dataclass(frozen=True)
class RuleEntry:
    """One entry of the active rule, in order: criteria (None matches all), then owner."""

    criteria_text: str
    criteria: Predicate | None
    owner_id: str
    do_not_reassign_owner: bool


def load_rules(
    entries: Iterable[Mapping[str, Any]], lead: ObjectDef, schema: Schema, today: date
) -> list[RuleEntry]:
    """The rule's entries from their stored form (``criteria`` as a SOQL condition on Lead,
    ``owner_id``, ``doNotReassignOwner``); a criteria error names the criteria it is in."""
    rules: list[RuleEntry] = []
    for entry in entries:
        criteria = entry.get("criteria") or ""
        predicate = None
        if criteria.strip():
            try:
                predicate = bind_condition(parse_condition(criteria), lead, schema, today)
            except SoqlError as error:
                raise SoqlError(
                    f"AssignmentRule criteria {criteria!r}:{error.message}", error.code
                ) from None
        rules.append(
            RuleEntry(criteria, predicate, entry["owner_id"], bool(entry["doNotReassignOwner"]))
        )
    return rules


def choose_owner(
    entries: Sequence[RuleEntry],
    lead: Mapping[str, Any],
    reader: RecordReader,
    current_owner: str | None,
    default_owner: str,
    default_lead_owner: str | None = None,
) -> str:
    """The owner after the rules ran: the first matching entry decides. No entry matching,
    the Lead goes to the Default Lead Owner of the org's Lead Settings when one is set —
    "If the assignment rule fails to locate an owner, web leads are assigned to the default
    lead owner" (Salesforce Help, "Who owns new web-generated leads?",
    https://help.salesforce.com/apex/HTViewHelpDoc?id=sales.faq_leads_who_owns_new.htm; the
    Lead Settings field says the same of Leads created or edited with auto-assign on);
    without one it keeps its owner (or gets ``default_owner``, the connected user)."""
    for entry in entries:
        if entry.criteria is None or entry.criteria(lead, reader):
            if entry.do_not_reassign_owner and current_owner:
                return current_owner
            return entry.owner_id
    return default_lead_owner or current_owner or default_owner
