"""An object's ``describe``, kept in the connector's state so it is read once.

Pipeline position: ``replication.SalesforceReplication.describe`` -> **describe** ->
``state.ConnectorState`` (``sf_settings``, key ``describe:{Object}``). A describe call
costs an API call and changes only when someone edits the org's schema, so the sync keeps
what it read across cycles and processes; ``journey salesforce fields refresh`` (and the
sync itself, when a mapped field is missing) reads it anew. The sync
(``replication``), the ``update salesforce field`` action (``fields``) and ``journey
salesforce refresh`` (``org_catalog``) all read and keep it here, so one refresh serves
each of them. Only what they use is kept: names, labels, types, whether the API may write
the field, and where a reference leads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from journey.connectors.salesforce.state import ConnectorState
from journey.connectors.sync import FieldInfo

__all__ = ["described_fields", "field_info", "keep_fields", "kept_fields"]


def field_info(field: Mapping[str, Any]) -> FieldInfo:
    """One entry of describe's ``fields``, as the sync's ``FieldInfo``."""
    return FieldInfo(
        name=str(field.get("name")),
        label=str(field.get("label") or field.get("name")),
        type=str(field.get("type")),
        updateable=bool(field.get("updateable")),
        calculated=bool(field.get("calculated")),
        custom=bool(field.get("custom")),
        relationship=str(field["relationshipName"]) if field.get("relationshipName") else None,
        reference_to=tuple(str(r) for r in field.get("referenceTo") or ()),
    )


def kept_fields(state: ConnectorState, sobject: str) -> list[FieldInfo] | None:
    """What was kept of ``sobject``'s describe, or None when nothing was."""
    kept = state.get(f"describe:{sobject}")
    if not isinstance(kept, list):
        return None
    return [
        FieldInfo(
            name=str(f.get("name")),
            label=str(f.get("label")),
            type=str(f.get("type")),
            updateable=bool(f.get("updateable")),
            calculated=bool(f.get("calculated")),
            custom=bool(f.get("custom")),
            relationship=str(f["relationship"]) if f.get("relationship") else None,
            reference_to=tuple(str(r) for r in f.get("reference_to") or ()),
        )
        for f in kept
        if isinstance(f, dict)
    ]


def keep_fields(state: ConnectorState, sobject: str, fields: Sequence[FieldInfo]) -> None:
    state.put(f"describe:{sobject}", [asdict(f) for f in fields])


def described_fields(
    state: ConnectorState,
    sobject: str,
    describe: Callable[[], Mapping[str, Any]],
    *,
    refresh: bool = False,
) -> list[FieldInfo]:
    """``sobject``'s kept fields, else (or with ``refresh``) ``describe()``'s answer, kept.
    Read from the state each time, so a refresh by another process reaches this one."""
    if not refresh:
        kept = kept_fields(state, sobject)
        if kept is not None:
            return kept
    fields = [field_info(f) for f in describe().get("fields", []) if isinstance(f, Mapping)]
    keep_fields(state, sobject, fields)
    return fields
