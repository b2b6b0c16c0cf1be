"""The dry run's transports: the real connector, with every write kept from the org.

Pipeline position: dry run → ``SalesforceConnector`` (the real one, every rule) →
simple-salesforce → **a requests adapter from this module** → the org, or nowhere.
A dry run must decide exactly as the real run would, so it runs the real connector; what
changes is only where its HTTP requests go. Two adapters, mounted on the client's
``requests`` session:

* ``InProcessOrg`` serves a scratch copy of the embedded emulated org in this process
  (no socket, no TLS): reads *and* writes reach the copy, so the org's own rules —
  assignment rules, the default Lead Status, conversion reusing an Account, existing
  campaign members — decide as they would, and the copy is thrown away afterwards;
* ``CapturingAdapter`` sits in front of a configured org (a real one, or a standalone
  emulator): reads (GET, and the read-only composite calls) go through; writes (sobjects
  and Collections POST/PATCH/DELETE, SOAP ``convertLead``) are answered with a synthesized
  success and recorded in ``writes`` — never sent.

What a captured write cannot predict (docs/salesforce.md, "Dry runs"): whatever the org
would decide on the write itself — the owner an assignment rule gives a new Lead, the
default Lead Status, validation rules and duplicate rules that would refuse it, the
Account a conversion would create — and anything read back from a record that was only
captured (it does not exist, so the connector reads nothing for it).

The notifier's twin for dry runs, ``notify.captured.CapturedNotifier``, is beside the
notifier it extends: a dry run that sends no notification never loads the delivery stack.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.etree import ElementTree as ET

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from journey.emulator import EmulatedOrg, to_18
from journey.emulator.ids import KEY_PREFIXES
from journey.emulator.protocol import Request

__all__ = ["CapturedWrite", "CapturingAdapter", "InProcessOrg"]

#: The host a scratch org is served under: ``.invalid`` never resolves (RFC 2606), so a
#: request that missed the adapter fails instead of reaching anything.
SCRATCH_HOST = "dry-run.journey.invalid"
_PARTNER = "urn:partner.soap.sforce.com"
_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def _response(
    request: requests.PreparedRequest,
    status: int,
    body: bytes,
    content_type: str = "application/json;charset=UTF-8",
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers = CaseInsensitiveDict({"Content-Type": content_type, **(headers or {})})
    response.url = str(request.url)
    response.request = request
    response.encoding = "utf-8"
    response.reason = "OK" if status < 400 else "Error"
    return response


def _body(request: requests.PreparedRequest) -> bytes:
    body = request.body
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


class InProcessOrg(BaseAdapter):
    """Serves ``org`` (a scratch copy) to simple-salesforce without a socket: each
    request goes to the emulated org's own front door (session, allocation, routing)."""

    def __init__(self, org: EmulatedOrg) -> None:
        super().__init__()
        self.org = org

    @property
    def instance_url(self) -> str:
        return f"https://{SCRATCH_HOST}"

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        split = urlsplit(str(request.url))
        served = self.org.app.dispatch(
            Request(
                method=str(request.method),
                path=unquote(split.path),
                params=dict(parse_qsl(split.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=_body(request),
            )
        )
        return _response(request, served.status, served.body, served.content_type, served.headers)

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class CapturedWrite:
    """One write the dry run kept from the org: ``records`` are the bodies it carried
    (one per record for Collections and ``convertLead``)."""

    method: str
    path: str
    object: str | None
    records: tuple[Mapping[str, Any], ...] = ()


@dataclass
class CapturingAdapter(BaseAdapter):
    """Reads through ``inner``; writes recorded in ``writes`` and answered as a success
    (module docstring). Synthesized IDs carry the object's key prefix and a valid
    checksum, so the connector treats them as the org's."""

    inner: BaseAdapter
    writes: list[CapturedWrite] = field(default_factory=list)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        super().__init__()

    def new_id(self, sobject: str | None) -> str:
        # The object's key prefix (the emulated org's table, from Salesforce's object
        # reference) and the 18-character checksum; an unknown object gets a custom
        # object's a00. The "DRY" infix marks an ID that never existed.
        prefix = KEY_PREFIXES.get(sobject or "", "a00")
        return to_18(f"{prefix}DRY{next(self._numbers):09d}")

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        method = str(request.method).upper()
        path = unquote(urlsplit(str(request.url)).path)
        if method not in _WRITES or _reads_only(method, path, request):
            return self.inner.send(request, stream, timeout, verify, cert, proxies)
        if "/services/Soap/" in path:
            return self._convert(request, path)
        return self._rest(request, method, path)

    def close(self) -> None:
        self.inner.close()

    def _rest(self, request: requests.PreparedRequest, method: str, path: str) -> requests.Response:
        data: Any = json.loads(_body(request) or b"null")
        if path.rstrip("/").endswith("/composite/sobjects"):
            # sObject Collections answer a list of SaveResult (id, success, errors), in the
            # order of the records sent: REST API Developer Guide, "Create Records Using
            # sObject Collections" (developer.salesforce.com/docs/platform/api-rest/guide/
            # resources-composite-sobjects-collections-create.html).
            records = [dict(r) for r in (data or {}).get("records", [])]
            answers: list[dict[str, Any]] = []
            for record in records:
                sobject = (record.pop("attributes", None) or {}).get("type")
                record_id = record.get("Id") or self.new_id(sobject)
                answers.append({"id": record_id, "success": True, "errors": []})
                self.writes.append(CapturedWrite(method, path, sobject, (record,)))
            return _response(request, 200, json.dumps(answers).encode())
        match = re.search(r"/sobjects/(\w+)(?:/(\w+))?/?$", path)
        sobject = match.group(1) if match else None
        record = dict(data) if isinstance(data, dict) else {}
        self.writes.append(CapturedWrite(method, path, sobject, (record,)))
        if method == "POST" and match and not match.group(2):
            body = {"id": self.new_id(sobject), "success": True, "errors": []}
            return _response(request, 201, json.dumps(body).encode())
        if match:
            return _response(request, 204, b"")
        # Anything else (Bulk ingest, composite graphs): refused, never sent. The dry run's
        # connector uses neither.
        error = [{"errorCode": "DRY_RUN_NOT_CAPTURED", "message": f"{method} {path}"}]
        return _response(request, 400, json.dumps(error).encode())

    def _convert(self, request: requests.PreparedRequest, path: str) -> requests.Response:
        # convertLead answers one LeadConvertResult per LeadConvert, in order: accountId /
        # contactId are the ones given, else the new ones; opportunityId when one was made
        # (SOAP API Developer Guide, "LeadConvertResult", developer.salesforce.com/docs/
        # atlas.en-us.api.meta/api/sforce_api_calls_convertlead_leadconvertresult.htm).
        root = ET.fromstring(_body(request))
        results = []
        for convert in root.iter(f"{{{_PARTNER}}}leadConverts"):
            values = {child.tag.rpartition("}")[2]: child.text or "" for child in convert}
            self.writes.append(CapturedWrite("POST", path, "Lead", (values,)))
            account = values.get("accountId") or self.new_id("Account")
            contact = values.get("contactId") or self.new_id("Contact")
            opportunity = (
                "" if values.get("doNotCreateOpportunity") == "true" else self.new_id("Opportunity")
            )
            results.append(
                f"<result><accountId>{account}</accountId><contactId>{contact}</contactId>"
                f"<leadId>{values.get('leadId', '')}</leadId>"
                + (f"<opportunityId>{opportunity}</opportunityId>" if opportunity else "")
                + "<success>true</success></result>"
            )
        envelope = (
            f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{_SOAP_ENV}"'
            f' xmlns="{_PARTNER}"><soapenv:Body><convertLeadResponse>'
            + "".join(results)
            + "</convertLeadResponse></soapenv:Body></soapenv:Envelope>"
        )
        return _response(request, 200, envelope.encode(), "text/xml;charset=UTF-8")


def _reads_only(method: str, path: str, request: requests.PreparedRequest) -> bool:
    """POSTs that only read: a Composite request of GETs (the sync's), a Bulk query job."""
    if method != "POST":
        return False
    if path.rstrip("/").endswith("/jobs/query"):
        return True
    if path.rstrip("/").endswith("/composite"):
        body: Any = json.loads(_body(request) or b"null") or {}
        subrequests: Sequence[Mapping[str, Any]] = body.get("compositeRequest", [])
        return all(str(s.get("method", "GET")).upper() == "GET" for s in subrequests)
    return False
