"""Triggers: events from the inbox become runs, honouring each journey's entry rule.

Pipeline position: intake / connectors / journeys' own actions -> events (inbox) ->
**triggers** -> runs -> runner. An event enters a contact into every current journey with
a matching trigger, unless:

* the contact has a live run in that journey (never two, whatever the rule — the store's
  unique index enforces it too);
* ``entry once`` and the contact has ever entered it;
* ``entry once every N days`` and the last entry is less than N days ago.

Events are taken in order, in batches, and marked processed in the same transaction as
the runs they created, so a crash neither loses nor repeats an entry.

Many workers: with a runner's ``claims``, a batch is the oldest events no other transaction
holds (``FOR UPDATE SKIP LOCKED``) of contacts no other worker holds, and their contacts
are leased for the transaction (``engine.claims``), so two workers never take one contact's
events at once. Should a live run appear anyway (another writer entering the contact from a
Salesforce list), the store's unique index refuses the second one and the insert skips it:
the contact is already in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.dsl import CompiledJourney
from journey.dsl.syntax import (
    AddedToList,
    CampaignMemberStatusChanged,
    EnteredSegment,
    FieldChanged,
    FormSubmitted,
    Trigger,
)
from journey.dsl.text import trigger_text
from journey.engine.batch_writes import ACTIVITY_COLUMNS
from journey.engine.bulk_rows import insert_rows
from journey.engine.journeys import Catalog, journey_key
from journey.engine.sql_batches import among, id_batches
from journey.engine.store import (
    LIVE_STATUSES,
    Activity,
    Event,
    Run,
    enter_runs,
    entering_run,
)

if TYPE_CHECKING:
    from journey.engine.claims import Claims

__all__ = ["EventRow", "matches", "process_events"]


@dataclass(frozen=True)
class EventRow:
    id: int
    kind: str
    contact_id: int
    name: str
    value: str | None


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").casefold() == (b or "").casefold()


def matches(trigger: Trigger, event: EventRow) -> bool:
    """Does this event fire this trigger?"""
    match trigger:
        case FormSubmitted(form=form):
            return event.kind == "form_submitted" and _same(form, event.name)
        case AddedToList(list_name=name):
            return event.kind == "added_to_list" and _same(name, event.name)
        case EnteredSegment(segment=name):
            return event.kind == "entered_segment" and _same(name, event.name)
        case FieldChanged(field=name, to=to):
            return (
                event.kind == "field_changed"
                and _same(name, event.name)
                and (to is None or _same(to, event.value))
            )
        case CampaignMemberStatusChanged(campaign=name, to=to):
            return (
                event.kind == "campaign_status_changed"
                and _same(name, event.name)
                and (to is None or _same(to, event.value))
            )
    raise AssertionError(trigger)  # pragma: no cover


def _on(trigger: Trigger) -> str:
    """The trigger as the feed shows it: the language's own text, without its keyword."""
    return trigger_text(trigger).removeprefix("trigger ")


def _allowed(
    journey: CompiledJourney, history: tuple[bool, datetime | None], now: datetime
) -> bool:
    live, last_entered = history
    if live:
        return False
    if last_entered is None or journey.entry.mode == "always":
        return True
    if journey.entry.mode == "once every":
        return now - last_entered >= timedelta(days=journey.entry.days or 0)
    return False


def process_events(
    conn: Connection,
    catalog: Catalog,
    now: datetime,
    limit: int = 2000,
    claims: Claims | None = None,
) -> tuple[int, int]:
    """Turn up to ``limit`` pending events into runs. Returns (events taken, runs created).
    With ``claims``, only events of contacts this worker could lease (module docstring)."""
    ev = Event
    query = (
        sa.select(ev.c.id, ev.c.kind, ev.c.contact_id, ev.c.name, ev.c.value)
        .where(ev.c.processed.is_(False))
        .order_by(ev.c.id)
        .limit(limit)
    )
    if claims is not None:
        query = query.where(claims.available(conn, ev.c.contact_id))
        query = query.with_for_update(skip_locked=True)
    rows = [EventRow(r.id, r.kind, r.contact_id, r.name, r.value) for r in conn.execute(query)]
    if claims is not None:
        won = claims.take(conn, {r.contact_id for r in rows})
        rows = [r for r in rows if r.contact_id in won]
    if not rows:
        return 0, 0
    created = _enter(conn, catalog, rows, now)
    taken = among(conn, ev.c.id, [e.id for e in rows])
    conn.execute(sa.update(ev).where(taken).values(processed=True))
    if claims is not None:
        claims.give_back(conn, won)
    return len(rows), created


def _enter(conn: Connection, catalog: Catalog, rows: list[EventRow], now: datetime) -> int:
    """The runs and feed entries of the events' entries; how many runs."""
    journeys = list(catalog.current.values())
    wanted: list[tuple[EventRow, CompiledJourney, Trigger]] = []
    for event in rows:
        for journey in journeys:
            for trigger in journey.triggers:
                if matches(trigger, event):
                    wanted.append((event, journey, trigger))
                    break
    created: list[dict[str, Any]] = []
    entries: list[tuple[EventRow, CompiledJourney, Trigger]] = []
    if wanted:
        history = _history(conn, sorted({e.contact_id for e, _, _ in wanted}))
        for event, journey, trigger in wanted:
            key = (event.contact_id, journey_key(journey.name))
            if not _allowed(journey, history.get(key, (False, None)), now):
                continue
            history[key] = (True, now)
            created.append(
                entering_run(
                    event.contact_id, journey.name, key[1], journey.version, journey.start, now
                )
            )
            entries.append((event, journey, trigger))
    if not created:
        return 0
    # (contact, journey) is unique among live runs, so it maps ids back without asking for
    # ordered RETURNING (which would insert row by row); a pair the index refused has none.
    by_pair = {(cid, key): run_id for run_id, cid, key in enter_runs(conn, created)}
    made = [
        (by_pair[(row["contact_id"], row["journey_key"])], entry)
        for row, entry in zip(created, entries, strict=True)
        if (row["contact_id"], row["journey_key"]) in by_pair
    ]
    if made:
        # Binary: each value of its column's type (``bulk_rows.insert_rows``).
        entered = [
            (
                e.contact_id,
                run_id,
                j.name,
                j.start,
                "enter",
                "entered",
                f'entered "{j.name}" (version {j.version}) on {_on(t)}',
                None,
                now,
            )
            for run_id, (e, j, t) in made
        ]
        insert_rows(conn, Activity, ACTIVITY_COLUMNS, entered, binary=True)
    return len(made)


def _history(
    conn: Connection, contact_ids: Sequence[int]
) -> dict[tuple[int, str], tuple[bool, datetime | None]]:
    """(contact, journey) -> (has a live run, last entry time)."""
    runs = Run
    live = sa.func.max(sa.case((runs.c.status.in_(LIVE_STATUSES), 1), else_=0))
    out: dict[tuple[int, str], tuple[bool, datetime | None]] = {}
    for chunk in id_batches(conn, contact_ids):
        for r in conn.execute(
            sa.select(
                runs.c.contact_id,
                runs.c.journey_key,
                live.label("live"),
                sa.func.max(runs.c.entered_at).label("last"),
            )
            .where(among(conn, runs.c.contact_id, chunk))
            .group_by(runs.c.contact_id, runs.c.journey_key)
        ):
            out[(r.contact_id, r.journey_key)] = (bool(r.live), r.last)
    return out
