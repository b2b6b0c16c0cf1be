"""Inbound: Salesforce Leads and Contacts taken into the store — identified, merged,
converted.

Pipeline position: the cycle reads changes through ``connectors.sync`` -> **inbound**
-> ``engine.contacts.write_contacts`` (so a sync change has every consequence a journey's
change has: ``field changed`` events, list events, segments, woken runs). Each record is
identified (``identity``), merged three-way into its contact (``merge``) and linked (its
Salesforce list follows the link: ``engine.salesforce_lists``); a Lead converted in
Salesforce hands its contact to the Contact it became. Accounts (``accounts``), campaign
members (``members``) and deletions (``removal``) have modules of their own; ``Taken`` is
what each of them reports.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.connectors.sync import Record
from journey.engine.contact import ContactView
from journey.engine.contacts import (
    ContactContext,
    load_views,
    mark_sync_pending,
    new_contacts,
    snapshot,
    write_contacts,
)
from journey.engine.store import Activity, SyncError, SyncPending
from journey.engine.sync.identity import id_text, match_contacts
from journey.engine.sync.mapping import FieldMap, from_salesforce
from journey.engine.sync.merge import Merged, invalid_values, merge_record, take_owner
from journey.engine.sync.outbound import set_error_list
from journey.engine.sync.records import (
    Linked,
    forget_records,
    load_records,
    note_restored,
    record_error,
    save_records,
    unmark,
)
from journey.vocabulary import RecordType

__all__ = ["Taken", "record_link", "take_people", "take_record"]


@dataclass
class Taken:
    """What one batch did: records that changed something, conflicts settled, failures."""

    changed: int = 0
    conflicts: int = 0
    failed: int = 0
    removed: int = 0
    notes: list[str] = field(default_factory=list)


def take_people(
    conn: Connection,
    sobject: RecordType,
    records: Sequence[Record],
    maps: Sequence[FieldMap],
    ctx: ContactContext,
    *,
    recheck: bool = False,
) -> Taken:
    """Leads or Contacts into the store (module docstring). A record read again with the
    SystemModstamp we already hold is skipped, unless ``recheck`` (a full read: a formula
    may have changed without moving it)."""
    taken = Taken()
    if not records:
        return taken
    links = {r.salesforce_id: r for r in load_records(conn, ids=[str(x["Id"]) for x in records])}
    matched = match_contacts(conn, [r for r in records if str(r["Id"]) not in links])
    contact_ids = {link.contact_id for link in links.values() if link.contact_id is not None} | set(
        matched.values()
    )
    views = load_views(conn, contact_ids)
    befores = {cid: snapshot(v) for cid, v in views.items()}
    marks = _pending_marks(conn, list(views))
    fresh: list[tuple[Record, ContactView]] = []
    problems: list[tuple[str, ContactView, str, str]] = []
    touched: dict[int, ContactView] = {}
    saved: list[Linked] = []
    forgotten: list[str] = []
    engine_keeps: list[int] = []
    for record in records:
        record_id = str(record["Id"])
        link = links.get(record_id)
        if (
            not recheck
            and link is not None
            and link.shadow is not None
            and link.modstamp
            and link.modstamp == str(record.get("SystemModstamp") or "")
        ):
            continue  # read again inside the overlap window, unchanged since: nothing to do
        contact_id = link.contact_id if link is not None else matched.get(record_id)
        converted = sobject == "Lead" and record.get("IsConverted")
        if converted and record.get("ConvertedContactId"):
            if contact_id is not None and contact_id in views:
                view = views[contact_id]
                if view.salesforce_type != "Contact":
                    _convert(conn, view, record, ctx)
                    touched[view.id] = view
                    saved.append(Linked(id_text(record["ConvertedContactId"]), "Contact", view.id))
            # A Lead converted before we ever saw it: its Contact brings the person in.
            forgotten.append(record_id)
            continue
        if contact_id is not None and contact_id in views:
            view = views[contact_id]
        else:
            view = ContactView(id=0)
            fresh.append((record, view))
        shadow = link.shadow if link is not None and link.shadow is not None else None
        merged = take_record(view, record, sobject, maps, shadow, marks.get(view.id))
        taken.conflicts += merged.conflicts
        if merged.engine_keeps and view.id:
            engine_keeps.append(view.id)
        if merged.restored and view.id:
            note_restored(conn, view.id, merged.restored, ctx.now)
        for name, message in invalid_values(view, maps, ctx):
            view.set(name, befores[view.id].get(name) if view.id in befores else "")
            problems.append((record_id, view, name, message))
        saved.append(record_link(record, sobject, view.id or None, maps))
        if view.id:
            touched[view.id] = view
    if fresh:
        ids = new_contacts(conn, len(fresh), ctx.now)
        for (_record, view), new_id in zip(fresh, ids, strict=True):
            view.id = new_id
        by_record = {str(record["Id"]): view.id for record, view in fresh}
        for link in saved:
            if link.contact_id is None:
                link.contact_id = by_record.get(link.salesforce_id)
    pairs: list[tuple[ContactView | None, ContactView]] = [
        (befores.get(cid), view) for cid, view in touched.items() if cid in befores
    ]
    taken.changed += write_contacts(conn, pairs, ctx)
    if fresh:
        write_contacts(conn, [(None, view) for _, view in fresh], ctx)
        taken.changed += len(fresh)
    forget_records(conn, [f for f in forgotten if f not in {x.salesforce_id for x in saved}])
    save_records(conn, saved)
    _inbound_errors(conn, sobject, saved, problems, ctx, taken)
    # write_contacts marked every contact written here pending; what the sync itself took
    # in needs no comparison: only the ones the engine had changed stay pending.
    ours = [cid for cid in [*touched, *(v.id for _, v in fresh)] if cid not in marks]
    unmark(conn, ours)
    if engine_keeps:
        mark_sync_pending(conn, engine_keeps, ctx.now)
    return taken


def take_record(
    view: ContactView,
    record: Mapping[str, Any],
    sobject: RecordType,
    maps: Sequence[FieldMap],
    shadow: Mapping[str, str] | None,
    engine_changed_at: datetime | None,
) -> Merged:
    """One Lead's or Contact's values onto its contact: merged three-way, its owner, the
    link (its Salesforce list follows the link when the contact is written). The sync and
    the engine's link read (``engine.linking``) both take a record through here: one set
    of rules."""
    merged = merge_record(view, record, maps, shadow, engine_changed_at)
    take_owner(view, record)
    view.salesforce_id, view.salesforce_type = str(record["Id"]), sobject
    return merged


def record_link(
    record: Mapping[str, Any], sobject: RecordType, contact_id: int | None, maps: Sequence[FieldMap]
) -> Linked:
    """The sync record a taken record leaves: its shadow is the values just taken, so the
    next cycle reading them back sees no change."""
    return Linked(
        str(record["Id"]),
        sobject,
        contact_id,
        id_text(record.get("AccountId")) or None,
        {m.path: from_salesforce(record.get(m.path), m.kind) for m in maps},
        str(record.get("SystemModstamp") or ""),
    )


def _inbound_errors(
    conn: Connection,
    sobject: str,
    saved: Sequence[Linked],
    problems: Sequence[tuple[str, ContactView, str, str]],
    ctx: ContactContext,
    taken: Taken,
) -> None:
    """Values that did not fit go on the errors list (the rest of the record is taken);
    a record taken cleanly clears its earlier inbound errors."""
    se = SyncError
    failing = {record_id for record_id, _, _, _ in problems}
    cleared: list[int] = []
    open_errors = conn.execute(sa.select(se.c.key).where(se.c.key.like("in:%")).limit(1)).first()
    for link in saved if open_errors is not None else ():
        if link.salesforce_id in failing:
            continue
        gone = conn.execute(
            sa.delete(se)
            .where(se.c.key.like(f"in:{link.salesforce_id}:%"))
            .returning(se.c.contact_id)
        ).scalars()
        cleared += [int(c) for c in gone if c is not None]
    for record_id, view, name, message in problems:
        record_error(
            conn,
            key=f"in:{record_id}:{name}",
            contact_id=view.id or None,
            salesforce_id=record_id,
            sobject=sobject,
            direction="in",
            code="INVALID_VALUE",
            message=message,
            now=ctx.now,
        )
        taken.failed += 1
    failed_ids = [v.id for _, v, _, _ in problems if v.id]
    set_error_list(conn, ctx, add=failed_ids, remove=[c for c in cleared if c not in failed_ids])


def _pending_marks(conn: Connection, contact_ids: Sequence[int]) -> dict[int, datetime | None]:
    sp = SyncPending
    out: dict[int, datetime | None] = {}
    for start in range(0, len(contact_ids), 500):
        for row in conn.execute(
            sa.select(sp.c.contact_id, sp.c.marked_at).where(
                sp.c.contact_id.in_(contact_ids[start : start + 500])
            )
        ):
            out[int(row.contact_id)] = row.marked_at
    return out


def _convert(
    conn: Connection, view: ContactView, record: Mapping[str, Any], ctx: ContactContext
) -> None:
    """A Lead converted in Salesforce: the same contact (its runs, its feed) now stands for
    the Contact the Lead became."""
    contact_id = id_text(record["ConvertedContactId"])
    view.salesforce_id, view.salesforce_type = contact_id, "Contact"
    if view.id:
        conn.execute(
            sa.insert(Activity).values(
                contact_id=view.id,
                kind="sync",
                outcome="converted",
                detail=f"Lead {record['Id']} was converted in Salesforce to Contact {contact_id}",
                data=json.dumps({"lead": record["Id"], "contact": contact_id}),
                at=ctx.now,
            )
        )
