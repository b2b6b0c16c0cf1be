"""The executor: decides where a run goes next. Deterministic, no I/O, no clock of its own.

Pipeline position: runner / dry run -> **executor** -> (records, new position, pending
effect). Given a compiled journey, a run's position, the contact (``ContactView``) and
``now``, ``advance`` walks the run forward step by step until it must stop:

* at a ``wait`` / ``wait until`` (it returns the due time; the caller parks the run),
* at an action the connector must perform (it returns the ``Pending`` effect with its
  idempotency key ``"<run id>:<seq>"``; the caller commits the intent, calls the connector,
  then hands the result to ``complete_effect``),
* at ``exit``, the end, or a goal — goals are checked before every step.

Local actions (lists, ``update field``) change the ``ContactView`` in place and are
listed in ``Advance.changes`` for the caller to write back in the same transaction as the
run's new position. Everything the run did is in ``Advance.records`` (the activity feed).

Split assignment is a hash of (journey name, step id, contact key) into 100 buckets, so
the same contact always takes the same path, and a large population lands near the shares.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from journey.dsl.compiled import CompiledJourney, Step
from journey.dsl.limits import MAX_STEPS
from journey.dsl.syntax import Action, AddToList
from journey.engine.actions import Params, action_params, render
from journey.engine.conditions import Evaluator
from journey.engine.contact import ContactView
from journey.engine.executor_plan import (
    ACTION,
    CONDITION,
    CONNECTOR,
    END,
    EXIT,
    LIST_ADD,
    LIST_REMOVE,
    PLAN,
    SPLIT,
    WAIT,
    Node,
    plan_of,
)
from journey.engine.run_status import RunStatus

if TYPE_CHECKING:
    from journey.connectors.base import EffectResult

__all__ = [
    "MAX_STEPS_PER_ADVANCE",
    "Advance",
    "Change",
    "Pending",
    "Position",
    "Record",
    "advance",
    "complete_effect",
    "split_bucket",
]

#: A run that takes this many steps without stopping is failed: only a loop could do it,
#: and the compiler refuses loops without a wait, so this is a safety net. The language's
#: own limit (``dsl.limits.MAX_STEPS``): ``check`` refuses a journey with this many steps.
MAX_STEPS_PER_ADVANCE = MAX_STEPS


@dataclass(slots=True)
class Position:
    """What the executor needs of a run (the store holds the rest)."""

    run_id: int
    step_id: str
    status: RunStatus = RunStatus.ACTIVE
    next_due: datetime | None = None
    seq: int = 0


@dataclass(slots=True)
class Record:
    """One activity-feed entry. Not frozen, though nothing changes one once made: a
    frozen dataclass sets each field through ``object.__setattr__``, four times the cost,
    and a dry run makes several per contact."""

    step_id: str
    kind: str
    detail: str
    outcome: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """A local change to the contact: ``field`` (name, old, new) or ``list_add`` /
    ``list_remove`` (name)."""

    kind: Literal["field", "list_add", "list_remove"]
    name: str
    old: str = ""
    new: str = ""


@dataclass(frozen=True, slots=True)
class Pending:
    """An effect the connector must perform before the run can go on."""

    key: str
    step_id: str
    action: Action
    params: Params


@dataclass(slots=True)
class Advance:
    """The result of walking a run: where it stands and what it did on the way."""

    position: Position
    records: list[Record] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    pending: Pending | None = None
    goal: str | None = None
    steps: int = 0  # steps taken (the contact-steps the benchmark counts)


def split_bucket(journey_name: str, step_id: str, contact_key: str) -> int:
    """0..99, stable for a contact at one split of one journey."""
    digest = hashlib.sha256(f"{journey_name}\0{step_id}\0{contact_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


@lru_cache(maxsize=1024)
def _iso(moment: datetime) -> str:
    """Cached: a dry run's contacts share their virtual moments, so most are formatted once."""
    return moment.isoformat(timespec="seconds")


