"""Outbound sync, conflicts, echoes, failures and the connection, against the emulated org
over HTTPS: engine-side changes reach Salesforce in Collections calls; our own writes are
not read back as changes; a conflict is settled by the mapping's direction; a refused
record waits on the errors list and is retried; a 401 stops the cycle losing nothing."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from journey.connectors.sync import FieldInfo, ObjectChanges, ObjectRead, Record, WriteResult
from journey.engine.store import SyncError
from journey.engine.sync import run_cycle
from tests.engine.sync.world import SyncWorld


def _lead_id(world: SyncWorld, last_name: str = "Doe") -> str:
    return str(
        world.sf.query(f"SELECT Id FROM Lead WHERE LastName = '{last_name}'")["records"][0]["Id"]
    )


def test_an_engine_change_goes_out_and_is_not_read_back(world: SyncWorld) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    world.edit(lead_id, Title="VP Sales", Unsubscribed="true", Annual_Revenue="300000")
    world.clear_events()
    summary = world.cycle()
    assert summary.outbound == 1
    record = world.sf.Lead.get(lead_id)
    assert record["Title"] == "VP Sales"
    assert record["HasOptedOutOfEmail"] is True
    assert record["AnnualRevenue"] == 300000
    # The echo: the next cycle reads the record (its SystemModstamp moved) but it is ours.
    echo = world.cycle()
    assert (echo.inbound, echo.outbound, echo.conflicts) == (0, 0, 0)
    assert world.events("field_changed") == []


def test_conflict_salesforce_wins_by_default_for_custom_mappings(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = world_factory(
        sync={
            "fields": {
                "Lead": {
                    "Plan Tier": {"salesforce": "Plan_Tier__c"},
                    "Title": {"salesforce": "Title", "direction": "engine wins"},
                }
            }
        }
    )
    lead_id = _lead_id(world)
    world.sf.Lead.update(lead_id, {"Plan_Tier__c": "Gold", "Title": "CEO"})
    world.cycle()
    assert world.contact(lead_id).get("Plan Tier") == "Gold"
    # Both sides change both fields between two cycles.
    world.edit(lead_id, Plan_Tier="Silver", Title="Founder")
    world.sf.Lead.update(lead_id, {"Plan_Tier__c": "Platinum", "Title": "Chair"})
    summary = world.cycle()
    assert summary.conflicts == 2
    contact = world.contact(lead_id)
    record = world.sf.Lead.get(lead_id)
    # "salesforce wins": the engine takes Salesforce's value, nothing goes out for it.
    assert contact.get("Plan Tier") == "Platinum"
    assert record["Plan_Tier__c"] == "Platinum"
    # "engine wins": the engine's value goes to Salesforce.
    assert contact.get("Title") == "Founder"
    assert record["Title"] == "Founder"
    again = world.cycle()
    assert (again.inbound, again.outbound, again.conflicts) == (0, 0, 0)


def test_latest_wins_for_standard_fields(world: SyncWorld) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    world.sf.Lead.update(lead_id, {"Title": "Salesforce's title"})
    world.now = datetime.now(UTC) + timedelta(seconds=1)
    world.edit(lead_id, Title="The engine's later title")  # later than Salesforce's edit
    summary = world.cycle()
    assert summary.conflicts == 1
    assert world.contact(lead_id).get("Title") == "The engine's later title"
    assert world.sf.Lead.get(lead_id)["Title"] == "The engine's later title"


def test_a_change_only_in_salesforce_and_one_only_in_the_engine_both_survive(
    world: SyncWorld,
) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    world.sf.Lead.update(lead_id, {"Phone": "+1 555 0100"})
    world.edit(lead_id, Title="CTO")
    world.cycle()
    contact, record = world.contact(lead_id), world.sf.Lead.get(lead_id)
    assert (contact.get("Phone"), contact.get("Title")) == ("+1 555 0100", "CTO")
    assert (record["Phone"], record["Title"]) == ("+1 555 0100", "CTO")


def test_a_refused_write_waits_on_the_errors_list_and_later_succeeds(world: SyncWorld) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    cid = world.contact(lead_id).id
    world.edit(lead_id, Email="not an email")
    summary = world.cycle()
    assert summary.failed == 1
    assert summary.errors == 1
    contact = world.contact(lead_id)
    assert contact.in_list("Salesforce Sync Errors")
    assert any("INVALID_EMAIL_ADDRESS" in line for line in world.feed(cid))
    with world.store.begin() as conn:
        errors = conn.execute(sa.select(SyncError)).all()
    assert [(e.salesforce_id, e.code, e.direction) for e in errors] == [
        (lead_id, "INVALID_EMAIL_ADDRESS", "out")
    ]
    # Retried each cycle (attempts counted) while it still fails.
    world.cycle()
    with world.store.begin() as conn:
        assert conn.execute(sa.select(SyncError.c.attempts)).scalar() == 2
    # Fixed in the engine: the next cycle writes it and clears the error.
    world.edit(lead_id, Email="jo.doe@acme.example")
    summary = world.cycle()
    assert (summary.outbound, summary.errors) == (1, 0)
    assert world.sf.Lead.get(lead_id)["Email"] == "jo.doe@acme.example"
    assert not world.contact(lead_id).in_list("Salesforce Sync Errors")


def test_a_transient_failure_is_retried_next_cycle(world: SyncWorld) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    world.edit(lead_id, Title="Retry me")
    # The org refuses even the read (down for maintenance): the cycle stops, nothing is
    # lost. (A row lock is a write's refusal: the Composite read of changes has none.)
    world.org.faults.outage()
    summary = world.cycle()
    assert summary.stopped is not None
    assert "SERVER_UNAVAILABLE" in summary.stopped
    world.org.admin({"clear": True})
    # The read works, then every write hits a locked row (after our own retries).
    run = world.run()
    run.source = _AfterReading(
        world, lambda: world.org.faults.fail_writes(1.0, "UNABLE_TO_LOCK_ROW", seed=1)
    )
    summary = run_cycle(run)
    assert (summary.outbound, summary.errors) == (0, 1)
    assert world.contact(lead_id).in_list("Salesforce Sync Errors")
    assert world.sf.Lead.get(lead_id)["Title"] is None
    world.org.admin({"clear": True})
    summary = world.cycle()
    assert (summary.outbound, summary.errors) == (1, 0)
    assert world.sf.Lead.get(lead_id)["Title"] == "Retry me"
    assert not world.contact(lead_id).in_list("Salesforce Sync Errors")


class _AfterReading:
    """The real source; ``then`` happens to the org between the read and the writes (a
    session expiring mid-cycle, a row lock)."""

    def __init__(self, world: SyncWorld, then: Callable[[], None]) -> None:
        self.then = then
        self.inner = world.source

    def check(self) -> None:
        self.inner.check()

    def read_changes(self, reads: Sequence[ObjectRead]) -> dict[str, ObjectChanges]:
        answer = self.inner.read_changes(reads)
        self.then()
        return answer

    def count(self, reads: Sequence[ObjectRead]) -> dict[str, int]:
        return self.inner.count(reads)

    def read_all(self, read: ObjectRead, expected: int) -> Iterator[list[Record]]:
        return self.inner.read_all(read, expected)

    def update(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        return self.inner.update(sobject, records)

    def create(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        return self.inner.create(sobject, records)

    def describe(self, sobject: str, *, refresh: bool = False) -> list[FieldInfo]:
        return self.inner.describe(sobject, refresh=refresh)

    @property
    def api_calls(self) -> int:
        return self.inner.api_calls


def test_session_expiry_mid_cycle_stops_and_loses_nothing(world: SyncWorld) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    world.sf.Lead.update(lead_id, {"Rating": "Hot"})
    world.edit(lead_id, Title="Written after the renew")
    run = world.run()
    run.source = _AfterReading(world, world.org.expire_session)
    summary = run_cycle(run)
    assert summary.stopped is not None
    assert "renew the connection" in summary.stopped
    assert world.contact(lead_id).get("Rating") == "Hot"  # what was read is kept
    # Paused: the next cycle makes no call until the connection is renewed.
    calls = world.org.api_calls
    assert world.cycle().stopped is not None
    assert world.org.api_calls == calls
    world.reconnect()
    summary = world.cycle()
    assert summary.stopped is None
    assert summary.outbound == 1
    assert world.sf.Lead.get(lead_id)["Title"] == "Written after the renew"


def test_the_daily_api_cap_holds(world: SyncWorld) -> None:
    world.cycle()
    world.org.admin({"api_limit": world.org.api_calls + 2})  # our cap is half of it
    world.cycle()  # its answer tells us the new figures
    calls = world.org.api_calls
    summary = world.cycle()
    assert world.org.api_calls == calls  # refused before the call
    assert summary.stopped is not None
    assert "API_CAP_REACHED" in summary.stopped or "REQUEST_LIMIT" in summary.stopped


def test_a_thousand_changes_each_side_cost_few_calls(world: SyncWorld) -> None:
    world.org.insert(
        "Lead",
        [{"LastName": f"N{i}", "Company": "Co", "Email": f"n{i}@co.example"} for i in range(1000)],
    )
    world.cycle()
    ids = [
        r["Id"] for r in world.sf.query_all("SELECT Id FROM Lead WHERE Company = 'Co'")["records"]
    ]
    world.sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Lead"}, "id": i, "Rating": "Warm"} for i in ids[:200]
            ],
        },
    )
    for i in ids[500:]:
        world.edit(i, Title="Engine")
    calls = world.org.api_calls
    summary = world.cycle()
    assert summary.inbound == 200
    assert summary.outbound == 500
    writes = math.ceil(500 / 200)
    assert world.org.api_calls - calls == writes + 1  # the writes plus one composite read


def test_activity_sync_sends_the_feed_as_events(world_factory: Callable[..., SyncWorld]) -> None:
    world = world_factory(sync={"activities": True})
    world.cycle()
    lead_id = _lead_id(world)
    world.edit(lead_id, Email="broken")  # an error entry on the feed
    world.cycle()
    events = world.sf.query(f"SELECT Subject, WhoId FROM Event WHERE WhoId = '{lead_id}'")
    assert events["totalSize"] >= 1
    assert any("INVALID_EMAIL_ADDRESS" in e["Subject"] for e in events["records"])
    world.edit(lead_id, Email="jo@acme.example")
    world.cycle()
    sent = world.sf.query("SELECT COUNT() FROM Event")["totalSize"]
    world.cycle()
    assert world.sf.query("SELECT COUNT() FROM Event")["totalSize"] == sent  # each entry once


def test_activity_sync_is_off_by_default(world: SyncWorld) -> None:
    world.cycle()
    world.edit(_lead_id(world), Email="broken")
    world.cycle()
    assert world.sf.query("SELECT COUNT() FROM Event")["totalSize"] == 0


def test_the_engine_never_deletes_a_salesforce_record(world: SyncWorld) -> None:
    world.cycle()
    lead_id = _lead_id(world)
    for name in ("First_Name", "Title", "Phone", "Company"):
        world.edit(lead_id, **{name: ""})
    world.cycle()
    record = world.sf.Lead.get(lead_id)
    assert record["IsDeleted"] is False
