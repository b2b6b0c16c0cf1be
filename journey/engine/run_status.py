"""A run's status, apart from the store that keeps it: the executor and the dry run decide
statuses in memory, and a dry run imports no database layer (``engine.store`` re-exports it)."""

from __future__ import annotations

import enum

__all__ = ["RunStatus"]


class RunStatus(enum.StrEnum):
    """Where a run stands. Moves: a trigger creates a run ``active`` at the journey's first
    step; the runner advances it step by step:

    * ``active`` — due to be advanced when ``next_due`` has passed (at once on entry; later
      after a connector asked to retry).
    * ``waiting`` — parked at a ``wait``/``wait until`` step until ``next_due``; a change to
      the contact sets ``wake`` so goals and ``wait until`` conditions are re-checked early.
    * ``effect`` — an effect intent is committed and the connector is being called; after
      a crash the runner reconciles the intent, then the run moves on.
    * ``completed`` — reached the end. ``exited`` — reached ``exit`` (or left at a false
      ``if not ...: exit``). ``goal`` — met a goal (``goal`` column names it).
    * ``failed`` — the connector refused an action; the run stays at that step.

    The first three are *live*: a contact never has two live runs in one journey.
    """

    ACTIVE = "active"
    WAITING = "waiting"
    EFFECT = "effect"
    COMPLETED = "completed"
    EXITED = "exited"
    GOAL = "goal"
    FAILED = "failed"
