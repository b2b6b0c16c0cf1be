"""The connection page against a standalone emulated org over HTTPS, seeded with records
the tool did not create (tests/cli/test_connect.py's org and projects): a pause shown with
its reason and lifted by Renew, and Renew with ``auth = "web"``, which waits for the person
in Salesforce, so the page answers at once with the authorize URL; the person follows it
(the connected app approves by itself), the loopback callback finishes the renewal, and
the page says so. Timeouts are upper bounds against a hang."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from tests.cli import actions_support as sup
from tests.cli import test_connect as connect
from tests.cli.test_connect import BOUND, LATER, NOW, NURTURE, WEB_SECRET, Session
from tests.existing_org import existing_seed
from tests.serve.conftest import client_for
from tests.serve.test_pages import JSON, csrf_of

#: The standalone org with the connected apps, and the variables naming their secrets.
remote = connect.remote
environment = connect.environment


def test_renew_with_the_web_flow_offers_the_authorize_url_then_says_it_renewed(
    remote: sup.Standalone,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    environment: None,
) -> None:
    session = Session(tmp_path / "project", remote, "web")
    monkeypatch.chdir(session.root)
    with client_for(session.root) as client:
        csrf = csrf_of(client.get("/connection").text)
        started = client.post("/connection/renew", data={"csrf": csrf}, headers=JSON).json()
        assert started["running"] is True
        url = started["authorize_url"]
        assert url.startswith(remote.instance_url)
        assert WEB_SECRET not in url
        assert "authorize page" in client.get("/connection").text
        browser = requests.Session()
        browser.verify, browser.trust_env = remote.ca_file, False
        assert "journey is connected" in browser.get(url, timeout=BOUND).text
        deadline = time.monotonic() + BOUND
        renewal = started
        while renewal["running"] and time.monotonic() < deadline:
            time.sleep(0.1)
            renewal = client.get("/connection", headers=JSON).json()["renewal"]
        assert renewal["error"] is None
        assert renewal["outcome"]["renewed"] is True
        assert "Renewed" in client.get("/connection").text
    assert (session.root / ".journey" / "credentials").exists()


def test_a_pause_is_shown_with_its_reason_and_renew_lifts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session pasted from elsewhere expires while a run waits; its next step pauses
    (tests/cli/test_connect.py tells the same story on the command line)."""
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
        assert sup.run(NOW)["paused"] is None
        org.admin({"expire_session": True})
        sup.run(LATER, code=3)
        with client_for(root) as client:
            status = client.get("/connection", headers=JSON).json()
            assert status["paused"]["code"] == "INVALID_SESSION_ID"
            assert status["api"]["calls_by_journeys"] > 0
            html = client.get("/connection").text
            assert "paused" in html
            assert "INVALID_SESSION_ID" in html
            monkeypatch.setenv("SF_SESSION", org.admin({"renew_session": True})["session_id"])
            renewed = client.post(
                "/connection/renew", data={"csrf": csrf_of(html)}, headers=JSON
            ).json()
            assert renewed["outcome"]["was_paused"]["code"] == "INVALID_SESSION_ID"
            assert renewed["outcome"]["resumed_runs"] == 1
            assert client.get("/connection", headers=JSON).json()["paused"] is None
            assert "lifted the pause (INVALID_SESSION_ID)" in client.get("/connection").text
