"""The retry policy: how often, and how long apart, a failure worth retrying is tried again.

Pipeline position: below the engine and the connectors, which both read it (it imports
nothing else from ``journey``). Which failures are worth retrying is the connector's
knowledge (``connectors.salesforce.errors.classify``); this module holds the schedules.

Each kind of failure is retried at exactly one layer, so attempts never multiply:

* **within one call** — ``CALL_RETRIES``: the connector tries a transient failure (HTTP
  500/502/503/504, a network error, ``UNABLE_TO_LOCK_ROW`` for the whole call or for single
  records of a Collections write) up to 4 times in all, 0.5 s, 1 s and 2 s apart, then
  reports those contacts ``retry``. A Collections write retries only the records that
  failed; no other loop wraps that one.
* **across passes** — ``STEP_RETRIES``: the engine runs a step that came back ``retry``
  again after 5 min, 10, 20, 40, then every hour; the 8th ``retry`` in a row ends the run
  ``failed``, the last error named. ``paused`` (session expired, API allocation spent) is
  the connection's state, not the step's failure: it waits the first delay and is never
  counted.

No jitter: retries are not spread on purpose. The in-call retries come from one process,
and the engine's step retries of one batch are meant to stay one batch — one Salesforce call
serves every contact in it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CALL_RETRIES", "STEP_RETRIES", "RetrySchedule"]


@dataclass(frozen=True)
class RetrySchedule:
    """Bounded exponential backoff: ``attempts`` tries in all (the first included), the
    second ``first`` seconds after the first, each wait ``factor`` times the one before and
    never longer than ``cap``."""

    attempts: int
    first: float
    factor: float = 2.0
    cap: float = float("inf")

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.first < 0 or self.factor < 1 or self.cap < 0:
            raise ValueError(f"not a retry schedule: {self}")

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (1 for the first)."""
        return min(self.cap, self.first * self.factor ** max(0, failures - 1))

    def delays(self) -> list[float]:
        """Every wait, in order: one fewer than ``attempts``."""
        return [self.delay(n) for n in range(1, self.attempts)]

    def exhausted(self, failures: int) -> bool:
        """``failures`` failures in a row leave no attempt to make."""
        return failures >= self.attempts


#: Within one connector call (seconds).
CALL_RETRIES = RetrySchedule(attempts=4, first=0.5, cap=4.0)
#: The engine's retry of a step whose effect came back ``retry`` (seconds).
STEP_RETRIES = RetrySchedule(attempts=8, first=300.0, cap=3600.0)
