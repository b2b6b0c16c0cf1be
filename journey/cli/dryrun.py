"""Command: journey dry-run — a journey tried on a CSV of contacts, in memory.

Pipeline position: the thin shell around ``engine.dryrun``: open the dry run's connector
(the real Salesforce connector on a scratch copy of the embedded org, or reading a
configured org with its writes captured — ``connectors.scratch``), take each contact
through the journey, print each path (``--json`` for programs). Refused rows are
reported by line and end the command with exit 1, as ``contacts import`` does; nothing is
written anywhere, not even a store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from journey.cli.app import JsonOpt, app
from journey.cli.errors import ExitCode, row_problem
from journey.cli.runs import parse_moment
from journey.connectors.factory import open_connector
from journey.engine.config import load_config
from journey.engine.dryrun import DryRunReport, dry_run_file

__all__ = ["dry_run_command", "print_dry_run"]


@app.command(
    "dry-run",
    epilog="Example: journey dry-run journeys/welcome.journey --contacts "
    "journeys/sample-contacts.csv --at 2026-03-02T09:00",
)
def dry_run_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The journey file.")],
    contacts: Annotated[Path, typer.Option("--contacts", metavar="CSV", help="A CSV of contacts.")],
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="ISO-TIME", help="Start time (default: now)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Take contacts through a journey in memory: nothing is written anywhere.

    Refused rows are reported by line, as by contacts import, and the rest taken through."""
    moment = parse_moment(at)
    # The real connector, on scratch copies: the project's org and store stay as they are,
    # so there is nothing for JOURNEY_CONNECTOR=recording to spare.
    with open_connector(load_config(file), dry_run=True) as connector:
        report, errors = dry_run_file(file, contacts, moment, connector=connector)
    refused = [row_problem(str(contacts), e.row, e.message) for e in errors]
    if as_json:
        data = {**report.as_dict(), "errors": refused}
        typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        for e in errors:
            typer.echo(f"{contacts}:{e.row}: error: {e.message}", err=True)
        print_dry_run(report, typer.echo)
    if errors:
        raise typer.Exit(ExitCode.PROBLEMS)


def print_dry_run(report: DryRunReport, echo: Callable[[str], Any]) -> None:
    """The human dry-run report (the demo prints it too)."""
    echo(
        f'dry run of "{report.journey}" (version {report.version}) from '
        f"{report.at.isoformat(timespec='seconds')}: {len(report.contacts)} contacts, "
        "nothing written"
    )
    for path in report.contacts:
        echo("")
        echo(path.contact)
        for r in path.records:
            when = r.at.isoformat(timespec="minutes") if r.at else ""
            echo(f"  {when}  [{r.step_id}] {r.detail}")
            for rec in r.data.get("records", []):
                fields = ", ".join(f"{k}={v!r}" for k, v in sorted(rec["fields"].items()))
                echo(f"      would {rec['operation']} {rec['object']} {rec['id']}: {fields}")
        ending = path.status + (f' "{path.goal}"' if path.goal else "")
        if path.truncated:
            ending = f"still running after {path.steps} steps (cut short)"
        echo(f"  → {ending}")
