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

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.contact import ContactView
from journey.engine.contact_loading import load_views, matching
from journey.engine.field_values import FieldValueError
from journey.engine.store import Contact, table

__all__ = ["Known", "load_known", "target"]


@dataclass
class Known:
    """What the store holds for a batch's IDs and emails, and the batch's new contacts."""

    views: dict[int, ContactView]
    by_record: dict[str, int]  # first 15 characters of a Salesforce ID -> contact
    by_email: dict[str, int]  # email key -> the oldest contact with it
    unlinked: dict[str, int]  # email key -> the oldest contact with it and no record
    fresh: list[ContactView] = field(default_factory=list)
    #: email key -> the new contacts that have had that email, in the order they were made
    #: (a contact made from an ID alone gains its email later).
    fresh_by_email: dict[str, list[ContactView]] = field(default_factory=dict)

    def first_fresh(self, email: str, *, unlinked: bool = False) -> ContactView | None:
        """The first new contact (in the order made) with this email (and no record)."""
        if not email:
            return None
        for view in self.fresh_by_email.get(email, ()):
            if _same(view, email) and not (unlinked and view.salesforce_id is not None):
                return view
        return None

    def noted(self, view: ContactView) -> None:
        """Index a new contact under its email, once it has one (after a merge)."""
        if view.id < 0 and view.email:
            seen = self.fresh_by_email.setdefault(view.email.casefold(), [])
            if not seen:
                seen.append(view)
            elif not any(v is view for v in seen):
                seen.append(view)
                seen.sort(key=lambda v: -v.id)  # placeholders count down in the order made


def load_known(conn: Connection, rows: list[dict[str, str]]) -> Known:
    """The stored contacts the rows' IDs and emails name, loaded as views."""
    c = table(Contact)
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


def target(known: Known, values: Mapping[str, str]) -> ContactView:
    """The contact a row is (module docstring); raises ``FieldValueError`` to refuse it."""
    email = values.get("Email", "").casefold()
    record = values.get("\0id")
    if record:
        cid = known.by_record.get(record[:15])
        if cid is not None:
            view = known.views[cid]
            if email and view.email and view.email.casefold() != email:
                raise FieldValueError(
                    f"Salesforce ID {record} is already the contact {view.email}, not "
                    f"{values['Email']}: one record is one person (an email of a linked "
                    "record is changed in Salesforce, and the sync brings it)"
                )
            return view
        cid = known.unlinked.get(email) if email else None
        if cid is not None and known.views[cid].salesforce_id is None:
            return known.views[cid]
        view = known.first_fresh(email, unlinked=True) or _new(known)
        known.by_record[record[:15]] = view.id
        return view
    cid = known.by_email.get(email)
    if cid is not None:
        return known.views[cid]
    return known.first_fresh(email) or _new(known)


def _same(view: ContactView, email: str) -> bool:
    return bool(email) and (view.email or "").casefold() == email


def _new(known: Known) -> ContactView:
    view = ContactView(id=-len(known.fresh) - 1)  # a placeholder until the store numbers it
    known.fresh.append(view)
    known.views[view.id] = view
    return view
