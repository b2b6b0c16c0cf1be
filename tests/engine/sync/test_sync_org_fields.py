"""The sync against an org that has only what a real org has: fields from describe,
Person Accounts only where enabled, Composite's 5-query limit, checkbox criteria, and
deletions the recycle bin no longer shows.

Sources: Composite — "Up to 5 of these subrequests can be sObject Collections or query
operations, including Query and QueryAll requests"
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_post.htm);
Person Accounts off unless enabled, and made with a person account record type
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_guidelines_personaccounts.htm);
a checkbox is a boolean, never null (the field reference lists checkboxes as ``boolean``,
not nillable); deleted records kept 15 days, or until the recycle bin is emptied
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getdeleted.htm,
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import sqlalchemy as sa

from journey.engine.store import Company, Contact, Run
from journey.engine.sync import run_cycle
from tests.emulated_org import SEED
from tests.emulator.test_recycle_bin import empty_recycle_bin
from tests.engine.sync.world import SyncWorld


class Composites:
    """Every Composite call the sync sends, seen on its HTTP session: per call, the
    resource and SOQL of each subrequest."""

    def __init__(self, world: SyncWorld) -> None:
        self.calls: list[list[tuple[str, str]]] = []
        self.soql: list[str] = []
        world.source.api.sf.session.hooks["response"].append(self.hook)

    def hook(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        request = response.request
        path = urlsplit(str(request.url)).path
        if path.rstrip("/").endswith("/composite") and request.body:
            body = json.loads(request.body)
            subs = []
            for sub in body["compositeRequest"]:
                url = urlsplit(sub["url"])
                subs.append((url.path.rstrip("/").split("/")[-1], parse_qs(url.query)["q"][0]))
            self.calls.append(subs)
            self.soql.extend(q for _, q in subs)
        elif "/query" in path:
            self.soql.extend(parse_qs(urlsplit(str(request.url)).query).get("q", []))

    def clear(self) -> None:
        self.calls.clear()
        self.soql.clear()


def _person_seed() -> dict[str, Any]:
    seed = copy.deepcopy(SEED)
    seed["PersonAccounts"] = True
    return seed


def test_a_default_org_is_synced_without_person_account_fields(world: SyncWorld) -> None:
    seen = Composites(world)
    assert world.cycle().stopped is None
    world.sf.Lead.create({"LastName": "New", "Company": "Co", "Email": "new@co.example"})
    assert world.cycle().stopped is None
    assert seen.soql
    assert not [q for q in seen.soql if "IsPersonAccount" in q or "Person" in q]
    assert (
        world.contact(
            world.sf.query("SELECT Id FROM Lead WHERE LastName = 'New'")["records"][0]["Id"]
        ).email
        == "new@co.example"
    )


def test_person_account_is_a_contact_and_a_company_with_the_email_on_the_contact(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = world_factory(seed=_person_seed())
    seen = Composites(world)
    world.cycle()
    person_type = world.sf.query("SELECT Id FROM RecordType WHERE IsPersonType = true")
    created = world.sf.Account.create(
        {
            "RecordTypeId": person_type["records"][0]["Id"],
            "FirstName": "Pia",
            "LastName": "Person",
            "PersonEmail": "pia@home.example",
        }
    )
    person_contact = world.sf.Account.get(created["id"])["PersonContactId"]
    world.cycle()
    assert any("IsPersonAccount" in q for q in seen.soql)  # the org has it: it is read
    contact = world.contact(person_contact)
    assert contact.email == "pia@home.example"
    assert contact.salesforce_type == "Contact"
    assert contact.get("Company") == "Pia Person"
    with world.store.begin() as conn:
        companies = conn.execute(sa.select(Company)).all()
        emails = conn.execute(
            sa.select(Contact.c.id).where(Contact.c.email_key == "pia@home.example")
        ).all()
    assert "Pia Person" in {c.name for c in companies}
    assert len(emails) == 1  # one contact; the company holds no email


def test_a_mapped_field_the_org_lacks_stops_the_cycle_naming_it(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = world_factory(sync={"fields": {"Lead": {"Plan Tier": {"salesforce": "Plan_Level__c"}}}})
    calls = world.org.api_calls
    summary = world.cycle()
    assert summary.stopped is not None
    assert summary.stopped.startswith("INVALID_FIELD: ")
    assert "Lead.Plan_Level__c" in summary.stopped
    assert '"Plan Tier" in [sync.fields.Lead]' in summary.stopped
    # Describes only (the kept ones, then once more in case the field is new): no read.
    assert world.org.api_calls - calls == 8


def test_describe_is_read_once_and_kept_in_the_connector_state(world: SyncWorld) -> None:
    world.cycle()
    world.reconnect()  # a new source, as a new `journey sync` process has
    calls = world.org.api_calls
    assert world.cycle().api_calls == 1  # no describe again: the idle composite only
    assert world.org.api_calls - calls == 1
    fresh = world.source.describe("Lead", refresh=True)
    assert any(f.name == "Plan_Tier__c" for f in fresh)
    assert world.org.api_calls - calls == 2


def test_at_most_five_queries_per_composite_call(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = world_factory(
        sync={
            "Lead": {"mode": "criteria", "criteria": [{"field": "Company", "op": "is not empty"}]},
            "Contact": {"mode": "criteria", "criteria": [{"field": "Email", "op": "is not empty"}]},
        }
    )
    world.cycle()
    seen = Composites(world)
    summary = world.cycle()  # idle: 4 objects, 2 with criteria = 6 queries
    assert summary.stopped is None
    assert [len(call) for call in seen.calls] == [5, 1]
    assert summary.api_calls == 2


def test_the_idle_cycle_is_one_composite_call_for_four_objects(world: SyncWorld) -> None:
    world.cycle()
    seen = Composites(world)
    summary = world.cycle()
    assert summary.api_calls == 1
    assert [[resource for resource, _ in call] for call in seen.calls] == [["queryAll"] * 4]


def test_is_empty_on_a_checkbox_means_unchecked(world_factory: Callable[..., SyncWorld]) -> None:
    world = world_factory(
        sync={
            "Lead": {
                "mode": "criteria",
                "criteria": [{"field": "HasOptedOutOfEmail", "op": "is empty"}],
            }
        }
    )
    out = world.sf.Lead.create(
        {"LastName": "Out", "Company": "Co", "Email": "out@co.example", "HasOptedOutOfEmail": True}
    )["id"]
    world.cycle()
    jo = world.sf.query("SELECT Id FROM Lead WHERE Email = 'jo@acme.example'")["records"][0]
    assert world.contact(jo["Id"]).email == "jo@acme.example"  # unchecked: in scope
    c = Contact
    with world.store.begin() as conn:
        held = conn.execute(sa.select(c.c.id).where(c.c.salesforce_id == out)).first()
    assert held is None  # checked: not empty, out of scope


def test_a_full_read_removes_the_link_of_a_record_purged_unseen(world: SyncWorld) -> None:
    world.cycle()
    lead = world.sf.Lead.create({"LastName": "Gone", "Company": "Co", "Email": "gone@co.example"})
    world.cycle()
    gone = world.contact(lead["id"])
    kept = world.contact(
        world.sf.query("SELECT Id FROM Lead WHERE Email = 'jo@acme.example'")["records"][0]["Id"]
    )
    with world.store.begin() as conn:  # a journey took the contact: it has a run
        conn.execute(
            sa.insert(Run).values(
                contact_id=gone.id,
                journey="welcome",
                journey_key="welcome",
                version="1",
                step_id="s1",
                status="waiting",
                next_due=world.now,
                entered_at=world.now,
            )
        )
    # Deleted and purged between two cycles: the incremental read never sees it.
    world.sf.Lead.delete(lead["id"])
    assert empty_recycle_bin(world.sf, [lead["id"]])[0]["success"] == "true"
    assert world.cycle().deleted == 0
    assert world.contact(lead["id"]).id == gone.id  # still linked: the delete was missed
    summary = world.cycle(full=True)
    assert summary.deleted == 1
    c = Contact
    with world.store.begin() as conn:
        row = conn.execute(sa.select(c).where(c.c.id == gone.id)).one()
        runs = conn.execute(sa.select(Run).where(Run.c.contact_id == gone.id)).all()
    assert row.salesforce_id is None
    assert row.email == "gone@co.example"  # the contact and its runs stay
    assert len(runs) == 1
    assert any(
        "deleted in Salesforce (found by a full read" in line for line in world.feed(gone.id)
    )
    assert world.contact(kept.salesforce_id or "").id == kept.id  # the others keep theirs
    assert run_cycle(world.run()).deleted == 0


def test_a_criteria_field_the_org_lacks_stops_the_cycle_naming_it(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = world_factory(
        sync={"Lead": {"mode": "criteria", "criteria": [{"field": "Region__c", "op": "is"}]}}
    )
    summary = world.cycle()
    assert summary.stopped is not None
    assert "Lead.Region__c (in the criteria of [sync.Lead])" in summary.stopped


def test_a_field_gone_since_its_describe_was_kept_is_described_again(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = world_factory(sync={"fields": {"Lead": {"Plan Tier": {"salesforce": "Ghost__c"}}}})
    kept = world.state.get("describe:Lead")
    assert kept is None
    world.source.describe("Lead")
    kept = world.state.get("describe:Lead")
    # The kept describe says Ghost__c exists (it did, until an admin deleted it).
    world.state.put("describe:Lead", [*kept, {**kept[-1], "name": "Ghost__c"}])
    first = world.cycle()
    assert first.stopped is not None
    assert first.stopped.startswith("INVALID_FIELD")  # the org refused the read
    calls = world.org.api_calls
    again = world.cycle()
    assert again.stopped is not None
    assert 'Lead.Ghost__c (mapped to "Plan Tier" in [sync.fields.Lead])' in again.stopped
    assert world.org.api_calls - calls == 4  # every synced object described anew, no read
    assert not any(f["name"] == "Ghost__c" for f in world.state.get("describe:Lead"))
