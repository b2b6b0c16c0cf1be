"""The retry policy (``journey.retry``), counted on the emulated org: a transient failure is
retried at one layer only, so the number of requests the org sees is exactly the documented
one — the connector's tries within a call, times the engine's tries of the step, and then
the run is ``failed`` with the last error named."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from journey.connectors.base import ContactSnapshot
from journey.dsl.syntax import AddToList
from journey.emulator import EmulatedOrg
from journey.engine.intake import import_csv
from journey.engine.project import open_project
from journey.engine.store import Activity, Run
from journey.retry import CALL_RETRIES, STEP_RETRIES, RetrySchedule
from tests.connectors.salesforce.conftest import NOW, Harness, build_connector, contact

LEADS = AddToList("Salesforce Leads")
#: What the harness's connector applies within a call (conftest: 3 tries, no sleeping).
TRIES_PER_CALL = 3
#: Every create first looks the emails up on Lead and on Contact: 2 queries.
LOOKUPS = 2
#: The runner reads the contacts' records (by email: Lead, then Contact) once, before
#: their first step (engine.linking): 2 queries for the whole batch.
LINK_READ = 2


def people(n: int) -> list[ContactSnapshot]:
    return [contact(i, f"r{i}@example.org") for i in range(n)]


def create_calls(harness: Harness, n: int = 3) -> tuple[int, set[tuple[str, str | None]]]:
    """Write requests the org answered while creating Leads for ``n`` people, and the
    outcomes."""
    before = harness.connector.api.budget.writes
    results = harness.perform(LEADS, people(n), list="Salesforce Leads")
    writes = harness.connector.api.budget.writes - before
    return writes, {(r.status, r.error_code) for r in results}


def test_the_documented_schedules() -> None:
    assert CALL_RETRIES.delays() == [0.5, 1.0, 2.0]
    assert STEP_RETRIES.attempts == 8
    assert STEP_RETRIES.delays() == [300, 600, 1200, 2400, 3600, 3600, 3600]
    assert RetrySchedule(attempts=1, first=1).delays() == []
    with pytest.raises(ValueError, match="not a retry schedule"):
        RetrySchedule(attempts=0, first=1)


def test_in_call_waits_are_jittered_within_their_delay() -> None:
    """Each wait slept is between half and all of its nominal delay; the step retries,
    scheduled per batch, carry none."""
    slept: list[float] = []
    low = replace(CALL_RETRIES, sleep=slept.append, random=lambda: 0.999)
    assert low.retry(lambda: False) is False
    high = replace(CALL_RETRIES, sleep=slept.append, random=lambda: 0.0)
    assert high.retry(lambda: False) is False
    nominal = CALL_RETRIES.delays()
    assert slept[3:] == nominal
    assert all(d / 2 <= s < d for s, d in zip(slept[:3], nominal, strict=True))
    assert [STEP_RETRIES.wait(n) for n in range(1, 8)] == STEP_RETRIES.delays()


def test_service_unavailable_is_tried_exactly_the_calls_tries(harness: Harness) -> None:
    harness.org.faults.fail_writes(1.0, "503")
    before = harness.org.api_calls
    calls, outcomes = create_calls(harness)
    assert calls == TRIES_PER_CALL
    assert outcomes == {("retry", "SERVER_UNAVAILABLE")}
    # A 503 may follow a save: after each try the Leads are looked for, once.
    assert harness.org.api_calls - before == LOOKUPS + 2 * TRIES_PER_CALL


def test_locked_records_are_tried_exactly_the_calls_tries(harness: Harness) -> None:
    harness.org.faults.fail_writes(1.0, "UNABLE_TO_LOCK_ROW")
    calls, outcomes = create_calls(harness)
    assert calls == TRIES_PER_CALL
    assert outcomes == {("retry", "UNABLE_TO_LOCK_ROW")}


def test_locks_then_outages_share_one_budget_of_tries(harness: Harness) -> None:
    """Every record locked on the first try, then the org answers 503: the retry of the
    locked records is the same loop as the retry of the outage, not a second one inside."""
    org = harness.org
    org.faults.fail_writes(1.0, "UNABLE_TO_LOCK_ROW")

    def then_unavailable(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if "composite/sobjects" in response.url:
            org.faults.fail_writes(1.0, "503")

    harness.connector.api.sf.session.hooks["response"].append(then_unavailable)
    calls, outcomes = create_calls(harness)
    assert calls == TRIES_PER_CALL
    assert outcomes == {("retry", "SERVER_UNAVAILABLE")}


def test_a_transient_failure_that_recovers_is_done_within_the_call(harness: Harness) -> None:
    harness.org.faults.fail_writes(0.5, "UNABLE_TO_LOCK_ROW", seed=3)
    calls, outcomes = create_calls(harness, 10)
    assert outcomes == {("done", None)}
    assert 1 < calls <= TRIES_PER_CALL


JOURNEY = """journey "Inbound"

