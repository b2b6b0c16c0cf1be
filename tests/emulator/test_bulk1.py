"""Bulk API 1.0 (``/services/async/``) through simple-salesforce's own, unmodified ``sf.bulk``
against an org full of records the tool did not create, and the clear refusals of what the
emulated org does not serve.

Sources: job, batch, result and query resources in "Bulk API 2.0 and Bulk API Developer
Guide" (https://developer.salesforce.com/docs/platform/api-asynch/guide/asynch-api-intro.html),
its "Errors" list
(https://developer.salesforce.com/docs/platform/api-asynch/guide/asynch-api-reference-errors.html)
and "Set a Session Header"
(https://developer.salesforce.com/docs/atlas.en-us.264.0.api_asynch.meta/api_asynch/asynch_api_basics_session_header.htm).
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from journey.emulator import EmulatedOrg
from journey.emulator.values import parse_datetime
from tests.existing_org import PEOPLE, existing_seed


@pytest.fixture
def seeded() -> Any:
    """The existing org plus a Lead carrying a legacy system's external ID."""
    seed = existing_seed()
    seed["fields"]["Lead"].append({"name": "Legacy_Id__c", "type": "string", "externalId": True})
    seed["Lead"].append(
        {"LastName": "Legacy", "Company": "Old Co", "Legacy_Id__c": "L-1", "OwnerId": PEOPLE["bob"]}
    )
    with EmulatedOrg(seed=seed) as emulated:
        emulated.start()
        yield emulated


def _lead(sf: Salesforce, email: str) -> dict[str, Any]:
    found = sf.query(f"SELECT Id, Title, CreatedDate FROM Lead WHERE Email = '{email}'")
    return dict(found["records"][0])


def _raw(
    sf: Salesforce, method: str, path: str, body: Any = None, **headers: str
) -> requests.Response:
    """A request as any Bulk API 1.0 client sends it (for what sf.bulk cannot express)."""
    sent = {"X-SFDC-Session": sf.session_id, "Content-Type": "application/json", **headers}
    data = body if isinstance(body, str) or body is None else json.dumps(body)
    return sf.session.request(method, f"{sf.bulk_url}{path}", headers=sent, data=data)


