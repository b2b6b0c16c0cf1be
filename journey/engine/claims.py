"""Claims: which worker works which contact, so that many workers share one store safely.

Pipeline position: runner (due runs, recovery) and triggers (the inbox) -> **claims** ->
store (``contact_leases``). The pattern is the one of Que, graphile-worker, procrastinate
and Oban: rows claimed with ``SELECT … FOR UPDATE SKIP LOCKED``, stamped with the worker
and a lease expiry, renewed while the work lasts, back in the pool when the lease runs out
or its worker's session ends — PostgreSQL's own primitives, no home-made consensus.

The unit of a claim is the **contact**, not the run: a ``contact_leases`` row names the
worker holding a contact and until when. Only that worker advances the contact's runs,
takes its inbox events and reconciles its effect intents, so a contact's runs are never
advanced by two workers at once (its journeys share its fields, lists and Salesforce
record; two runs of one contact on two workers would each write the contact from what it
read). The table holds only the contacts in flight, a batch per worker.

* **Claiming due runs** (``claim_due``), one transaction: the oldest due runs (active or
  waiting past ``next_due``, then woken ones: the runner's rules) whose contact no other
  worker holds a live lease on, ``FOR UPDATE SKIP LOCKED`` so that concurrent claimers
  take different rows instead of queueing on the same ones; then their contacts' leases,
  in contact order (two claimers never deadlock), by ``INSERT … ON CONFLICT (contact_id)
  DO UPDATE … WHERE the lease is not live or is mine RETURNING contact_id`` — the contacts
  returned are the ones won. Only the runs of contacts won are worked.
* **Events** (``available``, ``take``, ``give_back``): the inbox takes the same leases
  inside the transaction that turns the events into runs and gives them back in it, so
  two workers never both create a live run of one contact in one journey (the store's
  partial unique index ``runs_one_live`` refuses it too; ``engine.triggers`` takes that
  refusal as "already in").
* **Recovery** (``claim_pending``): the pending intents of contacts nobody else holds live
  — a killed worker's — and never those of a live worker's batch
  in flight.
* **Renewing** (``renew``): a heartbeat extends this worker's leases that have used a
  third of their time, skipping rows locked at that moment (a fence holds them), so it
  never waits.
* **Fencing** (``fenced``): the last statement of each transaction of a batch locks the
  batch's lease rows ``WHERE worker_id = me`` until the commit (and renews any the
  heartbeat let get old). A worker paused past its lease whose contacts another worker
  took finds fewer rows: the transaction is rolled back and the batch dropped; the new
  holder reconciles its intents. (A write the new holder's own work refuses — an intent
  key it already wrote — drops the batch the same way.) A taker's ``ON CONFLICT DO
  UPDATE`` waits on those locks, so nobody takes a lease between the fence and the
  commit. Last, so that a transaction holds the lease rows' locks only while committing
  and waits on nothing after (a claimer takes run rows with ``SKIP LOCKED``, then
  leases): no lock cycle.
* **Sizes**: a batch's ids travel as one value — an array on PostgreSQL (``= ANY``,
  ``unnest``), a JSON array on SQLite (``json_each``) — so a statement's text is the
  same for 10 contacts or 10,000: no list of bound values for the driver to build and
  the database to parse, one compiled and prepared statement.
* **Releasing** (``release``, ``release_all``): the leases of a batch are deleted when it
  ends, all of this worker's when it stops.

A lease is live while it has not run out *and* its worker is alive. Alive, on PostgreSQL,
is a session advisory lock each worker holds on a connection of its own for as long as it
runs (keyed by ``holder_key``, a hash of its id): the server drops it the moment that
session ends, however the process ended (``kill -9`` included), so a dead worker's
contacts are taken at once, not after its lease ran out, and a live one's never before.

Leases run on the database's clock (``clock_timestamp()``), so workers on machines whose
clocks disagree still agree on expiry. On SQLite one runner works the store at a time (the
runner lock, ``engine.locks``), so there is nobody to claim against: no lease is written
or checked (``exclusive``), and a lease row an older release left behind is a dead
process's, ignored. The one window a lease cannot
close: a worker that stops dead *during* a connector call for longer than its lease (a
``SIGSTOP``, a frozen VM) may find, on waking, that the new holder reconciled and performed
the same intent; its own answer is then dropped by the fence, but the call was made. The
connector's timeouts, a heartbeat every few seconds and ``lease_seconds`` well above both
keep a running worker far from it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import weakref
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.store import (
    LIVE_STATUSES,
    Effect,
    Run,
    RunStatus,
    Store,
    metadata,
    status_is,
    woken,
)

__all__ = [
    "LIVENESS",
    "ClaimStats",
    "Claims",
    "ContactLease",
    "LeaseLostError",
    "claimed_runs_by_worker",
    "default_worker_id",
    "holder_key",
    "leases_by_worker",
]


#: A contact held by a worker until ``lease_until`` (module docstring): only the holder
#: advances its runs, takes its events and reconciles its intents.
ContactLease = sa.Table(
    "contact_leases",
    metadata,
    sa.Column("contact_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("worker_id", sa.String, nullable=False, index=True),
    #: The key of the holder's liveness lock (module docstring).
    sa.Column("holder_key", sa.Integer, nullable=False),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
)


class LeaseLostError(Exception):
    """A batch's transaction found a lease of its contacts taken by another worker."""