trigger added to list "Website Leads"

add to list "Salesforce Leads"
"""


def test_the_engine_retries_the_step_on_its_schedule_then_fails_the_run(
    tmp_path: Path, org: EmulatedOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "inbound.journey").write_text(JOURNEY)
    (tmp_path / "journey.toml").write_text("")
    (tmp_path / "contacts.csv").write_text("Email\nr1@example.org\nr2@example.org\n")
    opened = open_project(tmp_path, with_journeys=False)
    import_csv(opened.store, tmp_path / "contacts.csv", opened.context(NOW), "Website Leads")
    opened.close()
    org.faults.fail_writes(1.0, "503")
    connector, _ = build_connector(org, tmp_path / ".journey")
    opened = open_project(tmp_path, connector=connector, now=NOW)
    runner = opened.runner()
    before = org.api_calls
    at = NOW
    runner.run_until_idle(at)
    for delay in STEP_RETRIES.delays():
        at += timedelta(seconds=delay)
        early = org.api_calls
        runner.run_until_idle(at - timedelta(seconds=1))  # not due yet: no call at all
        assert org.api_calls == early
        runner.run_until_idle(at)
    # Both contacts' requests share each pass's calls: one batch, retried as one; a 503
    # may follow a save, so each try is followed by a look for the Leads.
    per_pass = LOOKUPS + 2 * TRIES_PER_CALL
    assert org.api_calls - before == LINK_READ + STEP_RETRIES.attempts * per_pass
    with opened.store.begin() as conn:
        statuses = conn.execute(sa.select(Run.c.status)).scalars().all()
        details = conn.execute(sa.select(Activity.c.detail)).scalars().all()
    assert statuses == ["failed", "failed"]
    last = f"still failing after {STEP_RETRIES.attempts} attempts"
    assert len([d for d in details if "failed: SERVER_UNAVAILABLE" in d and last in d]) == 2
    report = runner.run_until_idle(at + timedelta(days=1))
    assert report.effects == 0  # a failed run is not tried again
    assert org.api_calls - before == LINK_READ + STEP_RETRIES.attempts * per_pass
    opened.close()


def test_a_pause_is_never_counted_as_a_failure(
    tmp_path: Path, org: EmulatedOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "inbound.journey").write_text(JOURNEY)
    (tmp_path / "journey.toml").write_text("")
    (tmp_path / "contacts.csv").write_text("Email\nr1@example.org\n")
    opened = open_project(tmp_path, with_journeys=False)
    import_csv(opened.store, tmp_path / "contacts.csv", opened.context(NOW), "Website Leads")
    opened.close()
    org.expire_session()
    connector, _ = build_connector(org, tmp_path / ".journey")
    opened = open_project(tmp_path, connector=connector, now=NOW)
    runner = opened.runner()
    at = NOW
    for _ in range(STEP_RETRIES.attempts * 2):
        assert runner.run_until_idle(at).paused
        at += timedelta(seconds=STEP_RETRIES.first)
    with opened.store.begin() as conn:
        runs = conn.execute(sa.select(Run.c.status, Run.c.attempts)).all()
    assert [tuple(r) for r in runs] == [("active", 0)]
    opened.close()
