"""Whether a journey needs Salesforce: a step that calls it, or a condition only a record answers.

Pipeline position: ``dsl.compiled`` (the journey's steps, goals) and the project's segments
-> **org_reads** -> the dry run, which opens the org (a scratch copy, ``connectors.scratch``)
only for a journey that needs it. Without the org nothing is looked up in Salesforce and
nothing is performed there, so a journey that needs neither gives the same paths and
side effects either way, and its dry run imports no connector, no database layer and no
emulated org (``tests/test_startup_imports.py`` holds this).

A step needs the org when it is an action that is not local (``engine.actions.is_local``:
everything but lists that are not Salesforce's and ``update field``). A condition — an
``if``, a ``wait until``, a goal, and the segments they name, followed through — reads a
record when it asks what only the record says: its type (``is salesforce lead``), a
campaign member's status, membership of a list Salesforce's records make ("Salesforce
Leads"), or the record's owner ("Lead Owner").

A field condition reads a record too when its field is one a linked contact takes from
its record (``sync.mapping.record_fields``: every field the sync maps, "Title", "Country",
"Annual Revenue" among the standard ones): with the org, a CSV contact whose email or ID
the org knows takes the record's values (``engine.linking``) before its first step, as
in a real run, so without the org the dry run could answer another way.
"""

from __future__ import annotations

from collections.abc import Mapping

from journey.dsl.compiled import CompiledJourney
from journey.dsl.syntax import (
    CampaignStatusCondition,
    Condition,
    FieldCondition,
    InList,
    InSegment,
    RecordTypeCondition,
)
from journey.dsl.walk import condition_parts
from journey.engine.actions import is_local
from journey.vocabulary import OWNER_FIELD, is_salesforce_list

__all__ = ["calls_salesforce", "needs_org"]


def needs_org(
    journey: CompiledJourney,
    segments: Mapping[str, Condition],
    record_fields: frozenset[str] = frozenset(),
) -> bool:
    """True when a dry run of ``journey`` must read or write Salesforce (module docstring);
    ``segments``: the project's, by name (any case); ``record_fields``: the case-folded
    fields a linked contact takes from its record."""
    if calls_salesforce(journey):
        return True
    by_key = {name.casefold(): condition for name, condition in segments.items()}
    conditions: list[Condition] = [goal.condition for goal in journey.goals]
    conditions += [s.condition for s in journey.steps.values() if s.condition is not None]
    seen: set[str] = set()
    while conditions:
        for part in condition_parts(conditions.pop()):
            if isinstance(part, InSegment):
                key = part.segment.casefold()
                if key not in seen and key in by_key:
                    seen.add(key)
                    conditions.append(by_key[key])
            elif _reads_record(part, record_fields):
                return True
    return False


def calls_salesforce(journey: CompiledJourney) -> bool:
    """True when a step of ``journey`` is an action a connector performs."""
    return any(s.action is not None and not is_local(s.action) for s in journey.steps.values())


def _reads_record(part: Condition, record_fields: frozenset[str]) -> bool:
    match part:
        case RecordTypeCondition() | CampaignStatusCondition():
            return True
        case InList(list_name=name):
            return is_salesforce_list(name)
        case FieldCondition(field=name):
            key = name.casefold()
            return key == OWNER_FIELD.casefold() or key in record_fields
    return False
