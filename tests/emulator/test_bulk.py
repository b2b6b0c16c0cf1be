"""Bulk API 2.0 through simple-salesforce's own ``sf.bulk2``: query jobs with locator
paging, insert and update jobs with successful and failed results."""

from __future__ import annotations

import csv
import io

from simple_salesforce.api import Salesforce

from journey.emulator import EmulatedOrg


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk_query_pages_with_the_locator(sf: Salesforce, org: EmulatedOrg) -> None:
    org.insert(
        "Lead",
        ({"LastName": f"B{i:03d}", "Company": "Bulk", "AnnualRevenue": i} for i in range(250)),
    )
    pages = list(
        sf.bulk2.Lead.query(
            "SELECT Id, LastName, AnnualRevenue, Owner.Name FROM Lead WHERE Company = 'Bulk' "
            "ORDER BY LastName",
            max_records=100,
            wait=0,
        )
    )
    assert len(pages) == 3
    records = [r for page in pages for r in rows(str(page))]
    assert len(records) == 250
    assert records[0]["LastName"] == "B000"
    assert records[-1]["LastName"] == "B249"
    assert records[5]["Owner.Name"] == "Ann Admin"
    assert records[5]["AnnualRevenue"] == "5.0"


def test_bulk_insert_and_update_report_failures(sf: Salesforce) -> None:
    inserted = sf.bulk2.Lead.insert(
        records=[
            {"LastName": "Ok1", "Company": "Acme", "DoNotCall": "true"},
            {"LastName": "NoCompany", "Company": ""},
            {"LastName": "Ok2", "Company": "Acme", "AnnualRevenue": "12.5"},
        ],
        wait=0,
    )
    assert len(inserted) == 1
    job = inserted[0]
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (3, 1)
    succeeded = rows(sf.bulk2.Lead.get_successful_records(job["job_id"]))
    assert [r["LastName"] for r in succeeded] == ["Ok1", "Ok2"]
    assert all(r["sf__Created"] == "true" for r in succeeded)
    failed = rows(sf.bulk2.Lead.get_failed_records(job["job_id"]))
    assert failed[0]["LastName"] == "NoCompany"
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    first = sf.Lead.get(succeeded[0]["sf__Id"])
    assert first["DoNotCall"] is True

    updated = sf.bulk2.Lead.update(
        records=[
            {"Id": succeeded[0]["sf__Id"], "Title": "Boss"},
            {"Id": "00Q5E0000000zzz", "Title": "Ghost"},
        ],
        wait=0,
    )
    assert (updated[0]["numberRecordsProcessed"], updated[0]["numberRecordsFailed"]) == (2, 1)
    assert sf.Lead.get(succeeded[0]["sf__Id"])["Title"] == "Boss"
    everything = sf.bulk2.Lead.get_all_ingest_records(updated[0]["job_id"])
    assert everything["failedRecords"][0]["sf__Error"].startswith("NOT_FOUND:")
    assert everything["unprocessedRecords"] == []
