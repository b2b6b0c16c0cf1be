"""The retry policy: how often, and how long apart, a failure worth retrying is tried again.

Pipeline position: below the engine and the connectors, which both read it (it imports
nothing else from ``journey``). Which failures are worth retrying is the connector's
knowledge (``connectors.salesforce.errors.classify``); this module holds the schedules and
the one loop that applies them (``RetrySchedule.retry``).

Each kind of failure is retried at exactly one layer, so attempts never multiply:

* **within one call** — ``CALL_RETRIES``: the connector tries a transient failure (HTTP
  500/502/503/504, a network error or timeout, ``UNABLE_TO_LOCK_ROW`` for the whole call or
  for single records of a Collections write) up to 4 times in all, about 0.5 s, 1 s and
  2 s apart, then reports those contacts ``retry``. A Collections write retries only the
  records that failed, and a create whose answer was lost looks for what it may have
  created before sending the rest again; every one of these goes through ``retry``, and
  no loop wraps another.
* **across passes** — ``STEP_RETRIES``: the engine runs a step that came back ``retry``
  again after 5 min, 10, 20, 40, then every hour; the 8th ``retry`` in a row ends the run
  ``failed``, the last error named. ``paused`` (session expired, API allocation spent) is
  the connection's state, not the step's failure: it waits the first delay and is never
  counted.

Jitter: the in-call waits are drawn between half and all of their nominal delay, so
processes that met the same outage (a worker and a sync on one org, two projects on one
org) do not all come back in the same instant. The step retries carry none: they are
scheduled per batch, and every run of a batch must come due together so one Salesforce
call still serves the whole batch; the passes that pick them up are already spread by
each process's own poll.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CALL_RETRIES", "STEP_RETRIES", "RetrySchedule"]


@dataclass(frozen=True)
class RetrySchedule:
    """Capped exponential backoff: ``attempts`` tries in all (the first included), the
    second ``first`` seconds after the first, each wait ``factor`` times the one before and
    never longer than ``cap``; each wait actually slept is shortened by up to ``jitter``
    of itself (0: exactly the delay). ``sleep`` and ``random`` are the clock and the dice
    (a test passes ones that do not wait)."""

    attempts: int
    first: float
    factor: float = 2.0
    cap: float = float("inf")
    jitter: float = 0.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if (
            self.attempts < 1
            or self.first < 0
            or self.factor < 1
            or self.cap < 0
            or not 0 <= self.jitter <= 1
        ):
            raise ValueError(f"not a retry schedule: {self}")

    def delay(self, failures: int) -> float:
        """The nominal wait after the ``failures``-th failure in a row (1 for the first):
        the longest the jittered wait can be."""
        return min(self.cap, self.first * self.factor ** max(0, failures - 1))

    def delays(self) -> list[float]:
        """Every nominal wait, in order: one fewer than ``attempts``."""
        return [self.delay(n) for n in range(1, self.attempts)]

    def wait(self, failures: int) -> float:
        """The wait to sleep after the ``failures``-th failure: ``delay`` less its jitter."""
        return self.delay(failures) * (1 - self.jitter * self.random())

    def exhausted(self, failures: int) -> bool:
        """``failures`` failures in a row leave no attempt to make."""
        return failures >= self.attempts

    def worst_case(self) -> float:
        """Seconds spent waiting between tries when every try fails (upper bound)."""
        return sum(self.delays())

    def retry(self, attempt: Callable[[], bool]) -> bool:
        """The one retry loop: ``attempt`` until it says it is done (True), at most
        ``attempts`` times, sleeping ``wait`` between tries. True when it got done.
        ``attempt`` keeps its own state (what is still to send, the last problem), so a
        caller that retries part of a batch still has one loop, not one per part."""
        for failures in range(1, self.attempts + 1):
            if attempt():
                return True
            if not self.exhausted(failures):
                self.sleep(self.wait(failures))
        return False


#: Within one connector call (seconds).
CALL_RETRIES = RetrySchedule(attempts=4, first=0.5, cap=4.0, jitter=0.5)
#: The engine's retry of a step whose effect came back ``retry`` (seconds).
STEP_RETRIES = RetrySchedule(attempts=8, first=300.0, cap=3600.0)
