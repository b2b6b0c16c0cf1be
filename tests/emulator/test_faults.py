"""Faults on demand and the API allocation: expired sessions, an exhausted allocation,
lock errors and 503s on a deterministic share of writes, latency — in-process and over
the admin path — and the Sforce-Limit-Info header."""

from __future__ import annotations

import time

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from journey.emulator import EmulatedOrg


def test_every_response_carries_the_api_usage(sf: Salesforce, org: EmulatedOrg) -> None:
    sf.query("SELECT Id FROM Lead")
    used = org.api_calls
    assert sf.api_usage["api-usage"].used == used
    assert sf.api_usage["api-usage"].total == 15_000
    assert sf.limits()["DailyApiRequests"] == {"Max": 15_000, "Remaining": 15_000 - used - 1}


def test_an_expired_session_is_refused_until_renewed(sf: Salesforce, org: EmulatedOrg) -> None:
    org.expire_session()
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.query("SELECT Id FROM Lead")
    assert expired.value.status == 401
    assert expired.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    fresh = org.client(session_id=org.renew_session())
    assert fresh.query("SELECT COUNT() FROM Lead")["totalSize"] == 1


def test_an_exhausted_allocation_is_refused(sf: Salesforce, org: EmulatedOrg) -> None:
    org.exhaust_api()
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.Lead.create({"LastName": "X", "Company": "Y"})
    assert refused.value.status == 403
    assert refused.value.content == [
        {
            "message": "TotalRequests Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
            "fields": [],
        }
    ]


def test_the_allocation_runs_out_after_max_calls() -> None:
    with EmulatedOrg(api_limit=3) as org:
        sf = org.client()
        for _ in range(3):
            sf.query("SELECT Id FROM User")
        with pytest.raises(SalesforceRefusedRequest):
            sf.query("SELECT Id FROM User")
        assert org.api_calls == 3


def failures(org: EmulatedOrg, share: float, error: str, seed: int) -> list[str]:
    org.faults.fail_writes(share, error, seed=seed)
    sf = org.client()
    outcomes = []
    for i in range(20):
        try:
            sf.Lead.create({"LastName": f"F{i}", "Company": "Locks"})
            outcomes.append("ok")
        except SalesforceMalformedRequest as error_400:
            outcomes.append(error_400.content[0]["errorCode"])
        except SalesforceGeneralError as error_503:
            outcomes.append(str(error_503.status))
    return outcomes


def test_a_share_of_writes_fails_the_same_way_every_time(org: EmulatedOrg) -> None:
    first = failures(org, 0.3, "UNABLE_TO_LOCK_ROW", seed=7)
    again = failures(org, 0.3, "UNABLE_TO_LOCK_ROW", seed=7)
    assert first == again
    assert set(first) == {"ok", "UNABLE_TO_LOCK_ROW"}
    unavailable = failures(org, 0.5, "503", seed=1)
    assert set(unavailable) == {"ok", "503"}
    org.faults.clear()
    assert failures(org, 0.0, "UNABLE_TO_LOCK_ROW", seed=0) == ["ok"] * 20


def test_lock_errors_in_collections_are_per_record(sf: Salesforce, org: EmulatedOrg) -> None:
    org.faults.fail_writes(0.5, "UNABLE_TO_LOCK_ROW", seed=3)
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {"attributes": {"type": "Lead"}, "LastName": f"C{i}", "Company": "Co"}
                for i in range(10)
            ]
        },
    )
    codes = {r["errors"][0]["statusCode"] for r in results if not r["success"]}
    assert codes == {"UNABLE_TO_LOCK_ROW"}
    assert 0 < sum(r["success"] for r in results) < 10


def test_latency_is_added_to_each_response(sf: Salesforce, org: EmulatedOrg) -> None:
    org.faults.add_latency(0.2)
    started = time.monotonic()
    sf.query("SELECT Id FROM Lead")
    assert time.monotonic() - started >= 0.2


def test_the_admin_path_drives_faults_from_another_process(org: EmulatedOrg) -> None:
    endpoint = org.endpoint
    with requests.Session() as http:
        http.verify = str(endpoint.ca_file)
        http.trust_env = False
        url = endpoint.as_json()["admin_url"]
        assert http.post(url, json={"exhaust_api": True}).status_code == 401  # no admin token
        admin = {"X-Emulator-Admin": endpoint.admin_token}
        state = http.post(
            url,
            json={"fail_writes": {"share": 1, "error": "503"}, "latency_seconds": 0},
            headers=admin,
        ).json()
        assert (state["write_failure_share"], state["write_error"]) == (1.0, "SERVER_UNAVAILABLE")
        sf = org.client()
        with pytest.raises(SalesforceGeneralError) as unavailable:
            sf.Lead.create({"LastName": "X", "Company": "Y"})
        assert unavailable.value.status == 503
        http.post(url, json={"clear": True, "expire_session": True}, headers=admin)
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT Id FROM Lead")
        renewed = http.post(url, json={"renew_session": True}, headers=admin).json()
        assert org.client(renewed["session_id"]).query("SELECT Id FROM Lead")["totalSize"] == 1
        assert http.get(url, headers=admin).json()["api_usage"]["limit"] == 15_000
        bad = http.post(url, json={"fail_writes": {"share": 2}}, headers=admin)
        assert bad.status_code == 400


def test_write_faults_spare_a_composite_call_of_queries(sf: Salesforce, org: EmulatedOrg) -> None:
    # The connector reads contacts' records five queries to a Composite POST: a read,
    # which an outage of writes leaves answering; a Composite call that writes does not.
    org.faults.fail_writes(1.0, "503")
    base = f"/services/data/v{sf.sf_version}"
    reads = [
        {"method": "GET", "url": f"{base}/query/?q=SELECT+Id+FROM+Lead", "referenceId": "q1"},
        {"method": "GET", "url": f"{base}/query/?q=SELECT+Id+FROM+Contact", "referenceId": "q2"},
    ]
    answer = sf.restful("composite", method="POST", json={"compositeRequest": reads})
    assert [sub["httpStatusCode"] for sub in answer["compositeResponse"]] == [200, 200]
    create = {
        "method": "POST",
        "url": f"{base}/sobjects/Lead",
        "referenceId": "new",
        "body": {"LastName": "Composite", "Company": "C"},
    }
    with pytest.raises(SalesforceGeneralError) as refused:
        sf.restful("composite", method="POST", json={"compositeRequest": [*reads, create]})
    assert refused.value.status == 503
    org.faults.clear()


def test_an_outage_refuses_reads_too_until_cleared(sf: Salesforce, org: EmulatedOrg) -> None:
    org.admin({"outage": True})
    with pytest.raises(SalesforceGeneralError) as refused:
        sf.query("SELECT Id FROM Lead")
    assert refused.value.status == 503
    assert refused.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    org.admin({"clear": True})
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] >= 0
