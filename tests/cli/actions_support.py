"""Fixtures for the CLI tests of the Salesforce actions: a project folder (journey.toml,
seed, journeys, contacts CSV), the ``journey`` command in-process, the org's state read
back through simple-salesforce, and a standalone emulator in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from typer.testing import CliRunner

from journey.cli.main import app  # the whole command, every command registered
from journey.emulator import EmulatedOrg

NOW = "2026-03-02T09:00:00+00:00"
JOURNEY_BIN = Path(sys.executable).with_name("journey")

SEED: dict[str, Any] = {
    "User": [
        {"Name": "Olga Ops", "Email": "ops@acme.example", "connected": True},
        {"Name": "Ann Archer", "Email": "ann@acme.example"},
        {"Name": "Bob Baker", "Email": "bob@acme.example"},
        {"Name": "Cara Cole", "Email": "cara@acme.example"},
        {"Name": "Jane Doe", "Email": "jane@acme.example"},
    ],
    "Group": [{"Name": "France Queue", "Type": "Queue", "Email": "fr-queue@acme.example"}],
    "LeadStatus": [
        {"MasterLabel": "Open - Not Contacted", "IsDefault": True},
        {"MasterLabel": "Working"},
        {"MasterLabel": "Closed - Converted", "IsConverted": True},
    ],
    "Campaign": [
        {
            "Name": "Q4 Webinar",
            "statuses": ["Sent", "Registered", {"Label": "Attended", "HasResponded": True}],
        }
    ],
    "AssignmentRule": [
        {
            "object": "Lead",
            "entries": [
                {"criteria": "Country = 'Germany'", "owner": "jane@acme.example"},
                {"criteria": "Country = 'France'", "owner": "fr-queue@acme.example"},
            ],
        }
    ],
    "Account": [{"Name": "Globex"}],
}

TOML = """[salesforce]
seed = "salesforce-seed.json"
{extra}
[groups]
"SDRs" = ["ann@acme.example", "bob@acme.example", "cara@acme.example"]
"""


def make_project(root: Path, journeys: dict[str, str], salesforce: str = "") -> Path:
    """A project as a user writes it: journey.toml, a seed, journeys/*.journey."""
    (root / "journeys").mkdir(parents=True, exist_ok=True)
    (root / "salesforce-seed.json").write_text(json.dumps(SEED))
    (root / "journey.toml").write_text(TOML.format(extra=salesforce))
    for name, text in journeys.items():
        (root / "journeys" / f"{name}.journey").write_text(text)
    return root


def journey(*args: str, code: int = 0) -> str:
    """``journey ARGS`` in-process; the exit code is checked (a typer.Exit is a user error)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def as_json(*args: str, code: int = 0) -> Any:
    return json.loads(journey(*args, "--json", code=code))


def import_contacts(root: Path, rows: list[dict[str, str]], list_name: str = "L") -> None:
    """``journey contacts import`` of a CSV with these rows (the union of their columns)."""
    columns = sorted({k for row in rows for k in row}, key=lambda c: (c != "Email", c))
    lines = [",".join(columns)] + [",".join(row.get(c, "") for c in columns) for row in rows]
    path = root / "contacts.csv"
    path.write_text("\n".join(lines) + "\n")
    imported = as_json("contacts", "import", str(path), "--list", list_name, "--now", NOW)
    assert imported["errors"] == []


def run(now: str = NOW, code: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = as_json("run", "--until-idle", "--now", now, code=code)
    return out


def contact(email: str) -> dict[str, Any]:
    out: dict[str, Any] = as_json("contact", email)
    return out


def feed(email: str) -> list[tuple[str | None, str]]:
    """The contact's action feed as (outcome, detail): actions and errors, entries and ends
    left out."""
    return [
        (a["outcome"], a["detail"])
        for a in contact(email)["activity"]
        if a["kind"] in ("action", "error")
    ]


def query(root: Path, soql: str) -> list[dict[str, Any]]:
    """Read the embedded org's state (``.journey/emulator``) through simple-salesforce, after
    the CLI is done with it: the same SQLite file, served again on a free port."""
    with EmulatedOrg(root / ".journey" / "emulator", None) as org:
        org.start(port=0)
        records: list[dict[str, Any]] = org.client().query_all(soql)["records"]
    return [flatten(r) for r in records]


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@dataclass(frozen=True)
class Standalone:
    """A ``journey salesforce emulator`` process and what its JSON line said."""

    instance_url: str
    session_id: str
    ca_file: str
    admin_token: str
    admin_url: str

    def admin(self, command: dict[str, Any]) -> dict[str, Any]:
        """A fault (or a query with ``{}``) through the admin path, as another process does."""
        session = requests.Session()
        session.trust_env = False
        headers = {"X-Emulator-Admin": self.admin_token}
        if command:
            answer = session.post(
                self.admin_url, json=command, headers=headers, verify=self.ca_file, timeout=10
            )
        else:
            answer = session.get(self.admin_url, headers=headers, verify=self.ca_file, timeout=10)
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body

    def client(self) -> Salesforce:
        """simple-salesforce on this org, as any other client of it would connect."""
        session = requests.Session()
        session.verify = self.ca_file
        session.trust_env = False
        return Salesforce(
            instance_url=self.instance_url,
            session_id=self.session_id,
            version="59.0",
            session=session,
        )

    def soql(self, query: str) -> list[dict[str, Any]]:
        return [flatten(r) for r in self.client().query_all(query)["records"]]

    def settings(self) -> str:
        """The ``[salesforce]`` lines of a project on this org (the session from the
        ``SF_SESSION`` variable, which the test sets to ``session_id``)."""
        return (
            f'instance_url = "{self.instance_url}"\nsession_id_env = "SF_SESSION"\n'
            f'ca_file = "{self.ca_file}"\n'
        )


@contextmanager
def standalone_emulator(
    folder: Path, records: dict[str, Any] | None = None
) -> Iterator[Standalone]:
    """``journey salesforce emulator --port 0 --json`` in a subprocess, stopped afterwards;
    seeded with ``records`` (default ``SEED``)."""
    folder.mkdir(parents=True, exist_ok=True)
    seed = folder / "seed.json"
    seed.write_text(json.dumps(records if records is not None else SEED))
    env = {k: v for k, v in os.environ.items() if k != "JOURNEY_DATABASE_URL"}
    process = subprocess.Popen(
        [
            str(JOURNEY_BIN),
            *("salesforce", "emulator", "--port", "0", "--json"),
            *("--seed", str(seed), "--state", str(folder / "state")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        info = json.loads(line)
        ca_file = str((folder / info["ca_file"]).resolve())
        yield Standalone(
            info["instance_url"],
            info["session_id"],
            ca_file,
            info["admin_token"],
            info["admin_url"],
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
