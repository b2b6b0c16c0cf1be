"""Inbound sync against the emulated org over HTTPS: first and incremental reads, the
standard mapping, owner, checkboxes, Account fields, deletion via the recycle bin,
campaign members, lead conversion, de-duplication, formula fields (Person Accounts:
``test_sync_org_fields``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from journey.dsl import compile_source
from journey.engine.contacts import load_views
from journey.engine.intake import submit_form
from journey.engine.journeys import Catalog
from journey.engine.store import CampaignStatus, Company, Run
from journey.engine.triggers import process_events
from tests.emulated_org import FakeClock
from tests.engine.sync.world import SyncWorld


def _lead_id(world: SyncWorld, last_name: str = "Doe") -> str:
    return str(
        world.sf.query(f"SELECT Id FROM Lead WHERE LastName = '{last_name}'")["records"][0]["Id"]
    )


def test_first_sync_takes_every_record_with_the_standard_mapping(world: SyncWorld) -> None:
    summary = world.cycle()
    assert summary.stopped is None
    assert summary.full_reads == ["Account", "Lead", "Contact", "CampaignMember"]
    lead = world.contact(_lead_id(world))
    assert lead.salesforce_type == "Lead"
    assert lead.email == "jo@acme.example"
    assert lead.get("First Name") == "Jo"
    assert lead.get("Company") == "Acme"
    assert lead.get("Annual Revenue") == "250000"
    assert lead.get("Lead Status") == "Open - Not Contacted"
    # The owner: name, email and user ID all match "Lead Owner".
    assert lead.owner_name == "Ann Admin"
    assert lead.owner_email == "ann@acme.example"
    assert lead.owner_id is not None
    assert lead.owner_id.startswith("005")
    assert lead.in_list("Salesforce Leads")
    contact_id = world.sf.query("SELECT Id FROM Contact")["records"][0]["Id"]
    contact = world.contact(contact_id)
    assert contact.salesforce_type == "Contact"
    assert contact.in_list("Salesforce Contacts")
    # Account fields mapped onto the contact (inbound only).
    assert contact.get("Company") == "Globex"
    assert contact.get("Industry") == "Energy"
    assert contact.owner_email == "bob@acme.example"
    with world.store.begin() as conn:
        names = set(conn.execute(sa.select(Company.c.name)).scalars())
    assert "Globex" in names
    # Being synced is being added to the list: the trigger's event.
    assert ("added_to_list", lead.id, "Salesforce Leads", None) in world.events()
    assert ("added_to_list", contact.id, "Salesforce Contacts", None) in world.events()


def test_an_idle_cycle_costs_one_api_call_and_changes_nothing(world: SyncWorld) -> None:
    world.cycle()
    world.clear_events()
    before = world.org.api_calls
    summary = world.cycle()
    assert world.org.api_calls - before == 1
    assert summary.api_calls == 1
    assert (summary.inbound, summary.outbound, summary.deleted) == (0, 0, 0)
    assert world.events() == []


def test_a_change_in_salesforce_arrives_and_fires_field_changed(world: SyncWorld) -> None:
    world.cycle()
    world.clear_events()
    lead_id = _lead_id(world)
    world.sf.Lead.update(lead_id, {"Status": "Working - Contacted", "DoNotCall": True})
    summary = world.cycle()
    assert summary.inbound == 1
    lead = world.contact(lead_id)
    assert lead.get("Lead Status") == "Working - Contacted"
    assert lead.get("Do Not Call") == "true"  # a checkbox is True/False
    assert ("field_changed", lead.id, "Lead Status", "Working - Contacted") in world.events()
    assert ("field_changed", lead.id, "Do Not Call", "true") in world.events()


def test_an_owner_change_is_seen_by_name_email_and_id(world: SyncWorld) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    bob = world.sf.query("SELECT Id FROM User WHERE Email = 'bob@acme.example'")["records"][0]
    world.sf.Lead.update(lead_id, {"OwnerId": bob["Id"]}, headers={"Sforce-Auto-Assign": "FALSE"})
    world.cycle()
    lead = world.contact(lead_id)
    assert lead.owner_values() == ["Bob Seller", "bob@acme.example", bob["Id"]]
    assert lead.get("Lead Owner") == "Bob Seller"


def test_deleted_in_salesforce_is_removed_from_the_store_and_the_lists(world: SyncWorld) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    contact_id = world.contact(lead_id).id
    world.sf.Lead.delete(lead_id)  # to the recycle bin
    summary = world.cycle()
    assert summary.deleted == 1
    assert contact_id not in world.contact_ids()


def test_a_deleted_record_whose_contact_has_runs_keeps_them_but_leaves_the_lists(
    world: SyncWorld,
) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    cid = world.contact(lead_id).id
    with world.store.begin() as conn:
        conn.execute(
            sa.insert(Run).values(
                contact_id=cid,
                journey="J",
                journey_key="j",
                version="v",
                step_id="s1",
                status="waiting",
                next_due=world.now,
                entered_at=world.now,
            )
        )
    world.sf.Lead.delete(lead_id)
    world.cycle()
    with world.store.begin() as conn:
        view = load_views(conn, [cid])[cid]
    assert view.salesforce_id is None
    assert not view.in_list("Salesforce Leads")
    assert any("deleted in Salesforce" in line for line in world.feed(cid))


def test_campaign_member_status_syncs_and_fires_its_trigger(world: SyncWorld) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    campaign = world.sf.query("SELECT Id FROM Campaign")["records"][0]["Id"]
    member = world.sf.CampaignMember.create(
        {"CampaignId": campaign, "LeadId": lead_id, "Status": "Registered"}
    )
    world.clear_events()
    world.cycle()
    cid = world.contact(lead_id).id
    assert world.contact(lead_id).campaigns == {"q4 webinar": "Registered"}
    assert world.events("campaign_status_changed") == [
        ("campaign_status_changed", cid, "Q4 Webinar", "Registered")
    ]
    world.sf.CampaignMember.update(member["id"], {"Status": "Attended"})
    world.cycle()
    assert world.contact(lead_id).campaigns == {"q4 webinar": "Attended"}
    world.sf.CampaignMember.delete(member["id"])
    world.cycle()
    with world.store.begin() as conn:
        left = conn.execute(sa.select(CampaignStatus)).all()
    assert left == []


def test_lead_conversion_moves_the_contact_keeping_its_runs(world: SyncWorld) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    cid = world.contact(lead_id).id
    with world.store.begin() as conn:
        conn.execute(
            sa.insert(Run).values(
                contact_id=cid,
                journey="Nurture",
                journey_key="nurture",
                version="v1",
                step_id="s2",
                status="waiting",
                next_due=world.now,
                entered_at=world.now,
            )
        )
    answer = world.source.api.convert(
        [
            {
                "leadId": lead_id,
                "convertedStatus": "Closed - Converted",
                "doNotCreateOpportunity": "true",
            }
        ]
    )[0]
    assert answer.contact_id is not None
    world.cycle()
    moved = world.contact(answer.contact_id)
    assert moved.id == cid  # same contact, same runs
    assert moved.salesforce_type == "Contact"
    assert moved.in_list("Salesforce Contacts")
    assert not moved.in_list("Salesforce Leads")
    with world.store.begin() as conn:
        runs = conn.execute(sa.select(Run.c.contact_id)).scalars().all()
    assert runs == [cid]
    assert cid in world.contact_ids()
    assert len(world.contact_ids()) == 2  # no extra contact for the new Contact


def test_an_account_change_reaches_its_contacts(world: SyncWorld) -> None:
    world.cycle()
    account = world.sf.query("SELECT Id FROM Account WHERE Name = 'Globex'")["records"][0]["Id"]
    world.sf.Account.update(account, {"Name": "Globex Corp", "Industry": "Utilities"})
    world.clear_events()
    world.cycle()
    contact_id = world.sf.query("SELECT Id FROM Contact")["records"][0]["Id"]
    contact = world.contact(contact_id)
    assert contact.get("Company") == "Globex Corp"
    assert contact.get("Industry") == "Utilities"
    assert ("field_changed", contact.id, "Company", "Globex Corp") in world.events()


def test_a_contact_from_another_source_merges_on_email(world: SyncWorld) -> None:
    ctx = world.context()
    cid, created = submit_form(world.store, ctx, "Demo", "JO@acme.example", {"Phone": "555"})
    assert created
    world.cycle()
    lead = world.contact(_lead_id(world))
    assert lead.id == cid
    assert lead.get("Phone") == "555"  # the engine's value fills Salesforce's blank
    assert lead.get("First Name") == "Jo"


def test_two_salesforce_records_with_one_email_stay_two_and_are_reported(
    world: SyncWorld,
) -> None:
    world.sf.Lead.create({"LastName": "Doe2", "Company": "Acme", "Email": "jo@acme.example"})
    summary = world.cycle()
    assert summary.duplicates == 1
    first, second = world.contact(_lead_id(world)), world.contact(_lead_id(world, "Doe2"))
    assert first.id != second.id


def test_bulk_api_for_a_big_first_read(world_factory: Callable[..., SyncWorld]) -> None:
    world = world_factory(sync={"bulk_threshold": 100})
    world.org.insert(
        "Lead",
        [{"LastName": f"L{i}", "Company": "Big", "Email": f"l{i}@big.example"} for i in range(250)],
    )
    summary = world.cycle()
    assert summary.inbound >= 251
    assert len(world.contact_ids()) >= 252
    # The Lead read went through one Bulk 2.0 query job: few calls for 251 records.
    assert summary.api_calls <= 12


def _edit_formula(world: SyncWorld, formula: str) -> None:
    """What an admin editing Score__c's formula in Setup does: no record is saved."""
    declared = world.org.store.meta("custom_fields")
    for spec in declared["Lead"]:
        if spec["name"] == "Score__c":
            spec["formula"] = formula
    with world.org.store.lock:
        world.org.store.set_meta("custom_fields", declared)
        world.org.org.configure()


