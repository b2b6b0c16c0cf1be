"""Faults on demand, so the connector's error handling is tested against real refusals.

Pipeline position: consulted by the server before a request reaches the org. Controlled
in-process (``EmulatedOrg.faults``) or, for a standalone emulator, over the emulator-only
admin path ``/__emulator__/faults``. Write failures are drawn from a seeded random
generator, so a test that fails "30% of writes" fails the same writes every run.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["WRITE_ERRORS", "Faults", "WriteError", "reads_only"]

WriteError = Literal["UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"]
WRITE_ERRORS: tuple[WriteError, ...] = ("UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE")


@dataclass
class Faults:
    """The faults in force. ``SERVER_UNAVAILABLE`` answers 503; the lock error, 400."""

    latency_seconds: float = 0.0
    #: Every API request answered 503, reads too: the instance down for maintenance.
    unavailable: bool = False
    write_failure_share: float = 0.0
    write_error: WriteError = "UNABLE_TO_LOCK_ROW"
    _random: random.Random = field(default_factory=lambda: random.Random(0))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_writes(self, share: float, error: str = "UNABLE_TO_LOCK_ROW", seed: int = 0) -> None:
        """Fail ``share`` (0–1) of writes with ``error``, deterministically from ``seed``."""
        if not 0.0 <= share <= 1.0:
            raise ValueError("share must be between 0 and 1")
        if error in ("503", "SERVICE_UNAVAILABLE"):
            error = "SERVER_UNAVAILABLE"
        if error not in WRITE_ERRORS:
            raise ValueError(f"error must be one of {', '.join(WRITE_ERRORS)} or 503")
        with self._lock:
            self.write_failure_share = share
            self.write_error = error
            self._random = random.Random(seed)

    def add_latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        self.latency_seconds = seconds

    def next_write_fails(self) -> bool:
        """Draw for one write (a request, or one record of a Collections call)."""
        if self.write_failure_share <= 0:
            return False
        with self._lock:
            return self._random.random() < self.write_failure_share

    def outage(self, on: bool = True) -> None:
        """Answer every API request (reads too) with 503 until ``outage(False)``."""
        self.unavailable = on

    def clear(self) -> None:
        self.latency_seconds = 0.0
        self.unavailable = False
        self.write_failure_share = 0.0

    def state(self) -> dict[str, Any]:
        return {
            "latency_seconds": self.latency_seconds,
            "unavailable": self.unavailable,
            "write_failure_share": self.write_failure_share,
            "write_error": self.write_error,
        }


def reads_only(method: str, path: str, body: bytes | str | None) -> bool:
    """Whether a request only reads, so write faults spare it: a GET, a Bulk query job,
    or a Composite call whose subrequests are all GETs (the connector's batches of
    queries)."""
    if method == "GET":
        return True
    if method != "POST":
        return False
    path = path.rstrip("/")
    if path.endswith("/jobs/query"):
        return True
    if not path.endswith("/composite"):
        return False
    try:
        parsed: Any = json.loads(body or "null")
    except ValueError:
        return False
    subrequests = parsed.get("compositeRequest") if isinstance(parsed, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        return False
    return all(
        isinstance(s, dict) and str(s.get("method", "")).upper() == "GET" for s in subrequests
    )
