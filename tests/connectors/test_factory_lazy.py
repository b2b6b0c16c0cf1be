"""``open_connector`` on the embedded org: the lock at once, the org and the client on first
use. A run of local steps never starts the org (``tests/test_startup_imports.py`` holds the
modules it loads); these hold what that leaves the same: the refusal of a second process,
the first call that does need the org, the handle's ``org``, and the new org seeded at open.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from journey.connectors.base import ContactSnapshot, EffectRequest
from journey.connectors.factory import (
    ConnectionSettingsError,
    embedded_lock,
    embedded_state_dir,
    open_connector,
)
from journey.connectors.salesforce.connector import SalesforceConnector
from journey.dsl.syntax import AddToList
from journey.emulator.store import is_seeded
from journey.engine.config import load_config
from journey.engine.locks import FileLock

SEED = {
    "User": [{"Name": "Ann Admin", "Email": "ann@acme.example", "connected": True}],
    "Lead": [{"LastName": "Doe", "Company": "Acme", "Email": "jo@acme.example"}],
}
LEADS = AddToList("Salesforce Leads")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "salesforce-seed.json").write_text(json.dumps(SEED))
    (tmp_path / "journey.toml").write_text('[salesforce]\nseed = "salesforce-seed.json"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    return tmp_path


def request(cid: int, email: str) -> EffectRequest:
    snapshot = ContactSnapshot(id=cid, email=email, fields={"Email": email})
    return EffectRequest(f"k{cid}", snapshot, {"list": "Salesforce Leads"})


def seeded_once() -> None:
    """A first open makes and seeds the org (a new org is made at open), but serves it
    not: nothing has called it."""
    config = load_config()
    assert not is_seeded(embedded_state_dir(config))
    handle = open_connector(config)
    try:
        assert handle.embedded is not None
        assert handle.embedded.org is None
        assert is_seeded(embedded_state_dir(config))
    finally:
        handle.close()


def test_the_org_starts_on_the_first_call_and_the_lock_is_held_before(project: Path) -> None:
    seeded_once()
    config = load_config()
    handle = open_connector(config)
    try:
        assert handle.description == "using the embedded emulated org (.journey/emulator)"
        connector = handle.connector
        assert isinstance(connector, SalesforceConnector)
        assert handle.embedded is not None
        assert handle.embedded.org is None
        assert not connector.connected
        assert embedded_lock(config).holder()[0] == os.getpid()  # held while not started
        [result] = connector.perform(LEADS, [request(1, "new@example.org")])
        assert result.status == "done"
        assert connector.connected
        assert handle.embedded.org is not None
    finally:
        handle.close()
    free = FileLock(embedded_lock(config).path)
    assert free.try_acquire("test")  # given back on close
    free.release()


def test_a_second_process_is_refused_while_the_org_is_not_started(project: Path) -> None:
    seeded_once()
    handle = open_connector(load_config())
    try:
        assert handle.embedded is not None
        assert handle.embedded.org is None
        done = subprocess.run(
            [sys.executable, "-m", "journey", "run", "--json"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        handle.close()
    assert done.returncode != 0
    assert "the embedded org is in use" in json.loads(done.stdout)["error"]["message"]


def test_the_handles_org_is_started_when_it_is_read(project: Path) -> None:
    seeded_once()
    handle = open_connector(load_config())
    with handle as connector:
        org = handle.org
        assert org is not None
        org.expire_session()
        [result] = connector.perform(LEADS, [request(1, "late@example.org")])
    assert (result.status, result.error_code) == ("paused", "INVALID_SESSION_ID")
    assert handle.org is None  # closed


def test_a_seed_the_new_org_cannot_take_is_refused_at_open(project: Path) -> None:
    (project / "salesforce-seed.json").write_text('{"Nonsense": []}')
    with pytest.raises(ConnectionSettingsError, match="seed"):
        open_connector(load_config())
    # The org made no connected user, so the next open still makes it at once.
    with pytest.raises(ConnectionSettingsError, match="seed"):
        open_connector(load_config())
