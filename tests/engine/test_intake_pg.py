"""``journey contacts import`` on SQLite and on PostgreSQL alike: a NUL byte (which
PostgreSQL refuses in text) or a byte that is not UTF-8 costs only its own row, and a file
is one transaction — every good row, or, when the import stops part-way, none."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from journey.cli.main import app
from journey.engine.intake import BATCH, import_rows
from journey.engine.project import open_project
from journey.engine.store import Contact
from tests.existing_org import existing_seed


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str) -> Path:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "salesforce-seed.json").write_text(json.dumps(existing_seed()))
    (tmp_path / "journey.toml").write_text('[salesforce]\nseed = "salesforce-seed.json"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOURNEY_DATABASE_URL", store_url)
    return tmp_path


def emails_stored(project: Path) -> set[str]:
    opened = open_project(project, with_journeys=False)
    try:
        with opened.store.begin() as conn:
            return {r.email for r in conn.execute(sa.select(Contact.c.email))}
    finally:
        opened.close()


def test_a_nul_byte_and_bad_utf8_cost_only_their_rows(project: Path) -> None:
    lines = [b"Email,Company"] + [f"p{n}@x.example,Co {n}".encode() for n in range(2, 2602)]
    lines[1200] = b"p1201@x.example,Nul\x00Co"  # line 1,201, in the second batch's range
    lines[2501] = b"p2502@x.example,Caf\xe9"  # line 2,502, in the third
    (project / "people.csv").write_bytes(b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(app, ["contacts", "import", "people.csv", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["created"] == 2598
    assert [(e["row"], e["message"][:22]) for e in report["errors"]] == [
        (1201, "holds a NUL byte (0x00"),
        (2502, "not UTF-8 text (byte 0"),
    ]
    stored = emails_stored(project)
    assert len(stored) == 2598
    assert {"p1200@x.example", "p1202@x.example", "p2501@x.example", "p2601@x.example"} <= stored
    assert not {"p1201@x.example", "p2502@x.example"} & stored


class ImportStoppedError(Exception):
    pass


def rows_then_a_failure(count: int) -> Iterator[tuple[int, Mapping[str, str]]]:
    for n in range(count):
        yield n + 2, {"Email": f"q{n}@x.example"}
    raise ImportStoppedError


def test_an_import_that_stops_part_way_stores_nothing(project: Path) -> None:
    opened = open_project(project, with_journeys=False)
    try:
        ctx = opened.context(datetime(2026, 3, 2, 9, tzinfo=UTC))
        with pytest.raises(ImportStoppedError):
            import_rows(opened.store, rows_then_a_failure(BATCH * 2 + 10), ctx, "Imported")
    finally:
        opened.close()
    assert emails_stored(project) == set()
    (project / "people.csv").write_text("Email\n" + "".join(f"q{n}@x.example\n" for n in range(5)))
    again = CliRunner().invoke(app, ["contacts", "import", "people.csv", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["created"] == 5
