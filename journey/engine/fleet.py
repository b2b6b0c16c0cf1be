"""The worker registry: who is working the store, where, and whether they are still alive.

Pipeline position: ``engine.worker`` registers itself here when it starts and keeps a
``Heartbeat`` beating beside its loop; ``engine.status`` (``journey status``) reads the
registry. The pattern is the job queues' on PostgreSQL (graphile-worker, Oban,
procrastinate): every worker writes a heartbeat row; a row whose heartbeat is older than
the lease belongs to a worker that is gone (killed, frozen, cut off from the database).

* A worker's id is ``host:pid:random`` — unique across machines and pid reuse; the same id
  stamps the runs it claims (``engine.claims``), so status can count them per worker.
* The heartbeat thread writes ``heartbeat_at`` every ``BEAT_SECONDS`` and, on each beat,
  runs the callables it was given (the runner's lease renewal), so a claim lives exactly
  as long as its worker keeps beating. A beat that finds its row swept (the worker was
  frozen past the sweep) writes it again: the worker is back.
* A clean stop deletes the row; a gone worker's row is kept ``SWEEP_AFTER_SECONDS`` so
  ``journey status`` shows it as gone, then any beating worker sweeps it.
* A database error in a beat (PostgreSQL restarting) is not fatal: the next beat tries
  again, and the worker's loop meets the same error and waits for the database.

Time is each host's UTC clock: hosts sharing a store are expected to keep their clocks
in step (NTP), as the leases they compare already require.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from journey.engine.leadership import leader_sessions, session_name
from journey.engine.store import Store, metadata
from journey.sql_types import UtcDateTime

__all__ = [
    "BEAT_SECONDS",
    "LEASE_SECONDS",
    "SWEEP_AFTER_SECONDS",
    "Heartbeat",
    "WorkerRow",
    "WorkerStatus",
    "deregister",
    "mark_leader",
    "new_worker_id",
    "register",
    "workers",
]

#: Seconds between two heartbeats of a worker.
BEAT_SECONDS = 5.0
#: A worker whose heartbeat is older than this is gone: three beats missed.
LEASE_SECONDS = 3 * BEAT_SECONDS
#: A gone worker's row stays this long (shown as gone by ``journey status``), then is swept.
SWEEP_AFTER_SECONDS = 600.0


#: One running ``journey worker`` (or ``journey run``) process. ``leads_sync`` is what
#: the worker last knew of its own sync leadership (``engine.leadership``).
WorkerRow = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("host", sa.String, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("command", sa.String, nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
    sa.Column("leads_sync", sa.Boolean, nullable=False, default=False),
)


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def new_worker_id() -> str:
    """``host:pid:random``: unique across machines, and across a pid the OS reuses."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def register(
    store: Store, command: str, *, worker_id: str | None = None, now: datetime | None = None
) -> str:
    """Write this process into the registry; its id."""
    wid = worker_id or new_worker_id()
    moment = now or _now()
    with store.begin() as conn:
        conn.execute(sa.delete(WorkerRow).where(WorkerRow.c.id == wid))
        conn.execute(
            sa.insert(WorkerRow).values(
                id=wid,
                host=socket.gethostname(),
                pid=os.getpid(),
                command=command,
                started_at=moment,
                heartbeat_at=moment,
                leads_sync=False,
            )
        )
    return wid


def deregister(store: Store, worker_id: str) -> None:
    """A clean stop: the row goes (a crash leaves it to be shown as gone, then swept)."""
    with store.begin() as conn:
        conn.execute(sa.delete(WorkerRow).where(WorkerRow.c.id == worker_id))


def mark_leader(store: Store, worker_id: str, leads: bool) -> None:
    """Record that this worker took (or lost) the sync's leadership, for status."""
    with store.begin() as conn:
        conn.execute(
            sa.update(WorkerRow).where(WorkerRow.c.id == worker_id).values(leads_sync=leads)
        )


