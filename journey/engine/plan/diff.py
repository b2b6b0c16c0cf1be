"""The plan: the working tree's journeys against a baseline, and the runs in flight.

Pipeline position: ``journey plan`` / ``journey publish`` -> **diff** -> ``Plan``. The
working tree compiles as a publish would (``load_catalog``: one journey that does not
compile stops the plan, as it stops the publish); the baseline is the store's published
versions or a git revision's files (``engine.plan.baseline``); the runs are counted in
the store by journey, version, step and live status.

The fate of a live run on a version that is not the new one: it stays on the version it
entered with (its steps are kept in ``journey_versions``), unless ``journey publish
--migrate`` moves it to the step of the same ``step`` label in the new version. A run at
a step without a label, at a label the new version lacks, in the middle of an action
(``effect``), or of a journey that is removed, stays.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

import sqlalchemy as sa

from journey.dsl import END, CompiledJourney, compile_source
from journey.dsl.syntax import SendNotification
from journey.dsl.walk import is_label
from journey.engine.actions import is_local
from journey.engine.config import ProjectConfig
from journey.engine.journeys import Catalog, JourneyLoadError, load_catalog
from journey.engine.plan.baseline import BaseJourney, git_baseline, published_baseline
from journey.engine.plan.model import (
    JourneyChange,
    JourneyChangeKind,
    Plan,
    RunGroup,
    StepChange,
)
from journey.engine.store import LIVE_STATUSES, Run, RunStatus, Store

__all__ = ["fate", "make_plan", "salesforce_actions", "step_changes"]


@dataclass(frozen=True)
class _Live:
    version: str
    step_id: str
    status: str
    runs: int


def step_changes(old: CompiledJourney, new: CompiledJourney) -> tuple[StepChange, ...]:
    """The steps ``new`` adds, removes and changes against ``old``, by step id."""
    out: list[StepChange] = []
    for step in new.steps.values():
        if step.id == END:
            continue
        was = old.steps.get(step.id)
        if was is None:
            out.append(StepChange(step.id, "added", None, step.text, step.line))
        elif was.text != step.text:
            out.append(StepChange(step.id, "changed", was.text, step.text, step.line))
    for step in old.steps.values():
        if step.id != END and step.id not in new.steps:
            out.append(StepChange(step.id, "removed", step.text, None, step.line))
    return tuple(sorted(out, key=lambda c: (c.line, c.change != "removed", c.step_id)))


def _salesforce_texts(journey: CompiledJourney | None) -> list[str]:
    if journey is None:
        return []
    steps = sorted(journey.steps.values(), key=lambda s: s.line)
    return [
        s.text
        for s in steps
        if s.action is not None
        and not is_local(s.action)
        and not isinstance(s.action, SendNotification)
    ]


def salesforce_actions(old: CompiledJourney | None, new: CompiledJourney) -> tuple[str, ...]:
    """The Salesforce actions of ``new`` that ``old`` does not have (the connector's
    actions, a notification email apart), by their text."""
    had = set(_salesforce_texts(old))
    return tuple(dict.fromkeys(t for t in _salesforce_texts(new) if t not in had))


def fate(new: CompiledJourney | None, step_id: str, status: str) -> tuple[str | None, str | None]:
    """Where ``journey publish --migrate`` moves a live run at ``step_id`` (None: it stays),
    and why it stays."""
    if new is None:
        return None, "the journey is removed: they finish on their version"
    if status == RunStatus.EFFECT.value:
        return None, "an action is in flight: they finish it on their version"
    if not is_label(step_id):
        return None, f"step {step_id} has no label to find it by in the new version"
    if step_id not in new.steps:
        return None, f'the new version has no step labelled "{step_id}"'
    return step_id, None


def _live_runs(store: Store) -> dict[str, list[_Live]]:
    runs = Run
    query = (
        sa.select(
            runs.c.journey_key, runs.c.version, runs.c.step_id, runs.c.status, sa.func.count()
        )
        .where(runs.c.status.in_(LIVE_STATUSES))
        .group_by(runs.c.journey_key, runs.c.version, runs.c.step_id, runs.c.status)
    )
    found: dict[str, list[_Live]] = defaultdict(list)
    with store.engine.connect() as conn:
        for key, version, step_id, status, count in conn.execute(query):
            found[key].append(_Live(version, step_id, status, int(count)))
    return found


class _Versions:
    """The compiled journey of any version a run may be on: the tree's, the baseline's,
    or an older one recompiled from the store (``Catalog.get``)."""

    def __init__(self, store: Store | None, *known: CompiledJourney | None) -> None:
        self._stored = Catalog(store=store)
        self._known = {j.version: j for j in known if j is not None}

    def text(self, version: str, step_id: str) -> str:
        journey = self._known.get(version)
        if journey is None:
            try:
                journey = self._known[version] = self._stored.get(version)
            except (KeyError, JourneyLoadError):
                return "?"
        step = journey.steps.get(step_id)
        return step.text if step is not None else "?"


def _run_groups(
    live: list[_Live], new: CompiledJourney | None, base: str | None, versions: _Versions
) -> tuple[RunGroup, ...]:
    out = []
    for group in live:
        if new is not None and group.version == new.version:
            continue
        target, reason = fate(new, group.step_id, group.status)
        text = versions.text(group.version, group.step_id)
        out.append(
            RunGroup(group.version, group.step_id, text, group.status, group.runs, target, reason)
        )
    return tuple(sorted(out, key=lambda g: (g.version != base, g.version, g.step_id, g.status)))


def _compile_base(was: BaseJourney) -> CompiledJourney | None:
    """A baseline journey compiled as an old version is: leniently (names it used may no
    longer be declared), keeping its version."""
    journey = compile_source(was.source, was.path, None)[0]
    return None if journey is None else replace(journey, version=was.version)


def make_plan(
    config: ProjectConfig,
    store: Store | None,
    base: str | None = None,
    *,
    tree: Catalog | None = None,
) -> Plan:
    """What publishing the working tree would change, against the store's published
    versions (``base`` None) or the files at git revision ``base``. ``store`` None (a
    project that has no store yet) has nothing published and no runs. Raises
    ``JourneyLoadError`` when a journey of the working tree does not compile, and
    ``PlanError`` when the revision cannot be read. ``tree``: the working tree's catalog,
    when the caller has loaded it."""
    if tree is None:
        tree = load_catalog(config, None)
    if base is not None:
        baseline = git_baseline(config, base)
    else:
        baseline = published_baseline(store) if store is not None else {}
    olds = {key: _compile_base(was) for key, was in baseline.items()}
    versions = _Versions(store, *olds.values(), *tree.current.values())
    live = _live_runs(store) if store is not None else {}
    changes: list[JourneyChange] = []
    for key in sorted(set(tree.current) | set(baseline)):
        new, was, old = tree.current.get(key), baseline.get(key), olds.get(key)
        before = was.version if was is not None else None
        groups = _run_groups(live.get(key, []), new, before, versions)
        if new is None:
            assert was is not None
            changes.append(JourneyChange(was.name, "removed", was.path, before, None, (), groups))
            continue
        kind: JourneyChangeKind
        steps: tuple[StepChange, ...] = ()
        if old is None:
            kind = "added"
        elif old.version == new.version:
            kind = "unchanged"
        else:
            kind, steps = "changed", step_changes(old, new)
        actions = () if kind == "unchanged" else salesforce_actions(old, new)
        changes.append(
            JourneyChange(
                new.name, kind, new.source_path or "", before, new.version, steps, groups, actions
            )
        )
    return Plan("store" if base is None else f"git:{base}", tuple(changes))
