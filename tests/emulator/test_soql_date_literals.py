"""SOQL date literals against date and dateTime fields, counted from the org's clock, as
"Date Formats and Date Literals in WHERE" defines each range
(https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm).
The org's today is Wednesday 2026-05-13 (UTC, en_US: weeks start on Sunday)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg
from tests.existing_org import existing_seed

# Opportunity name → its CloseDate.
CLOSES = {
    "last-year": "2025-12-31",
    "feb": "2026-02-14",
    "march": "2026-03-15",
    "april": "2026-04-30",
    "may-1": "2026-05-01",
    "last-sunday": "2026-05-03",
    "last-saturday": "2026-05-09",
    "sunday": "2026-05-10",
    "yesterday": "2026-05-12",
    "today": "2026-05-13",
    "tomorrow": "2026-05-14",
    "next-sunday": "2026-05-17",
    "june": "2026-06-01",
    "july": "2026-07-01",
    "next-year": "2027-01-01",
}
MAY = {"may-1", "last-sunday", "last-saturday", "sunday", "yesterday", "today", "tomorrow"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 13, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dated_org(clock: Clock) -> Iterator[EmulatedOrg]:
    seed = existing_seed()
    seed["Opportunity"] = [
        {"Name": name, "StageName": "Prospecting", "CloseDate": close}
        for name, close in CLOSES.items()
    ]
    with EmulatedOrg(seed=seed, clock=clock) as org:
        org.start()
        yield org


def closing(sf: Salesforce, condition: str) -> set[str]:
    found = sf.query_all(f"SELECT Name FROM Opportunity WHERE CloseDate {condition}")
    return {r["Name"] for r in found["records"]}


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("TODAY", {"today"}),
        ("YESTERDAY", {"yesterday"}),
        ("TOMORROW", {"tomorrow"}),
        ("THIS_WEEK", {"sunday", "yesterday", "today", "tomorrow"}),
        ("LAST_WEEK", {"last-sunday", "last-saturday"}),
        ("NEXT_WEEK", {"next-sunday"}),
        ("THIS_MONTH", MAY | {"next-sunday"}),
        ("LAST_MONTH", {"april"}),
        ("NEXT_MONTH", {"june"}),
        ("THIS_QUARTER", MAY | {"next-sunday", "april", "june"}),
        ("LAST_QUARTER", {"feb", "march"}),
        ("NEXT_QUARTER", {"july"}),
        ("THIS_YEAR", set(CLOSES) - {"last-year", "next-year"}),
        ("LAST_YEAR", {"last-year"}),
        ("NEXT_YEAR", {"next-year"}),
        # "includes the current day, not just previous days": 2026-02-12 to today
        ("LAST_90_DAYS", (MAY - {"tomorrow"}) | {"feb", "march", "april"}),
        ("NEXT_90_DAYS", {"tomorrow", "next-sunday", "june", "july"}),
        ("LAST_N_DAYS:1", {"yesterday", "today"}),
        ("NEXT_N_DAYS:1", {"tomorrow"}),
        ("N_DAYS_AGO:10", {"last-sunday"}),
        ("LAST_N_WEEKS:1", {"last-sunday", "last-saturday"}),
        ("NEXT_N_WEEKS:1", {"next-sunday"}),
        ("N_WEEKS_AGO:1", {"last-sunday", "last-saturday"}),
        ("LAST_N_MONTHS:3", {"feb", "march", "april"}),
        ("NEXT_N_MONTHS:2", {"june", "july"}),
        ("N_MONTHS_AGO:2", {"march"}),
        ("LAST_N_QUARTERS:1", {"feb", "march"}),
        ("NEXT_N_QUARTERS:1", {"july"}),
        ("N_QUARTERS_AGO:2", {"last-year"}),
        ("LAST_N_YEARS:1", {"last-year"}),
        ("NEXT_N_YEARS:1", {"next-year"}),
        ("N_YEARS_AGO:1", {"last-year"}),
    ],
)
def test_each_literal_is_its_documented_range(
    dated_org: EmulatedOrg, literal: str, expected: set[str]
) -> None:
    assert closing(dated_org.client(), f"= {literal}") == expected


def test_comparisons_take_the_side_of_the_range(dated_org: EmulatedOrg) -> None:
    """ "To filter results on one side of the range, use > or <" (the page above)."""
    sf = dated_org.client()
    assert closing(sf, "< THIS_MONTH") == {"last-year", "feb", "march", "april"}
    assert closing(sf, "> THIS_MONTH") == {"june", "july", "next-year"}
    assert closing(sf, "<= LAST_MONTH") == {"last-year", "feb", "march", "april"}
    assert closing(sf, ">= NEXT_MONTH") == {"june", "july", "next-year"}
    assert closing(sf, "!= THIS_YEAR") == {"last-year", "next-year"}
    assert closing(sf, "= this_week") == closing(sf, "= THIS_WEEK")  # any case


def test_datetime_fields_use_the_range_from_midnight(dated_org: EmulatedOrg, clock: Clock) -> None:
    """A dateTime field is in a literal's range from 00:00:00 of its first day; the seed's
    records were all created at the org's noon."""
    sf = dated_org.client()
    leads = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    assert sf.query("SELECT COUNT() FROM Lead WHERE CreatedDate = TODAY")["totalSize"] == leads
    clock.now += timedelta(days=7)  # the next Wednesday
    for literal, count in [("TODAY", 0), ("LAST_WEEK", leads), ("THIS_WEEK", 0)]:
        soql = f"SELECT COUNT() FROM Lead WHERE CreatedDate = {literal}"
        assert sf.query(soql)["totalSize"] == count, literal
    assert sf.query("SELECT COUNT() FROM Lead WHERE CreatedDate = N_DAYS_AGO:7")["totalSize"] == (
        leads
    )
    assert sf.query("SELECT COUNT() FROM Lead WHERE CreatedDate < THIS_WEEK")["totalSize"] == (
        leads
    )


def test_fiscal_literals_are_refused_by_name(dated_org: EmulatedOrg) -> None:
    """The fiscal literals count the org's fiscal year settings, which the emulated org
    does not hold: a clear refusal, not a guessed range."""
    sf = dated_org.client()
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query("SELECT Id FROM Opportunity WHERE CloseDate = THIS_FISCAL_YEAR")
    assert refused.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    assert "THIS_FISCAL_YEAR" in refused.value.content[0]["message"]
