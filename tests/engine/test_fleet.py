"""The fleet's parts on real databases: the registry (a worker is alive while it beats, gone
past the lease, swept later, back when it beats again), sync leadership on PostgreSQL
(exactly one holder, handed over when the leader lets go or its session dies, never
assumed after the session is gone) and wake-ups (a committed NOTIFY wakes a listener, a
rolled-back one does not). Waits have upper bounds that only guard against hangs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from journey.engine import fleet
from journey.engine.leadership import SyncLeadership
from journey.engine.status import fleet_status
from journey.engine.store import Store, open_store
from journey.engine.wakeups import WakeUps, announce_work

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BOUND = 30.0


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def test_a_worker_is_alive_while_it_beats_then_gone_then_swept(store: Store) -> None:
    wid = fleet.register(store, "worker", now=T0)
    [seen] = fleet_status(store, T0 + timedelta(seconds=1))
    assert (seen.id, seen.command, seen.alive, seen.leads_sync) == (wid, "worker", True, False)
    beats: list[int] = []
    leadership = SyncLeadership(store.engine.url.render_as_string(hide_password=False), wid)
    assert leadership.ensure()
    heart = fleet.Heartbeat(
        store, wid, "worker", on_beat=[lambda: beats.append(1)], leads=lambda: leadership.leads
    )
    heart.clock = lambda: T0 + timedelta(seconds=10)
    heart.beat()
    assert beats == [1]  # the callables (lease renewal) run on each beat
    later = T0 + timedelta(seconds=10 + fleet.LEASE_SECONDS - 1)
    [seen] = fleet_status(store, later)
    assert seen.alive
    assert seen.leads_sync
    gone = T0 + timedelta(seconds=11 + fleet.LEASE_SECONDS)
    [seen] = fleet_status(store, gone)
    assert not seen.alive
    assert not seen.leads_sync  # a gone worker's lock died with it
    assert seen.as_dict()["state"] == "gone"
    # Another worker's beat, past the sweep, removes the row; the first one beating again
    # is back in the registry.
    other = fleet.register(store, "worker", now=T0)
    sweeper = fleet.Heartbeat(store, other, "worker")
    sweeper.clock = lambda: T0 + timedelta(seconds=20 + fleet.SWEEP_AFTER_SECONDS)
    sweeper.beat()
    assert [w.id for w in fleet_status(store, sweeper.clock())] == [other]
    heart.clock = sweeper.clock
    heart.beat()
    assert {w.id for w in fleet_status(store, sweeper.clock())} == {wid, other}
    leadership.release()
    fleet.deregister(store, wid)  # a clean stop leaves no row
    assert [w.id for w in fleet_status(store, sweeper.clock())] == [other]


def test_status_counts_claimed_runs_per_worker_when_given_the_counts(store: Store) -> None:
    a = fleet.register(store, "worker", now=T0)
    b = fleet.register(store, "worker", now=T0 + timedelta(seconds=1))
    statuses = fleet_status(store, T0, claimed=lambda _conn: {a: 12})
    assert [(w.id, w.claimed) for w in statuses] == [(a, 12), (b, 0)]


def test_the_heartbeat_thread_beats_and_stops(store: Store) -> None:
    wid = fleet.register(store, "worker", now=T0)
    beaten = threading.Event()
    heart = fleet.Heartbeat(store, wid, "worker", every=0.05, on_beat=[beaten.set])
    heart.start()
    assert beaten.wait(BOUND)
    heart.stop()
    [seen] = fleet_status(store, datetime.now(UTC))
    assert seen.alive


def test_ids_are_unique_and_name_the_host_and_pid() -> None:
    first, second = fleet.new_worker_id(), fleet.new_worker_id()
    assert first != second
    host, pid, _ = first.split(":")
    assert host
    assert int(pid) > 0


# --------------------------------------------------------------------------- leadership


def _holders(url: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        count = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objid::bigint = :lo"
            ),
            {"lo": 0x6A73796E63 & 0xFFFFFFFF},
        ).scalar()
    engine.dispose()
    return int(count or 0)


@pytest.mark.postgres
def test_exactly_one_worker_leads_and_a_follower_takes_over(postgres_url: str) -> None:
    open_store(postgres_url).close()
    first, second = SyncLeadership(postgres_url, "a"), SyncLeadership(postgres_url, "b")
    assert first.ensure()
    assert not second.ensure()
    assert first.ensure()  # re-checked, still held: not taken twice
    assert _holders(postgres_url) == 1
    first.release()
    assert second.ensure()
    assert not first.ensure()
    second.release()
    assert _holders(postgres_url) == 0


@pytest.mark.postgres
def test_a_leader_whose_session_died_never_assumes_it_still_leads(postgres_url: str) -> None:
    """What a PostgreSQL restart does to the leader's session, done to that session alone:
    the leader notices at its next check and takes the lock again from scratch, or yields
    it to the follower that took it first."""
    open_store(postgres_url).close()
    first, second = SyncLeadership(postgres_url, "a"), SyncLeadership(postgres_url, "b")
    assert first.ensure()
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)

    def cut_the_leader() -> None:
        with engine.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'journey worker a'"
                )
            )
            conn.commit()

    cut_the_leader()
    assert second.ensure()  # the lock died with the session: the follower takes it
    assert not first.ensure()  # and the old leader learns it follows
    assert _holders(postgres_url) == 1
    second.release()
    assert first.ensure()  # a new session of its own: it leads again
    cut_the_leader()
    assert first.ensure()  # noticed the dead session, took the free lock again
    assert _holders(postgres_url) == 1
    first.release()
    engine.dispose()


def test_on_sqlite_the_one_worker_leads() -> None:
    assert SyncLeadership("sqlite:///x.db", "a").ensure()


# --------------------------------------------------------------------------- wake-ups


@pytest.mark.postgres
def test_a_committed_notify_wakes_a_listener_and_a_rolled_back_one_does_not(
    postgres_url: str,
) -> None:
    store = open_store(postgres_url)
    wakeups = WakeUps(postgres_url)
    stop = threading.Event()
    try:
        assert wakeups.listen()
        with store.begin() as conn:
            announce_work(conn)
            announce_work(conn)  # folded into one by PostgreSQL
        assert wakeups.wait(BOUND, stop)
        with store.engine.connect() as conn:
            announce_work(conn)
            conn.rollback()
        assert not wakeups.wait(0.5, stop)
        stop.set()
        assert not wakeups.wait(BOUND, stop)  # a stop ends the wait at once
    finally:
        wakeups.close()
        store.close()


def test_on_sqlite_a_wait_is_the_poll() -> None:
    wakeups = WakeUps("sqlite:///x.db")
    assert not wakeups.listen()
    stop = threading.Event()
    stop.set()
    assert not wakeups.wait(BOUND, stop)
