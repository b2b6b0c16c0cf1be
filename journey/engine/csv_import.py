"""``journey contacts import``: a CSV file's rows matched, merged and stored, a batch at a time.

Pipeline position: a file -> ``csv_rows.read_records`` -> **csv_import** -> store (new
contacts through ``engine.bulk_import``, existing ones through
``contacts.write_contacts``). It takes exactly the decisions ``intake.import_rows`` takes
(the same rules for which contact a row is, the same merge, the same refusals, the same
report: docs/import.md), and ``tests/engine/test_import_bulk.py`` holds it to that row by
row reference. What differs is the cost of a row:

* the header is read once: which column is an ID, a type, a field set aside, and each
  field's display name, type and value check are decided per column, not per cell;
* a row is the csv module's list of cells, never a dict; a value check that passed is
  remembered for the batch (a file repeats its dates, scores and flags), and the checked
  value is what the new contacts' field values are written from;
* a row's values go into its contact without the generic field setter's name lookups.

Memory is flat in the file's size: rows are read, matched and written ``BATCH`` at a time.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from sqlalchemy.engine import Connection

from journey.engine.bulk_import import Checked, write_new_contacts
from journey.engine.contact import OWNER_FIELD, ContactView, canonical_field
from journey.engine.contacts import (
    ContactContext,
    FieldValueError,
    snapshot,
    write_contacts,
)
from journey.engine.csv_rows import Records, read_records
from journey.engine.import_targets import Known, load_known, target
from journey.engine.intake import (
    INBOUND_ONLY,
    ImportReport,
    RowError,
    analyze_imported,
    identified,
    settle_batch,
)
from journey.engine.store import Store

__all__ = ["BATCH", "import_file"]

#: Rows matched and written together: large enough that each table is written in a few
#: statements per batch, small enough that memory stays flat however long the file.
BATCH = 10_000

_ID, _TYPE, _ASIDE, _FIELD = range(4)
_ID_COLUMNS = {"salesforce id": _ID, "salesforce type": _TYPE}
_OWNER_KEY = OWNER_FIELD.casefold()


class _Column(NamedTuple):
    """One header column, as decided once per file (a tuple: a row unpacks each)."""

    place: int  # its cell in a row
    role: int
    display: str  # the name intake keys the row's values by (``ctx.display``)
    check: Callable[[str], object] | None  # raises FieldValueError for a bad value


def _columns(header: list[str], ctx: ContactContext, checked: Checked) -> list[_Column]:
    """The columns in the order a row's values are taken, as ``intake._clean`` takes a
    ``{header: cell}`` dict: a header named twice counts once, at its first place, with
    its last cell; a column without a name is no field."""
    places: dict[str, int] = {}
    for index, name in enumerate(header):
        if name.strip():
            places[name.strip()] = index
    columns: list[_Column] = []
    for name, index in places.items():
        role = _ID_COLUMNS.get(name.casefold())
        if role is not None:
            columns.append(_Column(index, role, name, None))
            continue
        display = ctx.display(name)
        if ctx.is_inbound_only(display):
            columns.append(_Column(index, _ASIDE, display, None))
            continue
        kind = ctx.type_of(display)
        check = None if kind == "Text" else checked.checker(display, kind)
        columns.append(_Column(index, _FIELD, display, check))
    return columns


def _values(cells: list[str], columns: list[_Column], ignored: dict[str, str]) -> dict[str, str]:
    """A row's values by display name (``\\0id``/``\\0type`` for its record), checked;
    raises ``FieldValueError`` to refuse it. The same values and refusals as
    ``intake._clean`` for the row's dict."""
    values: dict[str, str] = {}
    for index, role, display, check in columns:
        value = cells[index].strip()
        if not value:
            continue
        if role == _FIELD:
            if check is not None:
                check(value)
            values[display] = value
        elif role == _ID:
            values["\0id"] = value
        elif role == _TYPE:
            values["\0type"] = value
        else:
            # Salesforce's to write: the next sync would only overwrite it (docs/import.md).
            ignored[display] = INBOUND_ONLY
    return identified(values)


#: What a name in a row's values sets on its contact (``_Setter``).
_SET_FIELD, _SET_EMAIL, _SET_OWNER, _SET_RECORD, _SET_TYPE = range(5)


