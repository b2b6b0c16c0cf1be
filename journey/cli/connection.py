"""Commands: ``journey salesforce connect``, ``renew``, ``disconnect`` and ``status`` — the
Salesforce connection the journeys act through.

Pipeline position: the thin shell around ``connectors.authorise`` and
``connectors.factory.connection_status``: load ``journey.toml``, call, print (``--json`` for
programs). Failures go through the one failure path (``journey.cli.errors``); secrets are
never printed — the authorize URL carries only the consumer key, the PKCE challenge and a
state. ``status`` only looks: in a folder with no store yet it says so and creates nothing.
"""

from __future__ import annotations

import json
import sys
import webbrowser
from typing import Any

import typer

from journey.cli.app import JsonOpt, salesforce_app
from journey.cli.errors import fail
from journey.connectors.authorise import connect_org, disconnect_org, renew_org
from journey.connectors.factory import connection_summary
from journey.connectors.salesforce.errors import ConnectionSettingsError
from journey.engine.config import load_config

__all__ = [
    "connect_command",
    "disconnect_command",
    "renew_command",
    "status_command",
]


def _announcer(as_json: bool) -> Any:
    """Show the authorize URL: printed (stderr under ``--json``, so stdout stays one JSON
    object), and opened in a browser only for a person at a terminal."""

    def announce(url: str) -> None:
        typer.echo(f"open this URL to authorise journey in Salesforce:\n{url}", err=as_json)
        if sys.stdin.isatty() and sys.stdout.isatty():
            webbrowser.open(url)

    return announce


def _who_line(outcome: dict[str, Any]) -> str:
    org = outcome.get("org") or {}
    user = f" as {org['user']}" if org.get("user") else ""
    return f"{org.get('instance_url')}{user}{_edition_words(org)}"


def _edition_words(org: dict[str, Any]) -> str:
    if not org.get("edition"):
        return ""
    sandbox = ", a sandbox" if org.get("is_sandbox") else ""
    return f" ({org['edition']}{sandbox})"


def _renew_failed(error: ConnectionSettingsError) -> None:
    """A renew that fails says what failed; the settings' hint, not "renew" again."""
    text = str(error)
    code = "config" if text.startswith("[salesforce]") else "salesforce"
    fail(
        f"the renewal failed: {text}",
        code,
        hint='fix what the message names (docs/salesforce.md, "Connecting"), then try again',
    )


@salesforce_app.command("connect", epilog="Example: journey salesforce connect")
def connect_command(as_json: JsonOpt = False) -> None:
    """Authorise this project with its org as [salesforce] auth says: the browser for
    "web" (the refresh token kept in .journey/credentials, mode 0600), a token for "jwt"
    and "client_credentials"; says who the connection acts as and the org's edition."""
    config = load_config()
    outcome = connect_org(config, _announcer(as_json))
    if as_json:
        typer.echo(json.dumps(outcome, sort_keys=True, default=str))
        return
    if not config.salesforce.remote:
        typer.echo(
            "using the embedded emulated org: nothing to connect (a real org: docs/"
            'salesforce.md, "Connecting")'
        )
        return
    typer.echo(f"connected to {_who_line(outcome)}")


@salesforce_app.command("renew", epilog="Example: journey salesforce renew")
def renew_command(as_json: JsonOpt = False) -> None:
    """Authorise again after INVALID_SESSION_ID and lift the pause, so paused runs go on
    at once: the browser again for "web", a new token for "jwt" and "client_credentials",
    a new login, the variable named by session_id_env read again, or a new session for the
    embedded org."""
    config = load_config()
    try:
        outcome = renew_org(config, _announcer(as_json))
    except ConnectionSettingsError as error:
        _renew_failed(error)
    if as_json:
        typer.echo(json.dumps(outcome, sort_keys=True, default=str))
        return
    where = config.salesforce.instance_url or "the embedded emulated org"
    if config.salesforce.remote:
        where = _who_line(outcome)
    was = outcome.get("was_paused")
    lifted = f"; lifted the pause ({was['code']})" if was else "; nothing was paused"
    resumed = outcome.get("resumed_runs") or 0
    lifted += f"; {resumed} paused run(s) due now" if resumed else ""
    remaining = outcome.get("org_remaining")
    tail = f"; {remaining} of {outcome.get('org_limit')} API calls left today" if remaining else ""
    typer.echo(f"renewed the session with {where}{lifted}{tail}")


@salesforce_app.command("disconnect", epilog="Example: journey salesforce disconnect")
def disconnect_command(as_json: JsonOpt = False) -> None:
    """Revoke the stored refresh token in Salesforce and delete .journey/credentials."""
    outcome = disconnect_org(load_config())
    if as_json:
        typer.echo(json.dumps(outcome, sort_keys=True, default=str))
        return
    typer.echo(outcome["message"])


def _usage_line(api: dict[str, Any]) -> str:
    if api.get("org_used") is None:
        seen = "the org's usage not seen today"
    else:
        seen = f"the org has used {api['org_used']} of {api['org_limit']} API calls today"
    cap = f"; our cap is {api['cap']}" if api.get("cap") is not None else ""
    return f"{api['calls_by_journeys']} API calls made by journeys today; {seen}{cap}"


def _edition_line(facts: dict[str, Any] | None) -> str:
    if not facts:
        return "edition: not seen yet (`journey salesforce connect` looks)"
    if facts.get("api_enabled") is False:
        return (
            "edition: its API is NOT enabled (API_DISABLED_FOR_ORG): this edition has no API "
            "access; Enterprise, Performance, Unlimited and Developer Edition have it, "
            "Professional Edition only with the API add-on"
        )
    edition = facts.get("edition") or "unknown"
    sandbox = "a sandbox" if facts.get("is_sandbox") else "production"
    if facts.get("is_sandbox") is None:
        sandbox = "sandbox or not unknown"
    who = f"; acting as {facts['user']}" if facts.get("user") else ""
    return f"edition: {edition} ({sandbox}); API enabled{who} (as of {facts.get('seen_at')})"


@salesforce_app.command("status", epilog="Example: journey salesforce status --json")
def status_command(as_json: JsonOpt = False) -> None:
    """The connection: which org and how it is reached, its edition and whether its API is
    enabled, whether Salesforce work is paused and why, and today's API calls against the
    cap (as last seen; this command makes no Salesforce call)."""
    status = connection_summary(load_config())
    if as_json:
        typer.echo(json.dumps(status, sort_keys=True, default=str))
        return
    auth = "" if status["embedded"] else f", auth {status['auth']}"
    typer.echo(f"org: {status['org']} (API {status['api_version']}{auth})")
    if not status["embedded"]:
        typer.echo(_edition_line(status.get("org_facts")))
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
