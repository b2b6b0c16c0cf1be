"""The org's edition: the ``Organization`` record, and an edition without API access.

Sources: the Organization object,
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm
(``OrganizationType``, ``IsSandbox``, ``InstanceName``); supported editions,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_compatible_editions.htm
("API access is enabled by default in Enterprise, Performance, Unlimited, and Developer
Edition orgs. Professional Edition orgs can add API access as an add-on … Salesforce
returns a API_DISABLED_FOR_ORG error").
"""

from __future__ import annotations

import pytest
import requests
from simple_salesforce.exceptions import SalesforceError

from journey.emulator import EmulatedOrg, SeedError
from tests.emulator.oauth_support import KeyPair, https, oauth_seed, token
from tests.existing_org import existing_seed

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header><urn:SessionHeader>'
    "<urn:sessionId>{session}</urn:sessionId></urn:SessionHeader></soapenv:Header>"
    "<soapenv:Body><urn:convertLead/></soapenv:Body></soapenv:Envelope>"
)


def test_the_organization_is_queryable(existing_org: EmulatedOrg) -> None:
    sf = existing_org.client()
    rows = sf.query("SELECT Id, OrganizationType, IsSandbox, InstanceName FROM Organization")
    assert rows["totalSize"] == 1
    record = rows["records"][0]
    assert (record["OrganizationType"], record["IsSandbox"]) == ("Developer Edition", False)
    assert record["Id"].startswith("00D")
    assert record["InstanceName"]
    with pytest.raises(SalesforceError):
        sf.Organization.create({"Name": "Another"})


def test_the_seed_sets_the_edition_and_sandbox() -> None:
    seed = existing_seed()
    seed["Organization"] = {
        "OrganizationType": "Enterprise Edition",
        "IsSandbox": True,
        "InstanceName": "CS42",
    }
    with EmulatedOrg(seed=seed) as org:
        record = org.client().query(
            "SELECT OrganizationType, IsSandbox, InstanceName FROM Organization"
        )["records"][0]
        assert (record["OrganizationType"], record["IsSandbox"], record["InstanceName"]) == (
            "Enterprise Edition",
            True,
            "CS42",
        )


def test_an_edition_without_api_access_refuses_rest_and_soap() -> None:
    keys = KeyPair()
    seed = oauth_seed(keys, Organization={"OrganizationType": "Professional Edition"})
    with EmulatedOrg(seed=seed) as org:
        endpoint = org.start()
        session = https(org)
        calls = org.api_calls
        answer = session.get(
            f"{endpoint.instance_url}/services/data/v{endpoint.version}/query",
            params={"q": "SELECT Id FROM Organization"},
            headers={"Authorization": f"Bearer {endpoint.session_id}"},
            timeout=30,
        )
        assert answer.status_code == 403
        assert answer.json()[0]["errorCode"] == "API_DISABLED_FOR_ORG"
        soap = session.post(
            f"{endpoint.instance_url}/services/Soap/u/{endpoint.version}",
            data=_ENVELOPE.format(session=endpoint.session_id).encode(),
            headers={"Content-Type": "text/xml", "SOAPAction": "convertLead"},
            timeout=30,
        )
        assert soap.status_code == 500
        assert b"<faultcode>sf:API_DISABLED_FOR_ORG</faultcode>" in soap.content
        assert org.api_calls == calls
        # Logging in still works (the API refuses the token, not the login), and so do
        # the version list and userinfo, which are not API calls.
        granted = token(
            session,
            org,
            grant_type="client_credentials",
            client_id="server-client-id",
            client_secret="server-secret",
        )
        assert granted.status_code == 200
        userinfo = session.get(
            f"{endpoint.login_url}/services/oauth2/userinfo",
            headers={"Authorization": f"Bearer {granted.json()['access_token']}"},
            timeout=30,
        )
        assert userinfo.status_code == 200
        assert (
            requests.codes.ok
            == session.get(f"{endpoint.instance_url}/services/data/", timeout=30).status_code
        )


def test_professional_edition_with_the_api_add_on_answers() -> None:
    seed = existing_seed()
    seed["Organization"] = {"OrganizationType": "Professional Edition", "api_enabled": True}
    with EmulatedOrg(seed=seed) as org:
        assert org.client().query("SELECT COUNT() FROM Lead")["totalSize"] > 0


def test_an_unknown_organization_setting_is_a_seed_error() -> None:
    seed = existing_seed()
    seed["Organization"] = {"Edition": "Developer Edition"}
    with pytest.raises(SeedError, match="unknown setting"):
        EmulatedOrg(seed=seed)
