"""Replication: ``getUpdated`` and ``getDeleted`` windows, and the recycle bin's end.

Pipeline position: called by ``rest`` for ``sobjects/X/updated`` and ``sobjects/X/deleted``
— the resources a LastModifiedDate/SystemModstamp-based sync polls. Windows are cut to
whole minutes as Salesforce cuts them; ``updated`` reaches back 30 days and ``deleted``
15 (the recycle bin), and older starts are refused with ``INVALID_REPLICATION_DATE``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from journey.emulator.errors import ApiError
from journey.emulator.values import format_datetime, parse_datetime

if TYPE_CHECKING:
    from journey.emulator.org import Org

__all__ = ["RECYCLE_BIN_DAYS", "UPDATED_WINDOW_DAYS", "deleted", "empty_recycle_bin", "updated"]

RECYCLE_BIN_DAYS = 15
UPDATED_WINDOW_DAYS = 30


def empty_recycle_bin(org: Org) -> None:
    """Records deleted more than 15 days ago are gone for good, as in Salesforce."""
    cutoff = format_datetime(org.now() - timedelta(days=RECYCLE_BIN_DAYS))
    for sobject in org.schema.objects():
        for record_id, _ in org.store.deleted_between(sobject.name, "", cutoff):
            org.store.purge(record_id)


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
    low, high, latest = window(org, start, end, RECYCLE_BIN_DAYS)
    found = org.store.deleted_between(definition.name, low, high)
    earliest = format_datetime(org.now() - timedelta(days=RECYCLE_BIN_DAYS))
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
