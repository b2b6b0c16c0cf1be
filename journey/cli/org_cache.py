"""Command: ``journey salesforce refresh`` — read what journeys name in the org, once, so
``journey check`` holds journeys against it without calling Salesforce.

Pipeline position: the thin shell around ``connectors.salesforce.org_catalog`` (the read)
and ``engine.org_cache`` (the file): load ``journey.toml``, open the connector
(``connectors.factory``, so the calls count against the API budget), read, write
``.journey/org.json``, print a summary (``--json`` for programs), with a progress bar on a
terminal. On the embedded emulated org there is nothing to read: ``check`` knows its seed.
Failures go through the one failure path (``journey.cli.errors``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn

from journey.cli.app import JsonOpt, salesforce_app
from journey.cli.errors import fail
from journey.connectors.factory import open_connector
from journey.connectors.salesforce.connector import SalesforceConnector
from journey.connectors.salesforce.org_catalog import read_catalog
from journey.engine.config import load_config
from journey.engine.org_cache import OrgCatalog, save_catalog

__all__ = ["refresh_command", "summary"]

_EMBEDDED = (
    "the project uses the embedded emulated org: `journey check` reads its seed, "
    "so there is nothing to refresh"
)


@contextmanager
def _progress(shown: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if not (shown and sys.stderr.isatty()):
        yield None
        return
    columns = (TextColumn("reading {task.description}"), BarColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("the org", total=3)

        def update(what: str, done: int, total: int) -> None:
            progress.update(task, description=what, completed=done, total=total)

        yield update


def summary(catalog: OrgCatalog) -> dict[str, Any]:
    """What a refresh read, counted (the ``--json`` shape, without the path)."""
    return {
        "instance_url": catalog.instance_url,
        "read_at": catalog.read_at.isoformat(),
        "api_calls": catalog.api_calls,
        "users": len(catalog.users),
        "inactive_users": sum(not u.active for u in catalog.users),
        "queues": len(catalog.queues),
        "campaigns": len(catalog.campaigns),
        "lead_statuses": len(catalog.lead_statuses),
        "objects": sorted(catalog.objects),
    }


@salesforce_app.command("refresh", epilog="Example: journey salesforce refresh")
def refresh_command(as_json: JsonOpt = False) -> None:
    """Cache the org's users (inactive ones too), queues, campaigns, statuses and fields
    in .journey/org.json for journey check, which never calls Salesforce."""
    config = load_config()
    if not config.salesforce.remote:
        if as_json:
            typer.echo(json.dumps({"refreshed": False, "reason": _EMBEDDED}))
        else:
            typer.echo(_EMBEDDED)
        return
    handle = open_connector(config)
    try:
        connector = handle.connector
        if not isinstance(connector, SalesforceConnector):  # pragma: no cover - by design
            fail("the configured connector cannot read the org")
        # An OAuth connection learns its instance from the token, not from journey.toml.
        url = config.salesforce.instance_url or f"https://{connector.api.sf.sf_instance}"
        with _progress(not as_json) as progress:
            try:
                catalog = read_catalog(connector.api, url, progress, state=connector.state)
            finally:
                connector.api.budget.save()
    finally:
        handle.close()
    path = save_catalog(config.state_dir, catalog)
    counted = summary(catalog)
    if as_json:
        typer.echo(json.dumps({"refreshed": True, "path": str(path), **counted}, sort_keys=True))
        return
    inactive = counted["inactive_users"]
    typer.echo(
        f"read {url} in {counted['api_calls']} API calls: {counted['users']} users "
        f"({inactive} inactive), {counted['queues']} queues, {counted['campaigns']} campaigns, "
        f"{counted['lead_statuses']} lead statuses, the fields of {len(counted['objects'])} "
        f"objects"
    )
    typer.echo(f"saved to {path}: `journey check` holds journeys against it")
