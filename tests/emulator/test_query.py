"""SOQL over HTTPS: every query form of the subset, paging, queryAll, refusals, and the
updated/deleted replication windows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from simple_salesforce.format import format_soql

from journey.emulator import EmulatedOrg
from tests.emulated_org import FakeClock

LEADS: list[dict[str, Any]] = [
    {
        "LastName": "Alpha",
        "Company": "A Co",
        "Country": "Germany",
        "AnnualRevenue": 500,
        "Rating": "Hot",
        "Email": "alpha@a.example",
    },
    {
        "LastName": "Bravo",
        "Company": "B Co",
        "Country": "France",
        "AnnualRevenue": 1500,
        "Rating": "Warm",
        "DoNotCall": True,
    },
    {
        "LastName": "Charlie",
        "Company": "C Co",
        "Country": "Spain",
        "Rating": "Cold",
        "Email": "charlie@c.example",
    },
    {
        "LastName": "Delta",
        "Company": "D Co",
        "Country": "germany",
        "AnnualRevenue": 2500,
        "Title": "O'Brien's boss",
    },
]


@pytest.fixture
def leads(org: EmulatedOrg) -> list[str]:
    return org.insert("Lead", LEADS)


def names(result: dict[str, Any]) -> list[str]:
    return [r["LastName"] for r in result["records"]]


def q(sf: Salesforce, where: str, order: str = "LastName") -> list[str]:
    return names(sf.query(f"SELECT LastName FROM Lead WHERE {where} ORDER BY {order}"))


@pytest.mark.usefixtures("leads")
def test_where_operators(sf: Salesforce) -> None:
    assert q(sf, "Country = 'GERMANY'") == ["Alpha", "Delta"]  # text compares ignore case
    assert q(sf, "Country != 'Germany'") == ["Bravo", "Charlie", "Doe"]  # blanks match !=
    assert q(sf, "AnnualRevenue < 1500") == ["Alpha"]
    assert q(sf, "AnnualRevenue <= 1500") == ["Alpha", "Bravo"]
    assert q(sf, "AnnualRevenue > 1500") == ["Delta", "Doe"]
    assert q(sf, "AnnualRevenue >= 2500") == ["Delta", "Doe"]
    assert q(sf, "LastName LIKE 'd%'") == ["Delta", "Doe"]
    assert q(sf, "LastName LIKE '_ravo'") == ["Bravo"]
    assert q(sf, "Rating IN ('Hot', 'Cold')") == ["Alpha", "Charlie"]
    assert q(sf, "Rating NOT IN ('Hot', 'Cold')") == ["Bravo", "Delta", "Doe"]
    assert q(sf, "Email = null") == ["Bravo", "Delta"]
    assert q(sf, "Email != NULL AND AnnualRevenue = null") == ["Charlie"]
    assert q(sf, "DoNotCall = TRUE") == ["Bravo"]
    assert q(sf, "DoNotCall = false AND Rating != null") == ["Alpha", "Charlie"]
    assert q(sf, "(Country = 'Spain' OR Country = 'France') AND NOT Rating = 'Warm'") == ["Charlie"]
    assert q(sf, "NOT (Country = 'Germany' OR Country = 'France')") == ["Charlie", "Doe"]
    assert q(sf, format_soql("Title = {}", "O'Brien's boss")) == ["Delta"]
    assert q(sf, "Owner.Email = 'ann@acme.example' AND Country = 'Spain'") == ["Charlie"]


@pytest.mark.usefixtures("leads")
def test_dates_and_datetimes(sf: Salesforce, org: EmulatedOrg) -> None:
    today = org.org.today()
    assert len(q(sf, "CreatedDate > 2000-01-01T00:00:00Z")) == 5
    assert q(sf, "CreatedDate < 2000-01-01T00:00:00+01:00") == []
    assert len(q(sf, "CreatedDate = TODAY")) == 5
    assert len(q(sf, "CreatedDate = LAST_N_DAYS:7")) == 5
    assert q(sf, "CreatedDate = YESTERDAY") == []
    sf.Opportunity.create(
        {
            "Name": "Deal",
            "StageName": "Prospecting",
            "CloseDate": (today + timedelta(days=3)).isoformat(),
        }
    )
    later = (today + timedelta(days=1)).isoformat()
    assert sf.query(f"SELECT Name FROM Opportunity WHERE CloseDate > {later}")["totalSize"] == 1
    assert (
        sf.query("SELECT Name FROM Opportunity WHERE CloseDate = NEXT_N_DAYS:5")["totalSize"] == 1
    )
    found = sf.query(
        format_soql(
            "SELECT Id FROM Lead WHERE CreatedDate <= {}", org.org.now() + timedelta(minutes=1)
        )
    )
    assert found["totalSize"] == 5


@pytest.mark.usefixtures("leads")
def test_select_parent_fields_order_limit_offset_count(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT Id, Name, Owner.Name, Owner.Email, Score__c FROM Lead "
        "WHERE Country = 'Germany' ORDER BY AnnualRevenue DESC"
    )
    first = result["records"][0]
    assert first["Name"] == "Delta"
    assert first["Score__c"] == 2.5
    assert first["Owner"]["Name"] == "Ann Admin"
    assert first["Owner"]["Email"] == "ann@acme.example"
    # Lead.Owner is polymorphic (User or queue): its record is a Name
    assert first["Owner"]["attributes"]["type"] == "Name"
    contacts = sf.query("SELECT LastName, Account.Name, Account.Owner.Name FROM Contact")
    assert contacts["records"][0]["Account"]["Name"] == "Globex"
    assert contacts["records"][0]["Account"]["Owner"]["Name"] == "Ann Admin"
    nulls_first = names(sf.query("SELECT LastName FROM Lead ORDER BY AnnualRevenue"))
    assert nulls_first == ["Charlie", "Alpha", "Bravo", "Delta", "Doe"]
    descending = names(sf.query("SELECT LastName FROM Lead ORDER BY AnnualRevenue DESC"))
    assert descending == ["Charlie", "Doe", "Delta", "Bravo", "Alpha"]  # nulls first too
    both = names(
        sf.query("SELECT LastName FROM Lead ORDER BY Country ASC NULLS LAST, LastName DESC")
    )
    assert both == ["Bravo", "Delta", "Alpha", "Charlie", "Doe"]
    paged = names(sf.query("SELECT LastName FROM Lead ORDER BY LastName LIMIT 2 OFFSET 1"))
    assert paged == ["Bravo", "Charlie"]
    counted = sf.query("SELECT COUNT() FROM Lead WHERE Country = 'Germany'")
    assert (counted["totalSize"], counted["records"]) == (2, [])
    lower = sf.query("select lastname from lead where country = 'france'")
    assert lower["records"][0]["LastName"] == "Bravo"  # names come back in canonical case


def test_paging_past_2000_rows(sf: Salesforce, org: EmulatedOrg) -> None:
    org.insert("Lead", ({"LastName": f"L{i:04d}", "Company": "Bulk"} for i in range(2500)))
    calls = org.api_calls
    first = sf.query("SELECT Id, LastName FROM Lead WHERE Company = 'Bulk' ORDER BY LastName")
    assert (first["totalSize"], first["done"], len(first["records"])) == (2500, False, 2000)
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{sf.sf_version}/query/")
    everything = sf.query_all("SELECT LastName FROM Lead WHERE Company = 'Bulk'")
    assert len(everything["records"]) == 2500
    assert len({r["LastName"] for r in everything["records"]}) == 2500
    assert org.api_calls == calls + 3  # one call per page
    small = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
    assert len(small["records"]) == 200


def test_query_all_sees_the_recycle_bin(sf: Salesforce, leads: list[str]) -> None:
    sf.Lead.delete(leads[0])
    assert "Alpha" not in names(sf.query("SELECT LastName FROM Lead"))
    every = sf.query_all(
        "SELECT LastName, IsDeleted FROM Lead WHERE LastName = 'Alpha'", include_deleted=True
    )
    assert every["records"][0]["IsDeleted"] is True


@pytest.mark.parametrize(
    ("soql", "construct"),
    [
        ("SELECT Name, COUNT(Id) FROM Lead GROUP BY Name", "COUNT(field)"),
        ("SELECT Id FROM Lead GROUP BY Name", "GROUP BY"),
        ("SELECT SUM(AnnualRevenue) FROM Lead", "aggregate function SUM()"),
        ("SELECT FIELDS(ALL) FROM Lead LIMIT 200", "FIELDS()"),
        ("SELECT Id FROM Lead WITH SECURITY_ENFORCED", "WITH"),
        ("SELECT Id FROM Lead FOR UPDATE", "FOR VIEW/UPDATE/REFERENCE"),
        ("SELECT Id FROM Lead USING SCOPE mine", "USING SCOPE"),
        ("SELECT Id FROM Lead WHERE Industry INCLUDES ('a')", "INCLUDES"),
    ],
)
def test_unsupported_constructs_are_malformed_queries(
    sf: Salesforce, soql: str, construct: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query(soql)
    assert refused.value.status == 400
    error = refused.value.content[0]
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert construct in error["message"]
    assert "ERROR at Row:1:Column:" in error["message"]


def test_wrong_names_and_types_are_refused_like_salesforce(sf: Salesforce) -> None:
    cases = [
        ("SELECT Id FROM Leed", "INVALID_TYPE"),
        ("SELECT Shoe__c FROM Lead", "INVALID_FIELD"),
        ("SELECT Boss.Name FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE AnnualRevenue = '5'", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE Email = 5", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE CreatedDate > 2024-01-01", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE Id = 'nope'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Lead WHERE A = 1 AND B = 2 OR C = 3", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
    ]
    for soql, code in cases:
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.query(soql)
        assert refused.value.content[0]["errorCode"] == code, soql


def test_updated_and_deleted_windows(clocked_org: EmulatedOrg, clock: FakeClock) -> None:
    sf = clocked_org.client()
    clock.advance(minutes=1)  # after the seed's records
    start = clock.now
    clock.advance(minutes=5)
    first = sf.Lead.create({"LastName": "One", "Company": "W"})["id"]
    clock.advance(minutes=5)
    middle = clock.now
    second = sf.Lead.create({"LastName": "Two", "Company": "W"})["id"]
    clock.advance(minutes=5)

    early = sf.Lead.updated(start, middle)
    assert early["ids"] == [first]
    assert early["latestDateCovered"].startswith(middle.strftime("%Y-%m-%dT%H:%M"))
    assert sf.Lead.updated(middle, clock.now)["ids"] == [second]
    clock.advance(minutes=1)
    sf.Lead.update(first, {"Title": "Boss"})
    recent = sf.Lead.updated(clock.now - timedelta(minutes=1), clock.now + timedelta(minutes=1))
    assert recent["ids"] == [first]

    clock.advance(minutes=5)
    sf.Lead.delete(first)
    clock.advance(minutes=5)
    deleted = sf.Lead.deleted(start, clock.now)
    assert [d["id"] for d in deleted["deletedRecords"]] == [first]
    assert sf.Lead.deleted(start, middle)["deletedRecords"] == []
    with pytest.raises(SalesforceMalformedRequest) as too_old:
        sf.Lead.deleted(start - timedelta(days=20), clock.now)
    assert too_old.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
