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
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from journey.connectors.notify.message import Letter
from journey.engine.store import NotificationOutbox, table

__all__ = ["Outbox"]

_TABLE = table(NotificationOutbox)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _letter(row: Any) -> Letter:
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
        with self.engine.begin() as conn:
            known = {
                r.key
                for start in range(0, len(keys), 500)
                for r in conn.execute(
                    sa.select(_TABLE.c.key).where(_TABLE.c.key.in_(keys[start : start + 500]))
                )
            }
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
                for letter in letters
                if letter.key not in known
            ]
            if fresh:
                conn.execute(_TABLE.insert(), fresh)
        return self.load(keys)

    def sent(self, key: str, via: str, location: str | None, now: datetime) -> None:
        self._update(
            key, state="sent", via=via, location=location, sent_at=now, next_attempt_at=None
        )

    def setback(self, key: str, attempts: int, error: str, retry_at: datetime) -> None:
        self._update(key, attempts=attempts, last_error=error, next_attempt_at=retry_at)

    def failed(self, key: str, attempts: int, error: str) -> None:
        self._update(key, state="failed", attempts=attempts, last_error=error, next_attempt_at=None)

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

    def _update(self, key: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            # A sent letter stays sent, whatever a slower process says afterwards.
            conn.execute(
                _TABLE.update()
                .where(_TABLE.c.key == key, _TABLE.c.state != "sent")
                .values(**values)
            )
