"""Failures: 401 pauses everything until renew, 403 REQUEST_LIMIT_EXCEEDED pauses until the
allocation allows, our own daily cap keeps us under a share, UNABLE_TO_LOCK_ROW and 503
are retried with backoff and then left for a later retry — nothing lost, nothing doubled."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from journey.connectors.base import ContactSnapshot
from journey.connectors.salesforce.connector import clear_pause, current_pause
from journey.dsl.syntax import AddToList, AssignLead, CreateOpportunity, UpdateSalesforceField
from journey.emulator import EmulatedOrg
from tests.connectors.salesforce.conftest import NOW, Harness, build_connector, contact

LEADS = AddToList("Salesforce Leads")


def people(n: int, prefix: str = "p", first: int = 0) -> list[ContactSnapshot]:
    return [contact(first + i, f"{prefix}{first + i}@example.org") for i in range(n)]


def lead_count(harness: Harness) -> int:
    return len(harness.query("SELECT Id FROM Lead WHERE Email LIKE '%example.org'"))


def test_an_expired_session_pauses_everything_until_renewed(
    org: EmulatedOrg, tmp_path: Path
) -> None:
    connector, state = build_connector(org, tmp_path)
    harness = Harness(org, org.client(), connector, state, tmp_path)
    org.expire_session()
    results = harness.perform(LEADS, people(3), list="Salesforce Leads")
    assert {r.status for r in results} == {"paused"}
    assert {r.error_code for r in results} == {"INVALID_SESSION_ID"}
    assert "journey salesforce renew" in str(results[0].message)
    pause = current_pause(state, NOW)
    assert pause is not None
    assert pause["until"] is None
    # Every later batch is paused at once, without a call, until renewed.
    calls = org.api_calls
    again = harness.perform(AssignLead("bob@acme.example"), people(2), user="bob@acme.example")
    assert {r.status for r in again} == {"paused"}
    assert org.api_calls == calls
    # Renewed (what `journey salesforce renew` does): a new session, the pause lifted.
    org.renew_session()
    clear_pause(state)
    connector.close()
    connector, state = build_connector(org, tmp_path)
    renewed = Harness(org, org.client(), connector, state, tmp_path)
    results = renewed.perform(LEADS, people(3), list="Salesforce Leads")
    assert {r.status for r in results} == {"done"}
    assert lead_count(renewed) == 3
    connector.close()


def test_a_spent_allocation_pauses_until_it_allows(harness: Harness) -> None:
    harness.org.exhaust_api()
    results = harness.perform(LEADS, people(2), list="Salesforce Leads")
    assert {(r.status, r.error_code) for r in results} == {("paused", "REQUEST_LIMIT_EXCEEDED")}
    pause = current_pause(harness.state, NOW)
    assert pause is not None
    assert pause["until"] is not None
    assert current_pause(harness.state, NOW + timedelta(hours=1)) is None
    harness.org.admin({"reset_api": True})
    harness.connector.clock = lambda: NOW + timedelta(hours=1)
    results = harness.perform(LEADS, people(2), list="Salesforce Leads")
    assert {r.status for r in results} == {"done"}


def test_the_daily_cap_keeps_us_under_our_share(org: EmulatedOrg, tmp_path: Path) -> None:
    org.admin({"api_limit": 40})
    connector, state = build_connector(org, tmp_path, settings={"max_daily_api_share": 0.25})
    harness = Harness(org, org.client(), connector, state, tmp_path)
    statuses = []
    for batch in range(20):  # each batch: a create and an owner read = 2 calls
        results = harness.perform(LEADS, people(1, "b", first=batch), list="Salesforce Leads")
        statuses.append(results[0].status)
    assert org.api_calls <= 10  # 25% of 40
    assert "paused" in statuses
    pause = current_pause(state, NOW)
    assert pause is not None
    assert pause["code"] == "API_CAP_REACHED"
    assert "cap (max_daily_api_share = 0.25) is 10" in pause["message"]
    connector.close()


def test_lock_errors_are_retried_with_backoff_then_done(harness: Harness) -> None:
    harness.org.faults.fail_writes(0.3, "UNABLE_TO_LOCK_ROW", seed=3)
    results = harness.perform(LEADS, people(40), list="Salesforce Leads")
    assert {r.status for r in results} == {"done"}
    assert lead_count(harness) == 40


def test_lock_errors_that_persist_leave_the_contacts_for_a_later_retry(harness: Harness) -> None:
    harness.org.faults.fail_writes(1.0, "UNABLE_TO_LOCK_ROW")
    results = harness.perform(LEADS, people(5), list="Salesforce Leads")
    assert {(r.status, r.error_code) for r in results} == {("retry", "UNABLE_TO_LOCK_ROW")}
    harness.org.faults.clear()
    results = harness.perform(LEADS, people(5), list="Salesforce Leads")
    assert {r.status for r in results} == {"done"}
    assert lead_count(harness) == 5


def test_service_unavailable_is_retried_then_left_for_later(harness: Harness) -> None:
    harness.org.faults.fail_writes(0.5, "503", seed=1)
    results = harness.perform(LEADS, people(10), list="Salesforce Leads")
    assert {r.status for r in results} == {"done"}
    harness.org.faults.fail_writes(1.0, "503")
    results = harness.perform(LEADS, people(3, "q", first=100), list="Salesforce Leads")
    assert {(r.status, r.error_code) for r in results} == {("retry", "SERVER_UNAVAILABLE")}
    assert lead_count(harness) == 10


def test_api_calls_are_counted_and_remembered(harness: Harness) -> None:
    from journey.connectors.salesforce.budget import api_usage

    before = harness.org.api_calls
    harness.perform(LEADS, people(450), list="Salesforce Leads")
    used = harness.org.api_calls - before
    # 450 creates = 3 Collections calls; their emails looked up first (no duplicate of a
    # record the org already holds) = 3 queries on Lead + 3 on Contact; the owners read
    # back = 3 queries.
    assert used == 12
    usage = api_usage(harness.state, 0.5, NOW)
    assert usage.ours == used
    assert usage.used == harness.org.api_calls
    assert usage.limit == 15000
    assert usage.cap == 7500


def test_reconcile_answers_from_the_journal(harness: Harness) -> None:
    done = [harness.request(c, list="Salesforce Leads") for c in people(2)]
    results = harness.connector.perform(LEADS, done)
    never_sent = harness.request(contact(9, "never@example.org"), list="Salesforce Leads")
    answers = harness.connector.reconcile(LEADS, [*done, never_sent])
    assert [a.applied for a in answers] == [True, True, False]
    assert [a.result for a in answers[:2]] == results
    assert lead_count(harness) == 2


def test_big_updates_go_through_bulk_api_2_with_failures_per_record(
    org: EmulatedOrg, tmp_path: Path
) -> None:
    connector, state = build_connector(org, tmp_path, bulk_threshold=5)
    harness = Harness(org, org.client(), connector, state, tmp_path)
    ids = org.insert("Lead", [{"LastName": f"B{i}", "Company": "C"} for i in range(12)])
    org.admin({"clear": True})
    converted = harness.perform(
        CreateOpportunity("X"),
        [contact(100, None, salesforce_id=ids[0], salesforce_type="Lead")],
        name="X",
    )
    assert converted[0].status == "done"
    snapshots = [
        contact(i, None, salesforce_id=lead, salesforce_type="Lead") for i, lead in enumerate(ids)
    ]
    before = org.api_calls
    results = harness.perform(
        UpdateSalesforceField("Rating", "Cold"), snapshots, field="Rating", value="Cold"
    )
    assert [r.status for r in results] == ["failed"] + ["done"] * 11
    assert results[0].error_code == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert str(ids[0]) in str(results[0].message)
    assert org.api_calls - before < 12  # one Bulk job, not a call per record
    rows = harness.query("SELECT Rating FROM Lead WHERE IsConverted = false AND LastName LIKE 'B%'")
    assert {r["Rating"] for r in rows} == {"Cold"}
    connector.close()


def test_an_unreachable_org_is_retried_then_left_for_later(tmp_path: Path) -> None:
    with EmulatedOrg(
        seed={"User": [{"Name": "A", "Email": "a@x.example", "connected": True}]}
    ) as org:
        org.start()
        connector, state = build_connector(org, tmp_path)
        harness = Harness(org, org.client(), connector, state, tmp_path)
        assert org._server is not None
        org._server.stop()  # the org goes away mid-run: connections are refused
        org._server = None
        results = harness.perform(LEADS, people(2), list="Salesforce Leads")
        connector.close()
    assert {(r.status, r.error_code) for r in results} == {("retry", "NETWORK_ERROR")}
