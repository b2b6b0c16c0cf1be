"""API versions: the emulated org lists and answers 31.0 through the current release,
refuses retired versions as Salesforce does, and knows no future ones.

Sources: the Versions resource,
https://developer.salesforce.com/docs/platform/api-rest/guide/dome-versions.md ("You
don't need authentication to retrieve the list of versions"; ``label``, ``url``,
``version``); the end-of-life policy,
https://developer.salesforce.com/docs/platform/api-tooling/guide/tooling-api-eol.html
(41.0 through 68.0 and 31.0 through 40.0 supported; 21.0 through 30.0 retired in Summer
'25; REST "410:GONE", SOAP "500:UNSUPPORTED_API_VERSION").
"""

from __future__ import annotations

import requests
from simple_salesforce.api import Salesforce

from journey.emulator import EmulatedOrg

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header><urn:SessionHeader>'
    "<urn:sessionId>{session}</urn:sessionId></urn:SessionHeader></soapenv:Header>"
    "<soapenv:Body><urn:convertLead/></soapenv:Body></soapenv:Envelope>"
)


def _plain(org: EmulatedOrg) -> requests.Session:
    session = requests.Session()
    session.verify = str(org.endpoint.ca_file)
    session.trust_env = False
    return session


def test_the_version_list_needs_no_session_and_costs_no_call(existing_org: EmulatedOrg) -> None:
    calls = existing_org.api_calls
    for path in ("/services/data/", "/services/data"):
        answer = _plain(existing_org).get(existing_org.endpoint.instance_url + path, timeout=30)
        assert answer.status_code == 200
        listed = answer.json()
        assert listed[0] == {
            "label": "Summer '14",
            "url": "/services/data/v31.0",
            "version": "31.0",
        }
        assert listed[-1] == {
            "label": "Winter '27",
            "url": "/services/data/v68.0",
            "version": "68.0",
        }
        assert {"label": "Winter '26", "url": "/services/data/v65.0", "version": "65.0"} in listed
        assert len(listed) == 68 - 31 + 1
    assert existing_org.api_calls == calls


def test_the_default_version_is_the_current_one(existing_org: EmulatedOrg) -> None:
    assert existing_org.endpoint.version == "68.0"
    sf = existing_org.client()
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] > 0


def test_every_supported_version_answers(existing_org: EmulatedOrg) -> None:
    for version in ("31.0", "40.0", "59.0", "68.0"):
        sf = existing_org.client()
        sf = Salesforce(
            instance_url=existing_org.endpoint.instance_url,
            session_id=existing_org.session_id,
            version=version,
            session=sf.session,
        )
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0


def test_a_retired_version_is_gone(existing_org: EmulatedOrg) -> None:
    calls = existing_org.api_calls
    headers = {"Authorization": f"Bearer {existing_org.session_id}"}
    for version in ("30.0", "20.0"):
        answer = _plain(existing_org).get(
            f"{existing_org.endpoint.instance_url}/services/data/v{version}/query",
            params={"q": "SELECT Id FROM Lead"},
            headers=headers,
            timeout=30,
        )
        assert answer.status_code == 410
        assert answer.json()[0]["errorCode"] == "GONE"
    assert existing_org.api_calls == calls


def test_a_version_not_yet_released_does_not_exist(existing_org: EmulatedOrg) -> None:
    answer = _plain(existing_org).get(
        f"{existing_org.endpoint.instance_url}/services/data/v99.0/limits",
        headers={"Authorization": f"Bearer {existing_org.session_id}"},
        timeout=30,
    )
    assert answer.status_code == 404
    assert answer.json()[0]["errorCode"] == "NOT_FOUND"


def test_soap_refuses_a_retired_version(existing_org: EmulatedOrg) -> None:
    session = _plain(existing_org)
    for version, fault in (("30.0", True), ("68.0", False)):
        answer = session.post(
            f"{existing_org.endpoint.instance_url}/services/Soap/u/{version}",
            data=_ENVELOPE.format(session=existing_org.session_id).encode(),
            headers={"Content-Type": "text/xml", "SOAPAction": "convertLead"},
            timeout=30,
        )
        assert answer.status_code == (500 if fault else 200)
        assert (b"<faultcode>sf:UNSUPPORTED_API_VERSION</faultcode>" in answer.content) is fault


def test_latest_is_the_current_version(existing_org: EmulatedOrg) -> None:
    """ "To always resolve to the most recently released API version, use the latest alias
    (/services/data/latest)" (the Versions resource's page)."""
    answer = _plain(existing_org).get(
        f"{existing_org.endpoint.instance_url}/services/data/latest/query",
        params={"q": "SELECT COUNT() FROM Lead"},
        headers={"Authorization": f"Bearer {existing_org.session_id}"},
        timeout=30,
    )
    assert answer.status_code == 200
    assert answer.json()["totalSize"] > 0