def advance(
    journey: CompiledJourney,
    position: Position,
    contact: ContactView,
    now: datetime,
    evaluator: Evaluator,
    *,
    lean: bool = False,
) -> Advance:
    """Walk the run from its position as far as it can go at ``now``. ``lean``: no
    records and no changes, only where the run ends up (a dry run that keeps no feed)."""
    if lean:
        return _advance_lean(journey, position, contact, now, evaluator)
    pos = Position(
        position.run_id, position.step_id, position.status, position.next_due, position.seq
    )
    out = Advance(pos)
    records = out.records
    nodes = vars(journey).get(PLAN) or plan_of(journey)
    goals = journey.goals
    resuming = pos.status == RunStatus.WAITING
    while out.steps < MAX_STEPS_PER_ADVANCE:
        node = nodes[pos.step_id]
        step = node.step
        # Goals first: a contact that meets one leaves at whatever step it is.
        for goal in goals:
            verdict = evaluator.evaluate(goal.condition, contact)
            if verdict.value:
                text = f'reached goal "{goal.name}": {verdict.text()}'
                records.append(Record(step.id, "goal", text, goal.name, at=now))
                pos.status, out.goal = RunStatus.GOAL, goal.name
                return out
        kind = node.kind
        if kind == END:
            records.append(Record(step.id, "end", "completed the journey", at=now))
            pos.status = RunStatus.COMPLETED
            return out
        if kind == EXIT:
            out.steps += 1
            pos.seq += 1
            records.append(Record(step.id, "exit", "exit", at=now))
            pos.status = RunStatus.EXITED
            return out
        if kind == WAIT:
            moved = _wait(step, pos, contact, now, evaluator, out, resuming)
            resuming = False
            if not moved:
                return out
            continue
        resuming = False
        out.steps += 1
        pos.seq += 1
        if kind == CONDITION:
            assert step.condition is not None
            verdict = evaluator.evaluate(step.condition, contact)
            outcome = "yes" if verdict.value else "no"
            records.append(
                Record(
                    step.id,
                    "condition",
                    node.prefix + verdict.text(),
                    outcome,
                    {"reasons": verdict.reasons},
                    at=now,
                )
            )
            pos.step_id = step.next[outcome]
        elif kind == SPLIT:
            digest = hashlib.sha256((node.split_seed + contact.key()).encode()).digest()
            bucket = int.from_bytes(digest[:8], "big") % 100
            outcome = node.buckets[bucket]
            data = {"bucket": bucket}
            records.append(Record(step.id, "split", node.prefix + outcome, outcome, data, at=now))
            pos.step_id = step.next[outcome]
        elif node.act != CONNECTOR:
            detail = _local(node, contact, out.changes)
            records.append(Record(step.id, "action", node.prefix + detail, "done", at=now))
            pos.step_id = node.next
        else:
            action = node.action
            assert action is not None
            params = action_params(action, contact.values, now)
            pos.status = RunStatus.EFFECT
            out.pending = Pending(f"{pos.run_id}:{pos.seq}", step.id, action, params)
            return out
    pos.status = RunStatus.FAILED
    records.append(Record(pos.step_id, "error", "too many steps without a wait", "failed", at=now))
    return out


