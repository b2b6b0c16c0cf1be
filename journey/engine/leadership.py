"""Sync leadership: exactly one worker runs the Salesforce sync at a time.

Pipeline position: ``engine.worker`` asks ``SyncLeadership.ensure()`` before each sync
cycle; only the worker it answers ``True`` runs the cycle, every worker runs journeys.
``engine.fleet`` records the answer for ``journey status``.

On PostgreSQL the leadership is a session advisory lock (``pg_try_advisory_lock``) held on
a dedicated connection, outside the store's pool: PostgreSQL releases it when that session
ends, so a leader killed with ``kill -9`` or cut off frees it by itself, and a follower
takes it at its next try — each follower tries whenever its own cycle is due, so the sync
misses at most one cycle when its leader dies. No election of our own: the database
decides who holds the lock.

Re-checked before each cycle, never assumed: a PostgreSQL restart ends every session, so
the leader's lock is gone with its connection. ``ensure`` asks the server whether this
session still holds the lock (``pg_locks``); a dead connection or a lock not held drops
the connection and tries again from scratch on a new one, which either wins the lock
(leader again) or finds another worker won it first (follower). A cycle is therefore never
started without the lock; a cycle already running when the server restarts fails on its
own writes to the same server.

On SQLite (and a memory store) the one worker a store admits (``engine.locks``) leads.
"""

from __future__ import annotations

import contextlib

import sqlalchemy as sa

__all__ = ["SYNC_LOCK_KEY", "SyncLeadership", "leader_sessions", "session_name"]

#: The advisory lock key of the sync's leader (any fixed 64-bit number: "jsync" in ASCII),
#: distinct from the migrations' and the runner lock's keys.
SYNC_LOCK_KEY = 0x6A73796E63
_HELD = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND pid = pg_backend_pid() AND objsubid = 1 "
    "AND classid::bigint = :hi AND objid::bigint = :lo)"
)


_HOLDERS = (
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
)


def session_name(worker_id: str) -> str:
    """The ``application_name`` of a worker's leadership session (PostgreSQL keeps 63
    bytes of it), by which ``journey status`` learns who holds the lock."""
    return f"journey worker {worker_id}".encode()[:63].decode(errors="ignore")


def leader_sessions(conn: sa.Connection) -> list[str]:
    """The session names holding the sync's lock right now: the server's own answer, not
    what a worker last wrote (at most one; none between a leader's death and a takeover)."""
    found = conn.execute(
        sa.text(_HOLDERS), {"hi": SYNC_LOCK_KEY >> 32, "lo": SYNC_LOCK_KEY & 0xFFFFFFFF}
    ).scalars()
    return [str(name) for name in found]


class SyncLeadership:
    """Whether this worker may run the next sync cycle (module docstring)."""

    def __init__(self, url: str, worker_id: str) -> None:
        self.url, self.worker_id = url, worker_id
        self.on_postgresql = url.startswith("postgresql")
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None
        self.leads = not self.on_postgresql

    def ensure(self) -> bool:
        """Hold the lock now, or learn that another worker does: re-checked on the server
        (a restart took the lock with the session), re-taken on a new session if lost."""
        if not self.on_postgresql:
            return True
        if self._conn is not None:
            try:
                if self._holds(self._conn):
                    self.leads = True
                    return True
            except sa.exc.DBAPIError:
                pass
            self._drop()
        self.leads = self._take()
        return self.leads

    def _take(self) -> bool:
        if self._engine is None:
            # Its application_name names this worker to whoever looks at the lock's holder.
            self._engine = sa.create_engine(
                self.url,
                poolclass=sa.pool.NullPool,
                connect_args={
                    "application_name": session_name(self.worker_id),
                    "connect_timeout": 10,
                },
            )
        try:
            conn = self._engine.connect()
        except sa.exc.DBAPIError:
            return False  # the server is away: a follower until it is back
        try:
            taken = bool(
                conn.execute(
                    sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": SYNC_LOCK_KEY}
                ).scalar()
            )
            conn.commit()
        except sa.exc.DBAPIError:
            conn.close()
            return False
        if not taken:
            conn.close()
            return False
        self._conn = conn
        return True

    @staticmethod
    def _holds(conn: sa.Connection) -> bool:
        held = conn.execute(
            sa.text(_HELD), {"hi": SYNC_LOCK_KEY >> 32, "lo": SYNC_LOCK_KEY & 0xFFFFFFFF}
        ).scalar()
        conn.commit()
        return bool(held)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.leads = False
        if conn is not None:
            with contextlib.suppress(sa.exc.DBAPIError):  # a dead session: its lock is gone
                conn.close()

    def release(self) -> None:
        """Let go at stop: a follower takes over at its next try, not after a timeout."""
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": SYNC_LOCK_KEY})
                self._conn.commit()
            except sa.exc.DBAPIError:
                pass
        self._drop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self.leads = not self.on_postgresql
