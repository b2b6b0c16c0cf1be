"""The sync on a real PostgreSQL store (and on SQLite): first sync, an engine change out,
its echo ignored, a Salesforce change in, a deletion."""

from __future__ import annotations

from collections.abc import Callable

from tests.engine.sync.world import SyncWorld


def test_a_round_trip_on_either_database(
    world_factory: Callable[..., SyncWorld], store_url: str
) -> None:
    world = world_factory(store_url=store_url)
    assert world.cycle().stopped is None
    lead_id = str(world.sf.query("SELECT Id FROM Lead")["records"][0]["Id"])
    world.edit(lead_id, Title="CFO")
    assert world.cycle().outbound == 1
    assert world.sf.Lead.get(lead_id)["Title"] == "CFO"
    echo = world.cycle()
    assert (echo.inbound, echo.outbound) == (0, 0)
    world.sf.Lead.update(lead_id, {"Rating": "Warm"})
    assert world.cycle().inbound == 1
    assert world.contact(lead_id).get("Rating") == "Warm"
    world.edit(lead_id, Title="Bad", Email="not-an-email")
    failed = world.cycle()
    assert failed.errors == 1
    cid = world.contact(lead_id).id
    world.sf.Lead.delete(lead_id)
    assert world.cycle().deleted == 1
    assert cid not in world.contact_ids()