def test_sf_bulk_writes_and_reads_the_orgs_own_records(seeded: EmulatedOrg) -> None:
    """insert, update, delete, query and queryAll as sf.bulk drives them: job, batch, batch
    status, batch result, close (Bulk API's quick start,
    https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_bulk_v2/asynch_api_jobs_intro.htm).
    A refused row fails alone, with REST's error; query results keep ``attributes`` and give
    date-times as epoch milliseconds (simple-salesforce/simple-salesforce#290)."""
    sf = seeded.client()
    inserted = sf.bulk.Lead.insert(
        [{"LastName": "Bulk", "Company": "Acme", "DoNotCall": True}, {"LastName": "NoCompany"}]
    )
    assert [r["success"] for r in inserted] == [True, False]
    assert inserted[0]["created"] is True
    assert inserted[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.Lead.get(inserted[0]["id"])["DoNotCall"] is True

    owned = _lead(sf, PEOPLE["owned"])
    updated = sf.bulk.Lead.update([{"Id": owned["Id"], "Title": "Head of Buying"}])
    assert updated == [{"success": True, "created": False, "id": owned["Id"], "errors": []}]
    assert _lead(sf, PEOPLE["owned"])["Title"] == "Head of Buying"

    rows = sf.bulk.Lead.query(
        f"SELECT Id, Email, Owner.Name, CreatedDate FROM Lead WHERE Email = '{PEOPLE['owned']}'"
    )
    assert len(rows) == 1
    assert rows[0]["attributes"]["type"] == "Lead"
    assert rows[0]["Owner"]["Name"] == "Bob Seller"
    created = parse_datetime(owned["CreatedDate"]).timestamp()
    assert rows[0]["CreatedDate"] == int(created * 1000)

    deleted = sf.bulk.Lead.delete([{"Id": owned["Id"]}])
    assert deleted[0]["success"] is True
    gone = sf.bulk.Lead.query_all(f"SELECT Id, IsDeleted FROM Lead WHERE Id = '{owned['Id']}'")
    assert gone[0]["IsDeleted"] is True
    assert sf.bulk.Lead.query(f"SELECT Id FROM Lead WHERE Id = '{owned['Id']}'") == []


def test_sf_bulk_and_sf_bulk2_work_unmodified_on_one_org(seeded: EmulatedOrg) -> None:
    """The standalone proof: simple-salesforce's two Bulk clients, as shipped, on the same
    org — what one writes the other reads, and both see the seeded records."""
    sf = seeded.client()
    job = sf.bulk2.Lead.insert(
        records=[{"LastName": f"Two {i}", "Company": "Both Co"} for i in range(3)], wait=0
    )
    assert (job[0]["numberRecordsProcessed"], job[0]["numberRecordsFailed"]) == (3, 0)
    by_one = sf.bulk.Lead.query("SELECT Id, LastName FROM Lead WHERE Company = 'Both Co'")
    assert sorted(r["LastName"] for r in by_one) == ["Two 0", "Two 1", "Two 2"]
    sf.bulk.Lead.update([{"Id": r["Id"], "Company": "Moved Co"} for r in by_one])
    pages = sf.bulk2.Lead.query(
        "SELECT LastName, Owner.Email FROM Lead WHERE Company IN ('Moved Co', 'Prospect Co')",
        wait=0,
    )
    text = "".join(str(page) for page in pages)
    assert text.count("Two ") == 3
    assert PEOPLE["bob"] in text  # the seeded Prospect Co Leads, owned by Bob


def test_sf_bulk_upsert_matches_the_external_id(seeded: EmulatedOrg) -> None:
    """An upsert job names ``externalIdFieldName``; a match is updated, no match created."""
    sf = seeded.client()
    results = sf.bulk.Lead.upsert(
        [
            {"Legacy_Id__c": "L-1", "Title": "Matched"},
            {"Legacy_Id__c": "L-2", "LastName": "Fresh", "Company": "New Co"},
        ],
        "Legacy_Id__c",
    )
    assert [r["created"] for r in results] == [False, True]
    legacy = sf.query("SELECT Title, Owner.Email FROM Lead WHERE Legacy_Id__c = 'L-1'")
    assert legacy["records"][0]["Title"] == "Matched"
    assert legacy["records"][0]["Owner"]["Email"] == PEOPLE["bob"]


def test_bulk_upserts_match_only_on_external_id_fields(seeded: EmulatedOrg) -> None:
    """Upsert "is available for objects if the object has an external ID field or a field
    with the idLookup field property"
    (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_upsert.htm),
    in Bulk API 1.0 and 2.0 as in REST: a plain field (``Company``) is no key, and every row
    of such a job is refused rather than matched on it."""
    sf = seeded.client()
    before = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    old = sf.bulk.Lead.upsert([{"Company": "Old Co", "Title": "Guessed"}], "Company")
    assert [r["success"] for r in old] == [False]
    assert "INVALID_FIELD" in str(old[0]["errors"])
    new = sf.bulk2.Lead.upsert(
        records=[{"Company": "Old Co", "Title": "Guessed"}], external_id_field="Company"
    )
    assert [r["numberRecordsFailed"] for r in new] == [1]
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == before
    legacy = sf.query("SELECT Title FROM Lead WHERE Legacy_Id__c = 'L-1'")["records"][0]
    assert legacy["Title"] is None
    by_key = sf.bulk2.Lead.upsert(
        records=[{"Legacy_Id__c": "L-1", "Title": "Matched"}], external_id_field="Legacy_Id__c"
    )
    assert [r["numberRecordsProcessed"] for r in by_key] == [1]
    assert (
        sf.query("SELECT Title FROM Lead WHERE Legacy_Id__c = 'L-1'")["records"][0]["Title"]
        == "Matched"
    )


def test_each_bulk_request_is_one_api_call_and_each_batch_one_batch(
    seeded: EmulatedOrg,
) -> None:
    """ "Each HTTP request counts as one call for the purposes of calculating usage limits"
    (https://help.salesforce.com/s/articleView?id=000382576&type=1), and every Bulk API
    batch spends one of the 15,000 a day (Batch Allocations,
    https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-bulkapi.html)."""
    sf = seeded.client()
    batches_before = sf.limits()["DailyBulkApiBatches"]["Remaining"]
    calls_before = seeded.api_calls
    sf.bulk.Lead.insert([{"LastName": f"B{i}", "Company": "Acme"} for i in range(3)], batch_size=2)
    # create job, 2 × (add batch, look at batch, get results), close job; then limits
    assert seeded.api_calls - calls_before == 1 + 2 * 3 + 1
    assert sf.limits()["DailyBulkApiBatches"]["Remaining"] == batches_before - 2


def test_bulk_refuses_what_it_does_not_run_in_the_batch(seeded: EmulatedOrg) -> None:
    """Bulk API does not run OFFSET or COUNT() (Use Bulk Query,
    https://developer.salesforce.com/docs/atlas.en-us.232.0.api_asynch.meta/api_asynch/asynch_api_using_bulk_query.htm):
    the batch fails, and its ``stateMessage`` says why in a real org's words."""
    sf = seeded.client()
    for soql, why in (
        ("SELECT Id FROM Lead ORDER BY Id LIMIT 1 OFFSET 1", "OFFSET"),
        ("SELECT COUNT() FROM Lead", "Aggregate"),
        ("SELECT Nope__c FROM Lead", "INVALID_FIELD"),
    ):
        with pytest.raises(SalesforceGeneralError) as failed:
            sf.bulk.Lead.query(soql, wait=0)
        assert "InvalidBatch : Failed to process query" in str(failed.value)
        assert why in str(failed.value)


def test_a_bad_session_is_refused_in_bulk_words_a_good_one_never(seeded: EmulatedOrg) -> None:
    """The session travels in ``X-SFDC-Session``; a bad one is 400 ``InvalidSessionId``
    (the shape real orgs answer, simple-salesforce/simple-salesforce#272). A valid session
    sent as a REST ``Authorization`` header alone is still no Bulk API session."""
    sf = seeded.client()
    stale = seeded.client(session_id="00D5E0000000001!stale")
    with pytest.raises(SalesforceMalformedRequest) as refused:
        stale.bulk.Lead.insert([{"LastName": "X", "Company": "Y"}])
    assert refused.value.content == {
        "exceptionCode": "InvalidSessionId",
        "exceptionMessage": "Invalid session id",
    }
    missing = sf.session.post(
        f"{sf.bulk_url}job",
        headers={"Authorization": f"Bearer {sf.session_id}", "Content-Type": "application/json"},
        data=json.dumps({"operation": "insert", "object": "Lead", "contentType": "JSON"}),
    )
    assert missing.status_code == 400
    assert missing.json()["exceptionCode"] == "InvalidSessionId"


def test_what_the_emulated_org_does_not_serve_is_a_clear_refusal(seeded: EmulatedOrg) -> None:
    """XML and CSV jobs and PK chunking are refused with ``FeatureNotEnabled`` naming what
    to use instead — in XML to a client that sent XML — never with a session error."""
    sf = seeded.client()
    xml_job = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload">'
        "<operation>insert</operation><object>Lead</object><contentType>CSV</contentType>"
        "</jobInfo>"
    )
    answer = _raw(sf, "POST", "job", xml_job, **{"Content-Type": "application/xml"})
    assert answer.status_code == 400
    assert "<exceptionCode>FeatureNotEnabled</exceptionCode>" in answer.text
    assert "Bulk API 2.0" in answer.text

    csv_job = {"operation": "insert", "object": "Lead", "contentType": "CSV"}
    assert _raw(sf, "POST", "job", csv_job).json()["exceptionCode"] == "FeatureNotEnabled"
    chunked = {"operation": "query", "object": "Lead", "contentType": "JSON"}
    answer = _raw(sf, "POST", "job", chunked, **{"Sforce-Enable-PKChunking": "chunkSize=1000"})
    assert answer.json()["exceptionCode"] == "FeatureNotEnabled"


