"""Bulk API 2.0: query jobs (CSV results with ``Sforce-Locator`` paging) and ingest jobs
(CSV upload, close, successful/failed/unprocessed results).

Pipeline position: plugged into ``rest`` as the ``jobs`` route; every row goes through
``bulk_rows`` (shared with Bulk API 1.0) to ``org``, so a Bulk insert refuses exactly what
a REST insert refuses. Jobs run to completion when created (query) or closed (ingest) — a
real org queues them, and clients poll until ``JobComplete`` either way. Jobs live in
memory: they do not survive a restart. As in Bulk API 2.0, assignment rules run only when
the job names ``assignmentRuleId``. Query jobs spend the org's ``DailyBulkV2QueryJobs``
and ``DailyBulkV2QueryFileStorageMB`` allocations.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from journey.emulator.bulk_rows import (
    INGEST_OPERATIONS,
    BulkQueryRefusedError,
    bulk_id,
    bulk_query,
    write_row,
)
from journey.emulator.errors import ApiError, not_found
from journey.emulator.protocol import Request, Response, json_response
from journey.emulator.rest import DATA_PATH, RestApi
from journey.emulator.values import format_datetime

__all__ = ["BulkApi"]

_DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
_LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
#: The states a job may be deleted in: "To be deleted, a job must have a state of
#: UploadComplete, JobComplete, Aborted, or Failed"
#: (https://developer.salesforce.com/docs/platform/api-asynch/guide/delete-job.html);
#: "You can only delete a job if its state is JobComplete, Aborted, or Failed"
#: (https://developer.salesforce.com/docs/platform/api-asynch/guide/query-delete-job.html).
_DELETABLE = {
    "ingest": ("UploadComplete", "JobComplete", "Aborted", "Failed"),
    "query": ("JobComplete", "Aborted", "Failed"),
}
#: Sforce-Locator is a number up to API version 48.0 and an opaque string (such as
#: ``MTAwMDA``) from 49.0 ("Get Results for a Query Job",
#: https://developer.salesforce.com/docs/atlas.en-us.228.0.api_bulk_v2.meta/api_bulk_v2/query_get_job_results.htm).
_OPAQUE_LOCATOR_FROM = 49.0
_MB = 1024 * 1024
_ROWS_PER_BATCH = 10_000


@dataclass
class _Job:
    id: str
    kind: str  # "query" | "ingest"
    operation: str
    object: str
    delimiter: str
    line_ending: str
    created: str
    state: str
    version: str
    created_by: str
    external_id: str | None = None
    assignment_rule: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    successes: list[list[Any]] = field(default_factory=list)
    failures: list[list[Any]] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Query" if self.kind == "query" else "V2Ingest",
            "lineEnding": next(k for k, v in _LINE_ENDINGS.items() if v == self.line_ending),
            "columnDelimiter": next(k for k, v in _DELIMITERS.items() if v == self.delimiter),
            "retries": 0,
            "totalProcessingTime": 0,
        }
        if self.kind == "query":
            data["numberRecordsProcessed"] = len(self.rows)
        else:
            data["externalIdFieldName"] = self.external_id
            data["contentUrl"] = f"services/data/v{self.version}/jobs/ingest/{self.id}/batches"
            data["numberRecordsProcessed"] = len(self.successes) + len(self.failures)
            data["numberRecordsFailed"] = len(self.failures)
            data["apiActiveProcessingTime"] = 0
            data["apexProcessingTime"] = 0
        return data


class BulkApi:
    """The ``jobs/query`` and ``jobs/ingest`` routes."""

    def __init__(self, rest: RestApi, lock_fault: Callable[[], bool]) -> None:
        self.rest = rest
        self.org = rest.org
        self.counter = rest.counter
        self.lock_fault = lock_fault
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        rest.extra["jobs"] = self.handle

    def handle(self, request: Request, parts: list[str]) -> Response:
        if len(parts) < 2 or parts[1] not in ("query", "ingest"):
            raise not_found()
        kind = parts[1]
        if len(parts) == 2:
            if request.method == "POST":
                return self._create(kind, request)
            if request.method == "GET":
                jobs = [j.info() for j in self._jobs.values() if j.kind == kind]
                return json_response(200, {"done": True, "records": jobs, "nextRecordsUrl": None})
            raise ApiError(
                405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed."
            )
        job = self._jobs.get(parts[2])
        if job is None or job.kind != kind:
            raise ApiError(404, "NOT_FOUND", f"Job {parts[2]} not found")
        sub = parts[3] if len(parts) > 3 else None
        if sub is None:
            return self._job(job, request)
        if kind == "query" and sub == "results" and request.method == "GET":
            return self._query_results(job, request)
        if kind == "ingest" and sub == "batches" and request.method == "PUT":
            if job.state != "Open":
                raise ApiError(409, "INVALIDJOBSTATE", f"Job {job.id} is not open for uploads")
            job.uploads.append(request.body.decode("utf-8-sig"))
            return Response(201)
        if kind == "ingest" and request.method == "GET":
            return self._ingest_results(job, sub)
        raise not_found()

    def _create(self, kind: str, request: Request) -> Response:
        spec = request.json()
        if not isinstance(spec, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "a job is described by a JSON object")
        operation = str(spec.get("operation", ""))
        delimiter = _DELIMITERS.get(str(spec.get("columnDelimiter", "COMMA")))
        line_ending = _LINE_ENDINGS.get(str(spec.get("lineEnding", "LF")))
        if delimiter is None or line_ending is None:
            raise ApiError(400, "INVALIDJOB", "unknown columnDelimiter or lineEnding")
        job_id = bulk_id("BulkJob")
        now = format_datetime(self.org.now())
        version = _version(request)
        user = self.org.connected_user_id
        if kind == "query":
            if operation not in ("query", "queryAll"):
                raise ApiError(400, "INVALIDJOB", f"unknown query operation {operation!r}")
            job = self._query_job(job_id, spec, operation, delimiter, line_ending, now, version)
            job_state_after = "JobComplete"
        else:
            if operation not in INGEST_OPERATIONS:
                raise ApiError(400, "INVALIDJOB", f"unknown ingest operation {operation!r}")
            sobject = self.org.object(str(spec.get("object", ""))).name
            external = spec.get("externalIdFieldName")
            if operation == "upsert" and not external:
                raise ApiError(400, "INVALIDJOB", "an upsert job needs externalIdFieldName")
            job = _Job(
                job_id,
                kind,
                operation,
                sobject,
                delimiter,
                line_ending,
                now,
                "Open",
                version,
                user,
                external_id=str(external) if external else None,
                assignment_rule=spec.get("assignmentRuleId"),
            )
            job_state_after = "Open"
        with self._lock:
            self._jobs[job_id] = job
        answer = json_response(200, job.info())
        job.state = job_state_after
        return answer

    def _query_job(
        self,
        job_id: str,
        spec: Mapping[str, Any],
        operation: str,
        delimiter: str,
        line_ending: str,
        now: str,
        version: str,
    ) -> _Job:
        """Run the query of a new job, spending the day's query jobs and result storage.
        The refusals' wording is what real orgs answer (quoted by integrations such as
        estuary/connectors' source-salesforce); the ``API_ERROR`` code is inferred."""
        if self.counter.allocation_left("DailyBulkV2QueryJobs") < 1:
            raise ApiError(
                400, "API_ERROR", "Max bulk v2 query jobs (10000) per 24 hrs has been reached"
            )
        if self.counter.allocation_left("DailyBulkV2QueryFileStorageMB") <= 0:
            raise ApiError(
                400,
                "API_ERROR",
                "Max bulk v2 query result size stored (1000000000) kb per 24 hrs has been exceeded",
            )
        try:
            bound, records = bulk_query(
                self.org, str(spec.get("query", "")), operation == "queryAll", child_rows=False
            )
        except BulkQueryRefusedError as refused:
            raise ApiError(400, "API_ERROR", str(refused)) from None
        columns = bound.column_names()
        job = _Job(
            job_id,
            "query",
            operation,
            bound.sobject.name,
            delimiter,
            line_ending,
            now,
            "UploadComplete",
            version,
            self.org.connected_user_id,
            columns=columns,
            rows=[[_cell(r, c) for c in columns] for r in records],
        )
        self.counter.spend("DailyBulkV2QueryJobs")
        size = len(_csv(job, job.columns, job.rows).encode("utf-8"))
        self.counter.spend("DailyBulkV2QueryFileStorageMB", size / _MB)
        return job

    def _job(self, job: _Job, request: Request) -> Response:
        if request.method == "GET":
            return json_response(200, job.info())
        if request.method == "DELETE":
            if job.state not in _DELETABLE[job.kind]:
                # The query job's documented refusal; ingest jobs answer the same way.
                raise ApiError(
                    400,
                    "API_ERROR",
                    "Error encountered when deleting the job because the job is not terminated",
                )
            with self._lock:
                self._jobs.pop(job.id, None)
            return Response(204)
        if request.method != "PATCH":
            raise ApiError(
                405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed."
            )
        wanted = str((request.json() or {}).get("state", ""))
        if wanted == "Aborted":
            if job.state in ("JobComplete", "Failed"):
                raise ApiError(409, "INVALIDJOBSTATE", f"Job {job.id} is already {job.state}")
            job.state = "Aborted"
        elif wanted == "UploadComplete" and job.kind == "ingest" and job.state == "Open":
            job.state = "UploadComplete"
            answer = json_response(200, job.info())
            self._ingest(job)
            return answer
        else:
            raise ApiError(409, "INVALIDJOBSTATE", f"cannot move job {job.id} to {wanted!r}")
        return json_response(200, job.info())

    # ---- query results ------------------------------------------------------------------
    def _query_results(self, job: _Job, request: Request) -> Response:
        if job.state != "JobComplete":
            raise ApiError(409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}")
        if _version(request) != job.version:
            # "Use the same API version to get query results that you used to create the
            # query. Otherwise, the call returns a 409 error." (the code is inferred)
            raise ApiError(
                409,
                "INVALIDJOBSTATE",
                f"Job {job.id} was created in API version {job.version}; "
                "get its results in the same version",
            )
        opaque = float(job.version) >= _OPAQUE_LOCATOR_FROM
        start = _read_locator(request.params.get("locator") or "", opaque)
        raw_size = request.params.get("maxRecords") or "50000"
        if not raw_size.isdigit() or int(raw_size) < 1:
            raise ApiError(400, "API_ERROR", f"maxRecords must be a positive integer: {raw_size}")
        size = int(raw_size)
        page = job.rows[start : start + size]
        following = start + size if start + size < len(job.rows) else None
        return Response(
            200,
            _csv(job, job.columns, page).encode("utf-8"),
            content_type="text/csv",
            headers={
                "Sforce-Locator": "null"
                if following is None
                else _write_locator(following, opaque),
                "Sforce-NumberOfRecords": str(len(page)),
            },
        )

    # ---- ingest -------------------------------------------------------------------------
    def _ingest(self, job: _Job) -> None:
        for upload in job.uploads:
            reader = csv.reader(io.StringIO(upload, newline=""), delimiter=job.delimiter)
            header = next(reader, None)
            if header is None:
                continue
            job.columns = job.columns or header
            for row in reader:
                if not any(row):
                    continue
                values = {k: v for k, v in zip(header, row, strict=False) if v != ""}
                try:
                    record_id, created = write_row(
                        self.org,
                        job.operation,
                        job.object,
                        values,
                        external_id=job.external_id,
                        assign=job.assignment_rule is not None,
                        from_text=True,
                        lock_fault=self.lock_fault,
                    )
                    job.successes.append([record_id, "true" if created else "false", *row])
                except ApiError as error:
                    detail = f"{error.code}:{error.message}:{','.join(error.fields)} --"
                    job.failures.append([values.get("Id", ""), detail, *row])
        # "Salesforce creates a separate batch for every 10,000 records in your job data"
        # (Understanding Bulk API 2.0 Ingest,
        # https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_bulk_v2/datafiles_understanding_bulk2_ingest.htm);
        # each spends one of the batches both Bulk APIs share (the empty parent batch none).
        rows = len(job.successes) + len(job.failures)
        self.counter.spend("DailyBulkApiBatches", -(-rows // _ROWS_PER_BATCH))
        job.state = "JobComplete"

    def _ingest_results(self, job: _Job, kind: str) -> Response:
        if kind == "successfulResults":
            text = _csv(job, ["sf__Id", "sf__Created", *job.columns], job.successes)
        elif kind == "failedResults":
            text = _csv(job, ["sf__Id", "sf__Error", *job.columns], job.failures)
        elif kind.lower() == "unprocessedrecords":
            unprocessed = [] if job.state == "JobComplete" else job.uploads
            text = _csv(job, job.columns, []) if not unprocessed else "".join(unprocessed)
        else:
            raise not_found()
        return Response(200, text.encode("utf-8"), content_type="text/csv")


def _version(request: Request) -> str:
    match = DATA_PATH.match(request.path)
    return match.group(1) if match else "0.0"


def _write_locator(offset: int, opaque: bool) -> str:
    if not opaque:
        return str(offset)
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _read_locator(locator: str, opaque: bool) -> int:
    """The row a locator this job handed out starts at (no locator: the first)."""
    if not locator:
        return 0
    text = locator
    if opaque:
        try:
            text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            text = ""
    if not text.isdigit():
        raise ApiError(400, "INVALID_LOCATOR", f"invalid locator: {locator}")
    return int(text)


def _cell(record: Mapping[str, Any], column: str) -> Any:
    value: Any = record
    for part in column.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _csv(job: _Job, columns: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=job.delimiter, lineterminator=job.line_ending, quoting=csv.QUOTE_ALL
    )
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                "" if v is None else ("true" if v is True else "false" if v is False else v)
                for v in row
            ]
        )
    return out.getvalue()
