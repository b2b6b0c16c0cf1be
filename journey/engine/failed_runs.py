"""Failed runs: who stopped at which step and why, and putting them back once the cause is fixed.

Pipeline position: store -> **failed_runs** -> CLI (``journey status JOURNEY`` lists them,
``journey retry`` puts them back). A run fails when the connector refuses its action, or
when its transient retries run out; it stays at that step (``RunStatus.FAILED``) and its
feed holds the refusal (an ``error`` entry whose data carries the error code and message).

A refusal is usually fixed outside the engine — a field or a campaign status added in
Salesforce, a setting in ``journey.toml`` — so nothing here guesses whether it is fixed:
``retry_failed`` makes the chosen runs active again at the same step, due at once, with
their attempts counted from zero, and writes a "retried by hand" entry in each feed in the
same transaction. The runner then takes the step again under a new idempotency key (the
run's ``seq`` moves on as it enters the step), so the refused attempt's effect record
stays as it was. A contact who has entered the journey again since the failure already
has a live run there; the database allows one live run per contact per journey, so that
failed run is left as it is and reported, not retried.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from journey.engine.journeys import Catalog
from journey.engine.store import (
    LIVE_STATUSES,
    Activity,
    Contact,
    Run,
    RunStatus,
    Store,
    status_is,
)

__all__ = ["FailedRun", "RetryReport", "failed_runs", "retry_failed"]

#: The feed's kind for a run put back by ``journey retry`` (``journey contact`` shows it).
RETRY_KIND = "retry"
#: Run IDs per ``IN (...)``: under SQLite's bound-parameter limit on every version.
_CHUNK = 500


@dataclass(frozen=True)
class FailedRun:
    """One failed run, with the refusal that stopped it (``code`` is ``None`` for an engine
    refusal such as "too many steps without a wait")."""

    run_id: int
    contact_id: int
    email: str | None
    journey: str
    version: str
    step: str
    step_text: str
    code: str | None
    message: str
    failed_at: datetime | None
    #: Attempts at the step since it was last entered or retried by hand (transient
    #: retries plus the refused one).
    attempts: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "contact": self.email,
            "journey": self.journey,
            "version": self.version,
            "step": self.step,
            "step_text": self.step_text,
            "error": {"code": self.code, "message": self.message},
            "failed_at": self.failed_at.isoformat(timespec="seconds") if self.failed_at else None,
            "attempts": self.attempts,
        }


@dataclass
class RetryReport:
    """What ``retry_failed`` did: the runs put back, and those left failed with why."""

    retried: list[FailedRun] = field(default_factory=list)
    skipped: list[tuple[FailedRun, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "retried": len(self.retried),
            "skipped": len(self.skipped),
            "runs": [r.as_dict() for r in self.retried],
            "not_retried": [{**r.as_dict(), "why": why} for r, why in self.skipped],
        }


def _chunks(items: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _refusals(conn: sa.Connection, rows: Sequence[sa.Row[Any]]) -> dict[int, tuple[Any, int]]:
    """Per run: its latest refusal entry and the attempts at its step since it was last
    entered or retried by hand."""
    act = Activity
    steps = {r.id: r.step_id for r in rows}
    out: dict[int, tuple[Any, int]] = {}
    attempts: dict[int, int] = {}
    for ids in _chunks(list(steps)):
        for entry in conn.execute(
            sa.select(act.c.run_id, act.c.step_id, act.c.kind, act.c.outcome, act.c.detail)
            .add_columns(act.c.data, act.c.at)
            .where(act.c.run_id.in_(ids))
            .order_by(act.c.id)
        ):
            rid = int(entry.run_id)
            if entry.step_id != steps[rid] or entry.kind == RETRY_KIND:
                attempts[rid] = 0  # elsewhere in the journey, or a fresh start at the step
                continue
            if entry.outcome in ("retry", "failed"):
                attempts[rid] = attempts.get(rid, 0) + 1
            if entry.outcome == "failed":
                out[rid] = (entry, 0)
    return {rid: (entry, attempts.get(rid, 1)) for rid, (entry, _) in out.items()}


def _describe(
    catalog: Catalog, rows: Sequence[sa.Row[Any]], conn: sa.Connection
) -> list[FailedRun]:
    refusals = _refusals(conn, rows)
    out: list[FailedRun] = []
    for r in rows:
        try:
            step_text = catalog.get(r.version).steps[r.step_id].text
        except KeyError:  # a version the store no longer holds: the id still says where
            step_text = ""
        entry, attempts = refusals.get(r.id, (None, 1))
        code: str | None = None
        message = "failed (no refusal recorded)"
        if entry is not None:
            error = (json.loads(entry.data) if entry.data else {}).get("error") or {}
            code = error.get("code")
            message = error.get("message") or entry.detail
        out.append(
            FailedRun(
                run_id=int(r.id),
                contact_id=int(r.contact_id),
                email=r.email,
                journey=r.journey,
                version=r.version,
                step=r.step_id,
                step_text=step_text,
                code=code,
                message=message,
                failed_at=entry.at if entry is not None else r.ended_at,
                attempts=attempts,
            )
        )
    return out


def _query(journey_key: str | None, step: str | None, contact_id: int | None) -> sa.Select[Any]:
    runs, contacts = Run, Contact
    query = (
        sa.select(runs, contacts.c.email)
        .join(contacts, contacts.c.id == runs.c.contact_id)
        .where(status_is(RunStatus.FAILED))
    )
    if journey_key is not None:
        query = query.where(runs.c.journey_key == journey_key)
    if step is not None:
        query = query.where(runs.c.step_id == step)
    if contact_id is not None:
        query = query.where(runs.c.contact_id == contact_id)
    return query.order_by(runs.c.journey_key, runs.c.step_id, runs.c.id)


def failed_runs(
    store: Store,
    catalog: Catalog,
    *,
    journey_key: str | None = None,
    step: str | None = None,
    contact_id: int | None = None,
    limit: int | None = None,
) -> list[FailedRun]:
    """The failed runs matching every filter given, by journey and step, oldest first."""
    query = _query(journey_key, step, contact_id)
    if limit is not None:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        return _describe(catalog, conn.execute(query).all(), conn)


def _live(conn: sa.Connection, failed: Iterable[FailedRun]) -> set[tuple[int, str]]:
    """(contact, journey) pairs among ``failed`` that already have a live run."""
    runs = Run
    contacts = sorted({f.contact_id for f in failed})
    found: set[tuple[int, str]] = set()
    for ids in _chunks(contacts):
        found |= {
            (int(r.contact_id), r.journey)
            for r in conn.execute(
                sa.select(runs.c.contact_id, runs.c.journey).where(
                    runs.c.contact_id.in_(ids), runs.c.status.in_(LIVE_STATUSES)
                )
            )
        }
    return found


def retry_failed(
    store: Store,
    catalog: Catalog,
    now: datetime,
    *,
    journey_key: str | None = None,
    step: str | None = None,
    contact_id: int | None = None,
) -> RetryReport:
    """Put the matching failed runs back at their failed step, due at ``now`` (module
    docstring), in one transaction."""
    runs = Run
    report = RetryReport()
    with store.begin() as conn:
        failed = _describe(catalog, conn.execute(_query(journey_key, step, contact_id)).all(), conn)
        live = _live(conn, failed)
        entries: list[dict[str, Any]] = []
        for run in failed:
            if (run.contact_id, run.journey) in live:
                report.skipped.append(
                    (run, "the contact is in the journey again (a live run); not retried")
                )
                continue
            conn.execute(
                sa.update(runs)
                .where(runs.c.id == run.run_id, runs.c.status == RunStatus.FAILED.value)
                .values(
                    status=RunStatus.ACTIVE.value,
                    next_due=now,
                    wake=False,
                    attempts=0,
                    ended_at=None,
                )
            )
            why = f"{run.code}: {run.message}" if run.code else run.message
            entries.append(
                {
                    "contact_id": run.contact_id,
                    "run_id": run.run_id,
                    "journey": run.journey,
                    "step_id": run.step,
                    "kind": RETRY_KIND,
                    "outcome": "retried",
                    "detail": f"retried by hand: back at {run.step_text or run.step} "
                    f"(it had failed: {why})",
                    "data": json.dumps({"error": {"code": run.code, "message": run.message}}),
                    "at": now,
                }
            )
            report.retried.append(run)
        if entries:
            conn.execute(sa.insert(Activity), entries)
    return report
