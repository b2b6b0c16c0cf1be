"""Bulk API 2.0: query jobs (CSV results with ``Sforce-Locator`` paging) and ingest jobs
(CSV upload, close, successful/failed/unprocessed results).

Pipeline position: plugged into ``rest`` as the ``jobs`` route; reuses ``org`` for every
row, so a Bulk insert refuses exactly what a REST insert refuses. Jobs run to completion
when created (query) or closed (ingest) — a real org queues them, and clients poll until
``JobComplete`` either way. Jobs live in memory: they do not survive a restart. As in
Bulk API 2.0, assignment rules run only when the job names ``assignmentRuleId``.
"""

from __future__ import annotations

import csv
import io
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from journey.emulator.errors import ApiError, not_found
from journey.emulator.ids import KEY_PREFIXES, checksum
from journey.emulator.protocol import Request, Response, json_response
from journey.emulator.rest import RestApi
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
_INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")


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
    external_id: str | None = None
    assignment_rule: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    successes: list[list[Any]] = field(default_factory=list)
    failures: list[list[Any]] = field(default_factory=list)

    def info(self, version: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": None,
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "lineEnding": next(k for k, v in _LINE_ENDINGS.items() if v == self.line_ending),
            "columnDelimiter": next(k for k, v in _DELIMITERS.items() if v == self.delimiter),
        }
        if self.kind == "query":
            data["numberRecordsProcessed"] = len(self.rows)
        else:
            data["externalIdFieldName"] = self.external_id
            data["contentUrl"] = f"services/data/v{version}/jobs/ingest/{self.id}/batches"
            data["numberRecordsProcessed"] = len(self.successes) + len(self.failures)
            data["numberRecordsFailed"] = len(self.failures)
        return data


class BulkApi:
    """The ``jobs/query`` and ``jobs/ingest`` routes."""

    def __init__(self, rest: RestApi, lock_fault: Callable[[], bool]) -> None:
        self.rest = rest
        self.org = rest.org
        self.lock_fault = lock_fault
        self._jobs: dict[str, _Job] = {}
        self._numbers = itertools.count(1)
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
                jobs = [j.info(self.org.version) for j in self._jobs.values() if j.kind == kind]
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
        job_id = self._new_id()
        now = format_datetime(self.org.now())
        if kind == "query":
            if operation not in ("query", "queryAll"):
                raise ApiError(400, "INVALIDJOB", f"unknown query operation {operation!r}")
            bound, records = self.org.query(str(spec.get("query", "")), operation == "queryAll")
            if bound.count:
                raise ApiError(400, "INVALIDJOB", "COUNT() is not supported in Bulk queries")
            columns = bound.column_names()
            job = _Job(
                job_id,
                kind,
                operation,
                bound.sobject.name,
                delimiter,
                line_ending,
                now,
                "UploadComplete",
                columns=columns,
                rows=[[_cell(r, c) for c in columns] for r in records],
            )
            job_state_after = "JobComplete"
        else:
            if operation not in _INGEST_OPERATIONS:
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
                external_id=str(external) if external else None,
                assignment_rule=spec.get("assignmentRuleId"),
            )
            job_state_after = "Open"
        with self._lock:
            self._jobs[job_id] = job
        answer = json_response(200, job.info(self.org.version))
        job.state = job_state_after
        return answer

    def _new_id(self) -> str:
        head = KEY_PREFIXES["BulkJob"] + "5E0" + f"{next(self._numbers):09d}"
        return head + checksum(head)

    def _job(self, job: _Job, request: Request) -> Response:
        if request.method == "GET":
            return json_response(200, job.info(self.org.version))
        if request.method == "DELETE":
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
            answer = json_response(200, job.info(self.org.version))
            self._ingest(job)
            return answer
        else:
            raise ApiError(409, "INVALIDJOBSTATE", f"cannot move job {job.id} to {wanted!r}")
        return json_response(200, job.info(self.org.version))

    # ---- query results ------------------------------------------------------------------
    def _query_results(self, job: _Job, request: Request) -> Response:
        if job.state != "JobComplete":
            raise ApiError(409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}")
        start = (
            int(request.params.get("locator") or 0)
            if (request.params.get("locator", "0") or "0").isdigit()
            else -1
        )
        if start < 0:
            raise ApiError(400, "INVALID_LOCATOR", "invalid locator")
        size = int(request.params.get("maxRecords") or 50000)
        page = job.rows[start : start + size]
        following = start + size if start + size < len(job.rows) else None
        return Response(
            200,
            _csv(job, job.columns, page).encode("utf-8"),
            content_type="text/csv",
            headers={
                "Sforce-Locator": str(following) if following is not None else "null",
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
                    if self.lock_fault():
                        raise ApiError(
                            400,
                            "UNABLE_TO_LOCK_ROW",
                            "unable to obtain exclusive access to this record",
                        )
                    record_id, created = self._ingest_row(job, values)
                    job.successes.append([record_id, "true" if created else "false", *row])
                except ApiError as error:
                    detail = f"{error.code}:{error.message}:{','.join(error.fields)} --"
                    job.failures.append([values.get("Id", ""), detail, *row])
        job.state = "JobComplete"

    def _ingest_row(self, job: _Job, values: Mapping[str, str]) -> tuple[str, bool]:
        org, assign = self.org, job.assignment_rule is not None
        if job.operation == "insert":
            return org.create(job.object, values, auto_assign=assign, from_text=True), True
        if job.operation in ("delete", "hardDelete"):
            record_id = values.get("Id", "")
            definition, record = org.locate(job.object, record_id)
            org.delete(definition.name, record_id)
            if job.operation == "hardDelete":
                org.store.purge(record["Id"])
            return str(record["Id"]), False
        key = "Id" if job.operation == "update" else (job.external_id or "Id")
        match_value = values.get(key)
        rest = {k: v for k, v in values.items() if k != "Id"}
        if key == "Id":
            if not match_value:
                raise ApiError(
                    400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"]
                )
            _, record = org.locate(job.object, match_value)
            org.update(job.object, record["Id"], rest, auto_assign=assign, from_text=True)
            return str(record["Id"]), False
        field_def = org.object(job.object).field(key)
        if field_def is None:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{key}' on {job.object}")
        matches = [
            r
            for r in org.store.scan(job.object)
            if match_value and str(r.get(field_def.name) or "").lower() == match_value.lower()
        ]
        if len(matches) > 1:
            raise ApiError(
                400,
                "DUPLICATE_EXTERNAL_ID",
                f"{key}: more than one record found for external id field",
            )
        if matches:
            org.update(job.object, matches[0]["Id"], rest, auto_assign=assign, from_text=True)
            return str(matches[0]["Id"]), False
        return org.create(job.object, rest, auto_assign=assign, from_text=True), True

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
