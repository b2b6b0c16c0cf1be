"""Commands: journey demo — the main job, end to end, on embedded defaults.

Pipeline position: the README's first command. It copies the example project shipped in
the package (``journey.example``: ``journey.toml``, ``journeys/*.journey``, the Salesforce
seed and ``journeys/sample-contacts.csv``) into a fresh ``.journey/demo/`` under the
current folder, whatever that folder holds, and runs it for real: the sample contacts
enter the journeys, the durable engine takes them through three weeks of virtual time,
and every Salesforce action goes over HTTPS to the embedded emulated org (seeded with
users, a round-robin group, campaigns and an assignment rule). The user then sees what
happened: per-step counts, and the records created or changed in the org.

No credentials, no network, repeatable: each run starts from a new ``.journey/demo/``,
which is left behind so ``cd .journey/demo && journey status`` can look around.

The sync runs after every tick, as ``journey sync`` would every 10 minutes. The demo
plays the parts that happen in Salesforce, outside the engine: a sales rep qualifying
leads, and the webinar tool registering leads and marking attendance (campaign members);
the sync brings each in, and they move the journeys on.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from simple_salesforce.format import format_soql

from journey.cli.app import JsonOpt, app
from journey.cli.errors import fail
from journey.cli.runs import parse_moment
from journey.connectors.factory import open_connector
from journey.connectors.salesforce.replication import replication_for
from journey.engine.config import ProjectConfig, find_config, load_config
from journey.engine.contact import ContactView
from journey.engine.contacts import ContactContext, contact_id_by_email, load_views
from journey.engine.intake import import_csv, submit_form
from journey.engine.project import Project, open_project
from journey.engine.runner import PassReport
from journey.engine.scaffold import copy_project
from journey.engine.status import journey_status
from journey.engine.sync import SyncRun, run_cycle
from journey.example import SAMPLE_CONTACTS, example_project
from journey.vocabulary import AUTO_ASSIGN_HEADER

__all__ = ["DemoError", "DemoReport", "demo", "run_demo"]

#: How far the demo moves the clock, and how often the engine wakes up on the way.
DAYS = 21
TICK = timedelta(hours=6)

#: The sync runs every 10 minutes in real life; here every tick of virtual time.
SYNC_EVERY_TICKS = 1
#: (day, what happens outside the engine) — the sales floor and the webinar.
QUALIFIED_ON_DAY_1 = (
    "ada@initech.example",
    "grace@globex.example",
    "barbara@stark.example",
    "margaret@cyberdyne.example",
)
WEBINAR_REGISTRANTS = (
    "grace@globex.example",
    "frances@tyrell.example",
    "john@oscorp.example",
    "ken@wayne.example",
)
ATTENDED_ON_DAY_9 = ("john@oscorp.example",)
FORM_SUBMISSION = {
    "Email": "hedy@lamarr.example",
    "First Name": "Hedy",
    "Last Name": "Lamarr",
    "Company": "Lamarr Labs",
    "Rating": "Hot",
}

#: Sample contacts the example org already holds as Leads (salesforce-seed.json): one
#: owned by Bob, one waiting in the Inbound Queue. The demo says what became of their
#: owners: ``keep current assignment`` keeps a user owner, and a queue is no user owner.
EXISTING_LEADS = ("katherine.johnson@langley.example", "d.vaughan@langley.example")

#: What the demo shows of the org: object -> (SOQL, columns).
ORG_VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Lead": (
        "SELECT Name, Company, Owner.Name, Status, LeadSource, IsConverted FROM Lead ORDER BY Name",
        ("Name", "Company", "Owner.Name", "Status", "LeadSource", "IsConverted"),
    ),
    "Opportunity": (
        "SELECT Name, StageName, Amount, CloseDate, Account.Name FROM Opportunity ORDER BY Name",
        ("Name", "StageName", "Amount", "CloseDate", "Account.Name"),
    ),
    "Task": (
        "SELECT Subject, Owner.Name, ActivityDate, Priority FROM Task ORDER BY Subject",
        ("Subject", "Owner.Name", "ActivityDate", "Priority"),
    ),
    "CampaignMember": (
        "SELECT Campaign.Name, Lead.Name, Contact.Name, Status FROM CampaignMember ORDER BY Status",
        ("Campaign.Name", "Lead.Name", "Contact.Name", "Status"),
    ),
    "Account": ("SELECT Name FROM Account ORDER BY Name", ("Name",)),
    "Contact": ("SELECT Name, Account.Name FROM Contact ORDER BY Name", ("Name", "Account.Name")),
}


class DemoError(Exception):
    """The demo cannot run as configured; the message says why."""


@dataclass
class DemoReport:
    """What the demo did: where, what the engine did, the journeys' counts, the org."""

    folder: str
    started: str
    finished: str
    connection: str
    imported: int
    engine: dict[str, Any]
    #: The sync's cycles added up: records in, out, deleted, errors, API calls.
    sync: dict[str, int]
    journeys: list[dict[str, Any]]
    org: dict[str, list[dict[str, Any]]]
    api_calls: int
    outbox: int
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _prepare(where: Path) -> Path:
    """A fresh ``.journey/demo/`` holding a copy of the example project: in the project
    ``where`` belongs to (as its other state), else in ``where`` itself. The demo brings
    its own project, so ``where`` may be any folder, an empty one too; a ``journey.toml``
    around it is found, never read."""
    found = find_config(where)
    folder = ProjectConfig(root=found.parent if found else where).state_dir / "demo"
    shutil.rmtree(folder, ignore_errors=True)
    copy_project(example_project(), folder)
    return folder


