"""`journey demo`, the README's first command: the example project end to end on the
embedded emulated org, through the real CLI, the real store and HTTPS to the org."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

from journey.cli.main import app  # the whole command, every command registered
from journey.example import SAMPLE_CONTACTS, example_project

START = "2026-03-02T09:00"


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a new user runs the demo after ``pip install``: any folder, an empty one too
    (the example project ships in the package)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def demo(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["demo", "--at", START, *args])
    return result.exit_code, result.output


def test_demo_takes_the_sample_contacts_through_the_emulated_org(empty_folder: Path) -> None:
    code, output = demo("--json")
    assert code == 0, output
    report = json.loads(output)
    contacts = (example_project() / SAMPLE_CONTACTS).read_text().splitlines()
    assert report["imported"] == len(contacts) - 1
    assert report["connection"].startswith("using the embedded emulated org")
    # Nothing failed, and every journey saw contacts.
    steps = [s for j in report["journeys"] for s in j["steps"]]
    assert sum(s["failed"] for s in steps) == 0
    assert all(j["runs"] for j in report["journeys"])
    org = report["org"]
    seed = json.loads((example_project() / "salesforce-seed.json").read_text())
    sample = {line.split(",")[0].casefold() for line in contacts[1:]}
    seeded_leads = [lead for lead in seed["Lead"] if lead["Email"].casefold() not in sample]
    # Every sample contact (and the form submitter) is a Lead in the org — the two the org
    # already held were linked to theirs, not given a second — beside the seed's others...
    assert len(org["Lead"]) == report["imported"] + 1 + len(seeded_leads)
    # ...and the existing Leads kept what they had: Bob's Lead its owner, both their source.
    assert "existing Lead Katherine Johnson kept its owner Bob Baker" in report["notes"]
    assert (
        "existing Lead Dorothy Vaughan was waiting in a queue: now owned by Jane Doe"
        in report["notes"]
    )
    sources = {lead["Name"]: lead["LeadSource"] for lead in org["Lead"]}
    assert sources["Katherine Johnson"] == sources["Dorothy Vaughan"] == "Partner"
    # ...assigned by round robin over the group's three SDRs, or kept by an explicit owner.
    owners = {lead["Owner.Name"] for lead in org["Lead"]}
    assert {"Ann Archer", "Bob Baker", "Cara Cole"} <= owners
    # The leads the rep qualified were converted: Contact, Account (the seeded Globex
    # reused, not duplicated) and Opportunity.
    converted = [lead for lead in org["Lead"] if lead["IsConverted"]]
    seeded_converted = len(seed["LeadConvert"])
    assert len(converted) == 4 + seeded_converted
    assert len(org["Opportunity"]) == 4
    assert len(org["Contact"]) == 4 + seeded_converted + len(seed["Contact"])
    assert [a["Name"] for a in org["Account"]].count("Globex") == 1
    # The webinar tool's campaign members reached the engine through the sync and moved
    # the webinar journey: one registrant attended and met its goal.
    members = {m["Lead.Name"]: m["Status"] for m in org["CampaignMember"]}
    assert len(members) == 4
    assert members["John Backus"] == "Attended"
    webinar = next(j for j in report["journeys"] if j["journey"] == "Webinar nurture")
    assert webinar["runs"]["goal"] == 1
    assert sum(webinar["runs"].values()) == 4
    # The sync brought every Lead in, and its idle cycles cost one API call each (the
    # first cycle more: a describe of each of the 4 objects, the counts, the reads).
    sync = report["sync"]
    assert sync["inbound"] >= len(org["Lead"])
    assert sync["errors"] == 0
    assert sync["api_calls"] <= sync["cycles"] + 14
    # Batching: the journeys' Salesforce actions used fewer calls than there were actions.
    assert report["api_calls"] - sync["api_calls"] < report["engine"]["effects"]
    assert report["outbox"] > 0


def test_demo_starts_afresh_each_time(empty_folder: Path) -> None:
    first = json.loads(demo("--json")[1])
    second = json.loads(demo("--json")[1])
    assert first["org"] == second["org"]
    assert first["journeys"] == second["journeys"]


def test_demo_text(empty_folder: Path, snapshot: SnapshotAssertion) -> None:
    code, output = demo()
    assert code == 0, output
    assert output.replace(str(empty_folder), "<project>") == snapshot


def test_demo_in_a_project_runs_the_example_and_leaves_the_project_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "journeys").mkdir()
    own = {
        "journey.toml": '[groups]\n"Team" = ["me@example.com"]\n',
        "journeys/own.journey": 'journey "Own"\ntrigger added to list "Mine"\nexit\n',
    }
    for name, text in own.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path / "journeys")  # a subfolder of the project
    code, output = demo("--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["folder"] == "../.journey/demo"  # with the project's other state
    assert (tmp_path / ".journey" / "demo" / "journey.toml").is_file()
    assert "Own" not in {j["journey"] for j in report["journeys"]}
    assert {name: (tmp_path / name).read_text() for name in own} == own
