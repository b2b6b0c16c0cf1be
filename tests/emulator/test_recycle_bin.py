"""The end of the recycle bin: deleted records kept for the bin's days, then gone; and
purged at once by ``emptyRecycleBin``. Either way ``queryAll`` and ``getDeleted`` no
longer show them, and ``getDeleted``'s ``earliestDateAvailable`` says deletions before it
are unknown.

Sources: ``getDeleted()`` — "Results are returned for no more than 15 days previous to
the day the call is executed (or earlier if an administrator has purged the recycle bin)"
and a start date out of range is ``INVALID_REPLICATION_DATE``
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getdeleted.htm);
``GetDeletedResult.earliestDateAvailable`` — "the timestamp … of the last physically
deleted object"
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getdeleted_getdeletedresult.htm);
``emptyRecycleBin()`` — deletes records from the recycle bin immediately, at most 200 IDs
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm).
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg
from journey.emulator.seed import SeedError
from tests.emulated_org import SEED, FakeClock

NS = {"p": "urn:partner.soap.sforce.com"}


def empty_recycle_bin(sf: Salesforce, ids: list[str]) -> list[dict[str, str | None]]:
    """The partner API's emptyRecycleBin, as a SOAP client sends it."""
    body = "".join(f"<urn:ids>{i}</urn:ids>" for i in ids)
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com">'
        "<soapenv:Header><urn:SessionHeader>"
        f"<urn:sessionId>{sf.session_id}</urn:sessionId>"
        "</urn:SessionHeader></soapenv:Header>"
        f"<soapenv:Body><urn:emptyRecycleBin>{body}</urn:emptyRecycleBin></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    response = sf.session.post(
        f"https://{sf.sf_instance}/services/Soap/u/{sf.sf_version}",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
    )
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    out = []
    for result in root.findall(".//p:emptyRecycleBinResponse/p:result", NS):
        out.append(
            {
                "id": result.findtext("p:id", None, NS),
                "success": result.findtext("p:success", None, NS),
                "statusCode": result.findtext("p:errors/p:statusCode", None, NS),
            }
        )
    return out


@pytest.fixture
def short_bin(clock: FakeClock) -> Iterator[EmulatedOrg]:
    seed = copy.deepcopy(SEED)
    seed["RecycleBinDays"] = 2
    with EmulatedOrg(seed=seed, clock=clock) as emulated:
        emulated.start()
        yield emulated


def _in_bin(sf: Salesforce, record_id: str) -> bool:
    rows = sf.query_all(
        f"SELECT Id FROM Lead WHERE IsDeleted = true AND Id = '{record_id}'", include_deleted=True
    )["records"]
    return bool(rows)


def test_deleted_records_leave_the_bin_after_its_days(
    short_bin: EmulatedOrg, clock: FakeClock
) -> None:
    sf = short_bin.client()
    lead = sf.Lead.create({"LastName": "Gone", "Company": "W"})["id"]
    clock.advance(minutes=1)
    start = clock.now
    sf.Lead.delete(lead)
    deleted_at = clock.now
    clock.advance(days=1)
    assert _in_bin(sf, lead)
    assert [d["id"] for d in sf.Lead.deleted(start, clock.now)["deletedRecords"]] == [lead]
    clock.advance(days=1, minutes=5)
    assert not _in_bin(sf, lead)
    with pytest.raises(SalesforceMalformedRequest) as too_old:
        sf.Lead.deleted(start, clock.now)
    assert too_old.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    answer = sf.Lead.deleted(clock.now - timedelta(days=1), clock.now)
    assert answer["deletedRecords"] == []
    assert answer["earliestDateAvailable"].startswith(deleted_at.strftime("%Y-%m-%dT%H:%M"))


def test_empty_recycle_bin_purges_at_once(clocked_org: EmulatedOrg, clock: FakeClock) -> None:
    sf = clocked_org.client()
    kept, purged, live = (
        sf.Lead.create({"LastName": name, "Company": "W"})["id"] for name in ("K", "P", "L")
    )
    clock.advance(minutes=1)
    start = clock.now
    sf.Lead.delete(kept)
    sf.Lead.delete(purged)
    clock.advance(minutes=2)
    results = empty_recycle_bin(sf, [purged, live])
    assert results == [
        {"id": purged, "success": "true", "statusCode": None},
        {"id": live, "success": "false", "statusCode": "INVALID_ID_FIELD"},
    ]
    assert _in_bin(sf, kept)
    assert not _in_bin(sf, purged)
    answer = sf.Lead.deleted(start, clock.now)
    assert [d["id"] for d in answer["deletedRecords"]] == [kept]
    assert answer["earliestDateAvailable"].startswith(start.strftime("%Y-%m-%dT%H:%M"))
    assert sf.Lead.get(live)["LastName"] == "L"


def test_recycle_bin_days_are_one_to_fifteen() -> None:
    for days in (0, 16, "3", True):
        seed = {**copy.deepcopy(SEED), "RecycleBinDays": days}
        with pytest.raises(SeedError, match="RecycleBinDays"):
            EmulatedOrg(seed=seed)
