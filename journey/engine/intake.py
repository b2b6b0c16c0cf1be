"""Contacts in: CSV import, form submissions and campaign statuses become contacts and events.

Pipeline position: files / CLI events / the sync -> **intake** -> store (contacts + the
events inbox) -> triggers. ``csv_rows`` reads a file row by row (encoding, quotes, size and
column count checked per row); here each row is validated and matched to its contact.

A CSV's header row names the fields (any case; "Salesforce ID" and "Salesforce Type" are
the record's identity). A bad row — no email and no Salesforce ID, a value that does not
fit its declared type, an ID that is not a Lead's or Contact's — is reported by its line
number and every other row still imports. A file is imported in one transaction: all its
good rows, or (a database failure, a crash) none, so importing it again is always safe.

Which contact a row is (the sync's rules, ``engine.sync.identity``, so that a file and the
sync never disagree; docs/import.md):

* A row with a Salesforce ID is the contact linked to that record (IDs compared in their
  18-character form); else the oldest contact with the row's email that is linked to no
  record, which becomes linked; else a new contact. A record is never linked to a second
  contact, and two records sharing an email stay two contacts (``journey status`` lists
  them as possible duplicates).
* A row without one is the oldest contact with its email (case-insensitive), else new.
* Refused, with the reason: a row whose ID names the contact of another email (the email
  of a linked record is Salesforce's to change, and one record cannot be two people).
Contacts are merged: a later value wins, an empty cell never erases one, and an email in
another letter case never rewrites a linked record's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.bulk_import import write_new_contacts
from journey.engine.contact import ContactView
from journey.engine.contacts import (
    ContactContext,
    FieldValueError,
    event_row,
    new_contacts,
    snapshot,
    wake_runs,
    write_contacts,
)
from journey.engine.csv_rows import IntakeError, read_csv
from journey.engine.import_targets import load_known

# INBOUND_ONLY and identified: re-exported for engine.csv_import.
from journey.engine.intake_rows import INBOUND_ONLY as INBOUND_ONLY
from journey.engine.intake_rows import RowError, target, views_from_rows
from journey.engine.intake_rows import clean_row as _clean
from journey.engine.intake_rows import identified as identified
from journey.engine.intake_rows import merge_row as _merge
from journey.engine.salesforce_lists import request_records
from journey.engine.store import CampaignStatus, Contact, Event, FieldValue, Membership, Store
from journey.engine.table_statistics import TableStatistics
from journey.engine.wakeups import announce_work
from journey.vocabulary import list_record_type

__all__ = [
    "FormSubmission",
    "ImportReport",
    "IntakeError",
    "RowError",
    "analyze_imported",
    "import_csv",
    "import_rows",
    "read_csv",
    "record_campaign_status",
    "submit_form",
    "submit_forms",
    "views_from_rows",
]

#: Rows matched and written together: large enough that each table is written in a few
#: statements per batch, small enough that memory stays flat however long the file.
BATCH = 10_000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    #: Contacts imported into "Salesforce Leads"/"Salesforce Contacts" without a record:
    #: the engine creates theirs (``engine.salesforce_lists.request_records``).
    requested: int = 0
    #: Columns whose values were set aside, and why (fields only Salesforce writes).
    ignored_columns: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.errors)


def import_csv(
    store: Store, path: Path, ctx: ContactContext, list_name: str | None = None
) -> ImportReport:
    return import_rows(store, read_csv(path), ctx, list_name)


def import_rows(
    store: Store,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    ctx: ContactContext,
    list_name: str | None = None,
    *,
    bulk: bool = True,
) -> ImportReport:
    """Import rows in batches, all in one transaction (module docstring). The contacts a
    batch creates are written a table at a time (``engine.bulk_import``); ``bulk=False``
    writes them as every other contact change is written (``contacts.write_contacts``),
    the reference the bulk path is tested against."""
    report = ImportReport()
    with store.begin() as conn:
        batch: list[tuple[int, Mapping[str, str]]] = []
        for item in rows:
            batch.append(item)
            if len(batch) >= BATCH:
                _import_batch(conn, batch, ctx, list_name, report, bulk)
                batch = []
        if batch:
            _import_batch(conn, batch, ctx, list_name, report, bulk)
    analyze_imported(store, report, list_name)
    report.errors.sort(key=lambda e: e.row)
    return report


def analyze_imported(store: Store, report: ImportReport, list_name: str | None) -> None:
    """An import's new rows counted toward their tables' statistics, once committed
    (``engine.table_statistics``): a first import of 100,000 contacts otherwise leaves
    PostgreSQL planning the runner's reads of them for the empty tables it last saw. At
    least a row per new contact in each (a list's membership and event only with one)."""
    statistics = TableStatistics(store)
    for table in (Contact, FieldValue, *((Membership, Event) if list_name else ())):
        statistics.grown(table, report.created)


def _import_batch(
    conn: Connection,
    batch: list[tuple[int, Mapping[str, str]]],
    ctx: ContactContext,
    list_name: str | None,
    report: ImportReport,
    bulk: bool,
) -> None:
    cleaned: list[tuple[int, dict[str, str]]] = []
    for line, raw in batch:
        try:
            cleaned.append((line, _clean(raw, ctx, report.ignored_columns)))
        except FieldValueError as exc:
            report.errors.append(RowError(line, str(exc)))
    known = load_known(conn, [values for _, values in cleaned])
    befores = {cid: snapshot(v) for cid, v in known.views.items()}
    touched: dict[int, ContactView] = {}
    taken = 0
    for line, values in cleaned:
        try:
            view = target(known, values)
        except FieldValueError as exc:
            report.errors.append(RowError(line, str(exc)))
            continue
        taken += 1
        _merge(view, values, list_name)
        known.noted(view)
        if view.id > 0:
            touched[view.id] = view
    if bulk:
        changed = write_contacts(conn, [(befores[cid], v) for cid, v in touched.items()], ctx)
        write_new_contacts(conn, known.fresh, ctx)
    else:
        ids = new_contacts(conn, len(known.fresh), ctx.now)
        for view, new_id in zip(known.fresh, ids, strict=True):
            view.id = new_id
        changed = write_contacts(conn, [(befores[cid], v) for cid, v in touched.items()], ctx)
        if known.fresh:
            write_contacts(conn, [(None, v) for v in known.fresh], ctx)
    settle_batch(conn, report, list_name, [*touched, *(v.id for v in known.fresh)], ctx.now)
    report.created += len(known.fresh)
    report.updated += changed
    report.unchanged += taken - len(known.fresh) - changed


def settle_batch(
    conn: Connection,
    report: ImportReport,
    list_name: str | None,
    contacts: list[int],
    now: datetime,
) -> None:
    """Adding someone to a Salesforce list adds them to Salesforce: a batch imported into
    one asks for its contacts' records, created through the engine like the journeys'
    `add to list` step."""
    kind = list_record_type(list_name) if list_name else None
    if kind is not None:
        report.requested += len(request_records(conn, contacts, kind, now))


@dataclass(frozen=True)
class FormSubmission:
    """One form post: the form's name, who sent it, the fields it carried."""

    form: str
    email: str
    fields: Mapping[str, str] = field(default_factory=dict)


def submit_form(
    store: Store, ctx: ContactContext, form: str, email: str, fields: Mapping[str, str]
) -> tuple[int, bool]:
    """A form submission: the contact (created or merged by email) and a
    ``form_submitted`` event. Returns (contact id, created)."""
    return submit_forms(store, ctx, [FormSubmission(form, email, fields)])[0]


def submit_forms(
    store: Store, ctx: ContactContext, submissions: Sequence[FormSubmission]
) -> list[tuple[int, bool]]:
    """Form submissions in one transaction, in order, as if submitted one by one (a later
    one merges into the contact an earlier one created), each with its ``form_submitted``
    event: a server taking many posts at once writes them together (``serve.form_writer``).
    Raises ``FieldValueError`` for a bad value before anything is written. Returns (contact
    id, created) for each."""
    cleaned = [
        _clean(
            {"Email": s.email, **{k: v for k, v in s.fields.items() if k.casefold() != "email"}},
            ctx,
        )
        for s in submissions
    ]
    with store.begin() as conn:
        known = load_known(conn, cleaned)
        befores = {cid: snapshot(v) for cid, v in known.views.items()}
        targets: list[ContactView] = []
        for values in cleaned:
            view = target(known, values)
            _merge(view, values, None)
            known.noted(view)
            targets.append(view)
        fresh = {id(v) for v in known.fresh}
        touched = {v.id: v for v in targets if id(v) not in fresh}
        for view, new_id in zip(
            known.fresh, new_contacts(conn, len(known.fresh), ctx.now), strict=True
        ):
            view.id = new_id
        pairs: list[tuple[ContactView | None, ContactView]] = [
            (befores[cid], v) for cid, v in touched.items()
        ]
        posted = [
            event_row("form_submitted", v.id, s.form, None, ctx.now)
            for s, v in zip(submissions, targets, strict=True)
        ]
        # The posts' events go with the contacts' own: one insert and one wake-up.
        write_contacts(conn, [*pairs, *((None, v) for v in known.fresh)], ctx, also_events=posted)
    out: list[tuple[int, bool]] = []
    seen: set[int] = set()
    for view in targets:
        out.append((view.id, id(view) in fresh and view.id not in seen))
        seen.add(view.id)
    return out


def record_campaign_status(
    store: Store, ctx: ContactContext, contact_id: int, campaign: str, status: str
) -> bool:
    """A campaign member status (from the sync); a ``campaign_status_changed`` event when it
    changed. Returns whether it changed."""
    cs = CampaignStatus
    key = campaign.casefold()
    with store.begin() as conn:
        old = conn.execute(
            sa.select(cs.c.status).where(cs.c.contact_id == contact_id, cs.c.campaign_key == key)
        ).scalar()
        if old is not None and old.casefold() == status.casefold():
            return False
        conn.execute(sa.delete(cs).where(cs.c.contact_id == contact_id, cs.c.campaign_key == key))
        conn.execute(
            sa.insert(cs).values(
                contact_id=contact_id, campaign_key=key, campaign=campaign, status=status
            )
        )
        conn.execute(
            sa.insert(Event).values(
                kind="campaign_status_changed",
                contact_id=contact_id,
                name=campaign,
                value=status,
                at=ctx.now,
                processed=False,
            )
        )
        wake_runs(conn, [contact_id])
        announce_work(conn)
    return True
