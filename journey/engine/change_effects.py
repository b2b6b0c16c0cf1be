"""What a stored contact change causes: inbox events, segment membership, woken runs, sync marks.

Pipeline position: ``engine.contacts.write_contacts`` -> **change_effects** -> the events
inbox (read by ``engine.triggers``), segment members, waiting runs (re-checked by the
runner) and the sync's pending marks (read by ``engine.sync``). They live apart from the
write itself because intake and the sync also call ``wake_runs`` and ``mark_sync_pending``
on their own: a campaign member status is not a field write, and the sync re-marks the
contacts whose push failed so its next cycle looks at them again.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.conditions import Evaluator
from journey.engine.contact import ContactView
from journey.engine.sql_batches import among, id_batches, in_batches
from journey.engine.store import Run, RunStatus, SegmentMember, SyncPending
from journey.sql_upsert import upsert

__all__ = [
    "SegmentChanges",
    "event_row",
    "mark_sync_pending",
    "reevaluate_segments",
    "segment_changes",
    "waiting_runs",
    "wake",
    "wake_runs",
]


def event_row(
    kind: str, contact_id: int, name: str, value: str | None, at: datetime
) -> dict[str, Any]:
    """An unprocessed inbox event, as a row for one batched insert."""
    return {
        "kind": kind,
        "contact_id": contact_id,
        "name": name,
        "value": value,
        "at": at,
        "processed": False,
    }


@dataclass
class SegmentChanges:
    """What re-evaluating segments found: memberships to add and remove, and the
    ``entered_segment`` event rows of the additions."""

    entered: list[dict[str, Any]] = field(default_factory=list)
    left: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, conn: Connection) -> None:
        """Store the membership changes (the events are the caller's to insert)."""
        sm = SegmentMember
        if self.entered:
            conn.execute(sa.insert(sm), self.entered)
        if self.left:
            conn.execute(
                sa.delete(sm).where(
                    sm.c.segment_key == sa.bindparam("k"), sm.c.contact_id == sa.bindparam("cid")
                ),
                self.left,
            )


def segment_changes(
    conn: Connection, views: Sequence[ContactView], evaluator: Evaluator, now: datetime
) -> SegmentChanges:
    """Segment membership re-evaluated, nothing written yet: a writer reads everything it
    needs first, then sends its writes together (``engine.pg_rows.pipelined``)."""
    sm = SegmentMember
    ids = [v.id for v in views]
    current: set[tuple[str, int]] = set()
    for chunk in in_batches(ids):
        current |= {
            (r.segment_key, r.contact_id)
            for r in conn.execute(
                sa.select(sm.c.segment_key, sm.c.contact_id).where(sm.c.contact_id.in_(chunk))
            )
        }
    changes = SegmentChanges()
    for name in evaluator.segment_names:
        key = name.casefold()
        for view in views:
            matches = evaluator.in_segment(name, view)
            member = (key, view.id) in current
            if matches and not member:
                changes.entered.append({"segment_key": key, "contact_id": view.id})
                changes.events.append(event_row("entered_segment", view.id, name, None, now))
            elif member and not matches:
                changes.left.append({"k": key, "cid": view.id})
    return changes


def reevaluate_segments(
    conn: Connection, views: Sequence[ContactView], evaluator: Evaluator, now: datetime
) -> list[dict[str, Any]]:
    """Re-evaluate segment membership; an ``entered_segment`` event row for each new match.
    The rows are returned, not inserted, so the caller filters and inserts every event of
    a write in one statement."""
    changes = segment_changes(conn, views, evaluator, now)
    changes.apply(conn)
    return changes.events


def waiting_runs(
    conn: Connection, contact_ids: Sequence[int], busy: Collection[int] = frozenset()
) -> list[int]:
    """The waiting, not yet woken runs of these contacts, but the ``busy`` ones."""
    r = Run
    ids: list[int] = []
    if conn.dialect.name == "sqlite":
        # The contacts as one JSON array, looked up one by one in ``runs_contact``. An
        # ``IN`` list would have SQLite read every waiting run instead (``runs_woken``
        # matches the other two terms), once per 900 contacts: a cost that grows with
        # the store, not the batch. ``CROSS JOIN`` keeps the array the outer loop.
        found = conn.exec_driver_sql(
            _SQLITE_WAITING, (json.dumps(sorted(set(contact_ids))), RunStatus.WAITING.value)
        ).scalars()
        return [i for i in found if i not in busy]
    for chunk in id_batches(conn, sorted(set(contact_ids))):
        found = conn.execute(
            sa.select(r.c.id).where(
                among(conn, r.c.contact_id, chunk),
                r.c.status == RunStatus.WAITING.value,
                r.c.wake.is_(False),
            )
        ).scalars()
        ids.extend(i for i in found if i not in busy)
    return ids


_SQLITE_WAITING = (
    "SELECT runs.id FROM json_each(?) AS listed CROSS JOIN runs INDEXED BY runs_contact"
    " WHERE runs.contact_id = listed.value AND runs.status = ? AND NOT runs.wake"
)


def wake(conn: Connection, run_ids: Sequence[int]) -> None:
    """Mark runs to be re-checked at the next pass."""
    r = Run
    for chunk in id_batches(conn, list(run_ids)):
        conn.execute(sa.update(r).where(among(conn, r.c.id, chunk)).values(wake=True))


def wake_runs(
    conn: Connection, contact_ids: Sequence[int], busy: Collection[int] = frozenset()
) -> None:
    """Waiting runs of changed contacts are re-checked at the next pass (goals, wait until).
    ``busy`` runs are the ones whose change this is: the caller is advancing them already."""
    wake(conn, waiting_runs(conn, contact_ids, busy))


def mark_sync_pending(conn: Connection, contact_ids: Sequence[int], now: datetime) -> None:
    """Hook for the sync (``engine.sync``): contacts linked to a Salesforce record changed
    here, so its next cycle compares them with what Salesforce last had."""
    rows = [{"contact_id": cid, "marked_at": now} for cid in sorted(set(contact_ids))]
    if not rows:
        return
    name = conn.dialect.name
    pending = SyncPending
    if name in ("sqlite", "postgresql"):
        stmt = upsert(conn, pending)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["contact_id"], set_={"marked_at": stmt.excluded.marked_at}
            ),
            rows,
        )
        return
    ids = [r["contact_id"] for r in rows]  # pragma: no cover (other databases)
    conn.execute(sa.delete(pending).where(pending.c.contact_id.in_(ids)))
    conn.execute(sa.insert(pending), rows)
