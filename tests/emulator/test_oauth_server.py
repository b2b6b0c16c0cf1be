"""Server-to-server OAuth against the emulated org: the JWT bearer flow and the client
credentials flow, their token responses, and their refusals in Salesforce's OAuth JSON.

Sources: the JWT bearer flow,
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm&type=5
(``iss`` the consumer key, ``sub`` the username, ``aud`` the login URL, ``exp`` within 3
minutes; prior approval of the app); the client credentials flow,
https://help.salesforce.com/s/articleView?id=000886201&language=en_US&type=1
(consumer key and secret; a run-as user); the errors,
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm&type=5.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from journey.emulator import EmulatedOrg
from tests.emulated_org import FakeClock
from tests.emulator.oauth_support import INACTIVE, JWT_BEARER, KeyPair, https, oauth_seed, token
from tests.existing_org import PEOPLE

KEYS = KeyPair()
OTHER_KEYS = KeyPair()


@pytest.fixture
def org() -> Iterator[EmulatedOrg]:
    with EmulatedOrg(seed=oauth_seed(KEYS)) as emulated:
        emulated.start()
        yield emulated


def _client(org: EmulatedOrg, answer: dict[str, str]) -> Salesforce:
    return Salesforce(
        instance_url=answer["instance_url"],
        session_id=answer["access_token"],
        version=org.endpoint.version,
        session=https(org),
    )


def _jwt(org: EmulatedOrg, assertion: str) -> tuple[int, dict[str, str]]:
    answer = token(https(org), org, grant_type=JWT_BEARER, assertion=assertion)
    return answer.status_code, answer.json()


def test_jwt_bearer_gives_an_access_token_for_the_user_named_in_sub(org: EmulatedOrg) -> None:
    eva = org.client().query(f"SELECT Id FROM User WHERE Email = '{PEOPLE['eva']}'")
    calls = org.api_calls
    status, answer = _jwt(
        org, KEYS.assertion("server-client-id", PEOPLE["eva"], "https://login.salesforce.com")
    )
    assert status == 200
    assert set(answer) == {
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    }  # no refresh token: the JWT bearer flow issues none
    assert answer["token_type"] == "Bearer"
    assert answer["instance_url"] == org.endpoint.instance_url
    assert answer["access_token"].startswith("00D")
    assert "refresh_token" not in answer["scope"].split()
    assert answer["id"].endswith("/" + eva["records"][0]["Id"])
    # The signature is the documented HMAC-SHA256 of id + issued_at under the secret.
    mac = hmac.new(b"server-secret", (answer["id"] + answer["issued_at"]).encode(), hashlib.sha256)
    assert answer["signature"] == base64.b64encode(mac.digest()).decode()
    assert org.api_calls == calls  # logging in is not an API call
    leads = _client(org, answer).query("SELECT Email FROM Lead WHERE OwnerId != null")
    assert leads["totalSize"] > 0


@pytest.mark.parametrize("audience", ["https://login.salesforce.com", "own URL"])
def test_jwt_audience_is_the_login_url_or_the_orgs_own(org: EmulatedOrg, audience: str) -> None:
    aud = org.endpoint.login_url if audience == "own URL" else audience
    status, _ = _jwt(org, KEYS.assertion("server-client-id", PEOPLE["ann"], aud))
    assert status == 200


@pytest.mark.parametrize(
    ("case", "error", "description"),
    [
        ("signed by another key", "invalid_grant", "invalid assertion"),
        ("not a JWT", "invalid_grant", "invalid assertion"),
        ("unknown consumer key", "invalid_client_id", "client identifier invalid"),
        ("sandbox audience on production", "invalid_grant", "audience is invalid"),
        ("another audience", "invalid_grant", "audience is invalid"),
        ("expired", "invalid_grant", "expired authorization code"),
        ("exp ten minutes ahead", "invalid_grant", "expired authorization code"),
        ("unknown user", "invalid_grant", "user hasn't approved this consumer"),
        ("inactive user", "invalid_grant", "inactive user"),
    ],
)
def test_jwt_bearer_refusals(org: EmulatedOrg, case: str, error: str, description: str) -> None:
    """Each refusal is 400 with OAuth's error JSON. An expired or too-long-lived assertion
    is worded "expired authorization code", as Salesforce words it (reported with the JWT
    flow in https://github.com/simple-salesforce/simple-salesforce/issues/491)."""
    login = "https://login.salesforce.com"
    now = time.time()
    assertions = {
        "signed by another key": OTHER_KEYS.assertion("server-client-id", PEOPLE["ann"], login),
        "not a JWT": "not.a.jwt",
        "unknown consumer key": KEYS.assertion("nobody", PEOPLE["ann"], login),
        "sandbox audience on production": KEYS.assertion(
            "server-client-id", PEOPLE["ann"], "https://test.salesforce.com"
        ),
        "another audience": KEYS.assertion("server-client-id", PEOPLE["ann"], "https://x.example"),
        "expired": KEYS.assertion("server-client-id", PEOPLE["ann"], login, exp=now - 5),
        "exp ten minutes ahead": KEYS.assertion(
            "server-client-id", PEOPLE["ann"], login, exp=now + 600
        ),
        "unknown user": KEYS.assertion("server-client-id", "nobody@acme.example", login),
        "inactive user": KEYS.assertion("server-client-id", INACTIVE, login),
    }
    status, answer = _jwt(org, assertions[case])
    assert (status, answer) == (400, {"error": error, "error_description": description})


def test_jwt_needs_the_users_prior_approval() -> None:
    """With "Admin approved users are pre-authorized", only the listed users may assert."""
    seed = oauth_seed(KEYS)
    seed["ConnectedApp"][0]["approved_users"] = [PEOPLE["bob"]]
    with EmulatedOrg(seed=seed) as org:
        org.start()
        login = "https://login.salesforce.com"
        assert _jwt(org, KEYS.assertion("server-client-id", PEOPLE["bob"], login))[0] == 200
        assert _jwt(org, KEYS.assertion("server-client-id", PEOPLE["ann"], login))[1] == {
            "error": "invalid_grant",
            "error_description": "user hasn't approved this consumer",
        }


def test_a_sandbox_takes_test_salesforce_com_as_audience() -> None:
    with EmulatedOrg(seed=oauth_seed(KEYS, Organization={"IsSandbox": True})) as org:
        org.start()
        sandbox = KEYS.assertion("server-client-id", PEOPLE["ann"], "https://test.salesforce.com")
        assert _jwt(org, sandbox)[0] == 200
        production = KEYS.assertion(
            "server-client-id", PEOPLE["ann"], "https://login.salesforce.com"
        )
        assert _jwt(org, production)[1]["error_description"] == "audience is invalid"


def test_client_credentials_act_as_the_run_as_user(org: EmulatedOrg) -> None:
    session = https(org)
    answer = token(
        session,
        org,
        grant_type="client_credentials",
        client_id="server-client-id",
        client_secret="server-secret",
    )
    assert answer.status_code == 200
    body = answer.json()
    assert "refresh_token" not in body
    bob = org.client().query(f"SELECT Id FROM User WHERE Email = '{PEOPLE['bob']}'")
    assert body["id"].endswith("/" + bob["records"][0]["Id"])
    assert _client(org, body).query("SELECT COUNT() FROM Lead")["totalSize"] > 0
    # The credentials may also come in an HTTP Basic header.
    basic = base64.b64encode(b"server-client-id:server-secret").decode()
    answer = session.post(
        org.endpoint.token_url,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=30,
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("client_id", "secret", "error", "description"),
    [
        ("server-client-id", "wrong", "invalid_client", "invalid client credentials"),
        ("server-client-id", "", "invalid_client", "invalid client credentials"),
        ("nobody", "server-secret", "invalid_client_id", "client identifier invalid"),
        ("web-client-id", "web-secret", "invalid_grant", "no client credentials user enabled"),
    ],
)
def test_client_credentials_refusals(
    org: EmulatedOrg, client_id: str, secret: str, error: str, description: str
) -> None:
    """An app without a run-as user has the flow off: "no client credentials user
    enabled" (the wording Salesforce answers, quoted in
    https://striim.com/docs/platform/en/salesforce-troubleshooting.html)."""
    answer = token(
        https(org), org, grant_type="client_credentials", client_id=client_id, client_secret=secret
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": error, "error_description": description}


def test_an_inactive_run_as_user_gets_no_token() -> None:
    seed = oauth_seed(KEYS)
    seed["ConnectedApp"][0]["run_as"] = INACTIVE
    with EmulatedOrg(seed=seed) as org:
        org.start()
        answer = token(
            https(org),
            org,
            grant_type="client_credentials",
            client_id="server-client-id",
            client_secret="server-secret",
        )
        assert answer.json() == {"error": "invalid_grant", "error_description": "inactive user"}


def test_unknown_grant_types_and_gets_are_refused(org: EmulatedOrg) -> None:
    session = https(org)
    answer = token(session, org, grant_type="password", username="x", password="y")
    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")
    answer = session.get(org.endpoint.token_url, timeout=30)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


def test_access_tokens_expire_after_the_session_timeout() -> None:
    """An access token ends after the seed's session timeout without use, on the org's
    clock: sessions "expire after the amount of time specified in the Security Controls
    setup area … INVALID_SESSION_ID is returned"
    (https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_error_handling_session_exp.htm),
    counted as inactivity (``sessionTimeout``,
    https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_profilesessionsetting.htm).
    The emulator's own session ID is not an OAuth session and stays."""
    clock = FakeClock()
    clock.now = datetime.now(UTC)  # the real time: the assertion's exp is real time too
    seed = oauth_seed(KEYS, session_timeout_minutes=30)
    with EmulatedOrg(seed=seed, clock=clock) as org:
        org.start()
        _, answer = _jwt(
            org, KEYS.assertion("server-client-id", PEOPLE["ann"], "https://login.salesforce.com")
        )
        sf = _client(org, answer)
        clock.advance(minutes=20)
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] > 0
        clock.advance(minutes=20)  # used 20 minutes ago: past half the timeout, so extended
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] > 0
        clock.advance(minutes=31)
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT COUNT() FROM Lead")
        assert org.client().query("SELECT COUNT() FROM Lead")["totalSize"] > 0


