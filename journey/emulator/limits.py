"""The daily API allocation: every call counts one, whatever the records in it.

Pipeline position: charged by the server once per request (a Composite or Collections
call is one call, as in Salesforce), reported in the ``Sforce-Limit-Info`` header of
every response and by ``limits``; past the maximum a call is refused with 403
``REQUEST_LIMIT_EXCEEDED``. The count is kept in the store, so it survives a restart,
and resets when the UTC day changes (Salesforce's window is a rolling 24 hours; a
calendar day is close enough to test against and easy to reason about).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from journey.emulator.errors import ApiError
from journey.emulator.store import Store

__all__ = ["DEFAULT_DAILY_API_REQUESTS", "ApiCounter"]

#: A Developer Edition org's allocation.
DEFAULT_DAILY_API_REQUESTS = 15_000


class ApiCounter:
    """Calls made today against the org's daily maximum."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    @property
    def limit(self) -> int:
        return int(self._store.meta("api_limit") or DEFAULT_DAILY_API_REQUESTS)

    @limit.setter
    def limit(self, value: int) -> None:
        self._store.set_meta("api_limit", int(value))

    @property
    def used(self) -> int:
        usage = self._store.meta("api_usage") or {}
        return int(usage.get("used", 0)) if usage.get("day") == self._day() else 0

    def _set_used(self, value: int) -> None:
        self._store.set_meta("api_usage", {"day": self._day(), "used": value})

    def _day(self) -> str:
        return self._clock().date().isoformat()

    def charge(self) -> None:
        """Count one call, or refuse it when the allocation is spent. Read and written in
        one transaction, so two processes serving one state file count every call."""
        with self._store.transaction():
            used = self.used
            spent = used >= self.limit
            if not spent:
                self._set_used(used + 1)
        if spent:
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    def exhaust(self) -> None:
        """Spend the rest of today's allocation (a fault for tests)."""
        self._set_used(self.limit)

    def reset(self) -> None:
        self._set_used(0)

    def header(self) -> str:
        return f"api-usage={self.used}/{self.limit}"

    def limits(self) -> dict[str, Any]:
        """The ``limits`` resource (the allocations integrations look at)."""
        limit = self.limit
        return {
            "DailyApiRequests": {"Max": limit, "Remaining": max(limit - self.used, 0)},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        }