def test_a_formula_change_is_not_picked_up_until_another_field_changes(
    world_factory: Callable[..., SyncWorld],
) -> None:
    clock = FakeClock()
    world = world_factory(
        sync={"fields": {"Lead": {"Score": {"salesforce": "Score__c"}}}}, clock=clock
    )
    world.cycle()
    lead_id = _lead_id(world)
    assert world.contact(lead_id).get("Score") == "250"  # AnnualRevenue / 1000
    # An hour later another record changes: the watermark moves past the overlap window.
    clock.advance(hours=1)
    world.sf.Lead.create({"LastName": "Later", "Company": "Acme"})
    world.cycle()
    # An admin edits the formula: every value changes, no SystemModstamp moves.
    _edit_formula(world, "AnnualRevenue / 100")
    assert world.sf.Lead.get(lead_id)["Score__c"] == 2500
    world.cycle()
    assert world.contact(lead_id).get("Score") == "250"  # not seen: documented
    # Workaround 1: re-read everything in scope.
    summary = world.cycle(full=True)
    assert world.contact(lead_id).get("Score") == "2500"
    assert summary.full_reads
    # Workaround 2: any other change to the record brings the formula's value along.
    _edit_formula(world, "AnnualRevenue / 10")
    world.sf.Lead.update(lead_id, {"Title": "Buyer"})
    world.cycle()
    assert world.contact(lead_id).get("Score") == "25000"


