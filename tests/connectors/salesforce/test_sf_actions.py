"""Add Task, Set Member Status, Create Opportunity (conversion with and without an existing
Account; a Contact's opportunity), Update Salesforce Field and Send Notification — each
against the emulated org over HTTPS."""

from __future__ import annotations

from email import message_from_bytes
from pathlib import Path

from journey.dsl.syntax import (
    AddTask,
    CreateOpportunity,
    SendNotification,
    SetMemberStatus,
    UpdateSalesforceField,
)
from tests.connectors.salesforce.conftest import Harness, contact


def test_a_task_goes_to_the_lead_owner_with_due_date_and_priority(harness: Harness) -> None:
    person = contact(1, "t@example.org", Country="France")  # the rule gives France to Eva
    [result] = harness.perform(
        AddTask("Call {{First Name}}", due_in_days=2, priority="High"),
        [person],
        subject="Call Tess",
        due_date="2026-03-04",
        priority="High",
    )
    assert result.status == "done"
    lead_id = result.changes.salesforce_id
    [task] = harness.query(
        "SELECT Subject, WhoId, Owner.Email, ActivityDate, Priority, Status FROM Task"
    )
    assert (task["Subject"], task["WhoId"], task["Owner"]["Email"]) == (
        "Call Tess",
        lead_id,
        "eva@acme.example",
    )
    assert (task["ActivityDate"], task["Priority"], task["Status"]) == (
        "2026-03-04",
        "High",
        "Not Started",
    )
    assert [r.object for r in result.records] == ["Lead", "Task"]


def test_a_task_assigned_to_a_named_user(harness: Harness) -> None:
    jo = contact(1, "jo@acme.example", salesforce_id="00Q5E0000000001UAA", salesforce_type="Lead")
    [result] = harness.perform(
        AddTask("Follow up", assigned_to="Bob Seller"),
        [jo],
        subject="Follow up",
        assigned_to="Bob Seller",
    )
    assert result.status == "done"
    [task] = harness.query("SELECT Owner.Email, WhoId FROM Task")
    assert task["Owner"]["Email"] == "bob@acme.example"
    assert result.changes.salesforce_id is None  # the contact already had its record


def test_member_status_creates_then_updates_the_campaign_member(harness: Harness) -> None:
    person = contact(1, "m@example.org")
    action = SetMemberStatus("Registered", "Q4 Webinar")
    [created] = harness.perform(action, [person], status="Registered", campaign="Q4 Webinar")
    assert created.status == "done"
    [updated] = harness.perform(
        SetMemberStatus("Attended", "Q4 Webinar"),
        [person],
        status="Attended",
        campaign="Q4 Webinar",
    )
    assert updated.status == "done"
    [again] = harness.perform(
        SetMemberStatus("attended", "Q4 Webinar"),
        [person],
        status="attended",
        campaign="Q4 Webinar",
    )
    assert again.status == "skipped"
    [member] = harness.query("SELECT Status, HasResponded, LeadId FROM CampaignMember")
    assert (member["Status"], member["HasResponded"]) == ("Attended", True)
    assert member["LeadId"] == created.changes.salesforce_id


def test_an_unknown_campaign_or_status_fails_naming_it_and_creates_nothing(
    harness: Harness,
) -> None:
    person = contact(1, "m@example.org")
    [no_campaign] = harness.perform(
        SetMemberStatus("Sent", "Q5 Party"), [person], status="Sent", campaign="Q5 Party"
    )
    assert (no_campaign.status, no_campaign.error_code) == ("failed", "UNKNOWN_CAMPAIGN")
    assert '"Q5 Party"' in str(no_campaign.message)
    [no_status] = harness.perform(
        SetMemberStatus("Bored", "Q4 Webinar"), [person], status="Bored", campaign="Q4 Webinar"
    )
    assert (no_status.status, no_status.error_code) == ("failed", "UNKNOWN_MEMBER_STATUS")
    assert '"Bored"' in str(no_status.message)
    assert "Registered" in str(no_status.message)
    assert harness.query("SELECT Id FROM Lead WHERE Email = 'm@example.org'") == []


def test_conversion_with_an_existing_account_reuses_it(harness: Harness) -> None:
    person = contact(1, "new@globex.example", Last_Name="New", Company="Globex")
    action = CreateOpportunity("Globex deal", stage="Qualification", amount="12000")
    [result] = harness.perform(
        action,
        [person],
        name="Globex deal",
        stage="Qualification",
        amount="12000",
        close_date="2026-04-30",
    )
    assert result.status == "done", result
    assert result.changes.salesforce_type == "Contact"
    assert result.changes.fields == {"Lead Status": "Closed - Converted"}
    accounts = harness.query("SELECT Id, Name FROM Account WHERE Name = 'Globex'")
    assert len(accounts) == 1
    [new_contact] = harness.query(
        f"SELECT AccountId, Email FROM Contact WHERE Id = '{result.changes.salesforce_id}'"
    )
    assert new_contact["AccountId"] == accounts[0]["Id"]
    [opp] = harness.query("SELECT Name, StageName, Amount, CloseDate, AccountId FROM Opportunity")
    assert (opp["Name"], opp["StageName"], opp["Amount"], opp["CloseDate"]) == (
        "Globex deal",
        "Qualification",
        12000.0,
        "2026-04-30",
    )
    [lead] = harness.query(
        "SELECT IsConverted, Status FROM Lead WHERE Email = 'new@globex.example'"
    )
    assert (lead["IsConverted"], lead["Status"]) == (True, "Closed - Converted")


def test_conversion_without_an_account_creates_one_and_no_duplicate(harness: Harness) -> None:
    people = [
        contact(1, "a@initech.example", Company="Initech"),
        contact(2, "b@initech.example", Company="Initech"),
    ]
    results = harness.perform(CreateOpportunity("Deal"), people, name="Deal")
    assert [r.status for r in results] == ["done", "done"]
    accounts = harness.query("SELECT Id FROM Account WHERE Name = 'Initech'")
    assert len(accounts) == 1
    opps = harness.query("SELECT StageName, CloseDate, AccountId FROM Opportunity")
    # Defaults: stage Prospecting, close date 30 days after the connector's clock (2026-03-02).
    assert {(o["StageName"], o["CloseDate"], o["AccountId"]) for o in opps} == {
        ("Prospecting", "2026-04-01", accounts[0]["Id"])
    }
    assert [r.object for r in results[0].records] == [
        "Lead",
        "Lead",
        "Account",
        "Contact",
        "Opportunity",
    ]
    assert [r.object for r in results[1].records] == ["Lead", "Lead", "Contact", "Opportunity"]


def test_a_contact_gets_an_opportunity_on_its_account(harness: Harness) -> None:
    [sam] = harness.query("SELECT Id, AccountId FROM Contact WHERE Email = 'sam@globex.example'")
    person = contact(1, "sam@globex.example", salesforce_id=sam["Id"], salesforce_type="Contact")
    [result] = harness.perform(
        CreateOpportunity("Upsell", amount="500"), [person], name="Upsell", amount="500"
    )
    assert result.status == "done"
    [opp] = harness.query("SELECT Name, AccountId, Amount FROM Opportunity")
    assert (opp["Name"], opp["AccountId"], opp["Amount"]) == ("Upsell", sam["AccountId"], 500.0)
    assert result.changes.salesforce_id is None


def test_update_salesforce_field_by_label_or_api_name(harness: Harness) -> None:
    jo = contact(1, "jo@acme.example", salesforce_id="00Q5E0000000001UAA", salesforce_type="Lead")
    [by_label] = harness.perform(
        UpdateSalesforceField("Plan Tier", "Gold"), [jo], field="Plan Tier", value="Gold"
    )
    [by_name] = harness.perform(
        UpdateSalesforceField("AnnualRevenue", "2,000"), [jo], field="AnnualRevenue", value="2,000"
    )
    assert (by_label.status, by_name.status) == ("done", "done")
    [row] = harness.query(
        "SELECT Plan_Tier__c, AnnualRevenue FROM Lead WHERE Email = 'jo@acme.example'"
    )
    assert (row["Plan_Tier__c"], row["AnnualRevenue"]) == ("Gold", 2000.0)
    assert by_label.changes.fields == {"Plan Tier": "Gold"}


