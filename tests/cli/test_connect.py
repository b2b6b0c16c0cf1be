"""Connecting a project to a real org, through the CLI, against a standalone emulated org
over HTTPS (``journey salesforce emulator`` in a subprocess) seeded with records the tool
did not create: for each OAuth connection kind — connect, run a journey, the session
expires, the run goes on without a pause, disconnect; the refusals a user meets, each one
clear message naming the setting (never its value) with exit 2; an org whose edition has
no API access; and no secret in any output, the store or the project's files.

Sources: the JWT bearer flow
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm), the
client credentials flow
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm),
the web server flow with PKCE
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm),
revocation (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm),
the editions with API access
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_compatible_editions.htm).
Timeouts here are upper bounds that keep a broken build from hanging, never measurements.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from journey.cli.main import app
from tests.cli import actions_support as sup
from tests.emulator.oauth_support import INACTIVE, KeyPair
from tests.existing_org import PEOPLE, existing_seed

KEYS = KeyPair()
NURTURE = """journey "Nurture"

trigger added to list "L"

add to list "Salesforce Leads"
wait 1 day
add task "Call {{First Name}}" due in 2 days priority "High"
"""
NOW, LATER = "2026-03-02T09:00:00+00:00", "2026-03-04T09:00:00+00:00"
CLIENT_SECRET = "server-secret-9f2c7a"
WEB_SECRET = "web-secret-41d0be"
WRONG_SECRET = "not-the-secret-5e11"
#: An access token of the emulated org: its org ID, "!", the rest.
ACCESS_TOKEN = re.compile(rb"00D[A-Za-z0-9]{12}![A-Za-z0-9._-]{20,}")
BOUND = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PORT = free_port()


def seed(**org: Any) -> dict[str, Any]:
    records = existing_seed()
    records["User"].append({"Name": "Ivy Inactive", "Email": INACTIVE, "IsActive": False})
    records["ConnectedApp"] = [
        {
            "name": "Journey Server",
            "client_id": "server-client-id",
            "client_secret": CLIENT_SECRET,
            "certificate": KEYS.certificate_pem,
            "run_as": PEOPLE["bob"],
        },
        {
            "name": "Journey Web",
            "client_id": "web-client-id",
            "client_secret": WEB_SECRET,
            "callback_url": f"http://127.0.0.1:{PORT}/callback",
            "auto_approve": True,
        },
        {
            "name": "Idle Run-As",
            "client_id": "idle-client-id",
            "client_secret": CLIENT_SECRET,
            "run_as": INACTIVE,
        },
    ]
    records.update(org)
    return records


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sup.Standalone]:
    with sup.standalone_emulator(tmp_path_factory.mktemp("org"), seed()) as org:
        yield org


KINDS = {
    "jwt": 'auth = "jwt"\nclient_id_env = "SF_CLIENT_ID"\nusername_env = "SF_USERNAME"\n'
    'private_key_file = "KEY_FILE"\n',
    "client_credentials": 'auth = "client_credentials"\nclient_id_env = "SF_CLIENT_ID"\n'
    'client_secret_env = "SF_CLIENT_SECRET"\n',
    "web": f'auth = "web"\nclient_id_env = "SF_WEB_CLIENT_ID"\n'
    f'client_secret_env = "SF_WEB_SECRET"\ncallback_port = {PORT}\n',
}


class Session:
    """One user's terminal in a project folder: every command's output is kept, so the
    test can look for secrets in all of it."""

    def __init__(self, root: Path, remote: sup.Standalone, kind: str, extra: str = "") -> None:
        self.root, self.remote, self.outputs = root, remote, [b""]
        (root / "journeys").mkdir(parents=True)
        (root / "journeys" / "nurture.journey").write_text(NURTURE)
        # The key lives outside the project, as it must outside git.
        self.key_file = root.parent / "secrets" / "journey.key"
        self.key_file.parent.mkdir(exist_ok=True)
        self.key_file.write_text(KEYS.private_pem)
        (root / "journey.toml").write_text(
            f'[salesforce]\nlogin_url = "{remote.instance_url}"\nca_file = "{remote.ca_file}"\n'
            f"{KINDS[kind].replace('KEY_FILE', str(self.key_file))}{extra}"
        )

    def journey(self, *args: str, code: int = 0) -> str:
        result = CliRunner().invoke(app, list(args))
        self.outputs.append(result.output.encode())
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self.journey(*args, "--json", code=code))

    def connect_in_the_browser(self, *command: str) -> dict[str, Any]:
        """``journey salesforce connect --json`` (or ``renew``) in a subprocess; the test is
        the browser: it follows the printed URL (the app approves by itself) to the
        loopback callback."""
        process = subprocess.Popen(
            [str(sup.JOURNEY_BIN), "salesforce", *command, "--json"],
            cwd=self.root,
            env={**os.environ},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert process.stderr is not None
            url = ""
            deadline = time.monotonic() + BOUND
            while not url.startswith("https://") and time.monotonic() < deadline:
                line = process.stderr.readline()
                assert line, "connect ended before printing the URL"
                self.outputs.append(line)
                url = line.decode().strip()
            browser = requests.Session()
            browser.verify, browser.trust_env = self.remote.ca_file, False
            page = browser.get(url, timeout=BOUND)
            assert page.status_code == 200
            assert "journey is connected" in page.text
            out, err = process.communicate(timeout=BOUND)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        self.outputs += [out, err]
        assert process.returncode == 0, err.decode()
        answer: dict[str, Any] = json.loads(out)
        return answer

    def import_contacts(self, emails: list[str]) -> None:
        (self.root / "contacts.csv").write_text(
            "Email,First Name,Last Name,Company\n" + "".join(f"{e},Kim,Lee,Acme\n" for e in emails)
        )
        imported = self.json("contacts", "import", "contacts.csv", "--list", "L", "--now", NOW)
        assert imported["errors"] == []

    def leads(self) -> dict[str, int]:
        org = sup.Standalone(
            **{
                **self.remote.__dict__,
                "session_id": self.remote.admin({"renew_session": True})["session_id"],
            }
        )
        found: dict[str, int] = {}
        for row in org.soql("SELECT Email FROM Lead WHERE Email LIKE '%@join.example'"):
            found[row["Email"]] = found.get(row["Email"], 0) + 1
        return found

    def secrets_nowhere(self, *secrets: str) -> None:
        """No secret in any output, in the store's file, or in the project's files (the
        credentials file aside, which holds the refresh token, mode 0600)."""
        files = [p for p in self.root.rglob("*") if p.is_file() and p.name != "credentials"]
        assert any(p.name == "state.db" for p in files)
        blobs = [*self.outputs, *(p.read_bytes() for p in files)]
        for blob in blobs:
            assert not ACCESS_TOKEN.search(blob), blob[:200]
            for secret in secrets:
                assert secret.encode() not in blob


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.setenv("SF_CLIENT_ID", "server-client-id")
    monkeypatch.setenv("SF_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SF_USERNAME", PEOPLE["ann"])
    monkeypatch.setenv("SF_WEB_CLIENT_ID", "web-client-id")
    monkeypatch.setenv("SF_WEB_SECRET", WEB_SECRET)


def _key_lines() -> list[str]:
    return [line for line in KEYS.private_pem.splitlines() if "PRIVATE KEY" not in line][:3]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_connect_run_expire_go_on_disconnect(
    remote: sup.Standalone,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    environment: None,
    kind: str,
) -> None:
    user = session = Session(tmp_path / "project", remote, kind)
    monkeypatch.chdir(session.root)
    if kind == "web":
        connected = session.connect_in_the_browser("connect")
        credentials = session.root / ".journey" / "credentials"
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        refresh = json.loads(credentials.read_text())["refresh_token"]
    else:
        connected = session.json("salesforce", "connect")
        refresh = ""
    acting = PEOPLE["bob"] if kind == "client_credentials" else PEOPLE["ann"]
    assert connected["connected"] is True
    assert connected["org"]["user"] == acting
    assert connected["org"]["edition"] == "Developer Edition"
    status = user.journey("salesforce", "status")
    assert f"auth {kind}" in status
    assert f"edition: Developer Edition (production); API enabled; acting as {acting}" in status
    people = [f"{kind}-{n}@join.example" for n in range(3)]
    user.import_contacts(people)
    first = user.json("run", "--until-idle", "--now", NOW)
    assert (first["failed"], first["paused"]) == (0, None)
    remote.admin({"expire_session": True})  # the session times out while the runs wait
    later = user.json("run", "--until-idle", "--now", LATER)
    assert (later["failed"], later["paused"]) == (0, None)
    assert user.json("salesforce", "status")["paused"] is None
    assert dict.fromkeys(people, 1).items() <= user.leads().items()
    gone = user.json("salesforce", "disconnect")
    if kind == "web":
        assert gone == {
            "disconnected": True,
            "revoked": True,
            "message": "revoked the refresh token and deleted .journey/credentials",
        }
        assert not (session.root / ".journey" / "credentials").exists()
        # Revoked: the project is no longer connected, and says how to connect again.
        refused = user.json("run", "--until-idle", "--now", LATER, code=2)["error"]
        assert refused["code"] == "config"
        assert "not connected yet: run `journey salesforce connect`" in refused["message"]
    else:
        assert gone["disconnected"] is False
        assert f'auth = "{kind}" stores no credentials' in gone["message"]
    session.secrets_nowhere(
        CLIENT_SECRET, WEB_SECRET, *_key_lines(), *([refresh] if refresh else [])
    )


def test_a_worker_renews_an_expired_session_itself_and_never_pauses(
    remote: sup.Standalone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: None
) -> None:
    """One process, one connector: the access token expires between two of the worker's
    passes; the next pass gets a new one and repeats the call, and nothing pauses."""
    session = Session(tmp_path / "project", remote, "jwt")
    monkeypatch.chdir(session.root)
    session.json("salesforce", "connect")
    emails = ["w-0@join.example", "w-1@join.example"]
    passes, _ = worker_through_an_expiry(session, remote, emails)
    assert not [p for p in passes if p.get("paused")], passes
    session.secrets_nowhere(CLIENT_SECRET, *_key_lines())


def worker_through_an_expiry(
    session: Session, remote: sup.Standalone, emails: list[str]
) -> tuple[list[dict[str, Any]], bytes]:
    """A `journey worker` in the project: the first contact is made a Lead, the session
    ends, the second is made one too; the worker's JSON passes and its stderr (both also
    kept in the session's outputs, for the secret scan)."""
    worker = subprocess.Popen(
        [str(sup.JOURNEY_BIN), "worker", "--json", "--no-sync"],
        cwd=session.root,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    lines: list[bytes] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(worker.stdout.readline, b"")) if worker.stdout else None,
        daemon=True,
    )
    reader.start()
    first, second = emails
    try:
        session.import_contacts([first])
        until(lambda: session.leads().get(first) == 1)
        remote.admin({"expire_session": True})
        session.import_contacts([second])
        until(lambda: session.leads().get(second) == 1)
        assert session.json("salesforce", "status")["paused"] is None
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=30)
        reader.join(timeout=10)
    session.outputs += [*lines, err]
    return [json.loads(line) for line in lines if line.startswith(b"{")], err