def _contacts(project: Project, emails: tuple[str, ...]) -> list[ContactView]:
    """The demo's named people as the store holds them (their Salesforce records)."""
    with project.store.begin() as conn:
        ids = [cid for e in emails if (cid := contact_id_by_email(conn, e)) is not None]
        return list(load_views(conn, ids).values())


def _qualify(project: Project, sf: Any, emails: tuple[str, ...]) -> int:
    """A sales rep marks these leads Qualified in Salesforce (the sync brings it in).
    Returns how many leads changed."""
    views = _contacts(project, emails)
    leads = [v.salesforce_id for v in views if v.salesforce_type == "Lead" and v.salesforce_id]
    for lead in leads:
        sf.Lead.update(lead, {"Status": "Qualified"}, headers={AUTO_ASSIGN_HEADER: "FALSE"})
    return len(leads)


def _webinar(project: Project, sf: Any, emails: tuple[str, ...], status: str) -> int:
    """Webinar registrations and attendance happen in Salesforce (the webinar tool writes
    campaign members); the sync brings them in and they trigger the webinar journey."""
    views = _contacts(project, emails)
    [campaign] = sf.query("SELECT Id FROM Campaign WHERE Name = 'Q4 Webinar'")["records"]
    changed = 0
    for view in views:
        if not view.salesforce_id:
            continue
        who = "LeadId" if view.salesforce_type == "Lead" else "ContactId"
        found = sf.query(
            format_soql(
                "SELECT Id FROM CampaignMember WHERE CampaignId = {c} AND " + who + " = {w}",
                c=campaign["Id"],
                w=view.salesforce_id,
            )
        )["records"]
        if found:
            sf.CampaignMember.update(found[0]["Id"], {"Status": status})
        else:
            sf.CampaignMember.create(
                {"CampaignId": campaign["Id"], who: view.salesforce_id, "Status": status}
            )
        changed += 1
    return changed


