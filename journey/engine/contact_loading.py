"""Contacts out of the store: ``ContactView``s for a batch of contacts, and look-up by email.

Pipeline position: store -> **contact_loading** -> ``ContactView`` for the executor, the
sync, the status views and the demo. A batch is read in four queries (contacts, field
values, list memberships, campaign statuses) whatever its size, because the runner and
the sync load thousands of contacts per pass: the IDs go as one value — an array on
PostgreSQL (``= ANY(...)``), a JSON array on SQLite (``IN (SELECT value FROM
json_each(?))``, which SQLite answers from the column's index) — so a statement's text
never changes: it is compiled once and cached, where an ``IN`` of 900 placeholders is
rendered again at every execution. Each result is fetched whole, in one call to the
driver rather than one per row: a batch's field values are tens of thousands of rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.contact import ContactView, canonical_field
from journey.engine.field_values import CORE_COLUMNS
from journey.engine.sql_batches import IN_BATCH, in_batches
from journey.engine.store import CampaignStatus, Contact, ContactList, FieldValue, Membership

__all__ = ["contact_id_by_email", "load_views", "matching"]


def matching(
    conn: Connection, column: sa.ColumnElement[Any], values: Sequence[Any]
) -> Iterator[sa.ColumnElement[bool]]:
    """``column IN values`` as one condition of one parameter (module docstring): ``=
    ANY(array)`` on PostgreSQL, ``IN`` a JSON array's values on SQLite, an ``IN`` per
    ``IN_BATCH`` values elsewhere."""
    if not values:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        yield column == sa.any_(sa.bindparam(None, list(values), type_=sa.ARRAY(column.type)))
        return
    if dialect == "sqlite":
        each = sa.func.json_each(sa.bindparam(None, json.dumps(list(values)), type_=sa.String))
        yield column.in_(sa.select(each.table_valued("value").c.value))
        return
    for chunk in in_batches(values):
        yield column.in_(chunk)


#: Core field key -> (its column, its display name).
_CORE = {key: (column, canonical_field(key)) for key, column in CORE_COLUMNS.items()}


def load_views(conn: Connection, contact_ids: Iterable[int]) -> dict[int, ContactView]:
    """The contacts as ``ContactView``s, in four queries whatever the batch size."""
    ids = sorted(set(contact_ids))
    views: dict[int, ContactView] = {}
    if not ids:
        return views
    c, fv = Contact, FieldValue
    m, lst, cs = Membership, ContactList, CampaignStatus
    core = [(c.c[column], key, display) for key, (column, display) in _CORE.items()]
    person = [
        c.c.id,
        c.c.email,
        c.c.salesforce_id,
        c.c.salesforce_type,
        c.c.owner_id,
        c.c.owner_name,
        c.c.owner_email,
        *(column for column, _, _ in core),
    ]
    names = [(key, display) for _, key, display in core]
    one_query = conn.dialect.name in ("postgresql", "sqlite")
    for chunk in in_batches(ids, len(ids) if one_query else IN_BATCH):
        (of_chunk,) = matching(conn, c.c.id, chunk)
        for row in conn.execute(sa.select(*person).where(of_chunk)).all():
            cid = row[0]
            fields = {
                key: (display, value)
                for (key, display), value in zip(names, row[7:], strict=True)
                if value
            }
            views[cid] = ContactView(
                cid, row[1], fields, {}, row[2], row[3], row[4], row[5], row[6]
            )
        for cid, name, text in conn.execute(
            sa.select(fv.c.contact_id, fv.c.name, fv.c.text).where(
                next(matching(conn, fv.c.contact_id, chunk))
            )
        ).all():
            views[cid].fields[name.casefold()] = (name, text)
        for cid, name in conn.execute(
            sa.select(m.c.contact_id, lst.c.name)
            .join(lst, lst.c.id == m.c.list_id)
            .where(next(matching(conn, m.c.contact_id, chunk)))
        ).all():
            views[cid].lists[name.casefold()] = name
        for cid, key, status in conn.execute(
            sa.select(cs.c.contact_id, cs.c.campaign_key, cs.c.status).where(
                next(matching(conn, cs.c.contact_id, chunk))
            )
        ).all():
            views[cid].campaigns[key] = status
    return views


def contact_id_by_email(conn: Connection, email: str) -> int | None:
    """The contact with this email (any case); the oldest when several share it."""
    c = Contact
    row = conn.execute(
        sa.select(c.c.id).where(c.c.email_key == email.strip().casefold()).order_by(c.c.id)
    ).first()
    return None if row is None else int(row.id)
