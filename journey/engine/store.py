"""The store: everything the engine must remember between passes, in SQLModel tables.

Pipeline position: contacts in (import, events, sync) -> **store** <- triggers, executor,
runner. One SQLAlchemy URL chooses the database: a SQLite file (``.journey/state.db``,
WAL) by default, PostgreSQL through ``[store] url`` or ``JOURNEY_DATABASE_URL``.

Tables (the ``SQLModel`` classes below document each column):

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
Alembic, with a ``schema_version`` table, is adopted by its version), so these classes
and the database agree; a test fails while a model differs from the revisions. The same
revisions create the Salesforce connector's tables (``connectors.salesforce.state``),
which share the database but not these classes.

Hot paths (a pass over thousands of runs) use SQLAlchemy Core on these tables, and their
bulk writes one set-based statement per batch (``engine.bulk_rows``), rather than ORM
objects; the classes stay the single definition.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from journey.engine import migrations, store_url
from journey.engine.bulk_rows import insert_rows, update_rows
from journey.engine.run_status import RunStatus
from journey.engine.sqlite_setup import configure_sqlite
from journey.engine.store_revision import at_head

__all__ = [
    "LIVE_STATUSES",
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
    "entering_run",
    "insert_entering_runs",
    "insert_many",
    "open_store",
    "table",
    "update_many",
]


LIVE_STATUSES = (RunStatus.ACTIVE.value, RunStatus.WAITING.value, RunStatus.EFFECT.value)


class Company(SQLModel, table=True):
    __tablename__ = "companies"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    name_key: str = Field(unique=True)


class Contact(SQLModel, table=True):
    """A person a journey can take. ``email_key`` is the lower-cased email, the
    de-duplication key for contacts that do not come from Salesforce."""

    __tablename__ = "contacts"
    id: int | None = Field(default=None, primary_key=True)
    email: str | None = None
    email_key: str | None = Field(default=None, index=True)
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    company_id: int | None = Field(default=None, foreign_key="companies.id")
    salesforce_id: str | None = Field(default=None, index=True)
    salesforce_type: str | None = None  # "Lead" | "Contact" | None
    owner_id: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    created_at: datetime
    updated_at: datetime


class FieldValue(SQLModel, table=True):
    """A non-core field of a contact, typed as ``journey.toml`` declares it."""

    __tablename__ = "field_values"
    contact_id: int = Field(foreign_key="contacts.id", primary_key=True)
    name_key: str = Field(primary_key=True)
    name: str
    type: str = "Text"
    text: str
    number: float | None = None
    date_value: date | None = None
    flag: bool | None = None


class ContactList(SQLModel, table=True):
    __tablename__ = "lists"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    name_key: str = Field(unique=True)


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"
    list_id: int = Field(foreign_key="lists.id", primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", primary_key=True, index=True)
    added_at: datetime


class SegmentMember(SQLModel, table=True):
    __tablename__ = "segment_members"
    segment_key: str = Field(primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", primary_key=True, index=True)


class CampaignStatus(SQLModel, table=True):
    __tablename__ = "campaign_statuses"
    contact_id: int = Field(foreign_key="contacts.id", primary_key=True)
    campaign_key: str = Field(primary_key=True)
    campaign: str
    status: str


class JourneyVersion(SQLModel, table=True):
    __tablename__ = "journey_versions"
    version: str = Field(primary_key=True)
    name: str
    path: str
    source: str
    first_seen: datetime


class PublishedJourney(SQLModel, table=True):
    """The version of a journey that new runs enter now (``journey publish``, or a worker's
    republishing): one row per journey (``journey_key``), gone when its file is."""

    __tablename__ = "published_journeys"
    journey_key: str = Field(primary_key=True)
    name: str
    version: str
    path: str
    published_at: datetime


class Run(SQLModel, table=True):
    """One contact's walk through one journey entry. ``seq`` counts the steps taken and
    makes each effect's idempotency key unique even when ``go to`` revisits a step."""

    __tablename__ = "runs"
    __table_args__ = (
        sa.Index("runs_due", "status", "next_due"),
        sa.Index("runs_contact", "contact_id", "journey_key"),
        sa.Index("runs_woken", "wake", "status"),
        # The database itself refuses a second live run of a contact in a journey.
        sa.Index(
            "runs_one_live",
            "contact_id",
            "journey_key",
            unique=True,
            sqlite_where=sa.text("status IN ('active', 'waiting', 'effect')"),
            postgresql_where=sa.text("status IN ('active', 'waiting', 'effect')"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id")
    journey: str
    journey_key: str
    version: str
    step_id: str
    status: str = RunStatus.ACTIVE.value
    next_due: datetime
    wake: bool = False
    seq: int = 0
    attempts: int = 0
    goal: str | None = None
    entered_at: datetime
    ended_at: datetime | None = None


class Activity(SQLModel, table=True):
    """One line of a contact's feed. ``kind``: enter, condition, split, wait, action,
    goal, exit, end, skip, error. ``detail`` is the human sentence (with the values that
    decided a condition); ``data`` the same as JSON for ``--json``."""

    __tablename__ = "activity"
    __table_args__ = (sa.Index("activity_contact", "contact_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int
    run_id: int | None = None
    journey: str | None = None
    step_id: str | None = None
    kind: str
    outcome: str | None = None
    detail: str
    data: str | None = None
    at: datetime


class Event(SQLModel, table=True):
    """The inbox: ``kind`` is form_submitted, added_to_list, entered_segment,
    field_changed or campaign_status_changed; ``name`` the form/list/segment/field/
    campaign; ``value`` the new value where there is one."""

    __tablename__ = "events"
    __table_args__ = (sa.Index("events_pending", "processed", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str
    contact_id: int
    name: str
    value: str | None = None
    at: datetime
    processed: bool = False


class Effect(SQLModel, table=True):
    """The effect journal. ``status`` is ``pending`` from the intent until the outcome is
    written in the same transaction as the run's advance."""

    __tablename__ = "effects"
    # The intents without an outcome, for recovery's look at every pass (``engine.claims``).
    __table_args__ = (
        sa.Index(
            "effects_pending",
            "contact_id",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )
    key: str = Field(primary_key=True)
    run_id: int = Field(index=True)
    contact_id: int
    version: str
    step_id: str
    status: str = "pending"
    #: The rendered parameters as JSON: after a crash the same request is reconciled.
    params: str
    result: str | None = None
    created_at: datetime


class SyncRecord(SQLModel, table=True):
    """A Salesforce record the sync keeps in step (keyed by its 18-character ID).
    ``shadow`` (JSON) holds the record's mapped values as of the last cycle — the common
    ancestor of a three-way merge: a side whose value differs from it changed. Our own
    writes update it, so reading them back is not a change (echo suppression)."""

    __tablename__ = "sync_records"
    salesforce_id: str = Field(primary_key=True)
    object: str = Field(index=True)
    contact_id: int | None = Field(default=None, index=True)
    account_id: str | None = Field(default=None, index=True)
    shadow: str = "{}"
    modstamp: str | None = None
    #: False once a record no longer meets its criteria and is kept, unsynced.
    synced: bool = True


class SyncError(SQLModel, table=True):
    """A record the sync could not take or write; retried every cycle until it works."""

    __tablename__ = "sync_errors"
    key: str = Field(primary_key=True)  # "<Object>:<record id>" or "contact:<id>"
    contact_id: int | None = Field(default=None, index=True)
    salesforce_id: str | None = None
    object: str | None = None
    direction: str  # "in" | "out"
    code: str
    message: str
    attempts: int = 1
    first_at: datetime
    last_at: datetime


class SyncPending(SQLModel, table=True):
    """Contacts linked to a Salesforce record whose fields changed in the engine since the
    sync last looked (written by ``engine.contacts.write_contacts``)."""

    __tablename__ = "sync_pending"
    contact_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    #: When the engine last changed it: "latest wins" compares it with Salesforce's
    #: LastModifiedDate.
    marked_at: datetime | None = None


class LinkRead(SQLModel, table=True):
    """What the engine last looked up in Salesforce for a contact (``engine.linking``):
    its record's ID, or ``email:<lower-cased email>`` when it had none. A contact whose
    current ID or email differs is read again before a journey decides on it."""

    __tablename__ = "link_reads"
    contact_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    looked_up: str


class SyncSetting(SQLModel, table=True):
    """Key/value (JSON): per-object watermarks, the last cycle's summary."""

    __tablename__ = "sync_settings"
    key: str = Field(primary_key=True)
    value: str


def insert_entering_runs(conn: Connection) -> Any:
    """``INSERT INTO runs`` that skips a run the one-live-run index (``runs_one_live``)
    refuses: another writer — a worker taking events, the Salesforce lists — entered the
    contact into that journey at the same moment, and the contact is already in."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table(Run))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table(Run))
    one_live = next(i for i in table(Run).indexes if i.name == "runs_one_live")
    where = one_live.dialect_options[conn.dialect.name]["where"]
    return stmt.on_conflict_do_nothing(
        index_elements=["contact_id", "journey_key"], index_where=where
    )


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


def table(model: type[SQLModel]) -> sa.Table:
    """The Core table of a model, for bulk statements."""
    result = model.__table__  # type: ignore[attr-defined]
    assert isinstance(result, sa.Table)
    return result


def insert_many(conn: Connection, tbl: sa.Table, rows: list[dict[str, Any]]) -> None:
    """``INSERT`` many rows (all with the same keys) in one set-based statement per batch
    (``engine.bulk_rows``): the same rows, the same values as ``conn.execute(sa.insert(tbl),
    rows)``, without SQLAlchemy's per-row compilation."""
    if rows:
        names = list(rows[0])
        insert_rows(conn, tbl, names, [tuple(r[n] for n in names) for r in rows])


def update_many(
    conn: Connection, tbl: sa.Table, key: str, rows: list[dict[str, Any]], key_param: str
) -> None:
    """``UPDATE tbl SET ... WHERE key = row[key_param]`` for many rows, like
    ``insert_many``."""
    if rows:
        names = [n for n in rows[0] if n != key_param]
        order = [*names, key_param]
        update_rows(conn, tbl, key, names, [tuple(r[n] for n in order) for r in rows])


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


class NotificationOutbox(SQLModel, table=True):
    """One notification email per effect key, written before it is handed to a mail server
    (``connectors.notify``). ``state``: ``pending`` from the intent until the server
    accepted it (``sent``) or refused it for good (``failed``, ``last_error`` says why).
    The message is stored whole — recipients, subject, body, the Message-ID derived from
    the key, ``created_at`` as its Date — so a resend after a crash or a 4xx is the same
    message, which receivers deduplicate by its Message-ID."""

    __tablename__ = "notification_outbox"
    __table_args__ = (sa.Index("notification_outbox_state", "state", "next_attempt_at"),)
    key: str = Field(primary_key=True)
    message_id: str = Field(unique=True)
    contact_id: int
    sender: str
    #: JSON list of addresses, in order (the journey's ``to`` first).
    recipients: str
    subject: str
    body: str
    state: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    #: When the engine's step retry is due to try a ``pending`` message again.
    next_attempt_at: datetime | None = None
    #: "smtp" or "folder" once sent; ``location`` the .eml file for "folder".
    via: str | None = None
    location: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
