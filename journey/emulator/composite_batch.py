"""Composite Batch (``POST composite/batch``): up to 25 independent subrequests in one
request, each answered on its own.

Pipeline position: routed from ``composite``; each subrequest goes back through ``rest``
as if sent alone. As documented
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_batch.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/requests_composite_batch.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/responses_composite_batch.htm):

* ``{"batchRequests": [{"method", "url", "richInput"}], "haltOnError"}``; each ``url`` is
  relative to ``/services/data/`` (``v59.0/sobjects/Lead/…``), at API 34.0 or later and no
  later than the batch's own version. Limits, sObject, query and queryAll resources.
* "Subrequests execute serially in their order … When a subrequest executes successfully,
  it commits its data … If a subrequest fails, commits made by previous subrequests aren't
  rolled back."
* With ``haltOnError``, after a subrequest answers 400–599 every later one gets "an HTTP 412
  status code and a BATCH_PROCESSING_HALTED error message"; the batch itself answers 200
  with ``{"hasErrors", "results": [{"statusCode", "result"}]}``.
* A malformed body (a subrequest with a bad ``method`` or ``url``) is "an HTTP 400 Bad
  Request error without processing any subrequests, regardless of the value of
  haltOnError".
* "Each subrequest counts against rate limits": the batch costs one API call per
  subrequest (the batch request's own charge is the first).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from journey.emulator.errors import ApiError
from journey.emulator.protocol import Request, Response, json_response
from journey.emulator.rest import RestApi

__all__ = ["MAX_BATCH", "run_batch"]

MAX_BATCH = 25
_FIRST_VERSION = (34, 0)
_URL = re.compile(r"^/?(?:services/data/)?v(\d+)\.(\d+)(/[^?#]*)?(?:\?(.*))?$")
_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"})
_RESOURCES = frozenset({"limits", "sobjects", "query", "queryAll"})
_HALTED = {
    "errorCode": "BATCH_PROCESSING_HALTED",
    "message": "Batch processing halted: an earlier subrequest failed and haltOnError is set",
}


def run_batch(rest: RestApi, request: Request, version: tuple[int, int]) -> Response:
    """Run a Composite Batch request; ``version`` is the batch's own API version."""
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("batchRequests"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", 'expected {"batchRequests": [...]}')
    subrequests = [_parse(i, sub, version) for i, sub in enumerate(body["batchRequests"])]
    if not subrequests or len(subrequests) > MAX_BATCH:
        raise ApiError(
            400,
            "INVALID_BATCH_REQUEST",
            f"A batch holds between 1 and {MAX_BATCH} subrequests, not {len(subrequests)}",
        )
    halt_on_error = bool(body.get("haltOnError", False))
    halted = has_errors = False
    results: list[dict[str, Any]] = []
    for index, sub in enumerate(subrequests):
        if halted:
            results.append({"statusCode": 412, "result": [_HALTED]})
            continue
        status, result = _execute(rest, request, sub, charge=index > 0)
        results.append({"statusCode": status, "result": result})
        if status >= 400:
            has_errors = True
            halted = halt_on_error
    return json_response(200, {"hasErrors": has_errors, "results": results})


def _parse(index: int, sub: Any, version: tuple[int, int]) -> Request:
    """One subrequest as a ``Request``, or the 400 that refuses the whole batch."""
    where = f"batchRequests[{index}]"
    if not isinstance(sub, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", f"{where} must be a JSON object")
    method = str(sub.get("method", "")).upper()
    if method not in _METHODS:
        raise ApiError(400, "INVALID_BATCH_REQUEST", f"{where}: invalid method {method!r}")
    match = _URL.match(str(sub.get("url", "")))
    if match is None:
        raise ApiError(400, "INVALID_BATCH_REQUEST", f"{where}: invalid url {sub.get('url')!r}")
    sub_version = (int(match.group(1)), int(match.group(2)))
    if not _FIRST_VERSION <= sub_version <= version:
        raise ApiError(
            400,
            "INVALID_BATCH_REQUEST",
            f"{where}: API version v{sub_version[0]}.{sub_version[1]} must be between 34.0 "
            f"and the batch's v{version[0]}.{version[1]}",
        )
    path = match.group(3) or "/"
    if path.strip("/").split("/")[0] not in _RESOURCES:
        raise ApiError(400, "INVALID_BATCH_REQUEST", f"{where}: {path} can't be batched")
    rich_input = sub.get("richInput")
    return Request(
        method=method,
        path=f"/services/data/v{sub_version[0]}.{sub_version[1]}{path}",
        params=dict(parse_qsl(match.group(4) or "", keep_blank_values=True)),
        body=json.dumps(rich_input).encode() if rich_input is not None else b"",
    )


def _execute(rest: RestApi, parent: Request, sub: Request, charge: bool) -> tuple[int, Any]:
    if "sforce-auto-assign" in parent.headers:
        sub.headers["sforce-auto-assign"] = parent.headers["sforce-auto-assign"]
    try:
        if charge:
            rest.counter.charge()
        response = rest.handle(sub)
    except ApiError as error:
        return error.status, error.body()
    return response.status, response.data()
