"""A dry run opens the org only for a journey that needs it (``engine.org_reads``), and a
journey that does not gets the same report either way: with no connector at all, and with
the real connector on a scratch copy of the embedded org (what the command used for every
journey before)."""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

import journey
from journey.connectors.factory import open_connector
from journey.engine.config import ProjectConfig, load_config
from journey.engine.dryrun import load_dry_run, stream_dry_run
from journey.engine.dryrun_json import json_document, write_all
from tests.dsl.dsl_spec import acceptance_files

EXAMPLE = Path(journey.__file__).parent / "example"
REPO = Path(__file__).resolve().parents[2]
ROUTING = REPO / "bench" / "peer" / "routing.journey"
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

HEAD = 'journey "J"\n\ntrigger added to list "In"\n\n'

#: Journeys with no Salesforce step, between them every step and condition kind that needs
#: no record: fields the sync does not map (the project's own), lists, segments, waits,
#: ``wait until``, splits, goals, templates.
LOCAL = {
    "fields and lists": """if field "Score" > 1000000 and field "Region" is "US":
    update field "Rating" to "Hot"
    add to list "Enterprise"
else if in segment "Big" or field "Tier" contains "VP":
    update field "Tier" to "Warm {{First Name}}"
else:
    add to list "Nurture"
    remove from list "Nurture"
""",
    "waits, splits and goals": """goal "Gold" when field "Tier" is "Gold"

wait 2 days
split 30% / 70%:
    path:
        update field "Tier" to "Gold"
    path:
        wait until field "Opted Out" is true for at most 3 days
        exit
""",
}

#: Journeys that need the org, for each reason ``engine.org_reads`` names.
NEEDS_ORG = {
    "a Salesforce action": 'update salesforce field "Title" to "Buyer"\n',
    "a Salesforce list": 'add to list "Salesforce Leads"\n',
    "a record type": "if is salesforce lead:\n    exit\n",
    "a campaign status": 'if campaign member status in "Q4 Webinar" is "Attended":\n    exit\n',
    "the record's owner": 'if field "Lead Owner" is empty:\n    exit\n',
    "a segment that reads a record": 'wait until in segment "Leads" for at most 2 days\n',
    "a goal that reads a record": 'goal "Lead" when is salesforce lead\n\nwait 1 day\n',
    "membership of a Salesforce list": 'if in list "Salesforce Contacts":\n    exit\n',
    "a field a record holds": 'if field "Title" is "Engineer":\n    exit\n',
    "a segment on such a field": 'if in segment "High intent":\n    exit\n',
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    toml = root / "journey.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            "[segments]\n",
            '[segments]\n"Leads" = \'is salesforce lead\'\n"Big" = \'field "Score" > 50\'\n',
        )
        + '\n[fields]\n"Score" = "Number"\n"Region" = "Text"\n"Tier" = "Text"\n'
        + '"Opted Out" = "True/False"\n',
        encoding="utf-8",
    )
    return root


def contacts_csv(root: Path) -> Path:
    """The example's sample contacts, and rows in the shape of bench/peer.py's."""
    path = root / "contacts.csv"
    shutil.copy(root / "journeys" / "sample-contacts.csv", path)
    with path.open("a", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        for i in range(60):
            revenue = "" if i % 9 == 4 else str(i * 7919 % 1_430_000 * 3)
            country = ("US", "France", "us")[i % 3]
            writer.writerow([f"c{i}@peer.example", f"Ann{i}", "", "", "", country, "", revenue])
    # The project's own fields, which no Salesforce record holds.
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    rows[0] += ["Score", "Region", "Tier"]
    for i, row in enumerate(rows[1:]):
        row += [str(i * 104729 % 2_100_000), ("US", "France")[i % 2], ("VP Sales", "")[i % 2]]
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    return path


def document(journey_file: Path, contacts: Path, *, with_org: bool) -> str:
    """The ``--json`` document; ``with_org``: as the command made it for every journey
    before, the configuration's models loaded and the org's scratch copy open."""
    setup = load_dry_run(journey_file)
    if with_org:
        setup = replace(setup, config=load_config(journey_file))
    pieces: list[str] = []

    def take(connector: object) -> None:
        run = stream_dry_run(setup, contacts, AT, connector)  # type: ignore[arg-type]
        write_all(json_document(run.head(), run.paths, lambda: list(run.errors)), pieces.append)

    if with_org:
        with open_connector(setup.config, dry_run=True) as connector:
            take(connector)
    else:
        take(None)
    return "".join(pieces)


def journeys_without_org(root: Path) -> list[Path]:
    files = []
    for name, body in LOCAL.items():
        path = root / "journeys" / f"{name.replace(' ', '-')}.journey"
        path.write_text(HEAD + body, encoding="utf-8")
        files.append(path)
    for spec in acceptance_files():
        copy = root / "journeys" / spec.name
        shutil.copy(spec, copy)
        try:
            qualifies = not load_dry_run(copy).needs_org
        except Exception:  # a spec journey this project cannot compile is not one to try
            qualifies = False
        if qualifies:
            files.append(copy)
        copy.unlink()
    return files


def test_journeys_without_salesforce_steps_get_the_same_report_without_the_org(
    project: Path,
) -> None:
    contacts = contacts_csv(project)
    files = journeys_without_org(project)
    assert len(files) >= 2
    for path in files:
        setup = load_dry_run(path)
        assert not setup.needs_org, path.name
        assert not isinstance(setup.config, ProjectConfig)  # journey check's light view
        without = document(path, contacts, with_org=False)
        assert without == document(path, contacts, with_org=True), path.name
        assert '"status": "completed"' in without or '"status": "exited"' in without


@pytest.mark.parametrize("reason", list(NEEDS_ORG))
def test_a_journey_that_reads_or_writes_salesforce_needs_the_org(
    project: Path, reason: str
) -> None:
    path = project / "journeys" / "needs.journey"
    path.write_text(HEAD + NEEDS_ORG[reason], encoding="utf-8")
    assert load_dry_run(path).needs_org


@pytest.mark.parametrize("name", sorted(p.name for p in (EXAMPLE / "journeys").glob("*.journey")))
def test_the_example_project_s_journeys_need_the_org(project: Path, name: str) -> None:
    """Each of the example's journeys calls Salesforce, so its dry run opens the org."""
    assert load_dry_run(project / "journeys" / name).needs_org


def test_bench_peer_s_routing_journey_needs_the_org(project: Path) -> None:
    """Its conditions ask "Annual Revenue" and "Country", which a known contact takes from
    its Salesforce record."""
    shutil.copy(ROUTING, project / "journeys" / ROUTING.name)
    assert load_dry_run(project / "journeys" / ROUTING.name).needs_org


def test_a_contact_the_org_knows_is_judged_on_its_record_s_values(project: Path) -> None:
    """The seed's Contact annie@langley.example is an "Engineer": a CSV row for her with no
    title takes the path the record decides, as a real run would after linking her."""
    path = project / "journeys" / "title.journey"
    path.write_text(HEAD + 'if field "Title" is "Engineer":\n    add to list "Eng"\n')
    contacts = project / "annie.csv"
    contacts.write_text("Email,First Name\nannie@langley.example,Annie\n", encoding="utf-8")
    assert load_dry_run(path).needs_org
    assert 'add to list \\"Eng\\"' in document(path, contacts, with_org=True)
    # What the dry run would wrongly say if it judged her on the CSV's row alone:
    assert 'add to list \\"Eng\\"' not in document(path, contacts, with_org=False)
