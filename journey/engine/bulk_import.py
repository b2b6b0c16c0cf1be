"""New contacts written in bulk: a CSV import's contacts that the store did not hold.

Pipeline position: ``intake.import_rows`` -> **bulk_import** -> store. What the importer
decides (which row is which contact, the merged values: ``engine.intake``) is unchanged;
this writes the contacts it made, with exactly what ``contacts.write_contacts`` stores for
a contact written for the first time — its row with every core value, its field values,
its list memberships (the Salesforce lists its link puts it in, ``salesforce_lists``) with
their ``added_to_list`` events, its segments with their ``entered_segment`` events (only
the events some journey listens for, when the context says), and the sync's mark for a
linked contact — but a table at a time instead of a row at a time:

* a new contact has nothing to compare with, no field to replace and no run to wake, so
  its rows are plain inserts, never updates or upserts;
* on PostgreSQL the rows go through a binary ``COPY`` (psycopg's copy support), one
  stream per table, with the contacts' IDs drawn from their sequence first; on SQLite
  as multi-row ``INSERT … VALUES`` statements (``bulk_rows.insert_bound``). Either way
  it is the caller's transaction.

Values are bound through the columns' own SQLAlchemy types, as an insert would bind them,
so a moment or a flag is stored the same whichever path wrote it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.bulk_rows import insert_bound, value_binder
from journey.engine.change_effects import mark_sync_pending, reevaluate_segments
from journey.engine.contact import ContactView
from journey.engine.contacts import ROW_KEYS, ContactContext, _list_ids
from journey.engine.field_values import coerce
from journey.engine.salesforce_lists import derive_lists, unsynced
from journey.engine.sql_batches import in_batches
from journey.engine.store import Company, Contact, Event, FieldValue, Membership
from journey.engine.wakeups import announce_work
from journey.vocabulary import RECORD_TYPES, list_for

__all__ = ["Checked", "write_new_contacts"]

_SALESFORCE_LISTS = frozenset(list_for(kind).casefold() for kind in RECORD_TYPES)

Coerced = tuple[str, float | None, date | None, bool | None]

_CONTACT_COLUMNS = (
    "created_at",
    "updated_at",
    "email",
    "email_key",
    "first_name",
    "last_name",
    "company",
    "company_id",
    "salesforce_id",
    "salesforce_type",
    "owner_id",
    "owner_name",
    "owner_email",
)
#: The columns before the Salesforce record's and the owner's (``_new_ids``).
_UNLINKED_COLUMNS = 8
_VALUE_COLUMNS = ("contact_id", "name_key", "name", "type", "text", "number", "date_value", "flag")
_EVENT_COLUMNS = ("kind", "contact_id", "name", "value", "at", "processed")


class Checked:
    """Field values checked against their type (``field_values.coerce``), remembered by
    (field, value) until ``forget``: a file repeats its dates, scores and flags, and a
    value checked while its row was read is written from the same result."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str], dict[str, Coerced]] = {}

    def checker(self, display: str, kind: str) -> Callable[[str], Coerced]:
        """The check of one field's values (raises ``FieldValueError``)."""
        memo = self._memo.setdefault((display, kind), {})

        def check(value: str) -> Coerced:
            found = memo.get(value)
            if found is None:
                found = memo[value] = coerce(display, value, kind)
            return found

        return check

    def coerced(self, display: str, value: str, kind: str) -> Coerced:
        memo = self._memo.get((display, kind))
        found = memo.get(value) if memo is not None else None
        return found if found is not None else coerce(display, value, kind)

    def forget(self) -> None:
        """Drop what the batch remembered (memory stays flat in the file's size)."""
        for memo in self._memo.values():
            memo.clear()


def write_new_contacts(
    conn: Connection,
    views: Sequence[ContactView],
    ctx: ContactContext,
    checked: Checked | None = None,
) -> int:
    """Store ``views`` as new contacts (module docstring); each view is given its ID, in
    order. ``checked``: the values already checked while the rows were read. Returns how
    many were written."""
    if not views:
        return 0
    checked = checked or Checked()
    off = unsynced(conn) if any(v.salesforce_id for v in views) else frozenset()
    for view in views:
        # An unlinked contact is in no Salesforce list: only one that is needs putting right.
        if view.salesforce_id or not _SALESFORCE_LISTS.isdisjoint(view.lists):
            derive_lists(view, off)
    ids = _new_ids(conn, views, ctx)
    for view, new_id in zip(views, ids, strict=True):
        view.id = new_id
    fv, m, ev = FieldValue, Membership, Event
    day_of, flag_of = value_binder(conn, fv.c.date_value), value_binder(conn, fv.c.flag)
    fields: list[tuple[Any, ...]] = []
    adds: list[tuple[int, str]] = []
    # The usual file (``--list``, no Salesforce records): every new contact joins the one
    # list, and its memberships and their events are one statement each (``_joined``).
    one_list = _the_one_list(views)
    # (name, value) -> the field value row's columns after its contact's and key: a batch
    # repeats its values, and each is checked, typed and bound once.
    tails: dict[tuple[str, str], tuple[Any, ...]] = {}
    for view in views:
        cid = view.id
        for key, entry in view.fields.items():
            if key in ROW_KEYS or not entry[1]:
                continue
            tail = tails.get(entry)
            if tail is None:
                display = ctx.display(entry[0])
                kind = ctx.type_of(display)
                text, number, day, flag = checked.coerced(display, entry[1], kind)
                tail = tails[entry] = (display, kind, text, number, day_of(day), flag_of(flag))
            fields.append((cid, key, *tail))
        if one_list is None:
            for name in view.lists.values():
                adds.append((cid, name))
    insert_bound(conn, fv, _VALUE_COLUMNS, fields)
    at = value_binder(conn, ev.c.at)(ctx.now)
    unprocessed = value_binder(conn, ev.c.processed)(False)
    events: list[tuple[Any, ...]] = []
    announce = False
    if one_list is not None:
        announce = _joined(conn, views, one_list, ctx)
    elif adds:
        list_ids = _list_ids(conn, [name for _, name in adds])
        added = value_binder(conn, m.c.added_at)(ctx.now)
        memberships = [(list_ids[name.casefold()], cid, added) for cid, name in adds]
        insert_bound(conn, m, ("list_id", "contact_id", "added_at"), memberships)
        events = [("added_to_list", cid, name, None, at, unprocessed) for cid, name in adds]
    if ctx.evaluator.segment_names:
        entered = reevaluate_segments(conn, views, ctx.evaluator, ctx.now)
        events += [
            (e["kind"], e["contact_id"], e["name"], e["value"], at, unprocessed) for e in entered
        ]
    if ctx.listens is not None:
        listens = ctx.listens
        events = [e for e in events if listens(e[0], e[2])]
    if events:
        insert_bound(conn, ev, _EVENT_COLUMNS, events)
    if events or announce:
        announce_work(conn)
    linked = [v.id for v in views if v.salesforce_id]
    if linked:
        mark_sync_pending(conn, linked, ctx.now)
    return len(views)


def _the_one_list(views: Sequence[ContactView]) -> str | None:
    """The list every one of ``views`` is in, when each is in exactly that one."""
    first = views[0].lists
    if len(first) != 1:
        return None
    ((key, name),) = first.items()
    for view in views:
        lists = view.lists
        if len(lists) != 1 or key not in lists:
            return None
    return name


def _joined(conn: Connection, views: Sequence[ContactView], name: str, ctx: ContactContext) -> bool:
    """Every one of ``views`` (stored, numbered in order) put in the list ``name``, and its
    ``added_to_list`` event written (unless no journey listens), each table in one
    statement that takes the contacts' IDs from the store (SQLite: the range they were
    numbered in) or from one array (PostgreSQL), instead of a row per contact sent from
    here; the rows are the ones ``write_new_contacts`` would send, in the same order.
    Whether an event was written."""
    m, ev = Membership, Event
    list_id = _list_ids(conn, [name])[name.casefold()]
    added = value_binder(conn, m.c.added_at)(ctx.now)
    at = value_binder(conn, ev.c.at)(ctx.now)
    unprocessed = value_binder(conn, ev.c.processed)(False)
    ids = [v.id for v in views]
    if conn.dialect.name == "postgresql":
        # In binary (``%b``): psycopg writes an array of ints in its binary form at a
        # third of the CPU of the text it would otherwise print, and the server reads it
        # without parsing.
        source = "unnest(%(ids)b::integer[]) WITH ORDINALITY AS new(id, n) ORDER BY n"
        params: dict[str, Any] = {"ids": ids}
        mark = "%({})s".format
    else:
        # ``_new_ids``: SQLite numbered them consecutively, in order.
        source = "contacts AS new WHERE new.id BETWEEN :lo AND :hi ORDER BY new.id"
        params = {"lo": ids[0], "hi": ids[-1]}
        mark = ":{}".format
    conn.exec_driver_sql(
        f"INSERT INTO {m.name} (list_id, contact_id, added_at) "
        f"SELECT {mark('list')}, new.id, {mark('added')} FROM {source}",
        {**params, "list": list_id, "added": added},
    )
    if ctx.listens is not None and not ctx.listens("added_to_list", name):
        return False
    conn.exec_driver_sql(
        f"INSERT INTO {ev.name} ({', '.join(_EVENT_COLUMNS)}) "
        f"SELECT 'added_to_list', new.id, {mark('name')}, NULL, {mark('at')}, "
        f"{mark('unprocessed')} FROM {source}",
        {**params, "name": name, "at": at, "unprocessed": unprocessed},
    )
    return True


