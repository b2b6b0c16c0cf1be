"""A crash between the Salesforce call and the local commit: the durable engine, on a real
SQLite store, drives the Salesforce connector against the emulated org; the process "dies"
right after Salesforce answered (the connector's bookkeeping and the engine's commit never
happen). On restart the engine reconciles: no record is created twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from journey.connectors.salesforce.state import ConnectorState
from journey.emulator import EmulatedOrg
from journey.engine.intake import import_csv
from journey.engine.project import open_project
from journey.engine.store import Contact
from tests.connectors.salesforce.conftest import build_connector

JOURNEY = """journey "Inbound"

trigger added to list "Website Leads"

add to list "Salesforce Leads"
add task "Call {{First Name}}" due in 1 day
"""
NOW = datetime.now(UTC).replace(microsecond=0)


class Crash(BaseException):
    """The process dies here: nothing after this line runs (like SIGKILL)."""


def crashing_on(method: str, nth: int) -> type[ConnectorState]:
    """A state whose ``nth`` call of ``method`` never happens: the process died first."""
    calls = {"n": 0}

    class CrashingState(ConnectorState):
        def __getattribute__(self, name: str):  # type: ignore[no-untyped-def]
            if name == method:
                calls["n"] += 1
                if calls["n"] == nth:
                    raise Crash(method)
            return super().__getattribute__(name)

    return CrashingState


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "inbound.journey").write_text(JOURNEY)
    (tmp_path / "journey.toml").write_text('[salesforce]\ndefault_company = "Unknown"\n')
    (tmp_path / "contacts.csv").write_text(
        "Email,First Name,Last Name\n"
        + "".join(f"c{i}@example.org,C{i},Person{i}\n" for i in range(25))
    )
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    return tmp_path


def run(project: Path, org: EmulatedOrg, state_cls: type[ConnectorState] = ConnectorState) -> None:
    connector, _ = build_connector(org, project / ".journey", state_cls=state_cls)
    opened = open_project(project, connector=connector, now=NOW)
    try:
        opened.runner().run_until_idle(NOW)
    finally:
        opened.close()


def salesforce_ids(project: Path) -> dict[str, str | None]:
    engine = sa.create_engine(f"sqlite:///{project / '.journey' / 'state.db'}")
    table = Contact
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.email, table.c.salesforce_id)).all()
    engine.dispose()
    return {str(r.email): r.salesforce_id for r in rows}


def import_contacts(project: Path) -> None:
    opened = open_project(project, with_journeys=False)
    try:
        import_csv(opened.store, project / "contacts.csv", opened.context(NOW), "Website Leads")
    finally:
        opened.close()


@pytest.mark.parametrize(
    ("dies_at", "nth", "tasks_before"),
    [
        ("save_links", 1, 0),  # the Leads were created; nobody wrote their IDs down
        ("record_results", 1, 0),  # the Leads were linked; the outcome was not journaled
        ("record_results", 2, 25),  # the Tasks were created; neither side recorded it
    ],
)
def test_no_duplicate_record_after_a_crash(
    project: Path, org: EmulatedOrg, dies_at: str, nth: int, tasks_before: int
) -> None:
    import_contacts(project)
    with pytest.raises(Crash):
        run(project, org, crashing_on(dies_at, nth))
    client = org.client()
    created = client.query("SELECT COUNT() FROM Lead WHERE Email LIKE 'c%@example.org'")
    assert created["totalSize"] == 25  # Salesforce did the work before the process died
    assert client.query("SELECT COUNT() FROM Task")["totalSize"] == tasks_before
    run(project, org)
    leads = client.query_all("SELECT Id, Email FROM Lead WHERE Email LIKE 'c%@example.org'")
    by_email = {r["Email"]: r["Id"] for r in leads["records"]}
    assert len(leads["records"]) == 25  # nothing created twice
    assert salesforce_ids(project) == by_email  # and each contact knows its Lead
    tasks = client.query_all("SELECT WhoId, Subject FROM Task")["records"]
    assert sorted(t["WhoId"] for t in tasks) == sorted(by_email.values())
    assert {t["Subject"] for t in tasks} == {f"Call C{i}" for i in range(25)}
