"""Bulk API 2.0's documented rules, against an org full of records the tool did not create:
the SOQL query jobs refuse, which jobs may be deleted, the daily query-job allocation, and
how query results page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg
from tests.existing_org import PEOPLE, existing_seed


@pytest.fixture
def seeded() -> Iterator[EmulatedOrg]:
    seed = existing_seed()
    seed["Lead"].extend(
        {"LastName": f"Crowd {i:02d}", "Company": "Crowd Co", "OwnerId": PEOPLE["eva"]}
        for i in range(12)
    )
    with EmulatedOrg(seed=seed) as emulated:
        emulated.start()
        yield emulated


def _call(sf: Salesforce, method: str, path: str, body: Any = None) -> requests.Response:
    """A REST call to ``jobs/…`` as any Bulk API 2.0 client sends it."""
    data = None if body is None else json.dumps(body)
    return sf.session.request(method, f"{sf.bulk2_url}{path}", headers=sf.headers, data=data)


def _query_job(sf: Salesforce, soql: str) -> dict[str, Any]:
    created = _call(sf, "POST", "query", {"operation": "query", "query": soql})
    assert created.status_code == 200, created.text
    return dict(created.json())


def test_query_jobs_refuse_offset_aggregates_and_child_rows(seeded: EmulatedOrg) -> None:
    """ "Bulk API 2.0 doesn't support SOQL queries that include any of these items: GROUP
    BY, OFFSET, or TYPEOF clauses. Aggregate Functions such as COUNT() … Parent-to-child
    relationship queries"
    (https://developer.salesforce.com/docs/atlas.en-us.238.0.api_asynch.meta/api_asynch/queries.htm).
    The job is refused when created, so sf.bulk2 raises at once."""
    sf = seeded.client()
    for soql, why in (
        ("SELECT Id FROM Lead ORDER BY Id LIMIT 5 OFFSET 5", "OFFSET"),
        ("SELECT COUNT() FROM Lead", "Aggregate"),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "Aggregate Relationships"),
        ("SELECT TYPEOF Owner WHEN User THEN Email END FROM Lead", "TYPEOF"),
    ):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            list(sf.bulk2.Lead.query(soql, wait=0))
        assert refused.value.content[0]["errorCode"] == "API_ERROR"
        assert why in refused.value.content[0]["message"]
    # A semi-join in WHERE is no child subquery: whatever the SOQL says of it, Bulk does not
    # refuse it as one.
    semi_join = "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)"
    answer = _call(sf, "POST", "query", {"operation": "query", "query": semi_join})
    assert answer.ok, answer.text


def test_only_terminated_jobs_can_be_deleted(seeded: EmulatedOrg) -> None:
    """ "To be deleted, a job must have a state of UploadComplete, JobComplete, Aborted, or
    Failed" (https://developer.salesforce.com/docs/platform/api-asynch/guide/delete-job.html);
    a query job "only if its state is JobComplete, Aborted, or Failed", refused with 400
    ``API_ERROR`` (https://developer.salesforce.com/docs/platform/api-asynch/guide/query-delete-job.html)."""
    sf = seeded.client()
    job = _call(sf, "POST", "ingest", {"object": "Lead", "operation": "insert"}).json()
    assert job["state"] == "Open"
    refused = _call(sf, "DELETE", f"ingest/{job['id']}")
    assert refused.status_code == 400
    assert refused.json() == [
        {
            "message": "Error encountered when deleting the job because the job is not terminated",
            "errorCode": "API_ERROR",
            "fields": [],
        }
    ]
    assert _call(sf, "PATCH", f"ingest/{job['id']}", {"state": "Aborted"}).status_code == 200
    assert _call(sf, "DELETE", f"ingest/{job['id']}").status_code == 204
    assert _call(sf, "GET", f"ingest/{job['id']}").status_code == 404

    query = _query_job(sf, "SELECT Id FROM Lead")
    assert query["state"] in ("UploadComplete", "JobComplete")
    assert _call(sf, "GET", f"query/{query['id']}").json()["state"] == "JobComplete"
    assert _call(sf, "DELETE", f"query/{query['id']}").status_code == 204


def test_query_jobs_spend_the_daily_allocation(seeded: EmulatedOrg) -> None:
    """ "The maximum number of query jobs per 24-hour rolling window … can be seen in the
    DailyBulkV2QueryJobs value" of ``limits`` — 10,000
    (https://developer.salesforce.com/docs/atlas.en-us.228.0.api_bulk_v2.meta/api_bulk_v2/bulk_api_2_limits.htm);
    ingest jobs do not spend it but spend batches ("Salesforce creates a separate batch for
    every 10,000 records in your job data",
    https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_bulk_v2/datafiles_understanding_bulk2_ingest.htm).
    Past it, a real org's words (as integrators quote them)."""
    sf = seeded.client()
    before = sf.limits()["DailyBulkV2QueryJobs"]
    assert before == {"Max": 10000, "Remaining": 10000}
    batches = sf.limits()["DailyBulkApiBatches"]["Remaining"]
    list(sf.bulk2.Lead.query("SELECT Id, Name FROM Lead", wait=0))
    sf.bulk2.Lead.insert(records=[{"LastName": "One", "Company": "Batch Co"}], wait=0)
    limits = sf.limits()
    assert limits["DailyBulkV2QueryJobs"]["Remaining"] == 9999
    # Ingest jobs spend batches, one per 10,000 records (query jobs none).
    assert limits["DailyBulkApiBatches"]["Remaining"] == batches - 1
    storage = limits["DailyBulkV2QueryFileStorageMB"]
    assert 0 <= storage["Remaining"] <= storage["Max"]

    seeded.counter.spend("DailyBulkV2QueryJobs", 9999)  # set-up in-process: the day's jobs
    refused = _call(sf, "POST", "query", {"operation": "query", "query": "SELECT Id FROM Lead"})
    assert refused.status_code == 400
    assert "Max bulk v2 query jobs (10000) per 24 hrs has been reached" in refused.text


def test_results_page_with_an_opaque_locator_in_the_jobs_version(seeded: EmulatedOrg) -> None:
    """From API version 49.0 Sforce-Locator "is a pseudo-random string", "null" after the
    last set; "Use the same API version to get query results that you used to create the
    query. Otherwise, the call returns a 409 error"
    (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm).
    The job reports who made it and how many records it found."""
    sf = seeded.client()
    job = _query_job(
        sf, "SELECT Id, LastName FROM Lead WHERE Company = 'Crowd Co' ORDER BY LastName"
    )
    info = _call(sf, "GET", f"query/{job['id']}").json()
    assert info["numberRecordsProcessed"] == 12
    assert info["jobType"] == "V2Query"
    owner = sf.query(f"SELECT Id FROM User WHERE Email = '{PEOPLE['ann']}'")["records"][0]
    assert info["createdById"] == owner["Id"]

    names: list[str] = []
    locator = ""
    while True:
        query = f"?maxRecords=5&locator={locator}" if locator else "?maxRecords=5"
        page = _call(sf, "GET", f"query/{job['id']}/results{query}")
        assert page.status_code == 200
        names += [line.split(",")[1].strip('"') for line in page.text.splitlines()[1:]]
        locator = page.headers["Sforce-Locator"]
        if locator == "null":
            break
        assert not locator.isdigit()
    assert names == [f"Crowd {i:02d}" for i in range(12)]

    other = sf.bulk2_url.replace(f"/v{sf.sf_version}/", "/v58.0/")
    elsewhere = sf.session.get(f"{other}query/{job['id']}/results", headers=sf.headers)
    assert elsewhere.status_code == 409
    bad = _call(sf, "GET", f"query/{job['id']}/results?maxRecords=0")
    assert bad.status_code == 400
