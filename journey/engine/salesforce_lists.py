"""The Salesforce lists are the record type: memberships derived from the contact's link.

Pipeline position: every write of a contact (``engine.contacts.write_contacts``, which
journeys' actions, intake and the sync's inbound, conversion and removal all go through)
-> **salesforce_lists** -> the contact's memberships, in the same transaction as the link.

"Salesforce Leads" holds exactly the contacts linked to an unconverted Lead, "Salesforce
Contacts" those linked to a Contact (``vocabulary.record_type_of``: the link's type, else
its ID's key prefix). A converted Lead's contact is linked to the Contact it became, so it
leaves the one list and joins the other in one write; a contact whose record was deleted
has no link and is in neither. Whatever a caller did to a view's lists, ``derive_lists``
puts these two back to what the link says, so no code path (an action adding a Contact to
"Salesforce Leads", a CSV imported with ``--list "Salesforce Leads"``) can make them lie;
``added to list`` fires for a derived membership exactly as for any other list.

``[sync.Contact] mode = "none"`` (or Lead) empties that object's list: the sync cycle
records which objects it does not keep (``set_unsynced``) and removes their memberships;
``derive_lists`` then keeps them out.

Adding a contact to "Salesforce Leads" when it has no record asks Salesforce for one:
``request_records`` starts, for each such contact, a run of a built-in one-step journey
(``add to list "Salesforce Leads"``), so the connector creates the Lead exactly as a
journey's own step does (idempotency key, retries, the feed), and the membership follows
the link it brings back.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.dsl import compile_source
from journey.engine.contact import ContactView
from journey.engine.sql_batches import in_batches
from journey.engine.store import (
    LIVE_STATUSES,
    Activity,
    Contact,
    ContactList,
    JourneyVersion,
    Membership,
    Run,
    SyncSetting,
    enter_runs,
    entering_run,
)
from journey.vocabulary import (
    RECORD_ID_PREFIXES,
    RECORD_TYPES,
    RecordType,
    list_for,
    record_type_of,
)

__all__ = [
    "UNSYNCED_SETTING",
    "derive_lists",
    "record_journey",
    "request_records",
    "set_unsynced",
    "unsynced",
]

#: The sync setting naming the record types whose list stays empty (``mode = "none"``).
UNSYNCED_SETTING = "salesforce_lists:unsynced"


def derive_lists(view: ContactView, off: Collection[str] = ()) -> None:
    """Put the view's two Salesforce-list memberships where its link says (module
    docstring); ``off``: record types whose list is kept empty."""
    kind = record_type_of(view.salesforce_id, view.salesforce_type)
    lists = view.lists
    for record_type, name, key in _LISTS:
        if kind == record_type and record_type not in off:
            lists.setdefault(key, name)
        elif key in lists:
            del lists[key]


#: Each record type with its list's name and key, spelt once: every contact written asks.
_LISTS = [(t, list_for(t), list_for(t).casefold()) for t in RECORD_TYPES]


def unsynced(conn: Connection) -> frozenset[str]:
    """The record types whose list is kept empty (as the last sync cycle recorded them)."""
    ss = SyncSetting
    raw = conn.execute(sa.select(ss.c.value).where(ss.c.key == UNSYNCED_SETTING)).scalar()
    return frozenset(json.loads(raw)) if raw else frozenset()


def set_unsynced(conn: Connection, record_types: Iterable[RecordType], now: datetime) -> int:
    """Record which objects the sync does not keep: every member leaves their lists, and
    an object synced again gets its list back (the contacts linked to it, as members
    again rather than newcomers: no ``added to list``). Returns the memberships removed.
    Links stay: an action still finds the record; the list just no longer mirrors an
    object nobody syncs."""
    off = sorted(set(record_types))
    before = unsynced(conn)
    if set(off) == before and not off:
        return 0
    ss = SyncSetting
    conn.execute(sa.delete(ss).where(ss.c.key == UNSYNCED_SETTING))
    if off:
        conn.execute(sa.insert(ss).values(key=UNSYNCED_SETTING, value=json.dumps(off)))
    m = Membership
    removed = 0
    for kind in RECORD_TYPES:
        if kind in off:
            list_id = _list_id(conn, kind)
            done = conn.execute(sa.delete(m).where(m.c.list_id == list_id))
            removed += int(done.rowcount or 0)
        elif kind in before:
            _restore(conn, kind, now)
    return removed


def _list_id(conn: Connection, kind: RecordType) -> int:
    lst = ContactList
    name = list_for(kind)
    found = conn.execute(sa.select(lst.c.id).where(lst.c.name_key == name.casefold())).scalar()
    if found is None:
        found = conn.execute(
            sa.insert(lst).values(name=name, name_key=name.casefold()).returning(lst.c.id)
        ).scalar_one()
    return int(found)


def _restore(conn: Connection, kind: RecordType, now: datetime) -> None:
    """Every contact linked to a ``kind`` record back in its list."""
    c, m = Contact, Membership
    prefix = next(p for p, t in RECORD_ID_PREFIXES.items() if t == kind)
    list_id = _list_id(conn, kind)
    linked = sa.or_(
        c.c.salesforce_type == kind,
        sa.and_(c.c.salesforce_type.is_(None), sa.func.substr(c.c.salesforce_id, 1, 3) == prefix),
    )
    members = sa.select(m.c.contact_id).where(m.c.list_id == list_id)
    ids = conn.execute(
        sa.select(c.c.id).where(c.c.salesforce_id.is_not(None), linked, c.c.id.not_in(members))
    ).scalars()
    rows = [{"list_id": list_id, "contact_id": int(i), "added_at": now} for i in ids]
    if rows:
        conn.execute(sa.insert(m), rows)


def _record_source(kind: RecordType) -> tuple[str, str]:
    """The built-in journey that asks for a record: (name, source)."""
    name = f"Add to {list_for(kind)}"
    source = (
        f'journey "{name}"\n'
        f'trigger added to list "{list_for(kind)}"\n'
        f'add to list "{list_for(kind)}"\n'
    )
    return name, source


def record_journey(conn: Connection, kind: RecordType, now: datetime) -> tuple[str, str, str]:
    """The built-in journey's (name, version, first step), its source kept in the store
    like any published version's, so the runner loads it by version. It is never in the
    catalog's current journeys: no event enters a contact into it."""
    name, source = _record_source(kind)
    compiled, diagnostics = compile_source(source, f"<{name}>", None)
    assert compiled is not None, diagnostics
    jv = JourneyVersion
    known = conn.execute(sa.select(jv.c.version).where(jv.c.version == compiled.version)).first()
    if known is None:
        conn.execute(
            sa.insert(jv).values(
                version=compiled.version,
                name=name,
                path=f"<{name}>",
                source=source,
                first_seen=now,
            )
        )
    return name, compiled.version, compiled.start


