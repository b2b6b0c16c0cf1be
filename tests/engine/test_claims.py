"""Claims on each store: runners take disjoint contacts, wait for a contact another one
holds, take it over once its lease ran out, keep it while they renew, and cannot commit a
batch whose contacts were taken from them. Several runners in separate processes:
``test_claims_processes.py``.

Each runner here has its own store connection and its own journaling connector on one
journal file, as separate workers would; "another worker acts meanwhile" is that runner
called from inside the first one's connector call, between its two transactions. A lease
running out is its ``lease_until`` set in the past, not a wait."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

from journey.connectors.base import EffectRequest, EffectResult
from journey.connectors.recording import JournalingConnector
from journey.dsl.syntax import Action
from journey.engine import triggers
from journey.engine.claims import LIVENESS, Claims, ContactLease, holder_key, leases_by_worker
from journey.engine.conditions import Evaluator
from journey.engine.intake import import_rows
from journey.engine.journeys import Catalog
from journey.engine.runner import PassReport, Runner
from journey.engine.store import Activity, Effect, Event, Run, Store, open_store
from journey.engine.triggers import process_events
from tests.engine.engine_helpers import FIELDS, T0, compiled, context

JOURNEY = """journey "Claims"
trigger added to list "Batch"
add to list "Salesforce Leads"
update field "Nurture Stage" to "One"
add task "Call {{First Name}}" due in 1 day
"""
CONTACTS = 12
#: Tests of runners working side by side: PostgreSQL's (on SQLite one runner works a store).
SIDE_BY_SIDE = pytest.mark.parametrize(
    "store_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
STEPS_PER_RUN = 4  # two actions with effects, the update, the end
EFFECTS_PER_RUN = 2


class Meanwhile(JournalingConnector):
    """The journal, calling ``during`` once, inside its first ``perform`` after journaling
    it: the moment another worker acts while this one waits on the connector."""

    def __init__(self, journal: Path) -> None:
        super().__init__(journal=journal)
        self.during: Callable[[], None] | None = None

    def perform(self, action: Action, requests: Sequence[EffectRequest]) -> list[EffectResult]:
        results = super().perform(action, requests)
        during, self.during = self.during, None
        if during is not None:
            during()
        return results


@pytest.fixture
def url(store_url: str) -> str:
    store = open_store(store_url)
    catalog = Catalog(store=store)
    catalog.add(compiled(JOURNEY), JOURNEY, "claims.journey")
    catalog.publish(T0)
    rows = [(n + 2, {"Email": f"c{n}@x.example", "First Name": f"C{n}"}) for n in range(CONTACTS)]
    import_rows(store, rows, context(), "Batch")
    store.close()
    return store_url


@pytest.fixture
def runner(url: str, tmp_path: Path) -> Iterator[Callable[[str], Runner]]:
    """A runner named ``worker`` on the store: its own connection, its own connector on
    the shared journal (``tmp_path / "journal.db"``)."""
    made: list[Runner] = []

    def make(worker: str) -> Runner:
        store = open_store(url)
        catalog = Catalog(store=store)
        catalog.add(compiled(JOURNEY), JOURNEY, "claims.journey")
        connector = Meanwhile(tmp_path / "journal.db")
        made.append(
            Runner(store, catalog, connector, Evaluator(None, FIELDS), FIELDS, worker_id=worker)
        )
        return made[-1]

    yield make
    for one in made:
        assert isinstance(one.connector, Meanwhile)
        one.connector.close()
        one.store.close()


def expire(store: Store, worker: str) -> None:
    """``worker``'s leases ran out (it was paused past them)."""
    leases = ContactLease
    with store.begin() as conn:
        conn.execute(
            sa.update(leases)
            .where(leases.c.worker_id == worker)
            .values(lease_until=T0.replace(year=2000))
        )


def contact_ids(store: Store) -> list[int]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(sa.select(Run.c.contact_id)).scalars())


def assert_every_contact_finished_once(store: Store, journal: Path) -> None:
    """Every run completed, each step in the feed once, each effect applied once."""
    act = Activity
    with store.engine.connect() as conn:
        runs = conn.execute(sa.select(Run.c.status)).scalars().all()
        keys = conn.execute(sa.select(Effect.c.key)).scalars().all()
        per_step = conn.execute(
            sa.select(act.c.run_id, act.c.step_id, sa.func.count())
            .where(act.c.kind != "enter")
            .group_by(act.c.run_id, act.c.step_id)
        ).all()
    assert Counter(runs) == {"completed": CONTACTS}
    assert Counter(Counter(run for run, _, _ in per_step).values()) == {STEPS_PER_RUN: CONTACTS}
    assert {n for _, _, n in per_step} == {1}
    applied = JournalingConnector(journal=journal)
    try:
        assert len(keys) == CONTACTS * EFFECTS_PER_RUN
        assert applied.applications() == dict.fromkeys(keys, 1)
    finally:
        applied.close()


