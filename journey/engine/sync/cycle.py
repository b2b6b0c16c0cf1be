"""One sync cycle: read what changed in Salesforce, take it in, send out what changed here.

Pipeline position: ``journey sync`` (or a worker's schedule) -> **cycle** -> inbound /
outbound -> store, and ``connectors.sync.SyncSource`` -> the org.

A cycle, in order:

0. An object with ``mode = "none"`` has an empty Salesforce list (``engine.salesforce_lists``).
1. A pause in force (session expired, API cap) stops it before any call. Each object's
   describe (kept by the source) says which fields the org has (``engine.sync.describe``):
   only those are read; a mapped field the org lacks stops the cycle, naming it.
2. Objects never read (no watermark) are read in full: one composite ``COUNT()`` for all
   of them, then every record in scope (Bulk API 2.0 above ``bulk_threshold``).
3. The others: composite calls of at most 5 queries (Salesforce's limit; one call for up
   to five objects without criteria) — changed records since the watermark minus the
   overlap window, deletions, records that left their criteria.
   A full read also reconciles: a record the store links that the org no longer has was
   deleted without the cycle seeing it (the recycle bin emptied, or its 15 days over since
   the last look) and is removed as a deletion is. An object last read more than
   15 days ago is read in full, as its deletions may be gone from the bin.
4. Records are taken in per object (Accounts, Leads, Contacts, campaign members), 1,000
   per transaction, each object's watermark committed with its last batch.
5. Pending engine-side changes go out (Collections, 200 a call); the feed as Events when
   ``[sync] activities = true``.

A 401 anywhere stops the cycle with "renew the connection": what was committed stays,
the rest is read again next time (the merge is idempotent), nothing is lost. A formula
field's change moves no ``SystemModstamp``, so it is not seen until another field of the
record changes — ``--full`` re-reads everything (docs/sync.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from journey.connectors.sync import Criterion as SourceCriterion
from journey.connectors.sync import (
    ObjectChanges,
    ObjectRead,
    Record,
    SyncPaused,
    SyncReadError,
    SyncSource,
)
from journey.engine.config import SYNC_OBJECTS, ProjectConfig
from journey.engine.contacts import ContactContext
from journey.engine.salesforce_lists import set_unsynced
from journey.engine.store import Store, SyncError
from journey.engine.sync.accounts import take_accounts
from journey.engine.sync.describe import OrgFields, describe_org
from journey.engine.sync.identity import possible_duplicates
from journey.engine.sync.inbound import Taken, take_people
from journey.engine.sync.mapping import FieldMap, account_fields, field_maps, read_fields
from journey.engine.sync.members import take_members
from journey.engine.sync.merge import salesforce_time
from journey.engine.sync.outbound import push_activities, push_changes
from journey.engine.sync.records import get_setting, put_setting, synced_ids
from journey.engine.sync.removal import remove_records
from journey.vocabulary import RECORD_TYPES

__all__ = ["BATCH", "CycleSummary", "SyncRun", "run_cycle"]

BATCH = 1000
#: Days Salesforce's recycle bin keeps deleted records (getDeleted "Results are returned
#: for no more than 15 days previous",
#: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getdeleted.htm).
RECYCLE_BIN_DAYS = 15
#: Called with (object, records taken so far, records expected) during long reads.
Progress = Callable[[str, int, int], None]


@dataclass
class CycleSummary:
    """What one cycle did (``journey sync`` prints it; ``--json`` gives this dict)."""

    started_at: str = ""
    inbound: int = 0
    outbound: int = 0
    deleted: int = 0
    conflicts: int = 0
    failed: int = 0
    errors: int = 0
    api_calls: int = 0
    activities: int = 0
    full_reads: list[str] = field(default_factory=list)
    duplicates: int = 0
    seconds: float = 0.0
    stopped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncRun:
    """Everything a cycle needs: the store, the org, the project's configuration, and a
    way to get a contact context for the current moment."""

    store: Store
    source: SyncSource
    config: ProjectConfig
    context: Callable[[], ContactContext]
    progress: Progress | None = None
    #: Asked between objects and pages: a stopping worker ends the cycle there; what is
    #: not yet read is read again next cycle, from the object's watermark.
    should_stop: Callable[[], bool] = lambda: False
    #: What describe showed of the org (set at the start of each cycle).
    org: OrgFields | None = None

    def maps(self, sobject: str) -> list[FieldMap]:
        return field_maps(
            sobject,
            self.config.sync,
            self.config.all_fields(),
            self.org.read_only(sobject) if self.org is not None else frozenset(),
            self.org,
        )


def _objects(config: ProjectConfig) -> list[str]:
    return [o for o in SYNC_OBJECTS if config.sync.object_sync(o).mode != "none"]


def _criteria(run: SyncRun, sobject: str) -> tuple[SourceCriterion, ...]:
    section = run.config.sync.object_sync(sobject)
    if section.mode != "criteria":
        return ()
    out = []
    for c in section.criteria:
        found = run.org.field(sobject, c.field) if run.org is not None else None
        out.append(SourceCriterion(c.field, c.op, tuple(c.values()), found.type if found else None))
    return tuple(out)


def _latest(records: Sequence[Record], current: datetime | None) -> datetime | None:
    best = current
    for record in records:
        moment = salesforce_time(record.get("SystemModstamp"))
        if moment is not None and (best is None or moment > best):
            best = moment
    return best


#: Set when the org refused a read for a field its kept describe listed (deleted since):
#: the next cycle describes the objects anew.
_STALE = "describe_stale"


def _describe(run: SyncRun) -> None:
    """What the org has (``engine.sync.describe``), and the read-only fields kept in the
    store's settings too, where the link read (``engine.linking``) finds them."""
    objects = _objects(run.config)
    with run.store.begin() as conn:
        stale = bool(get_setting(conn, _STALE))
    run.org = describe_org(run.source, objects, run.config.sync, refresh=stale)
    with run.store.begin() as conn:
        if stale:
            put_setting(conn, _STALE, False)
        for sobject in objects:
            read_only = sorted(run.org.read_only(sobject))
            key = f"describe:{sobject}"
            if get_setting(conn, key) != read_only:
                put_setting(conn, key, read_only)


