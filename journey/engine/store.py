"""The store: everything the engine must remember between passes, in SQLAlchemy tables.

Pipeline position: contacts in (import, events, sync) -> **store** <- triggers, executor,
runner. One SQLAlchemy URL chooses the database: a SQLite file (``.journey/state.db``,
WAL) by default, PostgreSQL through ``[store] url`` or ``JOURNEY_DATABASE_URL``.

Tables (their definitions below document each column):

* ``contacts`` — core fields as columns (email, names, company, Salesforce ID and type,
  owner); every other field in ``field_values`` as a typed value (text, number, date or
  true/false). Empty fields are not stored, so they are never shown.
* ``companies``, ``lists`` + ``memberships``, ``segment_members`` (who matched each
  segment at the last evaluation, so "entered segment" can be noticed),
  ``campaign_statuses``.
* ``journey_versions`` — the source text of every journey version a run entered with,
  keyed by content hash: a run is pinned to its version and recompiled from it.
* ``published_journeys`` — the version of each journey published now (what ``journey
  plan`` compares the working tree with).
* ``runs`` — one per contact per journey entry; ``RunStatus`` explains every state.
* ``activity`` — the feed: every step, decision (with the values), outcome, skip, error.
* ``events`` — the inbox that triggers read.
* ``effects`` — the effect journal: an intent (idempotency key) is committed before the
  connector is called, its outcome after.
* ``contact_leases`` — which worker holds which contact now (``engine.claims``, whose
  model it is).
* ``notification_outbox`` — one row per notification email, written before it is sent and
  marked sent once the mail server accepted it (``connectors.notify``).
* ``sync_records``, ``sync_errors``, ``sync_pending``, ``sync_settings`` — the
  Salesforce sync's state (``engine.sync``).

The schema is Alembic's: ``engine.migrations`` holds one revision per change, the first
being the schema as first released, frozen as DDL. ``open_store`` brings a store to the
head revision before anything reads it (one process at a time; a store made before
Alembic, with a ``schema_version`` table, is adopted by its version), so these tables
and the database agree; a test fails while a table differs from the revisions. The same
revisions create the Salesforce connector's tables (``connectors.salesforce.state``),
which share the database but not this metadata.

Everything reads and writes them with SQLAlchemy Core, and bulk writes go one set-based
statement per batch (``engine.bulk_rows``): no ORM object per row. They are plain
``sa.Table``s rather than model classes because nothing needs instances, and a model
layer (SQLModel, Pydantic) cost every command a third of a second to import.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from journey.engine import migrations, store_url
from journey.engine.bulk_rows import (
    delete_rows,
    insert_rows,
    inserted_ids,
    update_rows,
    upsert_rows,
)
from journey.engine.pg_rows import insert_returning
from journey.engine.run_status import RunStatus
from journey.engine.sqlite_setup import configure_sqlite
from journey.engine.store_revision import at_head
from journey.sql_types import UtcDateTime
from journey.sql_upsert import upsert

__all__ = [
    "LIVE_STATUSES",
    "RUNS_DUE_WHERE",
    "RUNS_LIVE_WHERE",
    "RUNS_WOKEN_WHERE",
    "Activity",
    "CampaignStatus",
    "Company",
    "Contact",
    "ContactList",
    "Effect",
    "Event",
    "FieldValue",
    "JourneyVersion",
    "LinkRead",
    "Membership",
    "NotificationOutbox",
    "PublishedJourney",
    "Run",
    "RunStatus",
    "SegmentMember",
    "Store",
    "SyncError",
    "SyncPending",
    "SyncRecord",
    "SyncSetting",
    "enter_runs",
    "entering_run",
    "insert_entering_runs",
    "insert_many",
    "metadata",
    "open_store",
    "status_is",
    "update_many",
    "upsert_many",
    "woken",
]


#: The engine's tables. (The Salesforce connector's share the database but not this
#: metadata: ``connectors.salesforce.state``.) Its partial indexes name their WHERE for
#: SQLite only (``sqlite_where``): a ``postgresql_where`` here would load SQLAlchemy's
#: PostgreSQL dialect, 75 ms, into every command on a SQLite store. The revisions, which
#: make both databases' schema, name both, and what must match an index's WHERE (a
#: conflict target, a query meant to use it) is written with the same text, below.
metadata = sa.MetaData()

LIVE_STATUSES = (RunStatus.ACTIVE.value, RunStatus.WAITING.value, RunStatus.EFFECT.value)


def _status_among(statuses: Sequence[str]) -> str:
    """``status`` is one of ``statuses``, as the WHERE of a partial index over ``runs``.
    Written as ``=`` terms joined by ``OR``, not as ``IN``: SQLite evaluates an ``IN``
    list in an index's WHERE by building a table for it, once per row an ``UPDATE``
    writes, which made every run's update cost twice what it does with ``OR``."""
    return "(" + " OR ".join(f"status = '{s}'" for s in statuses) + ")"


