"""``journey plan --base REV``: the working tree against the journey files at a git
revision (as a pull request's check compares the branch with ``origin/main``), in a
temporary git repository whose project sits in a subfolder."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from journey.cli.main import app
from tests.cli.test_plan import PEOPLE, T0, V1, V2

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

OTHER = 'journey "Other"\ntrigger added to list "Leads"\nassign lead to "sam@acme.example"\n'
OLD = 'journey "Old"\ntrigger added to list "Leads"\nwait 1 day\n'


def journey(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def plan(*args: str) -> Any:
    return json.loads(journey("plan", "--json", *args))


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with the project in ``crm/`` committed at version 1 of "Nurture" (and
    "Old"); its seven contacts wait in version 1; the working tree holds version 2, drops
    "Old" and adds "Other"."""
    project = tmp_path / "crm"
    journeys = project / "journeys"
    journeys.mkdir(parents=True)
    (journeys / "nurture.journey").write_text(V1)
    (journeys / "old.journey").write_text(OLD)
    (project / "journey.toml").write_text('[fields]\n"Tier" = "Text"\n"Stage" = "Text"\n')
    (project / ".gitignore").write_text(".journey/\npeople.csv\n")
    (project / "people.csv").write_text(PEOPLE)
    git(tmp_path, "init", "-q", ".")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "version 1")
    monkeypatch.chdir(project)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.setenv("JOURNEY_CONNECTOR", "recording")
    journey("contacts", "import", "people.csv", "--list", "Leads", "--now", T0)
    journey("run", "--until-idle", "--now", T0)
    (journeys / "nurture.journey").write_text(V2)
    (journeys / "old.journey").unlink()
    (journeys / "other.journey").write_text(OTHER)
    return tmp_path


def test_plan_against_a_revision_names_what_the_branch_changes(repo: Path) -> None:
    found = plan("--base", "HEAD")
    assert found["base"] == "git:HEAD"
    changes = {j["name"]: j for j in found["journeys"]}
    assert {n: j["change"] for n, j in changes.items()} == {
        "Nurture": "changed",
        "Old": "removed",
        "Other": "added",
    }
    nurture = changes["Nurture"]
    removed = {s["step_id"] for s in nurture["steps"] if s["change"] == "removed"}
    assert removed == {"old_name", "gone"}
    # The runs are the store's: on the version HEAD's file is, counted by step.
    assert {g["step_id"]: g["runs"] for g in nurture["runs"]} == {
        "keep": 2,
        "slow": 1,
        "old_name": 3,
        "gone": 1,
    }
    assert changes["Other"]["salesforce_actions"] == ['assign lead to "sam@acme.example"']
    assert changes["Old"]["path"].endswith("crm/journeys/old.journey")


def test_plan_against_the_revision_of_the_working_tree_changes_nothing(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "version 2")
    found = plan("--base", "HEAD")
    assert found["changes"] is False
    assert plan("--base", "HEAD~1")["changes"] is True
    text = journey("plan", "--base", "HEAD~1")
    assert text.startswith("plan against the journeys at git revision HEAD~1: ")


def test_an_unknown_revision_is_one_clear_error(repo: Path) -> None:
    output = journey("plan", "--base", "no-such-branch", code=2)
    assert "git knows no revision 'no-such-branch'" in output


def test_a_project_outside_git_cannot_be_compared_with_a_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "n.journey").write_text(V1)
    (tmp_path / "journey.toml").write_text('[fields]\n"Tier" = "Text"\n"Stage" = "Text"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    output = journey("plan", "--base", "HEAD", code=2)
    assert "not a git repository" in output
