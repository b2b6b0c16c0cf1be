"""SOAP ``login()`` against the emulated org, through simple-salesforce's ``SalesforceLogin``
over HTTPS (and a raw SOAP post where the answer's XML itself is checked).

Sources: login() and its availability (64.0 and earlier; disabled by default in new orgs
until "Enable SOAP API login()" is selected in Setup > User Interface; the security token
appended to the password),
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_login.htm;
LoginResult,
https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_login_loginresult.htm;
login() not counted as an API call,
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_limitinfo.htm;
the fault at 65.0 and later (``INVALID_OPERATION``, "The SOAP Login operation is not
available in the API version specified"), as clients report it,
https://github.com/forcedotcom/wsc/issues/363; the fault of a disabled org
(``INVALID_OPERATION``, "SOAP API login() is disabled by default in this org"),
https://github.com/OpenFn/adaptors/issues/1715; retired versions (30.0 and lower,
``UNSUPPORTED_API_VERSION``), https://developer.salesforce.com/docs/platform/api/guide/api-eol-soap.html;
the session timeout,
https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_error_handling_session_exp.htm.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession
from simple_salesforce.login import SalesforceLogin

from journey.emulator import EmulatedOrg
from journey.emulator.seed import SeedError
from tests.emulated_org import FakeClock
from tests.emulator.oauth_support import https
from tests.existing_org import PEOPLE, existing_seed

PASSWORD, TOKEN = "Tr0ub4dor&3<x>", "Xy7TokenQ2"
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
IVY = "ivy@acme.example"


def login_seed(**extra: Any) -> dict[str, Any]:
    """The existing org, SOAP login() enabled, Ann with a password and a security token,
    Ivy (inactive) with a password."""
    seed = existing_seed()
    for user in seed["User"]:
        if user["Email"] == PEOPLE["ann"]:
            user.update(password=PASSWORD, security_token=TOKEN)
    seed["User"].append(
        {"Name": "Ivy Inactive", "Email": IVY, "IsActive": False, "password": PASSWORD}
    )
    return {"EnableSoapApiLogin": True, **seed, **extra}


@pytest.fixture
def org() -> Iterator[EmulatedOrg]:
    with EmulatedOrg(seed=login_seed()) as emulated:
        emulated.start()
        yield emulated


def login(
    org: EmulatedOrg,
    username: str = PEOPLE["ann"],
    password: str = PASSWORD,
    token: str = TOKEN,
    version: str = "64.0",
) -> tuple[str, str]:
    return SalesforceLogin(
        username=username,
        password=password,
        security_token=token,
        sf_version=version,
        session=https(org),
        scratch_url=org.endpoint.instance_url,
    )


def raw_login(org: EmulatedOrg, username: str, password: str) -> requests.Response:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">'
        '<env:Body><login xmlns="urn:partner.soap.sforce.com">'
        f"<username>{escape(username)}</username><password>{escape(password)}</password>"
        "</login></env:Body></env:Envelope>"
    )
    return https(org).post(
        f"{org.endpoint.instance_url}/services/Soap/u/64.0",
        data=body.encode(),
        headers={"Content-Type": "text/xml", "SOAPAction": "login"},
        timeout=30,
    )


def refused(org: EmulatedOrg, **kwargs: str) -> SalesforceAuthenticationFailed:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        login(org, **kwargs)
    return caught.value


def test_login_gives_a_session_for_the_user_and_the_org_to_call(org: EmulatedOrg) -> None:
    calls = org.api_calls
    session_id, instance = login(org)
    assert instance == org.endpoint.instance_url.removeprefix("https://")
    assert session_id.startswith("00D")
    assert org.api_calls == calls  # login() is not an API call
    sf = Salesforce(instance_url=f"https://{instance}", session_id=session_id, session=https(org))
    ann = sf.query(f"SELECT Id FROM User WHERE Email = '{PEOPLE['ann']}'")["records"][0]["Id"]
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] > 0
    answer = raw_login(org, PEOPLE["ann"], PASSWORD + TOKEN)
    assert answer.status_code == 200
    text = answer.text
    for part in (
        f"<serverUrl>{org.endpoint.instance_url}/services/Soap/u/64.0/",
        f"<metadataServerUrl>{org.endpoint.instance_url}/services/Soap/m/64.0/",
        "<passwordExpired>false</passwordExpired>",
        "<sandbox>false</sandbox>",
        f"<userId>{ann}</userId>",
        f"<userName>{PEOPLE['ann']}</userName>",
        f"<userEmail>{PEOPLE['ann']}</userEmail>",
        "<sessionSecondsValid>7200</sessionSecondsValid>",
    ):
        assert part in text


@pytest.mark.parametrize(
    "wrong",
    [
        {"password": "not-it"},
        {"token": ""},  # the security token must be appended
        {"token": "WrongToken"},
        {"username": "nobody@acme.example"},
        {"username": PEOPLE["bob"]},  # a user without a password cannot log in
        {"username": IVY, "token": ""},  # inactive: refused with the same words
    ],
)
def test_wrong_credentials_and_an_inactive_user_get_the_one_invalid_login(
    org: EmulatedOrg, wrong: dict[str, str]
) -> None:
    error = refused(org, **wrong)
    assert (error.code, error.auth_message) == ("INVALID_LOGIN", INVALID_LOGIN)


def test_the_fault_is_soaps_login_fault(org: EmulatedOrg) -> None:
    answer = raw_login(org, PEOPLE["ann"], "not-it")
    assert answer.status_code == 500
    assert "<faultcode>sf:INVALID_LOGIN</faultcode>" in answer.text
    assert 'xsi:type="sf:LoginFault"' in answer.text
    assert "not-it" not in answer.text


@pytest.mark.parametrize("version", ["65.0", "68.0"])
def test_login_is_gone_from_api_65_on(org: EmulatedOrg, version: str) -> None:
    error = refused(org, version=version)
    assert error.code == "INVALID_OPERATION"
    assert error.auth_message == (
        f"The SOAP Login operation is not available in the API version specified "
        f"({version}). Refer to the documentation for supported versions."
    )


def test_a_retired_version_is_unsupported(org: EmulatedOrg) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        login(org, version="30.0")
    assert "UNSUPPORTED_API_VERSION" in str(caught.value.code) + caught.value.auth_message


def test_a_new_org_has_login_disabled_until_the_setting_enables_it() -> None:
    seed = login_seed()
    del seed["EnableSoapApiLogin"]
    with EmulatedOrg(seed=seed) as org:
        org.start()
        error = refused(org)
    assert error.code == "INVALID_OPERATION"
    assert error.auth_message == (
        "SOAP API login() is disabled by default in this org. Contact the org administrator "
        "to enable SOAP API login()."
    )


def test_the_session_times_out_and_expire_session_ends_it() -> None:
    clock = FakeClock()
    clock.now = datetime.now(UTC)
    with EmulatedOrg(seed=login_seed(session_timeout_minutes=30), clock=clock) as org:
        org.start()
        session_id, instance = login(org)
        sf = Salesforce(
            instance_url=f"https://{instance}", session_id=session_id, session=https(org)
        )
        clock.advance(minutes=31)
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT COUNT() FROM Lead")
        session_id, _ = login(org)  # logging in again gives a new session
        sf.session_id = session_id
        sf.headers["Authorization"] = f"Bearer {session_id}"
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] > 0
        org.expire_session()
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT COUNT() FROM Lead")


def test_the_password_is_kept_only_as_a_digest(org: EmulatedOrg) -> None:
    assert org.state_dir is not None
    state = b"".join(p.read_bytes() for p in org.state_dir.iterdir() if p.is_file())
    assert PASSWORD.encode() not in state
    assert TOKEN.encode() not in state
    with pytest.raises(Exception, match="INVALID_FIELD"):
        org.client().query("SELECT password FROM User")


def test_a_security_token_without_a_password_is_refused_by_the_seed() -> None:
    seed = existing_seed()
    seed["User"][1]["security_token"] = TOKEN
    with pytest.raises(SeedError, match=r'User\[1\]: "security_token" needs a "password"'):
        EmulatedOrg(seed=seed).__enter__()
    with pytest.raises(SeedError, match="EnableSoapApiLogin: true or false"):
        EmulatedOrg(seed={**existing_seed(), "EnableSoapApiLogin": "yes"}).__enter__()
