"""After a crash: was each request applied? Answered from the journal, then from the org.

Pipeline position: runner.recover → connector.reconcile → **reconcile**. The engine asks
only about intents it committed but has no outcome for. Three cases:

1. the journal (``sf_effects``) has the outcome — the crash came after our bookkeeping:
   ``applied``, with that outcome;
2. the key never went out: not applied, the engine performs it;
3. it went out and the answer was lost. Salesforce has no idempotency keys for these
   calls, so we look for what the request would have created, made *after it was sent*
   (``CreatedDate >= sent_at``, values escaped with ``format_soql``):
   * the contact's Lead/Contact, matched by Email → remembered in ``sf_links``, so the
     retry that follows uses it instead of creating a second record;
   * for ``add task``: a Task with that subject on the record → ``applied`` (done);
   * for ``create opportunity`` on a Lead, conversion is detected when the retry reads
     the Lead (``IsConverted``); on a Contact, an Opportunity of that name on its
     Account → ``applied``;
   * everything else (owner, status, field updates, campaign membership) is idempotent
     and simply performed again. A round-robin turn taken by the lost call stays taken.

Contacts without an email cannot be matched by (3); their records are linked the moment
Salesforce answers, so only a crash inside that very call can lose one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

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
from journey.connectors.salesforce.records import Workspace
from journey.connectors.salesforce.state import Link
from journey.dsl.syntax import Action, AddTask, AddToList, CreateOpportunity
from journey.vocabulary import RecordType, list_record_type

__all__ = ["reconcile_requests"]

# Our clock and the org's may disagree a little: look a few minutes before sending.
_SLACK = timedelta(minutes=5)


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
        _relink(ws, action, in_flight)
        for request, since in in_flight:
            found = _applied(ws, action, request, since)
            if found is not None:
                ws.state.record_results({request.key: result_to_json(found)})
            answers[request.key] = Reconciled(request.key, applied=found is not None, result=found)
    return [answers[r.key] for r in requests]


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
    since = min(s for _, s in orphans) - _SLACK
    kinds: list[RecordType] = ["Lead"]
    if isinstance(action, AddToList) and list_record_type(action.list_name) == "Contact":
        kinds = ["Contact"]
    found: dict[int, Link] = {}
    for kind in kinds:
        rows = ws.api.query_in(
            f"SELECT Id, Email, CreatedDate FROM {kind} WHERE Email IN {{values}} "
            "AND CreatedDate >= {since} ORDER BY CreatedDate",
            [str(r.contact.email) for r, _ in orphans],
            since=since,
        )
        by_email: dict[str, str] = {}
        for row in rows:
            by_email.setdefault(str(row["Email"]).casefold(), str(row["Id"]))
        for request, _ in orphans:
            record = by_email.get(str(request.contact.email).casefold())
            if record is not None:
                found[request.contact.id] = Link(record, kind)
    ws.state.save_links(found, ws.now)


def _record_of(ws: Workspace, request: EffectRequest) -> tuple[str, str, bool] | None:
    c = request.contact
    if c.salesforce_id:
        return c.salesforce_id, c.salesforce_type or "Lead", False
    link = ws.state.links([c.id]).get(c.id)
    return (link.salesforce_id, link.salesforce_type, True) if link else None


def _applied(
    ws: Workspace, action: Action, request: EffectRequest, since: datetime
) -> EffectResult | None:
    """The outcome of a lost call that created something we can find, else None."""
    record = _record_of(ws, request)
    if record is None:
        return None
    record_id, record_type, new_link = record
    changes = ContactChanges(
        salesforce_id=record_id if new_link else None,
        salesforce_type=("Contact" if record_type == "Contact" else "Lead") if new_link else None,
    )
    if isinstance(action, AddTask):
        subject = str(request.params.get("subject") or action.subject)
        rows = ws.api.query(
            format_soql(
                "SELECT Id FROM Task WHERE WhoId = {w} AND Subject = {s} AND CreatedDate >= {t}",
                w=record_id,
                s=subject,
                t=since - _SLACK,
            )
        )
        if rows:
            task = RecordChange("Task", str(rows[0]["Id"]), "create", {"Subject": subject})
            return EffectResult(request.key, "done", changes=changes, records=(task,))
    if isinstance(action, CreateOpportunity) and record_type == "Contact":
        name = str(request.params.get("name") or action.name)
        contact = ws.api.query(
            format_soql("SELECT AccountId FROM Contact WHERE Id = {c}", c=record_id)
        )
        account = contact[0].get("AccountId") if contact else None
        soql = "SELECT Id FROM Opportunity WHERE Name = {n} AND CreatedDate >= {t}"
        if account:
            soql += " AND AccountId = {a}"
        rows = ws.api.query(format_soql(soql, n=name, t=since - _SLACK, a=account))
        if rows:
            opp = RecordChange("Opportunity", str(rows[0]["Id"]), "create", {"Name": name})
            return EffectResult(request.key, "done", changes=changes, records=(opp,))
    return None
