"""Upsert as Salesforce documents it: only on External ID or idLookup fields (describe shows
both properties), never with the key repeated in the body, ``?updateOnly=true``, 300 on
several matches, case-sensitive custom external IDs, ``POST sobjects/X/Id``, and the
Collections upsert ``PATCH composite/sobjects/{Object}/{ExternalIdField}``.

Sources: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_upsert.htm
(external ID or idLookup), https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_upsert_patch.htm
("Do not specify Id or an external ID field in the request body", ``updateOnly``, 300),
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/access_for_fields.htm
(idLookup), https://developer.salesforce.com/docs/atlas.en-us.apexcode.meta/apexcode/langCon_apex_dml_examples_upsert.htm
(case-sensitive custom matching), https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm
(Collections upsert, API 46.0+, "Only external ids are supported").
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from journey.emulator import EmulatedOrg
from tests.existing_org import PEOPLE, existing_seed


@pytest.fixture
def keyed_org() -> Iterator[EmulatedOrg]:
    """The existing org with an External ID field on Lead, as an integration adds one."""
    seed = existing_seed()
    seed["fields"]["Lead"].append({"name": "Erp_Id__c", "type": "string", "externalId": True})
    seed["Lead"].append(
        {"LastName": "Keyed", "Company": "ERP Co", "Erp_Id__c": "ERP-1", "OwnerId": PEOPLE["bob"]}
    )
    with EmulatedOrg(seed=seed) as emulated:
        emulated.start()
        yield emulated


@pytest.fixture
def sf(keyed_org: EmulatedOrg) -> Salesforce:
    return keyed_org.client()


def by_key(sf: Salesforce, key: str) -> list[dict[str, object]]:
    found = sf.query(f"SELECT Id, LastName, Title FROM Lead WHERE Erp_Id__c = '{key}'")
    return list(found["records"])


def test_describe_shows_external_id_and_id_lookup(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert (fields["Erp_Id__c"]["externalId"], fields["Erp_Id__c"]["idLookup"]) == (True, True)
    assert (fields["Email"]["externalId"], fields["Email"]["idLookup"]) == (False, True)
    assert (fields["Id"]["externalId"], fields["Id"]["idLookup"]) == (False, True)
    assert (fields["Title"]["externalId"], fields["Title"]["idLookup"]) == (False, False)
    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert contact["Email"]["idLookup"] is True


def test_upsert_by_external_id_updates_or_creates(sf: Salesforce) -> None:
    assert sf.Lead.upsert("Erp_Id__c/ERP-1", {"Title": "Buyer"}) == 200
    assert by_key(sf, "ERP-1")[0]["Title"] == "Buyer"
    assert sf.Lead.upsert("Erp_Id__c/ERP-2", {"LastName": "New", "Company": "ERP Co"}) == 201
    assert by_key(sf, "ERP-2")[0]["LastName"] == "New"
    # Custom external IDs match case-sensitively: "erp-1" is another key.
    assert sf.Lead.upsert("Erp_Id__c/erp-1", {"LastName": "Lower", "Company": "ERP Co"}) == 201
    found = sf.query("SELECT LastName, Erp_Id__c FROM Lead WHERE Company = 'ERP Co'")
    keys = {r["Erp_Id__c"]: r["LastName"] for r in found["records"]}
    assert keys == {"ERP-1": "Keyed", "ERP-2": "New", "erp-1": "Lower"}


def test_upsert_only_on_key_fields(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.upsert("Title/CEO", {"LastName": "Boss", "Company": "Acme"})
    assert refused.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.upsert("No_Such__c/1", {"LastName": "Boss", "Company": "Acme"})
    assert sf.query("SELECT Id FROM Lead WHERE LastName = 'Boss'")["totalSize"] == 0


def test_a_body_repeating_the_key_is_refused(sf: Salesforce) -> None:
    for body in ({"Erp_Id__c": "ERP-1", "Title": "X"}, {"Id": "00Q000000000000AAA"}):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.Lead.upsert("Erp_Id__c/ERP-1", body)
        assert refused.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert by_key(sf, "ERP-1")[0]["Title"] is None


def test_update_only_never_creates(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful(
            "sobjects/Lead/Erp_Id__c/ERP-404",
            method="PATCH",
            params={"updateOnly": "true"},
            json={"LastName": "Ghost", "Company": "None"},
        )
    assert by_key(sf, "ERP-404") == []
    sf.restful(
        "sobjects/Lead/Erp_Id__c/ERP-1",
        method="PATCH",
        params={"updateOnly": "true"},
        json={"Title": "Only Updated"},
    )
    assert by_key(sf, "ERP-1")[0]["Title"] == "Only Updated"


def test_several_matches_answer_300(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Lead.upsert(f"Email/{PEOPLE['dup']}", {"Title": "Which one?"})


def test_post_to_id_creates(sf: Salesforce) -> None:
    answer = sf.restful(
        "sobjects/Lead/Id", method="POST", json={"LastName": "ById", "Company": "Null Key"}
    )
    assert answer["created"] is True
    assert sf.Lead.get(answer["id"])["LastName"] == "ById"


def test_collections_upsert(sf: Salesforce, keyed_org: EmulatedOrg) -> None:
    calls = keyed_org.api_calls
    results = sf.restful(
        "composite/sobjects/Lead/Erp_Id__c",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Lead"}, "Erp_Id__c": "ERP-1", "Title": "Bulk Buyer"},
                {
                    "attributes": {"type": "Lead"},
                    "Erp_Id__c": "ERP-9",
                    "LastName": "Nine",
                    "Company": "ERP Co",
                },
                {"attributes": {"type": "Lead"}, "LastName": "NoKey", "Company": "ERP Co"},
                {"attributes": {"type": "Contact"}, "Erp_Id__c": "ERP-7", "LastName": "C"},
            ],
        },
    )
    assert keyed_org.api_calls == calls + 1
    assert [(r["success"], r.get("created")) for r in results] == [
        (True, False),
        (True, True),
        (False, None),
        (False, None),
    ]
    assert results[2]["errors"][0]["fields"] == ["Erp_Id__c"]
    assert by_key(sf, "ERP-1")[0]["Title"] == "Bulk Buyer"
    assert by_key(sf, "ERP-9")[0]["LastName"] == "Nine"


def test_collections_upsert_refuses_record_ids_and_old_versions(sf: Salesforce) -> None:
    record = {"attributes": {"type": "Lead"}, "Id": "x", "LastName": "Y", "Company": "Z"}
    with pytest.raises(SalesforceMalformedRequest):  # "Only external ids are supported"
        sf.restful("composite/sobjects/Lead/Id", method="PATCH", json={"records": [record]})
    response = sf.session.patch(
        f"https://{sf.sf_instance}/services/data/v45.0/composite/sobjects/Lead/Erp_Id__c",
        json={"records": [{"attributes": {"type": "Lead"}, "Erp_Id__c": "ERP-45"}]},
        headers=sf.headers,
    )
    assert response.status_code == 404  # the resource exists from API 46.0
