"""Three ``journey worker`` processes on one PostgreSQL store, over 5,000 contacts with
Salesforce actions, while workers are killed with SIGKILL again and again and PostgreSQL
itself restarts once: every contact finishes, the org holds no Lead or Task twice, no
contact gets its notification twice, the round robin stays even, and the sync has one
leader.

Everything is real and out of process, as in production: the workers and the import are
the ``journey`` command; the org is a standalone emulated org (``journey salesforce
emulator``, its own process, over TLS) seeded with records the tool did not create
(``tests/existing_org.py``); PostgreSQL is a server this test starts for itself (the
session's is never restarted); mail goes to the SMTP server of ``tests/smtp_server.py``.
The scenario runs once for the module; each test asserts one thing a user would notice.

SMTP's one limit stands (``connectors/notify/delivery.py``): a worker killed between the
server's ``250`` and the outbox's record of it makes that one message go again, with the
same Message-ID, which receivers deduplicate — so copies are counted per Message-ID, and
repeats are bounded by the kills. Timeouts are upper bounds against a hang, never
measurements.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.cli import actions_support as sup
from tests.conftest import _as_postgres, _free_port, _pg_bin
from tests.existing_org import PEOPLE, existing_seed
from tests.smtp_server import Received, smtp_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CONTACTS = int(os.environ.get("MANY_WORKERS_CONTACTS", "5000"))
WORKERS = 3
KILLS = 4
#: The seeded people who enter too: an owned Lead, a queued one, a Contact.
SEEDED = [PEOPLE["owned"], PEOPLE["queued"], PEOPLE["contact"]]
SDRS = [PEOPLE["ann"], PEOPLE["bob"], PEOPLE["eva"]]
BOUND = 900.0  # seconds: the whole scenario's upper bound against a hang
SMTP_VAR = "JOURNEY_TEST_SMTP"

JOURNEY = """journey "Scale"

trigger added to list "L"

