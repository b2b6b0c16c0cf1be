"""The API budget: every call counted, and a cap that keeps us under a share of the org's
daily allocation — across every worker on every machine.

Pipeline position: a ``requests`` response hook on the connector's HTTP session (so every
call counts — REST, Collections, Bulk, SOAP, query pages) and a check ``batching`` makes
before each call. Salesforce reports ``api-usage=USED/MAX`` in the ``Sforce-Limit-Info``
header of every response; the cap is ``max_daily_api_share × MAX``. Reaching it pauses
Salesforce work until the next UTC day (Salesforce's window is a rolling 24 hours; the
next pass after midnight simply tries again and reads the real figure).

The count lives in the store (``sf_api_calls``, one row per UTC day), shared by every
process: the hook counts in memory, and ``save`` — once per batch, not per call or record
— adds those calls to the day's row in one atomic upsert, reading back the total and the
newest ``api-usage`` figures any process saw. ``check`` refuses a call once either the
org's figure or the project's own total reaches the cap (the org counts every client, so
its figure is never below ours: the larger is the better estimate). Each response
carries the org's figure, every worker's calls in it, so a process learns of the others'
at its next call: together the workers pass the cap by about one call each at most.

``api_usage(state)`` is what ``journey status`` and ``journey salesforce status`` show.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from journey.connectors.salesforce.errors import PausedError
from journey.connectors.salesforce.state import ApiCalls, ApiDay, ConnectorState
from journey.sql_upsert import upsert

if TYPE_CHECKING:
    import requests

__all__ = ["ApiBudget", "ApiUsage", "api_day", "api_usage", "count_calls", "last_org_limit"]

_CALLS = ApiCalls

_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class ApiUsage:
    """``used``/``limit``: the org's figures at the last call; ``ours``: calls this project
    made today; ``cap``: the most we allow ourselves."""

    day: str
    used: int | None
    limit: int | None
    ours: int
    share: float

    @property
    def cap(self) -> int | None:
        return None if self.limit is None else int(self.limit * self.share)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "org_used": self.used,
            "org_limit": self.limit,
            "calls_by_journeys": self.ours,
            "cap": self.cap,
            "share": self.share,
        }


def count_calls(
    state: ConnectorState,
    day: str,
    calls: int,
    org: tuple[int, int] | None = None,
    seen_at: datetime | None = None,
) -> ApiDay:
    """Add ``calls`` to ``day``'s count, and the org's ``(used, limit)`` seen at
    ``seen_at`` when it is newer than the one kept: one statement, atomic whatever the
    other processes do; returns the day's figures after it."""
    table = _CALLS
    c = table.c
    with state.engine.begin() as conn:
        insert = upsert(conn, table)
        x = insert.excluded
        newer = sa.and_(x.seen_at.is_not(None), sa.or_(c.seen_at.is_(None), x.seen_at >= c.seen_at))
        row = conn.execute(
            insert.on_conflict_do_update(
                index_elements=[c.day],
                set_={
                    "calls": c.calls + x.calls,
                    "org_used": sa.case((newer, x.org_used), else_=c.org_used),
                    "org_limit": sa.case((newer, x.org_limit), else_=c.org_limit),
                    "seen_at": sa.case((newer, x.seen_at), else_=c.seen_at),
                },
            ).returning(c.calls, c.org_used, c.org_limit),
            [
                {
                    "day": day,
                    "calls": calls,
                    "org_used": org[0] if org else None,
                    "org_limit": org[1] if org else None,
                    "seen_at": seen_at if org else None,
                }
            ],
        ).one()
    return ApiDay(day, int(row.calls), row.org_used, row.org_limit)


def api_day(state: ConnectorState, day: str) -> ApiDay | None:
    """``day``'s figures as kept (no write); ``None`` before its first call."""
    table = _CALLS
    with state.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.day == day)).one_or_none()
    if row is None:
        return None
    return ApiDay(day, int(row.calls), row.org_used, row.org_limit)