def _existing_notes(sf: Any, seed: Path) -> list[str]:
    """What became of the existing Leads' owners (``EXISTING_LEADS``), as notes."""
    seeded = {
        str(lead["Email"]).casefold(): str(lead.get("OwnerId") or "")
        for lead in json.loads(seed.read_text()).get("Lead", [])
        if str(lead.get("Email", "")).casefold() in EXISTING_LEADS
    }
    notes = []
    for email, was in seeded.items():
        rows = sf.query(
            format_soql("SELECT Name, Owner.Name, Owner.Email FROM Lead WHERE Email = {}", email)
        )["records"]
        if not rows:
            continue
        name, owner = rows[0]["Name"], rows[0].get("Owner") or {}
        if str(owner.get("Email") or "").casefold() == was.casefold():
            notes.append(f"existing Lead {name} kept its owner {owner.get('Name')}")
        else:
            notes.append(
                f"existing Lead {name} was waiting in a queue: now owned by {owner.get('Name')}"
            )
    return notes


def _clock(project: Project) -> Callable[[datetime], Callable[[], ContactContext]]:
    """The sync's view of "now" at a tick of virtual time."""
    return lambda now: lambda: project.context(now)


def _add_cycle(total: dict[str, int], cycle: dict[str, Any]) -> dict[str, int]:
    keys = ("inbound", "outbound", "deleted", "conflicts", "errors", "api_calls")
    return {k: total.get(k, 0) + int(cycle.get(k) or 0) for k in keys} | {
        "cycles": total.get("cycles", 0) + 1
    }


def _org_records(sf: Any) -> dict[str, list[dict[str, Any]]]:
    def flat(record: dict[str, Any], column: str) -> Any:
        value: Any = record
        for part in column.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    return {
        name: [{c: flat(r, c) for c in columns} for r in sf.query_all(soql)["records"]]
        for name, (soql, columns) in ORG_VIEWS.items()
    }


@contextmanager
def _ticker(enabled: bool, total: int) -> Iterator[Callable[[str], None]]:
    if not enabled:
        yield lambda _label: None
        return
    with Progress(transient=True) as progress:
        task = progress.add_task("demo", total=total)

        def tick(label: str) -> None:
            progress.update(task, advance=1, description=label)

        yield tick


