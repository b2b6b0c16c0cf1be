"""Contacts in: CSV import, form submissions and campaign statuses become contacts and events.

Pipeline position: files / CLI events / the sync -> **intake** -> store (contacts + the
events inbox) -> triggers. Contacts that do not come from Salesforce are de-duplicated on
email (case-insensitive) and merged: a later value wins, an empty cell never erases one.
A row with a Salesforce ID is matched on that ID instead.

A CSV's header row names the fields (any case; "Salesforce ID" and "Salesforce Type" are
the record's identity). A bad row — no email and no Salesforce ID, a value that does not
fit its declared type — is reported by its line number and the rest still import.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.contact import ContactView
from journey.engine.contacts import (
    ContactContext,
    FieldValueError,
    coerce,
    load_views,
    new_contacts,
    snapshot,
    wake_runs,
    write_contacts,
)
from journey.engine.sql_batches import in_batches
from journey.engine.store import CampaignStatus, Contact, Event, Store, table

__all__ = [
    "ImportReport",
    "IntakeError",
    "RowError",
    "import_csv",
    "import_rows",
    "read_csv",
    "record_campaign_status",
    "submit_form",
    "views_from_rows",
]

_ID_COLUMNS = {"salesforce id": "id", "salesforce type": "type"}
BATCH = 1000


class IntakeError(Exception):
    """Input that cannot be taken at all (unreadable file, no header); says which."""


@dataclass(frozen=True)
class RowError:
    row: int
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.errors)


def read_csv(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
    """(line number, {header: cell}) per data row; the header is line 1."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise IntakeError(f"{path}: cannot read: {exc.strerror}") from None
    with handle:
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header or not any(h.strip() for h in header):
                raise IntakeError(f"{path}: no header row (the first row names the fields)")
            names = [h.strip() for h in header]
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                line = reader.line_num
                if len(row) > len(names):
                    yield line, {"\0error": f"{len(row)} cells but the header has {len(names)}"}
                    continue
                yield line, {n: cell for n, cell in zip(names, row, strict=False) if n}
        except UnicodeDecodeError:
            raise IntakeError(f"{path}: not UTF-8 text") from None
        except csv.Error as exc:
            raise IntakeError(f"{path}: line {reader.line_num}: {exc}") from None


def import_csv(
    store: Store, path: Path, ctx: ContactContext, list_name: str | None = None
) -> ImportReport:
    return import_rows(store, read_csv(path), ctx, list_name)