def until(check: Any) -> None:
    deadline = time.monotonic() + BOUND
    while not check():
        assert time.monotonic() < deadline, "not within the bound"
        time.sleep(0.3)


@pytest.mark.parametrize(
    ("kind", "extra", "environ", "named"),
    [
        ("client_credentials", "", {"SF_CLIENT_SECRET": WRONG_SECRET}, "client_secret_env"),
        ("client_credentials", "", {"SF_CLIENT_ID": "idle-client-id"}, "client_id_env"),
        ("jwt", "", {"SF_CLIENT_ID": "nobody"}, "client_id_env"),
        ("jwt", "", {"SF_USERNAME": INACTIVE}, "username_env"),
        ("jwt", "wrong certificate", {}, "private_key_file"),
    ],
)
def test_each_refusal_is_one_message_naming_the_setting_and_exit_2(
    remote: sup.Standalone,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    environment: None,
    kind: str,
    extra: str,
    environ: dict[str, str],
    named: str,
) -> None:
    session = Session(tmp_path / "project", remote, kind)
    if extra == "wrong certificate":  # a key whose certificate is not the connected app's
        session.key_file.write_text(KeyPair().private_pem)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(session.root)
    for command in (("salesforce", "connect"), ("run", "--until-idle", "--now", NOW)):
        error = session.json(*command, code=2)["error"]
        assert error["code"] == "config"
        assert error["message"].startswith(f"[salesforce] {named}: "), error
        text = session.journey(*command, code=2)
        assert text.count("error:") == 1
    session.secrets_nowhere(CLIENT_SECRET, WRONG_SECRET, *_key_lines())


