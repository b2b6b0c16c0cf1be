"""Every example and acceptance journey runs through the engine (dry run) without a
surprise: each contact ends, waits out a loop, or reaches a goal — never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from journey.connectors.recording import JournalingConnector
from journey.engine.conditions import Evaluator
from journey.engine.contact import ContactView
from journey.engine.dryrun import dry_run
from journey.example import example_project
from tests.engine.engine_helpers import T0, compiled

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "acceptance"
FILES = sorted(Path(str(example_project() / "journeys")).glob("*.journey")) + (
    sorted(SPEC.glob("*.journey")) if SPEC.is_dir() else []
)
PEOPLE = [
    {
        "Email": "lead@acme.example",
        "First Name": "Lee",
        "Company": "Acme",
        "Lead Status": "Qualified",
        "Annual Revenue": "2000000",
        "Rating": "Hot",
    },
    {"Email": "plain@acme.example", "Do Not Call": "false", "Unsubscribed": "true"},
    {"Email": "owned@acme.example", "Lead Owner": "jane@acme.example", "Plan Tier": "Pro"},
]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_example_journey_runs_for_every_kind_of_contact(path: Path) -> None:
    journey = compiled(path.read_text(encoding="utf-8"), str(path))
    views = [ContactView.from_fields(i + 1, person) for i, person in enumerate(PEOPLE)]
    sf = ContactView.from_fields(4, {"Email": "sf@acme.example", "Plan Tier": "Pro Max"})
    sf.salesforce_id, sf.salesforce_type = "003000000000001AAA", "Contact"
    views.append(sf)
    # The engine's paths and waits are under test here, not Salesforce's answers.
    report = dry_run(journey, views, T0, Evaluator(), JournalingConnector())
    assert len(report.contacts) == len(views)
    for contact in report.contacts:
        assert contact.status in {"completed", "exited", "goal"} or contact.truncated, contact
        assert contact.records[0].kind == "enter"
