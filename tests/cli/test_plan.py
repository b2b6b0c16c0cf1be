"""``journey plan`` and ``journey publish [--migrate]`` on a live journey: contacts waiting
on steps that an edit keeps, changes, renames and removes, in a real SQLite store, through
the ``journey`` command; and the worker's republishing, which never moves a run."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

from journey.cli.main import app
from journey.connectors.recording import JournalingConnector
from journey.engine.project import open_project
from journey.engine.store import Contact, Run, open_store
from journey.engine.worker import Worker

T0 = "2026-03-02T09:00:00+00:00"

#: Four tiers wait at four labelled waits.
V1 = """journey "Nurture"
trigger added to list "Leads"

if field "Tier" is "Gold":
    step keep
    wait 2 days
else if field "Tier" is "Silver":
    step slow
    wait 3 days
else if field "Tier" is "Bronze":
    step old_name
    wait 4 days
else:
    step gone
    wait 1 day
update field "Stage" to "done"
"""

#: ``keep`` as it was, ``slow`` waits longer, ``old_name`` is renamed ``new_name``, the
#: ``else`` (and ``gone`` with it) is removed, and a Salesforce task is added at the end.
V2 = """journey "Nurture"
trigger added to list "Leads"

if field "Tier" is "Gold":
    step keep
    wait 2 days
else if field "Tier" is "Silver":
    step slow
    wait 5 days
else if field "Tier" is "Bronze":
    step new_name
    wait 4 days
update field "Stage" to "done"
add task "Call {{Email}}" due in 1 day
"""

PEOPLE = (
    "Email,Tier\n"
    "g1@acme.example,Gold\ng2@acme.example,Gold\n"
    "s1@acme.example,Silver\n"
    "b1@acme.example,Bronze\nb2@acme.example,Bronze\nb3@acme.example,Bronze\n"
    "n1@acme.example,None\n"
)


def journey(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    assert "Traceback" not in result.output
    return result.stdout


def as_json(*args: str) -> Any:
    return json.loads(journey(*args, "--json"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str) -> Path:
    """A project whose seven contacts wait in version 1 of "Nurture" (on each kind of
    store); the file now holds version 2."""
    (tmp_path / "journeys").mkdir()
    path = tmp_path / "journeys" / "nurture.journey"
    path.write_text(V1)
    (tmp_path / "journey.toml").write_text('[fields]\n"Tier" = "Text"\n"Stage" = "Text"\n')
    (tmp_path / "people.csv").write_text(PEOPLE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOURNEY_DATABASE_URL", store_url)
    monkeypatch.setenv("JOURNEY_CONNECTOR", "recording")
    journey("contacts", "import", "people.csv", "--list", "Leads", "--now", T0)
    journey("run", "--until-idle", "--now", T0)
    path.write_text(V2)
    return tmp_path


def runs(project: Path) -> dict[str, tuple[str, str, str, datetime]]:
    """email -> (version, step, status, next_due) of each contact's run."""
    store = open_store(os.environ["JOURNEY_DATABASE_URL"])
    r, c = Run, Contact
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.c.email, r.c.version, r.c.step_id, r.c.status, r.c.next_due).join(
                    c, c.c.id == r.c.contact_id
                )
            ).all()
    finally:
        store.close()
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


def test_plan_counts_the_runs_on_each_step_and_says_what_becomes_of_them(
    project: Path,
) -> None:
    plan = as_json("plan")
    assert plan["base"] == "store"
    assert plan["changes"] is True
    (nurture,) = plan["journeys"]
    assert nurture["change"] == "changed"
    steps = {s["step_id"]: (s["change"], s["before"], s["after"]) for s in nurture["steps"]}
    assert steps["slow"] == ("changed", "wait 3 days", "wait 5 days")
    assert steps["old_name"] == ("removed", "wait 4 days", None)
    assert steps["new_name"] == ("added", None, "wait 4 days")
    assert steps["gone"][0] == "removed"
    assert "keep" not in steps  # kept as it was
    fates = {g["step_id"]: (g["runs"], g["status"], g["migrate_to"]) for g in nurture["runs"]}
    assert fates == {
        "keep": (2, "waiting", "keep"),
        "slow": (1, "waiting", "slow"),
        "old_name": (3, "waiting", None),
        "gone": (1, "waiting", None),
    }
    reasons = {g["step_id"]: g["reason"] for g in nurture["runs"]}
    assert reasons["old_name"] == 'the new version has no step labelled "old_name"'
    assert (nurture["migrating"], nurture["staying"]) == (3, 4)
    assert nurture["salesforce_actions"] == ['add task "Call {{Email}}" due in 1 day']


def test_plan_text_and_markdown(project: Path, snapshot: SnapshotAssertion) -> None:
    version = as_json("plan")["journeys"][0]
    before, after = version["before"][:8], version["after"][:8]
    text = journey("plan").replace(before, "OLD").replace(after, "NEW")
    markdown = journey("plan", "--markdown").replace(before, "OLD").replace(after, "NEW")
    assert text == snapshot(name="text")
    assert markdown == snapshot(name="markdown")
    assert '3 waiting at "old_name"' in text
    assert "| `old_name` | removed | `wait 4 days` |  | 3 |" in markdown


def test_publish_without_migrate_leaves_every_run_on_its_version(project: Path) -> None:
    before = runs(project)
    journey("publish", "--now", T0)
    assert runs(project) == before
    after = as_json("plan")
    assert after["changes"] is False
    (nurture,) = after["journeys"]
    assert nurture["change"] == "unchanged"
    assert nurture["migrating"] == 3  # --migrate can still move them later
    journey("run", "--until-idle", "--now", "2026-03-05T09:00:00+00:00")
    ended = {email: status for email, (_, _, status, _) in runs(project).items()}
    assert ended["g1@acme.example"] == "completed"  # the old version ran to its end


def test_publish_migrate_moves_the_runs_plan_shows_and_they_go_on_from_there(
    project: Path,
) -> None:
    planned = as_json("plan")["journeys"][0]
    old, new = planned["before"], planned["after"]
    done = as_json("publish", "--migrate", "--now", "2026-03-03T09:00:00+00:00")
    assert done["moved"] == {"Nurture": 3}
    now = runs(project)
    assert now["g1@acme.example"][:3] == (new, "keep", "waiting")
    assert now["s1@acme.example"][:3] == (new, "slow", "waiting")
    assert now["s1@acme.example"][3] == datetime(2026, 3, 7, 9, tzinfo=UTC)  # T0 + 5 days
    assert now["b1@acme.example"][:2] == (old, "old_name")  # renamed: no such label
    assert now["n1@acme.example"][:2] == (old, "gone")  # removed
    feed = as_json("contact", "g1@acme.example")
    moved = [a for a in feed["activity"] if a["kind"] == "migrate"]
    assert len(moved) == 1
    assert "journey publish --migrate" in moved[0]["detail"]
    assert moved[0]["step"] == "keep"
    (status,) = as_json("status")["journeys"]
    keep = next(s for s in status["steps"] if s["step"] == "keep")
    assert (keep["entered"], keep["waiting"]) == (2, 2)  # a move is not an entry
    # Gold continues on the new version: its new last step (a Salesforce task) is taken.
    journey("run", "--until-idle", "--now", "2026-03-04T10:00:00+00:00")
    gold = runs(project)["g1@acme.example"]
    assert gold[2] == "completed"
    with closing(sqlite3.connect(project / ".journey" / "recorder.db")) as journal:
        assert journal.execute("SELECT COUNT(*) FROM applied").fetchone()[0] == 2
    # The renamed step's runs finish version 1, which has no task.
    journey("run", "--until-idle", "--now", "2026-03-06T10:00:00+00:00")
    assert runs(project)["b1@acme.example"][2] == "completed"
    assert as_json("plan")["journeys"][0]["migrating"] == 0


def test_a_workers_republishing_publishes_without_moving_a_run(project: Path) -> None:
    (project / "journeys" / "nurture.journey").write_text(V1)
    moment = datetime(2026, 3, 2, 10, tzinfo=UTC)
    opened = open_project(project, connector=JournalingConnector(keep_log=False), now=moment)
    try:
        (project / "journeys" / "nurture.journey").write_text(V2)
        before = runs(project)
        assert opened.reload_journeys(moment)
        worker = Worker(opened, threading.Event(), clock=lambda: moment)
        worker.run(_Quiet(), exit_when_idle=True)
    finally:
        opened.close()
    assert runs(project) == before
    plan = as_json("plan")
    assert plan["changes"] is False  # the worker published version 2
    assert plan["journeys"][0]["migrating"] == 3  # and moved nobody


class _Quiet:
    def passed(self, report: object) -> None: ...
    def synced(self, summary: object) -> None: ...
    def published(self) -> None: ...
    def refused(self, problem: str) -> None: ...


def test_plan_of_a_project_without_a_store_shows_every_journey_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "n.journey").write_text(V1)
    (tmp_path / "journey.toml").write_text('[fields]\n"Tier" = "Text"\n"Stage" = "Text"\n')
    monkeypatch.chdir(tmp_path)
    plan = as_json("plan")
    assert [(j["name"], j["change"]) for j in plan["journeys"]] == [("Nurture", "added")]
    assert not (tmp_path / ".journey").exists()  # plan never creates the store


def test_plan_refuses_a_journey_that_does_not_compile(project: Path) -> None:
    (project / "journeys" / "broken.journey").write_text('journey "B"\nwait 2 dayz\n')
    result = CliRunner().invoke(app, ["plan"])
    assert result.exit_code == 2
    assert "broken.journey:2:" in result.output
