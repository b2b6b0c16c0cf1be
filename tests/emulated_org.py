"""The seeded emulated org for the tests of the emulated org, the connector and the sync:
served over HTTPS, with a simple-salesforce client built exactly as the connector builds one
(no patching). Registered for every test by ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from simple_salesforce.api import Salesforce

from journey.emulator import EmulatedOrg

SEED: dict[str, Any] = {
    "User": [
        {"Name": "Ann Admin", "Email": "ann@acme.example", "connected": True},
        {"Name": "Bob Seller", "Email": "bob@acme.example"},
        {"Name": "Eva Europe", "Email": "eva@acme.example"},
    ],
    "Group": [
        {
            "Name": "EMEA Queue",
            "Type": "Queue",
            "Email": "emea@acme.example",
            "members": ["eva@acme.example"],
        },
    ],
    "LeadStatus": [
        {"MasterLabel": "Open - Not Contacted", "IsDefault": True},
        {"MasterLabel": "Working - Contacted"},
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
                    "owner": "emea@acme.example",
                    "doNotReassignOwner": False,
                },
                {
                    "criteria": "Country = 'France'",
                    "owner": "eva@acme.example",
                    "doNotReassignOwner": True,
                },
                {
                    "criteria": "AnnualRevenue > 1000000",
                    "owner": "bob@acme.example",
                    "doNotReassignOwner": False,
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
    "Account": [{"Name": "Globex", "ref": "globex", "Industry": "Energy"}],
    "Contact": [
        {
            "LastName": "Stone",
            "FirstName": "Sam",
            "AccountId": "#globex",
            "Email": "sam@globex.example",
            "OwnerId": "bob@acme.example",
        }
    ],
    "Lead": [
        {
            "LastName": "Doe",
            "FirstName": "Jo",
            "Company": "Acme",
            "Email": "jo@acme.example",
            "AnnualRevenue": 250000,
        }
    ],
}


class FakeClock:
    """The org's clock, moved by the test (for updated/deleted windows)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def org() -> Iterator[EmulatedOrg]:
    with EmulatedOrg(seed=SEED) as emulated:
        emulated.start()
        yield emulated


@pytest.fixture
def sf(org: EmulatedOrg) -> Salesforce:
    return org.client()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked_org(clock: FakeClock) -> Iterator[EmulatedOrg]:
    with EmulatedOrg(seed=SEED, clock=clock) as emulated:
        emulated.start()
        yield emulated
