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

Many runners share one PostgreSQL store: each batch is *claimed* — its contacts leased to
this runner, the last statement of each of its transactions a fence that checks it still
holds them — and recovery reconciles only the intents of contacts nobody else holds live
(``engine.claims``). On SQLite the same claims are taken by its one runner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from journey.connectors.base import Connector, EffectResult, result_to_json
from journey.connectors.sync import RecordReader, SyncProblem
from journey.dsl.syntax import Action
from journey.engine.batch_items import BatchItem, item_of, pending_items, reconcile, request_of
from journey.engine.batch_writes import Writes, activity_rows, differs, flush, to_json
from journey.engine.claims import Claims, LeaseLostError, default_worker_id
from journey.engine.collector import held_back
from journey.engine.conditions import Evaluator
from journey.engine.config import SyncConfig
from journey.engine.contact import ContactView
from journey.engine.contacts import ContactContext, load_views, snapshot, write_contacts
from journey.engine.executor import Advance, advance, complete_effect
from journey.engine.journeys import Catalog
from journey.engine.linking import LinkReader, LinkReads
from journey.engine.store import Run, RunStatus, Store
from journey.engine.table_statistics import TableStatistics
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


class Runner:
    """Runs the project's journeys against a store and a connector, with an injected clock.
    A connector that can read records (``connectors.sync.RecordReader``: Salesforce) has
    every newly linked contact's record read into it before a step decides on it
    (``engine.linking``), with ``sync``'s field mapping. ``worker_id`` names it among the
    runners of one store, whose contacts it leases for ``lease_seconds`` at a time
    (``engine.claims``); a heartbeat calls ``renew_leases`` well within that."""

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
        worker_id: str | None = None,
        lease_seconds: float = 30.0,
    ) -> None:
        self.store, self.catalog, self.connector = store, catalog, connector
        self.evaluator, self.field_types = evaluator, field_types
        self.batch_size, self.retries = batch_size, retries
        self.worker_id = worker_id or default_worker_id()
        self.claims = Claims(store, self.worker_id, lease_seconds)
        self.statistics = TableStatistics(store)
        self._claimed = 0
        self._released: set[int] = set()
        self.links = (
            LinkReader(connector, sync or SyncConfig(), field_types)
            if isinstance(connector, RecordReader)
            else None
        )

    # ------------------------------------------------------------------ leases

    def renew_leases(self) -> int:
        """Extend this runner's leases (the heartbeat's call, from any thread); how many."""
        return self.claims.renew()

    def release_all(self) -> None:
        """Give back every contact this runner holds (at stop)."""
        self.claims.release_all()

    def claimed_count(self) -> int:
        """Runs in the batch this runner is working now (``journey status``)."""
        return self._claimed

    @contextmanager
    def _holding(self, contacts: set[int], runs: int) -> Iterator[None]:
        """Work on claimed contacts, given back at the end — those a batch's last
        transaction did not give back itself (``_fenced``). After a failure (the database
        gone, say) giving them back is best effort: leases left run out by themselves."""
        self._claimed, self._released = runs, set()
        try:
            yield
        except BaseException:
            self._claimed = 0
            with suppress(sa.exc.SQLAlchemyError):
                self.claims.release(contacts - self._released)
            raise
        self._claimed = 0
        self.claims.release(contacts - self._released)

    @contextmanager
    def _fenced(self, contacts: set[int], last: bool) -> Iterator[sa.Connection]:
        """A transaction of a batch, fenced (``Claims.fenced``). The batch's ``last`` one
        also gives its leases back, after the fence has proved them still this runner's:
        one transaction per batch fewer than a release of its own."""
        if not last:
            with self.claims.fenced(contacts) as conn:
                yield conn
            return
        try:
            with self.store.begin() as conn:
                yield conn
                self.claims.fence(conn, contacts)
                self.claims.give_back(conn, contacts)
        except sa.exc.IntegrityError:
            if self.claims.holds(contacts):
                raise
            raise LeaseLostError("a write of a contact another worker took") from None
        self._released |= contacts

    # ------------------------------------------------------------------ passes

    def run_once(
        self,
        now: datetime,
        progress: Callable[[PassReport], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> PassReport:
        """Recover, take pending events into runs, then advance every run due at ``now``;
        ``should_stop`` is asked between batches (a stopping worker ends the pass there).
        The collector is held back for the pass (``engine.collector``)."""
        with held_back():
            return self._pass(now, progress, should_stop)

    def _pass(
        self,
        now: datetime,
        progress: Callable[[PassReport], None] | None,
        should_stop: Callable[[], bool],
    ) -> PassReport:
        report = self.recover(now)
        if report.paused:
            return report
        while not should_stop():
            with self.store.begin() as conn:
                taken, entered = process_events(conn, self.catalog, now, claims=self.claims)
            self.statistics.grown(Run, entered)
            report.events += taken
            report.entered += entered
            if not taken:
                break
        while not should_stop():
            rows = self.claims.claim_due(now, self.batch_size)
            if not rows:
                break
            with self._holding({r.contact_id for r in rows}, len(rows)):
                batch = self._process([item_of(r) for r in rows], now)
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
        """Reconcile the effect intents a crash left without an outcome: those of contacts
        no other runner holds live, leased to this one first (``engine.claims``)."""
        report = PassReport()
        contacts = self.claims.claim_pending()
        if not contacts:
            return report
        with self._holding(contacts, len(contacts)):
            items = pending_items(self.store, self.catalog, contacts)
            if not items:
                return report
            with self.store.begin() as conn:  # committed, not rolled back: ``_process``
                views = load_views(conn, {i.contact_id for i in items})
            reconcile(self.connector, self.catalog, items, views)
            report.reconciled = len(items)
            report.add(self._process(items, now, views=views))
        return report

    # ------------------------------------------------------------------ batches

    def _process(
        self,
        items: list[BatchItem],
        now: datetime,
        views: dict[int, ContactView] | None = None,
    ) -> PassReport:
        """Take a batch of runs as far as they go: T1, connector, T2, ... (module doc).
        Each transaction ends with the batch's fence: a batch whose contacts another runner
        took is dropped there, its writes rolled back (``engine.claims``)."""
        report = PassReport(runs=len(items))
        if views is None:
            # A read, committed rather than rolled back: psycopg forgets the session's
            # prepared statements at every rollback, so a rolled-back read per batch would
            # leave none of the batch's statements prepared (PostgreSQL).
            with self.store.begin() as conn:
                views = load_views(conn, {i.contact_id for i in items})
        befores = {cid: snapshot(v) for cid, v in views.items()}
        ctx = ContactContext(self.field_types, self.evaluator, now, self.catalog.listens)
        work = items
        busy = {i.run_id for i in items}
        contacts = {i.contact_id for i in items}
        while work:
            writes = Writes()
            reads = self._read_links(work, views, ctx, report)
            if reads is None and all(i.result is None for i in work):
                return report  # nothing decided yet: the runs stay due for the next pass
            waiting_on_connector: list[BatchItem] = []
            for item in work:
                view = views[item.contact_id]
                adv = self._step(item, view, now, writes, report, hold=reads is None)
                self._collect(item, adv, now, writes, report)
                if adv.pending is not None:
                    waiting_on_connector.append(item)
            changed = [(befores[c], v) for c, v in views.items() if differs(befores[c], v)]
            try:
                with self._fenced(contacts, last=not waiting_on_connector) as conn:
                    if changed:
                        write_contacts(conn, changed, ctx, busy=busy)
                    flush(conn, writes)
                    if reads is not None:
                        reads.save(conn)
            except LeaseLostError:
                return report
            if reads is not None and self.links is not None:
                self.links.commit(reads)
            if not waiting_on_connector:
                return report  # the batch has gone as far as it can: nothing to compare again
            for _, view in changed:
                befores[view.id] = snapshot(view)
            work = self._call_connector(waiting_on_connector, views, report)
        return report

    def _read_links(
        self,
        work: list[BatchItem],
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
        item: BatchItem,
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
        writes.outcomes.append((result.status, result_to_json(result), pending.key))
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
        self, item: BatchItem, result: EffectResult, now: datetime
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
        self, item: BatchItem, adv: Advance, now: datetime, writes: Writes, report: PassReport
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
            (
                pos.step_id,
                pos.status.value,
                pos.next_due or now,
                False,
                pos.seq,
                item.attempts,
                adv.goal,
                now if terminal else None,
                item.run_id,
            )
        )
        if adv.pending is not None:
            writes.intents.append(
                (
                    adv.pending.key,
                    item.run_id,
                    item.contact_id,
                    item.version,
                    adv.pending.step_id,
                    "pending",
                    to_json(adv.pending.params),
                    None,
                    now,
                )
            )

    def _call_connector(
        self, items: list[BatchItem], views: dict[int, ContactView], report: PassReport
    ) -> list[BatchItem]:
        """One ``perform`` per (version, step): every contact waiting on that action."""
        groups: dict[tuple[str, str], list[BatchItem]] = defaultdict(list)
        for item in items:
            assert item.pending is not None
            groups[(item.version, item.pending.step_id)].append(item)
        for (version, step_id), members in groups.items():
            action: Action | None = self.catalog.get(version).steps[step_id].action
            assert action is not None
            requests = [request_of(m, views[m.contact_id]) for m in members]
            results = self.connector.perform(action, requests)
            for member, result in zip(members, results, strict=True):
                member.result = result
        return items
