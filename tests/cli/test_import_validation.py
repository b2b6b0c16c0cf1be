"""``journey contacts import`` on the files people really bring: every bad row is reported
with its line number and what to do, every good row is imported — unbalanced quotes, long
cells, bytes that are not UTF-8, NUL bytes, the wrong number of cells — and the Salesforce
IDs a file names are checked (length, checksum, object) and never link one record to two
contacts. The project's org holds records the tool did not create (``tests.existing_org``);
IDs come from the emulated org, which mints them with its own copy of the checksum."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from journey.cli.main import app
from journey.emulator import EmulatedOrg
from journey.engine.csv_rows import FIELD_SIZE_CAP
from tests.cli.actions_support import NOW
from tests.existing_org import PEOPLE, existing_seed


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose embedded org holds the existing records."""
    (tmp_path / "journeys").mkdir()
    (tmp_path / "salesforce-seed.json").write_text(json.dumps(existing_seed()))
    (tmp_path / "journey.toml").write_text(
        '[salesforce]\nseed = "salesforce-seed.json"\n\n[fields]\n"Notes" = "Text"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def org_ids() -> Iterator[dict[str, str]]:
    """The IDs the seed's records get (the org mints them the same way every time)."""
    with EmulatedOrg(seed=existing_seed()) as org:
        org.start()
        sf = org.client()
        ids = {r["Email"]: r["Id"] for r in sf.query("SELECT Id, Email FROM Lead")["records"]}
        ids["account"] = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
        ids["user"] = sf.query("SELECT Id FROM User LIMIT 1")["records"][0]["Id"]
        yield ids


def write(project: Path, data: bytes | str, name: str = "people.csv") -> str:
    path = project / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return name


def import_json(csv: str, code: int = 1) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["contacts", "import", csv, "--now", NOW, "--json"])
    assert result.exit_code == code, (result.output, result.exception)
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def refused(report: dict[str, Any]) -> dict[int, str]:
    """Refused rows: line number -> message."""
    return {e["row"]: e["message"] for e in report["errors"]}


def contact(email: str) -> dict[str, Any] | None:
    result = CliRunner().invoke(app, ["contact", email, "--json"])
    if result.exit_code == 2:
        return None
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


# --- the file ------------------------------------------------------------------------


def test_an_unterminated_quote_refuses_its_row_and_keeps_the_rows_after_it(
    project: Path,
) -> None:
    csv = write(
        project,
        'Email,Company\na@x.example,"Acme\nb@x.example,Beta\nc@x.example,Gamma\n',
    )
    report = import_json(csv)
    assert report["created"] == 2
    [(line, message)] = refused(report).items()
    assert line == 2
    assert message.startswith("unbalanced quote: the quote opened on this line is not closed")
    assert 'double a quote that is part of a value ("say ""hi""")' in message
    beta = contact("b@x.example")
    assert beta is not None
    assert beta["fields"]["Company"] == "Beta"
    assert contact("a@x.example") is None


def test_a_quote_closed_lines_later_does_not_swallow_the_rows_between(project: Path) -> None:
    csv = write(
        project,
        'Email,Company\na@x.example,"Acme\nb@x.example,Beta\nc@x.example,"Gamma"\n',
    )
    report = import_json(csv)
    assert set(refused(report)) == {2}
    assert contact("b@x.example") is not None
    assert contact("c@x.example") is not None


def test_a_quoted_value_may_hold_line_breaks(project: Path) -> None:
    csv = write(project, 'Email,Notes\na@x.example,"line one\nline two"\nb@x.example,plain\n')
    report = import_json(csv, code=0)
    assert (report["created"], report["errors"]) == (2, [])
    ada = contact("a@x.example")
    assert ada is not None
    assert ada["fields"]["Notes"] == "line one\nline two"


