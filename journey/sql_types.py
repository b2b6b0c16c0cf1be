"""The column type every store table gives a moment: timezone-aware in, UTC out.

The engine compares and subtracts moments from the store with ``datetime.now(UTC)``, so
each must come back aware, on every database. SQLite keeps no offset, so a moment is
written as UTC and read back with UTC attached; PostgreSQL's ``timestamptz`` keeps it. A
naive datetime is refused when written: its zone would be a guess.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = ["UtcDateTime"]


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that takes aware datetimes and returns them in UTC."""

    impl = sa.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def coerce_compared_value(self, op: Any, value: Any) -> sa.types.TypeEngine[Any]:
        # ``next_due - interval``: a timedelta compared with a moment is an interval.
        if isinstance(value, timedelta):
            return sa.Interval()
        return self

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"a moment without a time zone cannot be stored: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:  # SQLite: stored as UTC, without the offset
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
