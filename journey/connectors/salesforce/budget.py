"""The API budget: every call counted, and a cap that keeps us under a share of the org's
daily allocation.

Pipeline position: a ``requests`` response hook on the connector's HTTP session (so every
call counts — REST, Collections, Bulk, SOAP, query pages) and a check ``batching`` makes
before each call. Salesforce reports ``api-usage=USED/MAX`` in the ``Sforce-Limit-Info``
header of every response; the cap is ``max_daily_api_share × MAX``. Reaching it pauses
Salesforce work until the next UTC day (Salesforce's window is a rolling 24 hours; the
next pass after midnight simply tries again and reads the real figure).

``api_usage(state)`` is what ``journey status`` and ``journey salesforce status`` show.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from journey.connectors.salesforce.errors import PausedError
from journey.connectors.salesforce.state import ConnectorState

__all__ = ["ApiBudget", "ApiUsage", "api_usage"]

_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
_KEY = "api_usage"


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


def api_usage(state: ConnectorState, share: float, now: datetime | None = None) -> ApiUsage:
    """Today's usage as last recorded (no Salesforce call)."""
    day = (now or datetime.now(UTC)).date().isoformat()
    raw = state.get(_KEY) or {}
    if raw.get("day") != day:
        return ApiUsage(day, None, raw.get("limit"), 0, share)
    return ApiUsage(day, raw.get("used"), raw.get("limit"), int(raw.get("ours", 0)), share)


class ApiBudget:
    """Counts calls (``hook``) and refuses to start one past the cap (``check``)."""

    def __init__(
        self,
        state: ConnectorState,
        share: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.state, self.share, self.clock = state, share, clock
        self._lock = threading.Lock()
        usage = api_usage(state, share, clock())
        self._day, self._used, self._limit, self._ours = (
            usage.day,
            usage.used,
            usage.limit,
            usage.ours,
        )
        self._dirty = 0
        #: Calls in this process that wrote (not GET, not a Bulk query job): for benchmarks.
        self.writes = 0

    def hook(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> requests.Response:
        """A ``requests`` response hook: count the call, read the org's figures."""
        with self._lock:
            self._roll()
            self._ours += 1
            request = response.request
            if request.method != "GET" and not str(request.url).rstrip("/").endswith("jobs/query"):
                self.writes += 1
            match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
            if match:
                self._used, self._limit = int(match.group(1)), int(match.group(2))
            self._dirty += 1
        return response

    def _roll(self) -> None:
        day = self.clock().date().isoformat()
        if day != self._day:
            self._day, self._used, self._ours = day, None, 0

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
        """Calls this project made today."""
        return self._ours

    def check(self) -> None:
        """Raise ``PausedError`` when one more call would pass the cap."""
        with self._lock:
            self._roll()
            if self._limit is None or self._used is None:
                return
            cap = int(self._limit * self.share)
            if self._used >= cap:
                tomorrow = datetime.combine(
                    self.clock().date() + timedelta(days=1), datetime.min.time(), UTC
                )
                raise PausedError(
                    "API_CAP_REACHED",
                    f"{self._used} of the org's {self._limit} daily API calls are used; the cap "
                    f"(max_daily_api_share = {self.share}) is {cap}",
                    until=tomorrow,
                )

    def save(self) -> None:
        """Persist the figures (once per batch, not per call)."""
        with self._lock:
            if not self._dirty:
                return
            self._dirty = 0
            value = {"day": self._day, "used": self._used, "limit": self._limit, "ours": self._ours}
        self.state.put(_KEY, value)
