"""Failed runs are recoverable, as a user meets it on the embedded org and on a standalone
emulated org, both seeded with records the tool did not create: a step Salesforce refuses
fails the runs, ``journey status JOURNEY`` says who failed where and why, the cause is fixed
in the org, ``journey retry`` puts the runs back and the next ``journey run`` completes
them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce.api import Salesforce

from journey.emulator import EmulatedOrg
from tests.cli import actions_support as sup
from tests.existing_org import PEOPLE, existing_seed

JOURNEY = """journey "No shows"

trigger added to list "Missed"

update field "Nurture Stage" to "Missed the webinar"
set member status "No Show" in campaign "Q4 Webinar"
"""
LATER = "2026-03-02T10:00:00+00:00"
NEW = "newcomer@fresh.example"


def write_project(root: Path, salesforce: str = "") -> Path:
    (root / "journeys").mkdir(parents=True, exist_ok=True)
    (root / "journeys" / "no-shows.journey").write_text(JOURNEY)
    (root / "salesforce-seed.json").write_text(json.dumps(existing_seed()))
    (root / "journey.toml").write_text(
        f'[salesforce]\nseed = "salesforce-seed.json"\n{salesforce}\n'
        '[fields]\n"Nurture Stage" = "Text"\n'
    )
    return root


@contextmanager
def embedded_client(root: Path) -> Iterator[Salesforce]:
    """The embedded org's state served again, after the CLI is done with it."""
    with EmulatedOrg(root / ".journey" / "emulator", None) as org:
        org.start(port=0)
        yield org.client()


@dataclass(frozen=True)
class Org:
    """The org a project acts on, as another client of it (the admin) reaches it."""

    root: Path
    client: Callable[[], AbstractContextManager[Salesforce]]

    def add_member_status(self, label: str) -> None:
        """What the Salesforce admin does: the campaign gets the member status it lacked.
        CampaignMemberStatus supports create() ("One or more member status values defined
        for a campaign", Object Reference: https://developer.salesforce.com/docs/atlas.
        en-us.220.0.api.meta/object_ref/sforce_api_objects_campaignmemberstatus.htm)."""
        with self.client() as client:
            soql = "SELECT Id FROM Campaign WHERE Name = 'Q4 Webinar'"
            [campaign] = client.query(soql)["records"]
            client.CampaignMemberStatus.create({"CampaignId": campaign["Id"], "Label": label})

    def members(self) -> dict[str, str]:
        soql = "SELECT Lead.Email, Contact.Email, Status FROM CampaignMember"
        with self.client() as client:
            rows = [sup.flatten(r) for r in client.query_all(soql)["records"]]
        return {str(r["Lead.Email"] or r["Contact.Email"]): r["Status"] for r in rows}


@pytest.fixture(params=["embedded", "standalone"])
def org(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Org]:
    """The project on the embedded org, or on a standalone emulated org (instance_url);
    both seeded with the records of tests/existing_org.py."""
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "160")
    if request.param == "embedded":
        root = write_project(tmp_path)
        monkeypatch.chdir(root)
        yield Org(root, lambda: embedded_client(root))
        return
    with sup.standalone_emulator(tmp_path / "org", existing_seed()) as remote:
        settings = remote.settings()
        root = write_project(tmp_path / "project", settings)
        monkeypatch.chdir(root)
        monkeypatch.setenv("SF_SESSION", remote.session_id)
        yield Org(root, lambda: nullcontext(remote.client()))


@pytest.fixture
def project(org: Org) -> Path:
    return org.root


def failing(root: Path) -> None:
    """Two people miss the webinar: one a Lead the org already holds (Bob's), one new."""
    sup.import_contacts(root, [{"Email": PEOPLE["owned"]}, {"Email": NEW}], list_name="Missed")
    report = sup.run(code=1)
    assert report["failed"] == 2