def test_cells_past_128_kib_import_up_to_the_documented_cap(project: Path) -> None:
    long, too_long = "x" * 200_000, "y" * (FIELD_SIZE_CAP + 1)
    csv = write(
        project,
        f"Email,Notes\na@x.example,{long}\nb@x.example,{too_long}\nc@x.example,short\n",
    )
    report = import_json(csv)
    assert report["created"] == 2
    assert refused(report) == {
        3: f"a cell is longer than {FIELD_SIZE_CAP:,} characters, the most one field "
        "takes: shorten it"
    }
    ada = contact("a@x.example")
    assert ada is not None
    assert len(ada["fields"]["Notes"]) == 200_000
    assert contact("c@x.example") is not None


def test_invalid_utf8_names_its_line_and_every_other_row_imports(project: Path) -> None:
    lines = [b"Email,Company"] + [f"p{n}@x.example,Co {n}".encode() for n in range(2, 3002)]
    lines[2501] = b"p2502@x.example,Caf\xe9"  # line 2,502 (the header is line 1)
    csv = write(project, b"\n".join(lines) + b"\n")
    report = import_json(csv)
    assert report["created"] == 2999
    [(line, message)] = refused(report).items()
    assert line == 2502
    assert message.startswith("not UTF-8 text (byte 0xE9 at column 20): save the file as UTF-8")
    for email in ("p2@x.example", "p2501@x.example", "p2503@x.example", "p3001@x.example"):
        assert contact(email) is not None
    assert contact("p2502@x.example") is None


def test_a_nul_byte_refuses_its_row(project: Path) -> None:
    csv = write(project, b"Email,Company\na@x.example,Ac\x00me\nb@x.example,Beta\n")
    report = import_json(csv)
    assert report["created"] == 1
    assert refused(report)[2].startswith("holds a NUL byte (0x00)")


def test_rows_with_the_wrong_number_of_cells_are_refused(project: Path) -> None:
    csv = write(
        project,
        "Email,Company,City\na@x.example,Acme,Paris,extra\nb@x.example,Beta\n"
        "c@x.example,,\nd@x.example,Delta,Rome\n",
    )
    report = import_json(csv)
    assert report["created"] == 2  # an empty cell is a cell
    problems = refused(report)
    assert set(problems) == {2, 3}
    assert problems[2].startswith("4 cells but the header has 3")
    assert problems[3].startswith("2 cells but the header has 3")


