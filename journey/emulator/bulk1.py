"""Bulk API 1.0 (``/services/async/{version}/job…``) for JSON jobs: insert, update,
upsert, delete, hardDelete, query and queryAll, the way ``simple_salesforce``'s ``sf.bulk``
and other loaders drive it (job, batch, batch result, query result).

Pipeline position: routed here by the server, before the REST checks, because Bulk API 1.0
has its own session header (``X-SFDC-Session``) and its own error shape
(``{"exceptionCode", "exceptionMessage"}``, or the ``<error>`` element to a client that
does not speak JSON). Rows go through ``bulk_rows`` to ``org``, as Bulk API 2.0's do, so a
Bulk write refuses what a REST write refuses. Each HTTP request is one API call. A batch
runs when it is added (its answer still says ``Queued``, as a real org's does, and the next
look finds it ``Completed``); jobs live in memory. What the emulated org does not serve —
XML, CSV and ZIP content, PK chunking — is refused with ``FeatureNotEnabled`` naming what
to use instead, never with a session error (which clients read as an expired session).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from journey.emulator import edition, versions
from journey.emulator.bulk1_jobs import JSON_TYPE, AsyncApiError, Batch, Job, epoch_dates
from journey.emulator.bulk_rows import (
    INGEST_OPERATIONS,
    BulkQueryRefusedError,
    bulk_id,
    bulk_query,
    write_row,
)
from journey.emulator.encoding import decode_body
from journey.emulator.errors import ApiError
from journey.emulator.limits import ApiCounter
from journey.emulator.org import Org
from journey.emulator.protocol import Request, Response
from journey.emulator.values import format_datetime

__all__ = ["ASYNC_PATH", "AsyncApiError", "Bulk1Api"]

ASYNC_PATH = re.compile(r"^/services/async/(\d+\.\d+)/(.*)$")
_OPERATIONS = (*INGEST_OPERATIONS, "query", "queryAll")
#: A Bulk API batch holds at most 10,000 records (Bulk API and Bulk API 2.0 Limits and
#: Allocations, ingest limits,
#: https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-bulkapi.html).
_MAX_BATCH_RECORDS = 10_000
#: simple-salesforce sends the concurrency mode as the enum's position.
_CONCURRENCY = {"Parallel": "Parallel", "Serial": "Serial", 0: "Parallel", 1: "Serial"}


class Bulk1Api:
    """The ``/services/async/`` routes."""

    def __init__(
        self,
        org: Org,
        counter: ApiCounter,
        session_valid: Callable[[str], bool],
        lock_fault: Callable[[], bool],
    ) -> None:
        self.org = org
        self.counter = counter
        self.session_valid = session_valid
        self.lock_fault = lock_fault
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        # A job's resources answer in the job's content type (JSON: every job here), the
        # rest in what the request speaks.
        path = request.path.split("/")
        as_json = _speaks_json(request) or (len(path) > 5 and path[5] in self._jobs)
        try:
            # "All HTTP requests must contain a valid API session ID" in X-SFDC-Session
            # (https://developer.salesforce.com/docs/platform/api-asynch/guide/asynch-api-basics-intro.html);
            # the messages are a real org's (heroku/salesforce-bulk#44,
            # simple-salesforce/simple-salesforce#272).
            session = request.headers.get("x-sfdc-session", "").strip()
            if not session:
                raise AsyncApiError("InvalidSessionId", "Unable to find session id")
            if not self.session_valid(session):
                raise AsyncApiError("InvalidSessionId", "Invalid session id")
            _check_org_and_version(self.org, request.path)
            try:  # decoded once the session is known, as REST does (``encoding``)
                request.body = decode_body(request.body, request.headers.get("content-encoding"))
            except ApiError as refused:
                raise AsyncApiError("ClientInputError", refused.message, refused.status) from None
            try:
                # "Each HTTP request counts as one call for the purposes of calculating
                # usage limits" (https://help.salesforce.com/s/articleView?id=000382576&type=1).
                self.counter.charge()
            except ApiError as spent:
                raise AsyncApiError("ExceededQuota", spent.message) from None
            return self._route(request)
        except AsyncApiError as error:
            return error.response(as_json)

    # ---- routing -------------------------------------------------------------------------
    def _route(self, request: Request) -> Response:
        match = ASYNC_PATH.match(request.path.rstrip("/"))
        if match is None:
            raise AsyncApiError("InvalidUrl", f"Invalid URL: {request.path}")
        version, parts = match.group(1), match.group(2).split("/")
        if request.method not in ("GET", "POST"):
            raise AsyncApiError(
                "InvalidUrl", f"HTTP method '{request.method}' not allowed; use GET or POST", 405
            )
        if parts[0] != "job":
            raise AsyncApiError("InvalidUrl", f"Invalid URL: {request.path}")
        if len(parts) == 1:
            _only(request, "POST")
            # 201 for a created job or batch is inferred: the guide's examples show bodies only.
            return _answer(self._create(request, version), 201)
        job = self._jobs.get(parts[1])
        if job is None:
            raise AsyncApiError("InvalidJob", f"Invalid job id: {parts[1]}")
        if len(parts) == 2:
            if request.method == "POST":
                return _answer(self._change_state(job, request))
            return _answer(job.info())
        if parts[2] != "batch":
            raise AsyncApiError("InvalidUrl", f"Invalid URL: {request.path}")
        if version != job.version:
            # "The API version in the URI for all batch operations must match the API
            # version for the associated job" (Add a Batch to a Job,
            # https://developer.salesforce.com/docs/atlas.en-us.264.0.api_asynch.meta/api_asynch/asynch_api_batches_create.htm).
            raise AsyncApiError(
                "InvalidVersion", f"Job {job.id} was created in API version {job.version}"
            )
        if len(parts) == 3:
            if request.method == "POST":
                return _answer(self._add_batch(job, request).info(), 201)
            return _answer({"batchInfo": [b.info() for b in job.batches.values()]})
        _only(request, "GET")
        batch = job.batches.get(parts[3])
        if batch is None:
            raise AsyncApiError("InvalidBatch", f"Invalid batch id: {parts[3]}")
        return self._batch_resource(job, batch, parts[4:], request)

    def _batch_resource(
        self, job: Job, batch: Batch, rest: list[str], request: Request
    ) -> Response:
        if not rest:
            return _answer(batch.info())
        if rest == ["request"]:
            if isinstance(batch.request, str):
                return Response(200, batch.request.encode(), content_type="text/plain")
            return _answer(batch.request)
        if rest[0] != "result" or len(rest) > 2:
            raise AsyncApiError("InvalidUrl", f"Invalid URL: {request.path}")
        if batch.state != "Completed":
            raise AsyncApiError("InvalidBatch", f"Batch {batch.id} is {batch.state}, not Completed")
        if job.operation not in ("query", "queryAll"):
            if len(rest) == 2:
                raise AsyncApiError("InvalidUrl", f"Invalid URL: {request.path}")
            return _answer(batch.results)
        if len(rest) == 1:
            return _answer([batch.result_id])
        if rest[1] != batch.result_id:
            raise AsyncApiError("InvalidBatch", f"Invalid result id: {rest[1]}")
        return _answer(batch.results)

    # ---- jobs ----------------------------------------------------------------------------
    def _create(self, request: Request, version: str) -> dict[str, Any]:
        if not _speaks_json(request):
            raise _unsupported("XML and CSV job descriptions")
        if request.headers.get("sforce-enable-pkchunking"):
            raise _unsupported("PK chunking (Sforce-Enable-PKChunking)")
        spec = _json_body(request)
        if not isinstance(spec, dict):
            raise AsyncApiError("InvalidJob", "a job is described by a JSON object")
        content = str(spec.get("contentType") or "")
        if content != "JSON":
            raise _unsupported(f"jobs with contentType {content or 'CSV (the default)'}")
        operation = str(spec.get("operation") or "")
        if operation not in _OPERATIONS:
            raise AsyncApiError("InvalidJob", f"Invalid operation: {operation or '(none)'}")
        sobject = self.org.schema.get(str(spec.get("object") or ""))
        if sobject is None:
            raise AsyncApiError("InvalidJob", f"Unable to find object: {spec.get('object')}")
        mode = spec.get("concurrencyMode", "Parallel")
        concurrency = _CONCURRENCY.get(mode) if isinstance(mode, (str, int)) else None
        if concurrency is None:
            raise AsyncApiError("InvalidJob", f"Invalid concurrencyMode: {mode}")
        external = spec.get("externalIdFieldName")
        if operation == "upsert":
            if not external:
                raise AsyncApiError("InvalidJob", "External ID was blank for upsert")
            if sobject.field(str(external)) is None:
                raise AsyncApiError(
                    "InvalidJob", f"Invalid external id field: {external} on {sobject.name}"
                )
        job = Job(
            bulk_id("BulkJob"),
            operation,
            sobject.name,
            format_datetime(self.org.now()),
            self.org.connected_user_id,
            version,
            concurrency,
            str(external) if operation == "upsert" else None,
            str(spec["assignmentRuleId"]) if spec.get("assignmentRuleId") else None,
        )
        with self._lock:
            self._jobs[job.id] = job
        return job.info()

    def _change_state(self, job: Job, request: Request) -> dict[str, Any]:
        """Close or abort a job ("Close a Job", "Abort a Job",
        https://developer.salesforce.com/docs/platform/api-asynch/guide/asynch-api-intro.html)."""
        spec = _json_body(request)
        wanted = str(spec.get("state") or "") if isinstance(spec, dict) else ""
        allowed = {"Open": ("Closed", "Aborted"), "Closed": ("Aborted",)}.get(job.state, ())
        if wanted not in allowed:
            raise AsyncApiError(
                "InvalidJobState", f"Job {job.id} is {job.state}: it cannot be set {wanted!r}"
            )
        job.state = wanted
        return job.info()

    # ---- batches -------------------------------------------------------------------------
    def _add_batch(self, job: Job, request: Request) -> Batch:
        if job.state != "Open":
            raise AsyncApiError("InvalidJobState", f"Job {job.id} is {job.state}, not Open")
        if not _speaks_json(request):
            raise _unsupported("XML and CSV batches")
        if self.counter.allocation_left("DailyBulkApiBatches") < 1:
            raise AsyncApiError("ExceededQuota", "The daily allocation of 15,000 batches is spent")
        query = job.operation in ("query", "queryAll")
        payload: Any = request.body.decode("utf-8-sig") if query else _json_body(request)
        batch = Batch(bulk_id("BulkBatch"), job.id, format_datetime(self.org.now()), payload)
        queued = replace(batch)  # the answer says Queued; a look from now on sees the outcome
        self.counter.spend("DailyBulkApiBatches")
        if query:
            self._run_query(job, batch)
        else:
            self._run_ingest(job, batch)
        job.batches[batch.id] = batch
        return queued

    def _run_ingest(self, job: Job, batch: Batch) -> None:
        records = batch.request
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            batch.state, batch.state_message = "Failed", "InvalidBatch : a JSON array of records"
            return
        if len(records) > _MAX_BATCH_RECORDS:
            batch.state = "Failed"
            batch.state_message = f"InvalidBatch : more than {_MAX_BATCH_RECORDS} records"
            return
        for record in records:
            values = {("Id" if k.lower() == "id" else k): v for k, v in record.items()}
            try:
                record_id, created = write_row(
                    self.org,
                    job.operation,
                    job.object,
                    values,
                    external_id=job.external_id,
                    assign=job.assignment_rule is not None,
                    from_text=False,
                    lock_fault=self.lock_fault,
                )
                batch.results.append(
                    {"success": True, "created": created, "id": record_id, "errors": []}
                )
            except ApiError as error:
                batch.failed += 1
                batch.results.append(
                    {"success": False, "created": False, "id": None, "errors": [error.save_error()]}
                )
            batch.processed += 1
        batch.state = "Completed"

    def _run_query(self, job: Job, batch: Batch) -> None:
        """A query batch fails with a ``stateMessage`` in a real org's words ("InvalidBatch :
        Failed to process query: FUNCTIONALITY_NOT_ENABLED: …", as quoted by integrators)."""
        try:
            _, rows = bulk_query(
                self.org, str(batch.request), job.operation == "queryAll", child_rows=True
            )
        except BulkQueryRefusedError as refused:
            batch.state = "Failed"
            batch.state_message = (
                f"InvalidBatch : Failed to process query: FUNCTIONALITY_NOT_ENABLED: {refused}"
            )
            return
        except ApiError as error:
            batch.state = "Failed"
            batch.state_message = (
                f"InvalidBatch : Failed to process query: {error.code}: {error.message}"
            )
            return
        batch.results = [epoch_dates(self.org, row) for row in rows]
        batch.result_id = bulk_id("BulkQueryResult")
        batch.processed = len(rows)
        batch.state = "Completed"


def _speaks_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "") or request.headers.get("accept", "")
    return "json" in kind.lower()


