"""Records over HTTPS with simple-salesforce: CRUD, IDs, describe, required and read-only
fields, formula fields, person accounts, the recycle bin."""

from __future__ import annotations

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound
from syrupy.assertion import SnapshotAssertion

from journey.emulator import EmulatedOrg, checksum, to_18


def test_the_checksum_vector_from_the_spec() -> None:
    assert checksum("70130000001tcyI") == "AAQ"
    assert to_18("70130000001tcyI") == "70130000001tcyIAAQ"
    assert to_18("70130000001tcyIAAQ") == "70130000001tcyIAAQ"


def test_create_get_update_delete_a_lead(sf: Salesforce) -> None:
    created = sf.Lead.create(
        {"LastName": "Roe", "Company": "Initech", "Email": "r@initech.example"}
    )
    assert created["success"] is True
    assert created["errors"] == []
    lead_id = created["id"]
    assert len(lead_id) == 18
    assert lead_id.startswith("00Q")
    assert to_18(lead_id[:15]) == lead_id

    lead = sf.Lead.get(lead_id)
    assert lead["attributes"]["type"] == "Lead"
    assert (lead["Name"], lead["Company"], lead["Status"]) == (
        "Roe",
        "Initech",
        "Open - Not Contacted",
    )
    assert lead["IsDeleted"] is False
    assert lead["IsConverted"] is False
    assert lead["CreatedDate"] == lead["LastModifiedDate"] == lead["SystemModstamp"]
    assert lead["CreatedDate"].endswith("+0000")

    assert sf.Lead.update(lead_id, {"Title": "CTO", "FirstName": "Rita"}) == 204
    again = sf.Lead.get(lead_id[:15])  # a 15-character ID is accepted too
    assert (again["Title"], again["Name"], again["Id"]) == ("CTO", "Rita Roe", lead_id)

    assert sf.Lead.delete(lead_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as deleted:
        sf.Lead.get(lead_id)
    assert deleted.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.delete(lead_id)


def test_unknown_ids_are_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Lead.get("00Q5E0000009999")
    assert missing.value.content[0]["errorCode"] == "NOT_FOUND"
    account_id = sf.Account.create({"Name": "Hooli"})["id"]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(account_id)  # an Account's ID on the Lead path


def test_required_fields_are_named(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.create({"LastName": "Nobody"})
    error = refused.value.content[0]
    assert error["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert error["message"] == "Required fields are missing: [Company]"
    assert error["fields"] == ["Company"]
    with pytest.raises(SalesforceMalformedRequest) as opportunity:
        sf.Opportunity.create({"Name": "Deal"})
    assert opportunity.value.content[0]["fields"] == ["StageName", "CloseDate"]


def test_read_only_unknown_and_badly_typed_fields_are_refused(sf: Salesforce) -> None:
    lead_id = sf.Lead.create({"LastName": "Poe", "Company": "Raven"})["id"]
    cases = [
        ({"IsConverted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsConverted"]),
        ({"Score__c": 3}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["Score__c"]),
        (
            {"CreatedDate": "2020-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["CreatedDate"],
        ),
        ({"Shoe_Size__c": 9}, "INVALID_FIELD", []),
        ({"Email": "not-an-address"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
        ({"AnnualRevenue": "lots"}, "JSON_PARSER_ERROR", ["AnnualRevenue"]),
        ({"Status": "Daydreaming"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"]),
        ({"OwnerId": "0055E0000000999"}, "INVALID_CROSS_REFERENCE_KEY", ["OwnerId"]),
    ]
    for values, code, fields in cases:
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.Lead.update(lead_id, values)
        assert (refused.value.content[0]["errorCode"], refused.value.content[0]["fields"]) == (
            code,
            fields,
        ), values
    assert sf.Lead.get(lead_id)["LastModifiedDate"] == sf.Lead.get(lead_id)["CreatedDate"]


def test_custom_and_formula_fields(sf: Salesforce, org: EmulatedOrg) -> None:
    lead_id = sf.Lead.create(
        {"LastName": "Fox", "Company": "Den", "AnnualRevenue": 42000, "Plan_Tier__c": "Gold"}
    )["id"]
    lead = sf.Lead.get(lead_id)
    assert (lead["Plan_Tier__c"], lead["Score__c"]) == ("Gold", 42.0)
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert fields["Score__c"]["calculated"] is True
    assert fields["Score__c"]["updateable"] is False
    assert fields["Score__c"]["custom"] is True
    assert fields["Plan_Tier__c"]["updateable"] is True
    assert fields["HasOptedOutOfEmail"]["type"] == "boolean"
    assert fields["OwnerId"]["referenceTo"] == ["User", "Group"]
    assert fields["OwnerId"]["relationshipName"] == "Owner"
    assert fields["IsConverted"]["updateable"] is False
    # A formula's inputs change through an update; the formula itself never bumps a stamp.
    stamp = lead["SystemModstamp"]
    assert sf.Lead.get(lead_id)["SystemModstamp"] == stamp
    assert (
        sf.query(f"SELECT Score__c FROM Lead WHERE Id = '{lead_id}'")["records"][0]["Score__c"]
        == 42.0
    )


def test_global_describe_lists_the_objects(sf: Salesforce) -> None:
    names = {o["name"]: o for o in sf.describe()["sobjects"]}
    assert {
        "Lead",
        "Contact",
        "Account",
        "Opportunity",
        "Task",
        "Event",
        "Campaign",
        "CampaignMember",
        "User",
        "Group",
        "LeadStatus",
    } <= set(names)
    assert names["Lead"]["keyPrefix"] == "00Q"
    assert names["Campaign"]["keyPrefix"] == "701"


def test_activities_and_campaign_members(sf: Salesforce) -> None:
    lead_id = sf.query("SELECT Id FROM Lead WHERE Email = 'jo@acme.example'")["records"][0]["Id"]
    task = sf.Task.get(sf.Task.create({"Subject": "Call", "WhoId": lead_id})["id"])
    assert (task["Status"], task["Priority"], task["IsClosed"]) == ("Not Started", "Normal", False)
    event = sf.Event.get(
        sf.Event.create(
            {
                "Subject": "Demo",
                "WhoId": lead_id,
                "StartDateTime": "2030-01-02T10:00:00Z",
                "DurationInMinutes": 30,
            }
        )["id"]
    )
    assert event["EndDateTime"] == "2030-01-02T10:30:00.000+0000"
    campaign_id = sf.query("SELECT Id FROM Campaign")["records"][0]["Id"]
    member_id = sf.CampaignMember.create({"CampaignId": campaign_id, "LeadId": lead_id})["id"]
    assert sf.CampaignMember.get(member_id)["Status"] == "Sent"
    sf.CampaignMember.update(member_id, {"Status": "Attended"})
    assert sf.CampaignMember.get(member_id)["HasResponded"] is True
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.CampaignMember.create({"CampaignId": campaign_id, "LeadId": lead_id})
    assert duplicate.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    with pytest.raises(SalesforceMalformedRequest) as status:
        sf.CampaignMember.update(member_id, {"Status": "Bored"})
    assert status.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_upsert_by_external_id(sf: Salesforce) -> None:
    assert sf.Lead.upsert("Email/new@acme.example", {"LastName": "New", "Company": "Acme"}) == 201
    assert sf.Lead.upsert("Email/new@acme.example", {"Title": "VP"}) == 200
    found = sf.query("SELECT Title FROM Lead WHERE Email = 'new@acme.example'")
    assert found["totalSize"] == 1
    assert found["records"][0]["Title"] == "VP"


def test_lead_describe_is_stable(sf: Salesforce, snapshot: SnapshotAssertion) -> None:
    """The Lead's fields as describe reports them: the contract the sync reads."""
    fields = sf.Lead.describe()["fields"]
    table = [
        f"{f['name']}: {f['type']}"
        + "".join(
            f" {flag}"
            for flag in ("createable", "updateable", "calculated", "custom", "nillable")
            if f[flag]
        )
        for f in fields
    ]
    assert table == snapshot
