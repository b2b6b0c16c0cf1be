"""sObject Tree (``composite/tree/{Object}``) as documented: parents with their children
under child relationship names, all or nothing, results roots first, the failing
record's referenceId alone on error, one result per duplicate referenceId, and the limits
(200 records, five levels, five types).

Sources: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobject_tree.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/requests_composite_sobject_tree.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/responses_composite_sobject_tree.htm.
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg


@pytest.fixture
def sf(existing_org: EmulatedOrg) -> Salesforce:
    return existing_org.client()


def record(kind: str, ref: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": kind, "referenceId": ref}, **fields}


def tree(sf: Salesforce, sobject: str, records: list[dict[str, Any]]) -> tuple[int, Any]:
    response = sf.session.post(
        f"{sf.base_url}composite/tree/{sobject}", json={"records": records}, headers=sf.headers
    )
    return response.status_code, response.json()


def test_a_tree_creates_parents_and_children_linked(sf: Salesforce) -> None:
    status, body = tree(
        sf,
        "Account",
        [
            record(
                "Account",
                "acme",
                Name="Tree Acme",
                Contacts={
                    "records": [
                        record(
                            "Contact",
                            "ann",
                            LastName="Leaf",
                            Tasks={"records": [record("Task", "call", Subject="Call Ann")]},
                        ),
                        record("Contact", "bo", LastName="Twig"),
                    ]
                },
            ),
            record("Account", "beta", Name="Tree Beta"),
        ],
    )
    assert status == 201
    assert body["hasErrors"] is False
    # Roots first, then each level in turn, as the documented example orders them.
    assert [r["referenceId"] for r in body["results"]] == ["acme", "beta", "ann", "bo", "call"]
    ids = {r["referenceId"]: r["id"] for r in body["results"]}
    contacts = sf.query("SELECT LastName, AccountId FROM Contact WHERE LastName IN ('Leaf','Twig')")
    assert {c["AccountId"] for c in contacts["records"]} == {ids["acme"]}
    assert sf.Task.get(ids["call"])["WhoId"] == ids["ann"]


def test_one_bad_record_fails_the_whole_tree(sf: Salesforce) -> None:
    status, body = tree(
        sf,
        "Account",
        [
            record(
                "Account",
                "root",
                Name="Never Made",
                Contacts={"records": [record("Contact", "bad", FirstName="NoLastName")]},
            )
        ],
    )
    assert status == 400
    assert body == {
        "hasErrors": True,
        "results": [
            {
                "referenceId": "bad",
                "errors": [
                    {
                        "statusCode": "REQUIRED_FIELD_MISSING",
                        "message": body["results"][0]["errors"][0]["message"],
                        "fields": ["LastName"],
                    }
                ],
            }
        ],
    }
    assert sf.query("SELECT Id FROM Account WHERE Name = 'Never Made'")["totalSize"] == 0


def test_duplicate_reference_ids_get_one_result_each(sf: Salesforce) -> None:
    status, body = tree(
        sf,
        "Lead",
        [
            record("Lead", "same", LastName="One", Company="Dup"),
            record("Lead", "same", LastName="Two", Company="Dup"),
            record("Lead", "other", LastName="Three", Company="Dup"),
        ],
    )
    assert status == 400
    assert [r["referenceId"] for r in body["results"]] == ["same", "same"]
    assert sf.query("SELECT Id FROM Lead WHERE Company = 'Dup'")["totalSize"] == 0


def test_tree_limits(sf: Salesforce) -> None:
    many = [record("Lead", f"l{i}", LastName=f"L{i}", Company="Many") for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/tree/Lead", method="POST", json={"records": many})
    assert sf.query("SELECT Id FROM Lead WHERE Company = 'Many'")["totalSize"] == 0
    status, _ = tree(sf, "Account", [record("Lead", "wrong", LastName="X", Company="Y")])
    assert status == 400  # each root must be of the URI's type
    status, _ = tree(sf, "Account", [record("Account", "a", Name="A", Leads={"records": []})])
    assert status == 400  # not a child relationship of Account
