"""Inactive Salesforce users as a user of the CLI meets them: ``journey check`` refuses a
journey or a group naming one (the embedded org's seed knows them), and at run time the
round robin skips them — the contact's feed says so — while a journey assigning to one
fails that contact's step with the user named and what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import actions_support as sup

OLD = "old@acme.example"

SPREAD = """journey "Spread"

trigger added to list "L"

assign lead to group "SDRs"
"""

TO_OLD = f"""journey "To old"

trigger added to list "O"

assign lead to "{OLD}"
"""


def project(root: Path, journeys: dict[str, str]) -> Path:
    """``actions_support``'s project, its seed with a deactivated user who is also in the
    "SDRs" group of journey.toml."""
    sup.make_project(root, journeys)
    seed = dict(sup.SEED)
    seed["User"] = [*sup.SEED["User"], {"Name": "Old Timer", "Email": OLD, "IsActive": False}]
    (root / "salesforce-seed.json").write_text(json.dumps(seed))
    toml = root / "journey.toml"
    toml.write_text(toml.read_text().replace('"cara@acme.example"]', f'"{OLD}"]'))
    return root


def test_check_refuses_an_inactive_user_in_a_journey_and_in_a_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, {"spread": SPREAD, "to-old": TO_OLD})
    monkeypatch.chdir(root)
    output = sup.journey("check", "journeys", code=1)
    assert f'journey.toml:5:1: error: group "SDRs": user "{OLD}" is inactive in Salesforce' in (
        output
    )
    assert f'to-old.journey:5:1: error: user "{OLD}" is inactive in Salesforce' in output
    assert "checked 2 journeys: 2 error(s), 0 warning(s)" in output


def test_the_round_robin_skips_the_inactive_user_and_the_feed_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, {"spread": SPREAD})
    monkeypatch.chdir(root)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    sup.import_contacts(root, [{"Email": f"lead{i}@x.example"} for i in range(4)])
    assert sup.run()["failed"] == 0
    owners = {lead["Owner.Email"] for lead in sup.query(root, "SELECT Owner.Email FROM Lead")}
    assert owners == {"ann@acme.example", "bob@acme.example"}
    [(outcome, detail)] = sup.feed("lead0@x.example")
    assert outcome == "done"
    assert f'(skipped the inactive users of group "SDRs": {OLD})' in detail


def test_assigning_to_an_inactive_user_fails_the_step_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, {"to-old": TO_OLD})
    monkeypatch.chdir(root)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    sup.import_contacts(root, [{"Email": "jo@x.example"}], list_name="O")
    assert sup.run(code=1)["failed"] == 1
    [(outcome, detail)] = sup.feed("jo@x.example")
    assert outcome == "failed"
    assert detail.endswith(
        f'→ failed: INACTIVE_OWNER_OR_USER: user "{OLD}" is inactive in Salesforce: '
        "reactivate them or change the journey"
    )
    assert sup.query(root, "SELECT Id FROM Lead WHERE Email = 'jo@x.example'") == []