@dataclass
class ClaimStats:
    """How this worker's claims went (``journey worker --stats``): what many workers cost
    each other shows here — claims that came back empty, runs another worker leased
    first, batches the fence dropped."""

    #: ``claim_due`` calls that won runs, and the runs they won.
    batches: int = 0
    runs: int = 0
    #: ``claim_due`` calls that won nothing (the pass ends there).
    empty: int = 0
    #: Runs found due whose contact another worker leased first.
    missed: int = 0
    #: Batches dropped at their fence: a contact was taken by another worker meanwhile.
    lost: int = 0
    #: Contacts leased to reconcile their pending intents.
    pending: int = 0
    #: Heartbeat renewals of this worker's leases.
    renewals: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def default_worker_id() -> str:
    """``host:pid:random``: unique among workers on every machine, and says where one runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


#: The first key of every worker's liveness lock, ``pg_advisory_lock(LIVENESS, key)``
#: ("jy"), apart from the single-key locks of ``engine.locks``.
LIVENESS = 0x6A79


def holder_key(worker_id: str) -> int:
    """The second key of a worker's liveness lock: 31 bits of a hash of its id."""
    return int.from_bytes(hashlib.sha256(worker_id.encode()).digest()[:4], "big") & 0x7FFFFFFF


def leases_by_worker(conn: Connection) -> dict[str, int]:
    """How many contacts each worker holds, live or expired."""
    leases = ContactLease
    rows = conn.execute(sa.select(leases.c.worker_id, sa.func.count()).group_by(leases.c.worker_id))
    return {str(worker): int(n) for worker, n in rows}


def claimed_runs_by_worker(conn: Connection) -> dict[str, int]:
    """How many live runs each worker holds through its contacts' leases (``journey
    status``): the runs it may be advancing now."""
    leases, runs = ContactLease, Run
    rows = conn.execute(
        sa.select(leases.c.worker_id, sa.func.count())
        .select_from(leases.join(runs, runs.c.contact_id == leases.c.contact_id))
        .where(runs.c.status.in_(LIVE_STATUSES))
        .group_by(leases.c.worker_id)
    )
    return {str(worker): int(n) for worker, n in rows}