_DUE_OR_FAILED = (RunStatus.ACTIVE.value, RunStatus.WAITING.value, RunStatus.FAILED.value)
#: The runs ``runs_one_live`` holds: the live ones, one per contact and journey.
RUNS_LIVE_WHERE = _status_among(LIVE_STATUSES)
#: The runs ``runs_due`` holds: the ones a claim takes when due, and the failed ones
#: (``journey failures``), a store's few. The ended runs, most of a store, are not in it,
#: so a run's last advance costs the index a removal, not a move, and it stays the size
#: of the work in hand. A query meant to use it names its status with ``status_is``.
RUNS_DUE_WHERE = _status_among(_DUE_OR_FAILED)
#: The runs ``runs_woken`` holds: the woken ones, a handful at a time, so the ``wake``
#: every advance sets back to false costs no index write. Queries say ``woken()``.
RUNS_WOKEN_WHERE = "wake"


def status_is(status: RunStatus) -> sa.TextClause:
    """``runs.status = '<status>'``, the status written in rather than bound, for a query
    meant to use ``runs_due``: a database proves a partial index holds a query's rows only
    from a constant. SQLite's prover matches the term with one ``OR`` arm of the index's
    WHERE, PostgreSQL's as well, but neither sees through a parameter (PostgreSQL's
    prepared statements' generic plans have one)."""
    return sa.text(f"runs.status = '{status.value}'")


def woken() -> sa.TextClause:
    """The term of ``RUNS_WOKEN_WHERE``: the runs marked to be looked at again."""
    return sa.text("runs.wake")


Company = sa.Table(
    "companies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("name_key", sa.String, nullable=False, unique=True),
)


#: A person a journey can take. ``email_key`` is the lower-cased email, the
#: de-duplication key for contacts that do not come from Salesforce.
Contact = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String),
    sa.Column("email_key", sa.String, index=True),
    sa.Column("first_name", sa.String),
    sa.Column("last_name", sa.String),
    sa.Column("company", sa.String),
    sa.Column("company_id", sa.Integer, sa.ForeignKey("companies.id")),
    sa.Column("salesforce_id", sa.String, index=True),
    sa.Column("salesforce_type", sa.String),  # "Lead" | "Contact" | None
    sa.Column("owner_id", sa.String),
    sa.Column("owner_name", sa.String),
    sa.Column("owner_email", sa.String),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)


