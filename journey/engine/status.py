"""Read-only views of the store for people: per-step journey counts and a contact's story.

Pipeline position: store -> **status** -> CLI (``journey status``, ``journey contact``).
Counts per step, over every version still in the store:

* ``entered`` — runs that reached the step (one activity entry per visit, so a ``go to``
  loop counts each pass);
* ``waiting`` — runs parked at it now; ``failed`` — runs stopped at it by a refusal;
* ``done`` — visits that went on past it (entered − waiting − failed); a run about to
  take a step has no entry for it yet, so it is not counted. The feed entry of a
  run put back by ``journey retry`` is not a visit; its next attempt at the step is.

Who failed where and why is ``engine.failed_runs`` (``journey status JOURNEY`` lists it);
the workers working the store, alive or gone, and the sync's leader are ``engine.fleet``'s
registry (``fleet_status``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from journey.dsl.compiled import END
from journey.engine.claims import claimed_runs_by_worker
from journey.engine.contacts import contact_id_by_email, load_views
from journey.engine.failed_runs import RETRY_KIND
from journey.engine.fleet import WorkerStatus, workers
from journey.engine.journeys import Catalog, journey_key
from journey.engine.plan.migrate import MIGRATE_KIND
from journey.engine.store import LIVE_STATUSES, Activity, Run, RunStatus, Store

__all__ = [
    "ContactReport",
    "JourneyStatus",
    "StepCount",
    "contact_report",
    "contact_report_by_id",
    "fleet_status",
    "journey_status",
]


@dataclass
class StepCount:
    step: str
    text: str
    line: int
    entered: int = 0
    waiting: int = 0
    done: int = 0
    failed: int = 0


@dataclass
class JourneyStatus:
    journey: str
    version: str
    runs: dict[str, int] = field(default_factory=dict)  # status -> count
    steps: list[StepCount] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "journey": self.journey,
            "version": self.version,
            "runs": self.runs,
            "steps": [s.__dict__ for s in self.steps],
        }


def journey_status(store: Store, catalog: Catalog, name: str | None = None) -> list[JourneyStatus]:
    """Counts for every current journey (or the one named, any case)."""
    runs, act = Run, Activity
    out: list[JourneyStatus] = []
    for key, journey in sorted(catalog.current.items()):
        if name is not None and key != journey_key(name):
            continue
        status = JourneyStatus(journey.name, journey.version)
        counts = {s.id: StepCount(s.id, s.text, s.line) for s in journey.steps.values()}
        with store.engine.connect() as conn:
            for r in conn.execute(
                sa.select(runs.c.status, sa.func.count())
                .where(runs.c.journey_key == key)
                .group_by(runs.c.status)
            ):
                status.runs[r[0]] = int(r[1])
            for r in conn.execute(
                sa.select(act.c.step_id, sa.func.count())
                .where(
                    act.c.journey == journey.name,
                    act.c.kind.not_in(["enter", RETRY_KIND, MIGRATE_KIND]),
                )
                .group_by(act.c.step_id)
            ):
                if r[0] in counts:
                    counts[r[0]].entered = int(r[1])
            for r in conn.execute(
                sa.select(runs.c.step_id, runs.c.status, sa.func.count())
                .where(
                    runs.c.journey_key == key,
                    runs.c.status.in_([*LIVE_STATUSES, RunStatus.FAILED.value]),
                )
                .group_by(runs.c.step_id, runs.c.status)
            ):
                if r[0] not in counts:
                    continue
                if r[1] == RunStatus.WAITING.value:
                    counts[r[0]].waiting += int(r[2])
                elif r[1] == RunStatus.FAILED.value:
                    counts[r[0]].failed += int(r[2])
        for c in counts.values():
            c.done += c.entered - c.waiting - c.failed
            c.done = max(c.done, 0)
        status.steps = sorted(counts.values(), key=lambda c: (c.step == END, c.line, c.step))
        out.append(status)
    return out


@dataclass
class ContactReport:
    id: int
    email: str | None
    fields: dict[str, str]
    lists: list[str]
    salesforce: dict[str, str | None]
    runs: list[dict[str, Any]]
    activity: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def contact_report(store: Store, email: str, limit: int = 200) -> ContactReport | None:
    """A contact's fields, lists, runs and (latest ``limit``) activity, oldest first."""
    with store.engine.connect() as conn:
        cid = contact_id_by_email(conn, email)
    return None if cid is None else contact_report_by_id(store, cid, limit)


def contact_report_by_id(store: Store, cid: int, limit: int = 200) -> ContactReport | None:
    """``contact_report`` for the contact with store ID ``cid``, one without an email too."""
    runs, act = Run, Activity
    with store.engine.connect() as conn:
        view = load_views(conn, [cid]).get(cid)
        if view is None:
            return None
        run_rows = conn.execute(
            sa.select(runs).where(runs.c.contact_id == cid).order_by(runs.c.id)
        ).all()
        rows = conn.execute(
            sa.select(act).where(act.c.contact_id == cid).order_by(act.c.id.desc()).limit(limit)
        ).all()
    return ContactReport(
        id=cid,
        email=view.email,
        fields=dict(sorted(view.values().items())),
        lists=sorted(view.lists.values()),
        salesforce={"id": view.salesforce_id, "type": view.salesforce_type},
        runs=[
            {
                "journey": r.journey,
                "version": r.version,
                "step": r.step_id,
                "status": r.status,
                "goal": r.goal,
                "entered_at": r.entered_at.isoformat(timespec="seconds"),
                "next_due": r.next_due.isoformat(timespec="seconds")
                if r.status == RunStatus.WAITING.value
                else None,
            }
            for r in run_rows
        ],
        activity=[
            {
                "at": r.at.isoformat(timespec="seconds"),
                "journey": r.journey,
                "step": r.step_id,
                "kind": r.kind,
                "outcome": r.outcome,
                "detail": r.detail,
                **({"data": json.loads(r.data)} if r.data else {}),
            }
            for r in reversed(rows)
        ],
    )


def fleet_status(
    store: Store,
    now: datetime,
    claimed: Callable[[sa.Connection], Mapping[str, int]] | None = None,
) -> list[WorkerStatus]:
    """The registered workers as of ``now``; ``claimed`` counts what each holds (live runs
    by worker id: ``claims.claimed_runs_by_worker`` unless told otherwise)."""
    with store.engine.connect() as conn:
        return workers(conn, now, (claimed or claimed_runs_by_worker)(conn))