#: The keys of the workers alive on this database now (module docstring).
_LIVE_KEYS = (
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory'"
    f" AND classid = {LIVENESS} AND objsubid = 2 AND granted AND database ="
    " (SELECT oid FROM pg_database WHERE datname = current_database())"
)
#: ``take`` on PostgreSQL: the contacts' leases in contact order, each won where nobody
#: else holds it live; the contacts won.
_TAKE = (
    "INSERT INTO contact_leases (contact_id, worker_id, holder_key, lease_until)"
    " SELECT c, :me, :key, clock_timestamp() + :lease FROM unnest(CAST(:ids AS integer[])) c"
    " ORDER BY c"
    " ON CONFLICT (contact_id) DO UPDATE SET worker_id = excluded.worker_id,"
    " holder_key = excluded.holder_key, lease_until = excluded.lease_until"
    " WHERE contact_leases.worker_id = :me OR NOT (contact_leases.lease_until >"
    " clock_timestamp() AND contact_leases.holder_key = ANY(CAST(:live AS bigint[])))"
    " RETURNING contact_id"
)


#: ``take`` on SQLite: the same upsert, the ids in one JSON array; ``WHERE true`` tells
#: the parser that ``ON CONFLICT`` belongs to the ``INSERT``, not to a join.
_SQLITE_TAKE = (
    "INSERT INTO contact_leases (contact_id, worker_id, holder_key, lease_until)"
    " SELECT value, ?, ?, ? FROM json_each(?) WHERE true"
    " ON CONFLICT (contact_id) DO UPDATE SET worker_id = excluded.worker_id,"
    " holder_key = excluded.holder_key, lease_until = excluded.lease_until"
)
#: ...taking a lease another worker holds only when it ran out (``exclusive`` is off).
_SQLITE_TAKE_UNLESS_LIVE = (
    " WHERE contact_leases.worker_id = ? OR NOT (contact_leases.lease_until > ?)"
)


def _json_ids(ids: Collection[int]) -> str:
    """Ids as a JSON array, in contact order."""
    return "[" + ",".join(str(int(i)) for i in sorted(ids)) + "]"


def _stamp(conn: Connection, moment: datetime) -> Any:
    """``moment`` as the lease column stores it (its type's bind processing)."""
    kind = ContactLease.c.lease_until.type.dialect_impl(conn.dialect)
    process = kind.bind_processor(conn.dialect)
    return process(moment) if process else moment


def _due_columns() -> tuple[sa.Column[Any], ...]:
    """What a claimed run's batch item is made of (``engine.batch_items.item_of``)."""
    c = Run.c
    return (c.id, c.contact_id, c.version, c.step_id, c.status, c.next_due, c.seq, c.attempts)


def _close_quietly(driver_connection: Any) -> None:
    with suppress(Exception):  # closing a session already gone
        driver_connection.close()


