"""The notification outbox: the store's record of every email, before and after sending.

Pipeline position: ``delivery`` → **outbox** → the store's ``notification_outbox`` table
(``engine.store.NotificationOutbox``, revision ``0007_notification_outbox``), in the same
database as the connector's state. Each write is its own short transaction, so what it says
is durable before the next step happens:

* ``intend`` writes a letter ``pending`` *before* any server sees it; a letter already there
  (a retry, a run recovered after a crash) is kept as it is, so a resend is the same message
  with the same Message-ID;
* ``sent`` right after the server accepted that one message: between the acceptance and
  this write lies the whole window in which a crash can make a message go twice — one
  message, deduplicated by its Message-ID;
* ``setback`` counts a transient failure and says when the step retry comes back;
  ``failed`` ends a letter for good — it is never sent again.

Many workers, one letter. A run whose claim lapsed (a worker stalled, not dead) may be
taken by a second worker while the first still sends its letter. ``hold`` therefore takes
the letter's row lock (``SELECT … FOR UPDATE``, PostgreSQL) for the one message's send
and writes its new state in that same transaction: a second worker waits on the lock and
then finds it ``sent``, never sends it too; a worker killed mid-send loses its lock with
its connection, and the next one sends it (the same message, the same Message-ID). When
the store drops the connection after the server accepted the message (a PostgreSQL
restart), ``sent`` is written again on a fresh connection until the store is back, so the
restart never makes it go twice. SQLite stores are single-worker: there the writes are
short transactions of their own, as the lock would stop the whole file during the send.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from journey.engine.store import NotificationOutbox
from journey.sql_upsert import upsert

# ``message`` composes mail (the email package): a connector prunes the outbox when it
# opens, and only a read of its letters needs them as ``Letter``s.
if TYPE_CHECKING:
    from journey.connectors.notify.message import Letter

__all__ = ["Held", "Outbox"]

#: How long ``sent`` is written again after the store dropped its connection (a restart):
#: an upper bound, so a store that stays down ends in the error rather than a hang.
RECORD_FOR_SECONDS = 120.0

_TABLE = NotificationOutbox


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _letter(row: Any) -> Letter:
    from journey.connectors.notify.message import Letter

    return Letter(
        key=row.key,
        contact_id=int(row.contact_id),
        message_id=row.message_id,
        sender=row.sender,
        recipients=tuple(json.loads(row.recipients)),
        subject=row.subject,
        body=row.body,
        created_at=_utc(row.created_at),
        state=row.state,
        attempts=int(row.attempts),
        last_error=row.last_error,
        via=row.via,
        location=row.location,
    )


class Outbox:
    """The outbox table in the (migrated) store behind ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, keys: Iterable[str]) -> dict[str, Letter]:
        wanted = list(dict.fromkeys(keys))
        out: dict[str, Letter] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    sa.select(_TABLE).where(_TABLE.c.key.in_(wanted[start : start + 500]))
                )
                out.update((row.key, _letter(row)) for row in rows)
        return out

    def intend(self, letters: Sequence[Letter]) -> dict[str, Letter]:
        """Write the letters not yet in the outbox (``pending``); returns every letter as
        stored — an existing one wins over the new draft."""
        if not letters:
            return {}
        keys = [letter.key for letter in letters]
        fresh = [
            {
                "key": letter.key,
                "message_id": letter.message_id,
                "contact_id": letter.contact_id,
                "sender": letter.sender,
                "recipients": json.dumps(list(letter.recipients)),
                "subject": letter.subject,
                "body": letter.body,
                "state": "pending",
                "attempts": 0,
                "last_error": None,
                "next_attempt_at": None,
                "via": None,
                "location": None,
                "created_at": letter.created_at,
                "sent_at": None,
            }
            for letter in {letter.key: letter for letter in letters}.values()
        ]
        with self.engine.begin() as conn:
            # Another worker may write the same letter at the same moment: its draft (the
            # same message) stands.
            conn.execute(upsert(conn, _TABLE).on_conflict_do_nothing(), fresh)
        return self.load(keys)

    @contextmanager
    def hold(self, key: str) -> Iterator[Held]:
        """The letter ``key`` as stored now, held for one send (see the module docstring):
        the ``Held``'s writes are the send's outcome."""
        held = Held(self, key)
        query = sa.select(_TABLE).where(_TABLE.c.key == key)
        if self.engine.dialect.name != "postgresql":
            with self.engine.connect() as conn:
                row = conn.execute(query).one_or_none()
            held.letter = None if row is None else _letter(row)
            yield held
            return
        try:
            with self.engine.begin() as conn:
                row = conn.execute(query.with_for_update()).one_or_none()
                held.letter = None if row is None else _letter(row)
                held.conn = conn
                yield held
                held.conn = None
        except sa.exc.SQLAlchemyError:
            # (the commit of a transaction whose connection the store dropped)
            if held.accepted is None:
                raise
            if not held.recorded:
                self._record_sent(key, held.accepted)

    def _record_sent(self, key: str, values: dict[str, Any]) -> None:
        """``sent`` on a fresh connection, again until the store answers (bounded)."""
        deadline = time.monotonic() + RECORD_FOR_SECONDS
        while True:
            try:
                self._update(key, **values)
                return
            except sa.exc.DBAPIError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def sent(self, key: str, via: str, location: str | None, now: datetime) -> None:
        self._update(key, **_sent(via, location, now))

    def setback(self, key: str, attempts: int, error: str, retry_at: datetime) -> None:
        self._update(key, **_setback(attempts, error, retry_at))

    def failed(self, key: str, attempts: int, error: str) -> None:
        self._update(key, **_failed(attempts, error))

    def prune(self, before: datetime) -> int:
        """Forget letters settled (sent or failed) before ``before``, as the connector's
        journal forgets its requests: their effects are long recorded, and the bodies need
        not be kept. Pending letters stay, however old. Returns how many went."""
        settled = _TABLE.c.state.in_(("sent", "failed"))
        with self.engine.begin() as conn:
            gone = conn.execute(
                _TABLE.delete().where(settled, _TABLE.c.created_at < before)
            ).rowcount
        return int(gone or 0)

    def _update(self, key: str, conn: Connection | None = None, **values: Any) -> None:
        # A sent letter stays sent, whatever a slower process says afterwards.
        change = (
            _TABLE.update().where(_TABLE.c.key == key, _TABLE.c.state != "sent").values(**values)
        )
        if conn is not None:
            conn.execute(change)
            return
        with self.engine.begin() as fresh:
            fresh.execute(change)


