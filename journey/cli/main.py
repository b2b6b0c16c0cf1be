"""Entry point of the ``journey`` console command.

The commands register themselves on ``journey.cli.app.app`` when their module is imported,
and ``journey.cli.app.COMMANDS`` imports each module only when its command is asked for:
the language (check, fmt, graph), the dry run, the Salesforce org (and the cache of its
names that ``check`` reads), the engine's runs, the sync, a new project (init), and the
demo that runs the example journeys on embedded defaults.
"""

from __future__ import annotations

from journey.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the CLI."""
    app()
