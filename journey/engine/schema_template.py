"""A new SQLite store made from the head schema as the revisions left it on this machine.

Pipeline position: ``engine.migrations.upgrade`` -> **schema_template** -> a new store.
Every new store — a project's first command, each test's project — would otherwise run
every revision in turn, most of that time spent importing Alembic and parsing each
script. For one set of revision files the schema they end in is always the same, so the
first store this machine migrates from empty is recorded: the DDL SQLite keeps for each
table, index, trigger and view (``sqlite_master``, tables first, in the order made), in
the cache folder (``cache_dir``) under a digest of the revision files and SQLAlchemy's
version, which write it. A later new store runs those statements in its migration's own
``BEGIN IMMEDIATE`` transaction and stamps the head revision: the schema Alembic would
have made, without Alembic.

Recorded only when the revisions left no row but the revision's own (nothing to replay
but DDL), and only for the head the files name (``store_revision.head_of_files``); a
record that cannot be read, or does not fit, costs a migration, never a different store.
``tests/engine/test_schema_template.py`` holds a store made so to one Alembic migrated.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.cache_dir import cache_folder
from journey.engine.store_revision import VERSIONS, head_of_files

__all__ = ["is_empty", "record", "replay"]

#: sqlite_master's kinds, in the order they can be made (an index needs its table).
_KINDS = ("table", "index", "trigger", "view")


def is_empty(conn: Connection) -> bool:
    """Whether the SQLite database holds nothing yet (a new store)."""
    return conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0


def record(conn: Connection) -> None:
    """Keep the schema of the store behind ``conn``, just migrated from empty to the head
    (module docstring). Says nothing when it cannot: the record is only a shortcut."""
    head = head_of_files()
    path = _record_path()
    if head is None or path is None or path.exists():
        return
    try:
        text = _recorded(conn, head)
    except sa.exc.SQLAlchemyError:
        return
    if text is None:
        return
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".schema-")
    except OSError:
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)  # whole or not at all: a reader never sees half
    except OSError:
        Path(temporary).unlink(missing_ok=True)


def _recorded(conn: Connection, head: str) -> str | None:
    """The record's text, or None when the store is not one to record."""
    rows = conn.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
    ).all()
    tables = [str(name) for kind, name, _ in rows if kind == "table"]
    if str(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()) != head:
        return None
    for table in tables:
        if table == "alembic_version":
            continue
        if conn.exec_driver_sql(f'SELECT 1 FROM "{table}" LIMIT 1').first() is not None:
            return None  # a revision wrote data: only DDL is replayed
    made = [(kind, sql) for kind, name, sql in rows if not str(name).startswith("sqlite_")]
    if any(kind not in _KINDS for kind, _ in made):
        return None
    ordered = [str(sql) for kind, sql in sorted(made, key=lambda row: _KINDS.index(row[0]))]
    return json.dumps({"head": head, "statements": ordered})


def replay(conn: Connection) -> bool:
    """Make the empty store behind ``conn`` from the record, inside the caller's
    transaction; False (nothing done) when there is no record that fits."""
    head = head_of_files()
    path = _record_path()
    if head is None or path is None:
        return False
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        statements = [str(s) for s in kept["statements"]]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if kept.get("head") != head or not statements:
        return False
    for statement in statements:
        conn.exec_driver_sql(statement)
    conn.execute(
        sa.text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head}
    )
    return True


def _record_path() -> Path | None:
    folder = cache_folder()
    return None if folder is None else folder / f"store-schema-{_digest()}.json"


@cache
def _digest() -> str:
    """The revision files' bytes and SQLAlchemy's version: what the recorded DDL is of."""
    digest = hashlib.sha256(sa.__version__.encode())
    for path in sorted(VERSIONS.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