def test_formula_fields_are_read_only_for_the_sync(world_factory: Callable[..., SyncWorld]) -> None:
    world = world_factory(sync={"fields": {"Lead": {"Score": {"salesforce": "Score__c"}}}})
    world.cycle()
    lead_id = _lead_id(world)
    world.edit(lead_id, Score="1")
    summary = world.cycle()
    assert summary.outbound == 0
    assert summary.errors == 0
    assert world.sf.Lead.get(lead_id)["Score__c"] == 250


def test_sync_changes_start_journeys_through_their_triggers(world: SyncWorld) -> None:
    """Added to list "Salesforce Leads", field changed, campaign member status changed:
    the sync's events enter contacts into journeys through the engine's inbox."""
    catalog = Catalog(store=world.store)
    for i, text in enumerate(
        [
            'journey "New lead"\ntrigger added to list "Salesforce Leads"\nwait 1 day\n',
            'journey "Working"\ntrigger field changed "Lead Status" to "Working - Contacted"'
            "\nwait 1 day\n",
            'journey "Webinar"\ntrigger campaign member status changed "Q4 Webinar" to '
            '"Registered"\nwait 1 day\n',
        ]
    ):
        journey, problems = compile_source(text, f"j{i}.journey")
        assert journey is not None, problems
        catalog.add(journey, text, f"j{i}.journey")
    catalog.publish(world.now)
    world.cycle()
    lead_id = _lead_id(world)
    world.sf.Lead.update(lead_id, {"Status": "Working - Contacted"})
    campaign = world.sf.query("SELECT Id FROM Campaign")["records"][0]["Id"]
    world.sf.CampaignMember.create(
        {"CampaignId": campaign, "LeadId": lead_id, "Status": "Registered"}
    )
    world.cycle()
    with world.store.begin() as conn:
        process_events(conn, catalog, world.now)
        runs = conn.execute(
            sa.select(Run.c.journey).where(Run.c.contact_id == world.contact(lead_id).id)
        ).scalars()
        entered = sorted(runs)
    assert entered == ["New lead", "Webinar", "Working"]


