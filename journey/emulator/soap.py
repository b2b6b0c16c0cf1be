"""SOAP ``convertLead`` at ``/services/Soap/u/{version}``: the envelope in, the result out.

Pipeline position: an HTTP entry point beside ``rest``, translating the partner API's XML
to ``conversion``. The body is parsed by expat into ``xml.etree`` elements, refusing any
document type declaration as expat meets it — after expat has decoded the body, so a DTD
in UTF-16 or any other encoding is refused like one in UTF-8 (no entity can be declared,
so none can expand). The session is checked before the call is charged against the daily
allocation: SOAP counts the calls an org serves, ``login()`` excepted (LimitInfoHeader,
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_limitinfo.htm),
and a request without a valid session is served by none. Faults use SOAP's own shape —
HTTP 500 with ``sf:INVALID_SESSION_ID`` and the like — because that is what a SOAP client
parses.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from xml.parsers import expat
from xml.sax.saxutils import escape

from journey.emulator.conversion import LeadConvert, LeadConvertResult, convert_lead
from journey.emulator.errors import ApiError
from journey.emulator.org import Org
from journey.emulator.replication import Purged, purge_records

__all__ = ["SoapFaultError", "handle_soap"]

_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_PARTNER = "urn:partner.soap.sforce.com"
_NS = {"env": _ENV, "p": _PARTNER}


class SoapFaultError(Exception):
    """A SOAP fault: ``code`` like ``sf:INVALID_SESSION_ID``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def envelope(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{_ENV}" '
            'xmlns:sf="urn:fault.partner.soap.sforce.com">'
            "<soapenv:Body><soapenv:Fault>"
            f"<faultcode>{escape(self.code)}</faultcode>"
            f"<faultstring>{escape(self.code.removeprefix('sf:'))}: {escape(self.message)}"
            "</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )


_NO_DTD = "DTDs are not allowed in SOAP requests"


def _refuse_dtd(*_args: object) -> None:
    raise SoapFaultError("soapenv:Client", _NO_DTD)


def _refuse_entity(*_args: object) -> int:
    raise SoapFaultError("soapenv:Client", _NO_DTD)


def parse_envelope(body: bytes) -> ET.Element:
    """The request's XML as elements. Expat reads the encoding (a byte-order mark, the XML
    declaration) and calls the handlers below on decoded text, so no encoding hides a
    DTD; the tree is built from its events without ``xml.etree``'s own parser."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_entity

    def start(name: str, attributes: dict[str, str]) -> None:
        builder.start(_qualified(name), {_qualified(k): v for k, v in attributes.items()})

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: builder.end(_qualified(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(body, True)
        return builder.close()
    except expat.ExpatError as error:
        raise SoapFaultError("soapenv:Client", f"malformed XML: {error}") from None
    except ValueError as error:  # a declared multi-byte encoding expat lacks (UTF-16-BE)
        raise SoapFaultError("soapenv:Client", f"unreadable XML: {error}") from None


def _qualified(name: str) -> str:
    """Expat's ``uri}local`` as ElementTree's ``{uri}local``."""
    return "{" + name if "}" in name else name


def handle_soap(
    org: Org,
    body: bytes,
    session_valid: Callable[[str], bool],
    charge: Callable[[], None],
    limit_header: Callable[[], str],
    login: Callable[[ET.Element], str] | None = None,
) -> str:
    """Answer one SOAP request; raises ``SoapFaultError`` for faults. ``charge`` counts the
    call once the session is known to be valid (it raises when the allocation is spent).
    ``login()`` needs no session and is no API call: ``login`` (``soap_login``) answers it."""
    root = parse_envelope(body)
    credentials = root.find("env:Body/p:login", _NS)
    if credentials is not None and login is not None:
        return login(credentials)
    session = root.findtext("env:Header/p:SessionHeader/p:sessionId", None, _NS)
    if not session or not session_valid(session.strip()):
        raise SoapFaultError(
            "sf:INVALID_SESSION_ID",
            "Invalid Session ID found in SessionHeader: "
            "Illegal Session. Session not found, missing session hash",
        )
    charge()
    purge = root.find("env:Body/p:emptyRecycleBin", _NS)
    if purge is not None:
        ids = [(e.text or "").strip() for e in purge.findall("p:ids", _NS)]
        return _purge_response(purge_records(org, ids), limit_header())
    call = root.find("env:Body/p:convertLead", _NS)
    if call is None:
        operation = next(iter(root.find("env:Body", _NS) or []), None)
        name = operation.tag.split("}")[-1] if operation is not None else "nothing"
        raise SoapFaultError(
            "sf:UNKNOWN_EXCEPTION",
            f"the emulated org answers login, convertLead and emptyRecycleBin only, not {name}",
        )
    results = []
    for element in call.findall("p:leadConverts", _NS):
        request = _parse_convert(element)
        results.append(convert_lead(org, request))
    return _response(results, limit_header())


def _text(element: ET.Element, name: str) -> str | None:
    found = element.find(f"p:{name}", _NS)
    if found is None or found.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true":
        return None
    text = (found.text or "").strip()
    return text or None


def _flag(element: ET.Element, name: str) -> bool:
    return (_text(element, name) or "false").lower() == "true"


def _parse_convert(element: ET.Element) -> LeadConvert:
    lead_id = _text(element, "leadId")
    if lead_id is None:
        raise SoapFaultError("sf:INVALID_FIELD", "leadConverts needs a leadId")
    return LeadConvert(
        lead_id=lead_id,
        converted_status=_text(element, "convertedStatus"),
        account_id=_text(element, "accountId"),
        contact_id=_text(element, "contactId"),
        do_not_create_opportunity=_flag(element, "doNotCreateOpportunity"),
        opportunity_name=_text(element, "opportunityName"),
        overwrite_lead_source=_flag(element, "overwriteLeadSource"),
        owner_id=_text(element, "ownerId"),
    )


def _value(name: str, value: str | None) -> str:
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    return f"<{name}>{escape(value)}</{name}>"


def _result(result: LeadConvertResult) -> str:
    errors = ""
    if result.error is not None:
        error: ApiError = result.error
        fields = "".join(f"<fields>{escape(f)}</fields>" for f in error.fields)
        errors = (
            f"<errors>{fields}<message>{escape(error.message)}</message>"
            f"<statusCode>{escape(error.code)}</statusCode></errors>"
        )
    return (
        "<result>"
        + _value("accountId", result.account_id)
        + _value("contactId", result.contact_id)
        + errors
        + _value("leadId", result.lead_id)
        + _value("opportunityId", result.opportunity_id)
        + f"<success>{'true' if result.success else 'false'}</success></result>"
    )


def _response(results: list[LeadConvertResult], limit_info: str) -> str:
    return _envelope("convertLeadResponse", "".join(_result(r) for r in results), limit_info)


def _purge_response(results: list[Purged], limit_info: str) -> str:
    """EmptyRecycleBinResult per ID: ``id``, ``success`` and, when refused, ``errors``."""
    body = ""
    for result in results:
        errors = ""
        if result.error is not None:
            code, message = result.error
            errors = (
                f"<errors><message>{escape(message)}</message>"
                f"<statusCode>{escape(code)}</statusCode></errors>"
            )
        success = "false" if result.error else "true"
        body += f"<result>{errors}<id>{escape(result.id)}</id><success>{success}</success></result>"
    return _envelope("emptyRecycleBinResponse", body, limit_info)


def _envelope(response: str, body: str, limit_info: str) -> str:
    used, _, limit = limit_info.removeprefix("api-usage=").partition("/")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_ENV}" xmlns="{_PARTNER}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Header><LimitInfoHeader><limitInfo>"
        f"<current>{used}</current><limit>{limit}</limit><type>API REQUESTS</type>"
        "</limitInfo></LimitInfoHeader></soapenv:Header>"
        f"<soapenv:Body><{response}>{body}</{response}></soapenv:Body></soapenv:Envelope>"
    )
