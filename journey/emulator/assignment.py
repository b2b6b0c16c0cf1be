"""Lead assignment rules: which owner a Lead gets when it is created or updated.

Pipeline position: called by ``org`` on every Lead write unless the request carries
``Sforce-Auto-Assign: FALSE`` (a missing header means TRUE, as in Salesforce's REST API).
This is the behaviour integrations trip over: an update made without the header can
re-assign a Lead the integration assigned earlier — unless the matching entry says
"Do Not Reassign Owner" and the Lead already has an owner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from journey.emulator.evaluate import Predicate, RecordReader

__all__ = ["RuleEntry", "choose_owner"]


@dataclass(frozen=True)
class RuleEntry:
    """One entry of the active rule, in order: criteria (None matches all), then owner."""

    criteria_text: str
    criteria: Predicate | None
    owner_id: str
    do_not_reassign_owner: bool


def choose_owner(
    entries: Sequence[RuleEntry],
    lead: Mapping[str, Any],
    reader: RecordReader,
    current_owner: str | None,
    default_owner: str,
) -> str:
    """The owner after the rules ran: the first matching entry decides."""
    for entry in entries:
        if entry.criteria is None or entry.criteria(lead, reader):
            if entry.do_not_reassign_owner and current_owner:
                return current_owner
            return entry.owner_id
    return current_owner or default_owner
