"""What one step of the runner's protocol writes, in the caller's transaction: the runs'
new positions, the effect outcomes and intents, the activity feed.

Pipeline position: runner (``T1`` / ``T2`` of its module docstring) -> **batch_writes**
-> store. Apart from the runner so the protocol reads in one place and the rows it writes
in another. The rows are tuples in the column orders below, written one set-based
statement per table (``engine.bulk_rows``): a batch of 2,000 runs is a handful of
statements, whatever its size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from journey.engine.bulk_rows import insert_rows, update_rows
from journey.engine.contact import ContactView
from journey.engine.executor import Record
from journey.engine.store import Activity, Effect, Run

__all__ = [
    "ACTIVITY_COLUMNS",
    "INTENT_COLUMNS",
    "OUTCOME_COLUMNS",
    "RUN_COLUMNS",
    "Writes",
    "activity_rows",
    "differs",
    "flush",
    "to_json",
]

#: A run's new position: these columns, then its id.
RUN_COLUMNS = ("step_id", "status", "next_due", "wake", "seq", "attempts", "goal", "ended_at")
#: An activity entry.
ACTIVITY_COLUMNS = (
    "contact_id",
    "run_id",
    "journey",
    "step_id",
    "kind",
    "outcome",
    "detail",
    "data",
    "at",
)
#: An effect intent, written before the connector is called.
INTENT_COLUMNS = (
    "key",
    "run_id",
    "contact_id",
    "version",
    "step_id",
    "status",
    "params",
    "result",
    "created_at",
)
#: An effect's outcome: these columns, then its key.
OUTCOME_COLUMNS = ("status", "result")


@dataclass
class Writes:
    """The rows one step of the protocol decided, as tuples in the column orders above."""

    activity: list[tuple[Any, ...]] = field(default_factory=list)
    runs: list[tuple[Any, ...]] = field(default_factory=list)
    outcomes: list[tuple[Any, ...]] = field(default_factory=list)
    intents: list[tuple[Any, ...]] = field(default_factory=list)


#: ``json.dumps(value, sort_keys=True)``, with one encoder for every row rather than one
#: made per call (what ``dumps`` does when given an option).
_encode = json.JSONEncoder(sort_keys=True).encode
_text = json.encoder.encode_basestring_ascii

#: The text of one-key values already encoded (``to_json``), by (key, value); emptied when
#: full, so memory stays flat whatever the values.
_ONE_KEY: dict[tuple[str, Any], str] = {}
_ONE_KEY_MAX = 4096


def to_json(value: dict[str, Any]) -> str:
    """``json.dumps(value, sort_keys=True)``. A feed entry's data is nearly always one key
    — a condition's reasons, a split's bucket, a wait's end. A list of texts (reasons,
    which name each contact's own values) is written around its items' encoded text;
    the others a batch repeats a few of thousands of times, so their text is kept, keyed
    by value where it is text or an integer (by exact type: ``True`` is not ``1``)."""
    if len(value) != 1:
        return _encode(value)
    ((key, item),) = value.items()
    kind = type(item)
    if kind is list and type(key) is str and all(type(part) is str for part in item):
        return f"{{{_text(key)}: [{', '.join(map(_text, item))}]}}"
    if kind is not str and kind is not int:
        return _encode(value)
    memo = (key, item) if kind is not int else (key, (int, item))
    text = _ONE_KEY.get(memo)
    if text is None:
        if len(_ONE_KEY) >= _ONE_KEY_MAX:
            _ONE_KEY.clear()
        text = _ONE_KEY[memo] = _encode(value)
    return text


def differs(before: ContactView, after: ContactView) -> bool:
    return (
        before.fields != after.fields
        or before.lists != after.lists
        or before.email != after.email
        or before.salesforce_id != after.salesforce_id
        or before.salesforce_type != after.salesforce_type
        or before.owner_values() != after.owner_values()
    )


def activity_rows(
    run_id: int, contact_id: int, journey: str, records: Iterable[Record], now: datetime
) -> list[tuple[Any, ...]]:
    """The feed entries of a run's records (``ACTIVITY_COLUMNS``)."""
    return [
        (
            contact_id,
            run_id,
            journey,
            r.step_id,
            r.kind,
            r.outcome,
            r.detail,
            to_json(r.data) if r.data else None,
            r.at or now,
        )
        for r in records
    ]


def flush(conn: sa.Connection, writes: Writes) -> None:
    """Everything one step of the protocol decided, in the caller's transaction."""
    effects = Effect
    update_rows(conn, effects, "key", OUTCOME_COLUMNS, writes.outcomes)
    update_rows(conn, Run, "id", RUN_COLUMNS, writes.runs)
    # Binary: these rows are the runner's own, each value of its column's type.
    insert_rows(conn, Activity, ACTIVITY_COLUMNS, writes.activity, binary=True)
    insert_rows(conn, effects, INTENT_COLUMNS, writes.intents, binary=True)
