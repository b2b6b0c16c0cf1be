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
* on PostgreSQL the rows go through ``COPY`` (psycopg's copy support), one stream per
  table, with the contacts' IDs drawn from their sequence first; on SQLite through one
  ``executemany`` per table. Either way it is the caller's transaction.

Values are bound through the columns' own SQLAlchemy types, as an insert would bind them,
so a moment or a flag is stored the same whichever path wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.change_effects import event_row, mark_sync_pending, reevaluate_segments
from journey.engine.contact import OWNER_FIELD, ContactView
from journey.engine.contacts import ContactContext, _list_ids
from journey.engine.field_values import CORE_COLUMNS, coerce
from journey.engine.salesforce_lists import derive_lists, unsynced
from journey.engine.sql_batches import in_batches
from journey.engine.store import Company, Contact, Event, FieldValue, Membership, table

__all__ = ["write_new_contacts"]

_NOT_FIELD_VALUES = {*CORE_COLUMNS, "email", OWNER_FIELD.casefold()}


def write_new_contacts(conn: Connection, views: Sequence[ContactView], ctx: ContactContext) -> int:
    """Store ``views`` as new contacts (module docstring); each view is given its ID, in
    order. Returns how many were written."""
    if not views:
        return 0
    off = unsynced(conn) if any(v.salesforce_id for v in views) else frozenset()
    for view in views:
        derive_lists(view, off)
    ids = _new_ids(conn, views, ctx)
    for view, new_id in zip(views, ids, strict=True):
        view.id = new_id
    fields: list[dict[str, Any]] = []
    adds: list[tuple[int, str]] = []
    events: list[dict[str, Any]] = []
    for view in views:
        for key, (name, value) in view.keyed().items():
            if key in _NOT_FIELD_VALUES or not value:
                continue
            display = ctx.display(name)
            kind = ctx.type_of(display)
            text, number, day, flag = coerce(display, value, kind)
            fields.append(
                {
                    "contact_id": view.id,
                    "name_key": key,
                    "name": display,
                    "type": kind,
                    "text": text,
                    "number": number,
                    "date_value": day,
                    "flag": flag,
                }
            )
        for name in view.lists.values():
            adds.append((view.id, name))
            events.append(event_row("added_to_list", view.id, name, None, ctx.now))
    _insert(conn, table(FieldValue), fields)
    if adds:
        list_ids = _list_ids(conn, [name for _, name in adds])
        memberships = [
            {"list_id": list_ids[name.casefold()], "contact_id": cid, "added_at": ctx.now}
            for cid, name in adds
        ]
        _insert(conn, table(Membership), memberships)
    if ctx.evaluator.segment_names:
        events.extend(reevaluate_segments(conn, views, ctx.evaluator, ctx.now))
    if ctx.listens is not None:
        events = [e for e in events if ctx.listens(e["kind"], e["name"])]
    _insert(conn, table(Event), events)
    linked = [v.id for v in views if v.salesforce_id]
    if linked:
        mark_sync_pending(conn, linked, ctx.now)
    return len(views)


def _new_ids(conn: Connection, views: Sequence[ContactView], ctx: ContactContext) -> list[int]:
    c = table(Contact)
    companies = _companies(conn, [v.get("Company") for v in views])
    rows = []
    for view in views:
        company = view.get("Company")
        rows.append(
            {
                "created_at": ctx.now,
                "updated_at": ctx.now,
                "email": view.email,
                "email_key": view.email.casefold() if view.email else None,
                "first_name": view.get("First Name") or None,
                "last_name": view.get("Last Name") or None,
                "company": company or None,
                "company_id": companies[company.casefold()] if company else None,
                "salesforce_id": view.salesforce_id,
                "salesforce_type": view.salesforce_type,
                "owner_id": view.owner_id,
                "owner_name": view.owner_name,
                "owner_email": view.owner_email,
            }
        )
    if conn.dialect.name == "postgresql":
        sequence = sa.func.pg_get_serial_sequence(c.name, "id")
        drawn = conn.execute(
            sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, len(rows)))
        ).scalars()
        ids = sorted(int(i) for i in drawn)
        _insert(conn, c, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
        return ids
    # SQLite numbers a row one past the largest ID, and from its first row on the insert
    # holds the database's write lock: the rows take consecutive IDs, in order, ending at
    # the largest after it. (RETURNING in parameter order would send one row at a time.)
    conn.execute(sa.insert(c), rows)
    last = int(conn.execute(sa.select(sa.func.max(c.c.id))).scalar_one())
    return list(range(last - len(rows) + 1, last + 1))


def _companies(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Every company these contacts name (name key -> ID): the stored ones read, the others
    created in one statement, each under the name it is first written with (as
    ``contacts._company_id`` would, one at a time)."""
    co = table(Company)
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


def _insert(conn: Connection, into: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(sa.insert(into), list(rows))
        return
    names = list(rows[0])
    binds = [into.c[name].type.bind_processor(conn.dialect) for name in names]
    columns = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
    raw = conn.connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {into.name} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(
                [
                    bind(row[name]) if bind is not None else row[name]
                    for name, bind in zip(names, binds, strict=True)
                ]
            )
