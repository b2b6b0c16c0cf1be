"""Commands: ``journey sync [--once] [--full]``, ``journey sync errors`` and ``journey
salesforce fields refresh``.

Pipeline position: the thin shell around ``engine.sync``: load ``journey.toml``, open the
connector (``connectors.factory``) and the project, run cycles, print one summary line per
cycle (``--json``: one JSON object per cycle). A bad setting goes through the one failure
path (``journey.cli.errors``); a cycle stopped by Salesforce prints why and, with
``--once``, exits 3 when Salesforce paused the work (session expired, API cap) and 1 when
it stopped for another reason — nothing is lost, the next cycle picks up where this one
stopped. ``sync errors`` only looks: without a store it creates none.
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

from journey.cli.app import JsonOpt, app, group, salesforce_app
from journey.cli.errors import ExitCode, fail
from journey.connectors.factory import connection_status, open_connector
from journey.connectors.salesforce.replication import SalesforceReplication, replication_for
from journey.engine.config import SYNC_OBJECTS, ProjectConfig, load_config
from journey.engine.project import Project, open_project, store_exists
from journey.engine.store import open_store
from journey.engine.sync import CycleSummary, SyncRun, error_rows, run_cycle
from journey.engine.sync.mapping import field_maps
from journey.engine.sync.records import put_setting

__all__ = ["errors_command", "fields_refresh_command", "summary_line", "sync_callback"]

sync_app = group(
    "Keep Leads, Contacts, Accounts and campaign members in step with Salesforce.",
    invoke_without_command=True,
    no_args_is_help=False,
    epilog="Example: journey sync --once (exit 3: Salesforce paused the sync; "
    "1: it stopped for another reason)",
)
app.add_typer(sync_app, name="sync")
fields_app = group(
    "Salesforce fields the sync can map.", epilog="Example: journey salesforce fields refresh Lead"
)
salesforce_app.add_typer(fields_app, name="fields")


@contextmanager
def _opened() -> Iterator[tuple[ProjectConfig, Project, SalesforceReplication, str]]:
    config = load_config()
    handle = open_connector(config)
    try:
        project = open_project(config.root, connector=handle.connector, with_journeys=False)
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
    with _opened() as (config, project, source, description):
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
                    should_stop=stop.is_set,
                )
                summary = run_cycle(run, full=full and first)
            first = False
            if as_json:
                typer.echo(json.dumps(summary.as_dict(), sort_keys=True))
            else:
                typer.echo(summary_line(summary))
            if once:
                raise typer.Exit(_stopped_code(config) if summary.stopped else ExitCode.OK)
            if stop.wait(config.sync.interval_seconds):
                return


def _stopped_code(config: ProjectConfig) -> int:
    """3 when the cycle stopped because Salesforce paused the work (as ``journey run``
    says), 1 otherwise."""
    paused = connection_status(config)["paused"]
    return ExitCode.SALESFORCE if paused else ExitCode.PROBLEMS


@sync_app.command("errors", epilog="Example: journey sync errors --json")
def errors_command(as_json: JsonOpt = False) -> None:
    """Records the sync could not take or write; each is retried every cycle."""
    config = load_config()
    if not store_exists(config):  # nothing has synced: nothing to show, nothing to create
        typer.echo("[]" if as_json else "no sync errors")
        return
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


@fields_app.command("refresh", epilog="Example: journey salesforce fields refresh Lead Contact")
def fields_refresh_command(
    objects: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="OBJECT", help="Objects to describe (default: Lead, Contact, Account)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Read describe again and show what can be mapped; read-only fields (not updateable or
    a formula) sync inbound only. The sync keeps what it read: run this after creating or
    changing fields in Salesforce."""
    wanted = objects or ["Lead", "Contact", "Account"]
    out: dict[str, list[dict[str, Any]]] = {}
    for sobject in wanted:
        if sobject not in SYNC_OBJECTS:
            fail(f"{sobject}: not a synced object", hint=f"one of {', '.join(SYNC_OBJECTS)}")
    with _opened() as (config, project, source, _description):
        for sobject in wanted:
            fields = source.describe(sobject, refresh=True)
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