def _json_body(request: Request) -> Any:
    try:
        return json.loads(request.body) if request.body.strip() else None
    except (ValueError, UnicodeDecodeError) as error:
        raise AsyncApiError("InvalidBatch", f"The request body is not JSON: {error}") from None


def _unsupported(what: str) -> AsyncApiError:
    return AsyncApiError(
        "FeatureNotEnabled",
        f"The emulated org does not implement Bulk API 1.0 {what}; use JSON jobs "
        "(contentType JSON, Content-Type: application/json) or Bulk API 2.0 for CSV",
    )


def _only(request: Request, method: str) -> None:
    if request.method != method:
        raise AsyncApiError(
            "InvalidUrl", f"HTTP method '{request.method}' not allowed here; use {method}", 405
        )


def _answer(data: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(data).encode("utf-8"), content_type=JSON_TYPE)


def _check_org_and_version(org: Org, path: str) -> None:
    """The edition and the version, as every API checks them. An edition without API
    access: "FeatureNotEnabled: Bulk API is not enabled for this organization" (Errors,
    https://developer.salesforce.com/docs/platform/api-asynch/guide/asynch-api-reference-errors.html);
    a retired or unknown version in the URI: ``InvalidVersion`` (the same list; its
    wording is SOAP's, ``versions.soap_version_error``)."""
    if edition.api_disabled(org) is not None:
        raise AsyncApiError("FeatureNotEnabled", "Bulk API is not enabled for this organization")
    match = ASYNC_PATH.match(path.rstrip("/"))
    unsupported = versions.soap_version_error(match.group(1)) if match else None
    if unsupported is not None:
        raise AsyncApiError("InvalidVersion", unsupported)
