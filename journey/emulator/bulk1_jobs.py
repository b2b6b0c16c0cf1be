"""Bulk API 1.0's resources as data: JobInfo, BatchInfo, the error element, and query
result rows in Bulk API's JSON form.

Pipeline position: built and answered by ``bulk1``; nothing here reads the request or
writes a record.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from journey.emulator.org import Org
from journey.emulator.protocol import Response
from journey.emulator.values import parse_datetime

__all__ = ["JSON_TYPE", "AsyncApiError", "Batch", "Job", "epoch_dates"]

_NAMESPACE = "http://www.force.com/2009/06/asyncapi/dataload"
JSON_TYPE = "application/json"


class AsyncApiError(Exception):
    """A Bulk API 1.0 refusal: HTTP 400 (405 for a method the URI does not take) with an
    ``exceptionCode`` from the documented list ("Errors",
    https://developer.salesforce.com/docs/platform/api-asynch/guide/asynch-api-reference-errors.html)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status

    def response(self, as_json: bool) -> Response:
        if as_json:
            body = {"exceptionCode": self.code, "exceptionMessage": self.message}
            return Response(self.status, json.dumps(body).encode(), content_type=JSON_TYPE)
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?><error xmlns="{_NAMESPACE}">'
            f"<exceptionCode>{escape(self.code)}</exceptionCode>"
            f"<exceptionMessage>{escape(self.message)}</exceptionMessage></error>"
        )
        return Response(self.status, xml.encode(), content_type="application/xml")


@dataclass
class Batch:
    id: str
    job_id: str
    created: str
    request: Any  # the records (ingest) or the SOQL text (query)
    state: str = "Queued"
    state_message: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    result_id: str | None = None
    processed: int = 0
    failed: int = 0

    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "jobId": self.job_id,
            "state": self.state,
            "createdDate": self.created,
            "systemModstamp": self.created,
            "numberRecordsProcessed": self.processed,
            "numberRecordsFailed": self.failed,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
        if self.state_message:
            data["stateMessage"] = self.state_message
        return data


@dataclass
class Job:
    id: str
    operation: str
    object: str
    created: str
    created_by: str
    version: str
    concurrency: str
    external_id: str | None
    assignment_rule: str | None
    state: str = "Open"
    batches: dict[str, Batch] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        """JobInfo ("JobInfo",
        https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_bulk_v2/asynch_api_jobs_create.htm)."""
        states = [b.state for b in self.batches.values()]
        data: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": self.concurrency,
            "contentType": "JSON",
            "numberBatchesQueued": states.count("Queued"),
            "numberBatchesInProgress": states.count("InProgress"),
            "numberBatchesCompleted": states.count("Completed"),
            "numberBatchesFailed": states.count("Failed"),
            "numberBatchesTotal": len(states),
            "numberRecordsProcessed": sum(b.processed for b in self.batches.values()),
            "numberRetries": 0,
            "apiVersion": float(self.version),
            "numberRecordsFailed": sum(b.failed for b in self.batches.values()),
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
        if self.external_id:
            data["externalIdFieldName"] = self.external_id
        if self.assignment_rule:
            data["assignmentRuleId"] = self.assignment_rule
        return data


def epoch_dates(org: Org, record: Mapping[str, Any]) -> dict[str, Any]:
    """Bulk API's JSON query results give date and time fields as milliseconds since
    1970-01-01 UTC, not the REST API's ISO text (seen from real orgs:
    simple-salesforce/simple-salesforce#290; dates as midnight UTC is inferred)."""
    attributes = record.get("attributes")
    sobject = org.schema.get(attributes.get("type", "")) if isinstance(attributes, dict) else None
    out: dict[str, Any] = {}
    for key, value in record.items():
        definition = sobject.field(key) if sobject is not None and key != "attributes" else None
        if isinstance(value, Mapping) and isinstance(value.get("records"), list):
            out[key] = {**value, "records": [epoch_dates(org, r) for r in value["records"]]}
        elif isinstance(value, Mapping) and "attributes" in value:
            out[key] = epoch_dates(org, value)
        elif isinstance(value, str) and definition is not None and definition.type == "datetime":
            out[key] = int(parse_datetime(value).timestamp() * 1000)
        elif isinstance(value, str) and definition is not None and definition.type == "date":
            out[key] = calendar.timegm(date.fromisoformat(value).timetuple()) * 1000
        else:
            out[key] = value
    return out