def _take(
    run: SyncRun,
    sobject: str,
    records: list[Record],
    summary: CycleSummary,
    *,
    full: bool = False,
) -> None:
    for start in range(0, len(records), BATCH):
        if start:
            _check_stop(run)
        chunk = records[start : start + BATCH]
        with run.store.begin() as conn:
            ctx = run.context()
            taken: Taken
            if sobject == "Account":
                taken = take_accounts(conn, chunk, ctx, account_fields(run.maps("Contact")))
            elif sobject == "CampaignMember":
                taken = take_members(conn, chunk, ctx)
            else:
                kind: Literal["Lead", "Contact"] = "Lead" if sobject == "Lead" else "Contact"
                taken = take_people(conn, kind, chunk, run.maps(sobject), ctx, recheck=full)
        summary.inbound += taken.changed
        summary.conflicts += taken.conflicts
        summary.failed += taken.failed


def _removals(run: SyncRun, sobject: str, changes: ObjectChanges, summary: CycleSummary) -> None:
    keep = run.config.sync.object_sync(sobject).when_no_longer_matching == "keep"
    with run.store.begin() as conn:
        ctx = run.context()
        if changes.deleted:
            summary.deleted += remove_records(
                conn, changes.deleted, ctx, why="was deleted in Salesforce"
            ).removed
        if changes.left_scope:
            summary.deleted += remove_records(
                conn,
                changes.left_scope,
                ctx,
                why="no longer meets the sync criteria",
                keep=keep,
            ).removed


def _reconcile(run: SyncRun, sobject: str, seen: set[str], summary: CycleSummary) -> None:
    """After a complete full read: a record the store links that the read did not return,
    and that the org no longer has by its ID either, was deleted while the cycle did not
    look (its deletion gone from the recycle bin unseen) — removed as a seen deletion is.
    One the org still has is out of the criteria: left to the incremental read, as any
    record that leaves them."""
    with run.store.begin() as conn:
        stale = [i for i in synced_ids(conn, sobject) if i[:15] not in seen]
    if not stale:
        return
    present = {str(r["Id"])[:15] for r in run.source.read_records(sobject, (), ids=stale)}
    gone = [i for i in stale if i[:15] not in present]
    if not gone:
        return
    with run.store.begin() as conn:
        summary.deleted += remove_records(
            conn,
            gone,
            run.context(),
            why="was deleted in Salesforce (found by a full read: the deletion had left the "
            "recycle bin unseen)",
        ).removed


def _since(mark: datetime | None, overlap: timedelta) -> datetime:
    return mark - overlap if mark is not None else datetime(2000, 1, 1, tzinfo=UTC)


def _save_watermark(run: SyncRun, sobject: str, moment: datetime | None) -> None:
    with run.store.begin() as conn:
        put_setting(conn, f"watermark:{sobject}", moment.isoformat() if moment else "")


