"""The connection kinds of ``[salesforce] auth`` on the emulated org over HTTPS, seeded with
records the tool did not create (``tests.existing_org``): each gets its token the way
Salesforce documents, and an access token that expires mid-batch is replaced and the call
repeated once — REST, Collections, Bulk API 2.0 and SOAP ``convertLead`` alike — with no
pause; only a renewal that fails pauses, saying what failed.

Sources: the JWT bearer flow
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm), the
client credentials flow
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm),
the web server flow with PKCE
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm),
the refresh token flow
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm)
and revocation (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm).
"""

from __future__ import annotations

import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from journey.connectors.authorise import connect_org
from journey.connectors.base import ContactSnapshot, EffectRequest
from journey.connectors.factory import open_connector
from journey.connectors.salesforce import connection, credentials
from journey.connectors.salesforce.connection import authorizer_for
from journey.connectors.salesforce.connector import SalesforceConnector
from journey.connectors.salesforce.errors import ConnectionSettingsError
from journey.connectors.salesforce.oauth import Http, JwtBearer, jwt_audience
from journey.dsl.syntax import AddToList
from journey.emulator import EmulatedOrg
from journey.engine.config import ConfigError, ProjectConfig, SalesforceConfig, load_config
from journey.vocabulary import AUTO_ASSIGN_HEADER
from tests.emulator.oauth_support import INACTIVE, KeyPair, oauth_seed
from tests.existing_org import PEOPLE

KEYS = KeyPair()
LEADS = AddToList("Salesforce Leads")
SECRETS = {
    "SF_CLIENT_ID": "server-client-id",
    "SF_CLIENT_SECRET": "server-secret",
    "SF_USERNAME": PEOPLE["ann"],
    "SF_KEY": KEYS.private_pem,
    "SF_WEB_CLIENT_ID": "auto-client-id",
}


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PORT = free_port()


@pytest.fixture(scope="module")
def org() -> Iterator[EmulatedOrg]:
    seed = oauth_seed(KEYS)
    for app in seed["ConnectedApp"]:
        if app.get("callback_url"):
            app["callback_url"] = f"http://127.0.0.1:{PORT}/callback"
    seed["ConnectedApp"].append(
        {
            "name": "Idle Run-As",
            "client_id": "inactive-run-as",
            "client_secret": "inactive-secret",
            "run_as": INACTIVE,
        }
    )
    with EmulatedOrg(seed=seed) as emulated:
        emulated.start()
        yield emulated


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


KINDS: dict[str, dict[str, Any]] = {
    "jwt": {
        "auth": "jwt",
        "client_id_env": "SF_CLIENT_ID",
        "username_env": "SF_USERNAME",
        "private_key_env": "SF_KEY",
    },
    "client_credentials": {
        "auth": "client_credentials",
        "client_id_env": "SF_CLIENT_ID",
        "client_secret_env": "SF_CLIENT_SECRET",
    },
    "web": {"auth": "web", "client_id_env": "SF_WEB_CLIENT_ID", "callback_port": PORT},
}


def project(org: EmulatedOrg, root: Path, kind: str, **more: Any) -> ProjectConfig:
    endpoint = org.endpoint
    settings = {
        **KINDS[kind],
        "login_url": endpoint.login_url,
        "ca_file": str(endpoint.ca_file),
        "bulk_threshold": 2,
        **more,
    }
    root.mkdir(parents=True, exist_ok=True)
    return ProjectConfig(
        root=root,
        found=True,
        store={"url": f"sqlite:///{root / 'state.db'}"},
        salesforce=settings,
    )


def browser(org: EmulatedOrg) -> Any:
    """What a person's browser does with the authorize URL: follows it (the app approves
    automatically) to the loopback callback, in the background as a browser would."""

    def visit(url: str) -> None:
        def go() -> None:
            session = requests.Session()
            session.verify, session.trust_env = str(org.endpoint.ca_file), False
            session.get(url, timeout=30)

        threading.Thread(target=go, daemon=True).start()

    return visit


def connected(org: EmulatedOrg, config: ProjectConfig) -> None:
    if config.salesforce.kind == "web":
        connect_org(config, browser(org), wait=60)


def read(org: EmulatedOrg, soql: str) -> list[dict[str, Any]]:
    """The org's records, through a session of the org's own (the test's expiries end it)."""
    return list(org.client(org.renew_session()).query_all(soql)["records"])