class Claims:
    """One worker's leases on one store (module docstring). ``exclusive``: no other worker
    can be running (a SQLite store, by default), so no lease is written: every contact is
    this worker's, and every lease row not this one's is stale."""

    def __init__(
        self,
        store: Store,
        worker_id: str,
        lease_seconds: float = 30.0,
        *,
        exclusive: bool | None = None,
    ) -> None:
        self.store, self.worker_id, self.lease_seconds = store, worker_id, lease_seconds
        self.exclusive = store.is_sqlite if exclusive is None else exclusive
        self.key = holder_key(worker_id)
        self.stats = ClaimStats()
        self._alive: Any = None  # the driver's connection holding the liveness lock

    # ------------------------------------------------------------------ liveness

    def _stay_alive(self) -> None:
        """Hold this worker's liveness lock (module docstring), taken again on a new session
        when the one holding it is gone (the server restarted, say). The session is the
        driver's own, out of the pool, so disposing of the engine leaves it be."""
        if self.store.is_sqlite:
            return
        if self._alive is not None:
            try:
                self._alive.execute("SELECT 1")
                return
            except Exception:  # the driver's error: the session is gone
                self._close_alive()
        pooled = self.store.engine.raw_connection()
        alive: Any = pooled.driver_connection
        pooled.detach()
        alive.autocommit = True
        alive.execute("SELECT pg_try_advisory_lock(%s, %s)", (LIVENESS, self.key))
        self._alive = alive
        # A worker dropped without ``release_all`` still closes its session.
        weakref.finalize(self, _close_quietly, alive)

    def _close_alive(self) -> None:
        alive, self._alive = self._alive, None
        if alive is not None:
            _close_quietly(alive)

    def _live_keys(self, conn: Connection) -> list[int]:
        """The keys of the workers alive on this database now."""
        return [int(k) for k in conn.execute(sa.text(_LIVE_KEYS)).scalars()]

    def _live(self, conn: Connection, live: list[int] | None = None) -> Any:
        """The condition "this lease row is live": not run out, its holder alive. The
        holders' keys are read first and bound as one array: a subquery on ``pg_locks``
        inside the statement would be costed once per row it filters, enough to make the
        planner JIT-compile a scan that takes a millisecond."""
        leases = ContactLease
        running = leases.c.lease_until > self._now(conn)
        if conn.dialect.name != "postgresql":
            return running
        # ``= ANY(array)``: one bound value, so it also serves an executemany.
        known = self._live_keys(conn) if live is None else live
        keys = sa.literal(known, sa.ARRAY(sa.BigInteger()))
        return sa.and_(running, leases.c.holder_key == sa.any_(keys))

    # ------------------------------------------------------------------ clock

    def _now(self, conn: Connection) -> sa.ColumnElement[datetime]:
        """Now, on the database's clock where there is one that every worker shares."""
        if conn.dialect.name == "postgresql":
            return sa.func.clock_timestamp(type_=sa.DateTime(timezone=True))
        return sa.literal(datetime.now(UTC), sa.DateTime(timezone=True))

    def _until(self, conn: Connection, part: float = 1.0) -> sa.ColumnElement[datetime]:
        """Now plus ``part`` of the lease."""
        lease = timedelta(seconds=self.lease_seconds * part)
        if conn.dialect.name == "postgresql":
            return self._now(conn) + sa.literal(lease, sa.Interval())
        return sa.literal(datetime.now(UTC) + lease, sa.DateTime(timezone=True))

    # ------------------------------------------------------------------ leases

    def available(
        self, conn: Connection, contact_id: sa.ColumnElement[int], live: list[int] | None = None
    ) -> Any:
        """The condition "no other worker holds a live lease on this contact"."""
        if self.exclusive:
            return sa.true()
        leases = ContactLease
        return ~sa.exists().where(
            leases.c.contact_id == contact_id,
            leases.c.worker_id != self.worker_id,
            self._live(conn, live),
        )

    def take(
        self, conn: Connection, contact_ids: Collection[int], live: list[int] | None = None
    ) -> set[int]:
        """Lease these contacts to this worker where nobody else holds them live, in the
        caller's transaction; the contacts won (the rest stay someone else's). Rows are
        written in contact order, so two claimers never deadlock. ``live``: the live
        workers' keys, when the caller read them in this transaction already."""
        if not contact_ids:
            return set()
        if self.exclusive:
            return set(contact_ids)
        self._stay_alive()
        if conn.dialect.name == "postgresql":
            # One statement over an array, whatever the batch's size: no list of bound
            # values for the server to parse nor for the driver to build.
            won = conn.execute(
                sa.text(_TAKE),
                {
                    "live": self._live_keys(conn) if live is None else live,
                    "ids": sorted(contact_ids),
                    "me": self.worker_id,
                    "key": self.key,
                    "lease": timedelta(seconds=self.lease_seconds),
                },
            ).scalars()
            return {int(c) for c in won}
        # SQLite: one statement too, the ids as one JSON array (``json_each``), so its
        # text never changes and SQLAlchemy compiles and binds nothing per contact.
        # A SQLite store gets here only when told it is not exclusive.
        now = datetime.now(UTC)
        until = _stamp(conn, now + timedelta(seconds=self.lease_seconds))
        ids = _json_ids(contact_ids)
        params = (self.worker_id, self.key, until, ids, self.worker_id, _stamp(conn, now))
        sql = _SQLITE_TAKE + _SQLITE_TAKE_UNLESS_LIVE + " RETURNING contact_id"
        won = conn.exec_driver_sql(sql, params).scalars()
        return {int(c) for c in won}

    def give_back(self, conn: Connection, contact_ids: Collection[int]) -> None:
        """Delete this worker's leases on these contacts, in the caller's transaction."""
        if not contact_ids or self.exclusive:
            return
        leases = ContactLease
        for chunk in self._chunks(conn, contact_ids):
            conn.execute(
                sa.delete(leases).where(
                    leases.c.worker_id == self.worker_id, self._among(conn, chunk)
                )
            )

    def _chunks(self, conn: Connection, contact_ids: Collection[int]) -> Iterator[list[int]]:
        """The ids in contact order, whole: one array (``_among``)."""
        yield sorted(set(contact_ids))

    def _among(self, conn: Connection, ids: list[int]) -> Any:
        """The condition "the lease of one of these contacts", the ids as one value (an
        array on PostgreSQL, a JSON array on SQLite), so the statement is the same text
        for any number of contacts: compiled once, prepared by the driver."""
        leases = ContactLease
        if conn.dialect.name == "postgresql":
            return leases.c.contact_id == sa.any_(sa.literal(ids, sa.ARRAY(sa.Integer())))
        listed = sa.func.json_each(sa.literal(_json_ids(ids))).table_valued("value")
        return leases.c.contact_id.in_(sa.select(listed.c.value))

    def release(self, contact_ids: Collection[int]) -> None:
        """A batch ended: its contacts go back to the pool."""
        if contact_ids:
            with self.store.begin() as conn:
                self.give_back(conn, contact_ids)

    def release_all(self) -> None:
        """This worker stops: every contact it holds goes back to the pool, and its liveness
        lock with its session."""
        leases = ContactLease
        try:
            with self.store.begin() as conn:
                conn.execute(sa.delete(leases).where(leases.c.worker_id == self.worker_id))
        finally:
            self._close_alive()

    def renew(self) -> int:
        """Extend this worker's leases that have less than two thirds of their time left;
        how many. With a heartbeat every few seconds each lease is written every other
        beat or so, never let near its end. Rows a fence has locked are skipped (the fence
        renews them itself), so a heartbeat never waits on a batch."""
        if self.exclusive:
            return 0
        leases = ContactLease
        with self.store.begin() as conn:
            mine = (
                sa.select(leases.c.contact_id)
                .where(
                    leases.c.worker_id == self.worker_id,
                    leases.c.lease_until < self._until(conn, 2 / 3),
                )
                .with_for_update(skip_locked=True)
            )
            done = conn.execute(
                sa.update(leases)
                .where(leases.c.contact_id.in_(mine.scalar_subquery()))
                .where(leases.c.worker_id == self.worker_id)
                .values(lease_until=self._until(conn))
            )
        self.stats.renewals += 1
        return int(done.rowcount or 0)

    @contextmanager
    def fenced(self, contact_ids: Collection[int]) -> Iterator[Connection]:
        """A transaction of a batch on these contacts, fenced at its end (module docstring):
        ``LeaseLostError``, everything in it rolled back, when they are no longer all this
        worker's."""
        try:
            with self.store.begin() as conn:
                yield conn
                self.fence(conn, contact_ids)
        except sa.exc.IntegrityError:
            if self.holds(contact_ids):
                raise
            self.stats.lost += 1
            raise LeaseLostError("a write of a contact another worker took") from None

    def holds(self, contact_ids: Collection[int]) -> bool:
        """Whether this worker holds all these contacts' leases (live or not)."""
        if self.exclusive:
            return True
        leases = ContactLease
        held = 0
        with self.store.begin() as conn:  # a read: committed, so prepared statements stay
            for chunk in self._chunks(conn, contact_ids):
                held += len(
                    conn.execute(
                        sa.select(leases.c.contact_id).where(
                            self._among(conn, chunk), leases.c.worker_id == self.worker_id
                        )
                    ).all()
                )
        return held == len(set(contact_ids))

    def fence(self, conn: Connection, contact_ids: Collection[int]) -> None:
        """The last statement of a batch's transaction: lock its lease rows that are still
        this worker's, in contact order, until the commit; ``LeaseLostError`` (so the
        caller rolls back) when any is no longer this worker's. A lock, not a write: the
        heartbeat keeps the leases fresh, and only those with less than two thirds of
        their time left (a heartbeat that fell behind) are renewed here."""
        if self.exclusive:
            return
        leases = ContactLease
        stale_at = self._until(conn, 2 / 3)
        kept, stale = 0, []
        for chunk in self._chunks(conn, contact_ids):
            rows = conn.execute(
                sa.select(leases.c.contact_id, leases.c.lease_until < stale_at)
                .where(self._among(conn, chunk), leases.c.worker_id == self.worker_id)
                .order_by(leases.c.contact_id)
                .with_for_update(key_share=True)
            ).all()
            kept += len(rows)
            stale += [int(c) for c, old in rows if old]
        if kept < len(set(contact_ids)):
            self.stats.lost += 1
            raise LeaseLostError(f"{len(set(contact_ids)) - kept} contacts taken by another worker")
        for chunk in self._chunks(conn, stale) if stale else ():
            conn.execute(
                sa.update(leases)
                .where(self._among(conn, chunk), leases.c.worker_id == self.worker_id)
                .values(lease_until=self._until(conn))
            )

    # ------------------------------------------------------------------ claims

    def claim_due(self, now: datetime, limit: int) -> list[sa.Row[Any]]:
        """Up to ``limit`` due runs, their contacts leased to this worker (module docstring).
        One query per status so each is an index range scan that stops at the limit (an
        ``OR`` across them would scan every run on every batch). A row read ``FOR UPDATE``
        is its latest version, and once the lease is held nobody else moves it, so the
        rows read here are the batch's."""
        runs = Run
        with self.store.begin() as conn:
            # The live workers' keys read once for the claim's two statements.
            live = self._live_keys(conn) if conn.dialect.name == "postgresql" else None
            free = self.available(conn, runs.c.contact_id, live)
            found: list[Any] = []
            for status in (RunStatus.ACTIVE, RunStatus.WAITING):
                if len(found) >= limit:
                    break
                found += conn.execute(
                    sa.select(*_due_columns())
                    .where(status_is(status), runs.c.next_due <= now, free)
                    .order_by(runs.c.next_due)
                    .limit(limit - len(found))
                    .with_for_update(skip_locked=True, of=runs)
                ).all()
            if len(found) < limit:
                seen = {r.id for r in found}
                # The status bound, not written in (``status_is``): so ``runs_woken``,
                # the woken runs only, is the one index either database can use here,
                # not ``runs_due``'s every waiting run.
                woken_runs = conn.execute(
                    sa.select(*_due_columns())
                    .where(woken(), runs.c.status == RunStatus.WAITING.value, free)
                    .limit(limit)
                    .with_for_update(skip_locked=True, of=runs)
                ).all()
                found += [r for r in woken_runs if r.id not in seen][: limit - len(found)]
            won = self.take(conn, {r.contact_id for r in found}, live)
        claimed = [r for r in found if r.contact_id in won]
        self.stats.missed += len(found) - len(claimed)
        if claimed:
            self.stats.batches += 1
            self.stats.runs += len(claimed)
        else:
            self.stats.empty += 1
        return claimed

    def claim_pending(self) -> set[int]:
        """The contacts with effect intents left without an outcome that nobody else holds
        live (a killed worker's; a batch this worker dropped), leased to this worker."""
        ef = Effect
        with self.store.begin() as conn:
            contacts = conn.execute(
                sa.select(ef.c.contact_id)
                .where(ef.c.status == "pending", self.available(conn, ef.c.contact_id))
                .distinct()
            ).scalars()
            won = self.take(conn, {int(c) for c in contacts})
        self.stats.pending += len(won)
        return won
