"""Contacts written to the store: each change stored as a difference, with its consequences.

Pipeline position: CSV import / form events / journeys' own actions / the sync ->
**contacts** -> store (``engine.contact_loading`` reads contacts back as ``ContactView``s).

Every write goes through ``write_contacts``, which compares a contact before and after and
stores only the difference, so a change made by a journey, an import or the sync has the
same consequences (``engine.change_effects``): a ``field_changed`` event per changed field
(existing contacts only: a new contact's first values are not "changes"), an
``added_to_list`` event per new membership (the "Salesforce Leads"/"Salesforce Contacts"
memberships first derived from the contact's link, ``engine.salesforce_lists``, so they
change in the same transaction as the link), segment membership re-evaluated
(``entered_segment`` when a contact starts to match), the contact's waiting runs woken so
goals and ``wait until`` see the change, and contacts linked to Salesforce marked for the
sync. How each field is kept (a column or a typed value) is ``engine.field_values``.

The reading and consequence functions are re-exported here, so the callers that write
contacts find every name they need in one module.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.change_effects import (
    SegmentChanges,
    event_row,
    mark_sync_pending,
    segment_changes,
    waiting_runs,
    wake,
    wake_runs,
)
from journey.engine.contact import OWNER_FIELD, ContactView
from journey.engine.contact_context import ContactContext
from journey.engine.contact_loading import contact_id_by_email, load_views
from journey.engine.field_values import CORE_COLUMNS, FieldValueError, coerce
from journey.engine.pg_rows import delete_rows, insert_rows, pipelined, update_rows
from journey.engine.salesforce_lists import derive_lists, unsynced
from journey.engine.sql_batches import in_batches
from journey.engine.store import (
    Company,
    Contact,
    ContactList,
    Event,
    FieldValue,
    Membership,
    delete_many,
    insert_many,
    update_many,
    upsert_many,
)
from journey.engine.wakeups import announce_work
from journey.sql_upsert import upsert

__all__ = [
    "ROW_KEYS",
    "ContactContext",
    "FieldValueError",
    "coerce",
    "contact_id_by_email",
    "event_row",
    "load_views",
    "mark_sync_pending",
    "new_contacts",
    "snapshot",
    "wake_runs",
    "write_contacts",
]


def new_contacts(conn: Connection, count: int, now: datetime) -> list[int]:
    """Create ``count`` empty contacts; their fields are written by ``write_contacts``."""
    if count == 0:
        return []
    c = Contact
    rows = [{"created_at": now, "updated_at": now} for _ in range(count)]
    # The rows are blank, so any id may go to any new contact: no ordering needed, which
    # lets SQLAlchemy batch the RETURNING insert instead of one statement per row.
    result = conn.execute(sa.insert(c).returning(c.c.id), rows)
    return sorted(int(r.id) for r in result)


def _list_ids(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    lst = ContactList
    wanted = {n.casefold(): n for n in names}
    if not wanted:
        return {}
    found = {
        r.name_key: int(r.id)
        for r in conn.execute(
            sa.select(lst.c.id, lst.c.name_key).where(lst.c.name_key.in_(list(wanted)))
        )
    }
    for key, name in sorted(wanted.items()):  # in one order: two writers never deadlock
        if key not in found:
            found[key] = _named_id(conn, lst, name, key)
    return found


def _named_id(conn: Connection, tbl: sa.Table, name: str, key: str) -> int:
    """The id of the list or company named ``key``, made if missing — by an insert that
    leaves it to another worker making the same one at the same time."""
    if conn.dialect.name in ("sqlite", "postgresql"):
        conn.execute(
            upsert(conn, tbl)
            .values(name=name, name_key=key)
            .on_conflict_do_nothing(index_elements=["name_key"])
        )
    else:
        conn.execute(sa.insert(tbl).values(name=name, name_key=key))
    return int(conn.execute(sa.select(tbl.c.id).where(tbl.c.name_key == key)).scalar_one())


def _company_ids(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Company key -> id for every name, made where missing: one query for the known ones."""
    co = Company
    wanted = {n.casefold(): n for n in names}
    found: dict[str, int] = {}
    for chunk in in_batches(sorted(wanted)):
        rows = conn.execute(sa.select(co.c.id, co.c.name_key).where(co.c.name_key.in_(chunk)))
        found.update((r.name_key, int(r.id)) for r in rows)
    for key, name in sorted(wanted.items()):  # in one order: two writers never deadlock
        if key not in found:
            found[key] = _named_id(conn, co, name, key)
    return found


