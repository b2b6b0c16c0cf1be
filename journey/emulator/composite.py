"""sObject Collections (``composite/sobjects``) and Composite (``composite``): many
operations in one API call; ``composite/batch`` and ``composite/tree`` are routed from here
to ``composite_batch`` and ``tree``.

Pipeline position: plugged into ``rest`` as the ``composite`` route. Collections and
Composite count as ONE call against the daily allocation whatever they carry — the reason
the connector batches. Collections answer 200 with one SaveResult (UpsertResult for the
upsert by external ID) per record, failures included; ``allOrNone`` rolls everything back
and marks the innocent records ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.

Composite runs up to 25 subrequests in order, resolving ``@{ref.field}`` references to
earlier answers; "Up to 5 of these subrequests can be sObject Collections or query
operations, including Query and QueryAll requests", and sObject Collections are subrequests
from API 43.0
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_post.htm;
older versions also count "Query More" requests for the next batch of results). A request
past either limit, or one whose subrequest lacks its ``method``, ``url`` or
``referenceId``, is refused whole with 400 before anything runs: Salesforce checks the
request body before processing subrequests
(https://developer.salesforce.com/blogs/2017/02/handle-errors-with-composite-resources).
The refusal's error code and wording are the emulator's; the pages show none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from journey.emulator import upsert
from journey.emulator.composite_batch import run_batch
from journey.emulator.errors import ApiError
from journey.emulator.ids import to_18
from journey.emulator.protocol import Request, Response, json_response
from journey.emulator.rest import DATA_PATH, RestApi
from journey.emulator.tree import create_tree

__all__ = ["MAX_QUERY_SUBREQUESTS", "MAX_SUBREQUESTS", "CompositeApi"]

MAX_COLLECTION = 200
MAX_SUBREQUESTS = 25
#: Query, queryAll (with their next pages) and sObject Collections subrequests per call.
MAX_QUERY_SUBREQUESTS = 5
_COLLECTIONS_IN_COMPOSITE = (43, 0)
_UPSERT_COLLECTIONS = (46, 0)
#: One operation of a Collections call: the record ID and, for an upsert, "created".
Operation = Callable[[], tuple[str, bool | None]]
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])+)\}")
_ROLLED_BACK = ApiError(
    400,
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."


class _RollBackError(Exception):
    """Raised inside the store transaction to undo an allOrNone call."""


class CompositeApi:
    """The ``composite`` routes. ``lock_fault`` draws the injected per-record lock failure."""

    def __init__(self, rest: RestApi, lock_fault: Callable[[], bool]) -> None:
        self.rest = rest
        self.org = rest.org
        self.lock_fault = lock_fault
        rest.extra["composite"] = self.handle

    def handle(self, request: Request, parts: list[str]) -> Response:
        if parts == ["composite"] and request.method == "POST":
            return self._composite(request)
        if parts == ["composite"] and request.method == "GET":
            base = f"/services/data/v{_version_text(request)}/composite"
            names = ("batch", "tree", "sobjects")
            return json_response(200, {name: f"{base}/{name}" for name in names})
        if len(parts) >= 2 and parts[1] == "sobjects":
            return self._collections(request, parts[2:])
        if parts[1:2] == ["batch"] and len(parts) == 2 and request.method == "POST":
            return run_batch(self.rest, request, _version(request))
        if parts[1:2] == ["tree"] and len(parts) == 3 and request.method == "POST":
            return create_tree(self.org, request, parts[2])
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    # ---- sObject Collections -----------------------------------------------------------
    def _collections(self, request: Request, rest: list[str]) -> Response:
        method = request.method
        if method == "GET" and len(rest) == 1:
            ids = [i for i in request.params.get("ids", "").split(",") if i]
            fields = [f for f in request.params.get("fields", "").split(",") if f]
            if not ids or not fields:
                raise ApiError(400, "MISSING_ARGUMENT", "ids and fields are required")
            out: list[Any] = []
            for record_id in ids:
                try:
                    out.append(self.org.retrieve(rest[0], record_id, fields))
                except ApiError as error:
                    if error.status != 404:
                        raise
                    out.append(None)
            return json_response(200, out)
        if method == "DELETE":
            ids = [i for i in request.params.get("ids", "").split(",") if i]
            all_or_none = request.params.get("allOrNone", "false").lower() == "true"
            operations: list[tuple[str | None, Operation]] = [
                (i, partial(self._delete, i)) for i in ids
            ]
        elif method == "PATCH" and len(rest) == 2:
            if _version(request) < _UPSERT_COLLECTIONS:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            upserts, all_or_none = upsert.upsert_records(self.org, request, rest[0], rest[1])
            operations = [(given, run) for given, run in upserts]
        elif method in ("POST", "PATCH") and not rest:
            body = request.json()
            if not isinstance(body, dict) or not isinstance(body.get("records"), list):
                raise ApiError(400, "JSON_PARSER_ERROR", 'expected {"records": [...]}')
            all_or_none = bool(body.get("allOrNone", False))
            create = method == "POST"
            operations = [
                (None, partial(self._save, r, create, request.auto_assign)) for r in body["records"]
            ]
        else:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")
        if len(operations) > MAX_COLLECTION:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION} "
                "records into this call",
            )
        return json_response(200, self._run(operations, all_or_none))

    def _run(
        self, operations: list[tuple[str | None, Operation]], all_or_none: bool
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        failed = False
        try:
            with self.org.store.transaction():
                for given_id, operation in operations:
                    try:
                        if self.lock_fault():
                            raise ApiError(
                                400,
                                "UNABLE_TO_LOCK_ROW",
                                "unable to obtain exclusive access to this record",
                            )
                        record_id, created = operation()
                        result = {"id": record_id, "success": True, "errors": []}
                        results.append(
                            result if created is None else {**result, "created": created}
                        )
                    except ApiError as error:
                        failed = True
                        results.append(
                            {"id": given_id, "success": False, "errors": [error.save_error()]}
                        )
                if failed and all_or_none:
                    raise _RollBackError
        except _RollBackError:
            results = [
                r
                if not r["success"]
                else {"id": None, "success": False, "errors": [_ROLLED_BACK.save_error()]}
                for r in results
            ]
        return results

    def _save(self, record: Any, create: bool, auto_assign: bool) -> tuple[str, None]:
        if not isinstance(record, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "each record must be a JSON object")
        sobject = (record.get("attributes") or {}).get("type")
        if not sobject:
            raise ApiError(400, "INVALID_TYPE", "No type provided for the sObject")
        values = {k: v for k, v in record.items() if k != "attributes"}
        if create:
            return self.org.create(sobject, values, auto_assign=auto_assign), None
        record_id = values.pop("id", None) or values.pop("Id", None)
        if not record_id:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call")
        self.org.update(sobject, str(record_id), values, auto_assign=auto_assign)
        return str(self.org.locate(sobject, str(record_id))[1]["Id"]), None

    def _delete(self, record_id: str) -> tuple[str, None]:
        self.org.delete(None, record_id)
        return to_18(record_id), None

    # ---- Composite -----------------------------------------------------------------------
    def _composite(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", 'expected {"compositeRequest": [...]}')
        subrequests = body["compositeRequest"]
        _check_subrequests(subrequests, _version(request))
        all_or_none = bool(body.get("allOrNone", False))
        answers: dict[str, Any] = {}
        results: list[dict[str, Any]] = []
        try:
            with self.org.store.transaction():
                failed = False
                for sub in subrequests:
                    reference = str(sub.get("referenceId", ""))
                    status, data, headers = self._subrequest(sub, answers, request)
                    if status >= 300:
                        failed = True
                    else:
                        answers[reference] = data
                    results.append(
                        {
                            "body": data,
                            "httpHeaders": headers,
                            "httpStatusCode": status,
                            "referenceId": reference,
                        }
                    )
                if failed and all_or_none:
                    raise _RollBackError
        except _RollBackError:
            halted = [{"errorCode": "PROCESSING_HALTED", "message": _HALTED}]
            results = [
                r
                if r["httpStatusCode"] >= 300
                else {**r, "body": halted, "httpHeaders": {}, "httpStatusCode": 400}
                for r in results
            ]
        return json_response(200, {"compositeResponse": results})

    def _subrequest(
        self, sub: dict[str, Any], answers: dict[str, Any], parent: Request
    ) -> tuple[int, Any, dict[str, str]]:
        try:
            url = _resolve(str(sub.get("url", "")), answers)
            body = sub.get("body")
            if body is not None:
                body = json.loads(_resolve(json.dumps(body), answers, quote=True))
            split = urlsplit(url)
            if _resource(split.path) is None:
                raise ApiError(400, "INVALID_API_INPUT", f"unsupported subrequest url: {url}")
            headers = {k.lower(): str(v) for k, v in (sub.get("httpHeaders") or {}).items()}
            if "sforce-auto-assign" in parent.headers:
                headers.setdefault("sforce-auto-assign", parent.headers["sforce-auto-assign"])
            response = self.rest.handle(
                Request(
                    method=str(sub.get("method", "GET")).upper(),
                    path=split.path,
                    params=dict(parse_qsl(split.query)),
                    headers=headers,
                    body=json.dumps(body).encode() if body is not None else b"",
                )
            )
        except ApiError as error:
            return error.status, error.body(), {}
        data = response.data()
        headers = {}
        if response.status == 201 and isinstance(data, dict) and "id" in data:
            headers["Location"] = f"{split.path.rstrip('/')}/{data['id']}"
        return response.status, data, headers


def _check_subrequests(subrequests: list[Any], version: tuple[int, int]) -> None:
    """Refuse, before anything runs, a Composite request Salesforce refuses whole."""
    if len(subrequests) > MAX_SUBREQUESTS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"A composite request can have at most {MAX_SUBREQUESTS} subrequests",
        )
    counted = 0
    for index, sub in enumerate(subrequests):
        missing = [
            key
            for key in ("method", "url", "referenceId")
            if not isinstance(sub, dict) or not isinstance(sub.get(key), str) or not sub[key]
        ]
        if missing:
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                f"compositeRequest[{index}] needs {', '.join(missing)}",
            )
        resource = _resource(urlsplit(str(sub["url"])).path)
        if resource == "collections" and version < _COLLECTIONS_IN_COMPOSITE:
            raise ApiError(
                400,
                "INVALID_API_INPUT",
                "sObject Collections subrequests need API version 43.0 or later",
            )
        counted += resource in ("query", "collections")
    if counted > MAX_QUERY_SUBREQUESTS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"A composite request can have at most {MAX_QUERY_SUBREQUESTS} query, queryAll "
            f"or sObject Collections subrequests; this one has {counted}",
        )


def _resource(path: str) -> str | None:
    """What a subrequest path reaches: "query" (query/queryAll and their next pages),
    "collections", "other" (sObject resources, limits), or None (not allowed)."""
    match = DATA_PATH.match(path.rstrip("/"))
    if match is None:
        return None
    head, _, tail = (match.group(2) or "").partition("/")
    if head in ("query", "queryAll"):
        return "query"
    if head == "composite":
        return "collections" if tail.split("/")[0] == "sobjects" else None
    return "other"


def _version(request: Request) -> tuple[int, int]:
    major, _, minor = _version_text(request).partition(".")
    return int(major), int(minor or 0)


def _version_text(request: Request) -> str:
    match = DATA_PATH.match(request.path.rstrip("/"))
    return match.group(1) if match else "0.0"


def _resolve(text: str, answers: dict[str, Any], quote: bool = False) -> str:
    """Replace ``@{ref.id}`` / ``@{ref.records[0].Id}`` with values from earlier answers."""

    def replace(match: re.Match[str]) -> str:
        reference, path = match.group(1), match.group(2)
        if reference not in answers:
            raise ApiError(
                400,
                "PROCESSING_HALTED",
                f"Invalid reference specified. No value for {reference}{path} found in "
                f"{reference}. Provided referenceId ({reference}) must be in the request "
                "and must succeed before this one.",
            )
        value: Any = answers[reference]
        for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
            try:
                value = value[step[0]] if step[0] else value[int(step[1])]
            except (KeyError, IndexError, TypeError):
                raise ApiError(
                    400,
                    "PROCESSING_HALTED",
                    f"Invalid reference specified. No value for {reference}{path}",
                ) from None
        text_value = str(value)
        return json.dumps(text_value)[1:-1] if quote else text_value

    return _REFERENCE.sub(replace, text)
