"""The Typer application and its command groups; command modules attach to these."""

from __future__ import annotations

import typer

__all__ = ["app", "contacts_app", "salesforce_app"]

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
app.add_typer(salesforce_app, name="salesforce")
app.add_typer(contacts_app, name="contacts")
