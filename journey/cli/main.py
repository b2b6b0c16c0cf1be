"""Entry point of the ``journey`` console command.

Importing the command modules registers their commands on ``journey.cli.app.app``; each
module owns one area: the language (check, fmt, graph), the dry run, the Salesforce org
(and the cache of its names that ``check`` reads), the engine's runs, the sync, a new
project (init), and the demo that runs the example journeys on embedded defaults.
"""

from __future__ import annotations

from journey.cli import (  # noqa: F401  (imported to register their commands)
    connection,
    demo,
    dryrun,
    failures,
    init,
    language,
    org,
    org_cache,
    runs,
    sync,
    worker,
)
from journey.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the CLI."""
    app()
