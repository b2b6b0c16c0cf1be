"""A form posted to the intake while ``journey worker`` runs: the journey that listens to the
form takes the contact on the worker's next pass (woken by the post's event: a notification
on PostgreSQL, the watched inbox on SQLite; bench/intake.py measures how soon), on SQLite and
on PostgreSQL, with the embedded org seeded with records
the tool did not create. The bound below only guards against a hang; it is not a timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from journey.engine.project import Project, open_project
from journey.engine.status import contact_report
from journey.serve.intake import FormIntake
from tests.existing_org import existing_seed
from tests.serve.intake_support import BOUND, TOML, served, write_project

JOURNEY_BIN = Path(sys.executable).with_name("journey")
DEMO = """journey "Demo follow-up"

trigger form submitted "Demo request"

update field "Nurture Stage" to "Requested"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str) -> Iterator[Project]:
    monkeypatch.setenv("JOURNEY_DATABASE_URL", store_url)
    monkeypatch.delenv("JOURNEY_CONNECTOR", raising=False)
    (tmp_path / "salesforce-seed.json").write_text(json.dumps(existing_seed()))
    toml = f'[salesforce]\nseed = "salesforce-seed.json"\n\n{TOML}'
    opened = open_project(write_project(tmp_path, toml, {"demo": DEMO}), with_journeys=False)
    yield opened
    opened.close()


@pytest.fixture
def worker(project: Project) -> Iterator[subprocess.Popen[str]]:
    """``journey worker --json``, once its first sync cycle is done (journeys published)."""
    process = subprocess.Popen(
        [str(JOURNEY_BIN), "worker", "--json"],
        cwd=project.config.root,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    synced = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("{") and json.loads(line)["kind"] == "sync":
                synced.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert synced.wait(BOUND), "the worker did not finish its first sync cycle"
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=BOUND)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_a_posted_form_starts_its_journey_on_the_workers_next_pass(
    project: Project, worker: subprocess.Popen[str]
) -> None:
    with served(FormIntake(project)) as url:
        body = {"email": "ivy@initech.example", "first_name": "Ivy", "company": "Initech"}
        answer = requests.post(f"{url}/forms/Demo request", data=body)
        assert answer.status_code == 202
        posted = time.monotonic()
        while True:
            report = contact_report(project.store, "ivy@initech.example")
            assert report is not None
            if report.fields.get("Nurture Stage") == "Requested":
                break
            assert worker.poll() is None, "the worker stopped"
            assert time.monotonic() - posted < BOUND, "the journey never took the contact"
            time.sleep(0.05)
    assert [(r["journey"], r["status"]) for r in report.runs] == [("Demo follow-up", "completed")]
