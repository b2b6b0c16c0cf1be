"""``journey contacts import`` as a command: what its process loads, and what it leaves alone.

An import takes contacts in and performs nothing on Salesforce, so its process loads the
store and the importer, never the runner, the connectors or their HTTP and OAuth stacks
(these tests list the modules a real process imported, not the clock: ``bench/import.py``
and ``bench/startup.py`` measure the time). And it never touches the published journeys:
``journey plan`` says the same before and after an import.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import journey
from journey.cli.main import app
from tests.test_startup_imports import probed

EXAMPLE = Path(journey.__file__).parent / "example"

#: What the import command's process may not import: it performs nothing on Salesforce
#: (``journey.connectors.base`` and ``.sync``, the interfaces, are only type definitions).
NOT_FOR_AN_IMPORT = (
    "simple_salesforce",
    "requests",
    "urllib3",
    "authlib",
    "jwt",
    "networkx",
    "rich",
    "journey.connectors.factory",
    "journey.connectors.salesforce",
    "journey.connectors.notify",
    "journey.connectors.recording",
    "journey.emulator",
    "journey.engine.runner",
    "journey.engine.executor",
    "journey.cli.runs",
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy)
    (copy / "people.csv").write_text("Email,First Name\nada@initech.example,Ada\n")
    return copy


def test_an_import_loads_no_connector_and_no_runner(project: Path) -> None:
    args = ["contacts", "import", "people.csv", "--list", "Inbound", "--json"]
    modules, out = probed(args, project, project.parent / "c")
    assert json.loads(out)["created"] == 1
    loaded = sorted(
        m for m in modules if any(m == p or m.startswith(p + ".") for p in NOT_FOR_AN_IMPORT)
    )
    assert loaded == []
    assert "journey.engine.csv_import" in modules


def journey_json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_an_import_leaves_the_published_journeys_as_they_were(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("JOURNEY_CONNECTOR", "recording")
    journey_json("publish")
    before = journey_json("plan")
    assert before["changes"] is False
    imported = journey_json("contacts", "import", "people.csv", "--list", "Inbound")
    assert imported["created"] == 1
    assert journey_json("plan") == before
