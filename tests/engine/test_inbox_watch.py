"""On SQLite an idle worker's wait ends when a new inbox event is committed (a form post, an
import), not at the end of its poll; a wait with no new event lasts its poll, and a stop
ends it at once. The bounds only guard against hangs; nothing here is timed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from journey.engine.intake import FormSubmission, submit_forms
from journey.engine.project import open_project
from journey.engine.wakeups import WakeUps

BOUND = 60.0
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_a_committed_form_post_wakes_a_waiting_worker_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journey.toml").write_text(f'[store]\nurl = "{url}"\n')
    project = open_project(tmp_path, with_journeys=False)
    wakeups = WakeUps(url)
    stop = threading.Event()
    try:
        assert wakeups.listen()
        assert not wakeups.wait(0.2, stop)  # nothing new: the wait is the poll

        def post() -> None:
            submit_forms(
                project.store, project.context(NOW), [FormSubmission("Demo", "a@x.example")]
            )

        # An event committed between two waits (the worker busy in a pass) is not lost.
        post()
        assert wakeups.wait(BOUND, stop)
        assert not wakeups.wait(0.2, stop)  # and wakes once
        poster = threading.Timer(0.2, post)
        poster.start()
        assert wakeups.wait(BOUND, stop)
        poster.join()
        stop.set()
        assert not wakeups.wait(BOUND, stop)  # a stop ends the wait at once
    finally:
        wakeups.close()
        project.close()


def test_a_store_file_that_is_not_there_is_not_created_by_watching(tmp_path: Path) -> None:
    wakeups = WakeUps(f"sqlite:///{tmp_path}/none.db")
    stop = threading.Event()
    assert not wakeups.listen()
    assert not wakeups.wait(0.1, stop)
    wakeups.close()
    assert not (tmp_path / "none.db").exists()
