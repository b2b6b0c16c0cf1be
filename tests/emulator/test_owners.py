"""Owners as Salesforce enforces them: an inactive user cannot be given a record
(INACTIVE_OWNER_OR_USER), and a Lead no assignment rule entry matches goes to the Default
Lead Owner of the org's Lead Settings.

INACTIVE_OWNER_OR_USER, "operation performed with inactive user" (Salesforce Help,
https://help.salesforce.com/apex/HTViewSolution?id=000205862&language=en_US; a StatusCode of
the API, https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm).
Default Lead Owner: "If the assignment rule fails to locate an owner, web leads are assigned
to the default lead owner" (https://help.salesforce.com/apex/HTViewHelpDoc?id=sales.faq_leads_who_owns_new.htm).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg, SeedError
from tests.existing_org import PEOPLE, existing_seed

GONE = "gone@acme.example"


def seed_with(**settings: Any) -> dict[str, Any]:
    """The existing org, plus a user who has left (still owning a Lead, as in real orgs)."""
    seed = existing_seed()
    seed["User"].append({"Name": "Gina Gone", "Email": GONE, "IsActive": False})
    seed["Lead"].append({"LastName": "Left", "Company": "Old Co", "OwnerId": GONE})
    seed.update(settings)
    return seed


@pytest.fixture
def sf() -> Iterator[Salesforce]:
    with EmulatedOrg(seed=seed_with()) as org:
        org.start()
        yield org.client()


def user_id(sf: Salesforce, email: str) -> str:
    return str(sf.query(f"SELECT Id FROM User WHERE Email = '{email}'")["records"][0]["Id"])


def owner_email(sf: Salesforce, lead_id: str) -> str:
    record = sf.query(f"SELECT Owner.Email FROM Lead WHERE Id = '{lead_id}'")["records"][0]
    return str(record["Owner"]["Email"])


def refusal(error: pytest.ExceptionInfo[SalesforceMalformedRequest]) -> dict[str, Any]:
    content = error.value.content
    assert isinstance(content, list)
    return dict(content[0])


def test_an_inactive_owner_is_refused_on_create_and_update(sf: Salesforce) -> None:
    gone = user_id(sf, GONE)
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.Lead.create({"LastName": "New", "Company": "Co", "OwnerId": gone})
    answer = refusal(error)
    assert answer["errorCode"] == "INACTIVE_OWNER_OR_USER"
    assert answer["message"].startswith(f"operation performed with inactive user {gone[:15]}")
    contact = sf.query(f"SELECT Id, OwnerId FROM Contact WHERE Email = '{PEOPLE['contact']}'")
    record = contact["records"][0]
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.Contact.update(record["Id"], {"OwnerId": gone})
    assert refusal(error)["errorCode"] == "INACTIVE_OWNER_OR_USER"
    assert sf.Contact.get(record["Id"])["OwnerId"] == record["OwnerId"]


def test_a_task_for_an_inactive_user_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.Task.create({"Subject": "Call", "OwnerId": user_id(sf, GONE)})
    assert refusal(error)["errorCode"] == "INACTIVE_OWNER_OR_USER"
    done = sf.Task.create({"Subject": "Call", "OwnerId": user_id(sf, PEOPLE["bob"])})
    assert done["success"] is True


def test_a_record_an_inactive_user_owns_can_still_be_edited(sf: Salesforce) -> None:
    left = sf.query("SELECT Id, OwnerId FROM Lead WHERE LastName = 'Left'")["records"][0]
    sf.Lead.update(left["Id"], {"Title": "Buyer"}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert sf.Lead.get(left["Id"])["OwnerId"] == left["OwnerId"]
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Lead"}, "id": left["Id"], "OwnerId": None}]},
    )
    assert results[0]["success"] is True  # an active owner is given instead


def test_leads_no_entry_matches_go_to_the_default_lead_owner() -> None:
    with EmulatedOrg(seed=seed_with(LeadSettings={"DefaultLeadOwner": PEOPLE["bob"]})) as org:
        org.start()
        sf = org.client()
        nobody = sf.Lead.create({"LastName": "Smith", "Company": "Ltd", "Country": "UK"})["id"]
        assert owner_email(sf, nobody) == PEOPLE["bob"]
        german = sf.Lead.create({"LastName": "Kurz", "Company": "AG", "Country": "Germany"})
        assert owner_email(sf, german["id"]) == PEOPLE["queue"]  # an entry matched
        # Edited with the rule on, an owned Lead no entry matches goes to the default too.
        eva = user_id(sf, PEOPLE["eva"])
        sf.Lead.update(nobody, {"OwnerId": eva}, headers={"Sforce-Auto-Assign": "FALSE"})
        assert owner_email(sf, nobody) == PEOPLE["eva"]
        sf.Lead.update(nobody, {"Title": "Buyer"})
        assert owner_email(sf, nobody) == PEOPLE["bob"]
        kept = sf.Lead.create(
            {"LastName": "Kept", "Company": "Co", "OwnerId": eva},
            headers={"Sforce-Auto-Assign": "FALSE"},
        )
        assert owner_email(sf, kept["id"]) == PEOPLE["eva"]  # rule off: no default either


def test_the_default_lead_owner_may_be_a_queue() -> None:
    with EmulatedOrg(seed=seed_with(LeadSettings={"DefaultLeadOwner": "EMEA Queue"})) as org:
        org.start()
        sf = org.client()
        lead = sf.Lead.create({"LastName": "Smith", "Company": "Ltd", "Country": "UK"})["id"]
        assert sf.Lead.get(lead)["OwnerId"].startswith("00G")
        assert owner_email(sf, lead) == PEOPLE["queue"]


def test_without_the_setting_an_unmatched_lead_keeps_its_owner(sf: Salesforce) -> None:
    eva = user_id(sf, PEOPLE["eva"])
    lead = sf.Lead.create({"LastName": "Smith", "Company": "Ltd", "OwnerId": eva})["id"]
    assert owner_email(sf, lead) == PEOPLE["eva"]
    fresh = sf.Lead.create({"LastName": "Smith", "Company": "Ltd"})["id"]
    assert owner_email(sf, fresh) == PEOPLE["ann"]  # no owner given: the connected user


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"DefaultLeadOwner": "nobody@acme.example"}, "no user or queue 'nobody@acme.example'"),
        ({"DefaultLeadOwner": "Sales Team"}, "no user or queue 'Sales Team'"),  # not a queue
        ({"Owner": PEOPLE["bob"]}, "unknown setting"),
    ],
)
def test_a_wrong_lead_setting_is_a_seed_error(settings: dict[str, str], message: str) -> None:
    with pytest.raises(SeedError, match=message):
        EmulatedOrg(seed=seed_with(LeadSettings=settings)).start()
