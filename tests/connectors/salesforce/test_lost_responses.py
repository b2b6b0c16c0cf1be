"""Exactly once toward Salesforce when an answer is lost: through the CLI, ``journey run``
talks to a seeded emulated org through ``tests.faults.FaultyProxy``, which forwards a
create (or a ``convertLead``) to the org — so the org saves — and then drops the
connection without the answer. The connector must look for what it made instead of sending
it again: exactly one Lead per contact, one Task, one conversion, and runs that end
``completed``, never ``failed``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from journey.connectors.salesforce.errors import TransientError, classify
from journey.emulator import EmulatedOrg
from tests.cli import actions_support as sup
from tests.existing_org import PEOPLE, existing_seed
from tests.faults import FaultyProxy, Rule, converts, creates, faulty_proxy

NEWCOMERS = [f"new{i}@prospect.example" for i in range(5)]


@dataclass
class World:
    org: EmulatedOrg
    proxy: FaultyProxy
    root: Path

    def soql(self, query: str) -> list[dict[str, Any]]:
        return [sup.flatten(r) for r in self.org.client().query_all(query)["records"]]

    def leads(self, email: str) -> list[dict[str, Any]]:
        return self.soql(f"SELECT Id, IsConverted FROM Lead WHERE Email = '{email}'")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The existing org (records the tool did not create) behind a faulty proxy, and a
    project configured to reach the org only through the proxy."""
    with EmulatedOrg(tmp_path / "org", seed=existing_seed()) as org:
        endpoint = org.start()
        with faulty_proxy(endpoint.instance_url, tmp_path / "org") as proxy:
            root = tmp_path / "project"
            (root / "journeys").mkdir(parents=True)
            (root / "journey.toml").write_text(
                "[salesforce]\n"
                f'instance_url = "{proxy.url}"\n'
                'session_id_env = "TEST_SF_SESSION"\n'
                f'ca_file = "{endpoint.ca_file}"\n'
                "read_timeout = 20\n"
            )
            monkeypatch.setenv("TEST_SF_SESSION", endpoint.session_id)
            monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
            monkeypatch.chdir(root)
            yield World(org, proxy, root)


def start(world: World, steps: str, emails: list[str]) -> None:
    (world.root / "journeys" / "lost.journey").write_text(
        f'journey "Lost answers"\n\ntrigger added to list "Website Leads"\n\n{steps}\n'
    )
    rows = [{"Email": e, "Last Name": e.split("@")[0].title(), "Company": "Newco"} for e in emails]
    sup.import_contacts(world.root, rows, "Website Leads")


def statuses(emails: list[str]) -> set[str]:
    return {sup.contact(e)["runs"][0]["status"] for e in emails}


def test_a_lost_create_answer_leaves_one_lead_per_contact(world: World) -> None:
    start(world, 'add to list "Salesforce Leads"', NEWCOMERS)
    world.proxy.add(Rule("lose", creates("Lead")))
    sup.run()
    assert world.proxy.count(creates("Lead")) == 1  # looked for, not sent again
    for email in NEWCOMERS:
        [lead] = world.leads(email)
        assert sup.contact(email)["salesforce"]["id"][:15] == lead["Id"][:15]
    assert statuses(NEWCOMERS) == {"completed"}


def test_a_lost_answer_on_a_retry_sends_only_what_is_missing(world: World) -> None:
    """A gateway answers the first create 503 (the org never saw it); the second try's
    answer is lost after the org saved: the look that follows finds every Lead, and
    nothing is sent a third time."""
    start(world, 'add to list "Salesforce Leads"', NEWCOMERS[:3])
    world.proxy.add(Rule("unavailable", creates("Lead"), nth=1))
    world.proxy.add(Rule("lose", creates("Lead"), nth=2))
    sup.run()
    assert world.proxy.count(creates("Lead")) == 2
    for email in NEWCOMERS[:3]:
        assert len(world.leads(email)) == 1
    assert statuses(NEWCOMERS[:3]) == {"completed"}


