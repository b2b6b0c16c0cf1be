"""Wake-ups on SQLite: an idle worker sees a new inbox event within a fraction of a second.

Pipeline position: ``engine.wakeups.WakeUps`` on a SQLite store -> **inbox_watch**. SQLite
has no notifications, so without this a worker would find a form post (or any event) only
at its next poll, up to ``--poll`` seconds (1 s by default) after it was committed — most
of the time between a post and its journey's first step. Every kind of new work a worker
is woken for arrives as an inbox event (``announce_work`` is called where events are
inserted), and the newest event's id is one read of the table's primary key: the watcher
looks every ``LOOK`` seconds on a connection of its own, which costs an idle worker a few
dozen microseconds each time.

The id last seen is kept from one wait to the next, as PostgreSQL keeps a notification
that arrives while the worker is busy: an event committed during a pass wakes the next
wait at once. At worst a wake finds its events already taken by the pass before, which
costs one idle pass. A store file that cannot be read (missing, locked past the timeout)
leaves the plain poll.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time

import sqlalchemy as sa

__all__ = ["LOOK", "InboxWatch"]

#: Seconds between two looks at the newest event (the most a wake-up adds to a post's
#: way to its first step).
LOOK = 0.05
#: How long one look waits for a writer's lock before it gives up (seconds).
_TIMEOUT = 2.0


class InboxWatch:
    """The newest inbox event of a SQLite store file, looked at until it changes."""

    def __init__(self, url: str) -> None:
        database = sa.engine.make_url(url).database
        self.path = database if database and database != ":memory:" else None
        self._conn: sqlite3.Connection | None = None
        self._seen: int | None = None

    def _newest(self) -> int | None:
        """The newest event's id (0 with none); ``None`` when the file cannot be read."""
        if self.path is None:
            return None
        try:
            if self._conn is None:
                # Read-only: watching never creates a store file or takes a write lock.
                self._conn = sqlite3.connect(
                    f"file:{self.path}?mode=ro",
                    uri=True,
                    timeout=_TIMEOUT,
                    isolation_level=None,
                    check_same_thread=False,
                )
            row = self._conn.execute("SELECT max(id) FROM events").fetchone()
        except sqlite3.Error:
            self.close()
            return None
        return int(row[0] or 0)

    def start(self) -> bool:
        """Remember the newest event now (before the first pass); ``False`` when the file
        cannot be watched (a plain poll then)."""
        self._seen = self._newest()
        return self._seen is not None

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Wait up to ``seconds``: ``True`` as soon as an event newer than the last seen is
        committed, ``False`` at the end of the wait or once ``stop`` is set."""
        deadline = time.monotonic() + seconds
        while True:
            newest = self._newest()
            if newest is not None and self._seen is not None and newest != self._seen:
                self._seen = newest
                return True
            if self._seen is None:
                self._seen = newest
            left = deadline - time.monotonic()
            if left <= 0 or stop.wait(min(left, LOOK)):
                return False

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
