"""The sync's memory in the store: record links and shadows, watermarks, errors, pending.

Pipeline position: the cycle (``engine.sync.cycle``) -> **records** -> the ``sync_*``
tables of ``engine.store`` (schema version 2). Everything here runs inside the caller's
transaction, so a cycle's merge, shadows, watermark and errors commit together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.store import (
    Activity,
    SyncError,
    SyncPending,
    SyncRecord,
    SyncSetting,
)

__all__ = [
    "ERRORS_LIST",
    "Linked",
    "clear_errors",
    "error_rows",
    "forget_records",
    "get_setting",
    "load_records",
    "note_restored",
    "put_setting",
    "record_error",
    "save_records",
    "synced_ids",
    "take_pending",
    "unmark",
]

#: The list a contact joins while one of its records cannot be synced.
ERRORS_LIST = "Salesforce Sync Errors"


@dataclass
class Linked:
    """A synced record: its contact (None for accounts and campaign members), its account
    (for the Account fields shown on a contact) and the shadow (path -> text)."""

    salesforce_id: str
    object: str
    contact_id: int | None = None
    account_id: str | None = None
    shadow: dict[str, str] | None = None
    modstamp: str | None = None
    synced: bool = True
    known: bool = True  # False: first seen in this cycle


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_records(
    conn: Connection,
    *,
    ids: Iterable[str] = (),
    contact_ids: Iterable[int] = (),
    account_ids: Iterable[str] = (),
) -> list[Linked]:
    """The sync records with these Salesforce IDs, of these contacts, or of these accounts."""
    sr = SyncRecord
    out: dict[str, Linked] = {}
    for column, values in (
        (sr.c.salesforce_id, list(dict.fromkeys(ids))),
        (sr.c.contact_id, list(dict.fromkeys(contact_ids))),
        (sr.c.account_id, list(dict.fromkeys(account_ids))),
    ):
        for chunk in _chunks(values):
            for r in conn.execute(sa.select(sr).where(column.in_(chunk))):
                out[r.salesforce_id] = Linked(
                    r.salesforce_id,
                    r.object,
                    r.contact_id,
                    r.account_id,
                    json.loads(r.shadow),
                    r.modstamp,
                    bool(r.synced),
                )
    return list(out.values())


def save_records(conn: Connection, records: Sequence[Linked]) -> None:
    """Insert or replace these records."""
    if not records:
        return
    sr = SyncRecord
    ids = [r.salesforce_id for r in records]
    for chunk in _chunks(ids):
        conn.execute(sa.delete(sr).where(sr.c.salesforce_id.in_(chunk)))
    conn.execute(
        sa.insert(sr),
        [
            {
                "salesforce_id": r.salesforce_id,
                "object": r.object,
                "contact_id": r.contact_id,
                "account_id": r.account_id,
                "shadow": json.dumps(r.shadow, sort_keys=True),  # null: never read yet
                "modstamp": r.modstamp,
                "synced": r.synced,
            }
            for r in records
        ],
    )


def synced_ids(conn: Connection, sobject: str) -> list[str]:
    """The Salesforce IDs of the object's records the sync keeps in step."""
    sr = SyncRecord
    query = sa.select(sr.c.salesforce_id).where(sr.c.object == sobject, sr.c.synced.is_(True))
    return [str(i) for i in conn.execute(query).scalars()]


def forget_records(conn: Connection, ids: Sequence[str]) -> None:
    sr = SyncRecord
    for chunk in _chunks(list(ids)):
        conn.execute(sa.delete(sr).where(sr.c.salesforce_id.in_(chunk)))


def take_pending(conn: Connection, limit: int = 5000) -> dict[int, datetime | None]:
    """Claim up to ``limit`` pending contacts (removed here; put back on failure)."""
    sp = SyncPending
    rows = conn.execute(sa.select(sp.c.contact_id).order_by(sp.c.contact_id).limit(limit)).all()
    ids = [int(r.contact_id) for r in rows]
    for chunk in _chunks(ids):
        conn.execute(sa.delete(sp).where(sp.c.contact_id.in_(chunk)))
    return dict.fromkeys(ids)