def import_rows(
    store: Store,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    ctx: ContactContext,
    list_name: str | None = None,
) -> ImportReport:
    """Import rows in batches, one transaction per batch."""
    report = ImportReport()
    batch: list[tuple[int, Mapping[str, str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= BATCH:
            _import_batch(store, batch, ctx, list_name, report)
            batch = []
    if batch:
        _import_batch(store, batch, ctx, list_name, report)
    return report


def _clean(line: int, raw: Mapping[str, str], ctx: ContactContext) -> dict[str, str]:
    if "\0error" in raw:
        raise FieldValueError(raw["\0error"])
    values: dict[str, str] = {}
    for name, cell in raw.items():
        value = (cell or "").strip()
        if not value:
            continue
        key = name.strip().casefold()
        if key in _ID_COLUMNS:
            values["\0" + _ID_COLUMNS[key]] = value
            continue
        display = ctx.display(name)
        coerce(display, value, ctx.type_of(display))  # raises FieldValueError
        values[display] = value
    sf_type = values.get("\0type")
    if sf_type is not None and sf_type.casefold() not in ("lead", "contact"):
        raise FieldValueError(f'"Salesforce Type" must be Lead or Contact, not "{sf_type}"')
    if not values.get("Email") and not values.get("\0id"):
        raise FieldValueError("no Email (or Salesforce ID) to identify the contact")
    return values


def _import_batch(
    store: Store,
    batch: list[tuple[int, Mapping[str, str]]],
    ctx: ContactContext,
    list_name: str | None,
    report: ImportReport,
) -> None:
    cleaned: list[tuple[int, dict[str, str]]] = []
    for line, raw in batch:
        try:
            cleaned.append((line, _clean(line, raw, ctx)))
        except FieldValueError as exc:
            report.errors.append(RowError(line, str(exc)))
    with store.begin() as conn:
        targets = _match(conn, [values for _, values in cleaned])
        views = load_views(conn, {cid for cid in targets if cid is not None})
        befores = {cid: snapshot(v) for cid, v in views.items()}
        fresh: dict[str, ContactView] = {}
        touched: dict[int, ContactView] = {}
        pending_new: list[tuple[str, dict[str, str]]] = []
        for (_line, values), cid in zip(cleaned, targets, strict=True):
            if cid is not None:
                _merge(views[cid], values, list_name)
                touched[cid] = views[cid]
            else:
                key = _identity(values)
                if key not in fresh:
                    fresh[key] = ContactView(id=0)
                    pending_new.append((key, values))
                _merge(fresh[key], values, list_name)
        ids = new_contacts(conn, len(fresh), ctx.now)
        for (key, _), new_id in zip(pending_new, ids, strict=True):
            fresh[key].id = new_id
        pairs: list[tuple[ContactView | None, ContactView]] = [(None, v) for v in fresh.values()]
        pairs += [(befores[cid], view) for cid, view in touched.items()]
        changed_existing = write_contacts(conn, pairs[len(fresh) :], ctx)
        if fresh:
            write_contacts(conn, pairs[: len(fresh)], ctx)
    report.created += len(fresh)
    report.updated += changed_existing
    report.unchanged += len(cleaned) - len(fresh) - changed_existing


def _identity(values: Mapping[str, str]) -> str:
    if values.get("\0id"):
        return "sf:" + values["\0id"]
    return "email:" + values["Email"].casefold()


def _match(conn: Connection, rows: list[dict[str, str]]) -> list[int | None]:
    """The existing contact for each row: by Salesforce ID, else by email."""
    c = table(Contact)
    emails = {v["Email"].casefold() for v in rows if v.get("Email") and not v.get("\0id")}
    sf_ids = {v["\0id"] for v in rows if v.get("\0id")}
    by_email: dict[str, int] = {}
    by_sf: dict[str, int] = {}
    if emails:
        for chunk in in_batches(sorted(emails)):
            for r in conn.execute(
                sa.select(c.c.id, c.c.email_key).where(c.c.email_key.in_(chunk)).order_by(c.c.id)
            ):
                by_email.setdefault(r.email_key, int(r.id))
    if sf_ids:
        for chunk in in_batches(sorted(sf_ids)):
            for r in conn.execute(
                sa.select(c.c.id, c.c.salesforce_id).where(c.c.salesforce_id.in_(chunk))
            ):
                by_sf[r.salesforce_id] = int(r.id)
    out: list[int | None] = []
    for values in rows:
        if values.get("\0id"):
            out.append(by_sf.get(values["\0id"]))
        else:
            out.append(by_email.get(values["Email"].casefold()))
    return out


def _merge(view: ContactView, values: Mapping[str, str], list_name: str | None) -> None:
    for name, value in values.items():
        if name == "\0id":
            view.salesforce_id = value
        elif name == "\0type":
            view.salesforce_type = "Contact" if value.casefold() == "contact" else "Lead"
        else:
            view.set(name, value)
    if view.salesforce_id and view.salesforce_type is None:
        view.salesforce_type = "Contact" if view.salesforce_id.startswith("003") else "Lead"
    if list_name:
        view.lists.setdefault(list_name.casefold(), list_name)


def submit_form(
    store: Store, ctx: ContactContext, form: str, email: str, fields: Mapping[str, str]
) -> tuple[int, bool]:
    """A form submission: the contact (created or merged by email) and a
    ``form_submitted`` event. Returns (contact id, created)."""
    values = {"Email": email, **{k: v for k, v in fields.items() if k.casefold() != "email"}}
    cleaned = _clean(0, values, ctx)
    with store.begin() as conn:
        cid = _match(conn, [cleaned])[0]
        created = cid is None
        if cid is None:
            cid = new_contacts(conn, 1, ctx.now)[0]
            view = ContactView(id=cid)
            _merge(view, cleaned, None)
            write_contacts(conn, [(None, view)], ctx)
        else:
            view = load_views(conn, [cid])[cid]
            before = snapshot(view)
            _merge(view, cleaned, None)
            write_contacts(conn, [(before, view)], ctx)
        conn.execute(
            sa.insert(table(Event)).values(
                kind="form_submitted",
                contact_id=cid,
                name=form,
                value=None,
                at=ctx.now,
                processed=False,
            )
        )
    return cid, created


def record_campaign_status(
    store: Store, ctx: ContactContext, contact_id: int, campaign: str, status: str
) -> bool:
    """A campaign member status (from the sync); a ``campaign_status_changed`` event when it
    changed. Returns whether it changed."""
    cs = table(CampaignStatus)
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
            sa.insert(table(Event)).values(
                kind="campaign_status_changed",
                contact_id=contact_id,
                name=campaign,
                value=status,
                at=ctx.now,
                processed=False,
            )
        )
        wake_runs(conn, [contact_id])
    return True


def views_from_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]], ctx: ContactContext
) -> tuple[list[ContactView], list[RowError]]:
    """Contacts in memory from CSV rows (for dry runs): validated and de-duplicated like an
    import, numbered from 1 in file order, nothing stored."""
    fresh: dict[str, ContactView] = {}
    errors: list[RowError] = []
    for line, raw in rows:
        try:
            values = _clean(line, raw, ctx)
        except FieldValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        key = _identity(values)
        if key not in fresh:
            fresh[key] = ContactView(id=len(fresh) + 1)
        _merge(fresh[key], values, None)
    return list(fresh.values()), errors
