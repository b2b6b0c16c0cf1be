"""``journey worker`` as a user runs it, on the embedded org and on a standalone emulated org,
both seeded with records the tool did not create: it runs the sync on its schedule and the
journeys on the real clock in one process, it is the one process serving the embedded org
(the others are told so, exit 2), commands that only touch the store keep working beside
it, and it stops within seconds of SIGTERM (exit 0) or SIGINT (exit 130), even mid-pass.

Timeouts here are upper bounds that keep a broken build from hanging, never measurements."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from simple_salesforce.api import SFType

from tests.cli import actions_support as sup
from tests.existing_org import PEOPLE, existing_seed

GREET = """journey "Greet"

trigger added to list "Salesforce Leads"

update field "Nurture Stage" to "Greeted"
"""
PROMOTE = """journey "Promote"

trigger added to list "Promote"

add to list "Salesforce Leads"
"""
#: Upper bound for anything the worker is waiting on in these tests (a guard, not a timing).
BOUND = 120.0


def write_project(root: Path, journeys: dict[str, str], salesforce: str = "") -> Path:
    (root / "journeys").mkdir(parents=True, exist_ok=True)
    for name, text in journeys.items():
        (root / "journeys" / f"{name}.journey").write_text(text)
    (root / "salesforce-seed.json").write_text(json.dumps(existing_seed()))
    (root / "journey.toml").write_text(
        f'[salesforce]\nseed = "salesforce-seed.json"\n{salesforce}\n'
        '[fields]\n"Nurture Stage" = "Text"\n'
    )
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = write_project(tmp_path, {"greet": GREET, "promote": PROMOTE})
    monkeypatch.chdir(root)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOURNEY_CONNECTOR", raising=False)
    return root


class Worker:
    """``journey worker --json`` in a subprocess; its lines read by a thread, so a test
    waits for a line with an upper bound instead of blocking on the pipe."""

    def __init__(self, root: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [str(sup.JOURNEY_BIN), "worker", "--json", *args],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.errors: list[str] = []
        self._readers = [
            threading.Thread(target=target, daemon=True)
            for target in (self._read, self._read_errors)
        ]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self.lines.put(json.loads(line))

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.errors.append(line)

    def next(self, kind: str) -> dict[str, Any]:
        """The next line of this kind ("sync" or "pass")."""
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, "".join(self.errors)
                continue
            if line["kind"] == kind:
                return line
        raise AssertionError(f"no {kind} line within {BOUND} s")

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send ``signum``; the exit code, which must come within 10 s."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=10)
        for reader in self._readers:  # what it printed last is read in full
            reader.join(timeout=10)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def start() -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start_worker(*args: str, root: Path | None = None) -> Worker:
        worker = Worker(root or Path.cwd(), *args)
        started.append(worker)
        return worker

    yield start_worker
    for worker in started:
        worker.close()


def until(check: Callable[[], bool]) -> None:
    """Poll ``check`` (a store read beside the running worker) up to the bound."""
    deadline = time.monotonic() + BOUND
    while not check():
        assert time.monotonic() < deadline, "not within the bound"
        time.sleep(0.2)


def field(email: str, name: str) -> str | None:
    value: str | None = sup.contact(email)["fields"].get(name)
    return value


# --------------------------------------------------------------------------- the sync


def test_the_worker_syncs_first_then_runs_the_journeys(project: Path) -> None:
    out = sup.journey("worker", "--exit-when-idle", "--poll", "0.01", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["kind"] == "sync"  # first: the journeys decide on fresh data
    assert lines[0]["full_reads"] == ["Account", "Lead", "Contact", "CampaignMember"]
    assert lines[0]["stopped"] is None
    passes = [line for line in lines if line["kind"] == "pass"]
    # The org's unconverted Leads with an email joined "Salesforce Leads" and were greeted.
    assert sum(p["entered"] for p in passes) >= 4
    for who in ("owned", "queued", "qualified"):
        assert field(PEOPLE[who], "Nurture Stage") == "Greeted"
    assert field(PEOPLE["owned"], "Lead Status") == "Working - Contacted"


def test_the_worker_runs_events_on_the_real_clock_without_the_sync(project: Path) -> None:
    (project / "journeys" / "instant.journey").write_text(
        'journey "Instant"\ntrigger form submitted "Now"\nupdate field "Rating" to "Warm"\n'
    )
    sup.journey("event", "form-submitted", "Now", "--email", "now@x.example")
    out = sup.journey("worker", "--exit-when-idle", "--no-sync", "--poll", "0.01", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["kind"] for line in lines} == {"pass"}
    assert sum(p["entered"] for p in lines) == 1
    assert [r["status"] for r in sup.contact("now@x.example")["runs"]] == ["completed"]


def test_the_sync_runs_on_its_schedule_beside_the_journeys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: Callable[..., Worker]
) -> None:
    """A standalone org changed by someone else while the worker runs: the worker's next
    cycle ([sync] every) brings the change in, and a journey acts on the fresh value."""
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    with sup.standalone_emulator(tmp_path / "org", existing_seed()) as org:
        settings = org.settings() + '\n[sync]\nevery = "1s"\n'
        root = write_project(tmp_path / "project", {"greet": GREET}, settings)
        monkeypatch.chdir(root)
        monkeypatch.setenv("SF_SESSION", org.session_id)
        worker = start("--poll", "0.1", root=root)
        assert worker.next("sync")["inbound"] > 0
        until(lambda: field(PEOPLE["owned"], "Nurture Stage") == "Greeted")
        [lead] = org.soql(f"SELECT Id FROM Lead WHERE Email = '{PEOPLE['owned']}'")
        leads = cast(SFType, org.client().Lead)
        leads.update(lead["Id"], {"Status": "Qualified"})
        # Reading the store while the worker runs is fine (SQLite in WAL mode).
        until(lambda: field(PEOPLE["owned"], "Lead Status") == "Qualified")
        assert worker.stop() == 0


def test_a_bad_edit_is_reported_and_the_last_good_versions_keep_running(
    project: Path, start: Callable[..., Worker]
) -> None:
    sup.import_contacts(project, [{"Email": "first@new.example"}], list_name="Promote")
    worker = start("--poll", "0.1", "--no-sync")
    worker.next("pass")  # up and running the journeys as they were
    # A typo, then nesting deeper than any compiler follows: both reported, neither fatal.
    (project / "journeys" / "promote.journey").write_text(PROMOTE + "wait 2 fortnights\n")
    until(lambda: any("does not load" in line for line in worker.errors))
    deep = "(" * 3000 + 'field "Email" is empty' + ")" * 3000
    (project / "journeys" / "deep.journey").write_text(
        f'journey "Deep"\ntrigger added to list "Deep"\nif {deep}:\n  exit\n'
    )
    until(lambda: sum("does not load" in line for line in worker.errors) >= 2)
    sup.import_contacts(project, [{"Email": "still@new.example"}], list_name="Promote")
    until(lambda: bool(sup.contact("still@new.example")["salesforce"]["id"]))
    assert worker.process.poll() is None
    assert worker.stop() == 0
    assert not any("Traceback" in line for line in worker.errors)


# --------------------------------------------------------------------------- stopping


def test_sigterm_stops_a_busy_worker_within_seconds_and_nothing_doubles(
    project: Path, start: Callable[..., Worker]
) -> None:
    people = [{"Email": f"p{i}@busy.example", "Company": "Busy"} for i in range(150)]
    sup.import_contacts(project, people, list_name="Promote")
    worker = start("--poll", "0.05", "--batch-size", "3")
    worker.next("sync")  # the pass starts right after the first cycle
    assert worker.stop(signal.SIGTERM) == 0
    # Whatever the stop cut short is picked up by the next run: one Lead each, all done.
    sup.run(time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 60)))
    runs = Counter(sup.contact(p["Email"])["runs"][0]["status"] for p in people)
    assert runs == {"completed": len(people)}
    emails = Counter(r["Email"] for r in sup.query(project, "SELECT Email FROM Lead"))
    assert all(emails[p["Email"]] == 1 for p in people)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_an_idle_worker_stops_at_once(
    project: Path, start: Callable[..., Worker], signum: int, code: int
) -> None:
    worker = start("--poll", "600")  # it would sleep ten minutes between passes
    worker.next("sync")
    worker.next("pass")
    assert worker.stop(signum) == code


def test_a_worker_stuck_on_a_hung_org_still_stops_within_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: Callable[..., Worker]
) -> None:
    """The org answers nothing for a minute: SIGTERM lands while the worker waits on a call,
    and the worker abandons it (the call is reconciled at the next start) rather than wait."""
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    with sup.standalone_emulator(tmp_path / "org", existing_seed()) as org:
        settings = org.settings()
        root = write_project(tmp_path / "project", {"greet": GREET}, settings)
        monkeypatch.chdir(root)
        monkeypatch.setenv("SF_SESSION", org.session_id)
        org.admin({"latency_seconds": 60})
        worker = start("--poll", "0.1", root=root)
        # The runner lock is taken once the org is open; the sync's first call comes next,
        # and waits a minute for its answer. Give it a moment to be in that call.
        until(lambda: (root / ".journey" / "state.db.runner.lock").exists())
        time.sleep(3)
        assert worker.stop() == 0
        assert any("abandoned the work in flight" in line for line in worker.errors)
        assert worker.lines.empty()  # the cycle never ended: it was abandoned, not finished
        org.admin({"clear": True})
        sup.journey("run")  # nothing left locked


# --------------------------------------------------------------------------- one org per project


def test_one_process_serves_the_embedded_org(project: Path, start: Callable[..., Worker]) -> None:
    worker = start("--poll", "0.1")
    worker.next("sync")
    pid = worker.process.pid
    refusal = f"the embedded org is in use by a running journey worker (pid {pid})"
    for args in (("run",), ("sync", "--once"), ("worker", "--exit-when-idle")):
        out = sup.journey(*args, code=2)
        assert refusal in out
        assert "Traceback" not in out
    error = json.loads(sup.journey("run", "--json", code=2))["error"]
    assert error["code"] == "in_use"
    assert "the worker already does this work" in error["hint"]
    # A second worker is told how to run several: a real org, a PostgreSQL store.
    second = subprocess.run(
        [str(sup.JOURNEY_BIN), "worker", "--exit-when-idle", "--json"],
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    assert second.returncode == 2
    hint = json.loads(second.stdout)["error"]["hint"]
    assert "connect a real org (`journey salesforce connect`)" in hint
    assert "PostgreSQL" in hint
    # What only touches the store goes on beside it, and the worker takes it from there.
    sup.journey("event", "form-submitted", "Demo", "--email", "walkin@new.example")
    sup.import_contacts(project, [{"Email": "late@new.example"}], list_name="Promote")
    assert sup.as_json("status")["journeys"]
    until(lambda: bool(sup.contact("late@new.example")["salesforce"]["id"]))
    assert worker.stop() == 0
    # Stopped: the org is free again.
    sup.journey("sync", "--once")


def test_a_killed_worker_leaves_no_lock_behind(project: Path, start: Callable[..., Worker]) -> None:
    worker = start("--poll", "0.1")
    worker.next("sync")
    assert worker.stop(signal.SIGKILL) == -signal.SIGKILL
    sup.journey("run", "--until-idle")  # the kernel released the locks with the process


def test_a_second_worker_on_a_sqlite_store_is_refused_with_the_way_to_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: Callable[..., Worker]
) -> None:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    with sup.standalone_emulator(tmp_path / "org", existing_seed()) as org:
        settings = org.settings()
        root = write_project(tmp_path / "project", {"greet": GREET}, settings)
        monkeypatch.chdir(root)
        monkeypatch.setenv("SF_SESSION", org.session_id)
        first = start("--poll", "0.1", root=root)
        first.next("sync")
        out = sup.journey("worker", "--exit-when-idle", code=2)
        assert f"is in use by a running journey worker (pid {first.process.pid})" in out
        assert "one process works the runs of a SQLite store" in out
        assert "PostgreSQL" in out
        assert "[store] url" in out
        assert "Traceback" not in out
        assert "in use by a running journey worker" in sup.journey("run", code=2)
        assert first.stop() == 0