def test_jobs_and_batches_follow_their_states(seeded: EmulatedOrg) -> None:
    """A closed job takes no batches; batch operations use the job's API version ("The API
    version in the URI for all batch operations must match the API version for the
    associated job", Add a Batch to a Job,
    https://developer.salesforce.com/docs/atlas.en-us.264.0.api_asynch.meta/api_asynch/asynch_api_batches_create.htm);
    an unknown job is ``InvalidJob``."""
    sf = seeded.client()
    job = _raw(sf, "POST", "job", {"operation": "insert", "object": "Lead", "contentType": "JSON"})
    assert job.status_code == 201
    job_id = job.json()["id"]
    assert job.json()["state"] == "Open"
    assert job.json()["createdById"] == _user_id(sf, PEOPLE["ann"])

    other_version = sf.bulk_url.replace(f"/{sf.sf_version}/", "/58.0/")
    wrong = sf.session.post(
        f"{other_version}job/{job_id}/batch",
        headers={"X-SFDC-Session": sf.session_id, "Content-Type": "application/json"},
        data="[]",
    )
    assert wrong.json()["exceptionCode"] == "InvalidVersion"

    closed = _raw(sf, "POST", f"job/{job_id}", {"state": "Closed"})
    assert closed.json()["state"] == "Closed"
    late = _raw(sf, "POST", f"job/{job_id}/batch", [{"LastName": "Late", "Company": "C"}])
    assert late.json()["exceptionCode"] == "InvalidJobState"
    assert _raw(sf, "GET", "job/750000000000000AAA").json()["exceptionCode"] == "InvalidJob"
    # A JSON job's resources answer in JSON, even to a request that names no content type.
    bare = sf.session.get(
        f"{sf.bulk_url}job/{job_id}/batch/751000000000000AAA",
        headers={"X-SFDC-Session": sf.session_id},
    )
    assert bare.json()["exceptionCode"] == "InvalidBatch"
    assert _raw(sf, "DELETE", f"job/{job_id}").status_code == 405


