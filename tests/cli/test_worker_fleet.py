"""Many ``journey worker`` processes on one PostgreSQL store, as an operator runs them: exactly
one leads the sync and another takes over when it is killed; a PostgreSQL restart leaves
exactly one leader again; an idle worker polling once a minute wakes at once for a form;
``--processes 2`` starts two (listed by ``journey status``), restarts one killed, and
stops both on SIGTERM; a fleet is refused where it cannot share (SQLite, the embedded org).

Timeouts here are upper bounds that keep a broken build from hanging, never measurements."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from journey.engine.leadership import SYNC_LOCK_KEY, session_name
from tests.cli import actions_support as sup
from tests.cli.test_worker import write_project
from tests.conftest import _as_postgres, _free_port, _pg_bin
from tests.existing_org import existing_seed

BOUND = 120.0
DEMO = """journey "Demo"

trigger form submitted "Demo"

update field "Nurture Stage" to "Greeted"
"""
EVERY_SECOND = '\n[sync]\nevery = "1s"\n'

pytestmark = pytest.mark.postgres


class Proc:
    """A ``journey worker --json`` process (or its supervisor); every line kept."""

    def __init__(self, root: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [str(sup.JOURNEY_BIN), "worker", "--json", *args],
            cwd=root,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, sink), daemon=True)
            for stream, sink in ((self.process.stdout, None), (self.process.stderr, self.errors))
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, sink: list[str] | None) -> None:
        for line in stream:
            if sink is not None:
                sink.append(line)
            elif line.startswith("{"):
                self.lines.append(json.loads(line))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in list(self.lines) if line["kind"] == kind]

    def leads(self) -> bool | None:
        """What it last said of the sync's leadership (``None`` before it said anything)."""
        said = self.of("leader")
        return bool(said[-1]["leads"]) if said else None

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        for reader in self._readers:
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
def start() -> Iterator[Callable[..., Proc]]:
    started: list[Proc] = []

    def start_worker(root: Path, *args: str) -> Proc:
        started.append(Proc(root, *args))
        return started[-1]

    yield start_worker
    for proc in started:
        proc.close()


def until(check: Callable[[], bool], procs: tuple[Proc, ...] = ()) -> None:
    deadline = time.monotonic() + BOUND
    while not check():
        for proc in procs:
            if proc.process.poll() is not None:
                for reader in proc._readers:
                    reader.join(timeout=10)
                raise AssertionError(f"exit {proc.process.returncode}: {''.join(proc.errors)}")
        assert time.monotonic() < deadline, "not within the bound"
        time.sleep(0.2)


def sync_holders(url: str) -> list[str]:
    """The application names of the sessions holding the sync's advisory lock."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT a.application_name FROM pg_locks l "
                        "JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND l.granted AND l.objid::bigint = :lo"
                    ),
                    {"lo": SYNC_LOCK_KEY & 0xFFFFFFFF},
                ).scalars()
            )
    except sa.exc.OperationalError:
        return []
    finally:
        engine.dispose()


def no_tracebacks(*procs: Proc) -> None:
    for proc in procs:
        assert not any("Traceback" in line for line in proc.errors), "".join(proc.errors)


@pytest.fixture
def on_a_standalone_org(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], Path]]:
    """A project on a standalone emulated org whose store is the URL given."""
    with sup.standalone_emulator(tmp_path / "org", existing_seed()) as org:
        monkeypatch.setenv("SF_SESSION", org.session_id)
        monkeypatch.delenv("JOURNEY_CONNECTOR", raising=False)

        def project(url: str) -> Path:
            monkeypatch.setenv("JOURNEY_DATABASE_URL", url)
            # A journey the sync does not trigger: these tests watch the sync's leader,
            # the runs' claims are engine.claims' tests.
            root = write_project(
                tmp_path / "project", {"demo": DEMO}, org.settings() + EVERY_SECOND
            )
            monkeypatch.chdir(root)
            return root

        yield project


def test_exactly_one_worker_leads_the_sync_and_another_takes_over_when_it_is_killed(
    on_a_standalone_org: Callable[[str], Path], start: Callable[..., Proc], postgres_url: str
) -> None:
    root = on_a_standalone_org(postgres_url)
    pair = (start(root, "--poll", "0.2"), start(root, "--poll", "0.2"))
    until(lambda: all(w.leads() is not None for w in pair), pair)
    [leader] = [w for w in pair if w.leads()]
    [follower] = [w for w in pair if not w.leads()]
    until(lambda: len(leader.of("sync")) >= 3, pair)
    assert follower.of("sync") == []  # it runs journeys only
    status = sup.as_json("status")
    assert sorted(w["pid"] for w in status["workers"]) == sorted(w.process.pid for w in pair)
    assert {w["state"] for w in status["workers"]} == {"alive"}
    [led] = [w for w in status["workers"] if w["id"] == status["sync_leader"]]
    assert led["pid"] == leader.process.pid
    leader.process.kill()
    leader.process.wait()
    until(lambda: bool(follower.leads()) and bool(follower.of("sync")), (follower,))
    assert len(sync_holders(postgres_url)) == 1
    assert follower.stop() == 0
    no_tracebacks(*pair)
    assert [w["pid"] for w in sup.as_json("status")["workers"]] == [leader.process.pid]


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, Callable[[], None]]]:
    """A PostgreSQL server of this test alone (a database URL on it, and how to restart
    it), so restarting it disturbs no other test."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL binaries are not installed")
    root = Path(tempfile.mkdtemp(prefix="journey-pg-restart-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off"
    log = str(root / "log")
    subprocess.run(
        _as_postgres([pg_ctl, "-D", str(data), "-o", options, "-w", "-l", log, "start"]),
        check=True,
        capture_output=True,
    )

    def restart() -> None:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "-w", "-l", log, "restart"]),
            check=True,
            capture_output=True,
        )

    name = "t_" + uuid.uuid4().hex[:12]
    try:
        engine = sa.create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}", restart
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def test_after_a_postgresql_restart_exactly_one_worker_leads_again(
    on_a_standalone_org: Callable[[str], Path],
    start: Callable[..., Proc],
    own_postgres: tuple[str, Callable[[], None]],
) -> None:
    url, restart = own_postgres
    root = on_a_standalone_org(url)
    pair = (start(root, "--poll", "0.2"), start(root, "--poll", "0.2"))
    until(lambda: sum(bool(w.leads()) for w in pair) == 1, pair)
    until(lambda: sum(len(w.of("sync")) for w in pair) >= 2, pair)
    before = [len(w.of("sync")) for w in pair]
    restart()  # every session ends, the leader's lock with it

    def one_leader_again() -> bool:
        synced_since = [len(w.of("sync")) - n for w, n in zip(pair, before, strict=True)]
        return (
            sum(bool(w.leads()) for w in pair) == 1
            and len(sync_holders(url)) == 1
            and sum(n >= 2 for n in synced_since) == 1  # cycles again, by one worker
        )

    until(one_leader_again, pair)
    [leader] = [w for w in pair if w.leads()]
    status = sup.as_json("status")
    [led] = [w for w in status["workers"] if w["id"] == status["sync_leader"]]
    assert led["pid"] == leader.process.pid  # status asks the server who holds the lock
    assert sync_holders(url) == [session_name(led["id"])]
    for worker in pair:
        assert worker.stop() == 0
    no_tracebacks(*pair)


