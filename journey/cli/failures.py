"""The command that recovers failed runs: ``journey retry`` (``journey status JOURNEY``
lists them).

Pipeline position: thin — the choice of runs and the retry itself are
``engine.failed_runs``; this module parses the filters, refuses names that match nothing
that exists (exit 2), and prints counts for people or JSON for programs. Only the store is
touched: a retry never calls Salesforce, so it works while a worker runs, and the worker
(or the next ``journey run``) takes the runs on.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from journey.cli.app import NO_STORE, JsonOpt, app
from journey.cli.errors import ExitCode, fail
from journey.cli.moments import NowOpt, parse_moment
from journey.connectors.recording import JournalingConnector
from journey.engine.config import load_config
from journey.engine.contacts import contact_id_by_email
from journey.engine.failed_runs import RetryReport, failed_runs, retry_failed
from journey.engine.journeys import journey_key
from journey.engine.project import open_project, store_exists

__all__ = ["retry_command"]


def _report_lines(report: RetryReport) -> list[str]:
    lines = [
        f"retried {f.email or f'contact {f.contact_id}'}: {f.journey} [{f.step}] {f.step_text}"
        for f in report.retried
    ]
    lines += [
        f"not retried {f.email or f'contact {f.contact_id}'}: {f.journey} [{f.step}]: {why}"
        for f, why in report.skipped
    ]
    n = len(report.retried)
    lines.append(
        f"{n} failed run{'s' if n != 1 else ''} put back at their failed step, due now; "
        f"{len(report.skipped)} not retried"
        + ("; `journey run` or a running worker takes them on" if n else "")
    )
    return lines


@app.command(
    "retry",
    epilog='Example: journey retry "Webinar" --step 3 --contact ada@initech.example. '
    "Exit 0: runs were put back; 1: no failed run matched; 2: no such journey, step or "
    "contact.",
)
def retry_command(
    journey: Annotated[
        str | None,
        typer.Argument(metavar="JOURNEY", help="Only this journey's failed runs (default: all)."),
    ] = None,
    step: Annotated[
        str | None,
        typer.Option("--step", metavar="ID", help="Only runs failed at this step (needs JOURNEY)."),
    ] = None,
    contact: Annotated[
        str | None, typer.Option("--contact", metavar="EMAIL", help="Only this contact's runs.")
    ] = None,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Put failed runs back at their failed step, due now, once the cause is fixed."""
    moment = parse_moment(now)
    if step is not None and journey is None:
        fail("--step needs the journey it is a step of", hint='journey retry "JOURNEY" --step ID')
    config = load_config()
    if not store_exists(config):
        fail("no failed runs: nothing has run yet", "not_found", hint=NO_STORE)
    project = open_project(connector=JournalingConnector(keep_log=False), now=None)
    try:
        key = journey_key(journey) if journey is not None else None
        if key is not None and key not in project.catalog.current:
            fail(f'no published journey is named "{journey}"', "not_found")
        if key is not None and step is not None:
            steps = project.catalog.current[key].steps
            # A run on an older version may have failed at a step the current one lacks.
            older = failed_runs(project.store, project.catalog, journey_key=key, step=step, limit=1)
            if step not in steps and not older:
                fail(
                    f'"{journey}" has no step {step!r}',
                    "not_found",
                    hint=f'`journey status "{journey}"` lists its steps and their ids',
                )
        cid: int | None = None
        if contact is not None:
            with project.store.engine.connect() as conn:
                cid = contact_id_by_email(conn, contact)
            if cid is None:
                fail(f"no contact has the email {contact!r}", "not_found")
        report = retry_failed(
            project.store, project.catalog, moment, journey_key=key, step=step, contact_id=cid
        )
    finally:
        project.close()
    if as_json:
        typer.echo(json.dumps({"now": moment.isoformat(), **report.as_dict()}, sort_keys=True))
    else:
        for line in _report_lines(report):
            typer.echo(line)
    if not report.retried and not report.skipped:
        if not as_json:
            typer.echo("no failed run matched", err=True)
        raise typer.Exit(ExitCode.PROBLEMS)
