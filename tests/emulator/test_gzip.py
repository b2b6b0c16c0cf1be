"""Compressed bodies both ways, as Salesforce documents them: requests sent with
``Content-Encoding: gzip`` are decompressed before processing (REST and SOAP), and responses
are gzipped when the request says ``Accept-Encoding: gzip``.

REST: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_compression.htm
("Include a Content-Encoding: gzip or Content-Encoding: deflate header to compress a
request. REST API decompresses any requests before processing." / "If compressed, the
response contains a Content-Encoding header").
SOAP: http://wiki.apexdevnet.com/index.php/SOAP_Compression ("The sforce service fully
supports the HTTP 1.1 content encoding specification for use of compression").
"""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
import zlib
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce

from journey.emulator import EmulatedOrg, encoding

NS = {"p": "urn:partner.soap.sforce.com"}


class GzipRequests(HTTPAdapter):
    """An adapter that gzips every request body, as a client with request compression on."""

    def __init__(self) -> None:
        super().__init__()
        self.compressed = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if request.body:
            raw = request.body.encode() if isinstance(request.body, str) else request.body
            assert isinstance(raw, bytes)
            request.body = gzip.compress(raw)
            request.headers["Content-Encoding"] = "gzip"
            request.headers["Content-Length"] = str(len(request.body))
            self.compressed += 1
        return super().send(request, **kwargs)


@pytest.fixture
def gzipped(existing_org: EmulatedOrg) -> tuple[Salesforce, GzipRequests]:
    sf = existing_org.client()
    adapter = GzipRequests()
    sf.session.mount("https://", adapter)
    return sf, adapter


def test_rest_accepts_gzipped_request_bodies(
    gzipped: tuple[Salesforce, GzipRequests], existing_org: EmulatedOrg
) -> None:
    sf, adapter = gzipped
    created = sf.Lead.create({"LastName": "Zipped", "Company": "Gzip Ltd"})
    sf.Lead.update(created["id"], {"Title": "Compressor"})
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"records": [{"attributes": {"type": "Contact"}, "LastName": "Packed"}]},
    )
    assert adapter.compressed == 3
    assert results[0]["success"] is True
    plain = existing_org.client()  # an uncompressed client sees what was written
    assert plain.Lead.get(created["id"])["Title"] == "Compressor"
    assert plain.query("SELECT Id FROM Contact WHERE LastName = 'Packed'")["totalSize"] == 1


def test_rest_responses_are_gzipped_when_the_request_accepts_gzip(
    existing_org: EmulatedOrg,
) -> None:
    sf = existing_org.client()
    url = f"{sf.base_url}query/"
    params = {"q": "SELECT Id, Email FROM Lead WHERE LastName = 'Owned'"}
    zipped = sf.session.get(
        url, params=params, headers={**sf.headers, "Accept-Encoding": "gzip"}, stream=True
    )
    assert zipped.headers["Content-Encoding"] == "gzip"
    body = json.loads(gzip.decompress(zipped.raw.read(decode_content=False)))
    assert body["records"][0]["Email"] == "owned@prospect.example"

    deflated = sf.session.get(
        url, params=params, headers={**sf.headers, "Accept-Encoding": "deflate"}, stream=True
    )
    assert deflated.headers["Content-Encoding"] == "deflate"
    assert json.loads(zlib.decompress(deflated.raw.read(decode_content=False))) == body

    plain = sf.session.get(
        url, params=params, headers={**sf.headers, "Accept-Encoding": "identity"}, stream=True
    )
    assert "Content-Encoding" not in plain.headers
    assert json.loads(plain.raw.read()) == body
    # What simple-salesforce itself does: requests asks for gzip and decodes transparently.
    assert sf.query(params["q"])["records"][0]["Email"] == "owned@prospect.example"


def test_soap_accepts_a_gzipped_envelope_and_answers_gzipped(existing_org: EmulatedOrg) -> None:
    sf = existing_org.client()
    lead = sf.Lead.create({"LastName": "Soap", "Company": "Suds Inc"})["id"]
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com">'
        f"<soapenv:Header><urn:SessionHeader><urn:sessionId>{sf.session_id}</urn:sessionId>"
        "</urn:SessionHeader></soapenv:Header><soapenv:Body><urn:convertLead>"
        "<urn:leadConverts><urn:convertedStatus>Closed - Converted</urn:convertedStatus>"
        "<urn:doNotCreateOpportunity>true</urn:doNotCreateOpportunity>"
        f"<urn:leadId>{lead}</urn:leadId></urn:leadConverts></urn:convertLead>"
        "</soapenv:Body></soapenv:Envelope>"
    )
    session = requests.Session()
    session.verify = sf.session.verify
    session.trust_env = False
    response = session.post(
        f"https://{sf.sf_instance}/services/Soap/u/{sf.sf_version}",
        data=gzip.compress(envelope.encode()),
        headers={
            "Content-Type": "text/xml; charset=UTF-8",
            "SOAPAction": '""',
            "Content-Encoding": "gzip",
            "Accept-Encoding": "gzip",
        },
        stream=True,
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    root = ET.fromstring(gzip.decompress(response.raw.read(decode_content=False)))
    result = root.find(".//p:convertLeadResponse/p:result", NS)
    assert result is not None
    assert result.findtext("p:success", namespaces=NS) == "true"
    assert sf.Lead.get(lead)["IsConverted"] is True


def test_rest_accepts_deflated_request_bodies(existing_org: EmulatedOrg) -> None:
    sf = existing_org.client()
    payload = json.dumps({"LastName": "Deflated", "Company": "Zlib Co"}).encode()
    response = sf.session.post(
        f"{sf.base_url}sobjects/Lead/",
        data=zlib.compress(payload),
        headers={**sf.headers, "Content-Encoding": "deflate"},
    )
    assert response.status_code == 201
    assert sf.Lead.get(response.json()["id"])["Company"] == "Zlib Co"


def test_undecodable_bodies_are_refused(existing_org: EmulatedOrg, monkeypatch: Any) -> None:
    sf = existing_org.client()
    url = f"{sf.base_url}sobjects/Lead/"
    payload = json.dumps({"LastName": "Broken", "Company": "Bits"}).encode()
    broken = sf.session.post(
        url, data=b"not gzip at all", headers={**sf.headers, "Content-Encoding": "gzip"}
    )
    assert broken.status_code == 400
    unknown = sf.session.post(url, data=payload, headers={**sf.headers, "Content-Encoding": "br"})
    assert unknown.status_code == 415
    # A small gzip that inflates past the bound (a bomb) is refused, not inflated.
    monkeypatch.setattr(encoding, "MAX_DECODED_BYTES", 1024)
    bomb = gzip.compress(b" " * 4096 + payload)
    refused = sf.session.post(url, data=bomb, headers={**sf.headers, "Content-Encoding": "gzip"})
    assert refused.status_code == 413
    assert sf.query("SELECT Id FROM Lead WHERE LastName = 'Broken'")["totalSize"] == 0
