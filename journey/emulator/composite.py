"""sObject Collections (``composite/sobjects``) and Composite (``composite``): many
operations in one API call.

Pipeline position: plugged into ``rest`` as the ``composite`` route. Both count as ONE call
against the daily allocation whatever they carry — the reason the connector batches.
Collections answer 200 with one SaveResult per record, failures included; ``allOrNone``
rolls everything back and marks the innocent records ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.
Composite runs up to 25 subrequests in order, resolving ``@{ref.field}`` references to
earlier answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from journey.emulator.errors import ApiError
from journey.emulator.ids import to_18
from journey.emulator.protocol import Request, Response, json_response
from journey.emulator.rest import RestApi

__all__ = ["CompositeApi"]

MAX_COLLECTION = 200
MAX_SUBREQUESTS = 25
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
        if len(parts) >= 2 and parts[1] == "sobjects":
            return self._collections(request, parts[2:])
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
            operations: list[tuple[str | None, Callable[[], str]]] = [
                (i, partial(self._delete, i)) for i in ids
            ]
        elif method in ("POST", "PATCH"):
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
        self, operations: list[tuple[str | None, Callable[[], str]]], all_or_none: bool
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
                        results.append({"id": operation(), "success": True, "errors": []})
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

    def _save(self, record: Any, create: bool, auto_assign: bool) -> str:
        if not isinstance(record, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "each record must be a JSON object")
        sobject = (record.get("attributes") or {}).get("type")
        if not sobject:
            raise ApiError(400, "INVALID_TYPE", "No type provided for the sObject")
        values = {k: v for k, v in record.items() if k != "attributes"}
        if create:
            return self.org.create(sobject, values, auto_assign=auto_assign)
        record_id = values.pop("id", None) or values.pop("Id", None)
        if not record_id:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call")
        self.org.update(sobject, str(record_id), values, auto_assign=auto_assign)
        return str(self.org.locate(sobject, str(record_id))[1]["Id"])

    def _delete(self, record_id: str) -> str:
        self.org.delete(None, record_id)
        return to_18(record_id)

    # ---- Composite -----------------------------------------------------------------------
    def _composite(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", 'expected {"compositeRequest": [...]}')
        subrequests = body["compositeRequest"]
        if len(subrequests) > MAX_SUBREQUESTS:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                f"A composite request can have at most {MAX_SUBREQUESTS} subrequests",
            )
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
            if not split.path.startswith("/services/data/") or "/composite" in split.path:
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