def _new_ids(conn: Connection, views: Sequence[ContactView], ctx: ContactContext) -> list[int]:
    c = Contact
    companies = _companies(conn, [e[1] for v in views if (e := v.fields.get("company"))])
    now = value_binder(conn, c.c.created_at)(ctx.now)
    # A file without Salesforce IDs or owners leaves those columns empty in every row: the
    # rows then leave them out (NULL, as an insert without them stores) and bind a third
    # fewer values.
    linked = any(
        v.salesforce_id or v.salesforce_type or v.owner_id or v.owner_name or v.owner_email
        for v in views
    )
    names = _CONTACT_COLUMNS if linked else _CONTACT_COLUMNS[:_UNLINKED_COLUMNS]
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for view in views:
        fields = view.fields
        first = fields.get("first name")
        last = fields.get("last name")
        company = fields.get("company")
        email = view.email
        row: tuple[Any, ...] = (
            now,
            now,
            email,
            email.casefold() if email else None,
            first[1] if first else None,
            last[1] if last else None,
            company[1] if company else None,
            companies[company[1].casefold()] if company else None,
        )
        if linked:
            row += (
                view.salesforce_id,
                view.salesforce_type,
                view.owner_id,
                view.owner_name,
                view.owner_email,
            )
        append(row)
    if conn.dialect.name == "postgresql":
        ids = _drawn_ids(conn, len(rows))
        with_ids = [(i, *row) for i, row in zip(ids, rows, strict=True)]
        insert_bound(conn, c, ("id", *names), with_ids)
        return ids
    # SQLite numbers a row one past the largest ID, and from its first row on the insert
    # holds the database's write lock: the rows take consecutive IDs, in order, ending at
    # the largest after it. (RETURNING in parameter order would send one row at a time.)
    insert_bound(conn, c, names, rows)
    last_id = int(conn.execute(sa.select(sa.func.max(c.c.id))).scalar_one())
    return list(range(last_id - len(rows) + 1, last_id + 1))


def _drawn_ids(conn: Connection, count: int) -> list[int]:
    """``count`` new contact IDs from the contacts' sequence (PostgreSQL), in the order
    drawn: one ``nextval`` each, as concurrent writers draw theirs, so no ID is ever
    handed out twice. The sequence is named once, as a ``regclass`` constant: a name
    looked up at each call (``nextval(pg_get_serial_sequence(...))``) costs the server
    several times the draw itself; and the IDs come back as one array, not a row each."""
    sequence = conn.exec_driver_sql(
        "SELECT pg_get_serial_sequence(%(table)s, 'id')", {"table": Contact.name}
    ).scalar_one()
    drawn = conn.exec_driver_sql(
        "SELECT array_agg(nextval(%(sequence)s::regclass)) FROM generate_series(1, %(count)s)",
        {"sequence": sequence, "count": count},
    ).scalar_one()
    return sorted(int(i) for i in drawn)


def _companies(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Every company these contacts name (name key -> ID): the stored ones read, the others
    created in one statement, each under the name it is first written with (as
    ``contacts._company_id`` would, one at a time)."""
    co = Company
    first: dict[str, str] = {}
    for name in names:
        if name:
            first.setdefault(name.casefold(), name)
    found: dict[str, int] = {}
    for chunk in in_batches(sorted(first)):
        query = sa.select(co.c.id, co.c.name_key).where(co.c.name_key.in_(chunk))
        found.update({r.name_key: int(r.id) for r in conn.execute(query)})
    missing = [{"name": name, "name_key": key} for key, name in first.items() if key not in found]
    if missing:
        made = conn.execute(
            sa.insert(co).returning(co.c.id, co.c.name_key, sort_by_parameter_order=True),
            missing,
        )
        found.update({r.name_key: int(r.id) for r in made})
    return found
