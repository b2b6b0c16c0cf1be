"""Paused runs: the runs whose step the connector answered ``paused``, due again at once when
the connection is back.

Pipeline position: store → **paused_runs** ← ``journey salesforce renew`` (through
``connectors.factory``). A ``paused`` result leaves the run active at the same step and
due after the step retry schedule's first delay (``Runner._retry``), so a pass does not
ask a connection known to be down again and again. Once a renew has made the connection
work, that delay only holds the runs back: ``resume_paused`` makes them due from the
moment they were paused, so the next pass (or the worker's next tick) takes them at once.

A run is paused when its latest effect — the one keyed by its current ``seq`` — has the
outcome ``paused``; runs that moved on since (their ``seq`` is past it) are left alone.
"""

from __future__ import annotations

import sqlalchemy as sa

from journey.engine.store import Effect, Run, RunStatus, Store, status_is

__all__ = ["resume_paused"]


def resume_paused(store: Store) -> int:
    """Make every paused run due again from the moment it was paused (its paused effect's
    ``created_at``): due at once for the next pass, on the real clock or a ``--now`` one.
    The number of runs resumed."""
    runs, effects = Run, Effect
    current_key = sa.cast(runs.c.id, sa.String) + ":" + sa.cast(runs.c.seq, sa.String)
    paused_at = (
        sa.select(effects.c.created_at)
        .where(
            effects.c.run_id == runs.c.id,
            effects.c.key == current_key,
            effects.c.status == "paused",
        )
        .scalar_subquery()
    )
    with store.begin() as conn:
        result = conn.execute(
            sa.update(runs)
            .where(
                status_is(RunStatus.ACTIVE),
                runs.c.next_due > paused_at,
            )
            .values(next_due=paused_at)
        )
    return int(result.rowcount or 0)
