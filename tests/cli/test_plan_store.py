"""What ``journey plan`` reads from the store and ``journey publish`` writes to it: the
published versions (and how a store from before ``published_journeys`` gets them), a
journey whose file went, the runner lock ``--migrate`` holds, and the rules that decide a
run's fate."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from journey.cli.main import app
from journey.dsl import compile_source
from journey.engine import fleet, migrations
from journey.engine.locks import RunnerLock
from journey.engine.plan import JourneyChange, Plan, StepChange
from journey.engine.plan.diff import fate, step_changes
from journey.engine.plan.migrate import _position
from journey.engine.plan.render import markdown
from journey.engine.store import JourneyVersion, PublishedJourney, open_store
from tests.cli.test_plan import PEOPLE, T0, V1, V2

FIELDS = '[fields]\n"Tier" = "Text"\n"Stage" = "Text"\n'


def journey(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def as_json(*args: str) -> Any:
    return json.loads(journey(*args, "--json"))


def compiled(text: str) -> Any:
    found = compile_source(text, "n.journey", None)[0]
    assert found is not None
    return found


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "nurture.journey").write_text(V1)
    (tmp_path / "journey.toml").write_text(FIELDS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.setenv("JOURNEY_CONNECTOR", "recording")
    return tmp_path


def test_a_store_from_before_published_journeys_gets_each_journeys_latest_version(
    store_url: str,
) -> None:
    revision = migrations._script().get_revision("0013_published_journeys")
    assert revision is not None
    engine = sa.create_engine(store_url)
    migrations.upgrade(engine, str(revision.down_revision))
    first, second = compiled(V1), compiled(V2)
    jv = JourneyVersion
    with engine.begin() as conn:
        conn.execute(
            sa.insert(jv),
            [
                {
                    "version": first.version,
                    "name": "Nurture",
                    "path": "journeys/n.journey",
                    "source": V1,
                    "first_seen": datetime(2026, 1, 1, tzinfo=UTC),
                },
                {
                    "version": second.version,
                    "name": "NURTURE",  # the same journey: names match in any case
                    "path": "journeys/n.journey",
                    "source": V2,
                    "first_seen": datetime(2026, 2, 1, tzinfo=UTC),
                },
            ],
        )
    engine.dispose()
    store = open_store(store_url)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(sa.select(PublishedJourney)).all()
    finally:
        store.close()
    assert [(r.journey_key, r.version) for r in rows] == [("nurture", second.version)]


def test_publishing_a_removed_journey_takes_it_out_and_its_runs_finish(project: Path) -> None:
    (project / "people.csv").write_text(PEOPLE)
    journey("contacts", "import", "people.csv", "--list", "Leads", "--now", T0)
    journey("run", "--until-idle", "--now", T0)
    (project / "journeys" / "nurture.journey").unlink()
    (project / "journeys" / "other.journey").write_text(
        'journey "Other"\ntrigger added to list "Elsewhere"\nwait 1 day\n'
    )
    (nurture, other) = as_json("plan")["journeys"]
    assert (nurture["name"], nurture["change"], other["change"]) == ("Nurture", "removed", "added")
    assert nurture["staying"] == 7
    assert {g["reason"] for g in nurture["runs"]} == {
        "the journey is removed: they finish on their version"
    }
    done = as_json("publish", "--migrate", "--now", T0)
    assert done["moved"] == {}
    assert [j["name"] for j in as_json("plan")["journeys"]] == ["Other"]
    journey("run", "--until-idle", "--now", "2026-03-09T09:00:00+00:00")
    (status,) = as_json("status")["journeys"]
    assert status["journey"] == "Other"


def test_migrate_waits_for_no_runner_it_is_refused_while_one_works_the_store(
    project: Path,
) -> None:
    journey("publish", "--now", T0)
    (project / "journeys" / "nurture.journey").write_text(V2)
    lock = RunnerLock(f"sqlite:///{project / '.journey' / 'state.db'}")
    lock.acquire("worker")
    try:
        output = journey("publish", "--migrate", "--now", T0, code=2)
        assert "in use" in output
        assert as_json("plan")["changes"] is True  # nothing was published
        journey("publish", "--now", T0)  # publishing alone needs no lock
    finally:
        lock.release()
    assert as_json("plan")["changes"] is False


@pytest.mark.postgres
def test_migrate_is_refused_while_a_worker_is_alive_on_a_postgresql_store(
    project: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers take no runner lock on PostgreSQL, and one may hold a run in a batch it has
    not written back: moving that run under it would be undone by its write."""
    monkeypatch.setenv("JOURNEY_DATABASE_URL", postgres_url)
    journey("publish", "--now", T0)
    (project / "journeys" / "nurture.journey").write_text(V2)
    store = open_store(postgres_url)
    try:
        worker = fleet.register(store, "worker", now=datetime.now(UTC))
        output = journey("publish", "--migrate", "--now", T0, code=2)
        assert worker in output
        assert "stop the workers" in output
        assert as_json("plan")["changes"] is True  # nothing was published
        fleet.deregister(store, worker)
        journey("publish", "--migrate", "--now", T0)
    finally:
        store.close()
    assert as_json("plan")["changes"] is False


def test_steps_are_matched_by_label_else_by_position() -> None:
    old, new = compiled(V1), compiled(V2)
    changes = {(c.step_id, c.change) for c in step_changes(old, new)}
    assert changes == {
        ("slow", "changed"),
        ("old_name", "removed"),
        ("new_name", "added"),
        ("gone", "removed"),
        ("3", "added"),
    }


def test_a_runs_fate_follows_its_label() -> None:
    new = compiled(V2)
    assert fate(new, "keep", "waiting") == ("keep", None)
    assert fate(new, "keep", "active") == ("keep", None)
    assert fate(new, "keep", "effect")[0] is None  # an action in flight finishes first
    assert fate(new, "2", "active") == (
        None,
        "step 2 has no label to find it by in the new version",
    )
    assert fate(new, "gone", "waiting")[0] is None
    assert fate(None, "keep", "waiting")[0] is None


def test_a_moved_wait_keeps_its_start_and_a_wait_that_became_an_action_is_due_now() -> None:
    old, new = compiled(V1), compiled(V2)
    now = datetime(2026, 3, 3, 9, tzinfo=UTC)
    due = datetime(2026, 3, 5, 9, tzinfo=UTC)  # began 2026-03-02 09:00 (wait 3 days)
    assert _position(old.steps["slow"], new.steps["slow"], "waiting", due, now) == (
        "waiting",
        due + timedelta(days=2),
    )
    assert _position(old.steps["slow"], new.steps["3"], "waiting", due, now) == ("active", now)
    assert _position(old.steps["slow"], new.steps["slow"], "active", due, now) == ("active", due)


def test_markdown_escapes_a_pipe_in_a_table_cell_only() -> None:
    step = StepChange("1", "added", None, 'add task "a | b"', 3)
    change = JourneyChange(
        "J", "changed", "j.journey", "a" * 16, "b" * 16, (step,), (), ('add task "a | b"',)
    )
    text = markdown(Plan("store", (change,)))
    assert '| `1` | added |  | `add task "a \\| b"` |  |' in text
    assert '- `add task "a | b"`' in text
