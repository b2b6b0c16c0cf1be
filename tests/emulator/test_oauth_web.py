"""The web-server flow against the emulated org: authorize (consent page or automatic
approval), the code exchange with PKCE, refresh tokens, revocation and userinfo.

Sources: the web server flow,
https://help.salesforce.com/HTViewHelpDoc?id=remoteaccess_oauth_web_server_flow.htm
(``code_challenge`` is the base64url SHA-256 of the ``code_verifier``; the code is good
for 15 minutes, once); the refresh token flow,
https://help.salesforce.com/apex/HTViewHelpDoc?id=remoteaccess_oauth_refresh_token_flow.htm&language=en_US;
revocation, https://developer.salesforce.com/docs/atlas.en-us.mobile_sdk.meta/mobile_sdk/oauth_revoking_tokens.htm
(a refresh token takes its access tokens along; errors are 400 ``invalid_token``);
userinfo, https://help.salesforce.com/HTViewHelpDoc?id=remoteaccess_using_userinfo_endpoint.htm;
the errors, https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm&type=5.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from journey.emulator import EmulatedOrg
from tests.emulated_org import FakeClock
from tests.emulator.oauth_support import CALLBACK, KeyPair, https, oauth_seed, token
from tests.existing_org import PEOPLE

KEYS = KeyPair()


@pytest.fixture
def org() -> Iterator[EmulatedOrg]:
    with EmulatedOrg(seed=oauth_seed(KEYS)) as emulated:
        emulated.start()
        yield emulated


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _authorize(
    session: requests.Session, org: EmulatedOrg, client_id: str, **extra: str
) -> requests.Response:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK, **extra}
    return session.get(
        f"{org.endpoint.login_url}/services/oauth2/authorize",
        params=params,
        allow_redirects=False,
        timeout=30,
    )


def _callback(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _code_for(org: EmulatedOrg, session: requests.Session, challenge: str) -> str:
    answer = _authorize(session, org, "auto-client-id", code_challenge=challenge, state="s1")
    return _callback(answer)["code"]


def _exchange(
    org: EmulatedOrg, session: requests.Session, code: str, verifier: str
) -> requests.Response:
    return token(
        session,
        org,
        grant_type="authorization_code",
        code=code,
        client_id="auto-client-id",
        redirect_uri=CALLBACK,
        code_verifier=verifier,
    )


def _client(org: EmulatedOrg, access_token: str) -> Salesforce:
    return Salesforce(
        instance_url=org.endpoint.instance_url,
        session_id=access_token,
        version=org.endpoint.version,
        session=https(org),
    )


def test_auto_approval_code_exchange_with_pkce_and_a_refresh_token(org: EmulatedOrg) -> None:
    session = https(org)
    verifier, challenge = _pkce()
    answer = _authorize(session, org, "auto-client-id", code_challenge=challenge, state="xyz")
    back = _callback(answer)
    assert back["state"] == "xyz"
    exchanged = _exchange(org, session, back["code"], verifier)
    assert exchanged.status_code == 200
    body = exchanged.json()
    assert {
        "access_token",
        "refresh_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    } <= set(body)
    assert "signature" not in body  # a public client has no secret to sign with
    assert "refresh_token" in body["scope"].split()
    assert _client(org, body["access_token"]).query("SELECT COUNT() FROM Lead")["totalSize"] > 0
    # The code is good once.
    again = _exchange(org, session, back["code"], verifier)
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "invalid authorization code",
    }


def test_the_code_verifier_must_match_the_challenge(org: EmulatedOrg) -> None:
    """ "If the code_challenge value is invalid or doesn't match, the login fails with an
    invalid_request error code. If … the code_verifier value isn't provided in the token
    request, the login fails with an invalid_grant error code" (the ``code_challenge``
    parameter of
    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_understanding_web_server_oauth_flow.htm).
    """
    session = https(org)
    _, challenge = _pkce()
    code = _code_for(org, session, challenge)
    answer = _exchange(org, session, code, "a-verifier-of-another-flow-0123456789abcdef0123")
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    code = _code_for(org, session, challenge)
    answer = token(
        session,
        org,
        grant_type="authorization_code",
        code=code,
        client_id="auto-client-id",
        redirect_uri=CALLBACK,
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


def test_the_code_exchange_names_the_same_redirect_uri(org: EmulatedOrg) -> None:
    session = https(org)
    verifier, challenge = _pkce()
    code = _code_for(org, session, challenge)
    answer = token(
        session,
        org,
        grant_type="authorization_code",
        code=code,
        client_id="auto-client-id",
        redirect_uri="http://127.0.0.1:9999/elsewhere",
        code_verifier=verifier,
    )
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "redirect_uri must match configuration",
    }


def test_a_code_expires_after_15_minutes() -> None:
    clock = FakeClock()
    clock.now = datetime.now(UTC)
    with EmulatedOrg(seed=oauth_seed(KEYS), clock=clock) as org:
        org.start()
        session = https(org)
        verifier, challenge = _pkce()
        code = _code_for(org, session, challenge)
        clock.advance(minutes=16)
        assert _exchange(org, session, code, verifier).json() == {
            "error": "invalid_grant",
            "error_description": "expired authorization code",
        }


def test_the_consent_page_allows_or_denies(org: EmulatedOrg) -> None:
    session = https(org)
    page = _authorize(session, org, "web-client-id", state="st")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Journey Web" in page.text
    assert PEOPLE["ann"] in page.text  # the connected user is the one logged in
    consent = re.search(r'name="consent" value="([^"]+)"', page.text)
    assert consent is not None
    allowed = session.post(
        f"{org.endpoint.login_url}/services/oauth2/authorize",
        data={"consent": consent.group(1), "decision": "allow"},
        allow_redirects=False,
        timeout=30,
    )
    back = _callback(allowed)
    assert back["state"] == "st"
    # A confidential client exchanges the code with its secret.
    answer = token(
        session,
        org,
        grant_type="authorization_code",
        code=back["code"],
        client_id="web-client-id",
        client_secret="web-secret",
        redirect_uri=CALLBACK,
    )
    assert answer.status_code == 200
    # The consent form is good once; Deny goes back with access_denied.
    again = session.post(
        f"{org.endpoint.login_url}/services/oauth2/authorize",
        data={"consent": consent.group(1), "decision": "allow"},
        allow_redirects=False,
        timeout=30,
    )
    assert again.status_code == 400
    page = _authorize(session, org, "web-client-id", state="st2")
    consent = re.search(r'name="consent" value="([^"]+)"', page.text)
    assert consent is not None
    denied = session.post(
        f"{org.endpoint.login_url}/services/oauth2/authorize",
        data={"consent": consent.group(1), "decision": "deny"},
        allow_redirects=False,
        timeout=30,
    )
    assert _callback(denied) == {
        "error": "access_denied",
        "error_description": "end-user denied authorization",
        "state": "st2",
    }


def test_a_confidential_client_needs_its_secret(org: EmulatedOrg) -> None:
    session = https(org)
    page = _authorize(session, org, "web-client-id")
    consent = re.search(r'name="consent" value="([^"]+)"', page.text)
    assert consent is not None
    code = _callback(
        session.post(
            f"{org.endpoint.login_url}/services/oauth2/authorize",
            data={"consent": consent.group(1), "decision": "allow"},
            allow_redirects=False,
            timeout=30,
        )
    )["code"]
    answer = token(
        session,
        org,
        grant_type="authorization_code",
        code=code,
        client_id="web-client-id",
        redirect_uri=CALLBACK,
    )
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }


def test_authorize_refuses_unknown_apps_and_unregistered_callbacks(org: EmulatedOrg) -> None:
    """Shown as an error page, never redirected: the callback is not trusted."""
    session = https(org)
    unknown = _authorize(session, org, "nobody")
    assert (unknown.status_code, "invalid_client_id" in unknown.text) == (400, True)
    elsewhere = session.get(
        f"{org.endpoint.login_url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": "auto-client-id",
            "redirect_uri": "https://attacker.example/cb",
        },
        allow_redirects=False,
        timeout=30,
    )
    assert elsewhere.status_code == 400
    assert "redirect_uri_mismatch" in elsewhere.text
    assert "Location" not in elsewhere.headers
    wrong_type = _authorize(session, org, "auto-client-id", response_type="token", state="q")
    assert _callback(wrong_type)["error"] == "unsupported_response_type"


def _connected(org: EmulatedOrg) -> dict[str, str]:
    session = https(org)
    verifier, challenge = _pkce()
    code = _code_for(org, session, challenge)
    body: dict[str, str] = _exchange(org, session, code, verifier).json()
    return body


def test_a_refresh_token_outlives_the_session(org: EmulatedOrg) -> None:
    first = _connected(org)
    sf = _client(org, first["access_token"])
    org.expire_session()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT COUNT() FROM Lead")
    answer = token(
        https(org),
        org,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        client_id="auto-client-id",
    )
    assert answer.status_code == 200
    renewed = answer.json()
    assert "refresh_token" not in renewed  # the refresh token stays the same
    assert renewed["access_token"] != first["access_token"]
    assert _client(org, renewed["access_token"]).query("SELECT COUNT() FROM Lead")["totalSize"]


def test_revoking_a_refresh_token_ends_its_access_tokens(org: EmulatedOrg) -> None:
    first = _connected(org)
    session = https(org)
    revoke = f"{org.endpoint.login_url}/services/oauth2/revoke"
    answer = session.post(revoke, data={"token": first["refresh_token"]}, timeout=30)
    assert answer.status_code == 200
    with pytest.raises(SalesforceExpiredSession):
        _client(org, first["access_token"]).query("SELECT COUNT() FROM Lead")
    refreshed = token(
        session,
        org,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        client_id="auto-client-id",
    )
    assert (refreshed.status_code, refreshed.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "expired access/refresh token"},
    )
    again = session.post(revoke, data={"token": first["refresh_token"]}, timeout=30)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_token")


def test_revoking_an_access_token_leaves_the_refresh_token(org: EmulatedOrg) -> None:
    first = _connected(org)
    session = https(org)
    revoke = f"{org.endpoint.login_url}/services/oauth2/revoke"
    assert session.post(revoke, data={"token": first["access_token"]}, timeout=30).ok
    with pytest.raises(SalesforceExpiredSession):
        _client(org, first["access_token"]).query("SELECT COUNT() FROM Lead")
    refreshed = token(
        session,
        org,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        client_id="auto-client-id",
    )
    assert refreshed.status_code == 200


def test_userinfo_describes_the_tokens_user(org: EmulatedOrg) -> None:
    first = _connected(org)
    session = https(org)
    url = f"{org.endpoint.login_url}/services/oauth2/userinfo"
    calls = org.api_calls
    answer = session.get(url, headers={"Authorization": f"Bearer {first['access_token']}"})
    assert answer.status_code == 200
    info = answer.json()
    assert info["email"] == PEOPLE["ann"]
    assert info["preferred_username"] == PEOPLE["ann"]
    assert (info["given_name"], info["family_name"], info["name"]) == ("Ann", "Admin", "Ann Admin")
    assert info["sub"] == first["id"]
    assert info["active"] is True
    assert info["user_id"].startswith("005")
    assert info["organization_id"].startswith("00D")
    assert org.api_calls == calls
    identity = session.get(
        first["id"], headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert identity.json()["username"] == PEOPLE["ann"]
    refused = session.get(url, headers={"Authorization": "Bearer 00D!nothing"})
    assert (refused.status_code, refused.text) == (403, "Bad_OAuth_Token")


def test_tokens_are_never_kept_in_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "org"
    with EmulatedOrg(state, oauth_seed(KEYS)) as org:
        org.start()
        first = _connected(org)
    raw = (state / "org.db").read_bytes()
    for path in state.iterdir():
        raw += path.read_bytes() if path.is_file() else b""
    for secret in (first["access_token"], first["refresh_token"]):
        assert secret.encode() not in raw
    with EmulatedOrg(state) as reopened:  # digests are enough to recognise them again
        reopened.start()
        assert _client(reopened, first["access_token"]).query("SELECT COUNT() FROM Lead")


def test_tokens_never_reach_the_log(org: EmulatedOrg, caplog: pytest.LogCaptureFixture) -> None:
    """The request log drops queries: ``revoke?token=`` and the like carry secrets."""
    caplog.set_level(logging.DEBUG, logger="journey.emulator")
    first = _connected(org)
    session = https(org)
    revoke = f"{org.endpoint.login_url}/services/oauth2/revoke"
    assert session.get(revoke, params={"token": first["access_token"]}, timeout=30).ok
    assert session.get(revoke, params={"token": first["refresh_token"]}, timeout=30).ok
    assert "/services/oauth2/revoke?…" in caplog.text
    for secret in (first["access_token"], first["refresh_token"]):
        assert secret not in caplog.text
