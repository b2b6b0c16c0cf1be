"""Entry point of the ``journey`` console command.

Importing the command modules registers their commands on ``cli.app.app``; each module
owns one area: the language (check, fmt, graph), the Salesforce org, the engine's runs,
and the demo that runs the example journeys on embedded defaults.
"""

from __future__ import annotations

from journey.cli import connection, demo, init, language, org, runs, sync  # noqa: F401  (imported to register commands)
from journey.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the CLI."""
    app()