def test_criteria_select_records_and_a_leaver_is_removed(
    world_factory: Callable[..., SyncWorld],
) -> None:
    tricky = "O'Brien \\ Sons"
    world = world_factory(
        sync={
            "Lead": {
                "mode": "criteria",
                "criteria": [
                    {"field": "Company", "op": "is", "value": f"{tricky}, Acme"},
                    {"field": "Status", "op": "is not", "value": "Closed - Not Converted"},
                ],
            },
            "Contact": {"mode": "none"},
        }
    )
    world.org.insert("Lead", [{"LastName": "Quote", "Company": tricky}])
    world.org.insert("Lead", [{"LastName": "Out", "Company": "Elsewhere"}])
    world.cycle()
    quote, doe = world.contact(_lead_id(world, "Quote")), world.contact(_lead_id(world))
    assert quote.get("Company") == tricky
    with pytest.raises(AssertionError):
        world.contact(_lead_id(world, "Out"))
    with pytest.raises(AssertionError):  # Contacts: mode = "none"
        world.contact(world.sf.query("SELECT Id FROM Contact")["records"][0]["Id"])
    world.sf.Lead.update(_lead_id(world), {"Status": "Closed - Not Converted"})
    summary = world.cycle()
    assert summary.deleted == 1
    assert doe.id not in world.contact_ids()
    assert quote.id in world.contact_ids()


def test_a_leaver_can_be_kept_and_no_longer_synced(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = world_factory(
        sync={
            "Lead": {
                "mode": "criteria",
                "criteria": [
                    {"field": "Status", "op": "is not", "value": "Closed - Not Converted"}
                ],
                "when_no_longer_matching": "keep",
            }
        }
    )
    world.cycle()
    lead_id = _lead_id(world)
    world.sf.Lead.update(lead_id, {"Status": "Closed - Not Converted", "Title": "Gone"})
    world.cycle()
    kept = world.contact(lead_id)
    assert kept.get("Lead Status") == "Open - Not Contacted"  # kept as it was
    world.edit(lead_id, Phone="555")
    summary = world.cycle()
    assert summary.outbound == 0  # no longer synced
    assert world.sf.Lead.get(lead_id)["Phone"] is None


def test_a_salesforce_value_that_does_not_fit_its_field_is_listed_then_cleared(
    world_factory: Callable[..., SyncWorld],
) -> None:
    # "Score" is declared a Number; mapped here onto a text field.
    world = world_factory(sync={"fields": {"Lead": {"Score": {"salesforce": "Plan_Tier__c"}}}})
    lead_id = _lead_id(world)
    world.sf.Lead.update(lead_id, {"Plan_Tier__c": "gold", "Title": "CTO"})
    summary = world.cycle()
    assert summary.failed == 1
    assert summary.errors == 1
    lead = world.contact(lead_id)
    assert lead.get("Title") == "CTO"  # the rest of the record is taken
    assert lead.get("Score") == ""
    assert lead.in_list("Salesforce Sync Errors")
    assert any('"gold" is not a number' in line for line in world.feed(lead.id))
    world.sf.Lead.update(lead_id, {"Plan_Tier__c": "5"})
    summary = world.cycle()
    assert summary.errors == 0
    lead = world.contact(lead_id)
    assert lead.get("Score") == "5"
    assert not lead.in_list("Salesforce Sync Errors")
