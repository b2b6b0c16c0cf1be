"""Commands: journey run, worker, status, contact, event.

Pipeline position: thin — parse arguments, call the engine (``engine.project``,
``engine.intake``, ``engine.runner``, ``engine.status``), print for people (rich) or for
programs (``--json``). User mistakes — a bad ``journey.toml``, a journey that does not
compile, a bad ``--now`` — go through the one failure path
(``journey.cli.errors``). The reading commands (``status``, ``contact``) never create the
store: in a fresh folder they say there is none yet.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from journey.cli.app import NO_STORE, JsonOpt, app, group
from journey.cli.errors import ExitCode, fail
from journey.cli.moments import NowOpt, parse_moment
from journey.connectors.base import Connector
from journey.connectors.factory import ConnectorHandle, open_connector
from journey.connectors.recording import JournalingConnector
from journey.engine.config import load_config
from journey.engine.locks import RunnerLock, command_name
from journey.engine.project import Project, open_project, store_exists
from journey.engine.runner import PassReport

# What only ``status``, ``contact`` and ``event`` use (rich's tables, the status queries,
# the connection's summary with its OAuth stack) is imported by them: ``journey run``,
# the command a scheduler starts every few minutes, pays for none of it.
if TYPE_CHECKING:
    from journey.engine.failed_runs import FailedRun

__all__ = [
    "CONNECTOR_ENV",
    "acting_project",
    "event_app",
    "parse_moment",
    "pass_summary",
    "recording_only",
]

event_app = group(
    "Tell the engine something happened to a contact.",
    epilog='Example: journey event form-submitted "Demo request" --email ada@initech.example',
)
app.add_typer(event_app, name="event")


def _now() -> datetime:
    return datetime.now(UTC)


T = TypeVar("T")

#: ``JOURNEY_CONNECTOR=recording``: write the side effects down (``.journey/recorder.db``,
#: the journaling connector) instead of performing them — for the engine's own tests.
CONNECTOR_ENV = "JOURNEY_CONNECTOR"


def recording_only() -> bool:
    return os.environ.get(CONNECTOR_ENV, "").strip().casefold() == "recording"


@contextmanager
def acting_project(
    now: datetime | None = None,
    with_journeys: bool = True,
    act: bool = False,
) -> Iterator[Project]:
    """The project; with ``act``, its connector is the one ``journey.toml`` describes (the
    embedded emulated org by default, a real org when configured) and, on a SQLite store,
    this process holds the runner lock (a second runner is refused with the way to scale;
    on PostgreSQL runners claim their runs and need no lock: ``engine.locks``). The org
    first: when a worker holds both, the refusal names the embedded org, the one it cannot
    share on any store."""
    handle: ConnectorHandle | None = None
    lock: RunnerLock | None = None
    try:
        config = load_config()
        if act and not recording_only():
            handle = open_connector(config)
            if sys.stdout.isatty():
                typer.echo(handle.description, err=True)
        if act:
            lock = RunnerLock(config.store_url)
            lock.acquire(command_name())
        connector: Connector | None = handle.connector if handle else None
        if not act:  # reading or taking contacts in: nothing is performed
            connector = JournalingConnector(keep_log=False)
        project = open_project(with_journeys=with_journeys, now=now, connector=connector)
    except BaseException:
        if handle is not None:
            handle.close()
        if lock is not None:
            lock.release()
        raise
    try:
        yield project
    finally:
        project.close()
        if handle is not None:
            handle.close()
        if lock is not None:
            lock.release()


def _emit(as_json: bool, data: Any) -> bool:
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    return as_json


@contextmanager
def _progress(enabled: bool, label: str) -> Iterator[Callable[[str], None]]:
    """A live line of counts on a terminal (``label: counts``); nothing when output is
    piped or JSON."""
    if not (enabled and sys.stdout.isatty()):
        yield lambda _counts: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(label)

        def update(counts: str) -> None:
            progress.update(task, description=f"{label}: {counts}")

        yield update


def _counted(rows: Iterable[T], update: Callable[[str], None], every: int = 500) -> Iterator[T]:
    for number, row in enumerate(rows, start=1):
        if number % every == 0:
            update(f"{number} rows")
        yield row


def pass_summary(report: PassReport) -> str:
    text = (
        f"{report.entered} entered, {report.runs} runs advanced, {report.steps} steps, "
        f"{report.effects} effects, {report.ended} ended ({report.failed} failed)"
    )
    if report.reconciled:
        text += f", {report.reconciled} effects reconciled after a crash"
    if report.paused:
        text += f"; paused: {report.paused}"
    return text


# --------------------------------------------------------------------------- running


@app.command(
    "run",
    epilog="Example: journey run --until-idle --now 2026-03-04T09:00 (exit 1: a run failed; "
    "exit 3: Salesforce paused the work)",
)
def run_command(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Repeat until nothing is left to do.")
    ] = False,
    now: NowOpt = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Runs per batch.")] = 1000,
    as_json: JsonOpt = False,
) -> None:
    """Process everything due: events into runs, due runs through their journeys."""
    moment = parse_moment(now)
    with acting_project(moment, act=True) as project, _progress(not as_json, "running") as progress:
        runner = project.runner(batch_size)
        run = runner.run_until_idle if until_idle else runner.run_once
        report = run(moment, lambda r: progress(f"{r.runs} runs, {r.steps} steps"))
    if not _emit(as_json, {"now": moment.isoformat(), **report.as_dict()}):
        typer.echo(pass_summary(report))
    if report.paused:
        raise typer.Exit(ExitCode.SALESFORCE)
    if report.failed:
        raise typer.Exit(ExitCode.PROBLEMS)


# --------------------------------------------------------------------------- reading


@app.command("status", epilog='Example: journey status "Welcome"')
def status_command(
    journey: Annotated[
        str | None, typer.Argument(metavar="JOURNEY", help="One journey's name.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Per-step counts for each published journey (entered, waiting, done, failed), the
    Salesforce API calls used today, possible duplicates to fix in Salesforce, and the
    workers (alive or gone, which one leads the sync). With JOURNEY, also who failed at
    which step and why (`journey retry` puts them back)."""
    from rich.console import Console
    from rich.table import Table

    from journey.cli.workers_view import workers_json, workers_table
    from journey.connectors.factory import connection_summary
    from journey.engine.failed_runs import failed_runs
    from journey.engine.journeys import journey_key
    from journey.engine.status import fleet_status, journey_status
    from journey.engine.sync import possible_duplicates

    config = load_config()
    if not store_exists(config):
        if journey is not None:
            fail(f'no published journey is named "{journey}"', "not_found", hint=NO_STORE)
        nothing = {
            "journeys": [],
            "salesforce": connection_summary(config),
            **workers_json([]),
        }
        if not _emit(as_json, {**nothing, "possible_duplicates": []}):
            typer.echo(NO_STORE)
        return
    with acting_project() as project:
        statuses = journey_status(project.store, project.catalog, journey)
        failures = {
            s.journey: failed_runs(
                project.store, project.catalog, journey_key=journey_key(s.journey)
            )
            for s in statuses
            if journey is not None
        }
        with project.store.begin() as conn:
            duplicates = possible_duplicates(conn)
        connection = connection_summary(project.config)
        moment = _now()
        fleet = fleet_status(project.store, moment)
    if journey is not None and not statuses:
        fail(f'no published journey is named "{journey}"', "not_found")
    listed = [
        {**s.as_dict(), "failures": [f.as_dict() for f in failures[s.journey]]}
        if s.journey in failures
        else s.as_dict()
        for s in statuses
    ]
    if _emit(
        as_json,
        {
            "journeys": listed,
            "salesforce": connection,
            "possible_duplicates": duplicates,
            **workers_json(fleet),
        },
    ):
        return
    console = Console()
    for s in statuses:
        runs = ", ".join(f"{n} {k}" for k, n in sorted(s.runs.items())) or "no runs yet"
        table = Table(title=f"{s.journey} (version {s.version}): {runs}", title_justify="left")
        for column in ("step", "line", "entered", "waiting", "done", "failed"):
            table.add_column(column, justify="left" if column == "step" else "right")
        for c in s.steps:
            table.add_row(
                f"{c.step}  {c.text}",
                str(c.line or ""),
                str(c.entered),
                str(c.waiting),
                str(c.done),
                str(c.failed),
            )
        console.print(table)
        for line in failure_lines(s.journey, failures.get(s.journey, [])):
            console.print(line, soft_wrap=True, markup=False, highlight=False)
    console.print(_connection_line(connection), soft_wrap=True)
    for dup in duplicates:
        ids = ", ".join(f"{r['type']} {r['salesforce_id']}" for r in dup["records"])
        console.print(
            f"possible duplicate: {dup['email']} is held by {ids} (merge them in Salesforce)",
            soft_wrap=True,
        )
    console.print(workers_table(fleet, moment), soft_wrap=True)


