"""Commands: ``journey sync [--once] [--full]``, ``journey sync errors`` and ``journey
salesforce fields refresh``.

Pipeline position: the thin shell around ``engine.sync``: load ``journey.toml``, open the
connector (``connectors.factory``) and the project, run cycles, print one summary line per
cycle (``--json``: one JSON object per cycle). A bad setting is a message and exit code 2;
a cycle stopped by Salesforce (session expired, API cap) prints why and, with ``--once``,
exits 1 — nothing is lost, the next cycle picks up where this one stopped.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from journey.cli.app import JsonOpt, app, fail, project_config, salesforce_app
from journey.connectors.factory import ConnectionSettingsError, open_connector
from journey.connectors.salesforce.replication import SalesforceReplication, replication_for
from journey.connectors.sync import SyncProblem
from journey.engine.config import SYNC_OBJECTS, ConfigError, ProjectConfig
from journey.engine.journeys import JourneyLoadError
from journey.engine.project import Project, open_project
from journey.engine.store import open_store
from journey.engine.sync import CycleSummary, SyncRun, error_rows, run_cycle
from journey.engine.sync.mapping import field_maps
from journey.engine.sync.records import put_setting

__all__ = ["errors_command", "fields_refresh_command", "summary_line", "sync_callback"]

sync_app = typer.Typer(
    help="Keep Leads, Contacts, Accounts and campaign members in step with Salesforce.",
    invoke_without_command=True,
)
app.add_typer(sync_app, name="sync")
fields_app = typer.Typer(help="Salesforce fields the sync can map.", no_args_is_help=True)
salesforce_app.add_typer(fields_app, name="fields")


@contextmanager
def _opened(as_json: bool) -> Iterator[tuple[ProjectConfig, Project, SalesforceReplication, str]]:
    config = project_config(as_json)
    try:
        handle = open_connector(config)
    except ConnectionSettingsError as error:
        fail(str(error), as_json)
    try:
        try:
            project = open_project(config.root, connector=handle.connector, with_journeys=False)
        except (ConfigError, JourneyLoadError) as error:
            fail(str(error), as_json)
        try:
            source = replication_for(handle.connector, bulk_threshold=config.sync.bulk_threshold)
            yield config, project, source, handle.description
        finally:
            project.store.close()
    finally:
        handle.close()


def summary_line(summary: CycleSummary) -> str:
    """One cycle for people: in, out, deleted, errors, API calls."""
    text = (
        f"sync: {summary.inbound} in, {summary.outbound} out, {summary.deleted} deleted, "
        f"{summary.errors} errors, {summary.api_calls} API calls ({summary.seconds:.2f} s)"
    )
    if summary.full_reads:
        text += f"; first read of {', '.join(summary.full_reads)}"
    if summary.conflicts:
        text += f"; {summary.conflicts} conflicts settled"
    if summary.activities:
        text += f"; {summary.activities} activities sent"
    if summary.duplicates:
        text += (
            f"; {summary.duplicates} emails held by several Salesforce records "
            "(possible duplicates: merge them in Salesforce)"
        )
    if summary.stopped:
        text += f"\nstopped: {summary.stopped}"
    return text


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar for long first reads, on a terminal only."""
    if not (enabled and sys.stdout.isatty()):
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def update(sobject: str, seen: int, expected: int) -> None:
            if sobject not in tasks:
                tasks[sobject] = progress.add_task(f"reading {sobject}", total=expected or None)
            progress.update(tasks[sobject], completed=seen)

        yield update


@sync_app.callback()
def sync_callback(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and stop.")] = False,
    full: Annotated[
        bool,
        typer.Option("--full", help="Re-read every record in scope (picks up formula changes)."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run sync cycles every [sync] every (default 10m), or one with --once."""
    if ctx.invoked_subcommand is not None:
        return
    with _opened(as_json) as (config, project, source, description):
        if not as_json:
            typer.echo(description, err=True)
        stop = threading.Event()
        if not once:

            def on_signal(_signum: int, _frame: FrameType | None) -> None:
                stop.set()

            signal.signal(signal.SIGINT, on_signal)
            signal.signal(signal.SIGTERM, on_signal)
        first = True
        while True:
            with _progress(not as_json) as progress:
                run = SyncRun(
                    project.store,
                    source,
                    config,
                    lambda: project.context(datetime.now(UTC)),
                    progress=progress,
                )
                summary = run_cycle(run, full=full and first)
            first = False
            if as_json:
                typer.echo(json.dumps(summary.as_dict(), sort_keys=True))
            else:
                typer.echo(summary_line(summary))
            if once:
                raise typer.Exit(1 if summary.stopped else 0)
            if stop.wait(config.sync.interval_seconds):
                return


@sync_app.command("errors")
def errors_command(as_json: JsonOpt = False) -> None:
    """Records the sync could not take or write; each is retried every cycle."""
    config = project_config(as_json)
    store = open_store(config.store_url)
    try:
        with store.begin() as conn:
            rows = error_rows(conn)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(rows, sort_keys=True, default=str))
        return
    if not rows:
        typer.echo("no sync errors")
        return
    table = Table("record", "contact", "way", "error", "attempts", "since")
    for row in rows:
        table.add_row(
            f"{row['object'] or ''} {row['salesforce_id'] or ''}".strip(),
            str(row["contact_id"] or ""),
            "to Salesforce" if row["direction"] == "out" else "from Salesforce",
            f"{row['code']}: {row['message']}",
            str(row["attempts"]),
            str(row["first_at"])[:19],
        )
    Console(width=140).print(table)


@fields_app.command("refresh")
def fields_refresh_command(
    objects: Annotated[
        list[str] | None,
        typer.Argument(help="Objects to describe (default: Lead, Contact, Account)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Read describe and show what can be mapped; read-only fields (not updateable or a
    formula) sync inbound only. The sync remembers what it read."""
    wanted = objects or ["Lead", "Contact", "Account"]
    out: dict[str, list[dict[str, Any]]] = {}
    with _opened(as_json) as (config, project, source, _description):
        for sobject in wanted:
            if sobject not in SYNC_OBJECTS:
                fail(f"{sobject}: not a synced object ({', '.join(SYNC_OBJECTS)})", as_json)
            try:
                fields = source.describe(sobject)
            except SyncProblem as problem:
                fail(f"{sobject}: {problem.code}: {problem.message}", as_json)
            mapped = {
                m.path: m.contact_field
                for m in field_maps(sobject, config.sync, config.all_fields())
            }
            with project.store.begin() as conn:
                put_setting(conn, f"describe:{sobject}", [f.name for f in fields if not f.writable])
            out[sobject] = [
                {
                    "name": f.name,
                    "label": f.label,
                    "type": "True/False" if f.type == "boolean" else f.type,
                    "read_only": not f.writable,
                    "formula": f.calculated,
                    "custom": f.custom,
                    "mapped_to": mapped.get(f.name),
                }
                for f in fields
            ]
    if as_json:
        typer.echo(json.dumps(out, sort_keys=True))
        return
    console = Console(width=120)
    for sobject, rows in out.items():
        table = Table("field", "label", "type", "sync", "mapped to", title=sobject)
        for row in rows:
            way = (
                "inbound only (formula)"
                if row["formula"]
                else ("inbound only (read-only)" if row["read_only"] else "both ways")
            )
            table.add_row(row["name"], row["label"], row["type"], way, row["mapped_to"] or "")
        console.print(table)
