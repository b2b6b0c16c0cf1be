"""Command: journey dry-run — a journey tried on a CSV of contacts, in memory.

Pipeline position: the thin shell around ``engine.dryrun``: for a journey that needs
Salesforce (``engine.org_reads``), open the dry run's connector (the real Salesforce
connector on a scratch copy of the embedded org, or reading a configured org with its
writes captured — ``connectors.scratch``; imported only then, and for a journey that only
reads its contacts' records from the embedded org, only once a contact might have one:
``connectors.dry_run_reads``), take each contact through the journey, print each path as
its chunk of contacts is done (``--json`` for programs, ``--jsonl`` for a large file's
report read as it comes). Refused rows are
reported by line and end the command with exit 1, as ``contacts import`` does; nothing is
written anywhere, not even a store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from journey.cli.app import JsonOpt, app
from journey.cli.errors import ExitCode, row_problem
from journey.cli.moments import parse_moment
from journey.engine.collector import held_back
from journey.engine.dryrun import (
    ContactPath,
    DryRunReport,
    DryRunSetup,
    DryRunStream,
    load_dry_run,
    stream_dry_run,
)
from journey.engine.dryrun_json import json_document, jsonl_lines, write_all
from journey.engine.org_reads import calls_salesforce

if TYPE_CHECKING:
    from journey.connectors.base import Connector
    from journey.connectors.factory import ConnectorHandle
    from journey.connectors.sync import RecordReader

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
    as_jsonl: Annotated[
        bool,
        typer.Option(
            "--jsonl",
            help="Print JSON lines, for large files: one object per contact as it is "
            "taken through (the shape of one --json contact), then a summary line "
            "(journey, version, at, contacts, statuses, errors).",
        ),
    ] = False,
) -> None:
    """Take contacts through a journey in memory: nothing is written anywhere.

    Refused rows are reported by line, as by contacts import, and the rest taken through.
    Paths are printed as the contacts are taken through, a chunk at a time."""
    moment = parse_moment(at)
    setup = load_dry_run(file)
    emails = _embedded_emails(setup) if setup.needs_org else None
    if not setup.needs_org:
        run = _frozen(setup, contacts, moment, Reads(), as_json, as_jsonl)
    elif emails is not None:
        from journey.connectors.dry_run_reads import OrgOnFirstRead

        with OrgOnFirstRead(lambda: _scratch(setup), emails) as reader:
            run = _frozen(setup, contacts, moment, Reads(reader=reader), as_json, as_jsonl)
    else:
        with _scratch(setup) as connector:
            run = _frozen(setup, contacts, moment, Reads(connector), as_json, as_jsonl)
    if run.errors:
        raise typer.Exit(ExitCode.PROBLEMS)


@dataclass(frozen=True)
class Reads:
    """What the dry run reaches Salesforce through: the scratch connector (a journey that
    calls Salesforce), a reader opened at the first contact the org may hold
    (``connectors.dry_run_reads``), or nothing (a journey that needs no org)."""

    connector: Connector | None = None
    reader: RecordReader | None = None


def _embedded_emails(setup: DryRunSetup) -> frozenset[str] | None:
    """The embedded org's Leads' and Contacts' emails, for a journey whose only need of the
    org is to read its contacts' records; None when the org must be opened anyway."""
    if setup.config.salesforce.remote or calls_salesforce(setup.journey):
        return None
    from journey.connectors.dry_run_reads import person_emails

    return person_emails(setup.config)


def _scratch(setup: DryRunSetup) -> ConnectorHandle:
    from journey.connectors.factory import open_connector

    # The real connector, on scratch copies: the project's org and store stay as they
    # are, so there is nothing for JOURNEY_CONNECTOR=recording to spare.
    return open_connector(setup.project_config(), dry_run=True)


def _frozen(
    setup: DryRunSetup,
    contacts: Path,
    moment: datetime,
    reads: Reads,
    as_json: bool,
    jsonl: bool,
) -> DryRunStream:
    # The collector held back while the contacts are taken through (``engine.collector``).
    with held_back():
        return _report(setup, contacts, moment, reads, as_json, jsonl)


def _report(
    setup: DryRunSetup,
    contacts: Path,
    moment: datetime,
    reads: Reads,
    as_json: bool,
    jsonl: bool,
) -> DryRunStream:
    # The human report starts with the number of contacts: it reads the file first.
    human = not (as_json or jsonl)
    run = stream_dry_run(
        setup,
        contacts,
        moment,
        reads.connector,
        reader=reads.reader,
        whole=human,
    )

    def refused() -> list[dict[str, Any]]:
        return [row_problem(str(contacts), e.row, e.message) for e in run.errors]

    if jsonl:
        write_all((line + "\n" for line in jsonl_lines(run.head(), run.paths, refused)), _out)
    elif as_json:
        write_all(json_document(run.head(), run.paths, refused), _out)
        _out("\n")
    else:
        for e in run.errors:
            typer.echo(f"{contacts}:{e.row}: error: {e.message}", err=True)
        _print(run.journey, run.version, run.at, run.contacts or 0, run.paths, typer.echo)
    return run


def _out(text: str) -> None:
    typer.echo(text, nl=False)


def print_dry_run(report: DryRunReport, echo: Callable[[str], Any]) -> None:
    """The human dry-run report (the demo prints it too)."""
    _print(report.journey, report.version, report.at, len(report.contacts), report.contacts, echo)


def _print(
    journey: str,
    version: str,
    at: datetime,
    count: int,
    paths: Iterable[ContactPath],
    echo: Callable[[str], Any],
) -> None:
    echo(
        f'dry run of "{journey}" (version {version}) from '
        f"{at.isoformat(timespec='seconds')}: {count} contacts, "
        "nothing written"
    )
    for path in paths:
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