def snapshot(cid: int, email: str) -> ContactSnapshot:
    return ContactSnapshot(id=cid, email=email, fields={"Email": email, "Last Name": "Kim"})


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_expired_access_token_is_replaced_and_the_batch_goes_on(
    org: EmulatedOrg, tmp_path: Path, kind: str
) -> None:
    config = project(org, tmp_path, kind)
    connected(org, config)
    handle = open_connector(config)
    with handle as connector:
        assert isinstance(connector, SalesforceConnector)
        [first] = connector.perform(
            LEADS, [EffectRequest("a:1", snapshot(1, f"first-{kind}@new.example"), {})]
        )
        assert first.status == "done"
        org.expire_session()  # the session timed out between two batches of one process
        [second] = connector.perform(
            LEADS, [EffectRequest("a:2", snapshot(2, f"second-{kind}@new.example"), {})]
        )
        assert (second.status, second.error_code) == ("done", None)
        assert connector.api.renewals == 1
    emails = {
        r["Email"] for r in read(org, f"SELECT Email FROM Lead WHERE Email LIKE '%-{kind}@%'")
    }
    assert emails == {f"first-{kind}@new.example", f"second-{kind}@new.example"}


def test_bulk_and_soap_calls_are_renewed_too(org: EmulatedOrg, tmp_path: Path) -> None:
    """Bulk API 2.0's job requests and SOAP ``convertLead`` carry the token elsewhere (a
    handler made before the renewal; the SOAP header): both get the new one."""
    config = project(org, tmp_path, "jwt")
    with open_connector(config) as connector:
        assert isinstance(connector, SalesforceConnector)
        api = connector.api
        made = api.create(
            "Lead",
            [{"LastName": f"Bulk {n}", "Company": "Initech"} for n in range(3)],
            {AUTO_ASSIGN_HEADER: "FALSE"},
        )
        org.expire_session()
        updated = api.update(
            "Lead",
            [{"Id": m.id, "Title": "Renewed"} for m in made],
            {AUTO_ASSIGN_HEADER: "FALSE"},  # more than bulk_threshold: one Bulk 2.0 job
        )
        assert all(u.ok for u in updated)
        org.expire_session()
        [converted] = api.convert([{"leadId": made[0].id, "convertedStatus": "Closed - Converted"}])
        assert converted.code is None
        assert converted.contact_id
        assert api.renewals == 2
    titles = read(org, "SELECT Title FROM Lead WHERE Company = 'Initech' AND Title != null")
    assert {r["Title"] for r in titles} == {"Renewed"}


def test_a_renewal_that_fails_pauses_and_says_what_failed(org: EmulatedOrg, tmp_path: Path) -> None:
    config = project(org, tmp_path, "web")
    connected(org, config)
    with open_connector(config) as connector:
        org.admin({"revoke_tokens": True})  # an admin revoked the app's tokens
        [result] = connector.perform(
            LEADS, [EffectRequest("b:1", snapshot(3, "revoked@new.example"), {})]
        )
    assert (result.status, result.error_code) == ("paused", "INVALID_SESSION_ID")
    assert "refused the refresh token stored in .journey/credentials" in str(result.message)
    assert "run `journey salesforce renew`" in str(result.message)


@pytest.mark.parametrize(
    ("kind", "settings", "named"),
    [
        ("client_credentials", {"client_secret_env": "SF_WRONG"}, "client_secret_env"),
        ("client_credentials", {"client_id_env": "SF_WRONG"}, "client_id_env"),
        ("client_credentials", {"client_id_env": "SF_IDLE"}, "client_id_env: the connected"),
        ("jwt", {"private_key_env": "SF_OTHER_KEY"}, "private_key_env: Salesforce refused"),
        ("jwt", {"username_env": "SF_IDLE_USER"}, "username_env"),
    ],
)
def test_each_refusal_names_the_setting_never_its_value(
    org: EmulatedOrg,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    settings: dict[str, str],
    named: str,
) -> None:
    wrong = {
        "SF_WRONG": "not-the-secret",
        "SF_IDLE": "inactive-run-as",
        "SF_OTHER_KEY": KeyPair().private_pem,
        "SF_IDLE_USER": INACTIVE,
    }
    for name, value in wrong.items():
        monkeypatch.setenv(name, value)
    if settings.get("client_id_env") == "SF_IDLE":
        monkeypatch.setenv("SF_CLIENT_SECRET", "inactive-secret")
    config = project(org, tmp_path, kind, **settings)
    with pytest.raises(ConnectionSettingsError) as refused:
        open_connector(config)
    message = str(refused.value)
    assert message.startswith(f"[salesforce] {named}")
    for value in (*wrong.values(), *SECRETS.values()):
        if value not in (PEOPLE["ann"], INACTIVE, "inactive-run-as"):
            assert value not in message


