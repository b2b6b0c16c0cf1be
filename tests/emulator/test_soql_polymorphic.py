"""Polymorphic relationships (``Lead.Owner``: a User or a queue; ``Task.Who``: a Lead or
a Contact) resolve to Salesforce's Name object, with ``Type`` naming the kind of record;
and the seed's assignment rules are readable AssignmentRule records. Over HTTPS with
simple-salesforce, against an org of records the tool did not create."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg
from tests.existing_org import PEOPLE, existing_seed

NAME_OBJECT = (
    "https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/"
    "object_reference/sforce_api_objects_name.htm"
)
ASSIGNMENT_RULE = (
    "https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/"
    "object_reference/sforce_api_objects_assignmentrule.htm"
)


@pytest.fixture
def org() -> Iterator[EmulatedOrg]:
    """The existing org, plus an inactive Lead rule, a Case rule and tasks on a Lead and
    a Contact."""
    seed = existing_seed()
    seed["AssignmentRule"][0]["name"] = "Territories"
    seed["AssignmentRule"] += [
        {"object": "Lead", "name": "Last year's rule", "active": False, "entries": []},
        {"object": "Case", "name": "Support", "entries": []},
    ]
    seed["Contact"].append({"LastName": "Tasked", "AccountId": "#globex", "ref": "tasked"})
    seed["Lead"].append({"LastName": "Ringing", "Company": "Bell", "ref": "ringing"})
    seed["Task"] = [
        {"Subject": "Call the lead", "WhoId": "#ringing", "OwnerId": PEOPLE["queue"]},
        {"Subject": "Mail the contact", "WhoId": "#tasked", "WhatId": "#globex"},
    ]
    with EmulatedOrg(seed=seed) as emulated:
        emulated.start()
        yield emulated


@pytest.fixture
def sf(org: EmulatedOrg) -> Salesforce:
    return org.client()


def test_owner_type_is_user_or_queue(sf: Salesforce) -> None:
    """Name.Type: the kind of record the polymorphic field points at (see
    ``NAME_OBJECT``): ``User`` for a user owner, ``Queue`` for a queue."""
    rows = sf.query(
        "SELECT Email, Owner.Type, Owner.Name FROM Lead WHERE Email IN "
        f"('{PEOPLE['owned']}', '{PEOPLE['queued']}') ORDER BY Email"
    )["records"]
    owned, queued = rows
    assert (owned["Owner"]["Type"], owned["Owner"]["Name"]) == ("User", "Bob Seller")
    assert (queued["Owner"]["Type"], queued["Owner"]["Name"]) == ("Queue", "EMEA Queue")
    in_queues = sf.query("SELECT Email FROM Lead WHERE Owner.Type = 'Queue'")["records"]
    assert [r["Email"] for r in in_queues] == [PEOPLE["queued"]]
    by_users = sf.query("SELECT COUNT() FROM Lead WHERE Owner.Type = 'User'")["totalSize"]
    assert by_users == 7


def test_a_polymorphic_parent_is_a_name_record(sf: Salesforce) -> None:
    """The nested record's type is Name, its url the record's own object; Task.Who is a
    Lead or a Contact (``Type``)."""
    rows = sf.query(
        "SELECT Subject, Who.Type, Who.Name, Owner.Type, What.Name FROM Task ORDER BY Subject"
    )["records"]
    lead_task, contact_task = rows
    assert lead_task["Who"]["attributes"]["type"] == "Name"
    assert "/sobjects/Lead/" in lead_task["Who"]["attributes"]["url"]
    assert (lead_task["Who"]["Type"], lead_task["Owner"]["Type"]) == ("Lead", "Queue")
    assert lead_task["What"] is None
    assert (contact_task["Who"]["Type"], contact_task["Who"]["Name"]) == ("Contact", "Tasked")
    assert contact_task["What"]["Name"] == "Globex"
    assert contact_task["Owner"]["Type"] == "User"


def test_a_polymorphic_relationship_offers_only_name_fields(sf: Salesforce) -> None:
    """Fields outside the Name object are refused "on entity 'Name'" even when the record
    behind has them (see ``NAME_OBJECT``); Contact.Owner, a User only, is not
    polymorphic."""
    for soql in ("SELECT Who.Company FROM Task", "SELECT Owner.Department FROM Lead"):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.query(soql)
        error = refused.value.content[0]
        assert error["errorCode"] == "INVALID_FIELD"
        assert "entity 'Name'" in error["message"]
    contact = sf.query("SELECT Owner.Name FROM Contact WHERE Email = 'sam@globex.example'")
    assert contact["records"][0]["Owner"]["attributes"]["type"] == "User"
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT Owner.Type FROM Contact")  # a User has no Type field


def test_assignment_rules_are_queryable_records(sf: Salesforce) -> None:
    """AssignmentRule: ``Active``, ``Name``, ``SobjectType`` (Case or Lead), queried by
    name to find the rule to use (see ``ASSIGNMENT_RULE``)."""
    active = sf.query(
        "SELECT Id, Name, Active, SobjectType FROM AssignmentRule "
        "WHERE SobjectType = 'Lead' AND Active = true"
    )["records"]
    assert [(r["Name"], r["Active"], r["SobjectType"]) for r in active] == [
        ("Territories", True, "Lead")
    ]
    assert active[0]["Id"].startswith("01Q")
    every = sf.query("SELECT Name, Active FROM AssignmentRule ORDER BY Name")["records"]
    assert [(r["Name"], r["Active"]) for r in every] == [
        ("Last year's rule", False),
        ("Support", True),
        ("Territories", True),
    ]
    assert sf.AssignmentRule.get(active[0]["Id"])["Name"] == "Territories"


def test_assignment_rules_are_read_only(sf: Salesforce) -> None:
    """ "This object is read only. Assignment rules are created, configured, and deleted in
    the user interface" (see ``ASSIGNMENT_RULE``)."""
    rule = sf.query("SELECT Id FROM AssignmentRule LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest):
        sf.AssignmentRule.create({"Name": "Mine", "SobjectType": "Lead"})
    with pytest.raises(SalesforceMalformedRequest):
        sf.AssignmentRule.update(rule, {"Name": "Renamed"})
    with pytest.raises(SalesforceMalformedRequest):
        sf.AssignmentRule.delete(rule)
    assert sf.AssignmentRule.get(rule)["Name"] == "Territories"


TYPEOF = (
    "https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/"
    "sforce_api_calls_soql_select_typeof.htm"
)


def test_typeof_selects_fields_by_the_parent_s_object(sf: Salesforce) -> None:
    """TYPEOF (see ``TYPEOF``): the WHEN naming the parent's object gives its fields, the
    ELSE the rest; the parent comes as its own object."""
    rows = sf.query(
        "SELECT Subject, TYPEOF Who WHEN Lead THEN Company, Status WHEN Contact THEN "
        "Account.Name END, TYPEOF Owner WHEN User THEN Email ELSE Name, Type END "
        "FROM Task ORDER BY Subject"
    )["records"]
    lead_task, contact_task = rows
    assert lead_task["Who"]["attributes"]["type"] == "Lead"
    assert (lead_task["Who"]["Company"], lead_task["Who"]["Status"]) == (
        "Bell",
        "Open - Not Contacted",
    )
    assert lead_task["Owner"] == {
        "attributes": lead_task["Owner"]["attributes"],
        "Name": "EMEA Queue",
        "Type": "Queue",
    }
    assert contact_task["Who"]["attributes"]["type"] == "Contact"
    assert contact_task["Who"]["Account"]["Name"] == "Globex"
    assert contact_task["Owner"]["Email"] == PEOPLE["ann"]


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT TYPEOF Account WHEN Account THEN Name END FROM Contact",  # not polymorphic
        "SELECT Who.Name, TYPEOF Who WHEN Lead THEN Company END FROM Task",  # also listed
        "SELECT TYPEOF Who WHEN Account THEN Name END FROM Task",  # Who is a Lead or Contact
        "SELECT TYPEOF Who WHEN Lead THEN Nope END FROM Task",
        "SELECT TYPEOF Who WHEN Lead THEN Company ELSE Company END FROM Task",  # Name's only
    ],
)
def test_typeof_refuses_what_salesforce_refuses(sf: Salesforce, soql: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query(soql)
    assert refused.value.content[0]["errorCode"] in ("MALFORMED_QUERY", "INVALID_FIELD")