assign lead to group "SDRs" lead source "Web"
add task "Call {{Email}}" due in 1 day assigned to lead owner priority "High"
send notification "Welcome {{Email}}" to "{{Email}}"
"""


@dataclass
class PostgresServer:
    """A PostgreSQL server of this test's own, so it can restart it."""

    data: Path
    port: int
    options: str
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _ctl(self, *args: str) -> None:
        pg_ctl = _pg_bin("pg_ctl")
        assert pg_ctl is not None
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        self._ctl("-o", self.options, "-w", "-l", str(self.log), "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def own_postgres() -> Iterator[PostgresServer]:
    """``initdb`` and ``pg_ctl`` as ``tests/conftest.py`` does, in a folder of our own."""
    initdb = _pg_bin("initdb")
    if not (initdb and _pg_bin("pg_ctl")):
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) are missing on CI")
        pytest.skip("PostgreSQL binaries are not installed")
    root = Path(tempfile.mkdtemp(prefix="journey-pg-many-"))
    sockets = root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres([initdb, "-D", str(root / "data"), "-U", "postgres", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off"
    server = PostgresServer(root / "data", port, options, root / "log")
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop("immediate")
        finally:
            shutil.rmtree(root, ignore_errors=True)


@dataclass
class Outcome:
    """What the scenario left, for the tests to look at."""

    emails: list[str]
    status: dict[str, Any]
    leads: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    seeded_leads: Counter[str]
    mail: list[Received]
    kills: int
    postgres_restarts: int
    exits: list[str] = field(default_factory=list)
    #: ``journey status --json`` taken while the workers ran, with the PIDs of the
    #: workers running then (a killed one may still show alive until its heartbeat ages).
    snapshots: list[tuple[dict[str, Any], set[int]]] = field(default_factory=list)


def _project(root: Path, remote: sup.Standalone) -> None:
    (root / "journeys").mkdir(parents=True)
    (root / "journeys" / "scale.journey").write_text(JOURNEY)
    groups = ", ".join(f'"{u}"' for u in SDRS)
    (root / "journey.toml").write_text(
        f"[salesforce]\n{remote.settings()}\n"
        f'[notifications]\nsmtp_url_env = "{SMTP_VAR}"\nfrom = "journeys@acme.example"\n\n'
        f'[sync]\nevery = "20s"\n\n[groups]\n"SDRs" = [{groups}]\n'
    )


def _journey(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(sup.JOURNEY_BIN), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _status(root: Path, env: dict[str, str]) -> dict[str, Any] | None:
    done = _journey(root, env, "status", "--json")
    if done.returncode != 0:  # the store restarting: asked again later
        return None
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _ended_runs(url: str) -> int | None:
    """Runs that reached their end (``None`` while the store restarts)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM runs WHERE status NOT IN ('active', 'waiting', 'effect')"
            return int(conn.execute(sa.text(query)).scalar_one())
    except sa.exc.OperationalError:
        return None
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    tmp = tmp_path_factory.mktemp("many")
    rng = random.Random(int(os.environ.get("CRASH_SEED", "14")))
    with (
        own_postgres() as postgres,
        sup.standalone_emulator(tmp / "org", existing_seed()) as remote,
        smtp_server(tmp / "smtp") as mail,
    ):
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres") as c:
            c.autocommit = True
            c.execute('CREATE DATABASE "journey"')
        url = f"{postgres.url}/journey"
        root = tmp / "project"
        _project(root, remote)
        env = {k: v for k, v in os.environ.items() if k != "JOURNEY_CONNECTOR"}
        env.update(
            JOURNEY_DATABASE_URL=url,
            SF_SESSION=remote.session_id,
            **{SMTP_VAR: f"smtp://127.0.0.1:{mail.port}"},
        )
        emails = [f"p{n}@scale.example" for n in range(CONTACTS)] + SEEDED
        lines = ["Email,First Name,Last Name,Company"]
        lines += [f"{e},P{n},Person{n},Scale {n % 50}" for n, e in enumerate(emails)]
        (root / "contacts.csv").write_text("\n".join(lines) + "\n")
        imported = _journey(root, env, "contacts", "import", "contacts.csv", "--list", "L")
        assert imported.returncode == 0, imported.stderr

        logs = tmp / "logs"
        logs.mkdir()
        started = 0

        def start() -> subprocess.Popen[bytes]:
            nonlocal started
            started += 1
            with (logs / f"worker{started}.err").open("wb") as err:
                return subprocess.Popen(
                    [str(sup.JOURNEY_BIN), "worker", "--poll", "0.2", "--batch-size", "200"],
                    cwd=root,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )

        result = Outcome(emails, {}, [], [], Counter(), [], 0, 0)
        workers = [start() for _ in range(WORKERS)]
        deadline = time.monotonic() + BOUND
        chaos_at = time.monotonic() + rng.uniform(3, 6)
        looked_at = time.monotonic()
        try:
            while True:
                assert time.monotonic() < deadline, "the workers did not finish in time"
                for index, worker in enumerate(workers):
                    if worker.poll() is not None:  # stopped by itself (the store restarting)
                        result.exits.append(f"a worker exited {worker.returncode}")
                        workers[index] = start()
                chaos_left = result.kills < KILLS or not result.postgres_restarts
                if chaos_left and time.monotonic() >= chaos_at:
                    if result.kills == KILLS // 2 and not result.postgres_restarts:
                        postgres.restart()
                        result.postgres_restarts += 1
                    else:
                        victim = rng.randrange(WORKERS)
                        workers[victim].send_signal(signal.SIGKILL)
                        workers[victim].wait(timeout=60)
                        result.kills += 1
                        workers[victim] = start()
                    chaos_at = time.monotonic() + rng.uniform(2, 5)
                if time.monotonic() - looked_at > 15:
                    looked_at = time.monotonic()
                    snapshot = _status(root, env)
                    if snapshot is not None:
                        result.snapshots.append((snapshot, {w.pid for w in workers}))
                if not chaos_left and (_ended_runs(url) or 0) >= len(emails):
                    break
                time.sleep(0.5)
            # Quiet for a moment: one more look at the workers, then stop them.
            snapshot = _status(root, env)
            if snapshot is not None:
                result.snapshots.append((snapshot, {w.pid for w in workers}))
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        final = _status(root, env)
        assert final is not None
        result.status = final
        result.leads = remote.soql("SELECT Id, Email, OwnerId FROM Lead WHERE Email != null")
        result.tasks = remote.soql("SELECT Id, WhoId, Subject FROM Task")
        seeded = [lead["Email"].casefold() for lead in existing_seed()["Lead"] if "Email" in lead]
        result.seeded_leads = Counter(seeded)
        result.mail = list(mail.received)
        print(
            f"\n{len(emails)} contacts, {result.kills} kills, {result.postgres_restarts} "
            f"PostgreSQL restart, {started} workers started, {len(result.mail)} deliveries, "
            f"exits: {result.exits}"
        )
        yield result


def test_every_contact_finishes(outcome: Outcome) -> None:
    assert outcome.kills == KILLS
    assert outcome.postgres_restarts == 1
    [scale] = [j for j in outcome.status["journeys"] if j["journey"] == "Scale"]
    assert scale["runs"] == {"completed": len(outcome.emails)}


def test_no_lead_or_task_twice(outcome: Outcome) -> None:
    by_email = Counter(str(lead["Email"]).casefold() for lead in outcome.leads)
    ours = [e for e in outcome.emails if e.endswith("@scale.example")]
    assert {by_email[e] for e in ours} == {1}
    # The org's own Leads are there as they were: none created again, none doubled.
    assert {e: by_email[e] for e in outcome.seeded_leads} == dict(outcome.seeded_leads)
    calls = [t for t in outcome.tasks if str(t["Subject"]).startswith("Call ")]
    assert len(calls) == len(outcome.emails)
    assert Counter(t["Subject"] for t in calls).most_common(1)[0][1] == 1
    assert len({t["WhoId"] for t in calls}) == len(outcome.emails)


def test_no_notification_twice(outcome: Outcome) -> None:
    per_recipient: dict[str, set[str]] = {}
    per_subject: dict[tuple[str, str], set[str]] = {}
    for message in outcome.mail:
        per_recipient.setdefault(message.recipients[0], set()).add(message.message_id)
        per_subject.setdefault((message.recipients[0], message.subject), set()).add(
            message.message_id
        )
    assert sorted(per_recipient) == sorted(outcome.emails)
    assert {len(ids) for ids in per_recipient.values()} == {1}
    assert {len(ids) for ids in per_subject.values()} == {1}
    # Only a kill between the server's 250 and the outbox's record repeats a message.
    repeats = sum(n - 1 for n in Counter(m.message_id for m in outcome.mail).values())
    assert repeats <= outcome.kills


def test_round_robin_counts_differ_by_at_most_one(outcome: Outcome) -> None:
    owners = {lead["OwnerId"] for lead in outcome.leads}
    assigned = {
        str(lead["Email"]).casefold()
        for lead in outcome.leads
        if str(lead["Email"]).casefold() in set(outcome.emails)
    }
    counts = Counter(
        lead["OwnerId"] for lead in outcome.leads if str(lead["Email"]).casefold() in assigned
    )
    # Every SDR took turns (the Contact among the seeded people is no Lead: skipped).
    assert len(counts) == len(SDRS), (counts, owners)
    assert sum(counts.values()) == len(outcome.emails) - 1
    assert max(counts.values()) - min(counts.values()) <= 1, counts


def test_the_sync_has_exactly_one_leader(outcome: Outcome) -> None:
    seen = [(s["workers"], pids) for s, pids in outcome.snapshots if "workers" in s]
    assert seen, "journey status --json never listed the workers"

    def leaders(workers: list[dict[str, Any]], running: set[int]) -> list[dict[str, Any]]:
        return [
            w for w in workers if w["state"] == "alive" and w["leads_sync"] and w["pid"] in running
        ]

    for workers, running in seen:
        assert len(leaders(workers, running)) <= 1, workers
    assert len(leaders(*seen[-1])) == 1, seen[-1]
