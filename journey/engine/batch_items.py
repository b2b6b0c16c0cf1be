"""The runs of a batch as the runner holds them, and the effect intents a crash left,
reconciled into such runs.

Pipeline position: claims (which runs, which intents) -> **batch_items** -> runner
(``_process``). Apart from the runner so the protocol reads in one place and recovery's
reading and reconciling of intents in another.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from journey.connectors.base import Connector, EffectRequest, EffectResult
from journey.engine.contact import ContactView
from journey.engine.executor import Pending, Position
from journey.engine.journeys import Catalog
from journey.engine.sql_batches import among, in_batches
from journey.engine.store import Effect, Run, RunStatus, Store

__all__ = ["BatchItem", "item_of", "pending_items", "reconcile", "request_of"]


@dataclass
class BatchItem:
    """One run in a batch: its stored row, its position, and an effect result to take."""

    run_id: int
    contact_id: int
    version: str
    position: Position
    attempts: int
    pending: Pending | None = None
    result: EffectResult | None = None
    goal: str | None = None


#: A stored status as its enum member, looked up rather than constructed per run.
_STATUS = {s.value: s for s in RunStatus}


def item_of(row: Sequence[Any]) -> BatchItem:
    """A due run's row (``claims.claim_due``'s columns, in their order) as a batch item.
    Unpacked, not read by name: a row's attribute costs SQLAlchemy a failed lookup
    first, ten times an item's cost."""
    run_id, contact_id, version, step_id, status, next_due, seq, attempts = row
    pos = Position(run_id, step_id, _STATUS[status], next_due, seq)
    return BatchItem(run_id, contact_id, version, pos, attempts)


def request_of(item: BatchItem, view: ContactView) -> EffectRequest:
    """The connector's request for the item's pending effect."""
    assert item.pending is not None
    return EffectRequest(item.pending.key, view.snapshot(), item.pending.params)


def pending_items(store: Store, catalog: Catalog, contact_ids: Collection[int]) -> list[BatchItem]:
    """The runs of these contacts waiting on an intent without an outcome, each with it."""
    ef, runs = Effect, Run
    rows: list[sa.Row[Any]] = []
    with store.begin() as conn:  # a read: committed, so prepared statements stay
        for chunk in in_batches(sorted(contact_ids)):
            rows += conn.execute(
                sa.select(
                    ef,
                    runs.c.version.label("run_version"),
                    runs.c.status.label("rs"),
                    runs.c.step_id.label("run_step"),
                    runs.c.seq,
                    runs.c.next_due,
                    runs.c.attempts,
                )
                .join(runs, runs.c.id == ef.c.run_id)
                .where(ef.c.status == "pending", among(conn, ef.c.contact_id, chunk))
            ).all()
    items: list[BatchItem] = []
    for r in sorted(rows, key=lambda r: r.run_id):
        step = catalog.get(r.version).steps[r.step_id]
        assert step.action is not None
        pos = Position(r.run_id, r.run_step, RunStatus(r.rs), r.next_due, r.seq)
        item = BatchItem(r.run_id, r.contact_id, r.version, pos, r.attempts)
        item.pending = Pending(r.key, r.step_id, step.action, json.loads(r.params))
        items.append(item)
    return items


def reconcile(
    connector: Connector,
    catalog: Catalog,
    items: list[BatchItem],
    views: dict[int, ContactView],
) -> None:
    """Each item's result from the connector: applied → its recorded result is taken; not
    applied → performed now; never blindly repeated. One call per (version, step)."""
    groups: dict[tuple[str, str], list[BatchItem]] = defaultdict(list)
    for item in items:
        assert item.pending is not None
        groups[(item.version, item.pending.step_id)].append(item)
    for (version, step_id), members in groups.items():
        action = catalog.get(version).steps[step_id].action
        assert action is not None
        requests = [request_of(m, views[m.contact_id]) for m in members]
        answers = connector.reconcile(action, requests)
        todo = []
        for member, request, answer in zip(members, requests, answers, strict=True):
            if answer.applied and answer.result is not None:
                member.result = answer.result
            else:
                todo.append((member, request))
        if todo:
            results = connector.perform(action, [req for _, req in todo])
            for (member, _), result in zip(todo, results, strict=True):
                member.result = result