def test_a_utf16_file_is_refused_whole_with_how_to_save_it(project: Path) -> None:
    csv = write(project, "Email\na@x.example\n".encode("utf-16"))
    result = CliRunner().invoke(app, ["contacts", "import", csv, "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "input"
    assert "UTF-16" in error["message"]
    assert "save the file as UTF-8" in error["message"]


def test_the_same_problems_are_reported_in_words(project: Path) -> None:
    csv = write(project, b"Email\na@x.example\n\xff@x.example\n")
    result = CliRunner().invoke(app, ["contacts", "import", csv])
    assert result.exit_code == 1
    assert f"{csv}:3: error: not UTF-8 text (byte 0xFF at column 1)" in result.stderr
    assert "1 created, 0 updated, 0 unchanged; 1 rows refused" in result.stdout


# --- Salesforce IDs --------------------------------------------------------------------


def test_salesforce_ids_are_checked_by_length_checksum_and_object(
    project: Path, org_ids: dict[str, str]
) -> None:
    lead = org_ids[PEOPLE["owned"]]
    bad_checksum = lead[:15] + ("AAB" if lead[15:] != "AAB" else "AAC")
    rows = [
        ("Salesforce ID", "Email", "Salesforce Type"),
        (lead, PEOPLE["owned"], ""),  # 2: the 18-character ID
        (lead[:15], PEOPLE["owned"], ""),  # 3: its 15-character form: the same record
        (lead[:15].lower() + lead[15:].lower(), "", ""),  # 4: a spreadsheet lost the case
        (bad_checksum, "", ""),  # 5
        (lead[:16], "", ""),  # 6
        (org_ids["account"], "", ""),  # 7
        (org_ids["user"], "", ""),  # 8
        ("00Q-not-an-id!", "", ""),  # 9
        (lead, "", "Contact"),  # 10
    ]
    csv = write(project, "\n".join(",".join(r) for r in rows) + "\n")
    report = import_json(csv)
    assert report["created"] == 1  # rows 2-4 are one record, so one contact
    problems = refused(report)
    assert set(problems) == {5, 6, 7, 8, 9, 10}
    assert "checksum (the last 3 characters) does not match" in problems[5]
    assert "an ID has 15 or 18 characters, not 16" in problems[6]
    assert "is an Account's ID, not a Lead's (00Q...) or a Contact's (003...)" in problems[7]
    assert "is a User's ID" in problems[8]
    assert "an ID has only letters and digits" in problems[9]
    assert (
        f'Salesforce ID {lead} is a Lead\'s, but "Salesforce Type" says Contact' in (problems[10])
    )
    owned = contact(PEOPLE["owned"])
    assert owned is not None
    assert owned["salesforce"] == {"id": lead, "type": "Lead"}


def test_a_row_naming_an_unlinked_contact_by_email_links_it_instead_of_a_second_contact(
    project: Path, org_ids: dict[str, str]
) -> None:
    queued = PEOPLE["queued"]
    import_json(write(project, f"Email,Notes\n{queued},met at a fair\n"), code=0)
    first = contact(queued)
    assert first is not None
    assert first["salesforce"]["id"] is None
    report = import_json(
        write(project, f"Salesforce ID,Email\n{org_ids[queued][:15]},{queued}\n"), code=0
    )
    assert (report["created"], report["updated"]) == (0, 1)
    linked = contact(queued)
    assert linked is not None
    assert linked["id"] == first["id"]
    assert linked["salesforce"] == {"id": org_ids[queued], "type": "Lead"}
    sync = CliRunner().invoke(app, ["sync", "--once", "--json"])
    assert sync.exit_code == 0, sync.output
    status = json.loads(CliRunner().invoke(app, ["status", "--json"]).stdout)
    assert queued not in {d["email"] for d in status["possible_duplicates"]}
    after = contact(queued)
    assert after is not None
    assert after["id"] == first["id"]
    assert after["fields"]["Notes"] == "met at a fair"


def test_a_linked_record_is_never_linked_to_a_second_contact(
    project: Path, org_ids: dict[str, str]
) -> None:
    sync = CliRunner().invoke(app, ["sync", "--once", "--json"])
    assert sync.exit_code == 0, sync.output
    owned = org_ids[PEOPLE["owned"]]
    csv = write(
        project,
        "Salesforce ID,Email,Notes\n"
        f"{owned[:15]},{PEOPLE['owned'].upper()},called back\n"  # the record's contact
        f"{owned},someone.else@x.example,typo\n",  # another person for the same record
    )
    report = import_json(csv)
    assert (report["created"], report["updated"]) == (0, 1)
    message = refused(report)[3]
    assert f"Salesforce ID {owned} is already the contact {PEOPLE['owned']}" in message
    assert contact("someone.else@x.example") is None
    kept = contact(PEOPLE["owned"])
    assert kept is not None
    assert kept["fields"]["Notes"] == "called back"
    assert kept["fields"]["Lead Owner"] == "Bob Seller"


def test_two_records_sharing_an_email_stay_two_contacts_as_the_sync_keeps_them(
    project: Path, org_ids: dict[str, str]
) -> None:
    dup_ids = sorted(i for e, i in org_ids.items() if e and e.casefold() == PEOPLE["dup"])
    assert len(dup_ids) == 2
    csv = write(
        project, "Salesforce ID,Email\n" + "".join(f"{i},{PEOPLE['dup']}\n" for i in dup_ids)
    )
    assert import_json(csv, code=0)["created"] == 2
    status = json.loads(CliRunner().invoke(app, ["status", "--json"]).stdout)
    [duplicate] = status["possible_duplicates"]
    assert sorted(r["salesforce_id"] for r in duplicate["records"]) == dup_ids


def test_line_ends_of_every_kind_are_lines(project: Path) -> None:
    csv = write(project, b"Email,Company\r\na@x.example,Dos\rb@x.example,Mac\nc@x.example,Unix\n")
    report = import_json(csv, code=0)
    assert (report["created"], report["errors"]) == (3, [])
    mac = contact("b@x.example")
    assert mac is not None
    assert mac["fields"]["Company"] == "Mac"
