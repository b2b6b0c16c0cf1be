"""Where the emulated org keeps its records and settings: one SQLite database.

Pipeline position: the bottom layer; ``org`` reads and writes records through it. A file
survives restarts (WAL mode, so a reader never waits on a writer's fsync); no file means
``:memory:``. One connection behind one re-entrant lock keeps it thread-safe — the HTTP
server is threaded, and an org that serialises writes is faithful enough (Salesforce
locks rows too). Nested ``transaction()`` blocks are savepoints, which is how
``allOrNone`` and Composite roll back.

Decoded records of an object are cached in memory once the object is first scanned, and
kept in step by every write: queries scan Python dicts instead of decoding JSON each
time (about 30× faster on a few thousand Leads). A rollback drops the whole cache, since
the database is then the only truth. Callers must treat scanned records as read-only.

Another process may open the same file (a second ``EmulatedOrg`` on one state folder).
Its commits would leave this cache stale, so every read and every outermost transaction
first asks SQLite's ``PRAGMA data_version``, which changes exactly when another
connection committed to the file (https://www.sqlite.org/pragma.html#pragma_data_version),
and drops the cache when it did. The outermost transaction is ``BEGIN IMMEDIATE``: it
holds the file's write lock from its first statement, so nothing another process commits
can slip between that check and the transaction's own reads and writes.

The file holds the org's session IDs and admin token, so it is made owner-only (0600)
before SQLite opens it; SQLite gives its ``-wal`` and ``-shm`` files the database file's
permissions, and existing files that others can read are tightened on open.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from journey.emulator.ids import mint

__all__ = ["ORG_FILE", "Store", "StoredRecord", "is_seeded", "person_emails"]

#: The org's file in its state folder.
ORG_FILE = "org.db"

#: Owner read/write only: the file holds session IDs and the admin token.
PRIVATE = 0o600

StoredRecord = tuple[str, dict[str, Any], bool]  # (sobject, fields, is_deleted)

_SCHEMA_VERSION = 1
_DDL = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    sobject TEXT NOT NULL,
    data TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    deleted_at TEXT
);
CREATE INDEX IF NOT EXISTS records_by_object ON records (sobject, is_deleted, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (sobject TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""


class Store:
    """Records (as JSON documents keyed by ID) and org settings (``meta``)."""

    def __init__(self, path: Path | None) -> None:
        self.lock = threading.RLock()
        self._depth = 0
        # sobject → {id: (record, is_deleted)} in creation order, for scanned objects only
        self._cache: dict[str, dict[str, tuple[dict[str, Any], bool]]] = {}
        self._object_of: dict[str, str] = {}
        if path:
            _make_private(path)
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False, isolation_level=None
        )
        self._data_version = self._current_data_version()
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_DDL)
        version = self.meta("schema_version")
        if version is None:
            self.set_meta("schema_version", _SCHEMA_VERSION)
        elif version != _SCHEMA_VERSION:
            raise RuntimeError(
                f"emulator state has schema version {version}, this emulator reads "
                f"{_SCHEMA_VERSION}; start with a fresh --state folder"
            )

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def _current_data_version(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _fresh(self) -> None:
        """Drop the cache when another connection committed since this one last looked.
        Inside a transaction this process holds the write lock, so nothing changed."""
        if self._depth:
            return
        version = self._current_data_version()
        if version != self._data_version:
            self._data_version = version
            self._cache.clear()
            self._object_of.clear()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all; blocks nest (savepoints)."""
        with self.lock:
            outermost = self._depth == 0
            name = f"sp{self._depth}"
            if outermost:
                self._db.execute("BEGIN IMMEDIATE")
                self._fresh()
            self._db.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._cache.clear()
                self._object_of.clear()
                self._db.execute(f"ROLLBACK TO {name}")
                self._db.execute(f"RELEASE {name}")
                if outermost:
                    self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute(f"RELEASE {name}")
                if outermost:
                    self._db.execute("COMMIT")
            finally:
                self._depth -= 1

    def backup(self, target: Path) -> None:
        """Everything in the store, as one consistent snapshot, into the database file
        ``target`` (created 0600; its old content replaced), through SQLite's online
        backup API (https://www.sqlite.org/backup.html), which copies a database while
        it stays in use. Not inside a transaction: the copy is of what is committed."""
        with self.lock:
            if self._depth:
                raise RuntimeError("copy the store outside a transaction")
            _make_private(target)
            copy = sqlite3.connect(str(target))
            try:
                self._db.backup(copy)
            finally:
                copy.close()

    def new_id(self, sobject: str) -> str:
        with self.lock:
            row = self._db.execute(
                "INSERT INTO counters (sobject, n) VALUES (?, 1) "
                "ON CONFLICT (sobject) DO UPDATE SET n = n + 1 RETURNING n",
                (sobject,),
            ).fetchone()
            return mint(sobject, int(row[0]))

    def insert(self, sobject: str, record: dict[str, Any]) -> None:
        with self.lock:
            self._db.execute(
                "INSERT INTO records (id, sobject, data) VALUES (?, ?, ?)",
                (record["Id"], sobject, json.dumps(record)),
            )
            self._remember(sobject, record, False)

    def replace(self, record: dict[str, Any]) -> None:
        with self.lock:
            self._db.execute(
                "UPDATE records SET data = ? WHERE id = ?", (json.dumps(record), record["Id"])
            )
            self._remember(self._object_of.get(record["Id"]), record, False)

    def mark_deleted(self, record: dict[str, Any], when: str) -> None:
        with self.lock:
            self._db.execute(
                "UPDATE records SET data = ?, is_deleted = 1, deleted_at = ? WHERE id = ?",
                (json.dumps(record), when, record["Id"]),
            )
            self._remember(self._object_of.get(record["Id"]), record, True)

    def purge(self, record_id: str) -> None:
        with self.lock:
            self._db.execute("DELETE FROM records WHERE id = ?", (record_id,))
            sobject = self._object_of.pop(record_id, None)
            if sobject is not None:
                self._cache[sobject].pop(record_id, None)

    def _remember(self, sobject: str | None, record: dict[str, Any], deleted: bool) -> None:
        if sobject is not None and sobject in self._cache:
            self._cache[sobject][record["Id"]] = (dict(record), deleted)
            self._object_of[record["Id"]] = sobject

    def _load(self, sobject: str) -> dict[str, tuple[dict[str, Any], bool]]:
        cached = self._cache.get(sobject)
        if cached is None:
            rows = self._db.execute(
                "SELECT id, data, is_deleted FROM records WHERE sobject = ? ORDER BY seq",
                (sobject,),
            ).fetchall()
            cached = {str(r[0]): (json.loads(r[1]), bool(r[2])) for r in rows}
            self._cache[sobject] = cached
            self._object_of.update(dict.fromkeys(cached, sobject))
        return cached

    def get(self, record_id: str) -> StoredRecord | None:
        """A copy of one record (callers may change it and ``replace`` it)."""
        with self.lock:
            self._fresh()
            sobject = self._object_of.get(record_id)
            if sobject is not None:
                record, deleted = self._cache[sobject][record_id]
                return sobject, dict(record), deleted
            row = self._db.execute(
                "SELECT sobject, data, is_deleted FROM records WHERE id = ?", (record_id,)
            ).fetchone()
        if row is None:
            return None
        return str(row[0]), json.loads(row[1]), bool(row[2])

    def scan(self, sobject: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every record of ``sobject`` in creation order (shared: do not change them)."""
        with self.lock:
            self._fresh()
            cached = self._load(sobject)
            return [r for r, deleted in cached.values() if include_deleted or not deleted]

    def deleted_between(self, sobject: str, start: str, end: str) -> list[tuple[str, str]]:
        with self.lock:
            rows = self._db.execute(
                "SELECT id, deleted_at FROM records WHERE sobject = ? AND is_deleted = 1 "
                "AND deleted_at >= ? AND deleted_at < ? ORDER BY deleted_at",
                (sobject, start, end),
            ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]

    def count(self) -> int:
        with self.lock:
            return int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    def meta(self, key: str) -> Any:
        with self.lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        with self.lock:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )


def _make_private(path: Path) -> None:
    """``path`` and SQLite's companion files owner-only; a new database file is created
    0600, so it is never readable by others, not even for a moment."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if name.exists():
            name.chmod(PRIVATE)


def is_seeded(state_dir: Path) -> bool:
    """Whether the org kept in ``state_dir`` has taken its seed (it has a connected user,
    which seeding sets): read with sqlite3 alone and read-only, for a caller that must know
    without loading the org; any doubt answers no."""
    path = state_dir / ORG_FILE
    if not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT 1 FROM meta WHERE key = 'connected_user'").fetchone()
    except sqlite3.Error:
        return False
    return row is not None


def person_emails(state_dir: Path) -> frozenset[str] | None:
    """The email of every Lead and Contact the org kept in ``state_dir`` holds (deleted
    ones too), letter case folded as its SOQL compares text (``literals``): what a caller
    asks to know which contacts the org cannot find by email, without loading the org.
    Read with sqlite3 alone and read-only; ``None`` when there is no org yet or any doubt."""
    path = state_dir / ORG_FILE
    if not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT json_extract(data, '$.Email') FROM records "
                "WHERE sobject IN ('Lead', 'Contact')"
            ).fetchall()
    except sqlite3.Error:
        return None
    return frozenset(str(email).casefold() for (email,) in rows if email)
