"""An org as a new user brings it: full of records this tool did not create.

Every test of linking, actions, lists, the sync and the dry run seeds this org (or a copy
of ``EXISTING_SEED`` with more records) rather than an empty one, because a real org always
holds Leads owned by people and queues, Qualified and converted Leads, Contacts under
Accounts, person accounts and duplicate emails. ``PEOPLE`` names who is who, so a test says
``PEOPLE["bob"]`` instead of repeating an address.

Who holds what (emails are the natural key the engine links by):

* ``owned@prospect.example``: Lead owned by Bob, status Working - Contacted, Lead Source Web
* ``queued@prospect.example``: Lead owned by the EMEA queue (not a user owner)
* ``qualified@prospect.example``: Lead owned by Ann, status Qualified
* ``converted@prospect.example``: a Lead converted into a Contact under the Initech Account
  (the Lead stays, frozen, with IsConverted = true)
* ``sam@globex.example``: a Contact under Globex, owned by Bob
* ``dup@prospect.example``: two Leads (Bob's, the older; Eva's) and a Contact (Ann's)
* ``person@home.example``: a person account (Person Accounts are enabled, as in many B2C
  orgs: an Account of the ``PersonAccount`` record type, with LastName and PersonEmail)
* ``NoEmail Lead``: a Lead without an email, owned by Eva
* assignment rule: Country Germany → EMEA queue; Country France → Eva; default Lead Status
  "Open - Not Contacted"
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from journey.emulator import EmulatedOrg

__all__ = ["EXISTING_SEED", "PEOPLE", "existing_org", "existing_seed"]

PEOPLE = {
    "ann": "ann@acme.example",
    "bob": "bob@acme.example",
    "eva": "eva@acme.example",
    "queue": "emea@acme.example",
    "owned": "owned@prospect.example",
    "queued": "queued@prospect.example",
    "qualified": "qualified@prospect.example",
    "converted": "converted@prospect.example",
    "contact": "sam@globex.example",
    "dup": "dup@prospect.example",
    "person": "person@home.example",
}

EXISTING_SEED: dict[str, Any] = {
    "PersonAccounts": True,
    "User": [
        {"Name": "Ann Admin", "Email": PEOPLE["ann"], "connected": True},
        {"Name": "Bob Seller", "Email": PEOPLE["bob"]},
        {"Name": "Eva Europe", "Email": PEOPLE["eva"]},
    ],
    "Group": [
        {
            "Name": "EMEA Queue",
            "Type": "Queue",
            "Email": PEOPLE["queue"],
            "members": [PEOPLE["eva"]],
        },
        {"Name": "Sales Team", "Type": "Regular", "members": [PEOPLE["bob"], PEOPLE["eva"]]},
    ],
    "LeadStatus": [
        {"MasterLabel": "Open - Not Contacted", "IsDefault": True},
        {"MasterLabel": "Working - Contacted"},
        {"MasterLabel": "Qualified"},
        {"MasterLabel": "Closed - Converted", "IsConverted": True},
        {"MasterLabel": "Closed - Not Converted"},
    ],
    "Campaign": [
        {
            "Name": "Q4 Webinar",
            "ref": "webinar",
            "statuses": ["Sent", "Registered", {"Label": "Attended", "HasResponded": True}],
        }
    ],
    "AssignmentRule": [
        {
            "object": "Lead",
            "entries": [
                {
                    "criteria": "Country = 'Germany'",
                    "owner": PEOPLE["queue"],
                    "doNotReassignOwner": False,
                },
                {
                    "criteria": "Country = 'France'",
                    "owner": PEOPLE["eva"],
                    "doNotReassignOwner": True,
                },
            ],
        }
    ],
    "fields": {
        "Lead": [
            {"name": "Plan_Tier__c", "type": "string"},
            {"name": "Score__c", "type": "double", "formula": "AnnualRevenue / 1000"},
        ]
    },
    "Account": [
        {"Name": "Globex", "ref": "globex", "Industry": "Energy"},
        {"Name": "Initech", "ref": "initech", "Industry": "Software"},
        {
            "RecordTypeId": "#PersonAccount",
            "LastName": "Homeworker",
            "FirstName": "Pat",
            "PersonEmail": PEOPLE["person"],
            "ref": "person",
        },
    ],
    "Contact": [
        {
            "LastName": "Stone",
            "FirstName": "Sam",
            "AccountId": "#globex",
            "Email": PEOPLE["contact"],
            "OwnerId": PEOPLE["bob"],
        },
        {
            "LastName": "Duplicate",
            "FirstName": "Dana",
            "AccountId": "#globex",
            "Email": PEOPLE["dup"],
            "OwnerId": PEOPLE["ann"],
        },
    ],
    "Lead": [
        {
            "LastName": "Owned",
            "FirstName": "Olive",
            "Company": "Prospect Co",
            "Email": PEOPLE["owned"],
            "OwnerId": PEOPLE["bob"],
            "Status": "Working - Contacted",
            "LeadSource": "Web",
        },
        {
            "LastName": "Queued",
            "FirstName": "Quinn",
            "Company": "Prospect GmbH",
            "Country": "Germany",
            "Email": PEOPLE["queued"],
            "OwnerId": PEOPLE["queue"],
        },
        {
            "LastName": "Qualified",
            "FirstName": "Quill",
            "Company": "Prospect Ltd",
            "Email": PEOPLE["qualified"],
            "OwnerId": PEOPLE["ann"],
            "Status": "Qualified",
        },
        {
            "LastName": "Converted",
            "FirstName": "Cora",
            "Company": "Initech",
            "Email": PEOPLE["converted"],
            "OwnerId": PEOPLE["bob"],
            "ref": "to_convert",
        },
        {
            "LastName": "Dupe",
            "FirstName": "Dee",
            "Company": "Prospect Co",
            "Email": PEOPLE["dup"],
            "OwnerId": PEOPLE["bob"],
        },
        {
            "LastName": "Dupe",
            "FirstName": "Dee",
            "Company": "Prospect Co",
            "Email": PEOPLE["dup"].upper(),
            "OwnerId": PEOPLE["eva"],
        },
        {"LastName": "NoEmail", "Company": "Quiet Inc", "OwnerId": PEOPLE["eva"]},
    ],
    "LeadConvert": [
        {
            "lead": "#to_convert",
            "account": "#initech",
            "contact_ref": "converted_contact",
        }
    ],
    "CampaignMember": [
        {"CampaignId": "#webinar", "LeadId": "#to_convert", "Status": "Registered"},
    ],
}


def existing_seed() -> dict[str, Any]:
    """A fresh copy of ``EXISTING_SEED`` for a test to add records to."""
    return copy.deepcopy(EXISTING_SEED)


@pytest.fixture
def existing_org() -> Iterator[EmulatedOrg]:
    """The org above, in memory, served over HTTPS."""
    with EmulatedOrg(seed=existing_seed()) as emulated:
        emulated.start()
        yield emulated
