"""Wake-ups: new work on a PostgreSQL store wakes idle workers at once.

Pipeline position: whatever inserts events into the inbox (``engine.intake``'s forms and
campaign statuses, ``engine.contacts.write_contacts`` for imports, list changes and the
sync's field changes, ``engine.sync``'s campaign members) calls ``announce_work(conn)`` in
the same transaction; ``engine.worker`` waits on a ``WakeUps`` between passes.

``announce_work`` is a ``NOTIFY`` on ``CHANNEL``: PostgreSQL delivers it when the
transaction commits (never for one rolled back) and folds repeats within one transaction
into one, so a 10,000-row import wakes each worker once. Each idle worker ``LISTEN``s on a
dedicated connection (psycopg 3, autocommit) and wakes as soon as a notification arrives,
then lets the burst gather for ``GATHER`` seconds, so many commits in a row make one
pass. One that arrives while the worker is busy waits in that connection and wakes the
next wait at once, so none is lost between a pass and a wait; those that arrived before
a pass began are dropped as it begins (``drain``): it sees their work. On SQLite the wait
watches the store file's newest event instead (``engine.inbox_watch``). Polling stays: a
worker still
looks every ``--poll`` seconds (for waits coming due and on SQLite, which has no
notifications), and when the listening connection breaks (a server restart) it falls back
to the poll and listens again at its next wait.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import sqlalchemy as sa

from journey.engine.inbox_watch import InboxWatch

__all__ = ["CHANNEL", "GATHER", "WakeUps", "announce_work"]

#: The notification channel of new work on a store.
CHANNEL = "journey_work"
#: Longest stretch the listener waits before looking at the stop flag again (seconds).
_SLICE = 0.25
#: Seconds a woken worker lets the burst that woke it gather before its pass: a stream of
#: form posts, or an import's batches, each announced by a commit, wakes every worker once
#: per this interval rather than once per commit (each wake is a pass by every worker, of
#: which all but one find the work already taken).
GATHER = 0.05


def announce_work(conn: sa.Connection) -> None:
    """Wake the idle workers when this transaction commits (PostgreSQL; nothing elsewhere)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"NOTIFY {CHANNEL}")


class WakeUps:
    """The listening side for a store URL; on a store without notifications ``wait`` is
    the plain poll."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.enabled = url.startswith("postgresql")
        self._conn: Any = None  # a psycopg.Connection, opened at the first wait
        self._inbox = InboxWatch(url) if url.startswith("sqlite") else None

    def _listening(self) -> Any:
        if self._conn is None:
            import psycopg

            plain = sa.engine.make_url(self.url).set(drivername="postgresql")
            dsn = plain.render_as_string(hide_password=False)
            try:
                conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
                conn.execute(f"LISTEN {CHANNEL}")
            except psycopg.Error:
                return None
            self._conn = conn
        return self._conn

    def listen(self) -> bool:
        """Start listening now (at worker start, so work announced during the first pass
        is not missed); ``False`` when there is nothing to listen to or the server is away."""
        if self._inbox is not None:
            return self._inbox.start()
        return self.enabled and self._listening() is not None

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Wait up to ``seconds``, or less: ``True`` when woken by new work, ``False`` at the
        end of the wait or once ``stop`` is set (looked at every fraction of a second)."""
        if not self.enabled:
            if self._inbox is not None:
                return self._inbox.wait(seconds, stop)
            stop.wait(seconds)
            return False
        import psycopg

        deadline = time.monotonic() + seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            conn = self._listening()
            if conn is None:  # the server is away: poll, and listen again next time
                stop.wait(min(left, 1.0))
                continue
            try:
                woken = any(True for _ in conn.notifies(timeout=min(left, _SLICE), stop_after=1))
                if woken:
                    # The rest of the burst, and what follows within ``GATHER``: one wake.
                    stop.wait(GATHER)
                    self.drain()
                    return True
            except psycopg.Error:
                self.close()
        return False

    def drain(self) -> None:
        """Forget the notifications received so far (the worker calls it as a pass starts:
        the pass sees the work they announced), so they do not wake the next wait for
        nothing. Those arriving later still wake it."""
        if self._conn is None:
            return
        import psycopg

        try:
            for _ in self._conn.notifies(timeout=0.0):
                pass
        except psycopg.Error:
            self.close()

    def close(self) -> None:
        if self._inbox is not None:
            self._inbox.close()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # broken: closing it is all that is left
                conn.close()
