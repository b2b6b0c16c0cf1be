"""``journey publish``: publish the working tree's journeys, and with ``--migrate`` move
the in-flight runs the plan says move.

Pipeline position: CLI -> **migrate** -> ``make_plan`` (what changes) -> ``Catalog.publish``
(the versions) -> the runs table and the activity feed. Publishing alone never moves a run:
new runs enter the new versions, running ones finish on theirs; a worker's republishing of
an edit (``Project.reload_journeys``) is exactly that. ``--migrate`` moves each run the
plan gives a ``migrate_to`` step: it keeps its status and ``seq``, a wait keeps the moment
it began (a changed ``wait`` ends at its start plus the new duration), and a waiting run
whose step is no longer a wait takes its new step at the next pass. Every moved run gets an
activity entry; a run that moved on since the plan was made (its version, step, status or
``seq`` differ) is left where it is. The moves commit together.

The caller holds the runner lock while it migrates (``journey.cli.plan``): a runner in the
middle of a pass would write back positions of the old version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from journey.dsl import CompiledJourney
from journey.dsl.compiled import Step
from journey.engine.config import ProjectConfig
from journey.engine.journeys import Catalog, journey_key, load_catalog
from journey.engine.plan.diff import make_plan
from journey.engine.plan.model import JourneyChange, Plan, RunGroup
from journey.engine.store import Activity, Run, RunStatus, Store

__all__ = ["MIGRATE_KIND", "PublishReport", "publish", "refuse_beside_workers"]

#: The activity kind of a run moved to a new version (at the step it moved to; not an
#: entry into that step, so ``journey status`` does not count it as one).
MIGRATE_KIND = "migrate"

_WAITS = ("wait", "wait_until")


@dataclass(frozen=True)
class PublishReport:
    """What ``journey publish`` did: the plan it applied, and the runs it moved."""

    plan: Plan
    migrate: bool
    #: Journey name -> runs moved to its new version.
    moved: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan.as_dict(), "migrate": self.migrate, "moved": self.moved}


def _position(
    old: Step, new: Step, status: str, due: datetime, now: datetime
) -> tuple[str, datetime]:
    """The status and due moment of a run moved from ``old`` to ``new``."""
    if status != RunStatus.WAITING.value:
        return status, due
    if old.kind in _WAITS and new.kind in _WAITS and old.duration and new.duration:
        return status, due - old.duration + new.duration
    if new.kind in _WAITS:
        return status, due
    return RunStatus.ACTIVE.value, now


def _move(
    conn: sa.Connection,
    journey: JourneyChange,
    group: RunGroup,
    old: CompiledJourney,
    new: CompiledJourney,
    now: datetime,
) -> int:
    assert group.migrate_to is not None
    runs, act = Run, Activity
    before, after = old.steps[group.step_id], new.steps[group.migrate_to]
    found = conn.execute(
        sa.select(runs.c.id, runs.c.contact_id, runs.c.next_due, runs.c.seq).where(
            runs.c.journey_key == journey_key(journey.name),
            runs.c.version == group.version,
            runs.c.step_id == group.step_id,
            runs.c.status == group.status,
        )
    ).all()
    moved = 0
    for run in found:
        status, due = _position(before, after, group.status, run.next_due, now)
        done = conn.execute(
            sa.update(runs)
            .where(
                runs.c.id == run.id,
                runs.c.version == group.version,
                runs.c.step_id == group.step_id,
                runs.c.status == group.status,
                runs.c.seq == run.seq,
            )
            .values(version=new.version, step_id=after.id, status=status, next_due=due)
        )
        if done.rowcount != 1:
            continue
        moved += 1
        data = {"from": group.version, "to": new.version, "step": after.id}
        detail = (
            f'moved from version {group.version[:8]} to {new.version[:8]} at step "{after.id}" '
            "(journey publish --migrate)"
        )
        if status == RunStatus.WAITING.value and due != run.next_due:
            detail += f"; the wait now ends {due.isoformat()}"
        conn.execute(
            sa.insert(act).values(
                contact_id=run.contact_id,
                run_id=run.id,
                journey=new.name,
                step_id=after.id,
                kind=MIGRATE_KIND,
                outcome="moved",
                detail=detail,
                data=json.dumps(data),
                at=now,
            )
        )
    return moved


def refuse_beside_workers(store: Store, now: datetime) -> None:
    """``InUseError`` while a worker is alive on the store: a worker may hold a run in a
    batch it has not written back yet, and would then write its old version's step over
    the move. On SQLite the runner lock already keeps them apart; on PostgreSQL, where
    workers take no such lock, the registry (``engine.fleet``) says who is running."""
    from journey.engine.fleet import workers
    from journey.engine.locks import InUseError

    with store.engine.connect() as conn:
        alive = [w for w in workers(conn, now) if w.alive]
    if alive:
        names = ", ".join(f"{w.id} (pid {w.pid} on {w.host})" for w in alive)
        raise InUseError(
            f"{len(alive)} worker(s) are running on this store: {names}",
            "stop the workers, run `journey publish --migrate`, then start them again "
            "(publishing without --migrate needs no stop)",
        )


def publish(
    config: ProjectConfig, store: Store, now: datetime, *, migrate: bool = False
) -> PublishReport:
    """Publish the working tree's journeys (``make_plan`` says what that changes) and, with
    ``migrate``, move the runs it says move. Raises ``JourneyLoadError`` when a journey
    does not compile: then nothing is published."""
    catalog = load_catalog(config, store)
    plan = make_plan(config, store, tree=catalog)
    catalog.publish(now)
    moved: dict[str, int] = {}
    if migrate:
        versions = Catalog(store=store)
        with store.begin() as conn:
            for journey in plan.journeys:
                new = catalog.current.get(journey_key(journey.name))
                if new is None:
                    continue
                for group in journey.runs:
                    if group.migrate_to is None:
                        continue
                    old = versions.get(group.version)
                    count = _move(conn, journey, group, old, new, now)
                    if count:
                        moved[journey.name] = moved.get(journey.name, 0) + count
    return PublishReport(plan, migrate, moved)
