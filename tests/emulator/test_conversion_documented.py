"""SOAP convertLead as the LeadConvert reference documents it
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_convertlead.htm):
``contactId`` only with ``accountId`` and only a Contact of that Account ("this contact must
be associated with the specified accountId, and an accountId must be specified"); the
Opportunity named after the Lead's company when ``opportunityName`` is not given;
``convertedStatus`` a converted LeadStatus by its API name (``ApiName``, API 36.0 and later:
https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-leadstatus.html),
whose value the converted Lead's ``Status`` then holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce.api import Salesforce

from journey.emulator import EmulatedOrg
from tests.emulator.test_conversion import NS, convert, result_of
from tests.existing_org import PEOPLE, existing_seed


@pytest.fixture
def org() -> Iterator[EmulatedOrg]:
    """The existing org, whose converted status has an API name of its own (an admin
    renamed its label), and a user who has left."""
    seed = existing_seed()
    seed["LeadStatus"][3] = {
        "MasterLabel": "Customer (converted)",
        "ApiName": "Closed - Converted",
        "IsConverted": True,
    }
    seed["User"].append({"Name": "Gina Gone", "Email": "gone@acme.example", "IsActive": False})
    with EmulatedOrg(seed=seed) as emulated:
        emulated.start()
        yield emulated


@pytest.fixture
def sf(org: EmulatedOrg) -> Salesforce:
    return org.client()


def lead(sf: Salesforce) -> str:
    """A Lead that is owned, unconverted and not the tool's: the org's Prospect Ltd one."""
    found = sf.query(f"SELECT Id FROM Lead WHERE Email = '{PEOPLE['qualified']}'")
    return str(found["records"][0]["Id"])


def one(sf: Salesforce, soql: str) -> dict[str, Any]:
    return dict(sf.query(soql)["records"][0])


def error_of(root: Any) -> tuple[str | None, str | None]:
    return (
        root.findtext(".//p:errors/p:statusCode", None, NS),
        root.findtext(".//p:errors/p:fields", None, NS),
    )


def test_a_contact_id_needs_its_account_id(sf: Salesforce) -> None:
    sam = one(sf, f"SELECT Id, AccountId FROM Contact WHERE Email = '{PEOPLE['contact']}'")
    lead_id = lead(sf)
    _, root = convert(sf, contactId=sam["Id"], convertedStatus="Closed - Converted", leadId=lead_id)
    assert result_of(root)["success"] == "false"
    assert error_of(root) == ("REQUIRED_FIELD_MISSING", "accountId")
    assert sf.Lead.get(lead_id)["IsConverted"] is False
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Prospect Ltd'")["totalSize"] == 0
    _, root = convert(
        sf,
        accountId=sam["AccountId"],
        contactId=sam["Id"],
        convertedStatus="Closed - Converted",
        leadId=lead_id,
    )
    result = result_of(root)
    assert (result["success"], result["contactId"]) == ("true", sam["Id"])


def test_the_contact_must_belong_to_the_account(sf: Salesforce) -> None:
    sam = one(sf, f"SELECT Id FROM Contact WHERE Email = '{PEOPLE['contact']}'")  # Globex's
    initech = one(sf, "SELECT Id FROM Account WHERE Name = 'Initech'")["Id"]
    lead_id = lead(sf)
    _, root = convert(
        sf,
        accountId=initech,
        contactId=sam["Id"],
        convertedStatus="Closed - Converted",
        leadId=lead_id,
    )
    assert error_of(root) == ("INVALID_CROSS_REFERENCE_KEY", "contactId")
    assert sf.Lead.get(lead_id)["IsConverted"] is False


def test_the_opportunity_is_named_after_the_company(sf: Salesforce) -> None:
    _, root = convert(sf, convertedStatus="Closed - Converted", leadId=lead(sf))
    opportunity = sf.Opportunity.get(str(result_of(root)["opportunityId"]))
    assert opportunity["Name"] == "Prospect Ltd"
    _, root = convert(
        sf,
        convertedStatus="Closed - Converted",
        leadId=str(one(sf, "SELECT Id FROM Lead WHERE LastName = 'NoEmail'")["Id"]),
        opportunityName="Quiet renewal",
    )
    assert sf.Opportunity.get(str(result_of(root)["opportunityId"]))["Name"] == "Quiet renewal"


def test_the_converted_status_is_taken_by_its_api_name(sf: Salesforce) -> None:
    status = one(sf, "SELECT MasterLabel, ApiName FROM LeadStatus WHERE IsConverted = true")
    assert status == {
        "attributes": status["attributes"],
        "MasterLabel": "Customer (converted)",
        "ApiName": "Closed - Converted",
    }
    lead_id = lead(sf)
    _, root = convert(sf, convertedStatus="Customer (converted)", leadId=lead_id)
    assert error_of(root)[0] == "INVALID_STATUS"  # a label is not a picklist value
    _, root = convert(sf, convertedStatus="Closed - Converted", leadId=lead_id)
    assert result_of(root)["success"] == "true"
    assert sf.Lead.get(lead_id)["Status"] == "Closed - Converted"
    seeded = one(sf, f"SELECT Status FROM Lead WHERE Email = '{PEOPLE['converted']}'")
    assert seeded["Status"] == "Closed - Converted"  # the seed's conversion too


def test_an_inactive_owner_cannot_receive_the_conversion(sf: Salesforce) -> None:
    gone = one(sf, "SELECT Id FROM User WHERE Email = 'gone@acme.example'")["Id"]
    lead_id = lead(sf)
    _, root = convert(sf, convertedStatus="Closed - Converted", leadId=lead_id, ownerId=gone)
    assert error_of(root)[0] == "INACTIVE_OWNER_OR_USER"
    assert sf.Lead.get(lead_id)["IsConverted"] is False
