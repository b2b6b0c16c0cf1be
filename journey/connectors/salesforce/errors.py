"""How Salesforce's refusals become outcomes: failed, retry or paused.

Pipeline position: used by ``batching`` around every call and by the action modules for
per-record SaveResults. The rules (docs/salesforce.md, "Failures"):

* a per-record error (``REQUIRED_FIELD_MISSING``, ``FIELD_CUSTOM_VALIDATION_EXCEPTION``,
  ``DUPLICATES_DETECTED``, …) → that contact ``failed``, the code and the record named;
* ``UNABLE_TO_LOCK_ROW``, HTTP 503/502/500 and network errors → retried here with
  exponential backoff (bounded), then ``retry`` — the engine tries again later;
* HTTP 401 ``INVALID_SESSION_ID`` → every contact ``paused`` until
  ``journey salesforce renew``; HTTP 403 ``REQUEST_LIMIT_EXCEEDED`` or our own daily cap
  → ``paused`` until the allocation allows.

Exception tree (raised inside the connector, never past ``perform``)::

    SalesforceProblem
    ├── PausedError     the connection is unusable: stop all Salesforce work
    ├── TransientError  worth retrying later (lock, 503, network), after our own retries
    └── CallRefusedError   the whole call was refused (400/404 …): fail its contacts
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

__all__ = [
    "RETRYABLE_CODES",
    "Backoff",
    "CallRefusedError",
    "PausedError",
    "SalesforceProblem",
    "TransientError",
    "classify",
    "first_error",
    "with_retries",
]

#: Per-record error codes that are worth retrying.
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
class Backoff:
    """Bounded exponential backoff: ``attempts`` tries, ``first`` seconds doubling."""

    attempts: int = 4
    first: float = 0.5
    sleep: Callable[[float], None] = time.sleep

    def delays(self) -> list[float]:
        return [self.first * 2**i for i in range(self.attempts - 1)]


def with_retries(call: Callable[[], T], backoff: Backoff) -> T:
    """Run ``call``; transient problems are retried per ``backoff``, then raised as
    ``TransientError``; everything else is raised classified."""
    delays = backoff.delays()
    for attempt in range(backoff.attempts):
        try:
            return call()
        except Exception as error:  # classified below; a bug re-raises unchanged
            problem = classify(error)
            if problem is None:
                raise
            if isinstance(problem, TransientError) and attempt < len(delays):
                backoff.sleep(delays[attempt])
                continue
            raise problem from error
    raise AssertionError("unreachable")  # pragma: no cover