def test_an_expired_assertion_says_to_check_the_clock(org: EmulatedOrg) -> None:
    login = org.endpoint.login_url
    late = JwtBearer(
        login,
        jwt_audience(login, sandbox=False),
        "server-client-id",
        PEOPLE["ann"],
        KEYS.private_pem,
        Http(ca_file=org.endpoint.ca_file),
        clock=lambda: time.time() - 600,  # this machine's clock is ten minutes slow
    )
    with pytest.raises(ConnectionSettingsError, match=r"^\[salesforce\] private_key_file: .*"):
        late.token()
    with pytest.raises(ConnectionSettingsError, match="found the assertion expired"):
        late.token()


def test_the_stored_refresh_token_is_owner_only_and_never_shown(
    org: EmulatedOrg, tmp_path: Path
) -> None:
    config = project(org, tmp_path, "web")
    connected(org, config)
    path = config.state_dir / credentials.CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = credentials.load(config.state_dir)
    assert stored is not None
    assert stored.username == PEOPLE["ann"]
    assert stored.refresh_token not in repr(stored)
    authorizer = authorizer_for(config.salesforce, config.root)
    assert stored.refresh_token not in repr(authorizer)
    token = authorizer.token() if authorizer else None
    assert token is not None
    assert token.access_token not in repr(token)
    assert credentials.forget(config.state_dir) is True
    assert credentials.load(config.state_dir) is None


def test_the_connection_kind_is_inferred_and_each_kind_needs_its_keys(tmp_path: Path) -> None:
    assert SalesforceConfig().kind is None  # the embedded org
    assert SalesforceConfig(session_id_env="S", instance_url="https://x.example").kind == "session"
    assert SalesforceConfig(username_env="U", password_env="P").kind == "password"
    assert SalesforceConfig().effective_login_url == "https://login.salesforce.com"
    assert SalesforceConfig(sandbox=True).effective_login_url == "https://test.salesforce.com"
    mine = SalesforceConfig(login_url="https://acme.my.salesforce.com/")
    assert mine.effective_login_url == "https://acme.my.salesforce.com"
    assert SalesforceConfig().api_version == "68.0"
    cases = {
        '[salesforce]\nauth = "jwt"\nclient_id_env = "C"\nusername_env = "U"\n': (
            'auth = "jwt" needs private_key_file or private_key_env'
        ),
        '[salesforce]\nauth = "client_credentials"\nclient_id_env = "C"\n'
        'client_secret_env = "S"\n': "needs login_url: the org's My Domain URL",
        '[salesforce]\nclient_id_env = "C"\n': "client_id_env is set but not auth",
        '[salesforce]\nlogin_url = "http://login.salesforce.com"\n': "is not an https:// URL",
    }
    for text, message in cases.items():
        (tmp_path / "journey.toml").write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(tmp_path)


def test_the_jwt_audience_is_salesforces_login_server_or_the_login_url() -> None:
    assert jwt_audience("https://login.salesforce.com", False) == "https://login.salesforce.com"
    assert jwt_audience("https://acme.my.salesforce.com", False) == "https://login.salesforce.com"
    assert jwt_audience("https://acme.my.salesforce.com", True) == "https://test.salesforce.com"
    assert (
        jwt_audience("https://acme--uat.sandbox.my.salesforce.com", False)
        == "https://test.salesforce.com"
    )
    assert jwt_audience("https://127.0.0.1:8443", False) == "https://127.0.0.1:8443"


def test_a_password_login_warns_once_that_salesforce_retires_it(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SOAP login() is gone from API 65.0 and retired for all versions in Summer '27
    (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/api_eol_soap.htm)."""
    monkeypatch.setattr(connection, "_warned", set())
    monkeypatch.setenv("SF_PASSWORD", "hunter2")
    settings = SalesforceConfig(username_env="SF_USERNAME", password_env="SF_PASSWORD")
    with caplog.at_level("WARNING"):
        first = authorizer_for(settings, tmp_path)
        authorizer_for(settings, tmp_path)
    retiring = [r.getMessage() for r in caplog.records if "Summer '27" in r.getMessage()]
    assert len(retiring) == 1
    assert "API 65.0" in retiring[0]
    assert "hunter2" not in repr(first)
