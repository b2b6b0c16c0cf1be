"""``journey salesforce emulator`` as a user runs it: a subprocess on a free port, one JSON
line to read, a real client talking to it, then SIGTERM."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests
from simple_salesforce.api import Salesforce

# The ``journey`` command, run with this interpreter (``python -m journey``).
JOURNEY = [sys.executable, "-m", "journey"]


def test_the_emulator_command_serves_until_terminated(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps({"User": [{"Name": "Cli User", "Email": "cli@acme.example", "connected": True}]})
    )
    process = subprocess.Popen(
        [
            *JOURNEY,
            "salesforce",
            "emulator",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--state",
            str(tmp_path / "state"),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        endpoint = json.loads(line)
        assert endpoint["instance_url"].startswith("https://127.0.0.1:")
        assert Path(endpoint["ca_file"]).is_file()
        with requests.Session() as session:
            session.verify = endpoint["ca_file"]
            session.trust_env = False
            sf = Salesforce(
                instance_url=endpoint["instance_url"],
                session_id=endpoint["session_id"],
                version="59.0",
                session=session,
            )
            users = sf.query("SELECT Name FROM User")["records"]
            assert [u["Name"] for u in users] == ["Cli User"]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert (tmp_path / "state" / "org.db").is_file()


def test_a_bad_seed_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text('{"Lead": [{"LastName": "X"}]}')
    done = subprocess.run(
        [
            *JOURNEY,
            "salesforce",
            "emulator",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--state",
            str(tmp_path / "state"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "seed Lead[0]: REQUIRED_FIELD_MISSING" in done.stderr
    assert "Traceback" not in done.stderr
