"""Commands: ``journey salesforce renew`` and ``journey salesforce status`` — the Salesforce
connection the journeys act through.

Pipeline position: the thin shell around ``connectors.factory``: load ``journey.toml``,
call ``renew_connection`` / ``connection_status``, print (``--json`` for programs). Failures
go through the one failure path (``journey.cli.errors``); secrets are never printed.
``status`` only looks: in a folder with no store yet it says so and creates nothing.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from journey.cli.app import JsonOpt, salesforce_app
from journey.connectors.factory import connection_status, renew_connection
from journey.engine.config import ProjectConfig, load_config
from journey.engine.project import store_exists

__all__ = ["connection_summary", "renew_command", "status_command"]


@salesforce_app.command("renew", epilog="Example: journey salesforce renew")
def renew_command(as_json: JsonOpt = False) -> None:
    """Re-authorise after INVALID_SESSION_ID and lift the pause: a new session for the
    embedded org, the variable named by session_id_env read again, or a fresh login."""
    config = load_config()
    outcome = renew_connection(config)
    if as_json:
        typer.echo(json.dumps(outcome, sort_keys=True, default=str))
        return
    where = config.salesforce.instance_url or "the embedded emulated org"
    was = outcome.get("was_paused")
    lifted = f"; lifted the pause ({was['code']})" if was else "; nothing was paused"
    remaining = outcome.get("org_remaining")
    tail = f"; {remaining} of {outcome.get('org_limit')} API calls left today" if remaining else ""
    typer.echo(f"renewed the session with {where}{lifted}{tail}")


def _usage_line(api: dict[str, Any]) -> str:
    if api.get("org_used") is None:
        seen = "the org's usage not seen today"
    else:
        seen = f"the org has used {api['org_used']} of {api['org_limit']} API calls today"
    cap = f"; our cap is {api['cap']}" if api.get("cap") is not None else ""
    return f"{api['calls_by_journeys']} API calls made by journeys today; {seen}{cap}"


def connection_summary(config: ProjectConfig) -> dict[str, Any]:
    """``connection_status`` once the store exists; before, the same keys with nothing seen
    (``api`` is ``None``) — reading the connector's state would create the store."""
    if store_exists(config):
        return connection_status(config)
    return {
        "org": config.salesforce.instance_url or "the embedded emulated org",
        "embedded": not config.salesforce.instance_url,
        "api_version": config.salesforce.api_version,
        "paused": None,
        "api": None,
    }


@salesforce_app.command("status", epilog="Example: journey salesforce status --json")
def status_command(as_json: JsonOpt = False) -> None:
    """The connection: which org, whether Salesforce work is paused and why, and today's
    API calls against the cap (as last seen; this command makes no Salesforce call)."""
    status = connection_summary(load_config())
    if as_json:
        typer.echo(json.dumps(status, sort_keys=True, default=str))
        return
    typer.echo(f"org: {status['org']} (API {status['api_version']})")
    pause = status["paused"]
    if pause is None:
        typer.echo("state: active")
    else:
        until = f" until {pause['until']}" if pause.get("until") else ""
        typer.echo(f"state: paused{until}: {pause['code']}: {pause['message']}")
        if pause["code"] == "INVALID_SESSION_ID":
            typer.echo("run `journey salesforce renew` once the session is valid again")
    if status["api"] is None:
        typer.echo("0 API calls made by journeys (no store yet: nothing has called Salesforce)")
    else:
        typer.echo(_usage_line(status["api"]))
