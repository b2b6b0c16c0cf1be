"""sObject Collections and Composite over HTTPS: partial failures, allOrNone, references,
and the API allocation (one call whatever the call carries)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg


def lead(last_name: str, company: str | None = "Acme", **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": "Lead"}, "LastName": last_name, **extra}
    if company is not None:
        record["Company"] = company
    return record


def test_collections_create_with_partial_failures(sf: Salesforce, org: EmulatedOrg) -> None:
    calls = org.api_calls
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                lead("Ok1"),
                lead("NoCompany", company=None),
                lead("Ok2"),
                lead("BadMail", Email="nope"),
            ],
        },
    )
    assert org.api_calls == calls + 1
    assert [r["success"] for r in results] == [True, False, True, False]
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["errors"][0]["fields"] == ["Company"]
    assert results[3]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert results[1]["id"] is None
    created = sf.query("SELECT LastName FROM Lead WHERE LastName LIKE 'Ok%' ORDER BY LastName")
    assert [r["LastName"] for r in created["records"]] == ["Ok1", "Ok2"]


def test_collections_all_or_none_rolls_back(sf: Salesforce) -> None:
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"allOrNone": True, "records": [lead("Kept?"), lead("Broken", company=None)]},
    )
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query("SELECT Id FROM Lead WHERE LastName = 'Kept?'")["totalSize"] == 0


def test_collections_update_and_delete(sf: Salesforce) -> None:
    created = sf.restful(
        "composite/sobjects", method="POST", json={"records": [lead("U1"), lead("U2")]}
    )
    ids = [r["id"] for r in created]
    updated = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [
                {"attributes": {"type": "Lead"}, "id": ids[0], "Title": "CEO"},
                {"attributes": {"type": "Lead"}, "id": ids[1], "Company": None},
            ]
        },
    )
    assert [r["success"] for r in updated] == [True, False]
    assert sf.Lead.get(ids[0])["Title"] == "CEO"
    deleted = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": f"{ids[0]},{ids[1]},00Q5E0000000zzz"}
    )
    assert [r["success"] for r in deleted] == [True, True, False]
    assert deleted[2]["errors"][0]["statusCode"] == "NOT_FOUND"
    fetched = sf.restful(
        "composite/sobjects/Lead", method="GET", params={"ids": ids[0], "fields": "LastName"}
    )
    assert fetched == [None]  # deleted records are not returned


def test_composite_resolves_references_as_one_call(sf: Salesforce, org: EmulatedOrg) -> None:
    calls = org.api_calls
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": False,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Account",
                    "referenceId": "acct",
                    "body": {"Name": "Umbrella"},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Contact",
                    "referenceId": "person",
                    "body": {"LastName": "Wesker", "AccountId": "@{acct.id}"},
                },
                {
                    "method": "GET",
                    "url": "/services/data/v59.0/sobjects/Contact/@{person.id}",
                    "referenceId": "read",
                },
                {
                    "method": "GET",
                    "referenceId": "found",
                    "url": "/services/data/v59.0/query/?q="
                    "SELECT+Id+FROM+Account+WHERE+Name+=+'Umbrella'",
                },
                {
                    "method": "PATCH",
                    "referenceId": "touch",
                    "url": "/services/data/v59.0/sobjects/Account/@{found.records[0].Id}",
                    "body": {"Industry": "Pharma"},
                },
            ],
        },
    )
    assert org.api_calls == calls + 1
    responses = {r["referenceId"]: r for r in answer["compositeResponse"]}
    assert responses["acct"]["httpStatusCode"] == 201
    assert responses["read"]["body"]["AccountId"] == responses["acct"]["body"]["id"]
    assert responses["touch"]["httpStatusCode"] == 204
    assert sf.Account.get(responses["acct"]["body"]["id"])["Industry"] == "Pharma"


def test_composite_all_or_none_halts_everything(sf: Salesforce) -> None:
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Account",
                    "referenceId": "acct",
                    "body": {"Name": "Soylent"},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Opportunity",
                    "referenceId": "deal",
                    "body": {"Name": "Big", "AccountId": "@{acct.id}"},
                },
            ],
        },
    )
    first, second = answer["compositeResponse"]
    assert second["httpStatusCode"] == 400
    assert second["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert first["httpStatusCode"] == 400
    assert first["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT Id FROM Account WHERE Name = 'Soylent'")["totalSize"] == 0


def test_composite_reference_to_a_failed_request(sf: Salesforce) -> None:
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Account",
                    "referenceId": "acct",
                    "body": {},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Contact",
                    "referenceId": "person",
                    "body": {"LastName": "X", "AccountId": "@{acct.id}"},
                },
            ]
        },
    )
    codes = [r["body"][0]["errorCode"] for r in answer["compositeResponse"]]
    assert codes == ["REQUIRED_FIELD_MISSING", "PROCESSING_HALTED"]


def test_batches_over_the_limits_are_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as too_many_records:
        sf.restful(
            "composite/sobjects",
            method="POST",
            json={"records": [lead(f"L{i}") for i in range(201)]},
        )
    assert too_many_records.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    subrequest = {"method": "GET", "url": "/services/data/v59.0/limits", "referenceId": "r"}
    with pytest.raises(SalesforceMalformedRequest) as too_many_subrequests:
        sf.restful("composite", method="POST", json={"compositeRequest": [subrequest] * 26})
    assert too_many_subrequests.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"


def test_concurrent_clients_get_distinct_records(org: EmulatedOrg) -> None:
    clients = [org.client() for _ in range(4)]

    def work(index: int) -> list[str]:
        sf = clients[index]
        return [
            sf.Lead.create({"LastName": f"T{index}-{i}", "Company": "Threads"})["id"]
            for i in range(25)
        ]

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = [i for batch in pool.map(work, range(4)) for i in batch]
    assert len(set(ids)) == 100
    counted = clients[0].query("SELECT COUNT() FROM Lead WHERE Company = 'Threads'")
    assert counted["totalSize"] == 100