def get_setting(conn: Connection, key: str) -> Any:
    ss = SyncSetting
    value = conn.execute(sa.select(ss.c.value).where(ss.c.key == key)).scalar()
    return None if value is None else json.loads(value)


def put_setting(conn: Connection, key: str, value: Any) -> None:
    ss = SyncSetting
    conn.execute(sa.delete(ss).where(ss.c.key == key))
    conn.execute(sa.insert(ss).values(key=key, value=json.dumps(value, default=str)))


def unmark(conn: Connection, contact_ids: Sequence[int]) -> None:
    """No longer pending: what the sync itself just wrote needs no comparison."""
    sp = SyncPending
    for start in range(0, len(contact_ids), 500):
        conn.execute(sa.delete(sp).where(sp.c.contact_id.in_(contact_ids[start : start + 500])))


def note_restored(
    conn: Connection,
    contact_id: int,
    restored: Sequence[tuple[str, str, str]],
    now: datetime,
) -> None:
    """The feed says why a value written in the engine did not stay: the field is inbound
    only (a formula, a field Salesforce does not let us update, or mapped so)."""
    for name, ours, theirs in restored:
        conn.execute(
            sa.insert(Activity).values(
                contact_id=contact_id,
                kind="sync",
                outcome="restored",
                detail=f'"{name}" is inbound only (Salesforce computes or locks it): '
                f"Salesforce's value '{theirs}' restored over '{ours}'",
                data=json.dumps({"field": name, "engine": ours, "salesforce": theirs}),
                at=now,
            )
        )


def record_error(
    conn: Connection,
    *,
    key: str,
    contact_id: int | None,
    salesforce_id: str | None,
    sobject: str | None,
    direction: str,
    code: str,
    message: str,
    now: datetime,
) -> None:
    """Remember a failure (attempts counted) and put it on the contact's activity feed."""
    se = SyncError
    old = conn.execute(sa.select(se.c.attempts, se.c.first_at).where(se.c.key == key)).first()
    conn.execute(sa.delete(se).where(se.c.key == key))
    conn.execute(
        sa.insert(se).values(
            key=key,
            contact_id=contact_id,
            salesforce_id=salesforce_id,
            object=sobject,
            direction=direction,
            code=code,
            message=message,
            attempts=(old.attempts + 1) if old else 1,
            first_at=old.first_at if old else now,
            last_at=now,
        )
    )
    if contact_id is not None:
        where = f"{sobject} {salesforce_id}" if salesforce_id else "the contact"
        way = "to Salesforce" if direction == "out" else "from Salesforce"
        conn.execute(
            sa.insert(Activity).values(
                contact_id=contact_id,
                kind="error",
                outcome="sync failed",
                detail=f"Salesforce sync {way} failed for {where}: {code}: {message}",
                data=json.dumps({"code": code, "message": message, "record": salesforce_id}),
                at=now,
            )
        )


def clear_errors(conn: Connection, keys: Sequence[str]) -> list[int]:
    """Forget errors that no longer happen; the contacts they were on."""
    se = SyncError
    contacts: list[int] = []
    for chunk in _chunks(list(keys)):
        contacts += [
            int(c)
            for c in conn.execute(
                sa.select(se.c.contact_id).where(se.c.key.in_(chunk), se.c.contact_id.is_not(None))
            ).scalars()
        ]
        conn.execute(sa.delete(se).where(se.c.key.in_(chunk)))
    return contacts


def error_rows(conn: Connection) -> list[dict[str, Any]]:
    """Every open sync error, oldest first (``journey sync errors``)."""
    se = SyncError
    return [dict(r._mapping) for r in conn.execute(sa.select(se).order_by(se.c.first_at, se.c.key))]
