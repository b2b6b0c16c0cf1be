"""Subqueries as Salesforce answers and refuses them: parent-to-child relationship
queries with their nested result, semi-joins and anti-joins with their documented limits.
Over HTTPS with simple-salesforce, against an org of records the tool did not create."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg
from tests.existing_org import PEOPLE, existing_seed

RELATIONSHIPS = (
    "https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/"
    "sforce_api_calls_soql_relationships_query_using.htm"
)
RESULTS = (
    "https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/"
    "sforce_api_calls_soql_relationships_query_results.htm"
)
SEMI_JOINS = (
    "https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/"
    "sforce_api_calls_soql_select_comparisonoperators.htm"
)


@pytest.fixture
def org() -> Iterator[EmulatedOrg]:
    """The existing org, plus an Account without contacts, a Contact in the webinar, an
    Opportunity under Globex and tasks on a Lead and a Contact."""
    seed = existing_seed()
    seed["Account"].append({"Name": "Lonely Ltd", "ref": "lonely"})
    seed["Contact"].append(
        {
            "LastName": "Attendee",
            "AccountId": "#globex",
            "Email": "att@globex.example",
            "ref": "att",
        }
    )
    seed["Lead"].append(
        {
            "LastName": "Called",
            "Company": "Phone Co",
            "Email": "called@phone.example",
            "ref": "called",
        }
    )
    seed["CampaignMember"].append({"CampaignId": "#webinar", "ContactId": "#att", "Status": "Sent"})
    seed["Opportunity"] = [
        {
            "Name": "Deal",
            "StageName": "Prospecting",
            "CloseDate": "2030-01-01",
            "AccountId": "#globex",
        }
    ]
    seed["Task"] = [
        {"Subject": "Call", "WhoId": "#called", "Status": "Completed"},
        {"Subject": "Follow up", "WhoId": "#att", "WhatId": "#globex"},
    ]
    with EmulatedOrg(seed=seed) as emulated:
        emulated.start()
        yield emulated


@pytest.fixture
def sf(org: EmulatedOrg) -> Salesforce:
    return org.client()


def refusal(sf: Salesforce, soql: str) -> dict[str, Any]:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query(soql)
    assert refused.value.status == 400
    error: dict[str, Any] = refused.value.content[0]
    return error


# ---- parent-to-child ---------------------------------------------------------------


def test_child_records_come_nested_in_each_parent(sf: Salesforce) -> None:
    """A parent-to-child subquery names the child relationship (the plural, ``Contacts``;
    see ``RELATIONSHIPS``) and each parent carries a query result of its children, null
    when it has none (see ``RESULTS``)."""
    found = sf.query(
        "SELECT Name, (SELECT LastName, Owner.Name FROM Contacts ORDER BY LastName) "
        "FROM Account WHERE Name IN ('Globex', 'Lonely Ltd') ORDER BY Name"
    )
    globex, lonely = found["records"]
    assert globex["Name"] == "Globex"
    contacts = globex["Contacts"]
    assert (contacts["totalSize"], contacts["done"]) == (3, True)
    assert [c["LastName"] for c in contacts["records"]] == ["Attendee", "Duplicate", "Stone"]
    stone = contacts["records"][2]
    assert stone["attributes"]["type"] == "Contact"
    assert stone["Owner"]["Name"] == "Bob Seller"
    assert lonely["Contacts"] is None
    assert found["totalSize"] == 2  # the parents, not their children


def test_child_subqueries_filter_limit_and_nest(sf: Salesforce) -> None:
    """A subquery has its own WHERE, ORDER BY and LIMIT; since API 58.0 a child can have
    children of its own (see ``RELATIONSHIPS``)."""
    found = sf.query(
        "SELECT Name, (SELECT LastName FROM Contacts WHERE Email != null ORDER BY LastName "
        "DESC LIMIT 2), (SELECT Subject FROM Tasks) FROM Account WHERE Name = 'Globex'"
    )
    globex = found["records"][0]
    assert [c["LastName"] for c in globex["Contacts"]["records"]] == ["Stone", "Duplicate"]
    assert [t["Subject"] for t in globex["Tasks"]["records"]] == ["Follow up"]
    nested = sf.query(
        "SELECT Name, (SELECT LastName, (SELECT Status, Campaign.Name FROM CampaignMembers) "
        "FROM Contacts WHERE LastName = 'Attendee') FROM Account WHERE Name = 'Globex'"
    )
    attendee = nested["records"][0]["Contacts"]["records"][0]
    member = attendee["CampaignMembers"]["records"][0]
    assert (member["Status"], member["Campaign"]["Name"]) == ("Sent", "Q4 Webinar")


def test_leads_have_their_campaign_members_and_tasks(sf: Salesforce) -> None:
    found = sf.query(
        "SELECT Email, (SELECT Status FROM CampaignMembers), (SELECT Subject FROM Tasks) "
        "FROM Lead WHERE Email IN ('converted@prospect.example', 'called@phone.example') "
        "ORDER BY Email"
    )
    called, converted = found["records"]
    assert called["CampaignMembers"] is None
    assert called["Tasks"]["records"][0]["Subject"] == "Call"
    assert converted["CampaignMembers"]["records"][0]["Status"] == "Registered"
    assert converted["Tasks"] is None


@pytest.mark.parametrize(
    ("soql", "code", "words"),
    [
        # the relationship name, not the object name
        ("SELECT Id, (SELECT Id FROM Contact) FROM Account", "INVALID_TYPE", "relationship"),
        ("SELECT Id, (SELECT Id FROM Leads) FROM Account", "INVALID_TYPE", "relationship"),
        ("SELECT Id, (SELECT Nope FROM Contacts) FROM Account", "INVALID_FIELD", "Nope"),
        ("SELECT Id, (SELECT COUNT() FROM Contacts) FROM Account", "MALFORMED_QUERY", ""),
        (
            "SELECT Id, (SELECT Id FROM Contacts WHERE Id IN (SELECT ContactId FROM "
            "CampaignMember)) FROM Account",
            "MALFORMED_QUERY",
            "top level",
        ),
        (
            "SELECT Id, (SELECT Id FROM Contacts OFFSET 1) FROM Account",
            "MALFORMED_QUERY",
            "LIMIT 1",
        ),
    ],
)
def test_child_subqueries_refuse_what_salesforce_refuses(
    sf: Salesforce, soql: str, code: str, words: str
) -> None:
    error = refusal(sf, soql)
    assert error["errorCode"] == code
    assert words in error["message"]


def test_offset_in_a_child_subquery_needs_limit_1_on_the_parent(sf: Salesforce) -> None:
    """OFFSET: "A subquery can use OFFSET only if the parent query has a LIMIT 1 clause"
    (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_offset.htm)."""
    found = sf.query(
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName OFFSET 1) FROM Account "
        "WHERE Name = 'Globex' LIMIT 1"
    )
    assert [c["LastName"] for c in found["records"][0]["Contacts"]["records"]] == [
        "Duplicate",
        "Stone",
    ]


# ---- semi-joins and anti-joins -----------------------------------------------------------


def test_semi_join_keeps_records_the_subquery_names(sf: Salesforce) -> None:
    """``Id IN (SELECT LeadId FROM CampaignMember WHERE …)`` (see ``SEMI_JOINS``)."""
    found = sf.query(
        "SELECT Email FROM Lead WHERE Id IN "
        "(SELECT LeadId FROM CampaignMember WHERE Status = 'Registered')"
    )
    assert [r["Email"] for r in found["records"]] == [PEOPLE["converted"]]
    accounts = sf.query(
        "SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE "
        f"Email = '{PEOPLE['contact']}')"
    )
    assert [r["Name"] for r in accounts["records"]] == ["Globex"]
    # child-to-child: a reference field on the left
    colleagues = sf.query(
        "SELECT LastName FROM Contact WHERE AccountId IN (SELECT AccountId FROM Opportunity) "
        "ORDER BY LastName"
    )
    assert [r["LastName"] for r in colleagues["records"]] == ["Attendee", "Duplicate", "Stone"]


def test_semi_joins_on_owners_and_queue_members(sf: Salesforce) -> None:
    """A polymorphic reference on the left (Lead.OwnerId: a User or a queue) takes a
    subquery of User IDs; GroupMember.UserOrGroupId names a queue's users."""
    queue = sf.query("SELECT Id FROM Group WHERE Type = 'Queue'")["records"][0]["Id"]
    members = sf.query(
        "SELECT Email FROM User WHERE Id IN (SELECT UserOrGroupId FROM GroupMember WHERE "
        f"GroupId = '{queue}')"
    )
    assert [r["Email"] for r in members["records"]] == [PEOPLE["eva"]]
    by_users = sf.query(
        "SELECT COUNT() FROM Lead WHERE OwnerId IN (SELECT Id FROM User WHERE IsActive = true)"
    )
    assert by_users["totalSize"] == 7  # every Lead but the queue's