#: Failed runs ``journey status JOURNEY`` prints; ``--json`` lists every one.
SHOWN = 50


def failure_lines(journey: str, failures: Sequence[FailedRun]) -> list[str]:
    """The failed runs of one journey for people: who, where, why, when, how often."""
    if not failures:
        return []
    lines = [f"failed runs ({len(failures)}):"]
    for f in failures[:SHOWN]:
        why = f"{f.code}: {f.message}" if f.code else f.message
        when = f.failed_at.isoformat(timespec="seconds") if f.failed_at else "?"
        tries = f"{f.attempts} attempt{'s' if f.attempts != 1 else ''}"
        lines.append(f"  {f.email or f'contact {f.contact_id}'}  [{f.step}] {f.step_text}")
        lines.append(f"    {why}  ({when}, {tries})")
    if len(failures) > SHOWN:
        lines.append(f"  … and {len(failures) - SHOWN} more (--json lists every one)")
    lines.append(
        f'hint: fix the cause (in Salesforce or journey.toml), then `journey retry "{journey}"` '
        "(--step ID, --contact EMAIL to choose)"
    )
    return lines


def _connection_line(connection: Mapping[str, Any]) -> str:
    api = connection["api"]
    line = f"Salesforce: {connection['org']}: {api['calls_by_journeys']} API calls today"
    if api["org_limit"]:
        line += f" (org: {api['org_used']} of {api['org_limit']} used; our cap {api['cap']})"
    pause = connection["paused"]
    if pause:
        line += f"\npaused: {pause.get('code')}: {pause.get('message')}"
        line += f" (until {pause['until']})" if pause.get("until") else " (until renewed)"
    return line


