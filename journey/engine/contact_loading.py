"""Contacts out of the store: ``ContactView``s for a batch of contacts, and look-up by email.

Pipeline position: store -> **contact_loading** -> ``ContactView`` for the executor, the
sync, the status views and the demo. A batch is read in four queries per 900 contacts
(contacts, field values, list memberships, campaign statuses) whatever its size, because
the runner and the sync load thousands of contacts per pass. On PostgreSQL a batch is one
query per table whatever its size: the IDs go as one array (``= ANY(...)``), which the
driver sends as one value rather than parsing 900 placeholders per statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from journey.engine.contact import ContactView, canonical_field
from journey.engine.field_values import CORE_COLUMNS
from journey.engine.sql_batches import IN_BATCH, in_batches
from journey.engine.store import CampaignStatus, Contact, ContactList, FieldValue, Membership, table

__all__ = ["contact_id_by_email", "load_views", "matching"]


def matching(
    conn: Connection, column: sa.ColumnElement[Any], values: Sequence[Any]
) -> Iterator[sa.ColumnElement[bool]]:
    """``column IN values`` as few conditions as the database takes: one ``= ANY(array)``
    on PostgreSQL, an ``IN`` per ``IN_BATCH`` values elsewhere."""
    if not values:
        return
    if conn.dialect.name == "postgresql":
        yield column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
        return
    for chunk in in_batches(values):
        yield column.in_(chunk)


def load_views(conn: Connection, contact_ids: Iterable[int]) -> dict[int, ContactView]:
    """The contacts as ``ContactView``s, in four queries whatever the batch size."""
    ids = sorted(set(contact_ids))
    views: dict[int, ContactView] = {}
    if not ids:
        return views
    c, fv = table(Contact), table(FieldValue)
    m, lst, cs = table(Membership), table(ContactList), table(CampaignStatus)
    for chunk in in_batches(ids, len(ids) if conn.dialect.name == "postgresql" else IN_BATCH):
        (of_chunk,) = matching(conn, c.c.id, chunk)
        for row in conn.execute(sa.select(c).where(of_chunk)):
            view = ContactView(
                id=row.id,
                email=row.email,
                salesforce_id=row.salesforce_id,
                salesforce_type=row.salesforce_type,
                owner_id=row.owner_id,
                owner_name=row.owner_name,
                owner_email=row.owner_email,
            )
            for key, column in CORE_COLUMNS.items():
                value = getattr(row, column)
                if value:
                    view.fields[key] = (canonical_field(key), value)
            views[row.id] = view
        for frow in conn.execute(
            sa.select(fv.c.contact_id, fv.c.name, fv.c.text).where(
                next(matching(conn, fv.c.contact_id, chunk))
            )
        ):
            views[frow.contact_id].fields[frow.name.casefold()] = (frow.name, frow.text)
        for mrow in conn.execute(
            sa.select(m.c.contact_id, lst.c.name)
            .join(lst, lst.c.id == m.c.list_id)
            .where(next(matching(conn, m.c.contact_id, chunk)))
        ):
            views[mrow.contact_id].lists[mrow.name.casefold()] = mrow.name
        for crow in conn.execute(
            sa.select(cs.c.contact_id, cs.c.campaign_key, cs.c.status).where(
                next(matching(conn, cs.c.contact_id, chunk))
            )
        ):
            views[crow.contact_id].campaigns[crow.campaign_key] = crow.status
    return views


def contact_id_by_email(conn: Connection, email: str) -> int | None:
    """The contact with this email (any case); the oldest when several share it."""
    c = table(Contact)
    row = conn.execute(
        sa.select(c.c.id).where(c.c.email_key == email.strip().casefold()).order_by(c.c.id)
    ).first()
    return None if row is None else int(row.id)