def _advance_lean(
    journey: CompiledJourney,
    position: Position,
    contact: ContactView,
    now: datetime,
    evaluator: Evaluator,
) -> Advance:
    """``advance(lean=True)``: the same walk with nothing written down but where the run
    ends, its step count and sequence kept in locals (the loop a dry run of millions of
    contact-steps spends its time in)."""
    pos = Position(
        position.run_id, position.step_id, position.status, position.next_due, position.seq
    )
    out = Advance(pos)
    nodes = vars(journey).get(PLAN) or plan_of(journey)
    goals = journey.goals
    decide = evaluator.decide
    resuming = pos.status == RunStatus.WAITING
    step_id, steps, seq = pos.step_id, 0, pos.seq
    while steps < MAX_STEPS_PER_ADVANCE:
        node = nodes[step_id]
        for goal in goals:
            if decide(goal.condition, contact):
                pos.step_id, pos.seq, out.steps = step_id, seq, steps
                pos.status, out.goal = RunStatus.GOAL, goal.name
                return out
        kind = node.kind
        if kind == ACTION and node.act != CONNECTOR:
            resuming = False
            steps += 1
            seq += 1
            act = node.act
            if act == LIST_ADD:
                if node.key not in contact.lists:
                    contact.lists[node.key] = node.display
            elif act == LIST_REMOVE:
                contact.lists.pop(node.key, None)
            elif node.field_key:  # ``ContactView.put`` of a fixed value, inline
                entry = contact.fields.get(node.field_key)
                if node.value:
                    if entry is None or entry[1] != node.value:
                        contact.fields[node.field_key] = (node.display, node.value)
                elif entry is not None:
                    del contact.fields[node.field_key]
            else:
                value = node.value
                if "{{" in value:
                    value = render(value, contact.values())
                contact.put(node.display, value)
            step_id = node.next
            continue
        if kind == CONDITION:
            resuming = False
            steps += 1
            seq += 1
            assert node.condition is not None
            step_id = node.yes if decide(node.condition, contact) else node.no
            continue
        if kind == WAIT:
            pos.step_id, pos.seq, out.steps = step_id, seq, steps
            moved = _wait(node.step, pos, contact, now, evaluator, out, resuming, True)
            resuming = False
            if not moved:
                return out
            step_id, steps, seq = pos.step_id, out.steps, pos.seq
            continue
        if kind == SPLIT:
            resuming = False
            steps += 1
            seq += 1
            digest = hashlib.sha256((node.split_seed + contact.key()).encode()).digest()
            step_id = node.split_next[int.from_bytes(digest[:8], "big") % 100]
            continue
        pos.step_id, pos.seq, out.steps = step_id, seq, steps
        if kind == END:
            pos.status = RunStatus.COMPLETED
            return out
        if kind == EXIT:
            out.steps += 1
            pos.seq += 1
            pos.status = RunStatus.EXITED
            return out
        out.steps += 1
        pos.seq += 1
        action = node.action
        assert action is not None
        params = action_params(action, contact.values, now)
        pos.status = RunStatus.EFFECT
        out.pending = Pending(f"{pos.run_id}:{pos.seq}", step_id, action, params)
        return out
    pos.step_id, pos.seq, out.steps = step_id, seq, steps
    pos.status = RunStatus.FAILED
    return out


def _wait(
    step: Step,
    pos: Position,
    contact: ContactView,
    now: datetime,
    evaluator: Evaluator,
    out: Advance,
    resuming: bool,
    lean: bool = False,
) -> bool:
    """Arrive at or resume a wait; True when the run moves past it."""
    assert step.duration is not None
    if not resuming:
        out.steps += 1
        pos.seq += 1
        pos.next_due = now + step.duration
    assert pos.next_due is not None
    if step.kind == "wait_until":
        assert step.condition is not None
        if lean:
            met, verdict = evaluator.decide(step.condition, contact), None
        else:
            verdict = evaluator.evaluate(step.condition, contact)
            met = verdict.value
        if met:
            if verdict is not None:
                out.records.append(
                    Record(
                        step.id,
                        "wait",
                        f"{step.text} → condition met: {verdict.text()}",
                        "met",
                        at=now,
                    )
                )
            pos.step_id, pos.status, pos.next_due = step.next["next"], RunStatus.ACTIVE, None
            return True
        if now >= pos.next_due:
            if verdict is not None:
                out.records.append(
                    Record(
                        step.id,
                        "wait",
                        f"{step.text} → time ran out: {verdict.text()}",
                        "timed out",
                        at=now,
                    )
                )
            pos.step_id, pos.status, pos.next_due = step.next["next"], RunStatus.ACTIVE, None
            return True
        if not resuming and not lean:
            until = _iso(pos.next_due)
            out.records.append(
                Record(
                    step.id,
                    "wait",
                    f"{step.text} → waiting, at most until {until}",
                    "waiting",
                    {"until": until},
                    at=now,
                )
            )
        pos.status = RunStatus.WAITING
        return False
    if now >= pos.next_due and resuming:
        pos.step_id, pos.status, pos.next_due = step.next["next"], RunStatus.ACTIVE, None
        return True
    if not resuming:
        if not lean:
            until = _iso(pos.next_due)
            out.records.append(
                Record(
                    step.id,
                    "wait",
                    f"{step.text} → until {until}",
                    "waiting",
                    {"until": until},
                    at=now,
                )
            )
        if step.duration.total_seconds() <= 0:
            pos.step_id, pos.status, pos.next_due = step.next["next"], RunStatus.ACTIVE, None
            return True
    pos.status = RunStatus.WAITING
    return False


