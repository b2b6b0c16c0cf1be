"""Command: journey contacts import.

Its own module so that taking a file of contacts in loads the store and the importer and
nothing else: no runner, no connector (an import performs nothing on Salesforce; ``journey
run`` creates the records it asks for), no simple-salesforce, OAuth or emulated org. The
project is opened for intake only (``engine.intake_project``): its journeys are neither
compiled nor published, so importing never changes what ``journey plan`` compares with.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from journey.cli.app import JsonOpt, contacts_app
from journey.cli.errors import ExitCode, row_problem
from journey.cli.moments import NowOpt, parse_moment
from journey.engine.csv_import import import_file
from journey.engine.intake_project import open_intake

__all__ = ["import_command"]


@contextmanager
def _progress(enabled: bool, file: Path) -> Iterator[Callable[[int, int], None]]:
    """The bar on a terminal (``cli.import_progress``); rich is loaded only to draw it."""
    if not (enabled and sys.stdout.isatty()):
        yield lambda _rows, _done: None
        return
    from journey.cli.import_progress import import_progress

    with import_progress(enabled, file) as progress:
        yield progress


@contacts_app.command(
    "import", epilog='Example: journey contacts import people.csv --list "Website Leads"'
)
def import_command(
    file: Annotated[
        Path, typer.Argument(metavar="CSV", help="A CSV file; the header row names the fields.")
    ],
    list_name: Annotated[
        str | None, typer.Option("--list", metavar="LIST", help="Add them to this list.")
    ] = None,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import contacts from a CSV; bad rows are reported by line and the rest imported."""
    moment = parse_moment(now)
    with open_intake() as project, _progress(not as_json, file) as progress:
        report = import_file(project.store, file, project.context(moment), list_name, progress)
    data = {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "errors": [row_problem(str(file), e.row, e.message) for e in report.errors],
        "salesforce_records_requested": report.requested,
        "ignored_columns": report.ignored_columns,
    }
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        for e in report.errors:
            typer.echo(f"{file}:{e.row}: error: {e.message}", err=True)
        for column, why in report.ignored_columns.items():
            typer.echo(f'{file}: column "{column}" set aside ({why})', err=True)
        added = f" to list {list_name!r}" if list_name else ""
        typer.echo(
            f"{report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged{added}; {len(report.errors)} rows refused"
        )
        if report.requested:
            typer.echo(
                f"{report.requested} without a Salesforce record: `journey run` (or the "
                "worker) creates theirs"
            )
    if report.errors:
        raise typer.Exit(ExitCode.PROBLEMS)
