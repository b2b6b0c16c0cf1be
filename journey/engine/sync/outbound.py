"""Outbound: engine-side changes to mapped, writable fields go to Salesforce; the activity
feed goes to Salesforce as Events when activity sync is on.

Pipeline position: ``write_contacts`` marks a linked contact *pending* -> the cycle ->
**outbound** -> ``SyncSource.update`` (Collections, 200 records a call) -> the org.

A pending contact is claimed (removed from ``sync_pending``) in one transaction; its
writable fields that differ from the record's shadow are sent (an inbound-only one is set
back to the shadow's value instead: ``restore``); the outcome is written in a second
transaction: a saved field updates the shadow (so the next read is no echo), a refused
record goes on the "Salesforce Sync Errors" list with the error on its feed and is
pending again — retried next cycle. The engine never creates a Salesforce record here
(only the actions do) and never deletes one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from journey.connectors.sync import SyncPaused, SyncSource
from journey.engine.contacts import (
    ContactContext,
    load_views,
    mark_sync_pending,
    snapshot,
    write_contacts,
)
from journey.engine.store import Activity, Contact, Store
from journey.engine.sync.mapping import FieldMap, engine_text, same_value, to_salesforce
from journey.engine.sync.records import (
    ERRORS_LIST,
    Linked,
    clear_errors,
    get_setting,
    load_records,
    note_restored,
    put_setting,
    record_error,
    save_records,
    take_pending,
    unmark,
)

__all__ = ["Sent", "push_activities", "push_changes", "restore", "set_error_list"]

EVENTS_BATCH = 2000


@dataclass
class Sent:
    written: int = 0
    failed: int = 0
    failed_contacts: list[int] = field(default_factory=list)
    ok_contacts: list[int] = field(default_factory=list)


def push_changes(
    store: Store,
    source: SyncSource,
    maps_of: Callable[[str], list[FieldMap]],
    ctx: ContactContext,
) -> Sent:
    """Send every pending contact's changed fields. Raises ``SyncPaused`` (after putting
    the claimed contacts back) when the connection stops."""
    sent = Sent()
    done: set[int] = set()
    again: set[int] = set()
    try:
        while _push_batch(store, source, maps_of, ctx, sent, done, again):
            pass
    finally:
        # Contacts whose record failed (retried next cycle) and ones marked again by this
        # cycle's own bookkeeping (the errors list): each is looked at once per cycle.
        back = again | set(sent.failed_contacts)
        if back:
            with store.begin() as conn:
                mark_sync_pending(conn, sorted(back), ctx.now)
    return sent


def _push_batch(
    store: Store,
    source: SyncSource,
    maps_of: Callable[[str], list[FieldMap]],
    ctx: ContactContext,
    sent: Sent,
    done: set[int],
    again: set[int],
) -> bool:
    """One claimed batch; False when nothing new is pending."""
    with store.begin() as conn:
        claimed_all = take_pending(conn)
        claimed = [c for c in claimed_all if c not in done]
        again.update(c for c in claimed_all if c in done)
        if not claimed:
            return False
        done.update(claimed)
        links = [
            link
            for link in load_records(conn, contact_ids=list(claimed))
            if link.object in ("Lead", "Contact") and link.synced and link.shadow is not None
        ]
        views = load_views(conn, [link.contact_id for link in links if link.contact_id])
    batches: dict[str, list[tuple[dict[str, Any], Linked, dict[str, str]]]] = defaultdict(list)
    restores: dict[int, dict[str, str]] = {}
    for link in links:
        view = views.get(link.contact_id or 0)
        if view is None or (view.salesforce_id or "")[:15] != link.salesforce_id[:15]:
            continue
        shadow = link.shadow or {}
        changed: dict[str, str] = {}
        for m in maps_of(link.object):
            value = engine_text(view.get(m.contact_field), m.kind)
            theirs = shadow.get(m.path, "false" if m.kind == "True/False" else "")
            if same_value(m, value, theirs):
                continue
            if m.writable:
                changed[m.path] = value
            elif m.path in shadow:
                restores.setdefault(view.id, {})[m.contact_field] = theirs
        if changed:
            kinds = {m.path: m.kind for m in maps_of(link.object)}
            body = {"Id": link.salesforce_id}
            body.update({p: to_salesforce(v, kinds[p]) for p, v in changed.items()})
            batches[link.object].append((body, link, changed))
    outcomes: list[tuple[Linked, dict[str, str], str | None, str | None]] = []
    try:
        for sobject, items in batches.items():
            results = source.update(sobject, [body for body, _, _ in items])
            for (_, link, changed), result in zip(items, results, strict=True):
                outcomes.append(
                    (link, changed, result.code if not result.ok else None, result.message)
                )
    except SyncPaused:
        settled = {link.contact_id for link, _, _, _ in outcomes}
        again.update(c for c in claimed if c not in settled)
        with store.begin() as conn:
            _settle(conn, outcomes, ctx, sent)
        raise
    with store.begin() as conn:
        _settle(conn, outcomes, ctx, sent)
        restore(conn, restores, ctx)
    return True


def restore(
    conn: sa.engine.Connection, restores: dict[int, dict[str, str]], ctx: ContactContext
) -> None:
    """Inbound-only fields written in the engine get Salesforce's value back (from the
    shadow: what the record held at the last read), with a feed entry saying why; nothing
    is sent. Their pending mark goes: the restored value is Salesforce's own."""
    if not restores:
        return
    views = load_views(conn, list(restores))
    pairs = []
    for cid, view in views.items():
        before = snapshot(view)
        notes = []
        for name, theirs in restores[cid].items():
            change = view.set(name, theirs)
            if change is not None:
                notes.append((change[0], change[1], change[2]))
        if notes:
            note_restored(conn, cid, notes, ctx.now)
            pairs.append((before, view))
    write_contacts(conn, pairs, ctx)
    unmark(conn, [view.id for _, view in pairs])


