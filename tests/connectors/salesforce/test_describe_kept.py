"""One describe per object, kept in the connector's state: the ``update salesforce field``
action, the sync and ``journey salesforce refresh`` read and keep the same one, so none
pays for what another already read, and a refresh serves them all."""

from __future__ import annotations

from journey.connectors.salesforce.describe import kept_fields
from journey.connectors.salesforce.org_catalog import read_catalog
from journey.connectors.salesforce.replication import replication_for
from journey.dsl.syntax import UpdateSalesforceField
from tests.connectors.salesforce.conftest import Harness, contact

JO = contact(1, "jo@acme.example", salesforce_id="00Q5E0000000001UAA", salesforce_type="Lead")


def _set_plan(harness: Harness, value: str) -> str:
    [result] = harness.perform(
        UpdateSalesforceField("Plan Tier", value), [JO], field="Plan Tier", value=value
    )
    return result.status


def test_the_field_action_keeps_the_describe_and_the_sync_reuses_it(harness: Harness) -> None:
    assert _set_plan(harness, "Gold") == "done"
    kept = kept_fields(harness.state, "Lead")
    assert kept is not None
    assert any(f.name == "Plan_Tier__c" for f in kept)

    calls = harness.org.api_calls
    assert _set_plan(harness, "Silver") == "done"
    assert harness.org.api_calls == calls + 1  # the update; describe came from the state
    source = replication_for(harness.connector)
    assert any(f.name == "Plan_Tier__c" for f in source.describe("Lead"))
    assert harness.org.api_calls == calls + 1
    [row] = harness.query("SELECT Plan_Tier__c FROM Lead WHERE Email = 'jo@acme.example'")
    assert row["Plan_Tier__c"] == "Silver"


def test_a_field_the_kept_describe_predates_is_found_by_one_fresh_describe(
    harness: Harness,
) -> None:
    """A describe kept before someone created the field must not hide it until a refresh."""
    source = replication_for(harness.connector)
    source.describe("Lead")
    kept = harness.state.get("describe:Lead")
    harness.state.put("describe:Lead", [f for f in kept if f["name"] != "Plan_Tier__c"])

    calls = harness.org.api_calls
    assert _set_plan(harness, "Gold") == "done"
    assert harness.org.api_calls == calls + 2  # one fresh describe, one update
    assert any(f["name"] == "Plan_Tier__c" for f in harness.state.get("describe:Lead"))


def test_an_unknown_field_is_described_afresh_once_then_fails_naming_it(
    harness: Harness,
) -> None:
    calls = harness.org.api_calls
    [result] = harness.perform(
        UpdateSalesforceField("Shoe Size", "9"), [JO], field="Shoe Size", value="9"
    )
    assert (result.status, result.error_code) == ("failed", "INVALID_FIELD")
    assert "no such field" in str(result.message)
    assert harness.org.api_calls == calls + 1  # nothing kept yet: one describe is fresh


def test_journey_salesforce_refresh_keeps_the_describes_for_the_connector(
    harness: Harness,
) -> None:
    catalog = read_catalog(
        harness.connector.api, harness.org.endpoint.instance_url, state=harness.state
    )
    assert "Lead" in catalog.objects
    kept = kept_fields(harness.state, "Lead")
    assert kept is not None
    assert {f.name for f in kept} == {f.name for f in catalog.objects["Lead"]}

    calls = harness.org.api_calls
    assert _set_plan(harness, "Gold") == "done"
    assert replication_for(harness.connector).describe("Contact")
    assert harness.org.api_calls == calls + 1  # only the update: no describe again
