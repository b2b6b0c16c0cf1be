"""Which contact an imported row is: the stored contacts a batch names, and the matching rules.

Pipeline position: ``engine.csv_import`` -> **import_targets** -> the ``ContactView``s a
batch's rows merge into. The rules are the sync's (docs/import.md, "Which contact a row
is") and the same as ``engine.intake``'s for the forms and the row-by-row reference, which
``tests/engine/test_import_bulk.py`` holds this to: a row with a Salesforce ID is the
contact linked to that record, else the oldest unlinked contact with its email (which
becomes linked), else a new contact; a row without one is the oldest contact with its
email, else new; rows of one batch count as they go. A row whose ID is already the
contact of another email is refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.contact_loading import load_views, matching
from journey.engine.intake_rows import Known, target
from journey.engine.store import Contact

__all__ = ["Known", "load_known", "target"]


def load_known(conn: Connection, rows: list[dict[str, str]]) -> Known:
    """The stored contacts the rows' IDs and emails name, loaded as views."""
    c = Contact
    emails = sorted({v["Email"].casefold() for v in rows if v.get("Email")})
    records = sorted({v["\0id"] for v in rows if v.get("\0id")})
    by_record: dict[str, int] = {}
    by_email: dict[str, int] = {}
    unlinked: dict[str, int] = {}
    # Rows in ID order (and, where a database takes the values in chunks, a chunk's IDs or
    # emails are not another's): the first row seen for a key is its oldest contact.
    wanted = [w for r in records for w in (r, r[:15])]
    for of_ids in matching(conn, c.c.salesforce_id, wanted):
        by_id = sa.select(c.c.id, c.c.salesforce_id).where(of_ids)
        for r in conn.execute(by_id.order_by(c.c.id)):
            by_record.setdefault(str(r.salesforce_id)[:15], int(r.id))
    for of_emails in matching(conn, c.c.email_key, emails):
        with_email = sa.select(c.c.id, c.c.email_key, c.c.salesforce_id).where(of_emails)
        for e in conn.execute(with_email.order_by(c.c.id)):
            by_email.setdefault(e.email_key, int(e.id))
            if e.salesforce_id is None:
                unlinked.setdefault(e.email_key, int(e.id))
    ids = {*by_record.values(), *by_email.values(), *unlinked.values()}
    return Known(load_views(conn, ids), by_record, by_email, unlinked)
