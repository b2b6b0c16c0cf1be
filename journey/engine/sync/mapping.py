"""Field mapping: which contact field is which Salesforce field, which way it may flow,
and how a Salesforce value becomes the engine's text (and back).

Pipeline position: ``journey.toml`` ``[sync.fields.<Object>]`` + the standard fields ->
**mapping** -> the cycle (what to read, how to merge, what to write). The standard
fields need no configuration. A field behind a relationship (``Account.Industry`` on a
Contact), the owner, and any field Salesforce reports as not updateable or a formula
(``journey salesforce fields refresh``) sync inbound only, as does a mapping with
``direction = "inbound only"``.

Values are compared as the engine stores them — text: a checkbox is ``"true"``/
``"false"``, a number without a trailing ``.0``, a date as ``YYYY-MM-DD``, blank as ``""``.
Comparing normalised text is what lets the sync tell a real change from its own echo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from journey.vocabulary import ACCOUNT_FIELDS, OWNER_PATHS, STANDARD_FIELDS, FieldType

if TYPE_CHECKING:
    from journey.engine.config import SyncConfig, SyncDirection
    from journey.engine.sync.describe import OrgFields

__all__ = [
    "ACCOUNT_FIELDS",
    "OWNER_PATHS",
    "FieldMap",
    "account_fields",
    "engine_text",
    "field_maps",
    "from_salesforce",
    "inbound_only_fields",
    "read_fields",
    "same_value",
    "to_salesforce",
]


def _standard(sobject: str) -> list[tuple[str, str, FieldType]]:
    """The standard fields ``sobject`` has (the vocabulary's), as (contact field, API
    path, type). The owner is not among them: it is read through ``OWNER_PATHS``."""
    return [(f.name, p, f.kind) for f in STANDARD_FIELDS if (p := f.path(sobject))]


#: Extra fields each object's read needs besides the mapped ones.
_EXTRA: dict[str, tuple[str, ...]] = {
    "Lead": (*OWNER_PATHS, "LastModifiedDate", "IsConverted", "ConvertedContactId"),
    "Contact": (*OWNER_PATHS, "LastModifiedDate", "AccountId"),
    "Account": tuple(ACCOUNT_FIELDS),
    "CampaignMember": ("CampaignId", "Campaign.Name", "LeadId", "ContactId", "Status"),
}
#: Extras read only where describe shows the org has them: Person Accounts' flag exists
#: only in orgs that enabled them
#: (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_guidelines_personaccounts.htm).
_WHERE_PRESENT: dict[str, tuple[str, ...]] = {
    "Contact": ("IsPersonAccount",),
    "Account": ("IsPersonAccount",),
}


@dataclass(frozen=True)
class FieldMap:
    """One mapped field. ``writable``: engine-side changes go to Salesforce."""

    contact_field: str
    path: str
    kind: FieldType
    direction: SyncDirection = "latest wins"
    writable: bool = True


def field_maps(
    sobject: str,
    config: SyncConfig,
    field_types: Mapping[str, str],
    read_only: frozenset[str] = frozenset(),
    org: OrgFields | None = None,
) -> list[FieldMap]:
    """The object's mapped fields: standard, then ``[sync.fields.<Object>]`` (a custom
    mapping of a standard field's contact name replaces it). ``read_only``: API names
    describe reported not updateable or formula. ``org``: what describe showed — a
    standard field the org lacks is not mapped (``describe.describe_org`` refuses a
    custom mapping the org lacks)."""
    maps: dict[str, FieldMap] = {}
    for name, path, kind in _standard(sobject):
        if org is not None and not org.has(sobject, path):
            continue
        maps[name.casefold()] = FieldMap(name, path, kind, writable="." not in path)
    kinds: dict[str, FieldType] = {
        "Text": "Text",
        "Number": "Number",
        "Date": "Date",
        "True/False": "True/False",
    }
    for name, mapping in config.mappings(sobject).items():
        maps[name.casefold()] = FieldMap(
            name,
            mapping.salesforce,
            kinds.get(field_types.get(name, "Text"), "Text"),
            mapping.direction,
            writable="." not in mapping.salesforce and mapping.direction != "inbound only",
        )
    lowered = {r.casefold() for r in read_only}
    return [
        FieldMap(m.contact_field, m.path, m.kind, m.direction, False)
        if m.path.casefold() in lowered
        else m
        for m in maps.values()
    ]


def record_fields(config: SyncConfig, field_types: Mapping[str, str]) -> frozenset[str]:
    """Contact fields (case-folded) a contact takes from its Lead's or Contact's record
    when it is linked to one (``engine.linking``, whatever the object's sync mode): a
    condition on one of them is answered by the org's record, not only by what the
    contact was given."""
    return frozenset(
        m.contact_field.casefold()
        for sobject in ("Lead", "Contact")
        for m in field_maps(sobject, config, field_types)
    )


def inbound_only_fields(config: SyncConfig, field_types: Mapping[str, str]) -> frozenset[str]:
    """Contact fields that journey.toml alone shows only Salesforce writes: mapped on some
    synced Lead/Contact object and read-only on every one it is mapped on (a relationship
    path such as ``Account.Type``, or ``direction = "inbound only"``). A journey's or an
    import's write to one is refused up front (``journey check``, intake); a field only
    ``describe`` reports read-only is caught at run time (``outbound.restore``)."""
    writable: dict[str, bool] = {}
    names: dict[str, str] = {}
    for sobject in ("Lead", "Contact"):
        if config.object_sync(sobject).mode == "none":
            continue
        for m in field_maps(sobject, config, field_types):
            key = m.contact_field.casefold()
            names[key] = m.contact_field
            writable[key] = writable.get(key, False) or m.writable
    return frozenset(names[k] for k, w in writable.items() if not w)


def account_fields(contact_maps: list[FieldMap]) -> dict[str, tuple[str, FieldType]]:
    """Account field -> (contact field, type) for every Contact mapping through the Account
    (``Account.Industry``, a custom ``Account.Region__c``): what the Account read selects
    and hands on to its Contacts, so they follow the Account's changes in every cycle (the
    Contacts' own SystemModstamp does not move when their Account changes)."""
    return {
        m.path.removeprefix("Account."): (m.contact_field, m.kind)
        for m in contact_maps
        if m.path.startswith("Account.") and m.path.count(".") == 1
    }


def read_fields(
    sobject: str,
    maps: list[FieldMap],
    extra: tuple[str, ...] = (),
    org: OrgFields | None = None,
) -> tuple[str, ...]:
    """Every API path one object's read selects (``extra``: the Account fields its Contacts
    show, ``account_fields``). ``org``: what describe showed — extras the org lacks are
    left out, and those only some orgs have are read only where it shows them."""
    extras = [*_EXTRA.get(sobject, ()), *extra]
    if org is not None:
        extras = [p for p in [*extras, *_WHERE_PRESENT.get(sobject, ())] if org.has(sobject, p)]
    return tuple(dict.fromkeys([*(m.path for m in maps), *extras]))


def _number_text(number: float) -> str:
    return str(int(number)) if number == int(number) and abs(number) < 1e15 else repr(number)


def from_salesforce(value: Any, kind: str) -> str:
    """A Salesforce value (JSON from REST, or CSV text from Bulk) as the engine's text."""
    if value is None or value == "":
        return "false" if kind == "True/False" else ""
    if kind == "True/False":
        if isinstance(value, bool):
            return "true" if value else "false"
        return "true" if str(value).strip().casefold() in ("true", "1", "yes") else "false"
    if kind == "Number":
        try:
            return _number_text(float(value))
        except (TypeError, ValueError):
            return str(value).strip()
    if kind == "Date":
        return str(value)[:10]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    return str(value).strip()


def engine_text(value: str, kind: str) -> str:
    """The engine's stored text, compared the same way (an unset checkbox is false)."""
    if kind == "True/False" and not value:
        return "false"
    if kind == "Number" and value:
        try:
            return _number_text(float(value.replace(",", "")))
        except ValueError:
            return value
    return value


def same_value(m: FieldMap, one: str, other: str) -> bool:
    """Whether two texts of the field are the same value. An email differing only in
    letter case is the same address — Salesforce compares text without case
    (developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/
    sforce-api-calls-soql-select-comparisonoperators.html) — so it is never written over
    Salesforce's, nor Salesforce's over the contact's."""
    if m.path == "Email":
        return one.casefold() == other.casefold()
    return one == other


def to_salesforce(text: str, kind: str) -> Any:
    """The engine's text as the typed value Salesforce takes (blank clears the field)."""
    if text == "":
        return False if kind == "True/False" else None
    if kind == "True/False":
        return text.casefold() in ("true", "yes", "1", "y")
    if kind == "Number":
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return text
    return text
