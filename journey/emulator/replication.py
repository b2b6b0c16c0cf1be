"""Replication: ``getUpdated`` and ``getDeleted`` windows, and the recycle bin's end.

Pipeline position: called by ``rest`` for ``sobjects/X/updated`` and ``sobjects/X/deleted``
— the resources a LastModifiedDate/SystemModstamp-based sync polls — by ``soap`` for
``emptyRecycleBin``, and by ``org`` before every ``queryAll``. Windows are cut to whole
minutes as Salesforce cuts them; ``updated`` reaches back 30 days and ``deleted`` as far
as the recycle bin keeps records (15 days, or the seed's ``RecycleBinDays``); older starts
are refused with ``INVALID_REPLICATION_DATE``.

A record leaves the recycle bin for good when its days are up or when it is purged
(``emptyRecycleBin``); from then on neither ``getDeleted`` nor ``queryAll`` shows it, and
``getDeleted``'s ``earliestDateAvailable`` is the deletion time of the last record purged
— "the timestamp … of the last physically deleted object"
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getdeleted_getdeletedresult.htm).
A client whose last look is older than that has missed deletions and must resync.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from journey.emulator.errors import ApiError
from journey.emulator.ids import InvalidIdError, to_18
from journey.emulator.values import format_datetime, parse_datetime

if TYPE_CHECKING:
    from journey.emulator.org import Org

__all__ = [
    "MAX_EMPTY_RECYCLE_BIN",
    "RECYCLE_BIN_DAYS",
    "UPDATED_WINDOW_DAYS",
    "Purged",
    "deleted",
    "empty_recycle_bin",
    "purge_records",
    "recycle_bin_days",
    "updated",
]

RECYCLE_BIN_DAYS = 15
UPDATED_WINDOW_DAYS = 30
#: emptyRecycleBin takes at most 200 IDs a call
#: (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm).
MAX_EMPTY_RECYCLE_BIN = 200


def recycle_bin_days(org: Org) -> int:
    """How many days deleted records stay in the bin: 15, or the seed's ``RecycleBinDays``."""
    return int(org.store.meta("recycle_bin_days") or RECYCLE_BIN_DAYS)


def empty_recycle_bin(org: Org) -> None:
    """Records deleted longer ago than the bin keeps them are gone for good."""
    cutoff = format_datetime(org.now() - timedelta(days=recycle_bin_days(org)))
    for sobject in org.schema.objects():
        found = org.store.deleted_between(sobject.name, "", cutoff)
        for record_id, _ in found:
            org.store.purge(record_id)
        if found:
            _note_purged(org, sobject.name, found[-1][1])


@dataclass(frozen=True)
class Purged:
    """One ID's outcome in ``emptyRecycleBin``: ``error`` (code, message) when refused."""

    id: str
    error: tuple[str, str] | None = None


def purge_records(org: Org, ids: Sequence[str]) -> list[Purged]:
    """``emptyRecycleBin(ids)``: each deleted record is purged now; an ID that is not in
    the recycle bin is refused on its own, the others still purged."""
    if len(ids) > MAX_EMPTY_RECYCLE_BIN:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"emptyRecycleBin takes at most {MAX_EMPTY_RECYCLE_BIN} IDs, not {len(ids)}",
        )
    out: list[Purged] = []
    with org.store.transaction():
        for given in ids:
            try:
                record_id = to_18(given)
            except InvalidIdError:
                out.append(Purged(given, ("MALFORMED_ID", f"invalid ID: {given}")))
                continue
            found = org.store.get(record_id)
            if found is None or not found[2]:
                out.append(Purged(record_id, ("INVALID_ID_FIELD", "not in the recycle bin")))
                continue
            sobject, record, _ = found
            org.store.purge(record_id)
            _note_purged(org, sobject, str(record.get("SystemModstamp") or ""))
            out.append(Purged(record_id))
    return out


def _note_purged(org: Org, sobject: str, deleted_at: str) -> None:
    key = f"purged_through:{sobject}"
    if deleted_at and deleted_at > str(org.store.meta(key) or ""):
        org.store.set_meta(key, deleted_at)


def updated(org: Org, sobject: str, start: str, end: str) -> dict[str, Any]:
    """``sobjects/X/updated``: IDs whose SystemModstamp lies in [start, end)."""
    definition = org.object(sobject)
    low, high, latest = window(org, start, end, UPDATED_WINDOW_DAYS)
    ids = [r["Id"] for r in org.store.scan(definition.name) if low <= r["SystemModstamp"] < high]
    return {"ids": ids, "latestDateCovered": latest}


def deleted(org: Org, sobject: str, start: str, end: str) -> dict[str, Any]:
    """``sobjects/X/deleted``: records deleted in [start, end), from the recycle bin."""
    definition = org.object(sobject)
    empty_recycle_bin(org)
    days = recycle_bin_days(org)
    low, high, latest = window(org, start, end, days)
    found = org.store.deleted_between(definition.name, low, high)
    earliest = str(
        org.store.meta(f"purged_through:{definition.name}")
        or format_datetime(org.now() - timedelta(days=days))
    )
    return {
        "deletedRecords": [{"id": i, "deletedDate": d} for i, d in found],
        "earliestDateAvailable": earliest,
        "latestDateCovered": latest,
    }


def window(org: Org, start: str, end: str, max_days: int) -> tuple[str, str, str]:
    try:
        low, high = parse_datetime(start), parse_datetime(end)
    except ValueError:
        raise ApiError(
            400, "INVALID_REPLICATION_DATE", "start and end must be ISO-8601 datetimes"
        ) from None
    low, high = _minute(low), _minute(high)
    now = _minute(org.now())
    if high <= low:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "end date must be after start date")
    if low < now - timedelta(days=max_days):
        raise ApiError(
            400,
            "INVALID_REPLICATION_DATE",
            f"start date cannot be more than {max_days} days ago",
        )
    latest = min(high, now)
    return format_datetime(low), format_datetime(high), format_datetime(latest)


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)
