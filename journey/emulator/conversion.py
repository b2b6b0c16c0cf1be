"""Lead conversion: a Lead becomes an Account (unless one is given), a Contact and,
unless asked not to, an Opportunity; the Lead is marked converted and frozen.

Pipeline position: called by ``soap`` (Salesforce has no REST convert endpoint; clients
use SOAP ``convertLead``). One conversion is one transaction: a refusal leaves nothing
half-created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from journey.emulator.errors import ApiError
from journey.emulator.object_rules import status_name
from journey.emulator.org import Org

__all__ = ["LeadConvert", "LeadConvertResult", "convert_lead"]

Record = dict[str, Any]

# Lead field → Contact field, as the standard lead field mapping copies them.
_CONTACT_MAP = {
    "Salutation": "Salutation",
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Email": "Email",
    "Phone": "Phone",
    "MobilePhone": "MobilePhone",
    "Title": "Title",
    "LeadSource": "LeadSource",
    "Street": "MailingStreet",
    "City": "MailingCity",
    "State": "MailingState",
    "PostalCode": "MailingPostalCode",
    "Country": "MailingCountry",
    "HasOptedOutOfEmail": "HasOptedOutOfEmail",
    "DoNotCall": "DoNotCall",
    "Description": "Description",
}
_ACCOUNT_MAP = {
    "Company": "Name",
    "Industry": "Industry",
    "AnnualRevenue": "AnnualRevenue",
    "NumberOfEmployees": "NumberOfEmployees",
    "Website": "Website",
    "Phone": "Phone",
    "Street": "BillingStreet",
    "City": "BillingCity",
    "State": "BillingState",
    "PostalCode": "BillingPostalCode",
    "Country": "BillingCountry",
}


@dataclass(frozen=True)
class LeadConvert:
    """One ``leadConverts`` element of a ``convertLead`` call."""

    lead_id: str
    converted_status: str | None
    account_id: str | None = None
    contact_id: str | None = None
    do_not_create_opportunity: bool = False
    opportunity_name: str | None = None
    overwrite_lead_source: bool = False
    owner_id: str | None = None


@dataclass(frozen=True)
class LeadConvertResult:
    lead_id: str | None
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    error: ApiError | None = None

    @property
    def success(self) -> bool:
        return self.error is None


def convert_lead(org: Org, request: LeadConvert) -> LeadConvertResult:
    """Convert one Lead; a refusal is returned (as SOAP does), not raised."""
    try:
        with org.store.transaction():
            return _convert(org, request)
    except ApiError as error:
        return LeadConvertResult(lead_id=request.lead_id, error=error)


def _convert(org: Org, request: LeadConvert) -> LeadConvertResult:
    _, lead = org.locate("Lead", request.lead_id)
    if lead.get("IsConverted"):
        raise ApiError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    status = org.lead_status(request.converted_status or "")
    if status is None or not status.get("IsConverted"):
        raise ApiError(
            400,
            "INVALID_STATUS",
            f"invalid convertedStatus: {request.converted_status!r} is not a converted lead status",
        )
    account_id, contact = _targets(org, request)
    owner = request.owner_id or lead.get("OwnerId")
    if owner and owner.startswith("00G"):
        raise ApiError(
            400,
            "INVALID_CROSS_REFERENCE_KEY",
            "a lead owned by a queue needs an ownerId (a user) to be converted",
        )
    values = dict(org.view("Lead", lead))
    if not account_id:
        account_values = _mapped(values, _ACCOUNT_MAP)
        account_values["OwnerId"] = owner
        account_id = org.create("Account", account_values, auto_assign=False)
    contact_values = _mapped(values, _CONTACT_MAP)
    if contact is not None:
        contact_id = contact["Id"]
        if not request.overwrite_lead_source:
            contact_values.pop("LeadSource", None)
        # Merging into an existing contact fills its blanks only.
        blanks = {k: v for k, v in contact_values.items() if contact.get(k) in (None, "")}
        if blanks:
            org.update("Contact", contact_id, blanks, auto_assign=False)
    else:
        contact_values.update({"AccountId": account_id, "OwnerId": owner})
        contact_id = org.create("Contact", contact_values, auto_assign=False)
    opportunity_id = None
    if not request.do_not_create_opportunity:
        opportunity_id = org.create(
            "Opportunity",
            {
                # "If no name is specified, then this value defaults to the company name
                # of the lead" (LeadConvert, opportunityName).
                "Name": request.opportunity_name or values.get("Company") or values["Name"],
                "StageName": "Prospecting",
                "CloseDate": _quarter_end(org.today()).isoformat(),
                "AccountId": account_id,
                "OwnerId": owner,
                "LeadSource": values.get("LeadSource"),
            },
            auto_assign=False,
        )
    # Salesforce carries the lead's campaign history over: its campaign members now also
    # name the new contact, so "campaign member status" still holds after conversion.
    _, members = org.query(f"SELECT Id FROM CampaignMember WHERE LeadId = '{lead['Id']}'", False)
    for member in members:
        org.system_update(str(member["Id"]), {"ContactId": contact_id})
    org.system_update(
        lead["Id"],
        {
            "IsConverted": True,
            "Status": status_name(status),
            "ConvertedDate": org.today().isoformat(),
            "ConvertedAccountId": account_id,
            "ConvertedContactId": contact_id,
            "ConvertedOpportunityId": opportunity_id,
            "OwnerId": owner,
        },
    )
    return LeadConvertResult(lead["Id"], account_id, contact_id, opportunity_id)


def _targets(org: Org, request: LeadConvert) -> tuple[str | None, Record | None]:
    """The Account and Contact to merge into. ``contactId`` needs ``accountId`` and must
    be that Account's Contact: "this contact must be associated with the specified
    accountId, and an accountId must be specified" (LeadConvert,
    https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_convertlead.htm).
    The status codes of these two refusals are not documented (inferred)."""
    account_id = None
    if request.account_id:
        _, account = org.locate("Account", request.account_id)
        account_id = str(account["Id"])
    if not request.contact_id:
        return account_id, None
    if account_id is None:
        raise ApiError(
            400,
            "REQUIRED_FIELD_MISSING",
            "accountId: an accountId must be specified with a contactId",
            ["accountId"],
        )
    _, contact = org.locate("Contact", request.contact_id)
    if contact.get("AccountId") != account_id:
        raise ApiError(
            400,
            "INVALID_CROSS_REFERENCE_KEY",
            f"contactId: the contact {contact['Id']} is not associated with the account "
            f"{account_id}",
            ["contactId"],
        )
    return account_id, contact


def _mapped(values: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    return {
        target: values[source]
        for source, target in mapping.items()
        if values.get(source) not in (None, "")
    }


def _quarter_end(today: date) -> date:
    """The close date Salesforce proposes for a converted opportunity (inferred: the last
    day of the current quarter)."""
    last_month = ((today.month - 1) // 3 + 1) * 3
    if last_month == 12:
        return date(today.year, 12, 31)
    return date(today.year, last_month + 1, 1) - timedelta(days=1)
