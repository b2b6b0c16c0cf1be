"""``send notification``: who gets each contact's email, and what the feed says about it.

Pipeline position: connector (``SalesforceConnector._notify``) → **notifications** →
``connectors.notify`` (outbox, SMTP). One batch of contacts is one SMTP connection.

Recipients:

* ``to "…"`` arrives rendered (``{{Email}}`` is the contact's email) and must be one plain
  address (``notify.checked_address``); anything else fails that contact, naming the value.
* ``also to lead owner`` adds the owner *as the org knows it*: the ``OwnerId`` of the
  contact's Lead or Contact, read from the org in this call (``Owner.Email`` — the Name
  object's Email is "the email address of the user or group (queue)", so a queue-owned Lead
  goes to the queue's email, and to nobody when the queue has none; see
  docs/salesforce.md). The contact's own "Lead Owner" field is never an address source:
  anyone who can write a contact field could otherwise choose who receives it. A contact
  with no Salesforce record has no owner to copy; the feed says so.

Every contact is handled alone: a subject, address or body the email package refuses fails
that contact's run with the reason, and the rest of the batch is sent. A letter already in
the outbox (a retry, a crash recovered) is sent as stored, never recomposed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from journey.connectors.base import RecordChange
from journey.connectors.notify import (
    Letter,
    Notifier,
    Outbox,
    Outcome,
    RecipientError,
    checked_address,
)
from journey.connectors.notify.message import recipients_of
from journey.connectors.salesforce.records import Item, Owner, Workspace, read_owners
from journey.dsl.syntax import SendNotification

__all__ = ["send_notifications"]


def send_notifications(
    ws: Workspace, notifier: Notifier | None, action: SendNotification, items: Sequence[Item]
) -> None:
    """Settle every item: ``done`` once its email is sent (now or before), ``failed`` for a
    bad recipient or a refusal, ``retry`` while the server defers."""
    if notifier is None:
        for item in items:
            item.finish("skipped", why="notifications are not configured")
        return
    outbox = Outbox(ws.state.engine)
    stored = outbox.load(i.request.key for i in items)
    fresh = [i for i in items if i.live and i.request.key not in stored]
    owners = _owners(ws, fresh)
    notes: dict[str, str] = {}
    drafts: list[Letter] = []
    for item in fresh:
        try:
            letter, note = _draft(notifier, action, item, owners, ws.now)
        except RecipientError as error:
            item.finish("failed", code="INVALID_RECIPIENT", message=f"not sent: {error}")
            continue
        except (ValueError, TypeError, UnicodeError) as error:
            item.finish(
                "failed", code="INVALID_NOTIFICATION", message=f"cannot compose the email: {error}"
            )
            continue
        drafts.append(letter)
        if note:
            notes[item.request.key] = note
    letters = {**stored, **outbox.intend(drafts)}
    wanted = [letters[i.request.key] for i in items if i.live and i.request.key in letters]
    outcomes = notifier.deliver(outbox, wanted, ws.now)
    for item in items:
        outcome = outcomes.get(item.request.key)
        if item.live and outcome is not None:
            _settle(item, outcome, notes.get(item.request.key))


def _draft(
    notifier: Notifier,
    action: SendNotification,
    item: Item,
    owners: dict[str, Owner | None],
    now: datetime,
) -> tuple[Letter, str | None]:
    to = checked_address(str(item.params.get("to") or action.to))
    extra: list[str] = []
    note = None
    if item.params.get("also_to_lead_owner"):
        record = _record(item)
        owner = owners.get(record[0]) if record else None
        if record is None:
            note = "no lead owner copy: the contact has no Salesforce record"
        elif owner is None or not owner.email:
            note = f"no lead owner copy: the owner of {record[1]} {record[0]} has no email"
        else:
            try:
                extra.append(checked_address(owner.email, "owner's email"))
            except RecipientError as error:
                note = f"no lead owner copy: {error}"
    subject = str(item.params.get("subject") or action.subject)
    lines = [f"{k}: {v}" for k, v in sorted(item.contact.fields.items())]
    body = f"{subject}\n\nContact:\n" + "\n".join(lines) + "\n"
    letter = notifier.letter(
        item.request.key, item.contact.id, recipients_of(to, extra), subject, body, now
    )
    return letter, note


def _record(item: Item) -> tuple[str, str] | None:
    """The contact's Salesforce record (ID, object), from the engine or this call."""
    c = item.contact
    if c.salesforce_id:
        return c.salesforce_id, c.salesforce_type or "Lead"
    if item.record_id:
        return item.record_id, item.record_type or "Lead"
    return None


def _owners(ws: Workspace, items: Sequence[Item]) -> dict[str, Owner | None]:
    """Record ID → its owner as the org holds it now, for the items that copy the owner."""
    asking: list[Item] = []
    for item in items:
        record = _record(item) if item.params.get("also_to_lead_owner") else None
        if record is not None:
            probe = Item(item.request, record_id=record[0])
            probe.record_type = "Contact" if record[1] == "Contact" else "Lead"
            asking.append(probe)
    if not asking:
        return {}
    found = read_owners(ws, asking)
    return {str(p.record_id): found.get(str(p.record_id)) for p in asking}


def _settle(item: Item, outcome: Outcome, note: str | None) -> None:
    letter = outcome.letter
    if outcome.status == "retry":
        item.finish("retry", code=outcome.code, message=outcome.message)
        return
    if outcome.status == "failed":
        item.finish("failed", code=outcome.code, message=outcome.message)
        return
    fields = {"To": ", ".join(letter.recipients), "Subject": letter.subject}
    if letter.via == "folder" and letter.location:
        fields["Outbox"] = letter.location
    if outcome.refused:
        fields["Refused"] = "; ".join(f"{a}: {why}" for a, why in outcome.refused.items())
    if note:
        fields["Note"] = note
    item.records.append(RecordChange("Email", letter.message_id, "send", fields))
    item.finish("done")
