"""The dry run against a configured org reads the record the real run would take: for an
email the org holds as both a Contact and an unconverted Lead, the Lead (for a Lead action)
and the Contact (for "Salesforce Contacts") — the same choice ``records`` makes."""

from __future__ import annotations

from journey.connectors.salesforce.dryrun import ReadingRecorder
from journey.dsl.syntax import AddToList
from tests.connectors.salesforce.conftest import Harness, contact

EMAIL = "both@example.org"


def test_the_dry_run_takes_the_record_the_real_run_links(harness: Harness) -> None:
    sf = harness.sf
    contact_id = sf.Contact.create({"LastName": "Both", "Email": EMAIL})["id"]
    lead_id = sf.Lead.create({"LastName": "Both", "Company": "Acme", "Email": EMAIL})["id"]
    dry = ReadingRecorder(harness.connector.api)
    for cid, name, expected_id, expected_type in [
        (1, "Salesforce Leads", lead_id, "Lead"),
        (2, "Salesforce Contacts", contact_id, "Contact"),
    ]:
        action = AddToList(name)
        [planned] = dry.perform(action, [harness.request(contact(cid, EMAIL), list=name)])
        assert planned.status == "skipped"
        assert planned.why == f"already a Salesforce {expected_type}"
        [real] = harness.perform(action, [contact(cid, EMAIL)], list=name)
        assert real.changes.salesforce_id == expected_id
        assert real.changes.salesforce_type == expected_type
