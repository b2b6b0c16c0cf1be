"""Composite as Salesforce limits it: at most 5 query/queryAll/sObject Collections
subrequests among the 25, the whole call refused past that; sObject Collections as
subrequests (API 43.0+); a subrequest without its referenceId refused before anything runs.

Source: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_post.htm
("You can have up to 25 subrequests in a single call. Up to 5 of these subrequests can be
sObject Collections or query operations, including Query and QueryAll requests"; "SObject
Collections resource (/services/data/vXX.X/composite/sobjects). Available in API version
43.0 and later"), and https://developer.salesforce.com/blogs/2017/02/handle-errors-with-composite-resources
(a malformed request body is a 400 "without processing any of the subrequests").
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg

V = "/services/data/v59.0"


def query(ref: str, soql: str, endpoint: str = "query") -> dict[str, Any]:
    return {"method": "GET", "url": f"{V}/{endpoint}/?q={soql}", "referenceId": ref}


def create_lead(ref: str, last_name: str) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": f"{V}/sobjects/Lead",
        "referenceId": ref,
        "body": {"LastName": last_name, "Company": "Limits Ltd"},
    }


def leads_named(sf: Salesforce, last_name: str) -> int:
    return int(sf.query(f"SELECT Id FROM Lead WHERE LastName = '{last_name}'")["totalSize"])


def test_five_query_subrequests_are_answered(sf: Salesforce, existing_org: EmulatedOrg) -> None:
    calls = existing_org.api_calls
    subrequests = [
        query("q1", "SELECT Id FROM Lead"),
        query("q2", "SELECT Id FROM Contact"),
        query("q3", "SELECT Id FROM Account"),
        query("q4", "SELECT Id FROM Lead", endpoint="queryAll"),
        query("q5", "SELECT Id FROM Contact", endpoint="queryAll"),
        create_lead("new", "WithinLimit"),  # not a query: does not count
    ]
    answer = sf.restful("composite", method="POST", json={"compositeRequest": subrequests})
    statuses = [r["httpStatusCode"] for r in answer["compositeResponse"]]
    assert statuses == [200, 200, 200, 200, 200, 201]
    assert existing_org.api_calls == calls + 1
    assert leads_named(sf, "WithinLimit") == 1


@pytest.mark.parametrize(
    "sixth",
    [
        query("q6", "SELECT Id FROM Lead"),
        query("q6", "SELECT Id FROM Lead", endpoint="queryAll"),
        {
            "method": "POST",
            "url": f"{V}/composite/sobjects",
            "referenceId": "q6",
            "body": {
                "records": [{"attributes": {"type": "Lead"}, "LastName": "X", "Company": "Y"}]
            },
        },
    ],
    ids=["query", "queryAll", "collections"],
)
def test_a_sixth_query_or_collections_subrequest_refuses_the_whole_call(
    sf: Salesforce, sixth: dict[str, Any]
) -> None:
    subrequests = [
        create_lead("first", "NeverMade"),
        *[query(f"q{i}", "SELECT Id FROM Lead") for i in range(1, 6)],
        sixth,
    ]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful("composite", method="POST", json={"compositeRequest": subrequests})
    assert refused.value.status == 400
    assert refused.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"
    assert leads_named(sf, "NeverMade") == 0  # refused before anything ran


def test_collections_subrequests_run_inside_composite(sf: Salesforce) -> None:
    records = [
        {"attributes": {"type": "Lead"}, "LastName": "Batch1", "Company": "Coll Inc"},
        {"attributes": {"type": "Lead"}, "LastName": "Batch2"},  # no Company: fails alone
    ]
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{V}/composite/sobjects",
                    "referenceId": "made",
                    "body": {"allOrNone": False, "records": records},
                },
                {
                    "method": "GET",
                    "url": f"{V}/sobjects/Lead/@{{made[0].id}}?fields=LastName",
                    "referenceId": "read",
                },
            ]
        },
    )
    made, read = answer["compositeResponse"]
    assert made["httpStatusCode"] == 200
    assert [r["success"] for r in made["body"]] == [True, False]
    assert made["body"][1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert read["body"]["LastName"] == "Batch1"


def test_collections_subrequests_need_api_43(sf: Salesforce, existing_org: EmulatedOrg) -> None:
    body = {
        "compositeRequest": [
            {
                "method": "POST",
                "url": "/services/data/v42.0/composite/sobjects",
                "referenceId": "old",
                "body": {
                    "records": [
                        {"attributes": {"type": "Lead"}, "LastName": "Old", "Company": "V42"}
                    ]
                },
            }
        ]
    }
    response = sf.session.post(
        f"https://{sf.sf_instance}/services/data/v42.0/composite", json=body, headers=sf.headers
    )
    assert response.status_code == 400
    assert leads_named(sf, "Old") == 0


def test_a_subrequest_without_reference_id_refuses_the_call(sf: Salesforce) -> None:
    subrequests = [
        create_lead("ok", "BeforeBroken"),
        {"method": "GET", "url": f"{V}/query/?q=SELECT+Id+FROM+Lead"},
    ]
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": subrequests})
    assert leads_named(sf, "BeforeBroken") == 0


@pytest.fixture
def sf(existing_org: EmulatedOrg) -> Salesforce:
    return existing_org.client()


def test_more_than_25_subrequests_refuse_the_call(sf: Salesforce) -> None:
    subrequests = [create_lead(f"l{i}", "TooMany") for i in range(26)]
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": subrequests})
    assert leads_named(sf, "TooMany") == 0
