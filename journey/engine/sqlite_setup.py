"""How every SQLite connection to the store is set up: WAL, durability, waiting for locks.

Pipeline position: under ``engine.store``, which registers ``configure_sqlite`` on each
SQLite engine it opens. A SQLite store is shared by processes (a worker, ``journey status``,
a second command), so each connection waits for another's lock rather than failing.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

__all__ = ["configure_sqlite"]

#: How long a SQLite statement waits for another process's lock before it fails.
_SQLITE_BUSY_MS = 30_000


def _sqlite_wal(cursor: Any) -> None:
    """Put the file in WAL mode, which it then keeps. Switching takes an exclusive lock and
    SQLite answers "database is locked" at once, without the busy timeout, while another
    process opening the same new file holds it: so wait and look again, up to the timeout."""
    deadline = time.monotonic() + _SQLITE_BUSY_MS / 1000
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def configure_sqlite(dbapi_conn: Any, _record: Any) -> None:
    """Set up each new connection (SQLAlchemy's ``connect`` event)."""
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
    # WAL: readers (journey status) never block the worker; NORMAL sync is durable at
    # every checkpoint and safe against process crashes, which is what SIGKILL is.
    _sqlite_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # 16 MB of page cache (the default is 2 MB): enough for the hot index pages of a large
    # store across batches, and bounded, so memory stays flat as the store grows.
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.close()
