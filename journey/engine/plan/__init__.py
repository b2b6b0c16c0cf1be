"""``journey plan`` and ``journey publish``: what publishing the working tree's journeys
changes, and publishing exactly that.

Pipeline position: CLI (``journey.cli.plan``) -> **plan** -> catalog (``engine.journeys``)
and store. The stages, each testable alone:

* ``plan.baseline`` — what is compared with: the store's published versions, or the files
  at a git revision.
* ``plan.diff`` — journeys added, changed, removed; their steps added, removed, changed;
  the live runs on versions other than the new one, and their fates (``make_plan``).
* ``plan.render`` — the plan as text for a terminal and Markdown for a pull request.
* ``plan.migrate`` — publish (``Catalog.publish``) and, with ``--migrate``, move the runs
  the plan says move.
"""

from __future__ import annotations

from journey.engine.plan.baseline import BaseJourney, PlanError
from journey.engine.plan.diff import make_plan
from journey.engine.plan.model import JourneyChange, Plan, RunGroup, StepChange

__all__ = [
    "BaseJourney",
    "JourneyChange",
    "Plan",
    "PlanError",
    "RunGroup",
    "StepChange",
    "make_plan",
]
