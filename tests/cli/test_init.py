"""`journey init`: a new project that checks, runs on the embedded emulated org, and is
never written over a user's files by accident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

from journey.cli.main import app
from journey.emulator import EmulatedOrg

FILES = [".gitignore", "journey.toml", "journeys/welcome.journey", "salesforce-seed.json"]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOURNEY_CONNECTOR", raising=False)
    return tmp_path


def journey(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def test_init_writes_a_project_that_checks_cleanly(
    folder: Path, snapshot: SnapshotAssertion
) -> None:
    assert journey("init") == snapshot
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == FILES
    assert ".journey/" in (folder / ".gitignore").read_text().splitlines()
    # No error and no warning: the journey's group, segment and campaign are all declared
    # in the scaffold (journey.toml and the seed), and it is laid out as `fmt` would.
    assert journey("check", "journeys/").strip() == "checked 1 journey: 0 error(s), 0 warning(s)"
    journey("fmt", "--check", "journeys/")


def test_the_scaffolded_journey_runs_on_the_embedded_org(folder: Path) -> None:
    journey("init")
    fields = ["--field", "First Name=Ada", "--field", "Company=Analytical", "--field", "Rating=Hot"]
    journey("event", "form-submitted", "Contact us", "--email", "ada@example.org", *fields)
    (folder / "people.csv").write_text("Email,First Name,Company\nbob@example.org,Bob,Bobco\n")
    journey("contacts", "import", "people.csv", "--list", "Newsletter")
    journey("run", "--until-idle", "--now", "2026-03-02T09:00")
    journey("run", "--until-idle", "--now", "2026-03-05T09:00")  # past `wait 2 days`
    [welcome] = json.loads(journey("status", "--json"))["journeys"]
    assert welcome["runs"] == {"completed": 2}
    assert sum(step["failed"] for step in welcome["steps"]) == 0
    # The actions reached the org: Leads owned in turn by the "Sales team", the hot one's
    # call, the other's notification in the outbox.
    with EmulatedOrg(folder / ".journey" / "emulator") as org:
        sf = org.client()
        leads = sf.query("SELECT Email, Owner.Name FROM Lead ORDER BY Email")["records"]
        tasks = sf.query("SELECT Subject FROM Task")["records"]
    assert {lead["Owner"]["Name"] for lead in leads} == {"Sam Seller", "Robin Rep"}
    assert [t["Subject"] for t in tasks] == ["Call Ada at Analytical"]
    assert len(list((folder / ".journey" / "outbox").glob("*.eml"))) == 1


def test_init_makes_the_folder_and_says_what_it_wrote_as_json(folder: Path) -> None:
    report = json.loads(journey("init", "new/project", "--json"))
    assert report == {"folder": "new/project", "written": FILES}
    assert (folder / "new" / "project" / "journeys" / "welcome.journey").is_file()


def test_init_refuses_to_replace_files_unless_forced(folder: Path) -> None:
    (folder / "journey.toml").write_text("# mine\n")
    output = journey("init", code=2)
    assert (
        "error: journey.toml already exists: not written over\nhint: --force replaces them"
        in output
    )
    # Nothing was written, not even the files that were not in the way.
    assert not (folder / "journeys").exists()
    error = json.loads(journey("init", "--json", code=2))["error"]
    assert error["code"] == "file"
    assert error["message"].startswith("journey.toml already exists")
    assert error["hint"] == "--force replaces them"
    journey("init", "--force")
    assert (folder / "journey.toml").read_text().startswith("# journey.toml")


def test_init_adds_to_an_existing_gitignore(folder: Path) -> None:
    (folder / ".gitignore").write_text("node_modules/\n*.log")
    journey("init")
    assert (folder / ".gitignore").read_text().splitlines()[:2] == ["node_modules/", "*.log"]
    assert ".journey/" in (folder / ".gitignore").read_text().splitlines()
    journey("init", "--force")  # again: the line is not added twice
    assert (folder / ".gitignore").read_text().splitlines().count(".journey/") == 1
