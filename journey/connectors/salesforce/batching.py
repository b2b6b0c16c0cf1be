"""Talking to the org in as few calls as possible: batched reads, Collections writes of up
to 200 records, Bulk API 2.0 for big updates, SOAP ``convertLead`` in batches of 100.

Pipeline position: action modules → **batching** → simple-salesforce → the org. Every
call passes the API budget's check first and is retried per ``journey.retry.CALL_RETRIES``
through that module's one loop — reads and updates by ``errors.with_retries``; creates
(``_save``) and conversions (``_convert_chunk``) by a loop of their own on the same
schedule, which sends again only the records that failed and, when an answer was lost
after the request went out (``TransientError.maybe_applied``), first looks for what the
request may have made (``reconcile.find_created`` / ``find_conversions``) and sends only
what is missing: a lost answer never doubles a record. The lookups inside those loops are
tried once each, so no loop wraps another. The action modules see only outcomes: a
``Saved`` per record, or a ``PausedError`` that stops the whole batch. Every value put
into SOQL goes through ``simple_salesforce.format_soql``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from simple_salesforce.api import Salesforce
from simple_salesforce.format import format_soql

from journey.connectors.salesforce.budget import ApiBudget
from journey.connectors.salesforce.errors import (
    ANSWER_LOST,
    RENEW_HINT,
    RETRYABLE_CODES,
    Backoff,
    CallRefusedError,
    ConnectionSettingsError,
    PausedError,
    SalesforceProblem,
    TransientError,
    call_once,
    first_error,
    with_retries,
)
from journey.connectors.salesforce.oauth import TokenUnreachableError
from journey.connectors.salesforce.reconcile import (
    CONVERSION_FIELDS,
    find_conversions,
    find_created,
)
from journey.connectors.salesforce.soap import Converted, convert_leads
from journey.vocabulary import AUTO_ASSIGN_HEADER

__all__ = [
    "COLLECTION_SIZE",
    "CONVERT_SIZE",
    "QUERY_CHUNK",
    "Converted",
    "OrgApi",
    "Renewal",
    "Saved",
    "chunks",
    "queries_in",
]

COLLECTION_SIZE = 200  # sObject Collections' limit per call
CONVERT_SIZE = 100  # SOAP convertLead's limit per call
QUERY_CHUNK = 200  # values per IN (...) list: keeps the URL well under its limit

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def queries_in(template: str, values: Sequence[Any], **extra: Any) -> list[str]:
    """``template`` with ``{values}`` filled by chunks of ``QUERY_CHUNK`` distinct values
    (escaped by ``format_soql``, None left out): one SOQL text a chunk."""
    unique = list(dict.fromkeys(v for v in values if v is not None))
    return [format_soql(template, values=list(c), **extra) for c in chunks(unique, QUERY_CHUNK)]


@dataclass(frozen=True)
class Saved:
    """One record's outcome: ``id`` when saved; else ``code``/``message``, and
    ``transient`` when trying again later may succeed."""

    id: str | None
    code: str | None = None
    message: str | None = None
    transient: bool = False

    @property
    def ok(self) -> bool:
        return self.id is not None and self.code is None


class Renewal(Protocol):
    """Gets the client a new access token (``connection.Renewer``); raises
    ``ConnectionSettingsError`` saying why it could not."""

    def renew(self) -> None: ...


class OrgApi:
    """The org, as the action modules use it. ``bulk_threshold``: updates of more records
    than this go through Bulk API 2.0 (one job) instead of Collections. ``renewal``: how
    an expired access token is replaced (``None``: a session ID nothing renews)."""

    def __init__(
        self,
        client: Salesforce,
        budget: ApiBudget,
        *,
        backoff: Backoff | None = None,
        bulk_threshold: int = 2000,
        bulk_poll_seconds: float = 0.2,
        renewal: Renewal | None = None,
    ) -> None:
        self.sf = client
        self.budget = budget
        self.backoff = backoff or Backoff()
        self.bulk_threshold = bulk_threshold
        self.bulk_poll_seconds = bulk_poll_seconds
        self.renewal = renewal
        #: Access tokens had by renewal in this process (for tests and ``status``).
        self.renewals = 0

    def call(self, fn: Callable[[], T]) -> T:
        """One API call: budget check, then retries of transient problems."""
        self.budget.check()
        return with_retries(partial(self._renewing, fn), self.backoff)

    def try_once(self, fn: Callable[[], T]) -> T:
        """One API call, one try (the caller retries what failed): budget check first."""
        self.budget.check()
        return self._renewing(fn)

    def _renewing(self, fn: Callable[[], T]) -> T:
        """``fn`` once; on ``INVALID_SESSION_ID`` a new access token, and ``fn`` once more.
        Only when no token can be had, or the new one is refused too, does the 401 stand
        (a pause until ``journey salesforce renew``). A token endpoint that does not answer
        is transient: the step is retried later, the connection not paused."""
        try:
            return call_once(fn)
        except PausedError as problem:
            if problem.code != "INVALID_SESSION_ID" or self.renewal is None:
                raise
        try:
            self.renewal.renew()
        except TokenUnreachableError as error:
            raise TransientError(
                "NETWORK_ERROR", f"renewing the expired session: {error}"
            ) from None
        except ConnectionSettingsError as error:
            raise PausedError(
                "INVALID_SESSION_ID",
                f"the Salesforce session expired and no new one could be had: {error} — "
                f"{RENEW_HINT}",
            ) from None
        self.renewals += 1
        return call_once(fn)

    # ---- reads ----------------------------------------------------------------------------
    def query(self, soql: str, *, once: bool = False) -> list[dict[str, Any]]:
        """Every row of ``soql`` (following ``nextRecordsUrl``). ``once``: each page is
        tried once, for a lookup made inside another call's retry loop."""
        run = self.try_once if once else self.call
        page: dict[str, Any] = run(lambda: self.sf.query(soql))
        rows: list[dict[str, Any]] = list(page["records"])
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            url = str(page["nextRecordsUrl"])
            page = run(partial(self.sf.query_more, url, identifier_is_url=True))
            rows.extend(page["records"])
        return rows

    def query_in(self, template: str, values: Sequence[Any], **extra: Any) -> list[dict[str, Any]]:
        """``template`` with ``{values}`` filled by chunks of ``values`` (escaped)."""
        rows: list[dict[str, Any]] = []
        for soql in queries_in(template, values, **extra):
            rows.extend(self.query(soql))
        return rows

    # ---- writes ---------------------------------------------------------------------------
    def create(
        self, sobject: str, records: Sequence[Mapping[str, Any]], headers: Mapping[str, str]
    ) -> list[Saved]:
        return self._save(sobject, records, "POST", headers)

    def update(
        self, sobject: str, records: Sequence[Mapping[str, Any]], headers: Mapping[str, str]
    ) -> list[Saved]:
        """PATCH by ``Id``. Big batches go through one Bulk 2.0 job — Bulk 2.0 runs no
        assignment rules, which is what a FALSE ``Sforce-Auto-Assign`` asks for; when
        rules must run (the header says TRUE), Collections are used whatever the size."""
        rules_wanted = headers.get(AUTO_ASSIGN_HEADER, "TRUE").upper() != "FALSE"
        if len(records) > self.bulk_threshold and not rules_wanted:
            return self._bulk_update(sobject, records)
        return self._save(sobject, records, "PATCH", headers)

    def _save(
        self,
        sobject: str,
        records: Sequence[Mapping[str, Any]],
        method: str,
        headers: Mapping[str, str],
    ) -> list[Saved]:
        """Collections writes of 200, in the one retry loop they get: a transient failure —
        of the whole call or of single records — sends just those records again, per
        ``backoff``, so no record is tried more than ``backoff.attempts`` times. A create
        whose answer was lost is looked for before it is sent again; one still in doubt
        when the tries are spent is reported transient (``retry``), never sent blindly."""
        out: list[Saved | None] = [None] * len(records)
        pending = list(range(len(records)))
        unsure: list[int] = []  # a create that may have been saved: look before sending
        since = datetime.now(UTC)
        last: list[TransientError] = []

        def look() -> bool:
            """Settle the creates in doubt: found → saved, missing → to send."""
            nonlocal unsure
            try:
                found = find_created(self, sobject, [records[i] for i in unsure], since)
            except PausedError:
                raise
            except SalesforceProblem:
                return False  # still in doubt
            for i, record_id in zip(unsure, found, strict=True):
                if record_id is not None:
                    out[i] = Saved(record_id)
                else:
                    pending.append(i)
            unsure = []
            return True

        def attempt() -> bool:
            nonlocal pending
            if unsure and not look():
                return False  # look again on the next try
            retry_later: list[int] = []
            for chunk in chunks(sorted(pending), COLLECTION_SIZE):
                body = {
                    "allOrNone": False,
                    "records": [{"attributes": {"type": sobject}, **records[i]} for i in chunk],
                }
                try:
                    answer: Any = self.try_once(
                        partial(
                            self.sf.restful,
                            "composite/sobjects",
                            method=method,
                            json=body,
                            headers=dict(headers),
                        )
                    )
                except TransientError as problem:
                    last[:] = [problem]
                    for i in chunk:
                        out[i] = Saved(None, problem.code, problem.message, transient=True)
                    if problem.maybe_applied and method == "POST":
                        unsure.extend(chunk)
                    else:
                        retry_later.extend(chunk)
                    continue
                except CallRefusedError as problem:
                    for i in chunk:
                        out[i] = Saved(None, problem.code, problem.message)
                    continue
                for i, result in zip(chunk, answer or [], strict=False):
                    if result.get("success"):
                        out[i] = Saved(str(result["id"]))
                        continue
                    code, message = first_error(result)
                    out[i] = Saved(None, code, message, transient=code in RETRYABLE_CODES)
                    if code in RETRYABLE_CODES:
                        retry_later.append(i)
            pending = retry_later
            return not pending and not unsure

        if not self.backoff.retry(attempt) and unsure:
            look()  # after the last try: what it may have made is still found
        for i in unsure:
            out[i] = Saved(None, ANSWER_LOST, _in_doubt(last[0]), transient=True)
        return [o if o is not None else Saved(None, "UNKNOWN_EXCEPTION", "no answer") for o in out]

    def _bulk_update(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[Saved]:
        columns = sorted({k for r in records for k in r})
        rows = [{c: _csv_value(r.get(c)) for c in columns} for r in records]
        handler = getattr(self.sf.bulk2, sobject)
        jobs: list[dict[str, Any]] = self.call(
            partial(handler.update, records=rows, wait=self.bulk_poll_seconds)
        )
        failed: dict[str, tuple[str, str]] = {}
        for job in jobs:
            if int(job.get("numberRecordsFailed", 0)):
                text: str = self.call(partial(handler.get_failed_records, job["job_id"]))
                for row in csv.DictReader(io.StringIO(text)):
                    code, _, message = (row.get("sf__Error") or "").partition(":")
                    failed[_id15(row.get("Id") or row.get("sf__Id") or "")] = (code, message)
        out = []
        for record in records:
            record_id = str(record["Id"])
            problem = failed.get(_id15(record_id))
            if problem is None:
                out.append(Saved(record_id))
            else:
                out.append(
                    Saved(None, problem[0], problem[1], transient=problem[0] in RETRYABLE_CODES)
                )
        return out

    # ---- SOAP convertLead -----------------------------------------------------------------
    def convert(self, converts: Sequence[Mapping[str, Any]]) -> list[Converted]:
        """``convertLead`` for each mapping (keys: leadId, convertedStatus, accountId,
        opportunityName, ownerId), 100 per call. simple-salesforce does not wrap it, so
        the envelope is POSTed with the client's own session and session ID."""
        out: list[Converted] = []
        for chunk in chunks(converts, CONVERT_SIZE):
            out.extend(self._convert_chunk(chunk))
        return out

    def _convert_chunk(self, converts: Sequence[Mapping[str, Any]]) -> list[Converted]:
        """One chunk in the call's one retry loop. An answer lost after the envelope went
        out may hide conversions the org made: the Leads are read back first
        (``find_conversions``) — a converted one is taken as converted, with the IDs the
        org gave it — and only the others are sent again."""
        done: dict[str, Converted] = {}
        pending = list(converts)
        unsure: list[Mapping[str, Any]] = []
        last: list[SalesforceProblem] = []

        def look() -> bool:
            """Settle the conversions in doubt: converted → taken, not → to send."""
            nonlocal unsure
            try:
                converted = find_conversions(self, [str(c["leadId"]) for c in unsure])
            except PausedError:
                raise
            except SalesforceProblem:
                return False
            for c in unsure:
                row = converted.get(str(c["leadId"])[:15])
                if row is None:
                    pending.append(c)
                    continue
                account, contact, opportunity = (row.get(f) for f in CONVERSION_FIELDS[1:])
                done[str(c["leadId"])] = Converted(
                    str(c["leadId"]), account, contact, opportunity or None
                )
            unsure = []
            return True

        def attempt() -> bool:
            nonlocal pending, unsure
            if unsure and not look():
                return False
            if not pending:
                return True
            try:
                results = self.try_once(partial(convert_leads, self.sf, pending))
            except TransientError as problem:
                last[:] = [problem]
                if problem.maybe_applied:
                    unsure, pending = pending, []
                return False
            except CallRefusedError as problem:
                last[:] = [problem]
                for c in pending:
                    done[str(c["leadId"])] = Converted(
                        str(c["leadId"]), code=problem.code, message=problem.message
                    )
                pending = []
                return True
            for result in results:
                done[result.lead_id] = result
            pending = []
            return True

        if not self.backoff.retry(attempt) and unsure:
            look()
        doubtful = {str(c["leadId"]) for c in unsure}
        out = []
        for c in converts:
            lead_id = str(c["leadId"])
            if lead_id in done:
                out.append(done[lead_id])
            elif lead_id in doubtful:
                out.append(
                    Converted(lead_id, code=ANSWER_LOST, message=_in_doubt(last[0]), transient=True)
                )
            else:
                out.append(
                    Converted(
                        lead_id,
                        code=last[0].code if last else "UNKNOWN_EXCEPTION",
                        message=last[0].message if last else "no answer",
                        transient=True,
                    )
                )
        return out


def _in_doubt(problem: SalesforceProblem) -> str:
    return (
        f"{problem.code}: {problem.message} — the answer was lost and what the request may "
        "have made could not be looked for; the next attempt looks before it sends"
    )


def _csv_value(value: Any) -> str:
    if value is None:
        return ""  # Bulk 2.0 would need #N/A to clear a field; we never clear
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _id15(record_id: str) -> str:
    return record_id[:15]