def test_update_salesforce_field_by_the_engines_standard_field_name(harness: Harness) -> None:
    """Journeys say "Lead Status" (the contact field), which is ``Status`` on a Lead."""
    jo = contact(1, "jo@acme.example", salesforce_id="00Q5E0000000001UAA", salesforce_type="Lead")
    [result] = harness.perform(
        UpdateSalesforceField("Lead Status", "Working - Contacted"),
        [jo],
        field="Lead Status",
        value="Working - Contacted",
    )
    assert result.status == "done", result.message
    [row] = harness.query("SELECT Status FROM Lead WHERE Email = 'jo@acme.example'")
    assert row["Status"] == "Working - Contacted"
    assert result.changes.fields == {"Lead Status": "Working - Contacted"}


def test_update_salesforce_field_without_a_record_is_skipped_with_why(harness: Harness) -> None:
    calls = harness.org.api_calls
    [result] = harness.perform(
        UpdateSalesforceField("Rating", "Hot"),
        [contact(1, "nobody@example.org")],
        field="Rating",
        value="Hot",
    )
    assert result.status == "skipped"
    assert result.why == (
        "the contact has no Salesforce record (update salesforce field never creates one)"
    )
    assert harness.org.api_calls == calls
    assert harness.query("SELECT Id FROM Lead WHERE Email = 'nobody@example.org'") == []


def test_update_salesforce_field_unknown_field_fails_naming_it(harness: Harness) -> None:
    jo = contact(1, "jo@acme.example", salesforce_id="00Q5E0000000001UAA", salesforce_type="Lead")
    [result] = harness.perform(
        UpdateSalesforceField("Shoe Size", "9"), [jo], field="Shoe Size", value="9"
    )
    assert (result.status, result.error_code) == ("failed", "INVALID_FIELD")
    assert '"Shoe Size"' in str(result.message)


def test_notification_goes_to_the_outbox_and_the_lead_owner(harness: Harness) -> None:
    jo = contact(
        1,
        "jo@acme.example",
        salesforce_id="00Q5E0000000001UAA",
        salesforce_type="Lead",
        First_Name="Jo",
    )
    [result] = harness.perform(
        SendNotification("New lead Jo", "ops@acme.example", True),
        [jo],
        subject="New lead Jo",
        to="ops@acme.example",
        also_to_lead_owner=True,
    )
    assert result.status == "done"
    [mail] = result.records
    path = Path(mail.fields["Outbox"])
    assert path.parent == harness.folder / "outbox"
    message = message_from_bytes(path.read_bytes())
    assert message["To"] == "ops@acme.example, ann@acme.example"
    assert message["Subject"] == "New lead Jo"
    assert "First Name: Jo" in message.get_payload()


def test_a_queue_owned_lead_cannot_be_converted_and_says_why(harness: Harness) -> None:
    queue = harness.query("SELECT Id FROM Group WHERE Name = 'EMEA Queue'")[0]["Id"]
    [lead] = harness.org.insert("Lead", [{"LastName": "Q", "Company": "Qco", "OwnerId": queue}])
    person = contact(1, None, salesforce_id=lead, salesforce_type="Lead")
    [result] = harness.perform(CreateOpportunity("Deal"), [person], name="Deal")
    assert (result.status, result.error_code) == ("failed", "INVALID_CROSS_REFERENCE_KEY")
    assert f"converting Lead {lead}" in str(result.message)
    assert harness.query("SELECT Id FROM Account WHERE Name = 'Qco'") == []


def test_a_whole_call_refused_fails_the_batch_with_salesforces_code(harness: Harness) -> None:
    broken = contact(1, None, salesforce_id="not-an-id", salesforce_type="Lead")
    [result] = harness.perform(
        AddTask("Call", assigned_to_lead_owner=True),
        [broken],
        subject="Call",
        assigned_to_lead_owner=True,
    )
    assert (result.status, result.error_code) == ("failed", "INVALID_QUERY_FILTER_OPERATOR")
    assert "not-an-id" in str(result.message)
