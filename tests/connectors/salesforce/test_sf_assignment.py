"""Assign Lead: owners by email/name/ID, keep current assignment, round robin (fair across
3 users and 300 leads, across restarts and concurrent workers), and the Sforce-Auto-Assign
header that stops the org's rules from undoing an assignment."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from journey.dsl.syntax import AssignLead, AssignLeadToGroup, UpdateSalesforceField
from journey.emulator import EmulatedOrg
from tests.connectors.salesforce.conftest import Harness, build_connector, contact

GROUP = "SDR Round Robin"


def lead_in_org(harness: Harness, email: str, **fields: object) -> str:
    [lead_id] = harness.org.insert(
        "Lead", [{"LastName": "L", "Company": "C", "Email": email, **fields}]
    )
    return lead_id


def owner_of(harness: Harness, lead_id: str) -> str:
    [row] = harness.query(f"SELECT Owner.Email, Owner.Name FROM Lead WHERE Id = '{lead_id}'")
    return str(row["Owner"]["Email"])


def test_assign_to_a_user_named_by_email_name_or_id(harness: Harness) -> None:
    bob_id = harness.query("SELECT Id FROM User WHERE Email = 'bob@acme.example'")[0]["Id"]
    for i, user in enumerate(["bob@acme.example", "Bob Seller", bob_id]):
        person = contact(i, f"p{i}@example.org")
        [result] = harness.perform(AssignLead(user), [person], user=user, lead_source="Web")
        assert result.status == "done", result
        assert result.changes.owner_email == "bob@acme.example"
        assert result.changes.fields == {"Lead Source": "Web"}
        assert owner_of(harness, str(result.changes.salesforce_id)) == "bob@acme.example"


def test_an_unknown_user_fails_with_its_name_and_creates_nothing(harness: Harness) -> None:
    [result] = harness.perform(
        AssignLead("nobody@acme.example"), [contact(1, "n@example.org")], user="nobody@acme.example"
    )
    assert result.status == "failed"
    assert result.error_code == "USER_NOT_FOUND"
    assert "nobody@acme.example" in str(result.message)
    assert harness.query("SELECT Id FROM Lead WHERE Email = 'n@example.org'") == []


def test_keep_current_assignment_with_an_existing_owner(harness: Harness) -> None:
    lead_id = lead_in_org(
        harness,
        "kept@example.org",
        OwnerId=harness.query("SELECT Id FROM User WHERE Email = 'eva@acme.example'")[0]["Id"],
    )
    person = contact(1, "kept@example.org", salesforce_id=lead_id, salesforce_type="Lead")
    action = AssignLead("bob@acme.example", keep_current=True, lead_status="Working - Contacted")
    [result] = harness.perform(
        action, [person], user="bob@acme.example", lead_status="Working - Contacted"
    )
    assert result.status == "done"
    assert owner_of(harness, lead_id) == "eva@acme.example"
    [row] = harness.query(f"SELECT Status FROM Lead WHERE Id = '{lead_id}'")
    assert row["Status"] == "Working - Contacted"
    assert result.changes.owner_email == "eva@acme.example"
    assert [r.fields for r in result.records] == [{"Status": "Working - Contacted"}]


def test_keep_current_assignment_with_nothing_else_to_write_is_a_skip(harness: Harness) -> None:
    lead_id = lead_in_org(harness, "kept@example.org")
    person = contact(1, "kept@example.org", salesforce_id=lead_id, salesforce_type="Lead")
    [result] = harness.perform(
        AssignLead("bob@acme.example", keep_current=True), [person], user="bob@acme.example"
    )
    assert result.status == "skipped"
    assert result.why == "kept the current owner (ann@acme.example)"
    assert owner_of(harness, lead_id) == "ann@acme.example"


def test_keep_current_assignment_without_an_owner_assigns(harness: Harness) -> None:
    queue_id = harness.query("SELECT Id FROM Group WHERE Name = 'EMEA Queue'")[0]["Id"]
    queued = lead_in_org(harness, "queued@example.org", OwnerId=queue_id)
    people = [
        contact(1, "queued@example.org", salesforce_id=queued, salesforce_type="Lead"),
        contact(2, "brand-new@example.org"),
    ]
    results = harness.perform(
        AssignLead("bob@acme.example", keep_current=True), people, user="bob@acme.example"
    )
    assert [r.status for r in results] == ["done", "done"]
    assert owner_of(harness, queued) == "bob@acme.example"
    assert owner_of(harness, str(results[1].changes.salesforce_id)) == "bob@acme.example"


def test_assignment_rules_do_not_undo_our_owner_on_later_updates(harness: Harness) -> None:
    # AnnualRevenue > 1,000,000 matches the rule that gives Leads to Bob.
    big = contact(1, "big@example.org", Annual_Revenue="5000000", Country="Spain")
    [assigned] = harness.perform(AssignLead("eva@acme.example"), [big], user="eva@acme.example")
    lead_id = str(assigned.changes.salesforce_id)
    assert owner_of(harness, lead_id) == "eva@acme.example"
    snapshot = contact(1, "big@example.org", salesforce_id=lead_id, salesforce_type="Lead")
    [updated] = harness.perform(
        UpdateSalesforceField("Rating", "Hot"), [snapshot], field="Rating", value="Hot"
    )
    assert updated.status == "done"
    assert owner_of(harness, lead_id) == "eva@acme.example"
    # Without the header, as Salesforce does by default, the same update re-assigns it.
    harness.sf.restful(f"sobjects/Lead/{lead_id}", method="PATCH", json={"Rating": "Warm"})
    assert owner_of(harness, lead_id) == "bob@acme.example"


def test_assignment_rules_on_update_restores_salesforces_default(
    org: EmulatedOrg, tmp_path: Path
) -> None:
    connector, state = build_connector(org, tmp_path, settings={"assignment_rules_on_update": True})
    harness = Harness(org, org.client(), connector, state, tmp_path)
    big = contact(1, "big@example.org", Annual_Revenue="5000000")
    [assigned] = harness.perform(AssignLead("eva@acme.example"), [big], user="eva@acme.example")
    lead_id = str(assigned.changes.salesforce_id)
    snapshot = contact(1, "big@example.org", salesforce_id=lead_id, salesforce_type="Lead")
    harness.perform(UpdateSalesforceField("Rating", "Hot"), [snapshot], field="Rating", value="Hot")
    assert owner_of(harness, lead_id) == "bob@acme.example"
    connector.close()


def test_round_robin_is_fair_over_300_leads_and_3_users(harness: Harness) -> None:
    action = AssignLeadToGroup(GROUP)
    owners: Counter[str] = Counter()
    # Batches of uneven sizes, as passes would bring them.
    for start, size in ((0, 7), (7, 120), (127, 1), (128, 172)):
        people = [contact(i, f"rr{i}@example.org") for i in range(start, start + size)]
        results = harness.perform(action, people, group=GROUP)
        assert {r.status for r in results} == {"done"}
        owners.update(str(r.changes.owner_email) for r in results)
    assert owners == {"ann@acme.example": 100, "bob@acme.example": 100, "eva@acme.example": 100}
    in_org = Counter(
        r["Owner"]["Email"]
        for r in harness.query("SELECT Owner.Email FROM Lead WHERE Email LIKE 'rr%'")
    )
    assert in_org == owners


def test_round_robin_continues_after_a_restart(org: EmulatedOrg, tmp_path: Path) -> None:
    action = AssignLeadToGroup(GROUP)
    seen = []
    for run in range(4):  # a new connector (a new process) each time
        connector, state = build_connector(org, tmp_path)
        harness = Harness(org, org.client(), connector, state, tmp_path)
        [result] = harness.perform(action, [contact(run, f"r{run}@example.org")], group=GROUP)
        seen.append(result.changes.owner_email)
        connector.close()
    assert seen == ["ann@acme.example", "bob@acme.example", "eva@acme.example", "ann@acme.example"]


def test_round_robin_is_fair_under_concurrent_workers(org: EmulatedOrg, tmp_path: Path) -> None:
    action = AssignLeadToGroup(GROUP)
    owners: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(offset: int) -> None:
        connector, state = build_connector(org, tmp_path)
        harness = Harness(org, org.client(), connector, state, tmp_path)
        for batch in range(10):
            people = [
                contact(offset + batch * 10 + i, f"w{offset + batch * 10 + i}@example.org")
                for i in range(10)
            ]
            results = harness.perform(action, people, group=GROUP)
            with lock:
                owners.update(str(r.changes.owner_email) for r in results)
        connector.close()

    threads = [threading.Thread(target=worker, args=(n * 1000,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert owners == {"ann@acme.example": 100, "bob@acme.example": 100, "eva@acme.example": 100}


def test_an_unknown_group_fails_naming_it(harness: Harness) -> None:
    [result] = harness.perform(
        AssignLeadToGroup("Nobody"), [contact(1, "g@example.org")], group="Nobody"
    )
    assert (result.status, result.error_code) == ("failed", "UNKNOWN_GROUP")
    assert '"Nobody"' in str(result.message)


def test_a_salesforce_contact_is_not_assigned_as_a_lead(harness: Harness) -> None:
    sam = harness.query("SELECT Id FROM Contact WHERE Email = 'sam@globex.example'")[0]["Id"]
    person = contact(1, "sam@globex.example", salesforce_id=sam, salesforce_type="Contact")
    [result] = harness.perform(AssignLead("eva@acme.example"), [person], user="eva@acme.example")
    assert result.status == "skipped"
    assert "Salesforce Contact" in str(result.why)


def test_round_robin_turns_are_shared_through_the_store(store_url: str) -> None:
    """Two workers on one store (SQLite file or PostgreSQL) taking turns at once: every
    user gets the same share, and a restart continues where they stopped."""
    from journey.connectors.salesforce.state import ConnectorState
    from journey.engine.store import open_store

    open_store(store_url).close()
    users = ["ann@acme.example", "bob@acme.example", "eva@acme.example"]
    picks: Counter[str] = Counter()
    lock = threading.Lock()

    def worker() -> None:
        state = ConnectorState(store_url)
        for size in (1, 7, 2, 5, 15):
            taken = state.take_turns(GROUP, users, size)
            with lock:
                picks.update(taken)
        state.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert picks == dict.fromkeys(users, 20)
    state = ConnectorState(store_url)
    assert state.take_turns(GROUP, users, 4) == [*users, users[0]]
    state.close()