#: Keys of a contact's entries (``ContactView.keyed``) stored on its row, not as values.
ROW_KEYS = frozenset((*CORE_COLUMNS, "email", OWNER_FIELD.casefold()))
#: A checkbox's blank and false, either way round (``write_contacts``).
_BLANK_AND_FALSE = (("", "false"), ("false", ""))


def write_contacts(
    conn: Connection,
    pairs: Sequence[tuple[ContactView | None, ContactView]],
    ctx: ContactContext,
    *,
    emit_field_events: bool = True,
    busy: Collection[int] = frozenset(),
    also_events: Sequence[dict[str, Any]] = (),
) -> int:
    """Store each (before, after) difference and its consequences (module docstring).
    ``before`` None means a new contact (no change events). ``also_events``: the caller's
    own inbox rows (``event_row``), inserted with the write's, after them, and never
    filtered out (a form post's event). Returns contacts changed."""
    c, fv, m = Contact, FieldValue, Membership
    core_updates: list[dict[str, Any]] = []
    upserts: list[dict[str, Any]] = []
    deletes: list[dict[str, Any]] = []
    list_adds: list[tuple[int, str]] = []
    list_removes: list[tuple[int, str]] = []
    events: list[dict[str, Any]] = []
    changed_ids: list[int] = []
    new_ids: set[int] = set()
    off = unsynced(conn) if any(after.salesforce_id for _, after in pairs) else frozenset()
    # Only events some journey listens to are made (``ctx.listens``), not every change's.
    listens = ctx.listens
    for before, after in pairs:
        if before is None:
            new_ids.add(after.id)
        derive_lists(after, off)
        old_f = before.keyed() if before else {}
        new_f = after.keyed()
        core_changed = before is None or (
            before.salesforce_id,
            before.salesforce_type,
            before.owner_id,
            before.owner_name,
            before.owner_email,
        ) != (
            after.salesforce_id,
            after.salesforce_type,
            after.owner_id,
            after.owner_name,
            after.owner_email,
        )
        field_changed = False
        # A checkbox read as "false" where nothing was stored (``unset``) is stored, but no
        # ``field changed``: blank and false mean the same to a condition (``sync.mapping``).
        # Only the entries that differ (a set operation in C): a contact has tens of
        # fields, a step changes one or two.
        for key in {key for key, _ in old_f.items() ^ new_f.items()}:
            was = old_f.get(key, ("", ""))[1]
            now_value = new_f.get(key, ("", ""))[1]
            if was == now_value:
                continue
            field_changed = True
            display, _, kind = ctx.column(new_f.get(key, old_f.get(key, (key, "")))[0])
            if key in ROW_KEYS:
                core_changed = True
            elif now_value:
                text, number, day, flag = coerce(display, now_value, kind)
                upserts.append(
                    {
                        "contact_id": after.id,
                        "name_key": key,
                        "name": display,
                        "type": kind,
                        "text": text,
                        "number": number,
                        "date_value": day,
                        "flag": flag,
                    }
                )
            else:
                deletes.append({"cid": after.id, "key": key})
            unset = (was, now_value) in _BLANK_AND_FALSE and kind == "True/False"
            if (
                before is not None
                and emit_field_events
                and not unset
                and (listens is None or listens("field_changed", display))
            ):
                events.append(event_row("field_changed", after.id, display, now_value, ctx.now))
        old_lists = before.lists if before else {}
        for key, name in after.lists.items():
            if key not in old_lists:
                list_adds.append((after.id, name))
                if listens is None or listens("added_to_list", name):
                    events.append(event_row("added_to_list", after.id, name, None, ctx.now))
        for key, name in old_lists.items():
            if key not in after.lists:
                list_removes.append((after.id, name))
        if core_changed:
            company = after.get("Company")
            core_updates.append(
                {
                    "cid": after.id,
                    "email": after.email,
                    "email_key": after.email.casefold() if after.email else None,
                    "first_name": after.get("First Name") or None,
                    "last_name": after.get("Last Name") or None,
                    "company": company or None,
                    "company_id": None,  # below, for all the batch's companies at once
                    "salesforce_id": after.salesforce_id,
                    "salesforce_type": after.salesforce_type,
                    "owner_id": after.owner_id,
                    "owner_name": after.owner_name,
                    "owner_email": after.owner_email,
                    "updated_at": ctx.now,
                }
            )
        if core_changed or field_changed or list_adds or list_removes:
            changed_ids.append(after.id)
    # Everything the writes need is read first, so that on PostgreSQL the writes then
    # travel together, in one round trip (``pg_rows.pipelined``).
    named = [u["company"] for u in core_updates if u["company"]]
    if named:
        companies = _company_ids(conn, named)
        for u in core_updates:
            if u["company"]:
                u["company_id"] = companies[u["company"].casefold()]
    ids = _list_ids(conn, [n for _, n in list_adds + list_removes])
    segments = SegmentChanges()
    if ctx.evaluator.segment_names and changed_ids:
        changed = set(changed_ids)
        views = [after for _, after in pairs if after.id in changed]
        segments = segment_changes(conn, views, ctx.evaluator, ctx.now)
        events.extend(
            e for e in segments.events if listens is None or listens(e["kind"], e["name"])
        )
    events.extend(also_events)
    # A new contact has no runs yet: only the others' waiting runs are looked for.
    woken = waiting_runs(conn, [i for i in changed_ids if i not in new_ids], busy)
    touched = set(changed_ids)
    linked = [a.id for _, a in pairs if a.salesforce_id and a.id in touched]
    writes = (core_updates, deletes, upserts, list_adds, list_removes, events, woken, linked)
    if not any(writes) and not (segments.entered or segments.left):
        return len(changed_ids)  # nothing to store: not even a round trip to say so
    with pipelined(conn):
        if core_updates and not update_rows(conn, c, "id", core_updates, "cid"):
            update_many(conn, c, "id", core_updates, "cid")
        keys = [(d["cid"], d["key"]) for d in deletes]
        if deletes and not delete_rows(conn, fv, ("contact_id", "name_key"), keys):
            delete_many(conn, fv, ("contact_id", "name_key"), keys)
        if upserts:
            _upsert_fields(conn, upserts)
        if list_adds:
            joined = [
                {"list_id": ids[n.casefold()], "contact_id": cid, "added_at": ctx.now}
                for cid, n in list_adds
            ]
            if not insert_rows(conn, m, joined):
                insert_many(conn, m, joined)
        left = [(ids[n.casefold()], cid) for cid, n in list_removes]
        if left and not delete_rows(conn, m, ("list_id", "contact_id"), left):
            delete_many(conn, m, ("list_id", "contact_id"), left)
        segments.apply(conn)
        if events:
            if not insert_rows(conn, Event, events):
                insert_many(conn, Event, events)
            announce_work(conn)
        if woken:
            wake(conn, woken)
        if linked:
            mark_sync_pending(conn, linked, ctx.now)
    return len(changed_ids)


def _upsert_fields(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace field values: one statement where the database has an upsert."""
    fv = FieldValue
    replaced = ("name", "type", "text", "number", "date_value", "flag")
    if insert_rows(conn, fv, rows, conflict=("contact_id", "name_key"), replace=replaced):
        return
    if conn.dialect.name == "sqlite":
        upsert_many(conn, fv, rows, ("contact_id", "name_key"), replaced)
        return
    conn.execute(
        sa.delete(fv).where(
            fv.c.contact_id == sa.bindparam("cid"), fv.c.name_key == sa.bindparam("key")
        ),
        [{"cid": u["contact_id"], "key": u["name_key"]} for u in rows],
    )
    conn.execute(sa.insert(fv), rows)


def snapshot(view: ContactView) -> ContactView:
    """A copy: the "before" of a later ``write_contacts``."""
    return view.copy()
