"""Was a request whose answer never came applied? Answered from the journal, then from the
org — the one lookup used after a crash, on a step's retry and inside a call's own retry.

Pipeline position: connector.reconcile → **reconcile** (after a crash: requests without
an outcome), connector.perform → **settle** (a contact whose earlier attempt of the same
step ended ``ANSWER_LOST``: still in doubt when its call's tries were spent), and
batching → **reconcile** (``find_created``, ``find_conversions``: inside a call, a write
that may have been applied, before anything is sent again).

Salesforce has no idempotency key for a create or a ``convertLead`` (REST and SOAP alike):
the connector does not write a marker field of its own either, since the org it is given
need not have one. So what a lost request may have made is looked for by its natural key,
among records created since the request first went out (``CreatedDate >= sent_at`` less a
few minutes for clock skew; every value escaped with ``format_soql``):

* a Lead or Contact: its ``Email``; without one, ``LastName`` (+ ``FirstName``) and, for a
  Lead, ``Company``;
* a Task: ``WhoId`` + ``Subject`` + ``ActivityDate``;
* an Opportunity on a Contact's Account: ``Name`` + ``AccountId``;
* a CampaignMember: ``CampaignId`` + ``LeadId``/``ContactId`` — whenever it was created,
  since a Lead or Contact is a member of a campaign once
  (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_campaignmember.htm);
* a conversion: the Lead's ``IsConverted``, ``ConvertedAccountId``, ``ConvertedContactId``
  and ``ConvertedOpportunityId``, which the conversion sets
  (https://developer.salesforce.com/docs/platform/change-data-capture/guide/cdc-standard-objects-lead-conversion.md);
* updates (owner, status, fields) carry no key: setting the same values again is harmless,
  so they are simply sent again, to the round-robin owner the lost call took.

Each record found is matched to one request only (the oldest first), so two requests with
the same key are two records. For the journal (``reconcile_requests``) three cases:

1. the journal (``sf_effects``) has the outcome — the crash came after our bookkeeping:
   ``applied``, with that outcome;
2. the key never went out: not applied, the engine performs it;
3. it went out and the answer was lost: the contact's Lead/Contact found by its key is
   remembered in ``sf_links`` (the perform that follows uses it instead of creating a
   second one); a Task, or an Opportunity on a Contact, found by its key → ``applied``
   (done); a conversion is read back by ``conversion`` itself when it reads the Lead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from simple_salesforce.format import format_soql

from journey.connectors.base import (
    ContactChanges,
    EffectRequest,
    EffectResult,
    Reconciled,
    RecordChange,
    result_from_json,
    result_to_json,
)
from journey.connectors.salesforce.state import Link
from journey.dsl.syntax import Action, AddTask, AddToList, CreateOpportunity
from journey.vocabulary import RecordType, list_record_type

if TYPE_CHECKING:  # batching and records import this module: no cycle at run time
    from journey.connectors.salesforce.batching import OrgApi
    from journey.connectors.salesforce.records import Workspace

__all__ = [
    "CONVERSION_FIELDS",
    "find_conversions",
    "find_created",
    "reconcile_requests",
    "settle",
]

# Our clock and the org's may disagree a little: look a few minutes before sending.
_SLACK = timedelta(minutes=5)
#: What a Lead's conversion left on it.
CONVERSION_FIELDS = (
    "IsConverted",
    "ConvertedAccountId",
    "ConvertedContactId",
    "ConvertedOpportunityId",
)


def _key_fields(sobject: str, record: Mapping[str, Any]) -> tuple[tuple[str, ...], bool] | None:
    """(the fields that identify ``record``, whether only recent records count), or None
    when ``sobject`` has no natural key."""
    present = tuple(f for f in _CANDIDATES.get(sobject, ()) if record.get(f) not in (None, ""))
    if sobject in ("Lead", "Contact"):
        if record.get("Email"):
            return ("Email",), True
        return tuple(f for f in present if f != "Email"), True
    if sobject == "Task" and {"WhoId", "Subject"} <= set(present):
        return present, True
    if sobject == "Opportunity" and "Name" in present:
        return present, True
    if sobject == "CampaignMember" and "CampaignId" in present and len(present) > 1:
        return present, False
    return None


_CANDIDATES: dict[str, tuple[str, ...]] = {
    "Lead": ("Email", "LastName", "FirstName", "Company"),
    "Contact": ("Email", "LastName", "FirstName"),
    "Task": ("WhoId", "Subject", "ActivityDate"),
    "Opportunity": ("Name", "AccountId"),
    "CampaignMember": ("CampaignId", "LeadId", "ContactId"),
}


def _same(field: str, ours: Any, theirs: Any) -> bool:
    if theirs is None:
        return False
    if field == "Email":
        return str(ours).casefold() == str(theirs).casefold()
    if field.endswith("Id"):  # 15- and 18-character IDs of one record
        return str(ours)[:15] == str(theirs)[:15]
    return str(ours) == str(theirs)


def _literal(field: str, value: Any) -> Any:
    """A date field is compared with a date literal, never a quoted string (SOQL refuses
    one: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm)."""
    if field == "ActivityDate":
        return date.fromisoformat(str(value)[:10])
    return str(value)


def find_created(
    api: OrgApi, sobject: str, records: Sequence[Mapping[str, Any]], since: datetime
) -> list[str | None]:
    """For each record a write may have created: the ID of the record the org holds under
    its natural key (made since ``since`` where that matters), else None. One query per
    kind of key; each read is tried once (the caller's retry loop is the only one)."""
    found: list[str | None] = [None] * len(records)
    groups: dict[tuple[tuple[str, ...], bool], list[int]] = {}
    for index, record in enumerate(records):
        key = _key_fields(sobject, record)
        if key is not None and key[0]:
            groups.setdefault(key, []).append(index)
    after = since.astimezone(UTC) - _SLACK
    for (fields, recent), indexes in groups.items():
        where = " AND ".join(f"{f} IN {{{f}}}" for f in fields)
        if recent:
            where += " AND CreatedDate >= {since}"
        values = {
            f: list(dict.fromkeys(_literal(f, records[i][f]) for i in indexes)) for f in fields
        }
        soql = format_soql(
            f"SELECT Id, {', '.join(fields)} FROM {sobject} WHERE {where} ORDER BY CreatedDate",
            since=after,
            **values,
        )
        rows = api.query(soql, once=True)
        taken: set[int] = set()
        for i in indexes:
            for n, row in enumerate(rows):
                if n not in taken and all(_same(f, records[i][f], row.get(f)) for f in fields):
                    taken.add(n)
                    found[i] = str(row["Id"])
                    break
    return found


def find_conversions(api: OrgApi, lead_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Lead ID (15 characters) → its conversion fields, for the Leads already converted."""
    rows = api.query(
        format_soql(
            f"SELECT Id, {', '.join(CONVERSION_FIELDS)} FROM Lead WHERE Id IN {{ids}}",
            ids=list(dict.fromkeys(lead_ids)),
        ),
        once=True,
    )
    return {str(r["Id"])[:15]: r for r in rows if r.get("IsConverted")}


def reconcile_requests(
    ws: Workspace, action: Action, requests: Sequence[EffectRequest]
) -> list[Reconciled]:
    sent = ws.state.sent(r.key for r in requests)
    answers: dict[str, Reconciled] = {}
    in_flight: list[tuple[EffectRequest, datetime]] = []
    for request in requests:
        entry = sent.get(request.key)
        if entry is None:
            answers[request.key] = Reconciled(request.key, applied=False)
        elif entry[1] is not None:
            answers[request.key] = Reconciled(
                request.key, applied=True, result=result_from_json(entry[1])
            )
        else:
            in_flight.append((request, entry[0]))
    if in_flight:
        found = settle(ws, action, in_flight)
        ws.state.record_results({k: result_to_json(r) for k, r in found.items()})
        for request, _ in in_flight:
            result = found.get(request.key)
            answers[request.key] = Reconciled(
                request.key, applied=result is not None, result=result
            )
    return [answers[r.key] for r in requests]


def settle(
    ws: Workspace, action: Action, doubtful: Sequence[tuple[EffectRequest, datetime]]
) -> dict[str, EffectResult]:
    """For requests that may already have been applied (sent at the given moment — by
    themselves before a crash, or by an earlier attempt of the same step whose answer
    was lost): link the Lead or Contact the lost call created, and return, by key, the
    outcome of those whose effect is found made (a Task, an Opportunity)."""
    _relink(ws, action, doubtful)
    return _applied(ws, action, doubtful)


def _relink(
    ws: Workspace, action: Action, in_flight: Sequence[tuple[EffectRequest, datetime]]
) -> None:
    """Find records the lost calls created for contacts that had none; link them."""
    links = ws.state.links(r.contact.id for r, _ in in_flight)
    orphans = [
        (r, since)
        for r, since in in_flight
        if not r.contact.salesforce_id and r.contact.id not in links and r.contact.email
    ]
    if not orphans:
        return
    since = min(s for _, s in orphans)
    kind: RecordType = "Lead"
    if isinstance(action, AddToList) and list_record_type(action.list_name) == "Contact":
        kind = "Contact"
    found = find_created(ws.api, kind, [{"Email": r.contact.email} for r, _ in orphans], since)
    ws.state.save_links(
        {
            r.contact.id: Link(record, kind)
            for (r, _), record in zip(orphans, found, strict=True)
            if record
        },
        ws.now,
    )


def _record_of(ws: Workspace, request: EffectRequest) -> tuple[str, str, bool] | None:
    c = request.contact
    if c.salesforce_id:
        return c.salesforce_id, c.salesforce_type or "Lead", False
    link = ws.state.links([c.id]).get(c.id)
    return (link.salesforce_id, link.salesforce_type, True) if link else None


def _applied(
    ws: Workspace, action: Action, in_flight: Sequence[tuple[EffectRequest, datetime]]
) -> dict[str, EffectResult]:
    """key → the outcome of a lost call that created something we can find (a Task, an
    Opportunity on a Contact's Account), in one lookup for the batch."""
    if not isinstance(action, AddTask | CreateOpportunity):
        return {}
    placed = [(r, since, _record_of(ws, r)) for r, since in in_flight]
    targets = [(r, since, rec) for r, since, rec in placed if rec is not None]
    if isinstance(action, CreateOpportunity):
        targets = [t for t in targets if t[2][1] == "Contact"]
    if not targets:
        return {}
    accounts: dict[str, str] = {}
    if isinstance(action, CreateOpportunity):
        rows = ws.api.query(
            format_soql(
                "SELECT Id, AccountId FROM Contact WHERE Id IN {ids}",
                ids=[rec[0] for _, _, rec in targets],
            ),
            once=True,
        )
        accounts = {str(r["Id"])[:15]: str(r["AccountId"]) for r in rows if r.get("AccountId")}
    made: list[dict[str, Any]] = []
    for request, _, (record_id, _, _) in targets:
        if isinstance(action, AddTask):
            fields = {
                "WhoId": record_id,
                "Subject": str(request.params.get("subject") or action.subject),
            }
            if request.params.get("due_date"):
                fields["ActivityDate"] = str(request.params["due_date"])
        else:
            fields = {"Name": str(request.params.get("name") or action.name)}
            if record_id[:15] in accounts:
                fields["AccountId"] = accounts[record_id[:15]]
        made.append(fields)
    sobject = "Task" if isinstance(action, AddTask) else "Opportunity"
    since = min(s for _, s, _ in targets)
    out: dict[str, EffectResult] = {}
    for (request, _, (record_id, record_type, new_link)), fields, found in zip(
        targets, made, find_created(ws.api, sobject, made, since), strict=True
    ):
        if found is None:
            continue
        changes = ContactChanges(
            salesforce_id=record_id if new_link else None,
            salesforce_type=("Contact" if record_type == "Contact" else "Lead")
            if new_link
            else None,
        )
        shown = {k: v for k, v in fields.items() if k in ("Subject", "Name")}
        created = RecordChange(sobject, found, "create", shown)
        out[request.key] = EffectResult(request.key, "done", changes=changes, records=(created,))
    return out
