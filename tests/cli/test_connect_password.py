"""``auth = "password"`` end to end, through the CLI, against a standalone emulated org over
HTTPS seeded with records the tool did not create: connect, run a journey, the session
expires, the run goes on without a pause (the connector logs in again by itself), status,
disconnect; a wrong password or an inactive user is one message naming ``password_env``
(never its value) with exit 2; an org that has login() disabled is one message naming
``auth``; the retirement warning is shown once.

Sources: login() — 64.0 and earlier, disabled by default in new orgs until "Enable SOAP API
login()" (Setup > User Interface), the security token appended to the password —
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_login.htm;
its retirement in Summer '27,
https://developer.salesforce.com/docs/platform/api/guide/api-eol-soap.html; sessions that
expire and INVALID_SESSION_ID, after which "you must invoke the login() call again",
https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_error_handling_session_exp.htm.
Timeouts here are upper bounds that keep a broken build from hanging, never measurements.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import actions_support as sup
from tests.cli.test_connect import LATER, NOW, Session, worker_through_an_expiry
from tests.existing_org import PEOPLE, existing_seed

PASSWORD, TOKEN = "c0rrect-H0rse&<battery>", "TkN7q2Lx9Vw"
WRONG = "n0t-the-Passw0rd"
IVY = "ivy@acme.example"
SETTINGS = (
    'auth = "password"\nusername_env = "SF_USERNAME"\npassword_env = "SF_PASSWORD"\n'
    'security_token_env = "SF_TOKEN"\n'
)


def login_seed(enabled: bool = True) -> dict[str, Any]:
    records = existing_seed()
    for user in records["User"]:
        if user["Email"] == PEOPLE["ann"]:
            user.update(password=PASSWORD, security_token=TOKEN)
    records["User"].append(
        {
            "Name": "Ivy Inactive",
            "Email": IVY,
            "IsActive": False,
            "password": PASSWORD,
            "security_token": TOKEN,
        }
    )
    if enabled:
        records["EnableSoapApiLogin"] = True
    return records


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sup.Standalone]:
    with sup.standalone_emulator(tmp_path_factory.mktemp("org"), login_seed()) as org:
        yield org


class PasswordSession(Session):
    """A project whose ``[salesforce]`` logs in with a username, password and token."""

    def __init__(self, root: Path, remote: sup.Standalone) -> None:
        super().__init__(root, remote, "client_credentials")
        (root / "journey.toml").write_text(
            f'[salesforce]\nlogin_url = "{remote.instance_url}"\nca_file = "{remote.ca_file}"\n'
            + SETTINGS
        )


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.setenv("SF_USERNAME", PEOPLE["ann"])
    monkeypatch.setenv("SF_PASSWORD", PASSWORD)
    monkeypatch.setenv("SF_TOKEN", TOKEN)


def test_connect_run_expire_go_on_disconnect(
    remote: sup.Standalone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: None
) -> None:
    user = PasswordSession(tmp_path / "project", remote)
    monkeypatch.chdir(user.root)
    connected = user.json("salesforce", "connect")
    assert connected["connected"] is True
    assert connected["org"]["user"] == PEOPLE["ann"]
    status = user.journey("salesforce", "status")
    assert "auth password" in status
    assert f"API enabled; acting as {PEOPLE['ann']}" in status
    people = [f"pw-{n}@join.example" for n in range(3)]
    user.import_contacts(people)
    first = user.json("run", "--until-idle", "--now", NOW)
    assert (first["failed"], first["paused"]) == (0, None)
    remote.admin({"expire_session": True})  # the session times out while the runs wait
    later = user.json("run", "--until-idle", "--now", LATER)
    assert (later["failed"], later["paused"]) == (0, None)
    assert user.json("salesforce", "status")["paused"] is None
    assert dict.fromkeys(people, 1).items() <= user.leads().items()
    gone = user.json("salesforce", "disconnect")
    assert gone["disconnected"] is False
    assert 'auth = "password" stores no credentials' in gone["message"]
    assert not (user.root / ".journey" / "credentials").exists()
    user.secrets_nowhere(PASSWORD, TOKEN)


def test_a_worker_logs_in_again_when_its_session_expires_and_never_pauses(
    remote: sup.Standalone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: None
) -> None:
    """One process, one connector: the session ends between two of the worker's passes;
    the next pass logs in again and repeats the call, and nothing pauses. The retirement
    warning is on its stderr once, however many times it logs in."""
    user = PasswordSession(tmp_path / "project", remote)
    monkeypatch.chdir(user.root)
    emails = ["pw-w0@join.example", "pw-w1@join.example"]
    passes, err = worker_through_an_expiry(user, remote, emails)
    assert not [p for p in passes if p.get("paused")], passes
    assert err.decode().count("Summer '27") == 1, err.decode()
    user.secrets_nowhere(PASSWORD, TOKEN)


def test_connect_warns_once_that_salesforce_retires_login(
    remote: sup.Standalone, tmp_path: Path, environment: None
) -> None:
    user = PasswordSession(tmp_path / "project", remote)
    done = subprocess.run(
        [str(sup.JOURNEY_BIN), "salesforce", "connect", "--json"],
        cwd=user.root,
        env={**os.environ},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["connected"] is True
    warning = done.stderr.decode()
    assert warning.count("Summer '27") == 1
    assert 'switch to auth = "jwt", "client_credentials" or "web"' in warning
    user.outputs += [done.stdout, done.stderr]
    user.secrets_nowhere(PASSWORD, TOKEN)


@pytest.mark.parametrize(
    "environ",
    [{"SF_PASSWORD": WRONG}, {"SF_TOKEN": "WrongToken1"}, {"SF_USERNAME": IVY}],
    ids=["wrong password", "wrong token", "inactive user"],
)
def test_refused_credentials_are_one_message_naming_password_env_and_exit_2(
    remote: sup.Standalone,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    environment: None,
    environ: dict[str, str],
) -> None:
    user = PasswordSession(tmp_path / "project", remote)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(user.root)
    for command in (("salesforce", "connect"), ("run", "--until-idle", "--now", NOW)):
        error = user.json(*command, code=2)["error"]
        assert error["code"] == "config"
        assert error["message"].startswith("[salesforce] password_env: "), error
        assert "INVALID_LOGIN" in error["message"]
        text = user.journey(*command, code=2)
        assert text.count("error:") == 1
    user.secrets_nowhere(PASSWORD, TOKEN, WRONG)


def test_an_org_with_login_disabled_names_auth_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: None
) -> None:
    """A new org has SOAP login() off until an admin enables it: the message says so in
    Salesforce's words and points to the OAuth kinds."""
    with sup.standalone_emulator(tmp_path / "org", login_seed(enabled=False)) as off:
        user = PasswordSession(tmp_path / "project", off)
        monkeypatch.chdir(user.root)
        error = user.json("salesforce", "connect", code=2)["error"]
        assert user.json("run", "--until-idle", "--now", NOW, code=2)["error"] == error
    assert error["message"].startswith("[salesforce] auth: Salesforce refuses SOAP login()")
    assert "SOAP API login() is disabled by default in this org" in error["message"]
    assert 'use auth = "jwt", "client_credentials" or "web"' in error["message"]
    user.secrets_nowhere(PASSWORD, TOKEN)
