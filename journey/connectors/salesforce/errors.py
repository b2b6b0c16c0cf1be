"""How Salesforce's refusals become outcomes — failed, retry or paused — and where each is
retried.

Pipeline position: used by ``batching`` around every call and by the action modules for
per-record SaveResults. ``classify`` is the one place that says which failures are
transient; ``journey.retry`` holds the schedules. The policy (docs/salesforce.md,
"Failures"), each kind of failure handled at exactly one layer:

* a per-record error (``REQUIRED_FIELD_MISSING``, ``FIELD_CUSTOM_VALIDATION_EXCEPTION``,
  ``DUPLICATES_DETECTED``, …) or a refused call (HTTP 400/404 …) → that contact
  ``failed``, the code and the record named; never retried;
* HTTP 500/502/503/504, a network error, ``UNABLE_TO_LOCK_ROW``/``SERVER_UNAVAILABLE``
  (for the whole call or for single records) → retried inside the call, per
  ``CALL_RETRIES``: 4 tries in all, 0.5 s, 1 s, 2 s apart (``with_retries``; a Collections
  write retries only its failed records, in ``OrgApi._save``'s one loop). Still failing →
  ``retry``: the engine runs the step again per ``STEP_RETRIES`` (5 min, 10, 20, 40, then
  hourly) and fails the run at the 8th ``retry`` in a row;
* HTTP 401 ``INVALID_SESSION_ID`` → every contact ``paused`` until
  ``journey salesforce renew``; HTTP 403 ``REQUEST_LIMIT_EXCEEDED`` or our own daily cap →
  ``paused`` until the allocation allows. Never retried, never counted as a step's failure.

Exception tree (raised inside the connector, never past ``perform``)::

    SalesforceProblem
    ├── PausedError       the connection is unusable: stop all Salesforce work
    ├── TransientError    worth trying again: retried per CALL_RETRIES, then ``retry``
    └── CallRefusedError  the whole call was refused (400/404 …): fail its contacts
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import requests
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
)

from journey.retry import CALL_RETRIES, RetrySchedule

__all__ = [
    "RETRYABLE_CODES",
    "Backoff",
    "CallRefusedError",
    "PausedError",
    "SalesforceProblem",
    "TransientError",
    "call_once",
    "classify",
    "first_error",
    "with_retries",
]

#: Error codes worth retrying, for one record or a whole call (besides HTTP 5xx and
#: network errors).
RETRYABLE_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})

T = TypeVar("T")


class SalesforceProblem(Exception):  # noqa: N818 (the base of *Error classes)
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PausedError(SalesforceProblem):
    """``until`` is when trying again makes sense (None: only after a renew)."""

    def __init__(self, code: str, message: str, until: datetime | None = None) -> None:
        super().__init__(code, message)
        self.until = until


class TransientError(SalesforceProblem):
    pass


class CallRefusedError(SalesforceProblem):
    pass


def first_error(content: Any) -> tuple[str, str]:
    """(errorCode, message) from a REST error body (a list of errors) or a SaveResult."""
    errors = content
    if isinstance(content, Mapping):
        errors = content.get("errors", [content])
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        error = errors[0]
        code = error.get("errorCode") or error.get("statusCode") or "UNKNOWN_EXCEPTION"
        return str(code), str(error.get("message", ""))
    return "UNKNOWN_EXCEPTION", str(content)[:300]


def classify(error: BaseException) -> SalesforceProblem | None:
    """The outcome class of an exception from simple-salesforce or requests (None: a bug)."""
    if isinstance(error, SalesforceExpiredSession):
        code, message = first_error(error.content)
        return PausedError(
            code,
            f"{message} — the Salesforce session is no longer valid; run "
            "`journey salesforce renew`",
        )
    if isinstance(error, SalesforceRefusedRequest):
        code, message = first_error(error.content)
        if code == "REQUEST_LIMIT_EXCEEDED":
            return PausedError(code, f"{message} — the org's daily API allocation is spent")
        return CallRefusedError(code, message)
    if isinstance(error, SalesforceError):
        code, message = first_error(error.content)
        if error.status in (500, 502, 503, 504) or code in RETRYABLE_CODES:
            return TransientError(
                code if code != "UNKNOWN_EXCEPTION" else str(error.status), message
            )
        return CallRefusedError(code, message)
    if isinstance(error, requests.RequestException):
        return TransientError("NETWORK_ERROR", str(error)[:300])
    return None


@dataclass(frozen=True)
class Backoff(RetrySchedule):
    """``CALL_RETRIES`` as the connector applies it, with the ``sleep`` that waits (a test
    passes one that does not)."""

    attempts: int = CALL_RETRIES.attempts
    first: float = CALL_RETRIES.first
    factor: float = CALL_RETRIES.factor
    cap: float = CALL_RETRIES.cap
    sleep: Callable[[float], None] = time.sleep


def call_once(call: Callable[[], T]) -> T:
    """Run ``call`` once; a problem is raised classified (a bug re-raises unchanged). For
    the loop that retries by itself (a Collections write retries only its failed
    records)."""
    try:
        return call()
    except Exception as error:  # classified below; a bug re-raises unchanged
        problem = classify(error)
        if problem is None:
            raise
        raise problem from error


def with_retries(call: Callable[[], T], backoff: Backoff) -> T:
    """Run ``call``; a ``TransientError`` is tried again per ``backoff``, then raised;
    every other problem is raised at once."""
    delays = backoff.delays()
    for attempt in range(backoff.attempts):
        try:
            return call_once(call)
        except TransientError:
            if attempt >= len(delays):
                raise
            backoff.sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover
