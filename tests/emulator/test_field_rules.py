"""Field rules from Salesforce's field reference: each text field's length in describe, and
a value past it refused with STRING_TOO_LONG naming the field, on every write path.

Lengths: the Field Reference, one page per object, e.g.
https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-lead.html
("The maximum number of characters in the field ... You can't set it to a value longer",
https://developer.salesforce.com/docs/atlas.en-us.256.0.sfFieldRef.meta/sfFieldRef/salesforce_field_reference.htm).
Refusal rather than truncation: AllowFieldTruncationHeader, "For API version 15.0 and later,
if a value is too large, the operation fails and the fault code STRING_TOO_LONG is returned"
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_allowfieldtruncation.htm).
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg, SeedError
from tests.existing_org import PEOPLE, existing_seed


def lengths(sf: Any, sobject: str) -> dict[str, int]:
    return {f["name"]: f["length"] for f in getattr(sf, sobject).describe()["fields"]}


def refusal(error: pytest.ExceptionInfo[SalesforceMalformedRequest]) -> dict[str, Any]:
    content = error.value.content
    assert isinstance(content, list)
    return dict(content[0])


def test_describe_shows_the_documented_lengths(existing_org: EmulatedOrg) -> None:
    sf = existing_org.client()
    lead = lengths(sf, "Lead")
    assert (lead["City"], lead["Company"], lead["LastName"], lead["FirstName"]) == (40, 255, 80, 40)
    assert (lead["Email"], lead["Phone"], lead["Title"], lead["PostalCode"]) == (80, 40, 128, 20)
    assert (lead["Street"], lead["Description"]) == (255, 32000)  # textareas have lengths too
    assert (lead["Id"], lead["OwnerId"], lead["AnnualRevenue"]) == (18, 18, 0)
    contact = lengths(sf, "Contact")
    assert (contact["MailingCity"], contact["Department"], contact["Title"]) == (40, 80, 128)
    account = lengths(sf, "Account")
    assert (account["Name"], account["BillingCity"], account["BillingPostalCode"]) == (255, 40, 20)
    assert lengths(sf, "Opportunity")["Name"] == 120
    assert lengths(sf, "Campaign")["Name"] == 80
    assert lengths(sf, "CampaignMember")["Status"] == 40
    assert lengths(sf, "CampaignMemberStatus")["Label"] == 765
    assert (lengths(sf, "User")["Alias"], lengths(sf, "User")["Email"]) == (8, 128)
    status = lengths(sf, "LeadStatus")
    assert (status["MasterLabel"], status["ApiName"]) == (255, 255)


def test_a_create_past_the_length_is_refused_naming_the_field(existing_org: EmulatedOrg) -> None:
    sf = existing_org.client()
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.Lead.create({"LastName": "Long", "Company": "C" * 256})
    assert refusal(error) == {
        "errorCode": "STRING_TOO_LONG",
        "message": f"Company: data value too large: {'C' * 256} (max length=255)",
        "fields": ["Company"],
    }
    exact = sf.Lead.create({"LastName": "Long", "Company": "C" * 255, "City": "x" * 40})["id"]
    assert len(sf.Lead.get(exact)["Company"]) == 255  # the length itself fits, uncut
    assert sf.query("SELECT COUNT() FROM Lead WHERE LastName = 'Long'")["totalSize"] == 1


def test_an_update_past_the_length_is_refused_and_changes_nothing(
    existing_org: EmulatedOrg,
) -> None:
    sf = existing_org.client()
    contact = sf.query(f"SELECT Id FROM Contact WHERE Email = '{PEOPLE['contact']}'")
    contact_id = contact["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.Contact.update(contact_id, {"Title": "Boss", "MailingCity": "Llanfair" * 6})
    answer = refusal(error)
    assert (answer["errorCode"], answer["fields"]) == ("STRING_TOO_LONG", ["MailingCity"])
    assert answer["message"].startswith("Mailing City: data value too large: Llanfair")
    assert answer["message"].endswith("(max length=40)")
    assert sf.Contact.get(contact_id)["Title"] is None


def test_collections_and_bulk_refuse_per_record(existing_org: EmulatedOrg) -> None:
    sf = existing_org.client()
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {"attributes": {"type": "Lead"}, "LastName": "Fits", "Company": "Co"},
                {"attributes": {"type": "Lead"}, "LastName": "L" * 81, "Company": "Co"},
            ]
        },
    )
    assert results[0]["success"] is True
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert results[1]["errors"][0]["fields"] == ["LastName"]
    outcome = sf.bulk2.Lead.insert(
        records=[{"LastName": "Bulk", "Company": "Co", "State": "S" * 81}], wait=0
    )
    job = outcome[0]["job_id"]
    failed = sf.bulk2.Lead.get_failed_records(job)
    assert "STRING_TOO_LONG" in failed
    assert "State: data value too large" in failed


def test_the_message_names_the_field_by_its_label(existing_org: EmulatedOrg) -> None:
    sf = existing_org.client()
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.Account.create({"Name": "A" * 256})
    answer = refusal(error)
    assert answer["message"].startswith("Account Name: data value too large: AAAA")
    assert answer["fields"] == ["Name"]


def test_a_custom_field_has_its_declared_length() -> None:
    seed = existing_seed()
    seed["fields"]["Lead"].append({"name": "Code__c", "type": "string", "length": 5})
    with EmulatedOrg(seed=seed) as org:
        org.start()
        sf = org.client()
        assert lengths(sf, "Lead")["Code__c"] == 5
        assert lengths(sf, "Lead")["Plan_Tier__c"] == 255  # undeclared: a Text field's 255
        with pytest.raises(SalesforceMalformedRequest) as error:
            sf.Lead.create({"LastName": "X", "Company": "Co", "Code__c": "ABCDEF"})
        assert refusal(error)["message"] == "Code: data value too large: ABCDEF (max length=5)"
    seed["fields"]["Lead"][-1]["length"] = 256
    with pytest.raises(SeedError, match="'length' is 1 to 255"):
        EmulatedOrg(seed=seed).start()


def test_a_seed_value_past_the_length_names_the_entry() -> None:
    seed = existing_seed()
    seed["Lead"].append({"LastName": "Far", "Company": "Co", "City": "c" * 41})
    with pytest.raises(SeedError, match=r"Lead\[7\]: STRING_TOO_LONG: City: data value too large"):
        EmulatedOrg(seed=seed).start()


def test_campaign_members_record_the_first_responded_date(existing_org: EmulatedOrg) -> None:
    """``FirstRespondedDate``, as the CampaignMember field reference names it
    (https://developer.salesforce.com/docs/atlas.en-us.220.0.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_CampaignMember.htm)."""
    sf = existing_org.client()
    member = sf.query(
        "SELECT Id, HasResponded, FirstRespondedDate FROM CampaignMember "
        "WHERE Lead.Email = 'converted@prospect.example'"
    )["records"][0]
    assert (member["HasResponded"], member["FirstRespondedDate"]) == (False, None)
    sf.CampaignMember.update(member["Id"], {"Status": "Attended"})
    answered = sf.CampaignMember.get(member["Id"])
    assert answered["HasResponded"] is True
    assert answered["FirstRespondedDate"] == existing_org.org.today().isoformat()
    assert "FirstDateResponded" not in lengths(sf, "CampaignMember")
