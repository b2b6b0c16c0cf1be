"""A CSV or form row checked and matched to its contact, in memory: the rules every path a
row takes in shares (``engine.intake``'s import and forms, ``engine.csv_import``, the dry
run's ``engine.dryrun_contacts``).

Pipeline position: ``csv_rows`` -> **intake_rows** -> the ``ContactView`` a row merges
into. ``clean_row`` checks a row's values against their types and its Salesforce ID against
its type; ``target`` is the contact it is (``Known`` holds the contacts the store has for a
batch's IDs and emails, ``engine.import_targets.load_known``, and the batch's new ones; the
rules: ``engine.intake``'s module docstring); ``merge_row`` takes its values in. Nothing here
touches the store, so a dry run imports no database layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from journey.engine.contact import ContactView, canonical_field
from journey.engine.contact_context import ContactContext
from journey.engine.csv_rows import BAD_ROW
from journey.engine.field_values import FieldValueError, coerce
from journey.salesforce_ids import InvalidSalesforceIdError, person_id

__all__ = [
    "INBOUND_ONLY",
    "Known",
    "RowError",
    "clean_row",
    "identified",
    "merge_row",
    "target",
    "views_from_rows",
]

_ID_COLUMNS = {"salesforce id": "id", "salesforce type": "type"}


@dataclass(frozen=True)
class RowError:
    row: int
    message: str


#: Why an inbound-only field's value is set aside.
INBOUND_ONLY = "inbound only: Salesforce's to write"


def clean_row(
    raw: Mapping[str, str], ctx: ContactContext, ignored: dict[str, str] | None = None
) -> dict[str, str]:
    if BAD_ROW in raw:
        raise FieldValueError(raw[BAD_ROW])
    values: dict[str, str] = {}
    column = ctx.column
    for name, cell in raw.items():
        value = cell.strip() if cell else ""
        if not value:
            continue
        role = _ROLES.get(name)
        if role is None:
            role = _ID_COLUMNS.get(name.strip().casefold(), "")
            if len(_ROLES) < 1000:
                _ROLES[name] = role
        if role:
            values["\0" + role] = value
            continue
        display, inbound, kind = column(name)
        if inbound:
            # Salesforce's to write (a formula, an Account's field, mapped inbound only):
            # a value here would only be overwritten by the next sync, so it is set aside.
            if ignored is not None:
                ignored[display] = INBOUND_ONLY
            continue
        if kind != "Text":  # a text is any text: only the other types can refuse a value
            coerce(display, value, kind)  # raises FieldValueError
        values[display] = value
    return identified(values)


#: Column name -> "id", "type" (``_ID_COLUMNS``) or "" for a field: asked once per name.
_ROLES: dict[str, str] = {}


def identified(values: dict[str, str]) -> dict[str, str]:
    """A row's values with its Salesforce ID checked against its type (``\\0id`` and
    ``\\0type`` made the record's own) and something to know the contact by; raises
    ``FieldValueError`` to refuse the row. One rule for every path a row takes in."""
    if "\0id" not in values and "\0type" not in values and values.get("Email"):
        return values  # most rows: an email, no record to check
    sf_type = values.pop("\0type", None)
    if sf_type is not None and sf_type.casefold() not in ("lead", "contact"):
        raise FieldValueError(f'"Salesforce Type" must be Lead or Contact, not "{sf_type}"')
    if values.get("\0id"):
        try:
            record = person_id(values["\0id"])
        except InvalidSalesforceIdError as exc:
            raise FieldValueError(f"Salesforce ID {exc}") from None
        if sf_type is not None and sf_type.casefold() != record.sobject.casefold():
            raise FieldValueError(
                f"Salesforce ID {record.id} is a {record.sobject}'s, but "
                f'"Salesforce Type" says {sf_type}: leave the type empty or correct it'
            )
        values["\0id"], values["\0type"] = record.id, record.sobject
    if not values.get("Email") and not values.get("\0id"):
        raise FieldValueError("no Email (or Salesforce ID) to identify the contact")
    return values


def _same(view: ContactView, email: str) -> bool:
    return bool(email) and (view.email or "").casefold() == email


def merge_row(view: ContactView, values: Mapping[str, str], list_name: str | None) -> None:
    put = view.put
    for name, value in values.items():
        if name == "\0id":
            view.salesforce_id = value
        elif name == "\0type":
            view.salesforce_type = "Contact" if value == "Contact" else "Lead"
        elif name == "Email" and view.salesforce_id and _same(view, value.casefold()):
            continue  # a record's Email is Salesforce's: another letter case is no change
        else:
            put(canonical_field(name), value)  # ``view.set``, one call less per cell
    if list_name:
        view.lists.setdefault(list_name.casefold(), list_name)


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


def _new(known: Known) -> ContactView:
    view = ContactView(id=-len(known.fresh) - 1)  # a placeholder until the store numbers it
    known.fresh.append(view)
    known.views[view.id] = view
    return view


def views_from_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]], ctx: ContactContext
) -> tuple[list[ContactView], list[RowError]]:
    """Contacts in memory from CSV rows (for dry runs): validated and de-duplicated like an
    import, numbered from 1 in file order, nothing stored."""
    known = Known({}, {}, {}, {})
    errors: list[RowError] = []
    for line, raw in rows:
        try:
            values = clean_row(raw, ctx)
            view = target(known, values)
        except FieldValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        merge_row(view, values, None)
        known.noted(view)
    for number, view in enumerate(known.fresh, start=1):
        view.id = number
    return list(known.fresh), errors
