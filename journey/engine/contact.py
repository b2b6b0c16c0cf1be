"""The contact as deciding code sees it: fields by name, lists, Salesforce record, owner.

Pipeline position: store (or a dry run's CSV) -> **ContactView** -> conditions, executor,
connector snapshots. It is plain memory, so the executor stays free of I/O; the runner
loads views in batches and writes their changes back, a dry run builds them from a CSV.

Field names are matched case-insensitively (``"lead status"`` is ``"Lead Status"``) and
shown the way the schema spells them. An empty value is the same as no value: it is
removed, never stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from journey.vocabulary import OWNER_FIELD, STANDARD_FIELD_TYPES, is_user_id

if TYPE_CHECKING:
    # The connector's types, imported where a connector is called: a dry run of a journey
    # with no Salesforce step imports no connector.
    from journey.connectors.base import ContactChanges, ContactSnapshot

__all__ = ["OWNER_FIELD", "ContactView", "canonical_field"]

_OWNER_KEY = OWNER_FIELD.casefold()
_STANDARD_BY_KEY = {name.casefold(): name for name in STANDARD_FIELD_TYPES}


def canonical_field(name: str, known: Mapping[str, str] | None = None) -> str:
    """The schema's spelling of a field name typed in any case."""
    if not known:
        spelt = _SPELT.get(name)
        if spelt is not None:
            return spelt
    stripped = name.strip()
    key = stripped.casefold()
    if known:
        for candidate in known:
            if candidate.casefold() == key:
                return candidate
    spelt = _STANDARD_BY_KEY.get(key, stripped)
    if not known and len(_SPELT) < 4096:
        _SPELT[name] = spelt
    return spelt


#: Names already spelt (without ``known``): every row and step asks for the same few.
_SPELT: dict[str, str] = {}


@dataclass(slots=True)
class ContactView:
    """One contact in memory. ``fields`` maps the casefolded name to (display name, value)."""

    id: int
    email: str | None = None
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)
    lists: dict[str, str] = field(default_factory=dict)  # casefold -> display name
    salesforce_id: str | None = None
    salesforce_type: Literal["Lead", "Contact"] | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    campaigns: dict[str, str] = field(default_factory=dict)  # casefold campaign -> status

    @classmethod
    def from_fields(
        cls, contact_id: int, values: Mapping[str, str], lists: Iterable[str] = ()
    ) -> ContactView:
        view = cls(id=contact_id)
        for name, value in values.items():
            view.put(canonical_field(name), value)
        for name in lists:
            view.lists[name.casefold()] = name
        return view

    # ------------------------------------------------------------------ reading

    def get(self, name: str) -> str:
        """A field's value, ``""`` when empty. "Lead Owner" is the owner's name or email."""
        key = name.casefold()
        if key == _OWNER_KEY:
            return self.owner_name or self.owner_email or self.owner_id or ""
        if key == "email":
            return self.email or ""
        entry = self.fields.get(key)
        return entry[1] if entry else ""

    def owner_values(self) -> list[str]:
        """Every identity of the owner: name, email, Salesforce user ID."""
        return [v for v in (self.owner_name, self.owner_email, self.owner_id) if v]

    def values(self) -> dict[str, str]:
        """Every non-empty field by display name (for templates, snapshots, display)."""
        out = dict(self.fields.values())
        if self.email:
            out["Email"] = self.email
        owner = self.get(OWNER_FIELD)
        if owner:
            out[OWNER_FIELD] = owner
        return out

    def keyed(self) -> dict[str, tuple[str, str]]:
        """Every non-empty field, casefolded name -> (display name, value)."""
        out = dict(self.fields)
        if self.email:
            out["email"] = ("Email", self.email)
        owner = self.owner_name or self.owner_email or self.owner_id
        if owner:
            out[_OWNER_KEY] = (OWNER_FIELD, owner)
        return out

    def in_list(self, name: str) -> bool:
        return name.casefold() in self.lists

    def key(self) -> str:
        """A stable identity for split assignment: the email, else the store id."""
        return self.email.casefold() if self.email else f"id:{self.id}"

    def snapshot(self) -> ContactSnapshot:
        from journey.connectors.base import ContactSnapshot

        return ContactSnapshot(
            id=self.id,
            email=self.email,
            fields=self.values(),
            salesforce_id=self.salesforce_id,
            salesforce_type=self.salesforce_type,
            lists=frozenset(self.lists.values()),
            owner_id=self.owner_id,
            owner_email=self.owner_email,
        )

    def copy(self) -> ContactView:
        """An independent copy (values are immutable, so copying the dicts is enough)."""
        return ContactView(
            self.id,
            self.email,
            dict(self.fields),
            dict(self.lists),
            self.salesforce_id,
            self.salesforce_type,
            self.owner_id,
            self.owner_name,
            self.owner_email,
            dict(self.campaigns),
        )

    # ------------------------------------------------------------------ changing

    def set(self, name: str, value: str | None) -> tuple[str, str, str] | None:
        """Set a field; returns (display name, old, new) when the value changed."""
        return self.put(canonical_field(name), value)

    def put(self, display: str, value: str | None) -> tuple[str, str, str] | None:
        """``set`` for a name already in the schema's spelling (``canonical_field``): the
        executor spells each step's field once per journey, not once per contact."""
        key = display.casefold()
        new = value.strip() if value else ""
        if key == "email":
            old = self.email or ""
        elif key == _OWNER_KEY:
            old = self.owner_name or self.owner_email or self.owner_id or ""
        else:
            entry = self.fields.get(key)
            old = entry[1] if entry else ""
            if old == new:
                return None
            if new:
                self.fields[key] = (display, new)
            else:
                del self.fields[key]
            return (display, old, new)
        if old == new:
            return None
        if key == "email":
            self.email = new or None
        else:
            self.set_owner(new)
        return (display, old, new)

    def set_owner(self, owner: str) -> None:
        """An owner given as one value: an email, a Salesforce user ID (005...) or a name."""
        self.owner_name = self.owner_email = self.owner_id = None
        if "@" in owner:
            self.owner_email = owner
        elif is_user_id(owner):
            self.owner_id = owner
        elif owner:
            self.owner_name = owner

    def apply(self, changes: ContactChanges) -> list[tuple[str, str, str]]:
        """Take a connector's changes; returns the field changes (display, old, new)."""
        changed: list[tuple[str, str, str]] = []
        if changes.salesforce_id is not None:
            self.salesforce_id = changes.salesforce_id
        if changes.salesforce_type is not None:
            self.salesforce_type = changes.salesforce_type
        if changes.owner_id or changes.owner_email or changes.owner_name:
            old = self.get(OWNER_FIELD)
            self.owner_id = changes.owner_id or None
            self.owner_email = changes.owner_email or None
            self.owner_name = changes.owner_name or None
            if old != self.get(OWNER_FIELD):
                changed.append((OWNER_FIELD, old, self.get(OWNER_FIELD)))
        for name, value in changes.fields.items():
            if name.casefold() == OWNER_FIELD.casefold() and (
                changes.owner_id or changes.owner_email or changes.owner_name
            ):
                continue
            change = self.set(name, value)
            if change:
                changed.append(change)
        return changed
