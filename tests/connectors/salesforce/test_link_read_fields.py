"""The link read (``engine.linking``) selects the mapped fields; a custom field
``[sync.fields.X]`` maps that the org lacks is named the way the sync names it, with where
journey.toml maps it, not as Salesforce's raw ``INVALID_FIELD`` answer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from journey.emulator import EmulatedOrg
from journey.engine.intake import import_csv
from journey.engine.project import open_project
from journey.engine.store import Activity
from tests.connectors.salesforce.conftest import NOW, build_connector
from tests.connectors.salesforce.test_link_read import LOOK
from tests.existing_org import PEOPLE

TOML = """
[sync.fields.Lead]
"Plan Level" = { salesforce = "Plan_Level__c" }
"""


def test_a_mapped_field_the_org_lacks_is_named_with_its_mapping(
    existing_org: EmulatedOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "look.journey").write_text(LOOK)
    (tmp_path / "journey.toml").write_text(TOML)
    (tmp_path / "in.csv").write_text(f"Email\n{PEOPLE['owned']}\n")
    connector, _ = build_connector(existing_org, tmp_path / ".journey")
    project = open_project(tmp_path, connector=connector, now=NOW)
    try:
        import_csv(project.store, tmp_path / "in.csv", project.context(NOW), "In")
        report = project.runner().run_until_idle(NOW + timedelta(minutes=1))
        assert report.paused is not None
        assert "INVALID_FIELD" in report.paused
        assert 'Lead.Plan_Level__c (mapped to "Plan Level" in [sync.fields.Lead])' in (
            report.paused
        )
        assert "create it in Salesforce" in report.paused
        a = Activity
        with project.store.engine.connect() as conn:
            kinds = {r.kind for r in conn.execute(sa.select(a.c.kind))}
        assert "action" not in kinds  # nothing decided on unread values
    finally:
        project.close()
