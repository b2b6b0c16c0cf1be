"""The REST API under ``/services/data/v{version}/``: sObjects, describe, query and
queryAll with paging, getUpdated/getDeleted, limits — routed to ``org``, ``upsert`` (rows
by external ID), ``composite`` (with batch and tree) and ``bulk``.

Pipeline position: between the HTTPS server (which has already checked the session, the
API allocation and any injected fault) and the org's record semantics. Paths and answer
shapes are the ones simple-salesforce 1.12 calls and parses.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from journey.emulator import replication, upsert
from journey.emulator.errors import ApiError, not_found
from journey.emulator.limits import ApiCounter
from journey.emulator.org import Org
from journey.emulator.protocol import Request, Response, json_response

__all__ = ["DATA_PATH", "RestApi"]

DATA_PATH = re.compile(r"^/services/data/v(\d+\.\d+)(?:/(.*))?$")
_DEFAULT_BATCH = 2000
_MAX_CURSORS = 256


class RestApi:
    """Routes one REST request. ``collections``/``composite``/``bulk`` plug in as handlers."""

    def __init__(self, org: Org, counter: ApiCounter) -> None:
        self.org = org
        self.counter = counter
        self.extra: dict[str, Callable[[Request, list[str]], Response]] = {}
        self._cursors: OrderedDict[str, list[Mapping[str, Any]]] = OrderedDict()
        self._cursor_numbers = itertools.count(1)
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        match = DATA_PATH.match(request.path.rstrip("/") if request.path != "/" else "/")
        if match is None:
            raise not_found()
        parts = [p for p in (match.group(2) or "").split("/") if p]
        if not parts:
            return json_response(200, {"sobjects": f"/services/data/v{self.org.version}/sobjects"})
        head = parts[0]
        if head in self.extra:
            return self.extra[head](request, parts)
        if head == "sobjects":
            return self._sobjects(request, parts[1:])
        if head in ("query", "queryAll"):
            return self._query(request, parts, include_deleted=head == "queryAll")
        if head == "limits" and request.method == "GET":
            return json_response(200, self.counter.limits())
        raise not_found()

    # ---- sobjects --------------------------------------------------------------------------
    def _sobjects(self, request: Request, parts: list[str]) -> Response:
        org, method = self.org, request.method
        if not parts:
            _only(method, "GET")
            return json_response(
                200,
                {
                    "encoding": "UTF-8",
                    "maxBatchSize": 200,
                    "sobjects": [o.summary(org.version) for o in org.schema.objects()],
                },
            )
        definition = org.object(parts[0])
        if len(parts) == 1:
            if method == "POST":
                record_id = org.create(
                    definition.name, _object(request.json()), auto_assign=request.auto_assign
                )
                return json_response(201, {"id": record_id, "success": True, "errors": []})
            _only(method, "GET")
            return json_response(
                200, {"objectDescribe": definition.summary(org.version), "recentItems": []}
            )
        action = parts[1]
        if action == "describe" and len(parts) == 2:
            _only(method, "GET")
            return json_response(200, definition.describe(org.version))
        if action in ("updated", "deleted") and len(parts) == 2:
            _only(method, "GET")
            start, end = request.params.get("start"), request.params.get("end")
            if not start or not end:
                raise ApiError(400, "MISSING_ARGUMENT", "start and end are required")
            window = replication.updated if action == "updated" else replication.deleted
            return json_response(200, window(org, definition.name, start, end))
        if len(parts) == 3:
            return upsert.by_external_id(org, request, definition.name, parts[1], parts[2])
        if len(parts) != 2:
            raise not_found()
        record_id = parts[1]
        if record_id.lower() == "id" and method == "POST":
            return upsert.create_by_id(org, request, definition.name)
        if method == "GET":
            fields = [f for f in request.params.get("fields", "").split(",") if f.strip()]
            return json_response(
                200, org.retrieve(definition.name, record_id, [f.strip() for f in fields] or None)
            )
        if method == "PATCH":
            org.update(
                definition.name, record_id, _object(request.json()), auto_assign=request.auto_assign
            )
            return Response(204)
        if method == "DELETE":
            org.delete(definition.name, record_id)
            return Response(204)
        raise _method_not_allowed(method)

    # ---- query ------------------------------------------------------------------------------
    def _query(self, request: Request, parts: list[str], include_deleted: bool) -> Response:
        _only(request.method, "GET")
        endpoint = parts[0]
        if len(parts) == 2:
            locator, _, offset = parts[1].rpartition("-")
            with self._lock:
                rows = self._cursors.get(locator)
            if rows is None or not offset.isdigit():
                raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return self._page(endpoint, locator, rows, int(offset), _batch_size(request))
        soql = request.params.get("q")
        if not soql:
            raise ApiError(400, "MALFORMED_QUERY", "A query string (q) is required")
        bound, rows = self.org.query(soql, include_deleted)
        if bound.count:
            return json_response(200, {"totalSize": len(rows), "done": True, "records": []})
        locator = f"01g5E0000{next(self._cursor_numbers):06d}"
        with self._lock:
            self._cursors[locator] = rows
            while len(self._cursors) > _MAX_CURSORS:
                self._cursors.popitem(last=False)
        return self._page(endpoint, locator, rows, 0, _batch_size(request))

    def _page(
        self, endpoint: str, locator: str, rows: list[Mapping[str, Any]], offset: int, batch: int
    ) -> Response:
        page = rows[offset : offset + batch]
        done = offset + batch >= len(rows)
        body: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": page}
        if done:
            with self._lock:
                self._cursors.pop(locator, None)
        else:
            body["nextRecordsUrl"] = (
                f"/services/data/v{self.org.version}/{endpoint}/{locator}-{offset + batch}"
            )
        return json_response(200, body)


def _batch_size(request: Request) -> int:
    options = request.headers.get("sforce-query-options", "")
    match = re.search(r"batchSize\s*=\s*(\d+)", options, re.IGNORECASE)
    if not match:
        return _DEFAULT_BATCH
    return min(max(int(match.group(1)), 200), _DEFAULT_BATCH)


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    return data


def _only(method: str, allowed: str) -> None:
    if method != allowed:
        raise _method_not_allowed(method)


def _method_not_allowed(method: str) -> ApiError:
    return ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")
