"""End to end through the ``journey`` command on a real SQLite file in a temporary project:
import, triggers, waits crossed with ``--now``, goals, entry rules, loops, version pinning,
dry runs, and clear errors on bad input."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

from journey.cli.main import app

T0 = "2026-03-02T09:00:00+00:00"

WELCOME = """journey "Welcome"

trigger added to list "Website Leads"
trigger form submitted "Demo request"
entry once
goal "Converted" when field "Lead Status" is "Closed - Converted"

update field "Nurture Stage" to "Welcome"
wait 2 days
if field "Annual Revenue" > 1000000:
    add to list "Salesforce Leads"
    add task "Call {{First Name}}" due in 1 day
else:
    send notification "{{Email}} is small" to "ops@acme.example"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "welcome.journey").write_text(WELCOME)
    (tmp_path / "journey.toml").write_text(
        '[fields]\n"Nurture Stage" = "Text"\n"Plan Tier" = "Text"\n'
        '[groups]\n"SDRs" = ["ann@acme.example", "bob@acme.example"]\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path


def journey(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def as_json(*args: str, code: int = 0) -> Any:
    return json.loads(journey(*args, "--json", code=code))


def write_csv(folder: Path, text: str, name: str = "contacts.csv") -> str:
    (folder / name).write_text(text)
    return str(folder / name)


def runs_of(email: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = as_json("contact", email)["runs"]
    return runs


def test_import_trigger_wait_and_finish(project: Path) -> None:
    csv = write_csv(
        project,
        "Email,First Name,Annual Revenue\n"
        "big@acme.example,Bea,5000000\nsmall@acme.example,Sol,100\n",
    )
    imported = as_json("contacts", "import", csv, "--list", "Website Leads", "--now", T0)
    assert imported == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "errors": [],
        "salesforce_records_requested": 0,
        "ignored_columns": {},
    }
    first = as_json("run", "--now", T0)
    assert (first["entered"], first["ended"]) == (2, 0)
    status = as_json("status", "welcome")["journeys"][0]
    wait = next(s for s in status["steps"] if s["text"] == "wait 2 days")
    assert (wait["entered"], wait["waiting"]) == (2, 2)
    assert as_json("run", "--now", "2026-03-03T09:00")["steps"] == 0  # a day later: waiting
    last = as_json("run", "--until-idle", "--now", "2026-03-04T09:00")
    assert last["ended"] == 2
    big = as_json("contact", "BIG@acme.example")
    assert big["salesforce"]["type"] == "Lead"
    assert big["lists"] == ["Salesforce Leads", "Website Leads"]
    assert big["fields"]["Nurture Stage"] == "Welcome"
    assert big["runs"][0]["status"] == "completed"
    decided = next(a for a in big["activity"] if a["kind"] == "condition")
    assert "field \"Annual Revenue\" = '5000000' → > 1000000: yes" in decided["detail"]
    small = as_json("contact", "small@acme.example")
    assert small["salesforce"]["id"] is None
    assert any("send Email" in a["detail"] for a in small["activity"])


def test_bad_rows_are_reported_by_number_and_the_rest_import(project: Path) -> None:
    csv = write_csv(
        project, "Email,Annual Revenue\nok@x.example,10\nbad@x.example,lots\n,5\nOK@X.example,20\n"
    )
    result = CliRunner().invoke(app, ["contacts", "import", csv])
    assert result.exit_code == 1
    assert f'{csv}:3: error: field "Annual Revenue": "lots" is not a number' in result.output
    assert f"{csv}:4: error: no Email (or Salesforce ID)" in result.output
    assert "1 created, 0 updated, 1 unchanged; 2 rows refused" in result.output
    assert as_json("contact", "ok@x.example")["fields"]["Annual Revenue"] == "20"


def test_form_event_triggers_and_entry_once(project: Path) -> None:
    out = journey(
        "event",
        "form-submitted",
        "Demo request",
        "--email",
        "f@x.example",
        "--field",
        "First Name=Fay",
        "--now",
        T0,
    )
    assert "created f@x.example" in out
    journey("run", "--until-idle", "--now", T0)
    journey("run", "--until-idle", "--now", "2026-03-10T00:00")
    assert [r["status"] for r in runs_of("f@x.example")] == ["completed"]
    journey(
        "event",
        "form-submitted",
        "Demo request",
        "--email",
        "f@x.example",
        "--now",
        "2026-03-11T00:00",
    )
    journey("run", "--until-idle", "--now", "2026-03-11T00:00")
    assert len(runs_of("f@x.example")) == 1  # entry once: never again


def _set_entry(project: Path, rule: str) -> None:
    path = project / "journeys" / "welcome.journey"
    path.write_text(path.read_text().replace("entry once\n", f"{rule}\n"))


def test_entry_always_but_never_two_live_runs(project: Path) -> None:
    _set_entry(project, "entry always")
    submit = ("event", "form-submitted", "Demo request", "--email", "a@x.example")
    journey(*submit, "--now", T0)
    journey(*submit, "--now", T0)  # a second submission while the first run waits
    journey("run", "--until-idle", "--now", T0)
    assert [r["status"] for r in runs_of("a@x.example")] == ["waiting"]
    journey("run", "--until-idle", "--now", "2026-03-05T00:00")
    journey(*submit, "--now", "2026-03-05T00:00")
    journey("run", "--until-idle", "--now", "2026-03-05T00:00")
    assert [r["status"] for r in runs_of("a@x.example")] == ["completed", "waiting"]


def test_entry_once_every_n_days(project: Path) -> None:
    _set_entry(project, "entry once every 30 days")
    submit = ("event", "form-submitted", "Demo request", "--email", "e@x.example")
    for day in ("2026-03-02", "2026-03-20", "2026-04-02"):
        journey(*submit, "--now", f"{day}T09:00")
        journey("run", "--until-idle", "--now", f"{day}T09:00")
        journey("run", "--until-idle", "--now", f"{day}T23:59")
    journey("run", "--until-idle", "--now", "2026-04-10")
    runs = runs_of("e@x.example")
    assert [r["entered_at"][:10] for r in runs] == ["2026-03-02", "2026-04-02"]


def test_goal_met_while_waiting_ends_the_run(project: Path) -> None:
    journey("event", "form-submitted", "Demo request", "--email", "g@x.example", "--now", T0)
    journey("run", "--now", T0)
    journey(
        "event",
        "form-submitted",
        "Pricing",
        "--email",
        "g@x.example",
        "--field",
        "Lead Status=Closed - Converted",
        "--now",
        "2026-03-03T09:00",
    )
    journey("run", "--now", "2026-03-03T09:00")
    run = runs_of("g@x.example")[0]
    assert (run["status"], run["goal"]) == ("goal", "Converted")
    status = as_json("status")["journeys"][0]
    assert status["runs"] == {"goal": 1}


def test_go_to_loop_through_the_cli(project: Path) -> None:
    (project / "journeys" / "weekly.journey").write_text(
        'journey "Weekly"\ntrigger form submitted "Webinar"\nstep weekly\nwait 1 week\n'
        'if field "Rating" is "Hot":\n    exit\nupdate field "Plan Tier" to "Nurtured"\n'
        "go to weekly\n"
    )
    journey("event", "form-submitted", "Webinar", "--email", "w@x.example", "--now", T0)
    for day in ("2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"):
        journey("run", "--until-idle", "--now", f"{day}T09:00")
    status = next(s for s in as_json("status", "WEEKLY")["journeys"])
    counts = {s["step"]: s for s in status["steps"]}
    assert counts["weekly"]["entered"] == 4
    assert counts["weekly"]["waiting"] == 1
    journey(
        "event",
        "form-submitted",
        "Webinar",
        "--email",
        "w@x.example",
        "--field",
        "Rating=Hot",
        "--now",
        "2026-03-24T09:00",
    )
    journey("run", "--until-idle", "--now", "2026-03-30T09:00")
    assert [r["status"] for r in runs_of("w@x.example") if r["journey"] == "Weekly"] == ["exited"]


def test_a_run_stays_on_the_version_it_entered_with(project: Path) -> None:
    journey("event", "form-submitted", "Demo request", "--email", "old@x.example", "--now", T0)
    journey("run", "--now", T0)
    path = project / "journeys" / "welcome.journey"
    path.write_text(path.read_text().replace('"{{Email}} is small"', '"{{Email}} v2"'))
    journey("event", "form-submitted", "Demo request", "--email", "new@x.example", "--now", T0)
    journey("run", "--now", T0)
    journey("run", "--until-idle", "--now", "2026-03-05T00:00")
    old, new = runs_of("old@x.example")[0], runs_of("new@x.example")[0]
    assert old["version"] != new["version"]
    old_feed = as_json("contact", "old@x.example")["activity"]
    new_feed = as_json("contact", "new@x.example")["activity"]
    assert any('"{{Email}} is small"' in a["detail"] for a in old_feed)
    assert any('"{{Email}} v2"' in a["detail"] for a in new_feed)
    assert old["status"] == new["status"] == "completed"


def test_dry_run_shows_path_decisions_and_effects(
    project: Path, snapshot: SnapshotAssertion
) -> None:
    csv = write_csv(
        project,
        "Email,First Name,Annual Revenue,Lead Status\n"
        "big@acme.example,Bea,5000000,\nsmall@acme.example,Sol,100,\n"
        "won@acme.example,Wyn,1,Closed - Converted\n",
    )
    args = ("dry-run", "journeys/welcome.journey", "--contacts", csv, "--at", T0)
    text = journey(*args)
    assert text.replace(str(project), "<project>") == snapshot
    data = as_json(*args)
    assert data["contacts"][0]["status"] == "completed"
    assert data["contacts"][2]["goal"] == "Converted"
    assert not (project / ".journey" / "state.db").exists()  # nothing written


def test_status_table(project: Path, snapshot: SnapshotAssertion) -> None:
    journey("event", "form-submitted", "Demo request", "--email", "s@x.example", "--now", T0)
    journey("run", "--now", T0)
    assert journey("status") == snapshot


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "--now", "next tuesday"), "is not an ISO date-time"),
        (("contacts", "import", "missing.csv"), "missing.csv: cannot read"),
        (("contact", "nobody@x.example"), "no contact has the email"),
        (("status", "Nope"), 'no published journey is named "Nope"'),
        (
            ("event", "form-submitted", "F", "--email", "a@x.example", "--field", "oops"),
            "write it as NAME=VALUE",
        ),
    ],
)
def test_bad_input_is_one_clear_line(project: Path, args: tuple[str, ...], message: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_broken_journey_names_file_line_and_column(project: Path) -> None:
    (project / "journeys" / "broken.journey").write_text(
        'journey "B"\ntrigger form submitted "F"\nwait 2 fortnights\n'
    )
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert "broken.journey:3:" in result.output


def test_run_acts_on_the_embedded_emulated_org_unless_told_to_record(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = write_csv(project, "Email,First Name,Annual Revenue\nbig@acme.example,Bea,5000000\n")
    journey("contacts", "import", csv, "--list", "Website Leads", "--now", T0)
    journey("run", "--until-idle", "--now", T0)
    journey("run", "--until-idle", "--now", "2026-03-04T09:00")
    lead = as_json("contact", "big@acme.example")["salesforce"]
    assert lead["type"] == "Lead"
    assert (project / ".journey" / "emulator").is_dir()  # the org's own state
    assert not (project / ".journey" / "recorder.db").exists()
    monkeypatch.setenv("JOURNEY_CONNECTOR", "recording")
    journey(
        "event",
        "form-submitted",
        "Demo request",
        "--email",
        "rec@acme.example",
        "--field",
        "Annual Revenue=2000000",
        "--now",
        T0,
    )
    journey("run", "--until-idle", "--now", T0)
    journey("run", "--until-idle", "--now", "2026-03-04T09:00")
    assert (project / ".journey" / "recorder.db").exists()
    # The journal writes the request down and decides nothing: no Lead was made for it.
    assert as_json("contact", "rec@acme.example")["salesforce"]["id"] is None
    with closing(sqlite3.connect(project / ".journey" / "recorder.db")) as journal:
        assert journal.execute("SELECT COUNT(*) FROM applied").fetchone()[0] >= 1
