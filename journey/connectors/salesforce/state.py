"""What the Salesforce connector must remember between passes and processes, in the store.

Pipeline position: beside the engine's store (same database, ``ProjectConfig.store_url``),
owned by the connector. The engine's tables are not ours to extend, so the connector keeps
four small tables of its own:

* ``sf_links`` — contact → the Salesforce record the connector created for it. Written in
  its own transaction the moment Salesforce answers, so a contact is never created twice:
  not by two journeys acting in one pass, not after a crash before the engine committed.
* ``sf_effects`` — per idempotency key: when the request went out and, once known, its
  result. ``reconcile`` answers from it, and queries Salesforce for the rest.
* ``sf_round_robin`` — per group and user, the sequence number of the user's last
  assignment: least recently assigned goes next, across restarts; the user a request
  took is journaled with it (``sf_effects.turn``), so its retry takes no second turn.
  Picks happen inside one write transaction (``BEGIN IMMEDIATE`` on SQLite, a lock on the
  group, ``SELECT … FOR UPDATE`` on PostgreSQL), so two workers never hand out the same
  turn.
* ``sf_settings`` — key/value: the pause (why, until when), the org's facts, the kept
  describes.
* ``sf_api_calls`` — per UTC day, the calls every process made and the org's last
  ``api-usage`` figures: each process adds its calls with one atomic upsert per batch
  (``budget.count_calls``), so the daily cap holds across workers and machines.

Many workers on one PostgreSQL store write these tables at once, so every write is
race-free on its own: inserts that may meet a row another process just wrote are upserts
(``ON CONFLICT``), counters are incremented in the database, never read, added to and
written back.

The classes below are how the connector reads and writes them; the tables themselves are
made by the store's migrations (``engine.migrations``, revisions
``0003_salesforce_connector`` and ``0012_sf_api_calls``), so they change only through a
revision like the engine's.
``ConnectorState`` therefore needs a migrated store — ``open_connector`` migrates it — and
refuses, saying so, one without its tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from journey.sql_types import UtcDateTime
from journey.sql_upsert import upsert

__all__ = [
    "ApiCalls",
    "ApiDay",
    "ConnectorState",
    "Link",
    "RecordLink",
    "RoundRobinTurn",
    "SentEffect",
    "Setting",
    "UnmigratedStoreError",
]


class UnmigratedStoreError(RuntimeError):
    """The store has not been migrated to hold the connector's tables."""


#: The connector's own tables, apart from the engine's (``engine.store``): the connector
#: reads and writes only these.
connector_metadata = sa.MetaData()


