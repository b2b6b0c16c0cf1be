"""The three-way merge: how one Salesforce record's values meet the contact's.

Pipeline position: ``inbound.take_people`` -> **merge** -> the contact view it then writes.
The record's *shadow* (its values at the last cycle) is the common ancestor. Salesforce
changed a field when its value differs from the shadow; the engine changed it when the
contact's value does. Only Salesforce changed: the contact takes the value. Both changed to
different values (a conflict): the mapping's direction decides — ``salesforce wins``,
``engine wins``, or ``latest wins`` (the engine's change time against Salesforce's
``LastModifiedDate``). The shadow then becomes Salesforce's values; whatever the engine
keeps that differs from it is written out by ``outbound``. Our own writes update the
shadow, so reading them back changes nothing: no echo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from journey.engine.contact import ContactView
from journey.engine.contacts import ContactContext, FieldValueError, coerce
from journey.engine.sync.mapping import FieldMap, engine_text, from_salesforce, same_value
from journey.vocabulary import OWNER_PATHS

__all__ = ["Merged", "invalid_values", "merge_record", "salesforce_time", "take_owner"]


@dataclass(frozen=True)
class Merged:
    """One record merged: whether the engine kept a value of its own that must go out,
    how many fields changed on both sides, and the inbound-only fields whose engine-side
    value gave way to Salesforce's (field, the engine's value, Salesforce's)."""

    engine_keeps: bool
    conflicts: int
    restored: tuple[tuple[str, str, str], ...] = ()


def salesforce_time(text: Any) -> datetime | None:
    """A Salesforce date-time (``2026-03-02T09:00:00.000+0000`` or ``...Z``), or None when
    absent or unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def merge_record(
    view: ContactView,
    record: Mapping[str, Any],
    maps: Sequence[FieldMap],
    shadow: Mapping[str, str] | None,
    engine_changed_at: datetime | None,
) -> Merged:
    """Apply the record's values to the view (three-way, module docstring). An inbound-only
    field (``not writable``) always takes Salesforce's value. A checkbox is stored as
    "true" or "false", so an unset one from Salesforce shows "false", not nothing."""
    keeps, conflicts = False, 0
    restored: list[tuple[str, str, str]] = []
    sf_changed_at = salesforce_time(record.get("LastModifiedDate"))
    for m in maps:
        s = from_salesforce(record.get(m.path), m.kind)
        raw = view.get(m.contact_field)
        e = engine_text(raw, m.kind)
        if same_value(m, s, e):
            if m.kind == "True/False" and raw != s:  # blank: Salesforce's "false" is stored
                view.set(m.contact_field, s)
            continue
        if shadow is None:  # first sight: Salesforce's values, blanks filled by the engine's
            if s != "" or m.kind == "True/False" or not m.writable:
                view.set(m.contact_field, s)
            continue
        h = shadow.get(m.path, "")
        if not m.writable:
            if s == h:  # only the engine changed it: it gives way, and the feed says so
                restored.append((m.contact_field, raw, s))
            view.set(m.contact_field, s)
            continue
        if s == h:
            continue  # only the engine changed it (or nothing did): outbound's business
        if e == h:
            view.set(m.contact_field, s)
            continue
        conflicts += 1
        engine_first = m.direction == "engine wins" or (
            m.direction == "latest wins"
            and engine_changed_at is not None
            and sf_changed_at is not None
            and _aware(engine_changed_at) > sf_changed_at
        )
        if engine_first:
            keeps = True
        else:
            view.set(m.contact_field, s)
    return Merged(keeps, conflicts, tuple(restored))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def take_owner(view: ContactView, record: Mapping[str, Any]) -> None:
    """The record's owner onto the view (a read that did not select the owner leaves it)."""
    owner_id, owner_name, owner_email = OWNER_PATHS
    if owner_id not in record:
        return
    view.owner_id = str(record.get(owner_id) or "") or None
    view.owner_name = str(record.get(owner_name) or "") or None
    view.owner_email = str(record.get(owner_email) or "") or None


def invalid_values(
    view: ContactView, maps: Sequence[FieldMap], ctx: ContactContext
) -> list[tuple[str, str]]:
    """Values that do not fit the contact field's declared type (the record goes on the
    error list; the rest of it is taken)."""
    out = []
    for m in maps:
        value = view.get(m.contact_field)
        if not value:
            continue
        try:
            coerce(m.contact_field, value, ctx.type_of(ctx.display(m.contact_field)))
        except FieldValueError as exc:
            out.append((m.contact_field, str(exc)))
    return out