def _user_id(sf: Salesforce, email: str) -> str:
    return str(sf.query(f"SELECT Id FROM User WHERE Email = '{email}'")["records"][0]["Id"])


def test_bulk_takes_gzip_bodies_and_checks_the_version_and_edition(seeded: EmulatedOrg) -> None:
    """Bulk API 1.0 requests may be compressed ("Bulk API … supports gzip compression"
    of request bodies with ``Content-Encoding: gzip``, Compression,
    https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_concepts_compression.htm);
    a retired version in the URI is ``InvalidVersion``, as every API refuses retired
    versions (API End-of-Life Policy,
    https://developer.salesforce.com/docs/platform/api-tooling/guide/tooling-api-eol.html)."""
    sf = seeded.client()
    job = {"operation": "insert", "object": "Lead", "contentType": "JSON"}
    packed = gzip.compress(json.dumps(job).encode())
    sent = {"X-SFDC-Session": sf.session_id, "Content-Type": "application/json"}
    created = sf.session.post(
        f"{sf.bulk_url}job", headers={**sent, "Content-Encoding": "gzip"}, data=packed
    )
    assert created.status_code == 201, created.text
    assert created.json()["object"] == "Lead"
    retired = sf.bulk_url.replace(f"/async/{sf.sf_version}/", "/async/30.0/")
    old = sf.session.post(f"{retired}job", headers=sent, data=json.dumps(job))
    assert (old.status_code, old.json()["exceptionCode"]) == (400, "InvalidVersion")


def test_an_edition_without_api_access_has_no_bulk_api() -> None:
    """ "FeatureNotEnabled: Bulk API is not enabled for this organization" (Errors,
    https://developer.salesforce.com/docs/platform/api-asynch/guide/asynch-api-reference-errors.html)."""
    seed = existing_seed()
    seed["Organization"] = {"OrganizationType": "Professional Edition"}
    with EmulatedOrg(seed=seed) as org:
        sf = org.client()
        answer = _raw(sf, "POST", "job", {"operation": "insert", "object": "Lead"})
        assert (answer.status_code, answer.json()["exceptionCode"]) == (400, "FeatureNotEnabled")