class Held:
    """A letter held for its send: ``letter`` as stored when the hold began (``None``: not
    in the outbox); ``sent``, ``setback`` and ``failed`` write its outcome — inside the
    hold's transaction on PostgreSQL."""

    def __init__(self, outbox: Outbox, key: str) -> None:
        self.outbox, self.key = outbox, key
        self.letter: Letter | None = None
        self.conn: Connection | None = None
        #: The ``sent`` values once the server accepted the message.
        self.accepted: dict[str, Any] | None = None
        #: Written on a fresh connection, the hold's own having been dropped.
        self.recorded = False

    def sent(self, via: str, location: str | None, now: datetime) -> None:
        """The server accepted the message: recorded whatever the store does meanwhile."""
        self.accepted = _sent(via, location, now)
        try:
            self.outbox._update(self.key, self.conn, **self.accepted)
        except sa.exc.DBAPIError:
            if self.conn is None:
                raise
            self.outbox._record_sent(self.key, self.accepted)
            self.recorded = True

    def setback(self, attempts: int, error: str, retry_at: datetime) -> None:
        self.outbox._update(self.key, self.conn, **_setback(attempts, error, retry_at))

    def failed(self, attempts: int, error: str) -> None:
        self.outbox._update(self.key, self.conn, **_failed(attempts, error))


def _sent(via: str, location: str | None, now: datetime) -> dict[str, Any]:
    return {
        "state": "sent",
        "via": via,
        "location": location,
        "sent_at": now,
        "next_attempt_at": None,
    }


def _setback(attempts: int, error: str, retry_at: datetime) -> dict[str, Any]:
    return {"attempts": attempts, "last_error": error, "next_attempt_at": retry_at}


def _failed(attempts: int, error: str) -> dict[str, Any]:
    return {"state": "failed", "attempts": attempts, "last_error": error, "next_attempt_at": None}