def test_status_names_who_failed_where_and_why(project: Path) -> None:
    failing(project)
    [status] = sup.as_json("status", "No shows")["journeys"]
    failures: list[dict[str, Any]] = status["failures"]
    assert sorted(f["contact"] for f in failures) == sorted([PEOPLE["owned"], NEW])
    for f in failures:
        assert f["step"] == "2"
        assert f["step_text"] == 'set member status "No Show" in campaign "Q4 Webinar"'
        assert f["error"]["code"] == "UNKNOWN_MEMBER_STATUS"
        assert '"No Show"' in f["error"]["message"]
        assert f["failed_at"] == sup.NOW
        assert f["attempts"] == 1
    text = sup.journey("status", "No shows")
    assert "failed runs (2):" in text
    assert f"{PEOPLE['owned']}  [2] set member status" in text
    assert "UNKNOWN_MEMBER_STATUS" in text
    assert 'journey retry "No shows"' in text
    # Without a journey named, the overview stays counts only.
    assert "failures" not in sup.as_json("status")["journeys"][0]


def test_retry_after_the_cause_is_fixed_completes_the_runs(project: Path, org: Org) -> None:
    failing(project)
    org.add_member_status("No Show")
    # One contact first, by email and step: the other stays failed.
    one = sup.as_json("retry", "No shows", "--step", "2", "--contact", NEW, "--now", LATER)
    assert (one["retried"], one["skipped"]) == (1, 0)
    assert sup.run(LATER)["failed"] == 0
    assert [r["status"] for r in sup.contact(NEW)["runs"]] == ["completed"]
    assert [r["status"] for r in sup.contact(PEOPLE["owned"])["runs"]] == ["failed"]
    # Then every failed run of the journey.
    out = sup.journey("retry", "No shows", "--now", LATER)
    assert "1 failed run put back at their failed step, due now" in out
    assert sup.run(LATER)["failed"] == 0
    assert [r["status"] for r in sup.contact(PEOPLE["owned"])["runs"]] == ["completed"]
    assert org.members() == {
        PEOPLE["converted"]: "Registered",  # the seed's member, untouched
        PEOPLE["owned"]: "No Show",
        NEW: "No Show",
    }
    # The feed tells the story: refused, retried by hand, done — the local step ran once.
    feed = sup.contact(PEOPLE["owned"])["activity"]
    kinds = [(a["kind"], a["outcome"]) for a in feed if a["step"] == "2"]
    assert kinds == [("error", "failed"), ("retry", "retried"), ("action", "done")]
    retried = next(a for a in feed if a["kind"] == "retry")
    assert retried["detail"].startswith("retried by hand: back at set member status")
    assert "UNKNOWN_MEMBER_STATUS" in retried["detail"]
    assert sum(a["detail"].startswith("update field") for a in feed) == 1
    assert sup.as_json("status", "No shows")["journeys"][0]["failures"] == []


def test_retry_when_the_cause_is_not_fixed_fails_again_and_counts(project: Path) -> None:
    failing(project)
    assert sup.as_json("retry", "--now", LATER)["retried"] == 2  # every journey
    assert sup.run(LATER, code=1)["failed"] == 2
    failures = sup.as_json("status", "No shows")["journeys"][0]["failures"]
    assert {f["failed_at"] for f in failures} == {LATER}
    assert {f["attempts"] for f in failures} == {1}  # counted since the hand retry


def test_retry_refuses_what_does_not_exist_and_says_when_nothing_matched(
    project: Path, org: Org
) -> None:
    failing(project)
    org.add_member_status("No Show")
    nothing = sup.journey("retry", "No shows", "--step", "1", code=1)
    assert "0 failed runs put back" in nothing
    unknown = [
        (("retry", "Nope"), 'no published journey is named "Nope"'),
        (("retry", "No shows", "--step", "9"), "\"No shows\" has no step '9'"),
        (("retry", "--step", "2"), "--step needs the journey"),
        (("retry", "--contact", "nobody@x.example"), "no contact has the email"),
    ]
    for args, message in unknown:
        assert message in sup.journey(*args, code=2)
    # Nothing was retried by the refusals.
    failures = sup.as_json("status", "No shows")["journeys"][0]["failures"]
    assert len(failures) == 2