def run_cycle(run: SyncRun, *, full: bool = False) -> CycleSummary:
    """One cycle (module docstring). Never raises for a paused or refusing org: the
    summary's ``stopped`` says why it stopped."""
    started = time.perf_counter()
    calls = run.source.api_calls
    summary = CycleSummary(started_at=run.context().now.isoformat())
    with run.store.begin() as conn:
        off = [t for t in RECORD_TYPES if run.config.sync.object_sync(t).mode == "none"]
        set_unsynced(conn, off, run.context().now)
    described = False
    try:
        run.source.check()
        _describe(run)
        described = True
        _cycle(run, summary, full)
    except SyncPaused as problem:
        summary.stopped = (
            f"{problem.code}: {problem.message}"
            if problem.code != "INVALID_SESSION_ID"
            else f"{problem.code}: the Salesforce session expired — renew the connection "
            "(`journey salesforce renew`); nothing was lost"
        )
    except SyncReadError as problem:
        summary.stopped = f"{problem.code}: {problem.message}"
        if problem.code == "INVALID_FIELD" and described:
            with run.store.begin() as conn:  # describe listed the field; the org has it not
                put_setting(conn, _STALE, True)
    except _StoppingError:
        summary.stopped = "asked to stop: the rest is read again next cycle"
    with run.store.begin() as conn:
        se = SyncError
        summary.errors = int(conn.execute(sa.select(sa.func.count()).select_from(se)).scalar() or 0)
        summary.duplicates = len(possible_duplicates(conn))
    summary.api_calls = run.source.api_calls - calls
    summary.seconds = round(time.perf_counter() - started, 3)
    with run.store.begin() as conn:
        put_setting(conn, "last_cycle", summary.as_dict())
    return summary


class _StoppingError(Exception):
    """Raised between objects and pages once ``SyncRun.should_stop`` says so."""


def _check_stop(run: SyncRun) -> None:
    if run.should_stop():
        raise _StoppingError


def _cycle(run: SyncRun, summary: CycleSummary, full: bool) -> None:
    objects = _objects(run.config)
    overlap = timedelta(seconds=run.config.sync.overlap_seconds)
    marks: dict[str, datetime | None] = {}
    first: list[str] = []
    too_old = run.context().now - timedelta(days=RECYCLE_BIN_DAYS)
    with run.store.begin() as conn:
        for sobject in objects:
            raw = get_setting(conn, f"watermark:{sobject}")
            marks[sobject] = salesforce_time(raw) if raw else None
            mark = marks[sobject]
            if raw is None or full or (mark is not None and mark < too_old):
                first.append(sobject)
    shown = tuple(account_fields(run.maps("Contact")))
    reads = {
        o: ObjectRead(
            o,
            read_fields(o, run.maps(o), shown if o == "Account" else (), run.org),
            _criteria(run, o),
        )
        for o in objects
    }
    if first:
        counts = run.source.count([reads[o] for o in first])
        summary.full_reads = list(first)
    incremental = [o for o in objects if o not in first]
    changes: dict[str, ObjectChanges] = {}
    if incremental:
        changes = run.source.read_changes(
            [
                ObjectRead(
                    o,
                    reads[o].fields,
                    reads[o].criteria,
                    since=_since(marks[o], overlap),
                )
                for o in incremental
            ]
        )
    for sobject in objects:  # SYNC_OBJECTS' order: Accounts, Leads, Contacts, members
        _check_stop(run)
        if sobject in first:
            expected = counts.get(sobject, 0)
            seen: set[str] = set()
            latest = marks[sobject]
            for batch in run.source.read_all(reads[sobject], expected):
                _check_stop(run)
                _take(run, sobject, batch, summary, full=True)
                seen.update(str(r["Id"])[:15] for r in batch)
                latest = _latest(batch, latest)
                if run.progress is not None:
                    run.progress(sobject, len(seen), expected)
            _reconcile(run, sobject, seen, summary)
            _save_watermark(run, sobject, latest)
            continue
        got = changes.get(sobject, ObjectChanges())
        _take(run, sobject, got.records, summary)
        _removals(run, sobject, got, summary)
        _save_watermark(run, sobject, _latest(got.records, marks[sobject]))
    _check_stop(run)
    sent = push_changes(run.store, run.source, run.maps, run.context())
    summary.outbound += sent.written
    summary.failed += sent.failed
    if run.config.sync.activities:
        done, failed = push_activities(run.store, run.source, run.context())
        summary.activities += done
        summary.failed += failed