def _local(node: Node, contact: ContactView, changes: list[Change] | None) -> str:
    """A local action on the contact in memory; ``changes`` (None: not wanted) gets what
    the store must write."""
    if node.act == LIST_ADD:
        if node.key in contact.lists:
            return "already in the list"
        contact.lists[node.key] = node.display
        if changes is not None:
            changes.append(Change("list_add", node.display))
        return "added"
    if node.act == LIST_REMOVE:
        if node.key not in contact.lists:
            return "was not in the list"
        del contact.lists[node.key]
        if changes is not None:
            changes.append(Change("list_remove", node.display))
        return "removed"
    value = node.value
    if "{{" in value:
        value = render(value, contact.values())
    change = contact.put(node.display, value)
    if change is None:
        return "unchanged"
    if changes is not None:
        changes.append(Change("field", change[0], change[1], change[2]))
    return f"'{change[1]}' → '{change[2]}'"


def complete_effect(
    journey: CompiledJourney,
    position: Position,
    contact: ContactView,
    pending: Pending,
    result: EffectResult,
    now: datetime,
    retry_after: datetime | None = None,
    *,
    lean: bool = False,
) -> Advance:
    """Take the connector's result for a pending effect: apply the contact changes,
    record the outcome, and move the run on (done/skipped), park it (retry), leave it
    where it was (paused), or stop it (failed). ``lean``: as ``advance``'s, a done or
    skipped effect is not written down (the contact still takes its changes)."""
    pos = Position(
        position.run_id, position.step_id, position.status, position.next_due, position.seq
    )
    out = Advance(pos)
    step = journey.steps[pending.step_id]
    if result.status in ("done", "skipped"):
        changed = contact.apply(result.changes)
        joined = result.status == "done" or contact.salesforce_id
        action = step.action
        added = isinstance(action, AddToList) and joined and not contact.in_list(action.list_name)
        if added:
            assert isinstance(action, AddToList)
            contact.lists[action.list_name.casefold()] = action.list_name
        pos.step_id, pos.status, pos.next_due = step.next["next"], RunStatus.ACTIVE, None
        if lean:
            return out
        out.changes.extend(Change("field", name, old, new) for name, old, new in changed)
        if added:
            assert isinstance(action, AddToList)
            out.changes.append(Change("list_add", action.list_name))
        data = _effect_data(pending, result)
        if result.changes.salesforce_id:
            data["salesforce"] = {"id": contact.salesforce_id, "type": contact.salesforce_type}
        detail = step.text if result.status == "done" else f"{step.text} → skipped: {result.why}"
        if result.status == "done" and result.why:  # done, with a word on how
            detail += f" ({result.why})"
        if result.records:
            detail += " → " + ", ".join(f"{r.operation} {r.object} {r.id}" for r in result.records)
        out.records.append(Record(step.id, "action", detail, result.status, data, at=now))
        return out
    data = _effect_data(pending, result)
    if result.status == "failed":
        detail = f"{step.text} → failed: {result.error_code}: {result.message}"
        data["error"] = {"code": result.error_code, "message": result.message}
        out.records.append(Record(step.id, "error", detail, "failed", data, at=now))
        pos.status = RunStatus.FAILED
    elif result.status == "retry":
        detail = f"{step.text} → will retry: {result.message or result.why or ''}".rstrip()
        out.records.append(Record(step.id, "action", detail, "retry", data, at=now))
        # Same step again later; the next attempt takes a new key (seq moves on).
        pos.status, pos.next_due = RunStatus.ACTIVE, retry_after or now
    else:  # paused: the connection is down; nothing happened, try the same step later
        pos.status, pos.next_due = RunStatus.ACTIVE, retry_after or now
    return out


def _effect_data(pending: Pending, result: EffectResult) -> dict[str, Any]:
    """An effect's feed entry data: its key, and the records it wrote."""
    data: dict[str, Any] = {"key": pending.key}
    if result.records:
        data["records"] = [
            {"object": r.object, "id": r.id, "operation": r.operation, "fields": dict(r.fields)}
            for r in result.records
        ]
    return data