@SIDE_BY_SIDE
def test_two_runners_claim_disjoint_contacts(
    runner: Callable[[str], Runner], tmp_path: Path
) -> None:
    a = runner("a")
    b = runner("b")
    with a.store.begin() as conn:
        process_events(conn, a.catalog, T0)
    first = a.claims.claim_due(T0, 5)
    second = b.claims.claim_due(T0, 5)
    assert len(first) == len(second) == 5
    assert not {r.contact_id for r in first} & {r.contact_id for r in second}
    with a.store.engine.connect() as conn:
        assert leases_by_worker(conn) == {"a": 5, "b": 5}
    # What a and b hold stays theirs: a third runner gets the two left.
    rest = runner("c").claims.claim_due(T0, 5)
    assert {r.contact_id for r in rest} == set(contact_ids(a.store)) - {
        r.contact_id for r in first + second
    }
    b.release_all()
    with a.store.engine.connect() as conn:
        assert leases_by_worker(conn) == {"a": 5, "c": 2}
    a.claims.release({r.contact_id for r in first + rest})
    with a.store.engine.connect() as conn:
        assert leases_by_worker(conn) == {"c": 2}


@SIDE_BY_SIDE
def test_a_contact_another_runner_holds_waits_for_it(
    runner: Callable[[str], Runner], tmp_path: Path
) -> None:
    a = runner("a")
    b = runner("b")
    ev = Event
    with a.store.engine.connect() as conn:
        held = conn.execute(sa.select(ev.c.contact_id).order_by(ev.c.id)).scalars().first()
    assert held is not None
    with b.store.begin() as conn:
        assert b.claims.take(conn, {held}) == {held}
    a.run_until_idle(T0)
    with a.store.engine.connect() as conn:
        # The held contact's event is still in the inbox; everybody else is through.
        assert conn.execute(sa.select(ev.c.contact_id).where(ev.c.processed.is_(False))).all() == [
            (held,)
        ]
        assert set(contact_ids(a.store)) == set(range(1, CONTACTS + 1)) - {held}
    # Its runs too: b holds a contact whose run is due; a leaves it where it is.
    b.release_all()
    with a.store.begin() as conn:
        process_events(conn, a.catalog, T0)
        assert b.claims.take(conn, {held}) == {held}
    a.run_until_idle(T0)
    runs = Run
    with a.store.engine.connect() as conn:
        mine = conn.execute(sa.select(runs.c.status, runs.c.seq).where(runs.c.contact_id == held))
        assert mine.all() == [("active", 0)]
    b.release_all()
    a.run_until_idle(T0)
    assert_every_contact_finished_once(a.store, tmp_path / "journal.db")


@SIDE_BY_SIDE
def test_an_expired_lease_is_taken_over(runner: Callable[[str], Runner], tmp_path: Path) -> None:
    a = runner("a")
    b = runner("b")
    with b.store.begin() as conn:
        assert b.claims.take(conn, {1, 2, 3}) == {1, 2, 3}
    expire(b.store, "b")
    a.run_until_idle(T0)
    assert_every_contact_finished_once(a.store, tmp_path / "journal.db")


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_on_sqlite_a_lease_of_another_runner_is_a_dead_ones(
    runner: Callable[[str], Runner], tmp_path: Path
) -> None:
    """One runner works a SQLite store at a time (``engine.locks``): whatever another
    worker id still holds, live or not, its process is gone, so it is not waited out;
    and with nobody to claim against, the runner writes no lease of its own."""
    a = runner("a")
    with a.store.begin() as conn:
        conn.execute(
            sa.insert(ContactLease),
            [
                {"contact_id": c, "worker_id": "b", "holder_key": 1, "lease_until": T0}
                for c in (1, 2, 3)
            ],
        )
        assert a.claims.take(conn, {1, 2, 3}) == {1, 2, 3}
    a.run_until_idle(T0)
    assert_every_contact_finished_once(a.store, tmp_path / "journal.db")
    with a.store.engine.connect() as conn:
        assert leases_by_worker(conn) == {"b": 3}


