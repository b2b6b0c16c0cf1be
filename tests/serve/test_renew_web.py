"""Renew from the connection page with ``auth = "web"``, against a standalone emulated org
over HTTPS (tests/cli/test_connect.py's org and project): the renewal waits for the person
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
from tests.cli.test_connect import BOUND, WEB_SECRET, Session
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
