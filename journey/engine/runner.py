"""The runner: the durable loop that takes due runs through the executor and the connector.

Pipeline position: triggers -> runs (store) -> **runner** -> executor (decides) ->
connector (acts) -> store. One pass takes the inbox's events into runs, then the due runs
in batches (all runs due in a batch that stop at the same step form one connector call).

Crash safety — the protocol, per batch::

    T1  advance runs until they stop; write positions, activity, contact changes and the
        effect *intents* (idempotency keys, rendered parameters) — one transaction
        call the connector for the intents (outside any transaction)
    T2  write the outcomes, the runs' advance past the effect, the activity entries and
        the contact changes — one transaction — and, in the same one, the next intents

A SIGKILL anywhere leaves either an intent without an outcome or nothing at all. When a
runner starts it ``recover``s: pending intents are *reconciled* with the connector
(applied → its recorded result is taken; not applied → performed now), never blindly
repeated. So no contact is lost, no step is skipped and no effect is applied twice.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from journey.connectors.base import Connector, EffectRequest, EffectResult, result_to_json
from journey.connectors.sync import RecordReader, SyncProblem
from journey.dsl.syntax import Action
from journey.engine.batch_writes import Writes, activity_rows, differs, flush
from journey.engine.conditions import Evaluator
from journey.engine.config import SyncConfig
from journey.engine.contact import ContactView
from journey.engine.contacts import ContactContext, load_views, snapshot, write_contacts
from journey.engine.executor import Advance, Pending, Position, advance, complete_effect
from journey.engine.journeys import Catalog
from journey.engine.linking import LinkReader, LinkReads
from journey.engine.store import (
    Effect,
    Run,
    RunStatus,
    Store,
    table,
)
from journey.engine.triggers import process_events
from journey.retry import STEP_RETRIES, RetrySchedule

__all__ = ["PassReport", "Runner"]

_TERMINAL = {RunStatus.COMPLETED, RunStatus.EXITED, RunStatus.GOAL, RunStatus.FAILED}


@dataclass
class PassReport:
    """What a pass did, for ``journey run`` and the benchmark."""

    events: int = 0
    entered: int = 0
    runs: int = 0
    steps: int = 0
    effects: int = 0
    reconciled: int = 0
    ended: int = 0
    failed: int = 0
    paused: str | None = None

    def add(self, other: PassReport) -> None:
        for name in (
            "events",
            "entered",
            "runs",
            "steps",
            "effects",
            "reconciled",
            "ended",
            "failed",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.paused = self.paused or other.paused

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Item:
    """One run in a batch: its stored row, its position, and an effect result to take."""

    run_id: int
    contact_id: int
    version: str
    position: Position
    attempts: int
    pending: Pending | None = None
    result: EffectResult | None = None
    goal: str | None = None


class Runner:
    """Runs the project's journeys against a store and a connector, with an injected clock.
    A connector that can read records (``connectors.sync.RecordReader``: Salesforce) has
    every newly linked contact's record read into it before a step decides on it
    (``engine.linking``), with ``sync``'s field mapping."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        connector: Connector,
        evaluator: Evaluator,
        field_types: dict[str, str],
        *,
        batch_size: int = 1000,
        retries: RetrySchedule = STEP_RETRIES,
        sync: SyncConfig | None = None,
    ) -> None:
        self.store, self.catalog, self.connector = store, catalog, connector
        self.evaluator, self.field_types = evaluator, field_types
        self.batch_size, self.retries = batch_size, retries
        self.links = (
            LinkReader(connector, sync or SyncConfig(), field_types)
            if isinstance(connector, RecordReader)
            else None
        )

    # ------------------------------------------------------------------ passes

    def run_once(
        self,
        now: datetime,
        progress: Callable[[PassReport], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> PassReport:
        """Recover, take pending events into runs, then advance every run due at ``now``;
        ``should_stop`` is asked between batches (a stopping worker ends the pass there)."""
        report = self.recover(now)
        if report.paused:
            return report
        while not should_stop():
            with self.store.begin() as conn:
                taken, entered = process_events(conn, self.catalog, now)
            report.events += taken
            report.entered += entered
            if not taken:
                break
        while not should_stop():
            rows = self._due(now)
            if not rows:
                break
            items = [self._item(r) for r in rows]
            batch = self._process(items, now)
            report.add(batch)
            if progress:
                progress(report)
            if batch.paused:
                break
        return report

    def run_until_idle(
        self,
        now: datetime,
        progress: Callable[[PassReport], None] | None = None,
        max_passes: int = 1000,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> PassReport:
        """Passes until nothing is left to do at ``now`` (journeys that trigger journeys),
        or until ``should_stop`` says so (``run_once``)."""
        total = PassReport()
        for _ in range(max_passes):
            report = self.run_once(now, progress, should_stop)
            total.add(report)
            if report.paused or not (report.events or report.runs or report.reconciled):
                break
            if should_stop():
                break
        return total

    def recover(self, now: datetime) -> PassReport:
        """Reconcile the effect intents a crash left without an outcome."""
        ef, runs = table(Effect), table(Run)
        with self.store.engine.connect() as conn:
            rows = conn.execute(
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
                .where(ef.c.status == "pending")
                .order_by(ef.c.run_id)
            ).all()
        report = PassReport()
        if not rows:
            return report
        items: list[_Item] = []
        groups: dict[tuple[str, str], list[_Item]] = defaultdict(list)
        for r in rows:
            journey = self.catalog.get(r.version)
            step = journey.steps[r.step_id]
            assert step.action is not None
            pos = Position(r.run_id, r.run_step, RunStatus(r.rs), r.next_due, r.seq)
            item = _Item(r.run_id, r.contact_id, r.version, pos, r.attempts)
            item.pending = Pending(r.key, r.step_id, step.action, json.loads(r.params))
            items.append(item)
            groups[(r.version, r.step_id)].append(item)
        with self.store.engine.connect() as conn:
            views = load_views(conn, {i.contact_id for i in items})
        for (version, step_id), members in groups.items():
            action = self.catalog.get(version).steps[step_id].action
            assert action is not None
            requests = [self._request(m, views[m.contact_id]) for m in members]
            answers = self.connector.reconcile(action, requests)
            todo = []
            for member, request, answer in zip(members, requests, answers, strict=True):
                if answer.applied and answer.result is not None:
                    member.result = answer.result
                else:
                    todo.append((member, request))
            if todo:
                results = self.connector.perform(action, [req for _, req in todo])
                for (member, _), result in zip(todo, results, strict=True):
                    member.result = result
        report.reconciled = len(items)
        report.add(self._process(items, now, views=views))
        return report

    # ------------------------------------------------------------------ batches

    def _due(self, now: datetime) -> list[sa.Row[Any]]:
        """Up to a batch of runs to advance: due ones (oldest first), then woken ones.
        One query per status so each is an index range scan that stops at the limit
        (an ``OR`` across them would scan every run on every batch)."""
        runs = table(Run)
        found: list[sa.Row[Any]] = []
        with self.store.engine.connect() as conn:
            for status in (RunStatus.ACTIVE.value, RunStatus.WAITING.value):
                found += conn.execute(
                    sa.select(runs)
                    .where(runs.c.status == status, runs.c.next_due <= now)
                    .order_by(runs.c.next_due)
                    .limit(self.batch_size - len(found))
                ).all()
                if len(found) >= self.batch_size:
                    return found
            seen = {r.id for r in found}
            woken = conn.execute(
                sa.select(runs)
                .where(runs.c.wake.is_(True), runs.c.status == RunStatus.WAITING.value)
                .limit(self.batch_size)
            ).all()
            found += [r for r in woken if r.id not in seen][: self.batch_size - len(found)]
        return found

    @staticmethod
    def _item(row: sa.Row[Any]) -> _Item:
        pos = Position(row.id, row.step_id, RunStatus(row.status), row.next_due, row.seq)
        return _Item(row.id, row.contact_id, row.version, pos, row.attempts)

    def _request(self, item: _Item, view: ContactView) -> EffectRequest:
        assert item.pending is not None
        return EffectRequest(item.pending.key, view.snapshot(), item.pending.params)

    def _process(
        self,
        items: list[_Item],
        now: datetime,
        views: dict[int, ContactView] | None = None,
    ) -> PassReport:
        """Take a batch of runs as far as they go: T1, connector, T2, ... (module doc)."""
        report = PassReport(runs=len(items))
        if views is None:
            with self.store.engine.connect() as conn:
                views = load_views(conn, {i.contact_id for i in items})
        befores = {cid: snapshot(v) for cid, v in views.items()}
        ctx = ContactContext(self.field_types, self.evaluator, now, self.catalog.listens)
        work = items
        busy = {i.run_id for i in items}
        while work:
            writes = Writes()
            reads = self._read_links(work, views, ctx, report)
            if reads is None and all(i.result is None for i in work):
                return report  # nothing decided yet: the runs stay due for the next pass
            waiting_on_connector: list[_Item] = []
            for item in work:
                view = views[item.contact_id]
                adv = self._step(item, view, now, writes, report, hold=reads is None)
                self._collect(item, adv, now, writes, report)
                if adv.pending is not None:
                    waiting_on_connector.append(item)
            changed = [(befores[c], v) for c, v in views.items() if differs(befores[c], v)]
            with self.store.begin() as conn:
                if changed:
                    write_contacts(conn, changed, ctx, busy=busy)
                flush(conn, writes)
                if reads is not None:
                    reads.save(conn)
            if reads is not None and self.links is not None:
                self.links.commit(reads)
            for _, view in changed:
                befores[view.id] = snapshot(view)
            work = self._call_connector(waiting_on_connector, views, report)
        return report

    def _read_links(
        self,
        work: list[_Item],
        views: dict[int, ContactView],
        ctx: ContactContext,
        report: PassReport,
    ) -> LinkReads | None:
        """The batch's newly linked records read into their views (``engine.linking``);
        ``None`` when the org refused the read (the pass stops: ``paused``)."""
        if self.links is None:
            return LinkReads()
        new_links = {
            i.contact_id: i.result.changes.salesforce_id
            for i in work
            if i.result is not None
            and i.result.status in ("done", "skipped")
            and i.result.changes.salesforce_id
        }
        batch = {i.contact_id: views[i.contact_id] for i in work}
        try:
            return self.links.read_batch(self.store, batch, new_links, ctx)
        except SyncProblem as problem:
            report.paused = f"reading the linked Salesforce records: {problem}"
            return None

    def _step(
        self,
        item: _Item,
        view: ContactView,
        now: datetime,
        writes: Writes,
        report: PassReport,
        *,
        hold: bool = False,
    ) -> Advance:
        """Advance the run, or take its effect's result and go on. ``hold``: the contact's
        record could not be read, so the run stops right after its effect, due now."""
        journey = self.catalog.get(item.version)
        if item.result is None:
            return advance(journey, item.position, view, now, self.evaluator)
        assert item.pending is not None
        result, pending = item.result, item.pending
        item.result = None
        result, retry_after = self._retry(item, result, now)
        done = complete_effect(journey, item.position, view, pending, result, now, retry_after)
        writes.outcomes.append(
            {
                "k": pending.key,
                "status": result.status,
                "result": result_to_json(result),
            }
        )
        report.effects += 1
        if result.status != "paused":
            item.attempts = item.attempts + 1 if result.status == "retry" else 0
        if result.status == "paused":  # the connection's state, not the step's failure
            report.paused = result.message or result.why or "the connector paused"
        if done.position.status == RunStatus.ACTIVE and done.position.next_due is None:
            if hold:
                done.position.next_due = now
                return done
            more = advance(journey, done.position, view, now, self.evaluator)
            more.records[:0] = done.records
            more.changes[:0] = done.changes
            more.steps += done.steps
            return more
        return done

    def _retry(
        self, item: _Item, result: EffectResult, now: datetime
    ) -> tuple[EffectResult, datetime]:
        """The step retry of ``journey.retry``: a ``retry`` runs the step again after the
        schedule's delay, and the last attempt's ``retry`` fails the run, its error named;
        a ``paused`` waits the first delay, uncounted."""
        if result.status == "paused":
            return result, now + timedelta(seconds=self.retries.delay(1))
        failures = item.attempts + 1
        if result.status == "retry" and self.retries.exhausted(failures):
            why = result.message or result.why or "a transient failure"
            result = replace(
                result,
                status="failed",
                error_code=result.error_code or "RETRIES_EXHAUSTED",
                message=f"still failing after {failures} attempts: {why}",
            )
        return result, now + timedelta(seconds=self.retries.delay(failures))

    def _collect(
        self, item: _Item, adv: Advance, now: datetime, writes: Writes, report: PassReport
    ) -> None:
        journey = self.catalog.get(item.version)
        pos = adv.position
        item.position = pos
        item.pending = adv.pending
        report.steps += adv.steps
        writes.activity.extend(
            activity_rows(item.run_id, item.contact_id, journey.name, adv.records, now)
        )
        terminal = pos.status in _TERMINAL
        if terminal:
            report.ended += 1
            report.failed += pos.status == RunStatus.FAILED
        writes.runs.append(
            {
                "rid": item.run_id,
                "step_id": pos.step_id,
                "status": pos.status.value,
                "next_due": pos.next_due or now,
                "wake": False,
                "seq": pos.seq,
                "attempts": item.attempts,
                "goal": adv.goal,
                "ended_at": now if terminal else None,
            }
        )
        if adv.pending is not None:
            writes.intents.append(
                {
                    "key": adv.pending.key,
                    "run_id": item.run_id,
                    "contact_id": item.contact_id,
                    "version": item.version,
                    "step_id": adv.pending.step_id,
                    "status": "pending",
                    "params": json.dumps(adv.pending.params, sort_keys=True),
                    "result": None,
                    "created_at": now,
                }
            )

    def _call_connector(
        self, items: list[_Item], views: dict[int, ContactView], report: PassReport
    ) -> list[_Item]:
        """One ``perform`` per (version, step): every contact waiting on that action."""
        groups: dict[tuple[str, str], list[_Item]] = defaultdict(list)
        for item in items:
            assert item.pending is not None
            groups[(item.version, item.pending.step_id)].append(item)
        for (version, step_id), members in groups.items():
            action: Action | None = self.catalog.get(version).steps[step_id].action
            assert action is not None
            requests = [self._request(m, views[m.contact_id]) for m in members]
            results = self.connector.perform(action, requests)
            for member, result in zip(members, results, strict=True):
                member.result = result
        return items
