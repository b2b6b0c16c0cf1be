"""How Salesforce's refusals become outcomes — failed, retry or paused — and where each is
retried.

Pipeline position: used by ``batching`` around every call and by the action modules for
per-record SaveResults. ``classify`` is the one place that says which failures are
transient, and of those which may have been applied; ``journey.retry`` holds the schedules
and the one retry loop. The policy (docs/salesforce.md, "Failures"), each kind of failure
handled at exactly one layer:

* a per-record error (``REQUIRED_FIELD_MISSING``, ``FIELD_CUSTOM_VALIDATION_EXCEPTION``,
  ``DUPLICATES_DETECTED``, …) or a refused call (HTTP 400/404 …) → that contact
  ``failed``, the code and the record named; never retried;
* HTTP 500/502/503/504, a network error or a timeout, ``UNABLE_TO_LOCK_ROW``/
  ``SERVER_UNAVAILABLE`` (for the whole call or for single records) → retried inside the
  call, per ``CALL_RETRIES``: 4 tries in all, about 0.5 s, 1 s, 2 s apart (``with_retries``;
  a Collections write retries only its failed records, in ``OrgApi._save``). Still
  failing → ``retry``: the engine runs the step again per ``STEP_RETRIES`` (5 min, 10, 20,
  40, then hourly) and fails the run at the 8th ``retry`` in a row;
* HTTP 401 ``INVALID_SESSION_ID`` → a connection that can get a new access token by
  itself (an OAuth refresh token, a new JWT assertion, client credentials, a new login)
  gets one and repeats the call once (``batching.OrgApi``); when it cannot, or the new
  token is refused too, every contact is ``paused`` until ``journey salesforce renew``;
  HTTP 403 ``REQUEST_LIMIT_EXCEEDED`` or our own daily cap → ``paused`` until the
  allocation allows. Never retried otherwise, never counted as a step's failure.

Never sent or maybe applied: a ``TransientError`` says whether the request may have
reached the org (``maybe_applied``). A connection that was never made (refused, a connect
timeout, a failed TLS handshake, an unknown host) sent nothing: a write is simply sent
again. A read timeout, a connection dropped after the request went out, or a 5xx answer
may follow a save — Salesforce's status-code table says only that a 500 is "an error …
so the request couldn't be completed" and a 503 that the server "is unavailable"
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm),
and a proxy's 502/504 says nothing of what the org did. Such a write is never sent again
blindly: ``batching`` first looks for what it may have created (``reconcile.find_created``,
``reconcile.find_conversions``) and sends only what is missing. A refusal Salesforce
itself answered with a 4xx (``UNABLE_TO_LOCK_ROW``) saved nothing.

Exception tree (raised inside the connector, never past ``perform``)::

    SalesforceProblem
    ├── PausedError       the connection is unusable: stop all Salesforce work
    ├── TransientError    worth trying again: retried per CALL_RETRIES, then ``retry``;
    │                     ``maybe_applied`` when a write may have been saved
    └── CallRefusedError  the whole call was refused (400/404 …): fail its contacts

    ConnectionSettingsError  no connection can be made (raised before any work, or by a
                             renewal): a setting or Salesforce's refusal of the credentials
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from journey.retry import CALL_RETRIES, RetrySchedule

# The exception classes of simple-salesforce, requests and urllib3 are imported by the
# functions that classify a failure: only a call has one, and it has loaded them already.
# The exceptions defined here are raised and caught by code that never calls the org.
if TYPE_CHECKING:
    import requests

__all__ = [
    "ANSWER_LOST",
    "API_DISABLED",
    "RENEW_HINT",
    "RETRYABLE_CODES",
    "SERVER_ERRORS",
    "Backoff",
    "CallRefusedError",
    "ConnectionSettingsError",
    "PausedError",
    "SalesforceProblem",
    "TransientError",
    "call_once",
    "classify",
    "first_error",
    "network_problem",
    "with_retries",
]

#: The code of a write still in doubt when its call's tries are spent: its answer was
#: lost and what it may have made could not be looked for. Its next attempt looks first.
ANSWER_LOST = "ANSWER_LOST"
#: HTTP answers that may follow a save (see the module docstring).
SERVER_ERRORS = frozenset({500, 502, 503, 504})
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
    """``maybe_applied``: the request reached the org (or may have), so a write it carried
    may have been saved although no answer says so."""

    def __init__(self, code: str, message: str, *, maybe_applied: bool = False) -> None:
        super().__init__(code, message)
        self.maybe_applied = maybe_applied


class CallRefusedError(SalesforceProblem):
    pass


class ConnectionSettingsError(Exception):
    """The connection cannot be made: a missing variable or file, a refused login or
    token request. A message that starts with ``[salesforce] KEY`` is the setting's fault
    (the CLI's ``config`` error, exit 2); it names the setting, never its value."""

    @classmethod
    def of_seed(cls, error: Exception) -> ConnectionSettingsError:
        """A seed the embedded org cannot take (the emulator's ``SeedError``, which says
        where in the file), as the setting's fault."""
        return cls(f"[salesforce] seed: {error}")


#: An org whose edition has no API access answers every call with this code
#: (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_compatible_editions.htm).
API_DISABLED = "API_DISABLED_FOR_ORG"
#: The message of a 401 pause: what the user does about it.
RENEW_HINT = "run `journey salesforce renew`"


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
    import requests
    from simple_salesforce.exceptions import (
        SalesforceError,
        SalesforceExpiredSession,
        SalesforceRefusedRequest,
    )

    if isinstance(error, SalesforceExpiredSession):
        code, message = first_error(error.content)
        return PausedError(
            code,
            f"{message} — the Salesforce session is no longer valid; {RENEW_HINT}",
        )
    if isinstance(error, SalesforceError) and first_error(error.content)[0] == API_DISABLED:
        # No call can work until the org's edition changes: pause, never fail contacts.
        return PausedError(
            API_DISABLED,
            f"{first_error(error.content)[1]} — the org's edition has no API access "
            "(`journey salesforce status`)",
        )
    if isinstance(error, SalesforceRefusedRequest):
        code, message = first_error(error.content)
        if code == "REQUEST_LIMIT_EXCEEDED":
            return PausedError(code, f"{message} — the org's daily API allocation is spent")
        return CallRefusedError(code, message)
    if isinstance(error, SalesforceError):
        code, message = first_error(error.content)
        if error.status in SERVER_ERRORS:
            return TransientError(
                code if code != "UNKNOWN_EXCEPTION" else str(error.status),
                message,
                maybe_applied=True,
            )
        if code in RETRYABLE_CODES:
            return TransientError(code, message)
        return CallRefusedError(code, message)
    if isinstance(error, requests.RequestException):
        return network_problem(error)
    return None


def network_problem(error: requests.RequestException) -> TransientError:
    """A failure below HTTP: never sent when no connection was made, else maybe applied."""
    import requests

    text = str(error)[:300]
    if isinstance(error, requests.ConnectTimeout):
        return TransientError(
            "CONNECT_TIMEOUT", f"could not connect within [salesforce] connect_timeout: {text}"
        )
    if isinstance(error, requests.ReadTimeout):
        return TransientError(
            "READ_TIMEOUT",
            f"no answer within [salesforce] read_timeout: {text}",
            maybe_applied=True,
        )
    if isinstance(error, requests.ConnectionError) and _never_connected(error):
        return TransientError("NETWORK_ERROR", text)
    return TransientError("NETWORK_ERROR", text, maybe_applied=True)


def _never_connected(error: requests.ConnectionError) -> bool:
    """urllib3 wraps a failure to open the connection (refused, unknown host, TLS
    handshake) in ``MaxRetryError(reason=...)``; a request cut off after it went out is a
    ``ProtocolError`` ("Connection aborted") instead."""
    import requests
    from urllib3 import exceptions as urllib3_exceptions
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

    if isinstance(error, requests.exceptions.SSLError):
        return True
    cause = error.args[0] if error.args else None
    reason = getattr(cause, "reason", None)
    return isinstance(cause, MaxRetryError) and isinstance(
        reason, NewConnectionError | ConnectTimeoutError | urllib3_exceptions.SSLError
    )


@dataclass(frozen=True)
class Backoff(RetrySchedule):
    """``CALL_RETRIES`` as the connector applies it (a test passes a ``sleep`` that does
    not wait, or fewer attempts)."""

    attempts: int = CALL_RETRIES.attempts
    first: float = CALL_RETRIES.first
    factor: float = CALL_RETRIES.factor
    cap: float = CALL_RETRIES.cap
    jitter: float = CALL_RETRIES.jitter


def call_once(call: Callable[[], T]) -> T:
    """Run ``call`` once; a problem is raised classified (a bug re-raises unchanged). For
    the loops that decide themselves what to send again (a Collections write retries only
    its failed records; a lost create looks before it sends again)."""
    try:
        return call()
    except Exception as error:  # classified below; a bug re-raises unchanged
        problem = classify(error)
        if problem is None:
            raise
        raise problem from error


def with_retries(call: Callable[[], T], backoff: RetrySchedule) -> T:
    """Run ``call`` — a read, or a write that may simply be sent again (an update sets the
    same values twice); a ``TransientError`` is tried again per ``backoff``, then raised;
    every other problem is raised at once."""
    outcome: list[T] = []
    last: list[TransientError] = []

    def attempt() -> bool:
        try:
            outcome.append(call_once(call))
        except TransientError as problem:
            last[:] = [problem]
            return False
        return True

    if backoff.retry(attempt):
        return outcome[0]
    raise last[0]
