"""``journey status`` lists the workers working the store: alive or gone by their heartbeat,
which one leads the sync, what each holds; the same in ``--json``. The registry is written
as running workers write it, on a clock the test holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

from journey.cli import runs
from journey.cli.main import app
from journey.engine import fleet
from journey.engine.store import open_store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def journey(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journey.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setattr(runs, "_now", lambda: NOW)
    return tmp_path


def register(url: str, wid: str, host: str, pid: int, beat_ago: float, leads: bool) -> None:
    store = open_store(url)
    try:
        fleet.register(store, "worker", worker_id=wid, now=NOW - timedelta(minutes=30))
        with store.begin() as conn:
            conn.execute(
                sa.update(fleet.WorkerRow)
                .where(fleet.WorkerRow.c.id == wid)
                .values(
                    host=host,
                    pid=pid,
                    heartbeat_at=NOW - timedelta(seconds=beat_ago),
                    leads_sync=leads,
                )
            )
    finally:
        store.close()


def test_status_lists_the_workers_and_the_sync_leader(
    project: Path, snapshot: SnapshotAssertion
) -> None:
    url = f"sqlite:///{project / '.journey' / 'state.db'}"
    open_store(url).close()
    assert "Workers: none running (`journey worker` starts one)" in journey("status")
    register(url, "web-1:4101:a1b2c3", "web-1", 4101, 2, leads=True)
    register(url, "web-2:977:d4e5f6", "web-2", 977, 4, leads=False)
    # Killed 40 s ago while it led the sync: gone, and its lock died with it.
    register(url, "web-2:880:0a0b0c", "web-2", 880, 40, leads=True)
    text = journey("status")
    assert text == snapshot
    data = json.loads(journey("status", "--json"))
    assert data["sync_leader"] == "web-1:4101:a1b2c3"
    assert [(w["id"], w["state"], w["leads_sync"], w["claimed_runs"]) for w in data["workers"]] == [
        ("web-1:4101:a1b2c3", "alive", True, 0),
        ("web-2:880:0a0b0c", "gone", False, 0),
        ("web-2:977:d4e5f6", "alive", False, 0),
    ]
