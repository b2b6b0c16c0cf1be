"""The daily API allocation: every call counts one, whatever the records in it; and the
Bulk allocations ``limits`` reports beside it.

Pipeline position: charged by the server once per request (a Composite or Collections
call is one call, as in Salesforce; each Bulk API 1.0 HTTP request is one call too),
reported in the ``Sforce-Limit-Info`` header of every response and by ``limits``; past
the maximum a call is refused with 403 ``REQUEST_LIMIT_EXCEEDED``. The Bulk allocations
(query jobs, query result storage, batches) are spent by ``bulk`` and ``bulk1``. Counts
are kept in the store, so they survive a restart, and reset when the UTC day changes
(Salesforce's window is a rolling 24 hours; a calendar day is close enough to test
against and easy to reason about).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from journey.emulator.errors import ApiError
from journey.emulator.store import Store

__all__ = ["BULK_ALLOCATIONS", "DEFAULT_DAILY_API_REQUESTS", "ApiCounter"]

#: A Developer Edition org's allocation.
DEFAULT_DAILY_API_REQUESTS = 15_000

#: The Bulk allocations per 24 hours, as ``limits`` names them: 10,000 Bulk API 2.0 query
#: jobs and 1 TB of their results ("Limits for Query Jobs",
#: https://developer.salesforce.com/docs/atlas.en-us.228.0.api_bulk_v2.meta/api_bulk_v2/bulk_api_2_limits.htm;
#: 976,562 is the MB figure a real org's ``limits`` reports), and 15,000 batches shared by
#: Bulk API and Bulk API 2.0 ("Batch Allocations",
#: https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-bulkapi.html).
BULK_ALLOCATIONS: dict[str, int] = {
    "DailyBulkV2QueryJobs": 10_000,
    "DailyBulkV2QueryFileStorageMB": 976_562,
    "DailyBulkApiBatches": 15_000,
}


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

    # ---- the Bulk allocations ----------------------------------------------------------
    def _allocations(self) -> dict[str, float]:
        spent = self._store.meta("bulk_usage") or {}
        if spent.get("day") != self._day():
            return {}
        return {k: float(v) for k, v in spent.items() if k != "day"}

    def allocation_left(self, name: str) -> float:
        """What is left today of the Bulk allocation ``name`` (see ``BULK_ALLOCATIONS``)."""
        return BULK_ALLOCATIONS[name] - self._allocations().get(name, 0.0)

    def spend(self, name: str, amount: float = 1) -> None:
        """Spend ``amount`` of the Bulk allocation ``name`` (the caller checked what is left,
        and refuses in its own API's words)."""
        with self._store.transaction():
            spent = self._allocations()
            spent[name] = spent.get(name, 0.0) + amount
            self._store.set_meta("bulk_usage", {"day": self._day(), **spent})

    def header(self) -> str:
        return f"api-usage={self.used}/{self.limit}"

    def limits(self) -> dict[str, Any]:
        """The ``limits`` resource (the allocations integrations look at)."""
        limit = self.limit
        return {
            "DailyApiRequests": {"Max": limit, "Remaining": max(limit - self.used, 0)},
            **{
                name: {"Max": most, "Remaining": max(int(self.allocation_left(name)), 0)}
                for name, most in BULK_ALLOCATIONS.items()
            },
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        }