def test_anti_join_keeps_records_the_subquery_does_not_name(sf: Salesforce) -> None:
    """``Id NOT IN (SELECT …)``: the records without such a child (see ``SEMI_JOINS``)."""
    found = sf.query("SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact)")
    assert [r["Name"] for r in found["records"]] == ["Lonely Ltd"]
    both = sf.query(
        "SELECT Email FROM Lead WHERE Id NOT IN (SELECT LeadId FROM CampaignMember) "
        "AND Id IN (SELECT LeadId FROM CampaignMember WHERE Status != null) "
    )
    assert both["records"] == []
    count = sf.query("SELECT COUNT() FROM Lead WHERE Id NOT IN (SELECT LeadId FROM CampaignMember)")
    assert count["totalSize"] == 7  # eight Leads, one in the webinar


@pytest.mark.parametrize(
    ("where", "words"),
    [
        # the subquery selects one ID or reference field
        ("Id IN (SELECT Name FROM Campaign)", "can only query id fields"),
        ("Id IN (SELECT LeadId, ContactId FROM CampaignMember)", "exactly one field"),
        ("Id IN (SELECT Lead.Id FROM CampaignMember)", "can only query id fields"),
        # the left side: an ID or reference field of the object, no relationship
        ("Email IN (SELECT LeadId FROM CampaignMember)", "left"),
        ("Owner.Id IN (SELECT LeadId FROM CampaignMember)", "left"),
        # the two sides point at the same kind of record
        ("Id IN (SELECT ContactId FROM CampaignMember)", "does not point"),
        # not under OR or NOT, not nested, at most two
        ("Email = 'x' OR Id IN (SELECT LeadId FROM CampaignMember)", "'OR' operator"),
        ("NOT Id IN (SELECT LeadId FROM CampaignMember)", "top level"),
        (
            "Id IN (SELECT LeadId FROM CampaignMember WHERE CampaignId IN "
            "(SELECT Id FROM Campaign))",
            "top level",
        ),
        (
            "Id IN (SELECT LeadId FROM CampaignMember) AND Id IN (SELECT LeadId FROM "
            "CampaignMember) AND Id NOT IN (SELECT WhoId FROM Event)",
            "at most 2",
        ),
        # no ORDER BY, LIMIT or COUNT in the subquery; not on the same object; no Task
        ("Id IN (SELECT LeadId FROM CampaignMember ORDER BY LeadId)", "ORDER BY"),
        ("Id IN (SELECT LeadId FROM CampaignMember LIMIT 1)", "LIMIT"),
        ("Id IN (SELECT Id FROM Lead WHERE Email = null)", "same object"),
        ("Id IN (SELECT WhoId FROM Task)", "Entity 'Task' is not supported"),
    ],
)
def test_semi_joins_refuse_what_salesforce_refuses(sf: Salesforce, where: str, words: str) -> None:
    """The semi-join and anti-join restrictions (see ``SEMI_JOINS``): MALFORMED_QUERY."""
    error = refusal(sf, f"SELECT Id FROM Lead WHERE {where}")
    assert error["errorCode"] == "MALFORMED_QUERY", error
    assert words in error["message"]


def test_a_semi_join_on_an_unknown_object_or_field_names_it(sf: Salesforce) -> None:
    assert (
        refusal(sf, "SELECT Id FROM Lead WHERE Id IN (SELECT LeadId FROM Nope)")["errorCode"]
        == "INVALID_TYPE"
    )
    assert (
        refusal(sf, "SELECT Id FROM Lead WHERE Id IN (SELECT Nope FROM CampaignMember)")[
            "errorCode"
        ]
        == "INVALID_FIELD"
    )


def test_describe_lists_the_child_relationships_subqueries_take(sf: Salesforce) -> None:
    """A subquery's FROM is a child relationship name from the parent's describe
    (``childRelationships``: "the name of the relationship", Using Relationship Queries,
    RELATIONSHIPS above), so a client that reads describe finds the names the org answers."""
    listed = {
        r["relationshipName"]: (r["childSObject"], r["field"])
        for r in sf.Account.describe()["childRelationships"]
    }
    assert listed["Contacts"] == ("Contact", "AccountId")
    assert listed["Opportunities"] == ("Opportunity", "AccountId")
    for name in listed:
        sf.query(f"SELECT Id, (SELECT Id FROM {name}) FROM Account LIMIT 1")
