"""Inbound-only fields stay inbound: a value the engine writes to a formula, a field
``describe`` reports read-only or one mapped ``direction = "inbound only"`` — by a journey
or a CSV import — is never kept: the next cycle restores Salesforce's value, says why in
the feed, and sends nothing. Fields
mapped through the Account follow the Account in every (incremental) cycle. A false
checkbox from Salesforce is stored and shown as "false", without a ``field changed``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from journey.engine.intake import import_rows, submit_form
from tests.engine.sync.world import SyncWorld
from tests.existing_org import PEOPLE, existing_seed


def _seed() -> dict[str, Any]:
    seed = existing_seed()
    owned = next(lead for lead in seed["Lead"] if lead.get("Email") == PEOPLE["owned"])
    owned.update({"AnnualRevenue": 250000, "Plan_Tier__c": "Gold", "DoNotCall": True})
    seed["fields"]["Account"] = [{"name": "Region__c", "type": "string"}]
    globex = next(a for a in seed["Account"] if a.get("Name") == "Globex")
    globex["Region__c"] = "EMEA"
    return seed


SYNC = {
    "fields": {
        "Lead": {
            "Score": {"salesforce": "Score__c"},  # a formula: describe says read-only
            "Plan Tier": {"salesforce": "Plan_Tier__c", "direction": "inbound only"},
        },
        "Contact": {"Region": {"salesforce": "Account.Region__c"}},
    }
}


def _world(factory: Callable[..., SyncWorld]) -> SyncWorld:
    world = factory(sync=SYNC, seed=_seed())
    assert world.cycle().stopped is None
    return world


def _id(world: SyncWorld, sobject: str, email: str) -> str:
    soql = f"SELECT Id FROM {sobject} WHERE Email = '{email}'"
    return str(world.sf.query(soql)["records"][0]["Id"])


def test_a_formula_written_in_the_engine_is_restored_and_nothing_is_sent(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = _world(world_factory)
    lead_id = _id(world, "Lead", PEOPLE["owned"])
    assert world.contact(lead_id).get("Score") == "250"
    calls = world.org.api_calls
    world.edit(lead_id, Score="99")
    summary = world.cycle()
    assert summary.outbound == 0
    assert world.org.api_calls - calls == 1  # the read; no write
    contact = world.contact(lead_id)
    assert contact.get("Score") == "250"
    assert any(
        line.startswith('"Score" is inbound only') and "'250' restored over '99'" in line
        for line in world.feed(contact.id)
    )
    assert world.sf.Lead.get(lead_id)["Score__c"] == 250
    assert world.cycle().outbound == 0  # settled: nothing pending


def test_a_field_mapped_inbound_only_is_never_written_to_salesforce(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = _world(world_factory)
    lead_id = _id(world, "Lead", PEOPLE["owned"])
    world.edit(lead_id, Plan_Tier="Bronze")
    assert world.cycle().outbound == 0
    assert world.contact(lead_id).get("Plan Tier") == "Gold"
    assert world.sf.Lead.get(lead_id)["Plan_Tier__c"] == "Gold"
    # Salesforce's own change still arrives.
    world.sf.Lead.update(lead_id, {"Plan_Tier__c": "Platinum"})
    world.cycle()
    assert world.contact(lead_id).get("Plan Tier") == "Platinum"


def test_an_account_field_mapped_onto_contacts_follows_the_incremental_sync(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = _world(world_factory)
    contact_id = _id(world, "Contact", PEOPLE["contact"])
    assert world.contact(contact_id).get("Region") == "EMEA"
    account = world.sf.query("SELECT Id FROM Account WHERE Name = 'Globex'")["records"][0]["Id"]
    world.clear_events()
    world.sf.Account.update(account, {"Region__c": "APAC", "Industry": "Utilities"})
    summary = world.cycle()
    assert summary.full_reads == []
    contact = world.contact(contact_id)
    assert (contact.get("Region"), contact.get("Industry")) == ("APAC", "Utilities")
    assert ("field_changed", contact.id, "Region", "APAC") in world.events()
    # Written in the engine, it is the Account's again at the next cycle.
    world.edit(contact_id, Region="Mars")
    world.cycle()
    assert world.contact(contact_id).get("Region") == "APAC"


def test_a_false_checkbox_is_stored_and_shown_as_false(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = world_factory(seed=_seed())
    ctx = world.context()
    cid, _ = submit_form(world.store, ctx, "Demo", PEOPLE["qualified"], {"Phone": "555"})
    world.cycle()
    lead = world.contact(_id(world, "Lead", PEOPLE["qualified"]))
    assert lead.id == cid
    assert (lead.get("Unsubscribed"), lead.get("Do Not Call")) == ("false", "false")
    assert lead.values()["Do Not Call"] == "false"
    owned = world.contact(_id(world, "Lead", PEOPLE["owned"]))
    assert owned.get("Do Not Call") == "true"
    sam = world.contact(_id(world, "Contact", PEOPLE["contact"]))
    assert sam.get("Unsubscribed") == "false"
    # Blank and false mean the same: storing "false" is no change a trigger sees.
    changed = {(c, name) for _, c, name, _ in world.events("field_changed")}
    assert (cid, "Unsubscribed") not in changed
    assert (cid, "Do Not Call") not in changed
    assert world.cycle().outbound == 0


def test_an_imported_value_of_an_inbound_only_field_is_not_kept(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = _world(world_factory)
    lead_id = _id(world, "Lead", PEOPLE["owned"])
    rows = [(2, {"Email": PEOPLE["owned"], "Score": "1", "Title": "Buyer"})]
    assert import_rows(world.store, rows, world.context()).errors == []
    assert world.cycle().outbound == 1  # the Title goes out; the Score does not
    contact = world.contact(lead_id)
    assert (contact.get("Score"), contact.get("Title")) == ("250", "Buyer")
    record = world.sf.Lead.get(lead_id)
    assert (record["Score__c"], record["Title"]) == (250, "Buyer")
    assert any("'250' restored over '1'" in line for line in world.feed(contact.id))
