"""What one step of the runner's protocol writes, in the caller's transaction: the runs'
new positions, the effect outcomes and intents, the activity feed.

Pipeline position: runner (``T1`` / ``T2`` of its module docstring) -> **batch_writes**
-> store. Apart from the runner so the protocol reads in one place and the rows it writes
in another.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from journey.engine.contact import ContactView
from journey.engine.executor import Record
from journey.engine.store import Activity, Effect, Run, insert_many, table, update_many

__all__ = ["Writes", "activity_rows", "differs", "flush"]


@dataclass
class Writes:
    """The rows one step of the protocol decided."""

    activity: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    intents: list[dict[str, Any]] = field(default_factory=list)


def differs(before: ContactView, after: ContactView) -> bool:
    return (
        before.fields != after.fields
        or before.lists != after.lists
        or before.email != after.email
        or before.salesforce_id != after.salesforce_id
        or before.salesforce_type != after.salesforce_type
        or before.owner_values() != after.owner_values()
    )


def activity_rows(
    run_id: int, contact_id: int, journey: str, records: Iterable[Record], now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "contact_id": contact_id,
            "run_id": run_id,
            "journey": journey,
            "step_id": r.step_id,
            "kind": r.kind,
            "outcome": r.outcome,
            "detail": r.detail,
            "data": json.dumps(r.data, sort_keys=True) if r.data else None,
            "at": r.at or now,
        }
        for r in records
    ]


def flush(conn: sa.Connection, writes: Writes) -> None:
    """Everything one step of the protocol decided, in the caller's transaction."""
    runs, ef = table(Run), table(Effect)
    if writes.outcomes:
        conn.execute(
            sa.update(ef).where(ef.c.key == sa.bindparam("k")),
            writes.outcomes,
        )
    update_many(conn, runs, "id", writes.runs, "rid")
    insert_many(conn, table(Activity), writes.activity)
    if writes.intents:
        conn.execute(sa.insert(ef), writes.intents)
