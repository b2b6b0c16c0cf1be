"""The connector's state shared by several processes on one PostgreSQL store, as several
``journey worker`` processes (on one machine or many) share it: round-robin turns stay
fair and least-recent, the API calls of every process add up to the one daily count and
its cap stops them all, and no notification is handed to the server twice however many
processes try to deliver it — nor when the store drops the connection mid-send.

Each test starts real processes (``tests/connectors/state_process.py``) that open the
store as a worker does and start together on a signal, against real servers: the
session's PostgreSQL, a standalone emulated org over HTTPS, an SMTP server in this
process. Timeouts are upper bounds against a hang, never measurements.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from journey.connectors.salesforce.budget import api_usage
from journey.connectors.salesforce.state import ConnectorState
from journey.engine.store import open_store
from tests.cli import actions_support as sup
from tests.connectors.state_process import NOW, USERS
from tests.existing_org import existing_seed
from tests.smtp_server import smtp_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BOUND = 180
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(postgres_url: str) -> str:
    open_store(postgres_url).close()  # migrated, as any journey command leaves it
    return postgres_url


def run_together(tmp_path: Path, *commands: list[str]) -> list[dict[str, Any]]:
    """Start one process per command, let them all go at once, and collect each one's
    JSON line."""
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.connectors.state_process", c[0], c[1], str(go), *c[2:]],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in commands
    ]
    go.write_text("go")
    answers = []
    for process in processes:
        out, err = process.communicate(timeout=BOUND)
        assert process.returncode == 0, err
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers


def test_round_robin_stays_fair_across_concurrent_processes(store: str, tmp_path: Path) -> None:
    answers = run_together(tmp_path, *[["turns", store, "40"] for _ in range(4)])
    picks = [p for a in answers for p in a["picks"]]
    counts = Counter(picks)
    assert set(counts) == set(USERS)
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    # Least recent first, whoever asked: the turns kept say the same.
    state = ConnectorState(store)
    try:
        assert state.take_turns("SDRs", USERS, 3) == sorted(USERS, key=lambda u: counts[u])
    finally:
        state.close()


def test_a_request_sent_again_after_a_crash_keeps_its_turn(store: str) -> None:
    """The call that took the turns lost its answer (a worker killed): the same requests,
    performed again, get the same owners, and the next request is the next in line."""
    state = ConnectorState(store)
    try:
        keys = ["run1:assign", "run2:assign"]
        state.mark_sent([(k, n, "AssignLeadToGroup") for n, k in enumerate(keys)], NOW)
        first = state.take_turns("SDRs", USERS, 2, keys)
        assert first == USERS[:2]
        assert state.take_turns("SDRs", USERS, 2, keys) == first
        state.mark_sent([("run3:assign", 3, "AssignLeadToGroup")], NOW)
        assert state.take_turns("SDRs", USERS, 1, ["run3:assign"]) == USERS[2:]
    finally:
        state.close()


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[sup.Standalone]:
    with sup.standalone_emulator(tmp_path / "org", existing_seed()) as org:
        yield org


def test_every_process_counts_into_one_daily_figure_and_the_cap_stops_them_all(
    store: str, tmp_path: Path, remote: sup.Standalone
) -> None:
    share = 0.01  # of the org's 15,000 calls a day: a cap of 150
    before = remote.admin({})["api_usage"]["used"]
    args = [remote.instance_url, remote.session_id, remote.ca_file, str(share)]
    answers = run_together(tmp_path, *[["calls", store, *args] for _ in range(3)])
    made = sum(a["made"] for a in answers)
    assert {a["paused"] for a in answers} == {"API_CAP_REACHED"}
    org_used = remote.admin({})["api_usage"]["used"]
    assert org_used - before == made
    state = ConnectorState(store)
    try:
        usage = api_usage(state, share)
    finally:
        state.close()
    # Every call of every process counted once, none lost to another's write.
    assert usage.ours == made
    assert usage.cap == 150
    # Stopped at the cap, passed by at most one call per process (the call each had in
    # flight when another's reached it).
    assert 150 - before <= made <= 150 - before + len(answers), (before, made)
    # The org's figure kept is the last one any process read: the last calls' answers
    # race each other, so it may lag the final count by a call per process.
    assert usage.used is not None
    assert usage.used >= 150 - len(answers)


def test_two_processes_delivering_the_same_letters_send_each_once(
    store: str, tmp_path: Path
) -> None:
    count = 40
    with smtp_server(tmp_path / "smtp", delay=0.01) as server:
        url = f"smtp://127.0.0.1:{server.port}"
        answers = run_together(
            tmp_path,
            *[["letters", store, url, str(count), str(tmp_path / f"out{n}")] for n in range(2)],
        )
        copies = server.by_message_id()
    assert len(copies) == count
    assert set(copies.values()) == {1}, copies
    # Both processes report every letter sent: the one that waited found it done.
    assert [a["outcomes"] for a in answers] == [["sent"] * count] * 2


def test_a_store_that_drops_the_connection_mid_send_never_sends_twice(
    store: str, tmp_path: Path
) -> None:
    """The store ends the sending worker's connection (as a PostgreSQL restart does) while
    the server is taking the message: the outbox still records it sent, on a fresh
    connection, and the next delivery sends nothing again."""
    import psycopg

    from journey.connectors.notify import Outbox
    from tests.connectors.state_process import letter_notifier, letters_for

    state = ConnectorState(store)
    plain = store.replace("+psycopg", "")
    cut: list[int] = []

    def cut_the_holder() -> None:
        deadline = time.monotonic() + BOUND  # a bound against a hang
        with psycopg.connect(plain, autocommit=True) as admin:
            while not cut and time.monotonic() < deadline:
                rows = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'idle in transaction'"
                ).fetchall()
                for (pid,) in rows:
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    cut.append(pid)
                time.sleep(0.01)

    try:
        with smtp_server(tmp_path / "smtp", delay=1.0) as server:
            notifier = letter_notifier(f"smtp://127.0.0.1:{server.port}", tmp_path / "out")
            outbox = Outbox(state.engine)
            [letter] = outbox.intend(letters_for(notifier, 1)).values()
            cutter = threading.Thread(target=cut_the_holder)
            cutter.start()
            first = notifier.deliver(outbox, [letter], NOW)
            cutter.join(BOUND)
            assert cut, "the holding connection was never seen"
            assert [o.status for o in first.values()] == ["sent"]
            [stored] = outbox.load([letter.key]).values()
            assert stored.state == "sent"
            again = notifier.deliver(outbox, [stored], NOW)
            assert [o.status for o in again.values()] == ["sent"]
            assert len(server.received) == 1
    finally:
        state.close()