@SIDE_BY_SIDE
def test_a_runner_whose_contacts_were_taken_cannot_commit_its_batch(
    runner: Callable[[str], Runner], tmp_path: Path
) -> None:
    """a is paused past its leases after the connector applied its first effects; b takes
    the contacts over, reconciles a's intents (applied: their recorded results) and takes
    every run to its end. a's answer then finds its leases gone and writes nothing. (On
    SQLite no second runner can be working: the runner lock, ``engine.locks``.)"""
    a = runner("a")
    b = runner("b")
    seen: dict[str, PassReport] = {}

    def taken_over() -> None:
        expire(a.store, "a")
        seen["b"] = b.run_until_idle(T0)

    assert isinstance(a.connector, Meanwhile)
    a.connector.during = taken_over
    report = a.run_until_idle(T0)
    assert seen["b"].reconciled == CONTACTS
    assert report.reconciled == 0
    assert_every_contact_finished_once(a.store, tmp_path / "journal.db")
    again = a.run_until_idle(T0)
    assert (again.runs, again.effects, again.reconciled) == (0, 0, 0)
    assert_every_contact_finished_once(a.store, tmp_path / "journal.db")


@SIDE_BY_SIDE
def test_renewing_keeps_a_slow_batch_and_its_intents_its_own(
    runner: Callable[[str], Runner], tmp_path: Path
) -> None:
    """A batch outlasting its lease keeps it by renewing: meanwhile another runner neither
    claims its contacts nor reconciles its intents in flight."""
    a = runner("a")
    b = runner("b")
    seen: dict[str, object] = {}

    def slow() -> None:
        seen["claimed"] = a.claimed_count()
        with a.store.engine.connect() as conn:
            seen["leases"] = leases_by_worker(conn)
        expire(a.store, "a")
        seen["renewed"] = a.renew_leases()
        seen["b"] = b.run_until_idle(T0)

    assert isinstance(a.connector, Meanwhile)
    a.connector.during = slow
    a.run_until_idle(T0)
    assert seen["claimed"] == CONTACTS
    assert seen["leases"] == {"a": CONTACTS}
    assert seen["renewed"] == CONTACTS
    by_b = seen["b"]
    assert isinstance(by_b, PassReport)
    assert (by_b.runs, by_b.reconciled) == (0, 0)
    assert a.claimed_count() == 0
    with a.store.engine.connect() as conn:
        assert leases_by_worker(conn) == {}
    assert_every_contact_finished_once(a.store, tmp_path / "journal.db")


def test_a_live_run_another_writer_made_is_taken_as_already_in(
    runner: Callable[[str], Runner], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's one-live-run index refuses a second live run; the inbox skips it and
    takes the event, rather than failing the transaction."""
    a = runner("a")
    with a.store.begin() as conn:
        process_events(conn, a.catalog, T0)
        conn.execute(
            sa.insert(Event),
            {"kind": "added_to_list", "contact_id": 1, "name": "Batch", "at": T0},
        )
    # Another worker's run appeared after this transaction read the contact's history.
    monkeypatch.setattr(triggers, "_history", lambda conn, ids: {})
    with a.store.begin() as conn:
        assert process_events(conn, a.catalog, T0, claims=a.claims) == (1, 0)
    with a.store.engine.connect() as conn:
        assert contact_ids(a.store).count(1) == 1
        assert leases_by_worker(conn) == {}


@SIDE_BY_SIDE
def test_a_dead_workers_live_leases_are_taken_at_once(
    runner: Callable[[str], Runner], tmp_path: Path
) -> None:
    """Its session ends (the server ends it here, as when its process is killed): the
    liveness lock goes with it, so its leases, not run out, are no one's any more."""
    a = runner("a")
    b = runner("b")
    with b.store.begin() as conn:
        assert b.claims.take(conn, {1, 2, 3}) == {1, 2, 3}
    a.run_until_idle(T0)
    assert not {1, 2, 3} & set(contact_ids(a.store))  # b, alive, holds them
    with a.store.begin() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                " AND classid = :ns AND objid = :key AND objsubid = 2"
            ),
            {"ns": LIVENESS, "key": holder_key("b")},
        )
    a.run_until_idle(T0)
    assert_every_contact_finished_once(a.store, tmp_path / "journal.db")


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_on_sqlite_told_it_is_shared_a_live_lease_is_waited_out(store_url: str) -> None:
    """``exclusive=False`` on SQLite: the leases are written and honoured, as on
    PostgreSQL (without the liveness lock): a live lease of b's is not taken, a spent one is."""
    store = open_store(store_url)
    a = Claims(store, "a", exclusive=False)
    b = Claims(store, "b", exclusive=False)
    try:
        with store.begin() as conn:
            assert b.take(conn, {1, 2}) == {1, 2}
        with store.begin() as conn:
            assert a.take(conn, {1, 2, 3}) == {3}
        expire(store, "b")
        with store.begin() as conn:
            assert a.take(conn, {1, 2}) == {1, 2}
            assert leases_by_worker(conn) == {"a": 3}
    finally:
        store.close()