def _settle(
    conn: sa.engine.Connection,
    outcomes: Sequence[tuple[Linked, dict[str, str], str | None, str | None]],
    ctx: ContactContext,
    sent: Sent,
) -> None:
    saved: list[Linked] = []
    cleared: list[str] = []
    failed: list[int] = []
    for link, changed, code, message in outcomes:
        key = f"out:{link.salesforce_id}"
        if code is None:
            link.shadow = {**(link.shadow or {}), **changed}
            saved.append(link)
            cleared.append(key)
            sent.written += 1
            if link.contact_id:
                sent.ok_contacts.append(link.contact_id)
            continue
        sent.failed += 1
        record_error(
            conn,
            key=key,
            contact_id=link.contact_id,
            salesforce_id=link.salesforce_id,
            sobject=link.object,
            direction="out",
            code=code,
            message=f"{message or ''} (fields: {', '.join(sorted(changed))})",
            now=ctx.now,
        )
        if link.contact_id:
            failed.append(link.contact_id)
            sent.failed_contacts.append(link.contact_id)
    save_records(conn, saved)
    fixed = clear_errors(conn, cleared)
    set_error_list(conn, ctx, add=failed, remove=[c for c in fixed if c not in failed])


def set_error_list(
    conn: sa.engine.Connection, ctx: ContactContext, *, add: Sequence[int], remove: Sequence[int]
) -> None:
    """Contacts join the "Salesforce Sync Errors" list while a record of theirs fails, and
    leave it when it syncs again (only if no other error of theirs is open)."""
    from journey.engine.store import SyncError

    se = SyncError
    still = set()
    if remove:
        still = set(
            conn.execute(
                sa.select(se.c.contact_id).where(se.c.contact_id.in_(list(remove)))
            ).scalars()
        )
    leave = [c for c in remove if c not in still]
    ids = list(dict.fromkeys([*add, *leave]))
    if not ids:
        return
    views = load_views(conn, ids)
    pairs = []
    key = ERRORS_LIST.casefold()
    for cid, view in views.items():
        before = snapshot(view)
        if cid in add:
            view.lists.setdefault(key, ERRORS_LIST)
        else:
            view.lists.pop(key, None)
        if view.lists != before.lists:
            pairs.append((before, view))
    write_contacts(conn, pairs, ctx, emit_field_events=False)


def push_activities(store: Store, source: SyncSource, ctx: ContactContext) -> tuple[int, int]:
    """The activity feed of synced contacts, as Salesforce Events (Activity History),
    in Collections of 200. Returns (sent, failed). The feed is read from where the last
    cycle stopped; a refused entry is counted, not retried (the feed is history)."""
    a, c = Activity, Contact
    with store.begin() as conn:
        last = int(get_setting(conn, "activities:last_id") or 0)
        rows = conn.execute(
            sa.select(a.c.id, a.c.detail, a.c.at, a.c.journey, c.c.salesforce_id)
            .join(c, c.c.id == a.c.contact_id)
            .where(a.c.id > last, c.c.salesforce_id.is_not(None))
            .order_by(a.c.id)
            .limit(EVENTS_BATCH)
        ).all()
        top = conn.execute(sa.select(sa.func.max(a.c.id))).scalar() or last
    if not rows:
        if top > last:
            with store.begin() as conn:
                put_setting(conn, "activities:last_id", top)
        return 0, 0
    events = []
    for row in rows:
        moment: datetime = row.at
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        subject = (f"[{row.journey}] " if row.journey else "") + str(row.detail)
        events.append(
            {
                "Subject": subject[:255],
                "WhoId": row.salesforce_id,
                "StartDateTime": stamp,
                "EndDateTime": stamp,
                "Description": str(row.detail),
            }
        )
    results = source.create("Event", events)
    failed = sum(1 for r in results if not r.ok)
    with store.begin() as conn:
        put_setting(conn, "activities:last_id", int(rows[-1].id))
    return len(results) - failed, failed
