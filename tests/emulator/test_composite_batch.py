"""Composite Batch (``composite/batch``) as documented: independent subrequests that each
commit, ``haltOnError`` answering 412 ``BATCH_PROCESSING_HALTED`` after a failure, the
``hasErrors``/``results`` shape, each subrequest counted against the allocation, and a
malformed batch refused whole.

Sources: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_batch.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/requests_composite_batch.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/responses_composite_batch.htm.
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg
from tests.existing_org import PEOPLE


@pytest.fixture
def sf(existing_org: EmulatedOrg) -> Salesforce:
    return existing_org.client()


def lead_id(sf: Salesforce, email: str) -> str:
    return str(sf.query(f"SELECT Id FROM Lead WHERE Email = '{email}'")["records"][0]["Id"])


def test_batch_runs_each_subrequest_on_its_own(sf: Salesforce, existing_org: EmulatedOrg) -> None:
    owned = lead_id(sf, PEOPLE["owned"])
    calls = existing_org.api_calls
    answer = sf.restful(
        "composite/batch",
        method="POST",
        json={
            "batchRequests": [
                {
                    "method": "PATCH",
                    "url": f"v59.0/sobjects/Lead/{owned}",
                    "richInput": {"Title": "VP"},
                },
                {"method": "GET", "url": f"v59.0/sobjects/Lead/{owned}?fields=Title,Email"},
                {"method": "POST", "url": "v59.0/sobjects/Lead", "richInput": {"LastName": "NoCo"}},
                {
                    "method": "GET",
                    "url": "v59.0/query?q=SELECT+Id+FROM+Lead+WHERE+LastName='Owned'",
                },
                {"method": "GET", "url": "v59.0/limits"},
            ]
        },
    )
    assert answer["hasErrors"] is True
    statuses = [r["statusCode"] for r in answer["results"]]
    assert statuses == [204, 200, 400, 200, 200]
    assert answer["results"][0]["result"] is None
    assert answer["results"][1]["result"]["Title"] == "VP"
    assert answer["results"][2]["result"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert answer["results"][3]["result"]["totalSize"] == 1
    # "Each subrequest counts against rate limits": five subrequests, five calls.
    assert existing_org.api_calls == calls + 5


def test_halt_on_error_stops_after_the_first_failure_and_keeps_earlier_commits(
    sf: Salesforce,
) -> None:
    answer = sf.restful(
        "composite/batch",
        method="POST",
        json={
            "haltOnError": True,
            "batchRequests": [
                {
                    "method": "POST",
                    "url": "v59.0/sobjects/Lead",
                    "richInput": {"LastName": "Kept", "Company": "Batch Co"},
                },
                {"method": "GET", "url": "v59.0/sobjects/Lead/00Q000000000000AAA"},
                {
                    "method": "POST",
                    "url": "v59.0/sobjects/Lead",
                    "richInput": {"LastName": "Halted", "Company": "Batch Co"},
                },
            ],
        },
    )
    assert answer["hasErrors"] is True
    assert [r["statusCode"] for r in answer["results"]] == [201, 404, 412]
    assert answer["results"][2]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"
    assert sf.query("SELECT Id FROM Lead WHERE LastName = 'Kept'")["totalSize"] == 1
    assert sf.query("SELECT Id FROM Lead WHERE LastName = 'Halted'")["totalSize"] == 0


@pytest.mark.parametrize(
    "batch",
    [
        [{"method": "GET", "url": "v59.0/limits"}] * 26,
        [{"method": "FETCH", "url": "v59.0/limits"}],
        [{"method": "GET", "url": "v33.0/limits"}],  # before batching existed (34.0)
        [{"method": "GET", "url": "LATER/limits"}],  # later than the batch's own version
        [{"method": "POST", "url": "v59.0/composite", "richInput": {"compositeRequest": []}}],
    ],
    ids=["26 subrequests", "bad method", "v33.0", "later version", "composite inside"],
)
def test_a_malformed_batch_is_refused_before_anything_runs(
    sf: Salesforce, batch: list[dict[str, Any]]
) -> None:
    first = {
        "method": "POST",
        "url": "v59.0/sobjects/Lead",
        "richInput": {"LastName": "NotRun", "Company": "Batch Co"},
    }
    later = f"v{int(float(sf.sf_version)) + 1}.0"
    batch = [{**sub, "url": sub["url"].replace("LATER", later)} for sub in batch]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful("composite/batch", method="POST", json={"batchRequests": [first, *batch][:26]})
    assert refused.value.status == 400
    assert sf.query("SELECT Id FROM Lead WHERE LastName = 'NotRun'")["totalSize"] == 0