def run_demo(
    root: Path, *, start: datetime | None = None, show_progress: bool = False
) -> DemoReport:
    """Run the example project end to end in a fresh ``.journey/demo/`` (see
    ``_prepare``), ``root`` being the current folder (see module docs)."""
    folder = _prepare(root)
    demo_config = load_config(folder)
    t0 = (start or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    handle = open_connector(demo_config)
    org = handle.org
    if org is None:  # pragma: no cover - the copied journey.toml names no instance_url
        handle.close()
        raise DemoError("the demo runs on the embedded emulated org; remove instance_url")
    engine_total = PassReport()
    notes: list[str] = []
    with handle as connector:
        project = open_project(folder, connector=connector, now=t0)
        try:
            sf = org.client()
            source = replication_for(connector, bulk_threshold=demo_config.sync.bulk_threshold)
            sync_total: dict[str, int] = {}
            clock = _clock(project)
            ctx = project.context(t0)
            imported = import_csv(project.store, folder / SAMPLE_CONTACTS, ctx, "Website Leads")
            if imported.errors:
                notes += [f"row {e.row}: {e.message}" for e in imported.errors]
            submit_form(
                project.store,
                ctx,
                "Demo request",
                FORM_SUBMISSION["Email"],
                {k: v for k, v in FORM_SUBMISSION.items() if k != "Email"},
            )
            runner = project.runner()
            ticks = int(timedelta(days=DAYS) / TICK)
            with _ticker(show_progress, ticks + 1) as tick:
                for n in range(ticks + 1):
                    now = t0 + n * TICK
                    if now == t0 + timedelta(days=1):
                        qualified = _qualify(project, sf, QUALIFIED_ON_DAY_1)
                        notes.append(
                            f"day 1: a rep marked {qualified} leads Qualified in Salesforce"
                        )
                    if now == t0 + TICK:
                        registered = _webinar(project, sf, WEBINAR_REGISTRANTS, "Registered")
                        notes.append(f"day 0: {registered} leads registered for the webinar")
                    if now == t0 + timedelta(days=9):
                        attended = _webinar(project, sf, ATTENDED_ON_DAY_9, "Attended")
                        notes.append(f"day 9: {attended} registrant attended the webinar")
                    report = runner.run_until_idle(now)
                    engine_total.add(report)
                    if n % SYNC_EVERY_TICKS == 0:
                        cycle = run_cycle(SyncRun(project.store, source, demo_config, clock(now)))
                        sync_total = _add_cycle(sync_total, cycle.as_dict())
                        if cycle.stopped:
                            notes.append(f"sync stopped: {cycle.stopped}")
                    tick(f"day {n * TICK / timedelta(days=1):.1f}")
                    if report.paused:
                        notes.append(f"paused: {report.paused}")
                        break
            if demo_config.salesforce.seed:
                notes += _existing_notes(sf, folder / demo_config.salesforce.seed)
            journeys = [s.as_dict() for s in journey_status(project.store, project.catalog)]
            records = _org_records(sf)
            calls = org.api_calls
        finally:
            project.close()
    outbox = demo_config.state_dir / "outbox"
    return DemoReport(
        folder=os.path.relpath(folder, root),
        started=t0.isoformat(),
        finished=(t0 + timedelta(days=DAYS)).isoformat(),
        connection=handle.description,
        imported=imported.created + imported.updated + imported.unchanged,
        engine=engine_total.as_dict(),
        sync=sync_total,
        journeys=journeys,
        org=records,
        api_calls=calls,
        outbox=len(list(outbox.glob("*.eml"))) if outbox.is_dir() else 0,
        notes=notes,
    )


def print_report(report: DemoReport, console: Console) -> None:
    """The demo's story for people: what ran, each journey's steps, the org's records."""
    e = report.engine
    console.print(f"[bold]journey demo[/] in {report.folder}, {report.connection}")
    console.print(
        f"{report.imported} sample contacts imported; {DAYS} days of virtual time from "
        f"{report.started[:16]}: {e['entered']} runs entered, {e['steps']} steps, "
        f"{e['effects']} Salesforce actions, {report.api_calls} API calls"
    )
    y = report.sync
    console.print(
        f"{y.get('cycles', 0)} sync cycles: {y.get('inbound', 0)} records in, "
        f"{y.get('outbound', 0)} out, {y.get('deleted', 0)} deleted, {y.get('errors', 0)} "
        f"errors, {y.get('api_calls', 0)} API calls"
    )
    for note in report.notes:
        console.print(f"  {note}")
    for j in report.journeys:
        runs = ", ".join(f"{n} {k}" for k, n in sorted(j["runs"].items())) or "no runs"
        table = Table(title=f"{j['journey']}: {runs}", title_justify="left")
        for column in ("step", "entered", "waiting", "done", "failed"):
            table.add_column(column, justify="left" if column == "step" else "right")
        for s in j["steps"]:
            table.add_row(
                f"{s['step']}  {s['text']}",
                *(str(s[k]) for k in ("entered", "waiting", "done", "failed")),
            )
        console.print(table)
    for name, rows in report.org.items():
        if not rows:
            continue
        table = Table(
            title=f"{name} records in the emulated org ({len(rows)})", title_justify="left"
        )
        for column in rows[0]:
            table.add_column(column)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row.values()))
        console.print(table)
    console.print(
        f"{report.outbox} notification emails written to "
        f"{Path(report.folder) / '.journey' / 'outbox'}"
    )
    console.print(f"Look around: cd {report.folder} && journey status")


@app.command(epilog="Example: journey demo --at 2026-03-02T09:00")
def demo(
    at: Annotated[
        str | None,
        typer.Option("--at", help="Start the virtual clock at this ISO date-time (default: now)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the example journeys end to end on the embedded emulated org."""
    console = Console()
    try:
        start = parse_moment(at) if at else None
        report = run_demo(
            Path.cwd(), start=start, show_progress=not as_json and console.is_terminal
        )
    except DemoError as exc:
        fail(str(exc), "config")
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        print_report(report, console)
    if any(s["failed"] for j in report.journeys for s in j["steps"]):
        raise typer.Exit(1)