@app.command("contact", epilog="Example: journey contact ada@initech.example --json")
def contact_command(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The contact's email.")],
    as_json: JsonOpt = False,
) -> None:
    """A contact's fields, lists, runs and activity feed."""
    from journey.engine.status import contact_report

    if not store_exists(load_config()):
        fail(f"no contact has the email {email!r}", "not_found", hint=NO_STORE)
    with acting_project(with_journeys=False) as project:
        report = contact_report(project.store, email)
    if report is None:
        fail(f"no contact has the email {email!r}", "not_found")
    if _emit(as_json, report.as_dict()):
        return
    typer.echo(f"{report.email or '(no email)'}  (contact {report.id})")
    sf = report.salesforce
    typer.echo(f"  salesforce: {sf['type']} {sf['id']}" if sf["id"] else "  salesforce: no record")
    typer.echo("  fields:")
    for name, value in report.fields.items():
        typer.echo(f"    {name}: {value}")
    typer.echo(f"  lists: {', '.join(report.lists) or '(none)'}")
    typer.echo("  runs:")
    for r in report.runs:
        due = f" until {r['next_due']}" if r["next_due"] else ""
        goal = f" ({r['goal']})" if r["goal"] else ""
        typer.echo(f"    {r['journey']}: {r['status']}{goal} at step {r['step']}{due}")
    typer.echo("  activity:")
    for a in report.activity:
        typer.echo(f"    {a['at']}  {a['journey'] or ''} [{a['step'] or ''}] {a['detail']}")


# --------------------------------------------------------------------------- contacts in


@event_app.command(
    "form-submitted",
    epilog='Example: journey event form-submitted "Demo request" --email ada@initech.example '
    '--field "Company=Initech"',
)
def form_submitted_command(
    form: Annotated[str, typer.Argument(metavar="FORM", help="The form's name.")],
    email: Annotated[str, typer.Option("--email", metavar="EMAIL", help="Who submitted it.")],
    field: Annotated[
        list[str] | None,
        typer.Option("--field", metavar="NAME=VALUE", help="A field of the form; repeatable."),
    ] = None,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A contact submitted a form: the contact is created or updated, journeys triggered."""
    from journey.engine.intake import submit_form

    moment = parse_moment(now)
    values: dict[str, str] = {}
    for item in field or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--field {item!r}: write it as NAME=VALUE")
        values[name.strip()] = value
    with acting_project(moment, with_journeys=False) as project:
        cid, created = submit_form(project.store, project.context(moment), form, email, values)
    if not _emit(as_json, {"contact": cid, "created": created, "form": form}):
        typer.echo(f"{'created' if created else 'updated'} {email}; form {form!r} submitted")
