"""The store's schema, one Alembic revision per change (``versions/``), applied in order.

Pipeline position: under ``engine.store``: ``open_store`` calls ``upgrade`` before it
hands out a store, so every part sharing the database — the engine's tables, the sync's,
the Salesforce connector's — finds them at the head revision.

* ``0001_v1`` — the schema as first released (its ``schema_version`` 1), frozen as DDL.
* ``0002_v2_sync`` — the sync's tables (``schema_version`` 2).
* ``0003_salesforce_connector`` — the connector's four tables (``sf_*``).
* ``0004_drop_schema_version`` — ``alembic_version`` is the one record of the schema.
* ``0006_salesforce_lists_from_links`` — the Salesforce lists recomputed from the links
  (no schema change).
* ``0007_notification_outbox`` — one row per notification email, for sending exactly once.
* ``0008_link_reads`` — what the engine last looked up in Salesforce per contact.
* ``0009_sf_effects_by_contact`` — the connector's journal indexed by contact.
* ``0010_contact_leases`` — which worker holds which contact (``engine.claims``).
* ``0011_workers`` — the registry of running workers (``engine.fleet``).
* ``0012_sf_api_calls`` — the API calls of each day, counted by every worker at once.
* ``0013_published_journeys`` — the version of each journey published now.
* ``0016_effects_pending`` — the intents without an outcome indexed, for recovery.
* ``0017_contact_leases_unlogged`` — the leases kept out of PostgreSQL's write-ahead log.
* ``0018_partial_run_indexes`` — the indexes on ``runs`` cheap to keep as runs advance.

A new SQLite store is made from the schema the first store migrated on this machine ended
in (``engine.schema_template``), without Alembic, when that record fits the revisions.

A store made before Alembic has ``schema_version`` and no ``alembic_version``: it is
stamped with the revision its version matches, then upgraded like any other. A revision
this release does not know (a store a newer release has migrated) is refused, never
guessed at.

Only one process migrates a store at a time: on PostgreSQL the upgrade runs in one
transaction holding an advisory lock, on SQLite in one ``BEGIN IMMEDIATE`` transaction
(both databases roll DDL back, so a failed upgrade leaves the store as it was). The
others wait, then find the store at head and do nothing.

Adding a change: a new file in ``versions/`` with the next number, ``down_revision`` the
previous head, explicit ``op.*`` DDL (``op.batch_alter_table`` to alter, for SQLite).
``tests/engine/test_migrations.py`` fails while the models and the revisions disagree.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from journey.engine import schema_template

# Alembic, and the revision scripts it parses, are loaded when a store is opened, not when
# this module is imported: every command imports the store's models, few open a store.
if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = ["StoreVersionError", "head", "revision", "upgrade"]

_FOLDER = Path(__file__).parent

#: The revision a store made before Alembic matches, by its ``schema_version``.
_ADOPTED = {1: "0001_v1", 2: "0002_v2_sync"}


#: Alembic's ``op`` and ``context`` are process-wide: one migration at a time per process
#: (taken after the database's lock, so no thread holds it while waiting for another's).
_ALEMBIC = threading.Lock()


class StoreVersionError(RuntimeError):
    """The store's schema is not one this release can migrate."""


def _config(conn: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_FOLDER))
    config.attributes["connection"] = conn
    return config


@cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision this release knows: where ``upgrade`` takes every store."""
    return _script().get_current_head() or ""


def revision(conn: Connection) -> str | None:
    """The store's revision (``None``: not under Alembic yet, or empty)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> None:
    """Bring the store behind ``engine`` to ``target`` (the head unless a test asks for
    less), unless it is there already. A new SQLite store is made from the head schema
    recorded on this machine when there is one (``engine.schema_template``), else
    migrated, and then recorded."""
    with engine.connect() as conn:
        if target == "head" and _from_template(conn):
            return
        if target == "head" and revision(conn) == head():
            return
        conn.rollback()
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Batch mode copies a table to alter it: foreign keys must not fire meanwhile
            # (the pragma cannot change inside a transaction).
            keys = int(conn.exec_driver_sql("PRAGMA foreign_keys").scalar() or 0)
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('journey store'))"))
        try:
            new = sqlite and target == "head" and schema_template.is_empty(conn)
            with _ALEMBIC:
                _migrate(conn, target)
            conn.commit()
            if new:  # read once the migration is committed: a record never stops one
                schema_template.record(conn)
        finally:
            conn.rollback()
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA foreign_keys={keys}")
                conn.commit()


def _from_template(conn: Connection) -> bool:
    """A new SQLite store made from the recorded head schema, in one ``BEGIN IMMEDIATE``
    transaction as a migration is (so a second process waits, then finds it made)."""
    if conn.dialect.name != "sqlite" or not schema_template.is_empty(conn):
        return False
    conn.rollback()
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        if schema_template.is_empty(conn) and schema_template.replay(conn):
            conn.commit()
            return True
    finally:
        conn.rollback()
    return False


def _migrate(conn: Connection, target: str) -> None:
    from alembic import command

    _adopt(conn)
    current = revision(conn)
    known = {script.revision for script in _script().walk_revisions()}
    if current is not None and current not in known:
        raise StoreVersionError(
            f"the store is at schema revision {current!r}, which this release of journey "
            f"does not know (the newest it knows is {head()!r}): a newer release has "
            "migrated it; use that release"
        )
    if current != target:
        command.upgrade(_config(conn), target)


def _adopt(conn: Connection) -> None:
    """Stamp a store made before Alembic with the revision its ``schema_version`` names."""
    from alembic import command

    inspector = sa.inspect(conn)
    if inspector.has_table("alembic_version") or not inspector.has_table("schema_version"):
        return
    version = conn.execute(sa.text("SELECT MAX(version) FROM schema_version")).scalar()
    stamp = _ADOPTED.get(int(version or 0))
    if stamp is None:
        raise StoreVersionError(
            f"the store has schema version {version}, which this release of journey cannot "
            f"migrate (it knows {', '.join(map(str, _ADOPTED))})"
        )
    command.stamp(_config(conn), stamp)
