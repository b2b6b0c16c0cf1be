"""Create missing records: the rule every Salesforce action but ``update salesforce field``
shares — a contact with no Salesforce record gets one (a Lead; a Contact for ``add to list
"Salesforce Contacts"``) before the action applies to it.

Pipeline position: connector → action module → **records** → batching. Also home of
``Item``, one contact's share of a batch as it moves through an action's stages, and of
the batched reads of the records' owners.

Required fields come from the contact: LastName ← Last Name, else the email's local part,
else "[not provided]"; Company ← Company, else ``[salesforce] default_company``. A contact
is never created twice: the batch is deduplicated by contact, and the new ID is written to
``sf_links`` (``state``) the moment Salesforce answers — before the engine commits — so a
second journey in the same pass, or the same request after a crash, finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from journey.connectors.base import (
    ContactChanges,
    ContactSnapshot,
    EffectRequest,
    EffectResult,
    EffectStatus,
    RecordChange,
)
from journey.connectors.salesforce.batching import OrgApi, Saved
from journey.connectors.salesforce.state import ConnectorState, Link
from journey.vocabulary import (
    AUTO_ASSIGN_HEADER,
    NOT_PROVIDED,
    STANDARD_FIELDS,
    RecordType,
    is_user_id,
    record_type_of,
)

__all__ = [
    "AUTO_ASSIGN_FALSE",
    "Item",
    "Owner",
    "Workspace",
    "ensure_records",
    "find_records",
    "known_type",
    "read_owners",
    "record_fields",
]

#: Sent with every write that sets an owner explicitly and every update we make.
AUTO_ASSIGN_FALSE = {AUTO_ASSIGN_HEADER: "FALSE"}

_RATINGS = {"hot": "Hot", "warm": "Warm", "cold": "Cold"}  # the Rating picklist's values
_TRUE = {"true", "yes", "1", "y"}


@dataclass(frozen=True)
class Owner:
    id: str
    name: str | None = None
    email: str | None = None

    @property
    def is_user(self) -> bool:
        return is_user_id(self.id)


@dataclass
class Item:
    """One request on its way through an action. ``result`` is set once it is final."""

    request: EffectRequest
    record_id: str | None = None
    record_type: RecordType | None = None
    #: The record was created, or found in ``sf_links``, in this call: the engine must
    #: learn its ID.
    new_link: bool = False
    records: list[RecordChange] = field(default_factory=list)
    owner: Owner | None = None
    fields: dict[str, str] = field(default_factory=dict)
    result: EffectResult | None = None

    @property
    def contact(self) -> ContactSnapshot:
        return self.request.contact

    @property
    def params(self) -> Mapping[str, str | int | bool | None]:
        return self.request.params

    @property
    def live(self) -> bool:
        return self.result is None

    def finish(
        self,
        status: EffectStatus,
        *,
        why: str | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Settle the outcome. Even a failure reports a record created on the way, so the
        engine stores its ID (the next attempt must not create another)."""
        if self.result is not None:
            return
        changes = ContactChanges(
            salesforce_id=self.record_id if self.new_link else None,
            salesforce_type=self.record_type if self.new_link else None,
            owner_id=self.owner.id if self.owner else None,
            owner_name=self.owner.name if self.owner else None,
            owner_email=self.owner.email if self.owner else None,
            fields=dict(self.fields),
        )
        if status in ("retry", "paused"):
            changes = ContactChanges()
        self.result = EffectResult(
            self.request.key,
            status,
            why=why,
            error_code=code,
            message=message,
            changes=changes,
            records=tuple(self.records) if status not in ("retry", "paused") else (),
        )

    def fail(self, saved: Saved, what: str) -> None:
        """A per-record refusal: ``failed`` (or ``retry`` when transient), naming it."""
        text = f"{what}: {saved.code}: {saved.message}"
        if saved.transient:
            self.finish("retry", code=saved.code, message=text)
        else:
            self.finish("failed", code=saved.code, message=text)

    def who(self) -> str:
        c = self.contact
        return c.email or c.fields.get("Last Name") or f"contact {c.id}"


@dataclass
class Workspace:
    """What the action modules share for one ``perform``."""

    api: OrgApi
    state: ConnectorState
    default_company: str
    rules_on_update: bool
    now: datetime
    groups: Mapping[str, Sequence[str]] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def update_headers(self) -> dict[str, str]:
        """Headers for every update the engine makes: rules stay off unless asked."""
        return {} if self.rules_on_update else dict(AUTO_ASSIGN_FALSE)


def record_fields(
    contact: ContactSnapshot, kind: RecordType, default_company: str
) -> dict[str, Any]:
    """The new record's fields from the contact: every standard field the object holds
    (the vocabulary's), typed; the required ones always filled."""
    values = contact.fields
    out: dict[str, Any] = {}
    for standard in STANDARD_FIELDS:
        target = standard.field_on(kind)
        raw = values.get(standard.name) or (contact.email if target == "Email" else None)
        if not target or not raw or not standard.on_create:
            continue
        if standard.kind == "True/False":
            out[target] = raw.strip().lower() in _TRUE
        elif standard.kind == "Number":
            try:
                out[target] = float(raw.replace(",", ""))
            except ValueError:
                continue
        elif target == "Rating":
            if raw.lower() in _RATINGS:
                out[target] = _RATINGS[raw.lower()]
        else:
            out[target] = raw
    email_name = (contact.email or "").partition("@")[0]
    out["LastName"] = values.get("Last Name") or email_name or NOT_PROVIDED
    if kind == "Lead":
        out["Company"] = values.get("Company") or default_company
    return out


