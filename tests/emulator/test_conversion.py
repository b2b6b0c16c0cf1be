"""SOAP convertLead over HTTPS: with and without an existing account, the converted
Lead frozen afterwards, and the refusals (status, queue owner, session)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg

NS = {"p": "urn:partner.soap.sforce.com"}


def convert(sf: Salesforce, session_id: str | None = None, **fields: str) -> tuple[int, ET.Element]:
    """POST a convertLead envelope the way an integration does (fields in WSDL order)."""
    order = [
        "accountId",
        "contactId",
        "convertedStatus",
        "doNotCreateOpportunity",
        "leadId",
        "opportunityName",
        "overwriteLeadSource",
        "ownerId",
        "sendNotificationEmail",
    ]
    body = "".join(f"<urn:{k}>{fields[k]}</urn:{k}>" for k in order if k in fields)
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com">'
        "<soapenv:Header><urn:SessionHeader>"
        f"<urn:sessionId>{session_id or sf.session_id}</urn:sessionId>"
        "</urn:SessionHeader></soapenv:Header>"
        f"<soapenv:Body><urn:convertLead><urn:leadConverts>{body}"
        "</urn:leadConverts></urn:convertLead></soapenv:Body></soapenv:Envelope>"
    )
    response = sf.session.post(
        f"https://{sf.sf_instance}/services/Soap/u/{sf.sf_version}",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
    )
    return response.status_code, ET.fromstring(response.content)


def result_of(root: ET.Element) -> dict[str, str | None]:
    result = root.find(".//p:convertLeadResponse/p:result", NS)
    assert result is not None
    return {child.tag.split("}")[1]: child.text for child in result}


def new_lead(sf: Salesforce, **extra: object) -> str:
    values = {
        "LastName": "Kim",
        "FirstName": "Lee",
        "Company": "Kim Ltd",
        "Email": "lee@kim.example",
        "LeadSource": "Web",
        **extra,
    }
    return str(sf.Lead.create(values, headers={"Sforce-Auto-Assign": "FALSE"})["id"])


def test_conversion_creates_account_contact_opportunity(sf: Salesforce) -> None:
    lead_id = new_lead(sf)
    status, root = convert(sf, leadId=lead_id, convertedStatus="Closed - Converted")
    assert status == 200
    result = result_of(root)
    assert result["success"] == "true"
    assert result["leadId"] == lead_id
    account = sf.Account.get(str(result["accountId"]))
    contact = sf.Contact.get(str(result["contactId"]))
    opportunity = sf.Opportunity.get(str(result["opportunityId"]))
    assert account["Name"] == "Kim Ltd"
    assert (contact["Name"], contact["Email"], contact["AccountId"]) == (
        "Lee Kim",
        "lee@kim.example",
        account["Id"],
    )
    assert (opportunity["AccountId"], opportunity["StageName"]) == (account["Id"], "Prospecting")
    lead = sf.Lead.get(lead_id)
    assert lead["IsConverted"] is True
    assert lead["Status"] == "Closed - Converted"
    assert (
        lead["ConvertedAccountId"],
        lead["ConvertedContactId"],
        lead["ConvertedOpportunityId"],
    ) == (account["Id"], contact["Id"], opportunity["Id"])
    assert lead["ConvertedDate"] is not None
    with pytest.raises(SalesforceMalformedRequest) as frozen:
        sf.Lead.update(lead_id, {"Title": "Too late"})
    assert frozen.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    limit = root.find(".//p:LimitInfoHeader/p:limitInfo/p:current", NS)
    assert limit is not None
    assert int(str(limit.text)) > 0


def test_conversion_into_an_existing_account_without_opportunity(sf: Salesforce) -> None:
    globex = sf.query("SELECT Id FROM Account WHERE Name = 'Globex'")["records"][0]["Id"]
    lead_id = new_lead(sf)
    _, root = convert(
        sf,
        accountId=globex,
        convertedStatus="Closed - Converted",
        doNotCreateOpportunity="true",
        leadId=lead_id,
    )
    result = result_of(root)
    assert result["success"] == "true"
    assert result["accountId"] == globex
    assert result["opportunityId"] is None
    assert sf.query("SELECT Id FROM Account WHERE Name = 'Kim Ltd'")["totalSize"] == 0
    contacts = sf.query(f"SELECT LastName FROM Contact WHERE AccountId = '{globex}'")
    assert sorted(r["LastName"] for r in contacts["records"]) == ["Kim", "Stone"]


def test_conversion_refusals(sf: Salesforce, org: EmulatedOrg) -> None:
    lead_id = new_lead(sf)
    _, root = convert(sf, leadId=lead_id, convertedStatus="Working - Contacted")
    result = result_of(root)
    assert result["success"] == "false"
    assert root.findtext(".//p:errors/p:statusCode", None, NS) == "INVALID_STATUS"
    assert sf.Lead.get(lead_id)["IsConverted"] is False

    queued = new_lead(sf, Country="Germany")
    sf.Lead.update(queued, {"Title": "x"})  # rules run: owned by the EMEA queue now
    _, root = convert(sf, leadId=queued, convertedStatus="Closed - Converted")
    assert result_of(root)["success"] == "false"
    eva = sf.query("SELECT Id FROM User WHERE Email = 'eva@acme.example'")["records"][0]["Id"]
    _, root = convert(sf, leadId=queued, convertedStatus="Closed - Converted", ownerId=eva)
    result = result_of(root)
    assert result["success"] == "true"
    assert sf.Contact.get(str(result["contactId"]))["OwnerId"] == eva

    _, root = convert(sf, leadId=queued, convertedStatus="Closed - Converted", ownerId=eva)
    assert root.findtext(".//p:errors/p:statusCode", None, NS) == "CANNOT_UPDATE_CONVERTED_LEAD"

    status, fault = convert(
        sf, session_id="00Dbogus!x", leadId=lead_id, convertedStatus="Closed - Converted"
    )
    assert status == 500
    assert fault.findtext(".//faultcode") == "sf:INVALID_SESSION_ID"


def test_soap_refuses_a_dtd(sf: Salesforce) -> None:
    response = sf.session.post(
        f"https://{sf.sf_instance}/services/Soap/u/59.0",
        data=b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>',
        headers={"Content-Type": "text/xml"},
    )
    assert response.status_code == 500
    assert b"DTD" in response.content


def test_conversion_into_an_existing_contact_fills_its_blanks(sf: Salesforce) -> None:
    globex = sf.query("SELECT Id FROM Account WHERE Name = 'Globex'")["records"][0]["Id"]
    stone = sf.query("SELECT Id FROM Contact WHERE LastName = 'Stone'")["records"][0]["Id"]
    lead_id = new_lead(sf, Phone="+1 555 0100", Title="Buyer")
    _, root = convert(
        sf, accountId=globex, contactId=stone, convertedStatus="Closed - Converted", leadId=lead_id
    )
    result = result_of(root)
    assert (result["success"], result["contactId"]) == ("true", stone)
    contact = sf.Contact.get(stone)
    assert contact["LastName"] == "Stone"  # kept
    assert contact["Email"] == "sam@globex.example"  # kept
    assert (contact["Phone"], contact["Title"]) == ("+1 555 0100", "Buyer")  # filled in
    assert sf.Lead.get(lead_id)["ConvertedContactId"] == stone


def test_conversion_carries_campaign_membership_to_the_contact(sf: Salesforce) -> None:
    lead_id = new_lead(sf)
    [campaign] = sf.query("SELECT Id FROM Campaign WHERE Name = 'Q4 Webinar'")["records"]
    sf.CampaignMember.create({"CampaignId": campaign["Id"], "LeadId": lead_id, "Status": "Sent"})
    status, root = convert(sf, leadId=lead_id, convertedStatus="Closed - Converted")
    assert status == 200
    contact_id = result_of(root)["contactId"]
    [member] = sf.query(
        f"SELECT LeadId, ContactId, Status FROM CampaignMember WHERE LeadId = '{lead_id}'"
    )["records"]
    assert (member["ContactId"], member["Status"]) == (contact_id, "Sent")
