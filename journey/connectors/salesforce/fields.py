"""``update salesforce field "F" to "V"``: updates an existing record, never creates one.

Pipeline position: connector → **fields** → batching. The field is named by its label
("Plan Tier") or API name (``Plan_Tier__c``), resolved through the object's ``describe``
as the connector's state keeps it (``describe``, shared with the sync and refreshed by
``journey salesforce fields refresh``); a field the kept describe lacks is looked for in
one fresh describe, in case it was created since. The value is sent typed (a checkbox as true/false,
a number as a number). A contact with no Salesforce record is skipped, with why; an
unknown or read-only field fails every contact with an error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from journey.connectors.base import RecordChange
from journey.connectors.salesforce.describe import described_fields
from journey.connectors.salesforce.records import Item, Workspace, known_type
from journey.connectors.salesforce.state import Link
from journey.connectors.sync import FieldInfo
from journey.dsl.syntax import UpdateSalesforceField
from journey.vocabulary import standard_field

__all__ = ["describe_field", "update_fields"]

_NUMBER = {"double", "currency", "percent", "int"}


def describe_field(ws: Workspace, sobject: str, name: str) -> FieldInfo | None:
    """``sobject``'s field named ``name``: a standard contact field ("Lead Status" is
    ``Status`` on a Lead), else an API name, else a label. Journeys name fields the way the
    engine does, so the engine's names must win over labels."""
    standard = standard_field(name)
    api_name = standard.field_on(sobject) if standard else None
    wanted = (api_name or name).strip().casefold()

    key = f"described:{sobject}"  # set once this pass has read it from the org

    def read() -> Mapping[str, Any]:
        ws.cache[key] = True
        return dict(ws.api.call(lambda: getattr(ws.api.sf, sobject).describe()))

    found = _named(described_fields(ws.state, sobject, read), wanted)
    if found is None and key not in ws.cache:
        found = _named(described_fields(ws.state, sobject, read, refresh=True), wanted)
    return found


def _named(fields: Sequence[FieldInfo], wanted: str) -> FieldInfo | None:
    for field in fields:
        if field.name.casefold() == wanted:
            return field
    for field in fields:
        if field.label.casefold() == wanted:
            return field
    return None


def _typed(field: FieldInfo, value: str) -> Any:
    kind = field.type
    if value == "":
        return None
    if kind == "boolean":
        return value.strip().lower() in ("true", "yes", "1", "y")
    if kind in _NUMBER:
        number = float(value.replace(",", ""))
        return int(number) if kind == "int" else number
    return value


def update_fields(ws: Workspace, action: UpdateSalesforceField, items: Sequence[Item]) -> None:
    links = ws.state.links(i.contact.id for i in items if not i.contact.salesforce_id)
    for item in items:
        c = item.contact
        if c.salesforce_id:
            item.record_id, item.record_type = c.salesforce_id, known_type(c)
        elif c.id in links:
            link: Link = links[c.id]
            item.record_id, item.record_type, item.new_link = (
                link.salesforce_id,
                link.salesforce_type,
                True,
            )
        else:
            item.finish(
                "skipped",
                why="the contact has no Salesforce record "
                "(update salesforce field never creates one)",
            )
    for sobject in ("Lead", "Contact"):
        batch = [i for i in items if i.live and i.record_type == sobject]
        if not batch:
            continue
        name = str(action.field)
        field = describe_field(ws, sobject, name)
        if field is None or not field.updateable:
            why = "no such field" if field is None else f"{field.name} is read-only"
            for item in batch:
                item.finish(
                    "failed",
                    code="INVALID_FIELD",
                    message=f'update salesforce field "{name}" on {sobject} {item.record_id}: '
                    f"{why} (by label or API name)",
                )
            continue
        payloads: list[dict[str, Any]] = []
        ready: list[Item] = []
        for item in batch:
            value = str(item.params.get("value") or "")
            try:
                payloads.append({"Id": item.record_id, field.name: _typed(field, value)})
                ready.append(item)
            except ValueError:
                item.finish(
                    "failed",
                    code="INVALID_TYPE_ON_FIELD_IN_RECORD",
                    message=f'{sobject} {item.record_id}: "{value}" is not a number for '
                    f"{field.name}",
                )
        saved = ws.api.update(sobject, payloads, ws.update_headers) if payloads else []
        for item, outcome in zip(ready, saved, strict=True):
            value = str(item.params.get("value") or "")
            if outcome.ok:
                item.records.append(
                    RecordChange(sobject, str(item.record_id), "update", {field.name: value})
                )
                item.fields[name] = value
                item.finish("done")
            else:
                item.fail(outcome, f"{sobject} {item.record_id}")