def _adopt(items: Sequence[Item], links: Mapping[int, Link]) -> None:
    for item in items:
        if not item.live or item.record_id:
            continue
        c = item.contact
        if c.salesforce_id:
            item.record_id, item.record_type = c.salesforce_id, known_type(c)
        elif c.id in links:
            link = links[c.id]
            item.record_id, item.record_type = link.salesforce_id, link.salesforce_type
            item.new_link = True


def _link_existing(
    ws: Workspace, firsts: list[Item], missing: Mapping[int, list[Item]], kind: RecordType
) -> list[Item]:
    """Contacts whose email already has a record in the org are linked to it, not given a
    second one: an unconverted Lead (for a Lead) or else a Contact, the oldest first — the
    record the dry run reads too. Returns the items that still need a record."""
    by_email = {i.contact.email.casefold(): i for i in firsts if i.contact.email}
    if not by_email:
        return firsts
    found: dict[str, Link] = {}
    objects: tuple[RecordType, ...] = ("Lead", "Contact") if kind == "Lead" else ("Contact",)
    for sobject in objects:
        unconverted = " AND IsConverted = false" if sobject == "Lead" else ""
        rows = ws.api.query_in(
            f"SELECT Id, Email FROM {sobject} WHERE Email IN {{values}}{unconverted} "
            "ORDER BY CreatedDate",
            [i.contact.email for i in by_email.values()],
        )
        for row in rows:
            found.setdefault(str(row.get("Email") or "").casefold(), Link(str(row["Id"]), sobject))
    links = {by_email[email].contact.id: link for email, link in found.items() if email in by_email}
    for contact_id, link in links.items():
        for member in missing[contact_id]:
            member.record_id, member.record_type = link.salesforce_id, link.salesforce_type
            member.new_link = True
    if links:
        ws.state.save_links(links, ws.now)
    return [i for i in firsts if i.contact.id not in links]


def known_type(contact: ContactSnapshot) -> RecordType:
    """The object the contact's record is: its ID's key prefix says (a Contact's ID is
    never taken for a Lead's), else what the engine stored."""
    return record_type_of(contact.salesforce_id) or contact.salesforce_type or "Lead"


def _missing(items: Sequence[Item]) -> dict[int, list[Item]]:
    missing: dict[int, list[Item]] = {}
    for item in items:
        if item.live and not item.record_id:
            missing.setdefault(item.contact.id, []).append(item)
    return missing


def find_records(ws: Workspace, items: Sequence[Item], kind: RecordType = "Lead") -> list[Item]:
    """Give every live item the record it already has — its own, the one ``sf_links``
    holds, or one the org holds under its email — without creating any; returns the items
    still without a record."""
    _adopt(items, ws.state.links(i.contact.id for i in items if not i.contact.salesforce_id))
    missing = _missing(items)
    if missing:
        _link_existing(ws, [group[0] for group in missing.values()], missing, kind)
    return [i for i in items if i.live and not i.record_id]


def ensure_records(
    ws: Workspace,
    items: Sequence[Item],
    kind: RecordType = "Lead",
    *,
    extra: Callable[[Item], Mapping[str, Any]] | None = None,
    explicit_owner: bool = False,
) -> list[Item]:
    """Give every live item a record — the one it has (``find_records``) or a new one;
    returns the items whose record was created now. ``extra`` adds fields to a new record
    (an owner, a lead source); ``explicit_owner`` sends ``Sforce-Auto-Assign: FALSE`` so
    the org's rules keep out."""
    find_records(ws, items, kind)
    missing = _missing(items)
    if not missing:
        return []
    firsts = [group[0] for group in missing.values()]
    payloads = []
    for item in firsts:
        payload = record_fields(item.contact, kind, ws.default_company)
        if extra is not None:
            payload.update(extra(item))
        payloads.append(payload)
    headers = dict(AUTO_ASSIGN_FALSE) if explicit_owner else {}
    saved = ws.api.create(kind, payloads, headers)
    links: dict[int, Link] = {}
    created: list[Item] = []
    for item, payload, outcome in zip(firsts, payloads, saved, strict=True):
        group = missing[item.contact.id]
        if not outcome.ok:
            for member in group:
                member.fail(outcome, f"creating a {kind} for {item.who()}")
            continue
        assert outcome.id is not None
        links[item.contact.id] = Link(outcome.id, kind)
        shown = {k: _text(v) for k, v in payload.items()}
        for member in group:
            member.record_id, member.record_type, member.new_link = outcome.id, kind, True
            if member is item:
                member.records.append(RecordChange(kind, outcome.id, "create", shown))
            created.append(member)
    ws.state.save_links(links, ws.now)
    return created


def read_owners(ws: Workspace, items: Sequence[Item]) -> dict[str, Owner]:
    """Record ID → its current owner, in one query per object and 200 records."""
    by_type: dict[str, list[str]] = {}
    for item in items:
        if item.live and item.record_id and item.record_type:
            by_type.setdefault(item.record_type, []).append(item.record_id)
    owners: dict[str, Owner] = {}
    for sobject, ids in by_type.items():
        rows = ws.api.query_in(
            f"SELECT Id, OwnerId, Owner.Name, Owner.Email FROM {sobject} WHERE Id IN {{values}}",
            ids,
        )
        for row in rows:
            info = row.get("Owner") or {}
            owner = Owner(str(row["OwnerId"]), info.get("Name"), info.get("Email"))
            owners[str(row["Id"])] = owner
            owners[str(row["Id"])[:15]] = owner
    return owners


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