def test_a_lost_task_create_leaves_one_task(world: World) -> None:
    people = [PEOPLE["owned"], PEOPLE["qualified"], NEWCOMERS[0]]
    start(world, 'add task "Call back" due in 2 days', people)
    world.proxy.add(Rule("lose", creates("Task")))
    sup.run()
    assert world.proxy.count(creates("Task")) == 1
    for email in people:
        [lead] = world.leads(email)
        tasks = world.soql(f"SELECT Id, Subject FROM Task WHERE WhoId = '{lead['Id']}'")
        assert [t["Subject"] for t in tasks] == ["Call back"]
    assert statuses(people) == {"completed"}


def test_a_write_still_in_doubt_is_looked_for_by_the_next_attempt(world: World) -> None:
    """The Task create's answer is lost and then the org is unreachable for the rest of
    the call, so the lookup cannot run: the run is left to retry, never failed. The next
    attempt (a new pass, the org back) finds the Task and sends nothing."""
    people = [PEOPLE["owned"], NEWCOMERS[0]]
    start(world, 'add task "Call back" due in 2 days', people)
    lost = world.proxy.add(Rule("lose", creates("Task")))
    world.proxy.add(Rule("unavailable", every=True, armed=lambda: lost.seen >= 1))
    sup.run()
    assert world.proxy.count(creates("Task")) == 1
    for email in people:
        assert sup.contact(email)["runs"][0]["status"] == "active"
        assert any("ANSWER_LOST" in detail for _, detail in sup.feed(email))
    world.proxy.rules.clear()
    sup.run(now="2026-03-02T09:30:00+00:00")
    assert world.proxy.count(creates("Task")) == 1  # found, not sent again
    for email in people:
        [lead] = world.leads(email)
        tasks = world.soql(f"SELECT Id FROM Task WHERE WhoId = '{lead['Id']}'")
        assert len(tasks) == 1
    assert statuses(people) == {"completed"}


def test_a_lost_convert_answer_leaves_the_runs_done_with_the_conversion(world: World) -> None:
    people = [PEOPLE["owned"], PEOPLE["qualified"]]
    start(world, 'create opportunity "{{Company}} - Demo"', people)
    before = {e: world.leads(e)[0]["Id"] for e in people}
    world.proxy.add(Rule("lose", converts))
    sup.run()
    assert world.proxy.count(converts) == 1  # read back, not converted again
    for email in people:
        [lead] = world.soql(
            "SELECT IsConverted, ConvertedContactId, ConvertedOpportunityId FROM Lead "
            f"WHERE Id = '{before[email]}'"
        )
        assert lead["IsConverted"] is True
        shown = sup.contact(email)
        assert shown["runs"][0]["status"] == "completed"
        assert shown["salesforce"]["type"] == "Contact"
        assert shown["salesforce"]["id"][:15] == lead["ConvertedContactId"][:15]
        opportunities = world.soql(
            f"SELECT Id FROM Opportunity WHERE Id = '{lead['ConvertedOpportunityId']}'"
        )
        assert len(opportunities) == 1
        assert all(outcome != "failed" for outcome, _ in sup.feed(email))


def test_never_sent_and_maybe_applied_are_told_apart() -> None:
    """A refused connection sent nothing (a write may simply go again); a read timeout
    may follow a save."""
    with pytest.raises(requests.RequestException) as refused:
        requests.post("https://127.0.0.1:1/x", timeout=(2, 2))
    problem = classify(refused.value)
    assert isinstance(problem, TransientError)
    assert problem.maybe_applied is False
    timeout = classify(requests.ReadTimeout("read timed out"))
    assert isinstance(timeout, TransientError)
    assert (timeout.code, timeout.maybe_applied) == ("READ_TIMEOUT", True)
    dropped = classify(requests.ConnectionError("Connection aborted."))
    assert isinstance(dropped, TransientError)
    assert dropped.maybe_applied is True
