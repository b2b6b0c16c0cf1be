"""Identity: which contact a Salesforce record is, and which emails two records share.

Pipeline position: ``inbound.take_people`` -> **identity** -> store (contacts). A record
is keyed by its Salesforce ID; a record first seen merges into the contact with that ID (one
the actions connector created), else into a contact from another source with the same
email, else becomes a new contact. Two Salesforce records with one email stay two contacts
(``possible_duplicates`` reports them: merging is Salesforce's business, never the sync's).
IDs are compared on their first 15 characters, so a 15- and an 18-character ID match.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.connectors.sync import Record
from journey.engine.store import Contact

__all__ = ["id_text", "match_contacts", "possible_duplicates"]


def id_text(value: Any) -> str:
    """A Salesforce ID field's value as text (``""`` when empty)."""
    return str(value or "")


def match_contacts(conn: Connection, records: Sequence[Record]) -> dict[str, int]:
    """Record ID -> an existing contact: the one holding that Salesforce ID, else one from
    another source (no Salesforce ID) with the same email."""
    c = Contact
    ids = [str(r["Id"]) for r in records]
    out: dict[str, int] = {}
    by_short = {i[:15]: i for i in ids}
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        wanted = chunk + [i[:15] for i in chunk]
        for row in conn.execute(
            sa.select(c.c.id, c.c.salesforce_id).where(c.c.salesforce_id.in_(wanted))
        ):
            full = by_short.get(str(row.salesforce_id)[:15])
            if full is not None:
                out.setdefault(full, int(row.id))
    emails = {
        str(r["Email"]).strip().casefold(): str(r["Id"])
        for r in records
        if r.get("Email") and str(r["Id"]) not in out
    }
    keys = list(emails)
    claimed: set[int] = set()
    for start in range(0, len(keys), 400):
        for row in conn.execute(
            sa.select(c.c.id, c.c.email_key)
            .where(c.c.email_key.in_(keys[start : start + 400]), c.c.salesforce_id.is_(None))
            .order_by(c.c.id)
        ):
            if row.email_key in emails and int(row.id) not in claimed:
                record_id = emails.pop(row.email_key)
                out[record_id] = int(row.id)
                claimed.add(int(row.id))
    return out


def possible_duplicates(conn: Connection) -> list[dict[str, Any]]:
    """Emails held by more than one Salesforce record: two contacts in the store, to be
    merged in Salesforce (the sync never merges two Salesforce records)."""
    c = Contact
    rows = conn.execute(
        sa.select(c.c.email_key, sa.func.count().label("n"))
        .where(c.c.salesforce_id.is_not(None), c.c.email_key.is_not(None))
        .group_by(c.c.email_key)
        .having(sa.func.count() > 1)
        .order_by(c.c.email_key)
    ).all()
    out = []
    for row in rows:
        records = conn.execute(
            sa.select(c.c.id, c.c.salesforce_id, c.c.salesforce_type)
            .where(c.c.email_key == row.email_key, c.c.salesforce_id.is_not(None))
            .order_by(c.c.id)
        ).all()
        out.append(
            {
                "email": row.email_key,
                "records": [
                    {"contact": r.id, "salesforce_id": r.salesforce_id, "type": r.salesforce_type}
                    for r in records
                ],
            }
        )
    return out
