"""``journey contacts import`` as a command: what its process loads, and what it leaves alone.

An import takes contacts in and performs nothing on Salesforce, so its process loads the
store and the importer, never the runner, the connectors or their HTTP and OAuth stacks
(these tests list the modules a real process imported, not the clock: ``bench/import.py``
and ``bench/startup.py`` measure the time). And it never touches the published journeys:
``journey plan`` says the same before and after an import.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import journey
from journey.cli.main import app

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

PROBE = """
import atexit, json, os, runpy, sys
def dump():
    with open(os.environ["MODULES_OUT"], "w") as out:
        json.dump(sorted(sys.modules), out)
atexit.register(dump)
sys.argv[0] = "journey"
runpy.run_module("journey", run_name="__main__", alter_sys=True)
"""


def imported(args: list[str], cwd: Path) -> tuple[set[str], str]:
    """The modules a ``journey`` process had imported when it exited, and its output."""
    out = cwd.parent / "modules.json"
    env = {**os.environ, "MODULES_OUT": str(out), "JOURNEY_CACHE_DIR": str(cwd.parent / "c")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return set(json.loads(out.read_text(encoding="utf-8"))), done.stdout


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy)
    (copy / "people.csv").write_text("Email,First Name\nada@initech.example,Ada\n")
    return copy


def test_an_import_loads_no_connector_and_no_runner(project: Path) -> None:
    args = ["contacts", "import", "people.csv", "--list", "Inbound", "--json"]
    modules, out = imported(args, project)
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
