"""The checks every record write passes, worded as a real org refuses: unknown and read-only
fields, value types, text lengths, required fields, references, queue and inactive owners.

Pipeline position: inside ``org``'s write path (``Org.create`` / ``Org.update``), which
REST, Composite, Bulk and the seed all go through. ``apply_values`` runs first: it takes
the client's values into the record, refusing what no write may set. Then
``object_rules.derive`` fills the values particular objects compute, and ``validate``
checks the whole record — so a derived value is checked like a given one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from journey.emulator.errors import ApiError
from journey.emulator.ids import InvalidIdError, object_for_id, to_18
from journey.emulator.object_rules import canonical_lead_status, check_new_member
from journey.emulator.schema import FieldDef, ObjectDef
from journey.emulator.values import ValueRefusedError, coerce, coerce_text

if TYPE_CHECKING:
    from journey.emulator.org import Org

__all__ = ["apply_values", "check_active_owner", "validate"]

Record = dict[str, Any]


def apply_values(
    definition: ObjectDef,
    record: Record,
    values: Mapping[str, Any],
    *,
    creating: bool,
    from_text: bool,
    system: bool,
) -> None:
    """Take the client's ``values`` into ``record``, typed per field (``from_text``: Bulk
    CSV cells). Every read-only field named is refused together, as Salesforce lists them.
    ``system`` writes (the seed) may set fields the API may not."""
    read_only: list[str] = []
    for key, raw in values.items():
        if key == "attributes":
            continue
        field = definition.field(key)
        if field is None:
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"No such column '{key}' on sobject of type {definition.name}",
            )
        if field.name == "Id":
            if not creating and isinstance(raw, str) and _same_id(raw, record.get("Id")):
                continue
            read_only.append(field.name)
            continue
        allowed = field.createable if creating else field.updateable
        if field.calculated or (not allowed and not system):
            read_only.append(field.name)
            continue
        try:
            value = coerce_text(field, raw) if from_text else coerce(field, raw)
        except ValueRefusedError as error:
            raise ApiError(400, error.code, error.message, [field.name]) from None
        _check_length(field, value)
        record[field.name] = value
    if read_only:
        raise ApiError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(read_only)}. Please check the "
            "security settings of this field and verify that it is read/write for your "
            "profile or permission set.",
            read_only,
        )


def validate(
    org: Org,
    definition: ObjectDef,
    record: Record,
    values: Mapping[str, Any],
    creating: bool,
    *,
    system: bool = False,
) -> None:
    """Check the record as it would be stored: required fields, the references the client
    set (an owner must be an active user or a queue), a Lead's status (made canonical) and
    a new campaign member's uniqueness. ``system`` writes (the seed) may keep an inactive
    owner: a real org holds records of people who have left."""
    missing = [
        f.name
        for f in definition.fields.values()
        if f.required and record.get(f.name) in (None, "")
    ]
    if definition.name == "Account":
        # A business account needs its Name; a person account (its record type's
        # IsPersonType) its LastName, Name being first + last.
        person = record.get("IsPersonAccount")
        if not person and not record.get("Name"):
            missing.append("Name")
        if person and not record.get("LastName"):
            missing.append("LastName")
    if definition.name == "Event":
        if not record.get("StartDateTime"):
            missing.append("ActivityDateTime")
        if not record.get("EndDateTime"):
            missing.append("DurationInMinutes")
    if definition.name == "CampaignMember" and not (
        record.get("LeadId") or record.get("ContactId")
    ):
        missing.append("ContactId or LeadId")
    if missing:
        raise ApiError(
            400,
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )
    for key in values:
        field = definition.field(key)
        if field is not None and field.type == "reference" and record.get(field.name):
            _check_reference(org, field.name, field.reference_to, record[field.name])
            if field.name == "OwnerId" and not system:
                check_active_owner(org, record[field.name], record.get("Id"))
    if definition.name == "Lead" and ("Status" in values or creating):
        record["Status"] = canonical_lead_status(org, record.get("Status"))
    if definition.name == "CampaignMember" and creating:
        check_new_member(org, record)


def check_active_owner(org: Org, owner_id: str, record_id: Any) -> None:
    """An inactive user cannot be given a record: Salesforce answers
    INACTIVE_OWNER_OR_USER, "operation performed with inactive user" (Salesforce Help,
    https://help.salesforce.com/apex/HTViewSolution?id=000205862&language=en_US; the code
    is one of the API's StatusCodes,
    https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm).
    The "… as owner of …" tail follows what orgs answer (inferred)."""
    found = org.store.get(owner_id)
    if found is None or found[0] != "User" or found[1].get("IsActive", True):
        return
    raise ApiError(
        400,
        "INACTIVE_OWNER_OR_USER",
        f"operation performed with inactive user {owner_id[:15]} as owner of "
        f"{str(record_id or '')[:15]}",
        ["OwnerId"],
    )


def _check_length(field: FieldDef, value: Any) -> None:
    """A text value longer than the field's length is refused, never cut: from API 15.0
    on, "if a value is too large, the operation fails and the fault code STRING_TOO_LONG
    is returned" — truncation only with SOAP's AllowFieldTruncationHeader
    (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_allowfieldtruncation.htm),
    which REST has no header for (``Sforce-Call-Options`` carries only ``client`` and
    ``defaultNamespace``:
    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_calloptions.htm).
    The message is Salesforce's: the field's label, the value, the length."""
    if not isinstance(value, str) or field.type in ("id", "reference"):
        return
    most = field.max_length
    if most and len(value) > most:
        raise ApiError(
            400,
            "STRING_TOO_LONG",
            f"{field.display_label}: data value too large: {value} (max length={most})",
            [field.name],
        )


def _check_reference(org: Org, name: str, targets: tuple[str, ...], value: str) -> None:
    kind = object_for_id(value)
    if kind not in targets:
        raise ApiError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            f"{name}: id value of incorrect type: {value}",
            [name],
        )
    found = org.store.get(value)
    if found is None or found[2]:
        raise ApiError(
            400, "INVALID_CROSS_REFERENCE_KEY", f"{name}: invalid cross reference id", [name]
        )
    if kind == "Group" and name == "OwnerId" and found[1].get("Type") != "Queue":
        raise ApiError(
            400,
            "INVALID_CROSS_REFERENCE_KEY",
            f"{name}: the group {value} is not a queue",
            [name],
        )


def _same_id(given: str, actual: Any) -> bool:
    try:
        return bool(to_18(given) == actual)
    except InvalidIdError:
        return False
