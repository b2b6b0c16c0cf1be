"""What particular objects do on every write: compound names, person accounts, lead
statuses, task and opportunity flags, event times, campaign member statuses.

Pipeline position: called by ``org``'s write path between applying the client's values
(``write_checks.apply_values``) and validating the result (``write_checks.validate``), so
the derived values are checked and stored with the write.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from journey.emulator.errors import ApiError
from journey.emulator.schema import ObjectDef
from journey.emulator.values import format_datetime, parse_datetime

if TYPE_CHECKING:
    from journey.emulator.org import Org

__all__ = [
    "canonical_lead_status",
    "check_new_member",
    "default_lead_status",
    "derive",
    "is_person_record_type",
    "lead_status",
    "lead_statuses",
    "status_name",
    "sync_person_contact",
]

Record = dict[str, Any]

# Account field of a person account → field of its person Contact.
_PERSON_FIELDS = {
    "PersonEmail": "Email",
    "PersonMobilePhone": "MobilePhone",
    "PersonHasOptedOutOfEmail": "HasOptedOutOfEmail",
    "FirstName": "FirstName",
    "LastName": "LastName",
    "OwnerId": "OwnerId",
}
_CLOSED_STAGES = {"closed won": True, "closed lost": False}


def derive(org: Org, definition: ObjectDef, record: Record, creating: bool) -> None:
    name = definition.name
    if name == "Account" and definition.field("IsPersonAccount"):
        if creating and not record.get("RecordTypeId"):
            record["RecordTypeId"] = default_business_record_type(org)
        record["IsPersonAccount"] = is_person_record_type(org, record.get("RecordTypeId"))
    if name in ("Lead", "Contact", "User") or record.get("IsPersonAccount"):
        record["Name"] = (
            " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p) or None
        )
    if name == "Lead" and record.get("Status") is None and creating:
        record["Status"] = default_lead_status(org)
    if name == "Task":
        record["Status"] = record.get("Status") or "Not Started"
        record["Priority"] = record.get("Priority") or "Normal"
        record["IsClosed"] = record["Status"] == "Completed"
    if name == "Opportunity":
        stage = str(record.get("StageName") or "").lower()
        record["IsClosed"] = stage in _CLOSED_STAGES
        record["IsWon"] = _CLOSED_STAGES.get(stage, False)
    if name == "Event":
        _derive_event(record)
    if name == "CampaignMember":
        derive_campaign_member(org, record)


def is_person_record_type(org: Org, record_type_id: Any) -> bool:
    """Whether an Account of this record type is a person account: its record type's
    ``IsPersonType`` decides, so an Account created without one is a business account
    (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_guidelines_personaccounts.htm)."""
    if not isinstance(record_type_id, str) or not record_type_id:
        return False
    found = org.store.get(record_type_id)
    return found is not None and found[0] == "RecordType" and bool(found[1].get("IsPersonType"))


def default_business_record_type(org: Org) -> str | None:
    """The record type an Account created without one gets: the org's first active
    business (not person) Account record type."""
    for record_type in org.store.scan("RecordType"):
        if (
            record_type.get("SobjectType") == "Account"
            and record_type.get("IsActive")
            and not record_type.get("IsPersonType")
        ):
            return str(record_type["Id"])
    return None


def lead_statuses(org: Org) -> list[Record]:
    return sorted(org.store.scan("LeadStatus"), key=lambda s: s.get("SortOrder") or 0)


def status_name(status: Record) -> str:
    """A LeadStatus's API name: the value a Lead's ``Status`` holds and ``convertLead``
    takes (``ApiName``, "Uniquely identifies a picklist value", API 36.0 and later:
    https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-leadstatus.html).
    ``MasterLabel`` is what people read; the two differ once an admin renames a label."""
    return str(status.get("ApiName") or status["MasterLabel"])


def default_lead_status(org: Org) -> str | None:
    statuses = lead_statuses(org)
    default = next((s for s in statuses if s.get("IsDefault")), statuses[0] if statuses else None)
    return status_name(default) if default else None


def canonical_lead_status(org: Org, value: Any) -> str:
    found = lead_status(org, value) if isinstance(value, str) else None
    if found is not None:
        return status_name(found)
    raise ApiError(
        400,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        f"Lead Status: bad value for restricted picklist field: {value}",
        ["Status"],
    )


def lead_status(org: Org, name: str) -> Record | None:
    """The LeadStatus whose API name is ``name`` (any case)."""
    wanted = name.lower()
    return next((s for s in lead_statuses(org) if status_name(s).lower() == wanted), None)


def derive_campaign_member(org: Org, record: Record) -> None:
    statuses = [
        s
        for s in org.store.scan("CampaignMemberStatus")
        if s.get("CampaignId") == record.get("CampaignId")
    ]
    if not record.get("Status") and statuses:
        default = next((s for s in statuses if s.get("IsDefault")), statuses[0])
        record["Status"] = default["Label"]
    chosen = next(
        (s for s in statuses if str(s["Label"]).lower() == str(record.get("Status")).lower()),
        None,
    )
    if statuses and chosen is None:
        raise ApiError(
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Status: bad value for campaign member status: {record.get('Status')}",
            ["Status"],
        )
    if chosen is not None:
        record["Status"] = chosen["Label"]
        record["HasResponded"] = bool(chosen.get("HasResponded"))
        if record["HasResponded"] and not record.get("FirstRespondedDate"):
            record["FirstRespondedDate"] = org.today().isoformat()


def check_new_member(org: Org, record: Record) -> None:
    for member in org.store.scan("CampaignMember"):
        if member.get("CampaignId") == record.get("CampaignId") and (
            (record.get("LeadId") and member.get("LeadId") == record.get("LeadId"))
            or (record.get("ContactId") and member.get("ContactId") == record.get("ContactId"))
        ):
            raise ApiError(400, "DUPLICATE_VALUE", "Already a campaign member.")


def sync_person_contact(org: Org, account: Record) -> None:
    """A person account's contact half mirrors its Person* and ``__pc`` fields."""
    changes = {contact: account.get(field) for field, contact in _PERSON_FIELDS.items()}
    for key, value in account.items():
        if key.endswith("__pc"):
            changes[key[:-4] + "__c"] = value
    contact_id = account.get("PersonContactId")
    if contact_id:
        org.system_update(contact_id, {**changes, "Name": account.get("Name")})
        return
    contact_id = org.create(
        "Contact", {k: v for k, v in changes.items() if v is not None}, system=True
    )
    org.system_update(contact_id, {"AccountId": account["Id"], "IsPersonAccount": True})
    account["PersonContactId"] = contact_id
    org.store.replace(account)


def _derive_event(record: Record) -> None:
    start = record.get("StartDateTime") or record.get("ActivityDateTime")
    if not start:
        return
    begin = parse_datetime(start)
    record["StartDateTime"] = record["ActivityDateTime"] = format_datetime(begin)
    record["ActivityDate"] = begin.date().isoformat()
    if record.get("EndDateTime"):
        minutes = (parse_datetime(record["EndDateTime"]) - begin).total_seconds() // 60
        record["DurationInMinutes"] = int(minutes)
    elif record.get("DurationInMinutes") is not None:
        end = begin + timedelta(minutes=int(record["DurationInMinutes"]))
        record["EndDateTime"] = format_datetime(end)
