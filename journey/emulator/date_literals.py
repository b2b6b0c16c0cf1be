"""SOQL date literals (``TODAY``, ``LAST_MONTH``, ``NEXT_N_DAYS:5``, …) as date ranges.

Pipeline position: used by ``conditions`` when a WHERE compares a date or dateTime field
with a literal. Each literal is a half-open range of days ``[start, end)`` counted from
the org's clock, as "Date Formats and Date Literals in WHERE" defines them
(https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm):
``=`` matches inside the range, ``<`` before it, ``>`` after it. Salesforce counts in the
querying user's locale and time zone; the emulated org counts in UTC with the en_US
locale, so weeks start on Sunday and quarters are calendar quarters. Fiscal literals need
the org's fiscal year settings, which the emulated org does not have, so they are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

__all__ = ["date_range"]

Range = tuple[date, date]


def _week(day: date) -> date:
    """The Sunday starting ``day``'s week (en_US)."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _month(day: date, shift: int = 0) -> date:
    """The first day of the month ``shift`` months from ``day``'s."""
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def _quarter(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _weeks(today: date, first: int, count: int) -> Range:
    start = _week(today) + timedelta(weeks=first)
    return start, start + timedelta(weeks=count)


def _months(today: date, first: int, count: int, size: int = 1) -> Range:
    base = _quarter(today) if size == 3 else _month(today)
    return _month(base, first * size), _month(base, (first + count) * size)


def _years(today: date, first: int, count: int) -> Range:
    return date(today.year + first, 1, 1), date(today.year + first + count, 1, 1)


def _days(today: date, first: int, count: int) -> Range:
    return today + timedelta(days=first), today + timedelta(days=first + count)


# The literals without a count, each as the range it names.
_FIXED: dict[str, Callable[[date], Range]] = {
    "TODAY": lambda t: _days(t, 0, 1),
    "YESTERDAY": lambda t: _days(t, -1, 1),
    "TOMORROW": lambda t: _days(t, 1, 1),
    "THIS_WEEK": lambda t: _weeks(t, 0, 1),
    "LAST_WEEK": lambda t: _weeks(t, -1, 1),
    "NEXT_WEEK": lambda t: _weeks(t, 1, 1),
    "THIS_MONTH": lambda t: _months(t, 0, 1),
    "LAST_MONTH": lambda t: _months(t, -1, 1),
    "NEXT_MONTH": lambda t: _months(t, 1, 1),
    "THIS_QUARTER": lambda t: _months(t, 0, 1, 3),
    "LAST_QUARTER": lambda t: _months(t, -1, 1, 3),
    "NEXT_QUARTER": lambda t: _months(t, 1, 1, 3),
    "THIS_YEAR": lambda t: _years(t, 0, 1),
    "LAST_YEAR": lambda t: _years(t, -1, 1),
    "NEXT_YEAR": lambda t: _years(t, 1, 1),
    # "starts with the current day and continues for the past 90 days": today included
    "LAST_90_DAYS": lambda t: _days(t, -90, 91),
    "NEXT_90_DAYS": lambda t: _days(t, 1, 90),
}

_UNITS: dict[str, Callable[..., Range]] = {
    "DAYS": _days,
    "WEEKS": _weeks,
    "MONTHS": _months,
    "QUARTERS": lambda t, first, count: _months(t, first, count, 3),
    "YEARS": _years,
}


def _counted(name: str, n: int, today: date) -> Range | None:
    """``LAST_N_<UNIT>S:n``, ``NEXT_N_<UNIT>S:n`` and ``N_<UNIT>S_AGO:n``."""
    if name.startswith("N_") and name.endswith("_AGO"):
        unit = _UNITS.get(name[2:-4])
        return unit(today, -n, 1) if unit else None
    direction, _, unit_name = name.partition("_N_")
    unit = _UNITS.get(unit_name)
    if unit is None or direction not in ("LAST", "NEXT"):
        return None
    if unit_name == "DAYS":
        # LAST_N_DAYS:n is today and the n days before it; NEXT_N_DAYS:n starts tomorrow.
        return _days(today, -n, n + 1) if direction == "LAST" else _days(today, 1, n)
    # The other units count whole periods before or after the current one.
    return unit(today, -n, n) if direction == "LAST" else unit(today, 1, n)


def date_range(literal: str, today: date) -> Range | None:
    """``literal``'s days as ``[start, end)``; None for a literal the org cannot count
    (the fiscal ones)."""
    name, _, count = literal.upper().partition(":")
    if not count:
        fixed = _FIXED.get(name)
        return fixed(today) if fixed else None
    return _counted(name, int(count), today)
