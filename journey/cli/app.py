"""The Typer application, its command groups, and what every command module shares:
the ``--json`` option and the one way a command refuses (a message, exit code 2)."""

from __future__ import annotations

import json
from typing import Annotated, NoReturn

import typer

from journey import __version__
from journey.engine.config import ConfigError, ProjectConfig, load_config

__all__ = ["JsonOpt", "app", "contacts_app", "fail", "project_config", "salesforce_app"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]


def fail(message: str, as_json: bool) -> NoReturn:
    """Stop the command on a user mistake: the message (as ``{"error": ...}`` with
    ``--json``) and exit code 2 — never a traceback."""
    if as_json:
        typer.echo(json.dumps({"error": message}))
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def project_config(as_json: bool) -> ProjectConfig:
    """The project's ``journey.toml`` from the current folder up; a bad one is ``fail``."""
    try:
        return load_config()
    except ConfigError as error:
        fail(str(error), as_json)


app = typer.Typer(
    name="journey",
    help="Check, format, draw, dry-run and run customer journeys kept as text in git.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
salesforce_app = typer.Typer(
    help="The Salesforce connection and the local emulated org.", no_args_is_help=True
)
contacts_app = typer.Typer(help="Contacts in the engine's store.", no_args_is_help=True)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"journey {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    # The options of `journey` itself, before any command.
    pass


app.add_typer(salesforce_app, name="salesforce")
app.add_typer(contacts_app, name="contacts")
