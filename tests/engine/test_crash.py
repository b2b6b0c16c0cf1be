"""Crash safety: SIGKILL a worker at random points, again and again, then prove that no
contact was lost, no step skipped or repeated, and no side effect applied twice.

The side effects are counted outside the engine's store, in the recording connector's own
journal (a separate SQLite file written before ``perform`` returns), so a double
application would show up there even if the engine's own records looked clean.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from journey.connectors.recording import JournalingConnector
from journey.engine.contacts import ContactContext
from journey.engine.intake import import_rows
from journey.engine.project import open_project
from journey.engine.store import Activity, Effect, Run

JOURNEY = """journey "Crash course"
trigger added to list "Batch"
add to list "Salesforce Leads"
update field "Nurture Stage" to "One"
add task "Call {{First Name}}" due in 1 day
if field "Score" > 50:
    update salesforce field "Rating" to "Warm"
else:
    assign lead to group "SDRs" lead status "Working"
send notification "Hi {{Email}}" to "ops@acme.example"
"""
CONTACTS = 3000
EFFECTS_PER_CONTACT = 4  # Salesforce Leads, task, Rating-or-assign, notification
JOURNEY_BIN = str(Path(sys.executable).parent / "journey")


def _applied(journal: Path) -> int:
    """Rows in the recorder's journal so far (read beside the writer: WAL)."""
    if not journal.exists():
        return 0
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM applied").fetchone()[0])
    except sqlite3.OperationalError:  # created but no table yet
        return 0
    finally:
        conn.close()


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_doubles_nothing(tmp_path: Path) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "crash.journey").write_text(JOURNEY)
    (tmp_path / "journey.toml").write_text(
        '[groups]\n"SDRs" = ["ann@acme.example", "bob@acme.example"]\n'
        '[fields]\n"Score" = "Number"\n"Nurture Stage" = "Text"\n'
    )
    project = open_project(tmp_path)
    rows = [
        (i + 2, {"Email": f"c{i}@x.example", "First Name": f"C{i}", "Score": str(i % 100)})
        for i in range(CONTACTS)
    ]
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    import_rows(
        project.store, rows, ContactContext(project.field_types, project.evaluator, now), "Batch"
    )
    project.close()

    rng = random.Random(int(os.environ.get("CRASH_SEED", "4")))
    journal_path = tmp_path / ".journey" / "recorder.db"
    kills = 0
    # The journaling connector, whose journal is independent of the engine: what this test counts.
    env = {**os.environ, "JOURNEY_DATABASE_URL": "", "JOURNEY_CONNECTOR": "recording"}
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and kills < 10:
        worker = subprocess.Popen(
            [JOURNEY_BIN, "worker", "--poll", "0.05", "--exit-when-idle", "--batch-size", "20"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Kill at a random point of the work itself, whatever the machine's speed: once the
        # connector's journal has grown by a random amount, after a random short delay —
        # landing before, inside or after a transaction or a connector call.
        target = _applied(journal_path) + rng.randint(1, 400)
        while worker.poll() is None and _applied(journal_path) < target:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.03))
        if worker.poll() is not None:
            assert worker.returncode == 0
            break  # the worker finished everything by itself
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        kills += 1
    print(f"{kills} SIGKILLs")  # shown with -s
    assert kills >= 3, "the workload finished too fast to be interrupted; raise CONTACTS"
    # Whatever the kills left, one more run finishes the job (reconciling first).
    done = subprocess.run(
        [JOURNEY_BIN, "run", "--until-idle"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr

    project = open_project(tmp_path)
    with project.store.engine.connect() as conn:
        runs = conn.execute(sa.select(Run.c.status)).scalars().all()
        pending = conn.execute(
            sa.select(sa.func.count()).where(Effect.c.status == "pending")
        ).scalar()
        keys = conn.execute(sa.select(Effect.c.key)).scalars().all()
        act = Activity
        per_run = conn.execute(
            sa.select(act.c.run_id, act.c.step_id, sa.func.count())
            .where(act.c.kind != "enter")
            .group_by(act.c.run_id, act.c.step_id)
        ).all()
    # Nothing lost: every contact entered once and completed.
    assert Counter(runs) == {"completed": CONTACTS}
    assert pending == 0
    # No step skipped or repeated: each run has exactly one feed entry per step it took.
    steps_per_run = Counter(run_id for run_id, _, _ in per_run)
    assert set(steps_per_run.values()) == {7}  # 5 actions + the if + the end
    assert all(count == 1 for _, _, count in per_run)
    # Nothing doubled: the connector's own journal saw each key exactly once.
    journal = JournalingConnector(journal=tmp_path / ".journey" / "recorder.db")
    applied = journal.applications()
    journal.close()
    project.close()
    assert len(keys) == CONTACTS * EFFECTS_PER_CONTACT
    assert set(applied) == set(keys)
    assert set(applied.values()) == {1}