#: A Salesforce record the connector created for a contact.
RecordLink = sa.Table(
    "sf_links",
    connector_metadata,
    sa.Column("contact_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("salesforce_id", sa.String, nullable=False),
    sa.Column("salesforce_type", sa.String, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)


#: One request sent to Salesforce: ``result`` (JSON) is set once its outcome is known.
SentEffect = sa.Table(
    "sf_effects",
    connector_metadata,
    sa.Column("key", sa.String, primary_key=True),
    #: Indexed: every batch asks which of its contacts have a write still in doubt.
    sa.Column("contact_id", sa.Integer, nullable=False, index=True),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("sent_at", UtcDateTime(), nullable=False),
    sa.Column("result", sa.String),
    #: The round-robin owner this request took (``take_turns``), for its retry after a crash.
    sa.Column("turn", sa.String),
)


#: When a group's user was last given a lead (a per-group sequence number).
RoundRobinTurn = sa.Table(
    "sf_round_robin",
    connector_metadata,
    sa.Column("group_name", sa.String, primary_key=True),
    sa.Column("user", sa.String, primary_key=True),
    sa.Column("last_turn", sa.Integer, nullable=False, default=0),
)


Setting = sa.Table(
    "sf_settings",
    connector_metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)


#: One UTC day's API calls by every process of the project, and the org's figures
#: (``api-usage=USED/MAX``) as last seen (``seen_at``) by any of them.
ApiCalls = sa.Table(
    "sf_api_calls",
    connector_metadata,
    sa.Column("day", sa.String, primary_key=True),
    sa.Column("calls", sa.Integer, nullable=False, default=0),
    sa.Column("org_used", sa.Integer),
    sa.Column("org_limit", sa.Integer),
    sa.Column("seen_at", UtcDateTime()),
)


@dataclass(frozen=True)
class ApiDay:
    """``sf_api_calls``'s row for a day, as the database holds it after a count."""

    day: str
    calls: int
    org_used: int | None
    org_limit: int | None


_TABLES = [RecordLink, SentEffect, RoundRobinTurn, Setting, ApiCalls]


@dataclass(frozen=True)
class Link:
    salesforce_id: str
    salesforce_type: Literal["Lead", "Contact"]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class ConnectorState:
    """The connector's tables in the (migrated) store at ``url``."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = sa.create_engine(url)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_connect)
            sa.event.listen(self.engine, "begin", _sqlite_begin_immediate)
        with self.engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
        missing = [t.name for t in _TABLES if t.name not in present]
        if missing:
            where = self.engine.url.render_as_string(hide_password=True)
            self.engine.dispose()
            raise UnmigratedStoreError(
                f"the store {where} has no {', '.join(missing)}: it has not been migrated "
                "for the Salesforce connector; any journey command migrates it "
                "(journey status), or journey.engine.store.open_store"
            )

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # ---- links ----------------------------------------------------------------------------
    def links(self, contact_ids: Iterable[int]) -> dict[int, Link]:
        ids = list(set(contact_ids))
        table = RecordLink
        out: dict[int, Link] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(
                    sa.select(table).where(table.c.contact_id.in_(ids[start : start + 500]))
                )
                for row in rows:
                    kind: Literal["Lead", "Contact"] = (
                        "Contact" if row.salesforce_type == "Contact" else "Lead"
                    )
                    out[int(row.contact_id)] = Link(row.salesforce_id, kind)
        return out

    def save_links(self, links: Mapping[int, Link], now: datetime) -> None:
        """Remember created records (a converted Lead's link moves to its new Contact)."""
        if not links:
            return
        table = RecordLink
        with self._begin() as conn:
            insert = upsert(conn, table)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[table.c.contact_id],
                    set_={
                        "salesforce_id": insert.excluded.salesforce_id,
                        "salesforce_type": insert.excluded.salesforce_type,
                        "created_at": insert.excluded.created_at,
                    },
                ),
                [
                    {
                        "contact_id": cid,
                        "salesforce_id": link.salesforce_id,
                        "salesforce_type": link.salesforce_type,
                        "created_at": now,
                    }
                    for cid, link in links.items()
                ],
            )

    # ---- the effect journal ---------------------------------------------------------------
    def mark_sent(self, rows: Sequence[tuple[str, int, str]], now: datetime) -> None:
        """(key, contact id, action) — before the first Salesforce call of a batch."""
        if not rows:
            return
        table = SentEffect
        # Another process may journal the same key at the same moment (a run whose claim
        # lapsed): the first entry stands, with its time.
        with self._begin() as conn:
            conn.execute(
                upsert(conn, table).on_conflict_do_nothing(index_elements=[table.c.key]),
                [
                    {"key": k, "contact_id": c, "action": a, "sent_at": now, "result": None}
                    for k, c, a in dict.fromkeys(rows)
                ],
            )

    def prune(self, before: datetime) -> int:
        """Forget journal entries sent before ``before`` (a crash is recovered from long
        before that); returns how many went."""
        table = SentEffect
        with self._begin() as conn:
            gone = conn.execute(table.delete().where(table.c.sent_at < before)).rowcount
        return int(gone or 0)

    def record_results(self, results: Mapping[str, str]) -> None:
        """key → result JSON, for the requests whose outcome is final."""
        if not results:
            return
        table = SentEffect
        with self._begin() as conn:
            conn.execute(
                table.update().where(table.c.key == sa.bindparam("k")),
                [{"k": k, "result": v} for k, v in results.items()],
            )

    def sent(self, keys: Iterable[str]) -> dict[str, tuple[datetime, str | None]]:
        """key → (sent at, result JSON or None) for the keys that went out."""
        wanted = list(keys)
        table = SentEffect
        out: dict[str, tuple[datetime, str | None]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    sa.select(table).where(table.c.key.in_(wanted[start : start + 500]))
                )
                for row in rows:
                    out[str(row.key)] = (_utc(row.sent_at), row.result)
        return out

    def in_doubt(
        self, contact_ids: Iterable[int], action: str, code: str, besides: Iterable[str]
    ) -> dict[int, tuple[str, datetime]]:
        """contact id → (key, sent at) of its oldest earlier ``action`` request whose
        result carries the error ``code`` (an answer lost and not found since), other than
        ``besides``. Entries without a result are left alone: they are the crash
        recovery's, or another process's in flight."""
        ids, skip = list(set(contact_ids)), set(besides)
        # The result is the JSON ``result_to_json`` wrote, with its default separators.
        marked = f'%"error_code": "{code}"%'
        table = SentEffect
        out: dict[int, tuple[str, datetime]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(
                    sa.select(table.c.key, table.c.contact_id, table.c.sent_at)
                    .where(
                        table.c.result.like(marked),
                        table.c.action == action,
                        table.c.contact_id.in_(ids[start : start + 500]),
                    )
                    .order_by(table.c.sent_at)
                )
                for row in rows:
                    if row.key not in skip:
                        out.setdefault(int(row.contact_id), (str(row.key), _utc(row.sent_at)))
        return out

    # ---- round robin ----------------------------------------------------------------------
    def take_turns(
        self, group: str, users: Sequence[str], count: int, keys: Sequence[str] = ()
    ) -> list[str]:
        """The next ``count`` owners for ``group``, least recently assigned first (ties:
        the order in ``journey.toml``); the turns are committed before they are returned.
        ``keys``: the requests the owners are for (journaled by ``mark_sent``), one per
        owner — a request that took its turn before (a call whose answer a crash lost)
        gets the same owner again rather than a second turn, so the turns the org sees
        stay even."""
        if count <= 0:
            return []
        table, journal = RoundRobinTurn, SentEffect
        key = group.casefold()
        with self._begin() as conn:
            if conn.dialect.name == "postgresql":
                # Row locks cannot cover the group's first turn (no rows yet): lock the
                # group's name for the transaction instead.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:g))"), {"g": key})
            earlier: dict[str, str] = {}
            for start in range(0, len(keys), 500):
                found = conn.execute(
                    sa.select(journal.c.key, journal.c.turn).where(
                        journal.c.key.in_(keys[start : start + 500]), journal.c.turn.is_not(None)
                    )
                )
                earlier.update((str(r.key), str(r.turn)) for r in found if r.turn in users)
            rows = conn.execute(
                sa.select(table).where(table.c.group_name == key).with_for_update()
            ).all()
            last = {str(r.user): int(r.last_turn) for r in rows}
            turn = max(last.values(), default=0)
            fresh = [u for u in users if u not in last]
            if fresh:
                conn.execute(
                    table.insert(), [{"group_name": key, "user": u, "last_turn": 0} for u in fresh]
                )
            order = {u: i for i, u in enumerate(users)}
            current = {u: last.get(u, 0) for u in users}
            picks: list[str] = []
            taken: list[dict[str, str]] = []
            for index in range(count):
                asked = keys[index] if index < len(keys) else None
                if asked is not None and asked in earlier:
                    picks.append(earlier[asked])
                    continue
                user = min(users, key=lambda u: (current[u], order[u]))
                turn += 1
                current[user] = turn
                picks.append(user)
                if asked is not None:
                    taken.append({"k": asked, "turn": user})
            conn.execute(
                table.update().where(table.c.group_name == key, table.c.user == sa.bindparam("u")),
                [{"u": u, "last_turn": current[u]} for u in users],
            )
            if taken:
                conn.execute(journal.update().where(journal.c.key == sa.bindparam("k")), taken)
        return picks

    # ---- settings -------------------------------------------------------------------------
    def get(self, key: str) -> Any:
        table = Setting
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(table.c.value).where(table.c.key == key)).scalar()
        return None if value is None else json.loads(value)

    def put(self, key: str, value: Any) -> None:
        """Set (``None``: remove) a setting; the last writer's value stands."""
        table = Setting
        with self._begin() as conn:
            if value is None:
                conn.execute(table.delete().where(table.c.key == key))
                return
            insert = upsert(conn, table)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[table.c.key], set_={"value": insert.excluded.value}
                ),
                [{"key": key, "value": json.dumps(value)}],
            )

    def remove_if(self, key: str, value: Any) -> None:
        """Remove the setting only while it still holds ``value`` (as ``get`` read it)."""
        table = Setting
        with self._begin() as conn:
            conn.execute(
                table.delete().where(table.c.key == key, table.c.value == json.dumps(value))
            )


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, open transactions, so "begin" can say IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # SQLite has no row locks: take the write lock up front, so a read-then-write (a
    # round-robin turn) cannot interleave with another process's.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
