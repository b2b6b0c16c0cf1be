"""Create missing records: every action but ``update salesforce field`` gives a contact
without a Salesforce record one — filled from the contact, never twice."""

from __future__ import annotations

from journey.dsl.syntax import AddTask, AddToList
from journey.emulator import EmulatedOrg
from tests.connectors.salesforce.conftest import Harness, contact

LEADS = AddToList("Salesforce Leads")
CONTACTS = AddToList("Salesforce Contacts")


def test_a_new_lead_takes_required_fields_from_the_contact_or_the_defaults(
    harness: Harness,
) -> None:
    people = [
        contact(1, "ada@example.org", Last_Name="Lovelace", Company="Analytical", First_Name="Ada"),
        contact(2, "grace.hopper@example.org"),
        contact(3, None, First_Name="Nameless"),
    ]
    results = harness.perform(LEADS, people, list="Salesforce Leads")
    assert [r.status for r in results] == ["done", "done", "done"]
    ids = [r.changes.salesforce_id for r in results]
    assert all(i and i.startswith("00Q") for i in ids)
    assert {r.changes.salesforce_type for r in results} == {"Lead"}
    rows = {
        r["Id"]: r
        for r in harness.query("SELECT Id, LastName, FirstName, Company, Email FROM Lead")
    }
    assert (rows[ids[0]]["LastName"], rows[ids[0]]["Company"]) == ("Lovelace", "Analytical")
    assert (rows[ids[1]]["LastName"], rows[ids[1]]["Company"]) == ("grace.hopper", "[not provided]")
    assert rows[ids[2]]["LastName"] == "[not provided]"


def test_default_company_comes_from_the_project(org: EmulatedOrg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.connectors.salesforce.conftest import build_connector

    connector, _ = build_connector(org, tmp_path, settings={"default_company": "Unknown Co"})
    harness = Harness(org, org.client(), connector, connector.state, tmp_path)
    [result] = harness.perform(LEADS, [contact(1, "x@example.org")], list="Salesforce Leads")
    [row] = harness.query(f"SELECT Company FROM Lead WHERE Id = '{result.changes.salesforce_id}'")
    assert row["Company"] == "Unknown Co"
    connector.close()


def test_salesforce_contacts_list_creates_a_contact(harness: Harness) -> None:
    [result] = harness.perform(
        CONTACTS, [contact(1, "c@example.org", Last_Name="Cee")], list="Salesforce Contacts"
    )
    assert result.status == "done"
    assert result.changes.salesforce_type == "Contact"
    assert str(result.changes.salesforce_id).startswith("003")
    assert (
        harness.query("SELECT LastName FROM Contact WHERE Email = 'c@example.org'")[0]["LastName"]
        == "Cee"
    )


def test_a_contact_with_a_record_is_not_created_again(harness: Harness) -> None:
    existing = contact(
        1, "jo@acme.example", salesforce_id="00Q5E0000000001UAA", salesforce_type="Lead"
    )
    [result] = harness.perform(LEADS, [existing], list="Salesforce Leads")
    assert result.status == "skipped"
    assert result.why == "already a Salesforce Lead"
    assert len(harness.query("SELECT Id FROM Lead WHERE Email = 'jo@acme.example'")) == 1


def test_a_contact_whose_email_the_org_holds_is_linked_not_duplicated(harness: Harness) -> None:
    """The org already has a Lead for jo@acme.example (made by hand, or before the sync
    ran): the contact is linked to it — the record a dry run reads — not given a second."""
    [jo] = harness.query("SELECT Id FROM Lead WHERE Email = 'jo@acme.example'")
    [result] = harness.perform(
        AddTask("Call"), [contact(3, "JO@acme.example", Last_Name="Doe")], subject="Call"
    )
    assert result.status == "done"
    assert (result.changes.salesforce_id, result.changes.salesforce_type) == (jo["Id"], "Lead")
    assert len(harness.query("SELECT Id FROM Lead WHERE Email = 'jo@acme.example'")) == 1
    [task] = harness.query("SELECT WhoId FROM Task WHERE Subject = 'Call'")
    assert task["WhoId"] == jo["Id"]


def test_the_same_contact_is_created_once_across_batches_and_actions(harness: Harness) -> None:
    person = contact(7, "once@example.org", Last_Name="Once")
    # Two journeys reach Salesforce actions in the same pass: both snapshots lack an ID.
    first = harness.perform(LEADS, [person, person], list="Salesforce Leads")
    second = harness.perform(AddTask("Call"), [person], subject="Call")
    assert [r.status for r in first + second] == ["done", "done", "done"]
    assert len({r.changes.salesforce_id for r in first + second}) == 1
    assert len(harness.query("SELECT Id FROM Lead WHERE Email = 'once@example.org'")) == 1


def test_add_to_list_lets_the_orgs_assignment_rules_run(harness: Harness) -> None:
    german = contact(1, "de@example.org", Country="Germany")
    plain = contact(2, "us@example.org", Country="United States")
    results = harness.perform(LEADS, [german, plain], list="Salesforce Leads")
    # The seed's rule sends Germany to the EMEA queue; no rule matches the other, so the
    # org gives it to the connected user (Ann).
    assert results[0].changes.owner_name == "EMEA Queue"
    assert results[1].changes.owner_email == "ann@acme.example"
    owners = {
        r["Email"]: r["Owner"]["Name"]
        for r in harness.query("SELECT Email, Owner.Name FROM Lead WHERE Email LIKE '%example.org'")
    }
    assert owners == {"de@example.org": "EMEA Queue", "us@example.org": "Ann Admin"}


def test_a_refused_create_fails_that_contact_only_naming_the_error(harness: Harness) -> None:
    good = contact(1, "good@example.org")
    bad = contact(2, "not-an-email", Last_Name="Bad")
    bad = type(bad)(id=2, email=None, fields={"Last Name": "Bad", "Email": "not an email"})
    results = harness.perform(LEADS, [good, bad], list="Salesforce Leads")
    assert results[0].status == "done"
    assert results[1].status == "failed"
    assert results[1].error_code == "INVALID_EMAIL_ADDRESS"
    assert "creating a Lead for Bad" in str(results[1].message)