def request_records(
    conn: Connection, contact_ids: Sequence[int], kind: RecordType, now: datetime
) -> list[int]:
    """Ask Salesforce for a ``kind`` record for each contact that has none (what adding it
    to that Salesforce list means): a run of the built-in journey, due now, for each
    contact without a record and without such a run already live. The runner's next pass
    creates the record; the membership follows the link. Returns the contacts asked for."""
    c, runs = Contact, Run
    name, version, start = record_journey(conn, kind, now)
    key = name.casefold()  # engine.journeys.journey_key
    wanted: list[int] = []
    for chunk in in_batches(sorted(set(contact_ids))):
        linked = set(
            conn.execute(
                sa.select(c.c.id).where(c.c.id.in_(chunk), c.c.salesforce_id.is_not(None))
            ).scalars()
        )
        live = set(
            conn.execute(
                sa.select(runs.c.contact_id).where(
                    runs.c.contact_id.in_(chunk),
                    runs.c.journey_key == key,
                    runs.c.status.in_(LIVE_STATUSES),
                )
            ).scalars()
        )
        wanted += [cid for cid in chunk if cid not in linked and cid not in live]
    if not wanted:
        return []
    inserted = enter_runs(
        conn, [entering_run(cid, name, key, version, start, now) for cid in wanted]
    )
    conn.execute(
        sa.insert(Activity),
        [
            {
                "contact_id": contact_id,
                "run_id": run_id,
                "journey": name,
                "step_id": start,
                "kind": "enter",
                "outcome": "entered",
                "detail": f'entered "{name}": added to "{list_for(kind)}" without a '
                f"Salesforce record, so one is created",
                "data": None,
                "at": now,
            }
            for run_id, contact_id, _ in inserted
        ],
    )
    return wanted