def test_an_idle_worker_wakes_at_once_for_a_form_though_it_polls_once_a_minute(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start: Callable[..., Proc],
    postgres_url: str,
) -> None:
    monkeypatch.setenv("JOURNEY_DATABASE_URL", postgres_url)
    monkeypatch.setenv("JOURNEY_CONNECTOR", "recording")
    root = write_project(tmp_path, {"demo": DEMO})
    monkeypatch.chdir(root)
    sup.journey("event", "form-submitted", "Demo", "--email", "first@new.example")
    worker = start(root, "--poll", "60", "--no-sync")
    until(lambda: len(worker.of("pass")) == 1, (worker,))  # the first pass; now it waits
    sup.journey("event", "form-submitted", "Demo", "--email", "second@new.example")
    # Well within the minute the poll would take: the NOTIFY woke it.
    deadline = time.monotonic() + 45.0
    while len(worker.of("pass")) < 2:
        assert time.monotonic() < deadline, "the form did not wake the worker"
        time.sleep(0.1)
    assert sup.contact("second@new.example")["fields"]["Nurture Stage"] == "Greeted"
    assert worker.stop() == 0
    no_tracebacks(worker)


def test_processes_2_starts_two_restarts_a_killed_one_and_sigterm_stops_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start: Callable[..., Proc],
    postgres_url: str,
) -> None:
    monkeypatch.setenv("JOURNEY_DATABASE_URL", postgres_url)
    monkeypatch.setenv("JOURNEY_CONNECTOR", "recording")
    root = write_project(tmp_path, {"demo": DEMO})
    monkeypatch.chdir(root)
    supervisor = start(root, "--processes", "2", "--poll", "0.2", "--no-sync")

    def alive_pids() -> set[int]:
        workers = sup.as_json("status")["workers"]
        return {w["pid"] for w in workers if w["state"] == "alive"}

    until(lambda: len(alive_pids()) == 2, (supervisor,))
    first = alive_pids()
    assert supervisor.process.pid not in first
    assert {w["command"] for w in sup.as_json("status")["workers"]} == {"worker"}
    killed = min(first)
    os.kill(killed, signal.SIGKILL)  # restarted after a short pause
    until(lambda: len(alive_pids() - first) == 1, (supervisor,))
    assert any("died (signal 9)" in line for line in supervisor.errors)
    # The work goes on: a form reaches one of them.
    sup.journey("event", "form-submitted", "Demo", "--email", "fleet@new.example")
    until(
        lambda: sup.contact("fleet@new.example")["fields"].get("Nurture Stage") == "Greeted",
        (supervisor,),
    )
    assert supervisor.stop() == 0
    left = [w for w in sup.as_json("status")["workers"] if w["pid"] != killed]
    assert left == []  # both stopped cleanly and left the registry
    no_tracebacks(supervisor)


def test_a_fleet_is_refused_where_it_cannot_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOURNEY_CONNECTOR", raising=False)
    monkeypatch.chdir(write_project(tmp_path, {"demo": DEMO}))
    out = sup.journey("worker", "--processes", "2", code=2)
    assert "a SQLite store is worked by one process" in out
    assert "PostgreSQL" in out
    assert "[store] url" in out
    monkeypatch.setenv("JOURNEY_DATABASE_URL", postgres_url)
    out = sup.journey("worker", "--processes", "2", code=2)
    assert "the embedded org is served by one process" in out
    assert "journey salesforce connect" in out