#: A non-core field of a contact, typed as ``journey.toml`` declares it.
FieldValue = sa.Table(
    "field_values",
    metadata,
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id"), primary_key=True),
    sa.Column("name_key", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("type", sa.String, nullable=False, default="Text"),
    sa.Column("text", sa.String, nullable=False),
    sa.Column("number", sa.Float),
    sa.Column("date_value", sa.Date),
    sa.Column("flag", sa.Boolean),
)


ContactList = sa.Table(
    "lists",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("name_key", sa.String, nullable=False, unique=True),
)


Membership = sa.Table(
    "memberships",
    metadata,
    sa.Column("list_id", sa.Integer, sa.ForeignKey("lists.id"), primary_key=True),
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id"), primary_key=True, index=True),
    sa.Column("added_at", UtcDateTime(), nullable=False),
)


SegmentMember = sa.Table(
    "segment_members",
    metadata,
    sa.Column("segment_key", sa.String, primary_key=True),
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id"), primary_key=True, index=True),
)


CampaignStatus = sa.Table(
    "campaign_statuses",
    metadata,
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id"), primary_key=True),
    sa.Column("campaign_key", sa.String, primary_key=True),
    sa.Column("campaign", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
)


JourneyVersion = sa.Table(
    "journey_versions",
    metadata,
    sa.Column("version", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("path", sa.String, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("first_seen", UtcDateTime(), nullable=False),
)


#: The version of a journey that new runs enter now (``journey publish``, or a worker's
#: republishing): one row per journey (``journey_key``), gone when its file is.
PublishedJourney = sa.Table(
    "published_journeys",
    metadata,
    sa.Column("journey_key", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("version", sa.String, nullable=False),
    sa.Column("path", sa.String, nullable=False),
    sa.Column("published_at", UtcDateTime(), nullable=False),
)


#: One contact's walk through one journey entry. ``seq`` counts the steps taken and
#: makes each effect's idempotency key unique even when ``go to`` revisits a step.
Run = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("journey", sa.String, nullable=False),
    sa.Column("journey_key", sa.String, nullable=False),
    sa.Column("version", sa.String, nullable=False),
    sa.Column("step_id", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False, default=RunStatus.ACTIVE.value),
    sa.Column("next_due", UtcDateTime(), nullable=False),
    sa.Column("wake", sa.Boolean, nullable=False, default=False),
    sa.Column("seq", sa.Integer, nullable=False, default=0),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("goal", sa.String),
    sa.Column("entered_at", UtcDateTime(), nullable=False),
    sa.Column("ended_at", UtcDateTime()),
    sa.Index(
        "runs_due",
        "status",
        "next_due",
        sqlite_where=sa.text(RUNS_DUE_WHERE),
    ),
    sa.Index("runs_contact", "contact_id", "journey_key"),
    sa.Index(
        "runs_woken",
        "status",
        sqlite_where=sa.text(RUNS_WOKEN_WHERE),
    ),
    # The database itself refuses a second live run of a contact in a journey.
    sa.Index(
        "runs_one_live",
        "contact_id",
        "journey_key",
        unique=True,
        sqlite_where=sa.text(RUNS_LIVE_WHERE),
    ),
)


#: One line of a contact's feed. ``kind``: enter, condition, split, wait, action,
#: goal, exit, end, skip, error. ``detail`` is the human sentence (with the values that
#: decided a condition); ``data`` the same as JSON for ``--json``.
Activity = sa.Table(
    "activity",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("contact_id", sa.Integer, nullable=False),
    sa.Column("run_id", sa.Integer),
    sa.Column("journey", sa.String),
    sa.Column("step_id", sa.String),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("outcome", sa.String),
    sa.Column("detail", sa.String, nullable=False),
    sa.Column("data", sa.String),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Index("activity_contact", "contact_id", "id"),
)


#: The inbox: ``kind`` is form_submitted, added_to_list, entered_segment,
#: field_changed or campaign_status_changed; ``name`` the form/list/segment/field/
#: campaign; ``value`` the new value where there is one.
Event = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("contact_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("value", sa.String),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("processed", sa.Boolean, nullable=False, default=False),
    sa.Index("events_pending", "processed", "id"),
)


#: The effect journal. ``status`` is ``pending`` from the intent until the outcome is
#: written in the same transaction as the run's advance.
Effect = sa.Table(
    "effects",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False, index=True),
    sa.Column("contact_id", sa.Integer, nullable=False),
    sa.Column("version", sa.String, nullable=False),
    sa.Column("step_id", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False, default="pending"),
    #: The rendered parameters as JSON: after a crash the same request is reconciled.
    sa.Column("params", sa.String, nullable=False),
    sa.Column("result", sa.String),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index(
        "effects_pending",
        "contact_id",
        sqlite_where=sa.text("status = 'pending'"),
    ),
)


#: A Salesforce record the sync keeps in step (keyed by its 18-character ID).
#: ``shadow`` (JSON) holds the record's mapped values as of the last cycle — the common
#: ancestor of a three-way merge: a side whose value differs from it changed. Our own
#: writes update it, so reading them back is not a change (echo suppression).
SyncRecord = sa.Table(
    "sync_records",
    metadata,
    sa.Column("salesforce_id", sa.String, primary_key=True),
    sa.Column("object", sa.String, nullable=False, index=True),
    sa.Column("contact_id", sa.Integer, index=True),
    sa.Column("account_id", sa.String, index=True),
    sa.Column("shadow", sa.String, nullable=False, default="{}"),
    sa.Column("modstamp", sa.String),
    #: False once a record no longer meets its criteria and is kept, unsynced.
    sa.Column("synced", sa.Boolean, nullable=False, default=True),
)


#: A record the sync could not take or write; retried every cycle until it works.
SyncError = sa.Table(
    "sync_errors",
    metadata,
    sa.Column("key", sa.String, primary_key=True),  # "<Object>:<record id>" or "contact:<id>"
    sa.Column("contact_id", sa.Integer, index=True),
    sa.Column("salesforce_id", sa.String),
    sa.Column("object", sa.String),
    sa.Column("direction", sa.String, nullable=False),  # "in" | "out"
    sa.Column("code", sa.String, nullable=False),
    sa.Column("message", sa.String, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("first_at", UtcDateTime(), nullable=False),
    sa.Column("last_at", UtcDateTime(), nullable=False),
)


#: Contacts linked to a Salesforce record whose fields changed in the engine since the
#: sync last looked (written by ``engine.contacts.write_contacts``).
SyncPending = sa.Table(
    "sync_pending",
    metadata,
    sa.Column("contact_id", sa.Integer, primary_key=True, autoincrement=False),
    #: When the engine last changed it: "latest wins" compares it with Salesforce's
    #: LastModifiedDate.
    sa.Column("marked_at", UtcDateTime()),
)


#: What the engine last looked up in Salesforce for a contact (``engine.linking``):
#: its record's ID, or ``email:<lower-cased email>`` when it had none. A contact whose
#: current ID or email differs is read again before a journey decides on it.
LinkRead = sa.Table(
    "link_reads",
    metadata,
    sa.Column("contact_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("looked_up", sa.String, nullable=False),
)


#: Key/value (JSON): per-object watermarks, the last cycle's summary.
SyncSetting = sa.Table(
    "sync_settings",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)


def insert_entering_runs(conn: Connection) -> Any:
    """``INSERT INTO runs`` that skips a run the one-live-run index (``runs_one_live``)
    refuses: another writer — a worker taking events, the Salesforce lists — entered the
    contact into that journey at the same moment, and the contact is already in."""
    stmt = upsert(conn, Run)
    return stmt.on_conflict_do_nothing(
        index_elements=["contact_id", "journey_key"], index_where=sa.text(RUNS_LIVE_WHERE)
    )


def enter_runs(conn: Connection, rows: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    """Insert entering runs (``entering_run`` rows) as ``insert_entering_runs`` does, and
    return the (id, contact_id, journey_key) of those stored — a run the one-live-run
    index refused has none. On PostgreSQL one ``unnest`` statement (``pg_rows``), whose
    text does not grow with the rows; on SQLite one ``executemany`` whose ids are known
    without ``RETURNING`` (``bulk_rows.inserted_ids``)."""
    if conn.dialect.name == "sqlite" and rows:
        names = list(rows[0])
        ids = inserted_ids(
            conn,
            Run,
            names,
            _tuples(rows, names),
            conflict=("contact_id", "journey_key"),
            conflict_where=RUNS_LIVE_WHERE,
        )
        if not ids:
            return []
        r = Run
        found = conn.execute(
            sa.select(r.c.id, r.c.contact_id, r.c.journey_key).where(
                r.c.id.between(ids.start, ids.stop - 1)
            )
        )
        return [(int(i), int(c), str(k)) for i, c, k in found]
    stored = insert_returning(
        conn,
        Run,
        rows,
        ("id", "contact_id", "journey_key"),
        conflict=("contact_id", "journey_key"),
        conflict_where=RUNS_LIVE_WHERE,
    )
    if stored is None:
        returned = (Run.c.id, Run.c.contact_id, Run.c.journey_key)
        stored = [
            tuple(r) for r in conn.execute(insert_entering_runs(conn).returning(*returned), rows)
        ]
    return [(int(i), int(c), str(k)) for i, c, k in stored]


def entering_run(
    contact_id: int, journey: str, journey_key: str, version: str, start: str, now: datetime
) -> dict[str, Any]:
    """The ``runs`` row of a contact entering ``journey`` now: at its first step, due at
    once (whether a trigger or a Salesforce list asked for it)."""
    return {
        "contact_id": contact_id,
        "journey": journey,
        "journey_key": journey_key,
        "version": version,
        "step_id": start,
        "status": RunStatus.ACTIVE.value,
        "next_due": now,
        "wake": False,
        "seq": 0,
        "attempts": 0,
        "entered_at": now,
    }


def insert_many(conn: Connection, tbl: sa.Table, rows: list[dict[str, Any]]) -> None:
    """``INSERT`` many rows (all with the same keys) in one set-based statement per batch
    (``engine.bulk_rows``): the same rows, the same values as ``conn.execute(sa.insert(tbl),
    rows)``, without SQLAlchemy's per-row compilation."""
    if rows:
        names = list(rows[0])
        insert_rows(conn, tbl, names, _tuples(rows, names))


def upsert_many(
    conn: Connection,
    tbl: sa.Table,
    rows: list[dict[str, Any]],
    conflict: Sequence[str],
    replace: Sequence[str],
) -> None:
    """``insert_many`` that replaces the ``replace`` columns of a row already stored with
    the same ``conflict`` columns (SQLite: ``bulk_rows.upsert_rows``)."""
    if rows:
        names = list(rows[0])
        upsert_rows(conn, tbl, names, _tuples(rows, names), conflict, replace)


def _tuples(rows: list[dict[str, Any]], names: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows' values in ``names`` order (``itemgetter``: in C, not a loop per value)."""
    if len(names) == 1:
        return [(r[names[0]],) for r in rows]
    return list(map(itemgetter(*names), rows))


def delete_many(
    conn: Connection, tbl: sa.Table, keys: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``DELETE FROM tbl WHERE (keys) = row`` for many rows (tuples in ``keys`` order),
    like ``insert_many`` (SQLite: ``bulk_rows.delete_rows``; PostgreSQL has its one
    statement, ``pg_rows.delete_rows``)."""
    if rows:
        delete_rows(conn, tbl, keys, rows)


def update_many(
    conn: Connection, tbl: sa.Table, key: str, rows: list[dict[str, Any]], key_param: str
) -> None:
    """``UPDATE tbl SET ... WHERE key = row[key_param]`` for many rows, like
    ``insert_many``."""
    if rows:
        names = [n for n in rows[0] if n != key_param]
        order = [*names, key_param]
        update_rows(conn, tbl, key, names, _tuples(rows, order))


class Store:
    """An open store: an engine plus the helpers every module shares."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: everything inside commits together or not at all."""
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    def revision(self) -> str | None:
        """The schema revision the store is at (``migrations.head()`` once open)."""
        with self.engine.connect() as conn:
            return migrations.revision(conn)


def open_store(url: str) -> Store:
    """Open the store at ``url``, created or migrated to the head revision first; a store
    that cannot be opened raises ``StoreOpenError`` (``engine.store_url``)."""
    engine = store_url.create_engine(url)  # a StoreOpenError says what is wrong with it
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", configure_sqlite)
    try:
        if not at_head(engine):  # nearly always at head: no Alembic to ask then
            migrations.upgrade(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise store_url.unreachable(url, exc) from None
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)


#: One notification email per effect key, written before it is handed to a mail server
#: (``connectors.notify``). ``state``: ``pending`` from the intent until the server
#: accepted it (``sent``) or refused it for good (``failed``, ``last_error`` says why).
#: The message is stored whole — recipients, subject, body, the Message-ID derived from
#: the key, ``created_at`` as its Date — so a resend after a crash or a 4xx is the same
#: message, which receivers deduplicate by its Message-ID.
NotificationOutbox = sa.Table(
    "notification_outbox",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("message_id", sa.String, nullable=False, unique=True),
    sa.Column("contact_id", sa.Integer, nullable=False),
    sa.Column("sender", sa.String, nullable=False),
    #: JSON list of addresses, in order (the journey's ``to`` first).
    sa.Column("recipients", sa.String, nullable=False),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("body", sa.String, nullable=False),
    sa.Column("state", sa.String, nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.String),
    #: When the engine's step retry is due to try a ``pending`` message again.
    sa.Column("next_attempt_at", UtcDateTime()),
    #: "smtp" or "folder" once sent; ``location`` the .eml file for "folder".
    sa.Column("via", sa.String),
    sa.Column("location", sa.String),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("sent_at", UtcDateTime()),
    sa.Index("notification_outbox_state", "state", "next_attempt_at"),
)