def test_a_revoked_refresh_token_names_the_connection_and_renew_authorises_again(
    remote: sup.Standalone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: None
) -> None:
    session = Session(tmp_path / "project", remote, "web")
    monkeypatch.chdir(session.root)
    session.connect_in_the_browser("connect")
    session.import_contacts(["revoked@join.example"])
    remote.admin({"revoke_tokens": True})  # an admin revoked the app's tokens in Setup
    error = session.json("run", "--until-idle", "--now", NOW, code=2)["error"]
    assert error["message"].startswith('[salesforce] auth = "web": Salesforce refused the refresh')
    renewed = session.connect_in_the_browser("renew")
    assert renewed["renewed"] is True
    done = session.json("run", "--until-idle", "--now", NOW)
    assert (done["failed"], done["paused"]) == (0, None)
    assert session.leads().get("revoked@join.example") == 1


def test_after_a_renew_paused_runs_go_on_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session pasted from elsewhere expires while a run waits; its next step pauses;
    once renewed, the very next pass at the same moment takes it: the pause's retry delay
    no longer holds it back."""
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    with sup.standalone_emulator(tmp_path / "org", existing_seed()) as org:
        root = tmp_path / "project"
        (root / "journeys").mkdir(parents=True)
        (root / "journeys" / "nurture.journey").write_text(NURTURE)
        (root / "journey.toml").write_text(f"[salesforce]\n{org.settings()}")
        monkeypatch.setenv("SF_SESSION", org.session_id)
        monkeypatch.chdir(root)
        (root / "contacts.csv").write_text("Email,Last Name,Company\nnow@join.example,Lee,Acme\n")
        sup.as_json("contacts", "import", "contacts.csv", "--list", "L", "--now", NOW)
        assert sup.run(NOW)["paused"] is None  # the Lead made; the run waits a day
        org.admin({"expire_session": True})
        paused = sup.run(LATER, code=3)  # the task: 401, nothing renews a pasted session
        assert "journey salesforce renew" in paused["paused"]
        monkeypatch.setenv("SF_SESSION", org.admin({"renew_session": True})["session_id"])
        renewed = sup.as_json("salesforce", "renew")
        assert renewed["resumed_runs"] == 1
        done = sup.run(LATER)  # the same moment: before, the run was due 5 minutes on
        assert (done["failed"], done["paused"], done["ended"]) == (0, None, 1)
        assert sup.contact("now@join.example")["runs"][0]["status"] == "completed"


def test_an_edition_without_api_access_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: None
) -> None:
    records = seed(Organization={"OrganizationType": "Professional Edition"})
    with sup.standalone_emulator(tmp_path / "org", records) as org:
        session = Session(tmp_path / "project", org, "client_credentials")
        monkeypatch.chdir(session.root)
        error = session.json("salesforce", "connect", code=3)["error"]
        assert "API_DISABLED_FOR_ORG" in error["message"]
        assert "its edition has no API access" in error["message"]
        status = session.journey("salesforce", "status")
        assert "edition: its API is NOT enabled (API_DISABLED_FOR_ORG)" in status
        assert session.json("salesforce", "status")["org_facts"]["api_enabled"] is False


def test_a_sandbox_is_named_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: None
) -> None:
    records = seed(Organization={"OrganizationType": "Enterprise Edition", "IsSandbox": True})
    with sup.standalone_emulator(tmp_path / "org", records) as org:
        session = Session(tmp_path / "project", org, "client_credentials", "sandbox = true\n")
        monkeypatch.chdir(session.root)
        assert "(Enterprise Edition, a sandbox)" in session.journey("salesforce", "connect")
        status = session.journey("salesforce", "status")
        assert "edition: Enterprise Edition (a sandbox); API enabled" in status


def test_a_token_endpoint_that_does_not_answer_is_bounded_and_said(
    remote: sup.Standalone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: None
) -> None:
    """The OAuth requests get ``read_timeout`` like every API call: a hung login server
    ends the command with the reason, it never hangs it."""
    session = Session(tmp_path / "project", remote, "jwt", "read_timeout = 0.5\n")
    monkeypatch.chdir(session.root)
    remote.admin({"latency_seconds": 3})
    try:
        error = session.json("salesforce", "connect", code=3)["error"]
    finally:
        remote.admin({"latency_seconds": 0})
    assert error["message"] == (
        f"the JWT bearer token request: cannot reach {remote.instance_url} (ReadTimeout)"
    )


def test_refresh_and_check_know_an_oauth_org_without_its_instance_url(
    remote: sup.Standalone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: None
) -> None:
    """An OAuth connection names only its login URL; the instance comes from the token.
    `journey salesforce refresh` still reads that org, and `check` then knows its users
    (an inactive one is an error) and says whose names it checked against."""
    session = Session(tmp_path / "project", remote, "client_credentials")
    monkeypatch.chdir(session.root)
    refreshed = session.json("salesforce", "refresh")
    assert refreshed["refreshed"] is True
    assert refreshed["users"] >= 2
    (session.root / "journeys" / "gone.journey").write_text(
        'journey "Gone"\ntrigger added to list "L"\nassign lead to "nobody@nowhere.example"\n'
    )
    checked = session.journey("check", "journeys", code=1)
    assert "gone.journey:3:1: error:" in checked
    assert f"from {remote.instance_url}" in checked
