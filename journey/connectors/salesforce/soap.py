"""SOAP ``convertLead``, which simple-salesforce does not wrap: the envelope, POSTed with
the client's own session (so its timeouts and API counting apply) and session ID, and the
answer read back into one ``Converted`` per Lead.

Pipeline position: conversion → batching (``OrgApi.convert``: chunks of 100, the retry
loop, the lookup after a lost answer) → **soap** → the org's partner endpoint
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_convertlead.htm).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from simple_salesforce.api import Salesforce

from journey.connectors.salesforce.errors import (
    RETRYABLE_CODES,
    CallRefusedError,
    PausedError,
    TransientError,
)

__all__ = ["Converted", "convert_leads"]

_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_PARTNER = "urn:partner.soap.sforce.com"
_NS = {"env": _SOAP_ENV, "p": _PARTNER}


@dataclass(frozen=True)
class Converted:
    lead_id: str
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    code: str | None = None
    message: str | None = None
    transient: bool = False


def convert_leads(sf: Salesforce, converts: Sequence[Mapping[str, Any]]) -> list[Converted]:
    """One ``convertLead`` call for ``converts`` (at most 100), tried once; a problem is
    raised as the ``errors`` class it belongs to."""
    order = (
        "accountId",
        "contactId",
        "convertedStatus",
        "doNotCreateOpportunity",
        "leadId",
        "opportunityName",
        "overwriteLeadSource",
        "ownerId",
        "sendNotificationEmail",
    )
    body = "".join(
        "<leadConverts>"
        + "".join(
            f"<{name}>{escape(str(c[name]))}</{name}>"
            for name in order
            if c.get(name) not in (None, "")
        )
        + "</leadConverts>"
        for c in converts
    )
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP_ENV}" xmlns:urn="{_PARTNER}">'
        "<soapenv:Header><urn:SessionHeader>"
        f"<urn:sessionId>{escape(sf.session_id)}</urn:sessionId>"
        "</urn:SessionHeader></soapenv:Header>"
        f'<soapenv:Body><convertLead xmlns="{_PARTNER}">{body}</convertLead>'
        "</soapenv:Body></soapenv:Envelope>"
    )
    url = f"https://{sf.sf_instance}/services/Soap/u/{sf.sf_version}"
    response = sf.session.post(
        url,
        data=envelope.encode("utf-8"),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
    )
    if response.status_code >= 500 and b"Fault" not in response.content:
        raise TransientError(
            str(response.status_code), "convertLead: service unavailable", maybe_applied=True
        )
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError:
        problem = f"convertLead answered HTTP {response.status_code} without a SOAP envelope"
        if response.status_code >= 500:
            raise TransientError(str(response.status_code), problem, maybe_applied=True) from None
        raise CallRefusedError(str(response.status_code), problem) from None
    fault = root.find("env:Body/env:Fault", _NS)
    if fault is not None:
        code = (fault.findtext("faultcode") or "").split(":")[-1]
        message = fault.findtext("faultstring") or code
        if code == "INVALID_SESSION_ID":
            raise PausedError(
                code,
                "the Salesforce session is no longer valid; run `journey salesforce renew`",
            )
        if code == "REQUEST_LIMIT_EXCEEDED":
            raise PausedError(code, "the org's daily API allocation is spent")
        if code in RETRYABLE_CODES:
            raise TransientError(code, message)
        raise CallRefusedError(code, message)
    results = root.findall("env:Body/p:convertLeadResponse/p:result", _NS)
    out = []
    for convert, result in zip(converts, results, strict=False):
        if result.findtext("p:success", "", _NS) == "true":
            out.append(
                Converted(
                    str(convert["leadId"]),
                    result.findtext("p:accountId", None, _NS),
                    result.findtext("p:contactId", None, _NS),
                    result.findtext("p:opportunityId", None, _NS) or None,
                )
            )
        else:
            code = result.findtext("p:errors/p:statusCode", "UNKNOWN_EXCEPTION", _NS)
            out.append(
                Converted(
                    str(convert["leadId"]),
                    code=code,
                    message=result.findtext("p:errors/p:message", "", _NS),
                    transient=code in RETRYABLE_CODES,
                )
            )
    return out
