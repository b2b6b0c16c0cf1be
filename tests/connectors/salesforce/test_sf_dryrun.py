"""The dry run on a configured org is the real connector with its writes captured: it
links the record the real run links (for an email the org holds as both a Contact and an
unconverted Lead, the Lead for "Salesforce Leads", the Contact for "Salesforce Contacts"),
and creates, updates and converts nothing in the org."""

from __future__ import annotations

from pathlib import Path

from journey.connectors.salesforce.capture import CapturingAdapter
from journey.connectors.salesforce.connector import SalesforceConnector
from journey.dsl.syntax import AddTask, AddToList, CreateOpportunity
from tests.connectors.salesforce.conftest import Harness, build_connector, contact

EMAIL = "both@example.org"


def capturing(harness: Harness, folder: Path) -> tuple[SalesforceConnector, CapturingAdapter]:
    folder.mkdir()
    connector, _ = build_connector(harness.org, folder)
    session = connector.api.sf.session
    base = f"https://{connector.api.sf.sf_instance}"
    capture = CapturingAdapter(session.get_adapter(base))
    session.mount(base, capture)
    return connector, capture


def counts(harness: Harness) -> tuple[int, ...]:
    return tuple(
        len(harness.query(f"SELECT Id FROM {o}"))
        for o in ("Lead", "Contact", "Account", "Opportunity", "Task")
    )


def test_the_dry_run_takes_the_record_the_real_run_links(harness: Harness, tmp_path: Path) -> None:
    sf = harness.sf
    contact_id = sf.Contact.create({"LastName": "Both", "Email": EMAIL})["id"]
    lead_id = sf.Lead.create({"LastName": "Both", "Company": "Acme", "Email": EMAIL})["id"]
    dry, _ = capturing(harness, tmp_path / "dry")
    for cid, name, expected_id, expected_type in [
        (1, "Salesforce Leads", lead_id, "Lead"),
        (2, "Salesforce Contacts", contact_id, "Contact"),
    ]:
        action = AddToList(name)
        [planned] = dry.perform(action, [harness.request(contact(cid, EMAIL), list=name)])
        [real] = harness.perform(action, [contact(cid, EMAIL)], list=name)
        assert real.changes.salesforce_id == expected_id
        assert real.changes.salesforce_type == expected_type
        assert (planned.changes.salesforce_id, planned.changes.salesforce_type) == (
            expected_id,
            expected_type,
        )
    dry.close()


def test_captured_writes_never_reach_the_org(harness: Harness, tmp_path: Path) -> None:
    lead_id = harness.sf.Lead.create({"LastName": "Old", "Company": "Acme", "Email": "o@x.org"})
    before = counts(harness)
    dry, capture = capturing(harness, tmp_path / "dry")
    person = contact(1, "new@example.org", Last_Name="New", Company="Acme")
    [created] = dry.perform(
        AddToList("Salesforce Leads"), [harness.request(person, list="Salesforce Leads")]
    )
    assert created.status == "done"
    lead = created.records[0]
    assert (lead.object, lead.operation) == ("Lead", "create")
    assert lead.id.startswith("00QDRY")  # a synthesized ID: no such record exists
    linked = contact(
        1, "new@example.org", salesforce_id=lead.id, salesforce_type="Lead", Company="Acme"
    )
    [task] = dry.perform(AddTask("Call"), [harness.request(linked, subject="Call")])
    assert task.status == "done"
    # Converting reads the Lead first: a Lead the org holds (one only captured cannot be
    # read back — docs/salesforce.md, "Dry runs").
    old = contact(2, "o@x.org", salesforce_id=lead_id["id"], salesforce_type="Lead")
    [opportunity] = dry.perform(CreateOpportunity("Deal"), [harness.request(old, name="Deal")])
    assert opportunity.status == "done", opportunity
    assert counts(harness) == before
    objects = [w.object for w in capture.writes]
    assert objects[:2] == ["Lead", "Task"]
    assert "Lead" in objects[2:]  # the conversion, captured (convertLead)
    dry.close()