def test_expire_session_ends_oauth_access_tokens_too(org: EmulatedOrg) -> None:
    _, answer = _jwt(
        org, KEYS.assertion("server-client-id", PEOPLE["ann"], "https://login.salesforce.com")
    )
    sf = _client(org, answer)
    org.expire_session()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT COUNT() FROM Lead")


def test_a_deactivated_user_loses_its_tokens(org: EmulatedOrg) -> None:
    """Freezing or deactivating a user ends its sessions; the next assertion is refused."""
    login = "https://login.salesforce.com"
    _, answer = _jwt(org, KEYS.assertion("server-client-id", PEOPLE["eva"], login))
    sf = _client(org, answer)
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] > 0
    org.deactivate_user(PEOPLE["eva"])
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT COUNT() FROM Lead")
    assert _jwt(org, KEYS.assertion("server-client-id", PEOPLE["eva"], login))[1] == {
        "error": "invalid_grant",
        "error_description": "inactive user",
    }


def test_revoke_tokens_ends_refresh_tokens_too(org: EmulatedOrg) -> None:
    login = "https://login.salesforce.com"
    _, answer = _jwt(org, KEYS.assertion("server-client-id", PEOPLE["eva"], login))
    org.revoke_tokens()
    with pytest.raises(SalesforceExpiredSession):
        _client(org, answer).query("SELECT COUNT() FROM Lead")


_CONVERT = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header><urn:SessionHeader>'
    "<urn:sessionId>{session}</urn:sessionId></urn:SessionHeader></soapenv:Header>"
    "<soapenv:Body><urn:convertLead/></soapenv:Body></soapenv:Envelope>"
)


def test_soap_takes_an_access_token_until_it_expires(org: EmulatedOrg) -> None:
    """An OAuth access token is a session ID for SOAP too; once the session ends, SOAP
    answers its own fault, ``sf:INVALID_SESSION_ID``."""
    _, answer = _jwt(
        org, KEYS.assertion("server-client-id", PEOPLE["ann"], "https://login.salesforce.com")
    )
    session = https(org)
    url = f"{org.endpoint.instance_url}/services/Soap/u/{org.endpoint.version}"
    body = _CONVERT.format(session=answer["access_token"]).encode()
    headers = {"Content-Type": "text/xml", "SOAPAction": "convertLead"}
    assert session.post(url, data=body, headers=headers, timeout=30).status_code == 200
    org.expire_session()
    refused = session.post(url, data=body, headers=headers, timeout=30)
    assert refused.status_code == 500
    assert b"<faultcode>sf:INVALID_SESSION_ID</faultcode>" in refused.content