def _beat(store: Store, worker_id: str, command: str, now: datetime, leads: bool) -> None:
    """One heartbeat: this worker's row stamped (written again if it was swept), and the
    rows of workers gone longer than the sweep removed."""
    rows = WorkerRow
    with store.begin() as conn:
        updated = conn.execute(
            sa.update(rows).where(rows.c.id == worker_id).values(heartbeat_at=now, leads_sync=leads)
        ).rowcount
        if not updated:
            conn.execute(
                sa.insert(rows).values(
                    id=worker_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    command=command,
                    started_at=now,
                    heartbeat_at=now,
                    leads_sync=leads,
                )
            )
        swept = now - timedelta(seconds=SWEEP_AFTER_SECONDS)
        conn.execute(sa.delete(rows).where(rows.c.heartbeat_at < swept))


class Heartbeat:
    """A daemon thread beating every ``every`` seconds for ``worker_id`` (module
    docstring). ``on_beat`` callables run after each stamp (the runner's lease renewal);
    ``leads`` says whether this worker leads the sync, recorded with each beat."""

    def __init__(
        self,
        store: Store,
        worker_id: str,
        command: str,
        *,
        every: float = BEAT_SECONDS,
        on_beat: Iterable[Callable[[], object]] = (),
        leads: Callable[[], bool] = lambda: False,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store, self.worker_id, self.command = store, worker_id, command
        self.every, self.on_beat, self.leads, self.clock = every, list(on_beat), leads, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="journey-heartbeat", daemon=True)
        #: The last beat's error (``None`` once a beat succeeds again), for the worker to say.
        self.error: Exception | None = None

    def start(self) -> None:
        self._thread.start()

    def beat(self) -> None:
        """Stamp the row, then run the callables; a database error waits for the next beat."""
        try:
            _beat(self.store, self.worker_id, self.command, self.clock(), self.leads())
            for call in self.on_beat:
                call()
        except sa.exc.DBAPIError as exc:
            self.error = exc
        else:
            self.error = None

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.beat()

    def stop(self) -> None:
        """End the thread (after the beat in flight, if any)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.every + 10.0)


@dataclass(frozen=True)
class WorkerStatus:
    """One registered worker as ``journey status`` shows it."""

    id: str
    host: str
    pid: int
    command: str
    started_at: datetime
    heartbeat_at: datetime
    alive: bool
    leads_sync: bool
    claimed: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "command": self.command,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "heartbeat_at": self.heartbeat_at.isoformat(timespec="seconds"),
            "state": "alive" if self.alive else "gone",
            "leads_sync": self.leads_sync,
            "claimed_runs": self.claimed,
        }


def workers(
    conn: sa.Connection, now: datetime, claimed: Mapping[str, int] | None = None
) -> list[WorkerStatus]:
    """The registry, oldest worker first: alive when it beat within the lease. Who leads
    the sync is, on PostgreSQL, the session holding the lock now (``leader_sessions``);
    elsewhere what the one worker recorded. A gone worker never leads (its lock died with
    it). ``claimed`` counts runs per worker id (``claims.leases_by_worker``)."""
    horizon = now - timedelta(seconds=LEASE_SECONDS)
    rows = WorkerRow
    holders = set(leader_sessions(conn)) if conn.dialect.name == "postgresql" else None
    out: list[WorkerStatus] = []
    for r in conn.execute(sa.select(rows).order_by(rows.c.started_at, rows.c.id)):
        beat = _utc(r.heartbeat_at)
        alive = beat >= horizon
        leads = bool(r.leads_sync) if holders is None else session_name(r.id) in holders
        out.append(
            WorkerStatus(
                id=r.id,
                host=r.host,
                pid=r.pid,
                command=r.command,
                started_at=_utc(r.started_at),
                heartbeat_at=beat,
                alive=alive,
                leads_sync=leads and alive,
                claimed=(claimed or {}).get(r.id, 0),
            )
        )
    return out