def last_org_limit(state: ConnectorState) -> int | None:
    """The org's daily allocation as last seen, on any day."""
    table = _CALLS
    with state.engine.connect() as conn:
        value = conn.execute(
            sa.select(table.c.org_limit)
            .where(table.c.org_limit.is_not(None))
            .order_by(table.c.day.desc())
            .limit(1)
        ).scalar()
    return None if value is None else int(value)


def api_usage(state: ConnectorState, share: float, now: datetime | None = None) -> ApiUsage:
    """Today's usage as last recorded (no Salesforce call)."""
    day = (now or datetime.now(UTC)).date().isoformat()
    kept = api_day(state, day)
    if kept is None:
        return ApiUsage(day, None, last_org_limit(state), 0, share)
    return ApiUsage(day, kept.org_used, kept.org_limit, kept.calls, share)


class ApiBudget:
    """Counts calls (``hook``), adds them to the store's count (``save``) and refuses to
    start one past the cap (``check``)."""

    def __init__(
        self,
        state: ConnectorState,
        share: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.state, self.share, self.clock = state, share, clock
        self._lock = threading.Lock()
        usage = api_usage(state, share, clock())
        self._day, self._used, self._limit = usage.day, usage.used, usage.limit
        #: Every process's calls today, as of the last ``save``.
        self._total = usage.ours
        #: This process's calls not yet added to the store's count.
        self._pending = 0
        #: The org's figures read by this process since the last ``save``, and when.
        self._seen: tuple[int, int] | None = None
        self._seen_at: datetime | None = None
        #: Calls this process made (all days): for the per-command and per-cycle counts.
        self._made = 0
        #: Calls in this process that wrote (not GET, not a Bulk query job): for benchmarks.
        self.writes = 0

    def hook(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> requests.Response:
        """A ``requests`` response hook: count the call, read the org's figures."""
        with self._lock:
            self._roll()
            self._pending += 1
            self._made += 1
            request = response.request
            if request.method != "GET" and not str(request.url).rstrip("/").endswith("jobs/query"):
                self.writes += 1
            match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
            if match:
                self._used, self._limit = int(match.group(1)), int(match.group(2))
                self._seen, self._seen_at = (self._used, self._limit), datetime.now(UTC)
        return response

    def _roll(self) -> None:
        day = self.clock().date().isoformat()
        if day != self._day:
            # Calls still uncounted belong to the day they were made on.
            self._flush()
            self._day, self._used, self._total = day, None, 0

    def forget(self) -> None:
        """Drop the org's last figures, so the next call goes out and reads fresh ones
        (after a pause lapses: the allocation may have been raised or reset)."""
        with self._lock:
            self._used = None

    @property
    def known(self) -> bool:
        return self._limit is not None and self._used is not None

    @property
    def calls(self) -> int:
        """Calls this process made: callers count a command's or a cycle's by difference."""
        return self._made

    def check(self) -> None:
        """Raise ``PausedError`` when one more call would pass the cap."""
        with self._lock:
            self._roll()
            if self._limit is None:
                return
            cap = int(self._limit * self.share)
            ours = self._total + self._pending
            used = max(self._used if self._used is not None else 0, ours)
            if self._used is None and ours < cap:
                return
            if used >= cap:
                tomorrow = datetime.combine(
                    self.clock().date() + timedelta(days=1), datetime.min.time(), UTC
                )
                raise PausedError(
                    "API_CAP_REACHED",
                    f"{used} of the org's {self._limit} daily API calls are used; the cap "
                    f"(max_daily_api_share = {self.share}) is {cap}",
                    until=tomorrow,
                )

    def save(self) -> None:
        """Add this process's calls to the store's count and learn every process's total
        (once per batch, not per call): one statement."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        if not self._pending and self._seen is None:
            return
        kept = count_calls(self.state, self._day, self._pending, self._seen, self._seen_at)
        self._pending, self._seen, self._seen_at = 0, None, None
        self._total = kept.calls
        if kept.org_used is not None:
            # The newest figure any process saw (the org counts every client's calls).
            self._used, self._limit = kept.org_used, kept.org_limit