class _Setter:
    """``ContactView.set`` for the names a file's rows carry, each name's kind, key and
    spelling worked out once."""

    def __init__(self) -> None:
        self._names: dict[str, tuple[int, str, str]] = {}

    @staticmethod
    def _entry(name: str) -> tuple[int, str, str]:
        if name == "\0id":
            return _SET_RECORD, "", ""
        if name == "\0type":
            return _SET_TYPE, "", ""
        display = canonical_field(name)
        key = display.casefold()
        kind = _SET_EMAIL if key == "email" else _SET_OWNER if key == _OWNER_KEY else _SET_FIELD
        return kind, key, display

    def merge(self, view: ContactView, values: dict[str, str], list_name: str | None) -> None:
        """``intake._merge``: a later value wins; an email in another letter case never
        rewrites a linked record's."""
        names = self._names
        fields = view.fields
        for name, value in values.items():
            entry = names.get(name)
            if entry is None:
                entry = names[name] = self._entry(name)
            kind, key, display = entry
            if kind == _SET_FIELD:
                old = fields.get(key)
                if old is None or old[1] != value:
                    fields[key] = (display, value)
            elif kind == _SET_EMAIL:
                if (
                    name == "Email"
                    and view.salesforce_id
                    and (view.email or "").casefold() == value.casefold()
                ):
                    continue  # a record's Email is Salesforce's: another case is no change
                view.email = value
            elif kind == _SET_OWNER:
                if view.get(OWNER_FIELD) != value:
                    view.set_owner(value)
            elif kind == _SET_RECORD:
                view.salesforce_id = value
            else:
                view.salesforce_type = "Contact" if value == "Contact" else "Lead"
        if list_name:
            view.lists.setdefault(list_name.casefold(), list_name)


def import_file(
    store: Store,
    path: Path,
    ctx: ContactContext,
    list_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a CSV file in batches, all in one transaction (module docstring); raises
    ``IntakeError`` when the file cannot be taken at all. ``progress`` hears the rows and
    the bytes of the file read so far, once per batch."""
    header, records = read_records(path)
    report = ImportReport()
    checked = Checked()
    columns = _columns(header, ctx, checked)
    setter = _Setter()
    done = 0
    with _no_cycle_collection(), store.begin() as conn:
        for batch in _batches(records):
            _import_batch(conn, batch, columns, setter, checked, ctx, list_name, report)
            checked.forget()
            gc.collect(1)
            done += len(batch)
            if progress is not None:
                progress(done, records.position)
    analyze_imported(store, report, list_name)
    report.errors.sort(key=lambda e: e.row)
    return report


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused for the import: a batch makes tens of thousands
    of objects that hold no cycles (freed as the batch ends), and collecting would walk
    them again and again. Once a batch, what cycles there are are collected."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _batches(records: Records) -> Iterator[list[tuple[int, list[str] | str]]]:
    batch: list[tuple[int, list[str] | str]] = []
    for item in records:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _import_batch(
    conn: Connection,
    batch: list[tuple[int, list[str] | str]],
    columns: list[_Column],
    setter: _Setter,
    checked: Checked,
    ctx: ContactContext,
    list_name: str | None,
    report: ImportReport,
) -> None:
    cleaned: list[tuple[int, dict[str, str]]] = []
    errors = report.errors
    ignored = report.ignored_columns
    for line, cells in batch:
        if isinstance(cells, str):
            errors.append(RowError(line, cells))
            continue
        try:
            cleaned.append((line, _values(cells, columns, ignored)))
        except FieldValueError as exc:
            errors.append(RowError(line, str(exc)))
    known: Known = load_known(conn, [values for _, values in cleaned])
    befores = {cid: snapshot(v) for cid, v in known.views.items()}
    touched: dict[int, ContactView] = {}
    taken = 0
    merge, noted = setter.merge, known.noted
    for line, values in cleaned:
        try:
            view = target(known, values)
        except FieldValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        taken += 1
        merge(view, values, list_name)
        if view.id > 0:
            touched[view.id] = view
        else:
            noted(view)  # a new contact, found by its email from the next row on
    changed = write_contacts(conn, [(befores[cid], v) for cid, v in touched.items()], ctx)
    write_new_contacts(conn, known.fresh, ctx, checked)
    settle_batch(conn, report, list_name, [*touched, *(v.id for v in known.fresh)], ctx.now)
    report.created += len(known.fresh)
    report.updated += changed
    report.unchanged += taken - len(known.fresh) - changed
